//! Snapshot and restore (docs/snapshot.md): a box frozen to a file goes on where it was, in a
//! new box, as the same program left running natively would; what cannot be captured yet is
//! refused with the object named and the box keeps running; a damaged file is refused
//! before anything runs.

use crate::support::{guest, picobox, scratch, text};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The counter's answers to `lines` lines when left running natively: `ready`, one line per
/// input line, then `end N`.
fn native_answers(program: &Path, lines: usize) -> Vec<String> {
    native_answers_with(program, &[], lines)
}

/// As [`native_answers`], the counter given `args`.
fn native_answers_with(program: &Path, args: &[&str], lines: usize) -> Vec<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for i in 0..lines {
        writeln!(stdin, "line {i}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    text(&out.stdout).lines().map(String::from).collect()
}

/// A box (or restored box) whose program reads lines on a pipe and answers each.
struct Talking {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Talking {
    fn start(mut cmd: Command) -> Talking {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Talking {
            child,
            stdin,
            stdout,
        }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }

    fn ask(&mut self) -> String {
        writeln!(self.stdin.as_mut().unwrap(), "next").unwrap();
        self.line()
    }

    /// Closes the program's input; returns the rest of its output, its exit status and its
    /// standard error.
    fn finish(mut self) -> (Vec<String>, Option<i32>, String) {
        drop(self.stdin.take());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest).unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut err).unwrap();
        let status = self.child.wait().unwrap();
        (rest.lines().map(String::from).collect(), status.code(), err)
    }
}

/// The directory of `program` (a guest), to bind into a box.
fn directory_of(program: &Path) -> String {
    program.parent().unwrap().to_str().unwrap().to_string()
}

/// Kills process `pid` (a box's monitor, which takes its box with it) after `seconds`
/// unless dropped first: a box that would wait for ever makes its test fail instead.
struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Watchdog {
    fn new(pid: u32, seconds: u64) -> Watchdog {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = done.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(seconds));
            if !seen.load(std::sync::atomic::Ordering::SeqCst) {
                // SAFETY: kill has no memory preconditions; the process is the test's child,
                // not yet waited for (the watchdog is dropped before it is).
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        });
        Watchdog(done)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn counter_box(id: &str, program: &Path, args: &[&str]) -> Talking {
    let dir = directory_of(program);
    let mut cmd = picobox();
    cmd.args(["run", "--name", id, "--ro-bind", &dir, "/w", "--"])
        .arg(format!(
            "/w/{}",
            program.file_name().unwrap().to_str().unwrap()
        ))
        .args(args);
    let mut t = Talking::start(cmd);
    assert_eq!(t.line(), "ready");
    t
}

fn snapshot(id: &str, path: &Path, extra: &[&str]) -> std::process::Output {
    picobox()
        .args(["snapshot", id, "-o"])
        .arg(path)
        .args(extra)
        .output()
        .unwrap()
}

fn restore(path: &Path, extra: &[&str]) -> Talking {
    let mut cmd = picobox();
    cmd.arg("restore").arg(path).args(extra);
    Talking::start(cmd)
}

/// The counter, snapshotted after two answers into `dir/counter.snap`; the box has ended.
fn counter_snapshot(dir: &Path, id: &str) -> (PathBuf, Vec<String>) {
    let program = guest("snapcount");
    let expected = native_answers(&program, 4);
    let mut running = counter_box(id, &program, &[]);
    assert_eq!(running.ask(), expected[1]);
    assert_eq!(running.ask(), expected[2]);
    let file = dir.join("counter.snap");
    let out = snapshot(id, &file, &[]);
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the box has ended"),
        "{}",
        text(&out.stderr)
    );
    // Above 64 MiB, a progress line.
    assert!(
        text(&out.stderr).contains("\rpicobox: snapshot: 64 MiB written"),
        "{}",
        text(&out.stderr)
    );
    let (rest, status, err) = running.finish();
    assert!(rest.is_empty(), "the frozen box went on: {rest:?} {err}");
    assert_eq!(status, Some(0), "{err}");
    (file, expected)
}

#[test]
fn a_counter_with_64_mib_of_heap_continues_after_restore_and_twice_from_one_file() {
    let dir = scratch("snapshot-counter");
    let (file, expected) = counter_snapshot(&dir, "snap-counter");
    // The file holds the heap's non-zero pages (64 MiB) and little else.
    let size = std::fs::metadata(&file).unwrap().len();
    assert!((64 << 20..80 << 20).contains(&size), "{size} bytes");
    for _ in 0..2 {
        let mut restored = restore(&file, &[]);
        assert_eq!(restored.ask(), expected[3]);
        assert_eq!(restored.ask(), expected[4]);
        let (rest, status, err) = restored.finish();
        assert_eq!(rest, vec![expected[5].clone()], "{err}");
        assert_eq!(status, Some(0), "{err}");
    }
}

#[test]
fn a_box_left_running_goes_on_and_its_snapshot_goes_on_too() {
    let dir = scratch("snapshot-leave-running");
    let program = guest("snapcount");
    let expected = native_answers(&program, 3);
    let mut running = counter_box("snap-leave", &program, &[]);
    assert_eq!(running.ask(), expected[1]);
    let file = dir.join("left.snap");
    let out = snapshot("snap-leave", &file, &["--leave-running"]);
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("runs on"),
        "{}",
        text(&out.stderr)
    );
    // Both the box and its restored copy answer the second line as the native run did.
    assert_eq!(running.ask(), expected[2]);
    let mut restored = restore(&file, &["--name", "snap-leave-copy"]);
    assert_eq!(restored.ask(), expected[2]);
    assert_eq!(restored.finish().0, vec!["end 2".to_string()]);
    assert_eq!(running.finish().0, vec!["end 2".to_string()]);
}

#[test]
fn a_snapshot_streams_through_a_pipe_into_another_picobox() {
    let program = guest("snapcount");
    let mut running = counter_box("snap-stream", &program, &[]);
    let first = running.ask();
    let picobox = env!("CARGO_BIN_EXE_picobox");
    // The restored program's input is the restoring command's: the pipe, read to its end,
    // so the counter reports the count it had.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{picobox} snapshot snap-stream -o - | {picobox} restore -"
        ))
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "end 1\n", "{}", text(&out.stderr));
    assert!(first.starts_with("1 "));
    assert!(running.finish().0.is_empty());
}

#[test]
fn fifty_boxes_restored_from_one_snapshot_each_answer_correctly() {
    let dir = scratch("snapshot-clones");
    let (file, expected) = counter_snapshot(&dir, "snap-clones");
    let mut clones: Vec<Talking> = Vec::new();
    for i in 0..50 {
        let mut c = restore(&file, &["--name", &format!("snap-clone-{i}")]);
        writeln!(c.stdin.as_mut().unwrap(), "next").unwrap();
        clones.push(c);
        if clones.len() == 10 {
            for mut c in clones.drain(..) {
                assert_eq!(c.line(), expected[3]);
                assert_eq!(c.finish().0, vec!["end 3".to_string()]);
            }
        }
    }
    for mut c in clones {
        assert_eq!(c.line(), expected[3]);
        assert_eq!(c.finish().0, vec!["end 3".to_string()]);
    }
}

/// A snapshot refused with `message`; the box keeps running and answers on.
fn refused(id: &str, args: &[&str], message: &str) {
    let dir = scratch(&format!("snapshot-refused-{id}"));
    let program = guest("snapcount");
    let expected = native_answers(&program, 2);
    let mut running = counter_box(id, &program, args);
    assert_eq!(running.ask(), expected[1]);
    let file = dir.join("never.snap");
    let out = snapshot(id, &file, &[]);
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    assert!(!file.exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "a partial file was left"
    );
    assert_eq!(running.ask(), expected[2]);
    assert_eq!(running.finish().0, vec!["end 2".to_string()]);
}

#[test]
fn what_cannot_be_captured_is_refused_with_its_name_and_the_box_goes_on() {
    refused(
        "snap-socket",
        &["socket"],
        "process 2 holds a Unix socket (descriptor",
    );
    refused(
        "snap-socket2",
        &["socket"],
        "with descriptors other than Unix sockets in flight (SCM_RIGHTS) (try again)",
    );
    // Refused when it is taken, not when it is restored (the box would have ended).
    refused(
        "snap-pty",
        &["pty"],
        "process 2 holds descriptor 6 open on a pseudo-terminal of the box's own, which \
         snapshots do not capture yet",
    );
}

/// Runs busybox `sh -c script` in a box, snapshots it once it printed `ready` and `delay`
/// passed, restores it with `input` on its standard input; returns the restored box's output
/// beside the same script's native one.
fn shell_across_a_snapshot(id: &str, script: &str, delay: u64, input: &str) -> (String, String) {
    let busybox = crate::support::busybox();
    let native = Command::new(busybox)
        .args(["sh", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(input.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let dir = scratch(&format!("snapshot-shell-{id}"));
    let mut cmd = picobox();
    cmd.args(["run", "--name", id, "--", busybox, "sh", "-c", script]);
    let mut running = Talking::start(cmd);
    assert_eq!(running.line(), "ready");
    std::thread::sleep(std::time::Duration::from_millis(delay));
    let file = dir.join("shell.snap");
    let out = snapshot(id, &file, &[]);
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    assert!(running.finish().0.is_empty());
    let mut restored = restore(&file, &[]);
    write!(restored.stdin.as_mut().unwrap(), "{input}").unwrap();
    let (rest, status, err) = restored.finish();
    assert_eq!(status, Some(0), "{err}");
    let mut boxed = String::from("ready\n");
    for l in rest {
        boxed.push_str(&l);
        boxed.push('\n');
    }
    (boxed, text(&native.stdout))
}

#[test]
fn a_pipeline_of_processes_with_data_in_its_pipe_goes_on_after_restore() {
    // The producer has written two lines the consumer, asleep, has not read; it waits for
    // input of its own. Four processes: the shell, the two sides, the consumer's sleep.
    let script = "echo ready; { printf 'alpha\\nbeta\\n'; read x; echo \"gamma $x\"; } | \
                  { sleep 1; while read l; do echo \"c: $l\"; done; }";
    let (boxed, native) = shell_across_a_snapshot("snap-pipeline", script, 300, "x\n");
    assert_eq!(boxed, native);
    assert_eq!(native, "ready\nc: alpha\nc: beta\nc: gamma x\n");
}

#[test]
fn a_fifo_with_data_in_it_goes_on_after_restore() {
    // The reader opened the FIFO and sleeps; the shell has written two lines into it. In the
    // box the FIFO is in the box's own /tmp, which the restore makes again.
    let script = "f=/tmp/snapfifo.$$; mkfifo $f; \
                  { exec 4<$f; sleep 1; while read l <&4; do echo \"c: $l\"; done; } & \
                  exec 3>$f; printf 'alpha\\nbeta\\n' >&3; echo ready; read x; \
                  echo \"gamma $x\" >&3; exec 3>&-; wait; rm $f";
    let (boxed, native) = shell_across_a_snapshot("snap-fifo", script, 300, "x\n");
    assert_eq!(boxed, native);
    assert_eq!(native, "ready\nc: alpha\nc: beta\nc: gamma x\n");
}

#[test]
fn the_files_of_the_boxs_own_tmp_go_on_after_restore() {
    // A directory, a file held open (read on after the restore from where it was), a hard
    // link, a symbolic link and permissions; the restored box's /tmp is a new tmpfs.
    let script = "d=/tmp/snapfiles.$$; mkdir -p $d/sub; printf 'one\\ntwo\\n' > $d/sub/note; \
                  ln $d/sub/note $d/hard; ln -s sub/note $d/link; chmod 640 $d/sub/note; \
                  exec 5<$d/sub/note; read first <&5; echo ready; read x; echo \"first $first\"; \
                  cat <&5; cat $d/link; cd $d; ls -l . sub | grep -v total | sed 's/  */ /g' | \
                  cut -d' ' -f1,2,9-; cd /; \
                  echo \"more $x\" >> $d/hard; cat $d/sub/note; rm -r $d";
    let (boxed, native) = shell_across_a_snapshot("snap-files", script, 100, "x\n");
    assert_eq!(boxed, native);
    assert!(native.contains("first one\ntwo\none\ntwo\n"), "{native}");
    assert!(native.contains("-rw-r----- 2 note"), "{native}");
}

#[test]
fn a_sparse_file_of_a_terabyte_is_carried_by_its_data_and_one_past_the_space_refused() {
    // 1 TiB long with 5 bytes at its end: read where it has data (SEEK_DATA), not through its
    // holes (which would take minutes), and sparse again after the restore. One of 200 TiB
    // cannot be placed in the snapshot's space for files: refused when the snapshot is taken,
    // not when it is restored.
    let busybox = crate::support::busybox();
    let script = format!(
        "cd /tmp; echo tail | {busybox} dd of=huge bs=1 seek=1099511627000 2>/dev/null; \
         echo ready; read x; {busybox} stat -c '%s %b' huge; {busybox} tail -c 5 huge"
    );
    let out = across_a_snapshot(
        "snap-terabyte",
        &[],
        &[busybox, "sh", "-c", &script],
        "",
        "ready",
        "x\n",
        &[],
    );
    assert_eq!(out, "ready\n1099511627005 8\ntail\n");
    let script = format!(
        "cd /tmp; echo tail | {busybox} dd of=huge bs=1 seek=219902325555200 2>/dev/null; \
         echo ready; read x; echo on"
    );
    let mut cmd = picobox();
    cmd.args([
        "run",
        "--name",
        "snap-too-long",
        "--",
        busybox,
        "sh",
        "-c",
        &script,
    ]);
    let mut running = Talking::start(cmd);
    assert_eq!(running.line(), "ready");
    assert_snapshot_refused(
        "snap-too-long",
        &["the box's file huge is 219902325555205 bytes long, more than a snapshot carries"],
    );
    writeln!(running.stdin.as_mut().unwrap(), "x").unwrap();
    assert_eq!(running.line(), "on");
}

#[test]
fn large_and_sparse_files_of_the_boxs_own_tmp_and_their_owner_go_on_after_restore() {
    // 60 MiB of random bytes (more than the metadata carries: stored as page runs of their
    // own), a hard link to it, a sparse file, a small one, and 800 small files of 64 KiB
    // (50 MiB, more than the metadata's budget for small files: those past it are stored
    // too); the same sums, sizes, blocks and owners after the restore (a restored box has a
    // host user of its own, which it still sees as its own).
    let script = "cd /tmp; dd if=/dev/urandom of=big bs=1M count=60 2>/dev/null; ln big hard; \
                  dd if=/dev/urandom of=sparse bs=4096 count=3 seek=100 2>/dev/null; \
                  mkdir pieces; i=0; while [ $i -lt 800 ]; do \
                  dd if=big of=pieces/$i bs=64k skip=$i count=1 2>/dev/null; i=$((i+1)); done; \
                  echo small > small; show() { md5sum big hard sparse small; \
                  echo \"pieces $(ls pieces | wc -l) $(cd pieces; cat $(seq 0 799) | md5sum)\"; \
                  echo \"first $(head -c 52428800 big | md5sum)\"; \
                  ls -lns big hard sparse small | sed 's/  */ /g' | cut -d' ' -f1-7,11; }; \
                  show; echo ready; read x; echo restored; show; echo new > new; \
                  echo \"new file $(ls -ln new | sed 's/  */ /g' | cut -d' ' -f3,4)\"";
    let out = across_a_snapshot(
        "snap-bigfiles",
        &[],
        &[crate::support::busybox(), "sh", "-c", script],
        "",
        "ready",
        "x\n",
        &[],
    );
    let (before, rest) = out.split_once("ready\nrestored\n").expect(&out);
    let (after, new_file) = rest.split_once("new file ").expect(&out);
    assert_eq!(after, before, "{out}");
    let (uid, gid) = crate::support::own_ids();
    let owner = format!(" {uid} {gid} ");
    assert!(
        before.contains(&format!(" 61440 -rw-r--r-- 2{owner}62914560 big")),
        "{out}"
    );
    assert!(
        before.contains(&format!(" 12 -rw-r--r-- 1{owner}421888 sparse")),
        "{out}"
    );
    assert_eq!(new_file, format!("{uid} {gid}\n"), "{out}");
    let sum_of = |label: &str| {
        let line = before.lines().find(|l| l.starts_with(label)).expect(&out);
        line.split_whitespace().rev().nth(1).unwrap().to_string()
    };
    assert!(before.contains("pieces 800 "), "{out}");
    assert_eq!(sum_of("pieces"), sum_of("first"), "{out}");
}

#[test]
fn a_whiteout_in_the_boxs_own_tmp_goes_on_after_restore_as_native() {
    // renameat2(RENAME_WHITEOUT) leaves a character device numbered 0, 0: the one device a
    // box can make. It was refused as a device before.
    let native_dir = scratch("snapshot-whiteout-native");
    let (boxed, native) = guest_across_a_snapshot(
        "snap-whiteout",
        "whiteout",
        &[],
        (&["/tmp"], &[native_dir.as_os_str()]),
        "go\n",
    );
    assert!(
        native.contains("moved: character device 0:0, mode 0\nkept: file of 4 bytes\nready\n"),
        "{native}"
    );
    assert_eq!(boxed, native);
}

#[test]
fn a_file_a_shell_removed_while_open_is_read_on_after_restore() {
    // Before, refused as a file removed since it was opened.
    let script = "echo data > /tmp/gone; exec 5</tmp/gone; rm /tmp/gone; echo ready; read x; \
                  echo \"got $x\"; cat <&5";
    let (boxed, native) = shell_across_a_snapshot("snap-removed-sh", script, 100, "on\n");
    assert_eq!(native, "ready\ngot on\ndata\n");
    assert_eq!(boxed, native);
}

#[test]
fn a_file_renamed_while_open_and_replaced_is_refused_by_name_and_the_box_goes_on() {
    // Its path now reaches another file, and its own name is one the library OS does not
    // know: a restore would open the other one.
    let dir = scratch("snapshot-removed");
    let mut cmd = picobox();
    cmd.args(["run", "--name", "snap-removed", "--"])
        .arg(crate::support::busybox())
        .args([
            "sh",
            "-c",
            "echo data > /tmp/gone; exec 5</tmp/gone; mv /tmp/gone /tmp/kept; \
             echo other > /tmp/gone; echo ready; read x; echo \"got $x\"; cat <&5",
        ]);
    let mut running = Talking::start(cmd);
    assert_eq!(running.line(), "ready");
    let file = dir.join("x.snap");
    let out = snapshot("snap-removed", &file, &[]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("open on a file that was removed or replaced since (gone)"),
        "{}",
        text(&out.stderr)
    );
    assert!(!file.exists());
    writeln!(running.stdin.as_mut().unwrap(), "on").unwrap();
    assert_eq!(running.line(), "got on");
    assert_eq!(running.line(), "data");
}

#[test]
fn a_process_whose_parent_ended_goes_on_after_restore() {
    // `( job & )`: the job's parent, a subshell, ends at once, and picobox's reaper adopts it
    // (its parent is the box's pid 1); it reads a FIFO the shell writes before and after.
    let script = "q=/tmp/snaporphan.$$; mkfifo $q; \
                  ( (n=0; all=; while read l <&5; do n=$((n+1)); all=\"$all $l\"; done; \
                  echo \"adopted read $n:$all\") 5<$q & ); exec 6>$q; echo one >&6; echo ready; \
                  read x; echo \"two $x\" >&6; exec 6>&-; sleep 0.5; rm $q; echo done";
    let (boxed, native) = shell_across_a_snapshot("snap-adopted", script, 200, "x\n");
    assert_eq!(boxed, native);
    assert_eq!(native, "ready\nadopted read 2: one two x\ndone\n");
}

#[test]
fn a_file_a_shell_shares_with_its_job_keeps_one_offset_after_restore() {
    // The job inherits descriptor 3: one open file, one offset. Opened again once per
    // process, the job's line would be written over the shell's.
    let script = "d=$(mktemp -d); mkfifo $d/go; exec 3>$d/log 4<>$d/go; echo start >&3; \
                  (read x <&4; echo \"job $x\" >&3) & echo ready; read y; echo \"shell $y\" >&3; \
                  echo go >&4; wait; echo end >&3; cat $d/log; rm -r $d";
    let (boxed, native) = shell_across_a_snapshot("snap-shared-file", script, 100, "on\n");
    assert_eq!(native, "ready\nstart\nshell on\njob go\nend\n");
    assert_eq!(boxed, native);
}

#[test]
fn event_files_and_a_file_a_parent_shares_with_its_child_stay_shared_after_restore() {
    let native_file = scratch("snapshot-shared-events-native").join("file");
    let (boxed, native) = guest_across_a_snapshot(
        "snap-shared-events",
        "sharedevents",
        &[],
        (&["/tmp/file"], &[native_file.as_os_str()]),
        "go\n",
    );
    assert_eq!(
        native,
        "ready\nchild ended: 0\noffset 25\nstart\nparent\nchild 7\nend\n"
    );
    assert_eq!(boxed, native);
}

#[test]
fn memory_files_and_files_removed_while_open_go_on_after_restore_as_native() {
    // Before, the snapshot refused both (a memory file as a descriptor it did not know, a
    // removed file as one whose path no longer reaches it).
    let native_dir = scratch("snapshot-removed-files-native");
    let dir = native_dir.as_os_str();
    let (boxed, native) = guest_across_a_snapshot(
        "snap-removed-files",
        "removedfiles",
        &[],
        (&["/tmp", "/dev/shm"], &[dir, dir]),
        "go\n",
    );
    assert_eq!(
        native,
        "ready\nmemory file read: From the descriptor\nits mapping sees: WRITTENe mapping\n\
         memory file offset 5\nremoved file: 22 bytes, 0 links, mode 640, offset 22\n\
         its other description reads 22: removed but open\nmore\n\
         large removed file: 100000 bytes, at 99990: uvwx\n\
         names left in a directory: 0\nnames left in a directory: 0\n"
    );
    assert_eq!(boxed, native);
}

#[test]
fn a_file_of_host_files_removed_while_open_is_refused_and_the_box_goes_on() {
    // The host's file is gone: a snapshot cannot carry the host's data for it.
    let program = guest("removedfiles");
    let host_dir = scratch("snapshot-removed-host-file");
    let guests = directory_of(&program);
    let mut cmd = picobox();
    cmd.args([
        "run",
        "--name",
        "snap-removed-host",
        "--ro-bind",
        &guests,
        "/g",
    ])
    .arg("--bind")
    .arg(&host_dir)
    .args(["/work", "--", "/g/removedfiles", "/work"]);
    let mut running = Talking::start(cmd);
    assert_eq!(running.line(), "ready");
    assert_snapshot_refused(
        "snap-removed-host",
        &[
            "process 2 holds host descriptor ",
            " open on a file removed since (/scratch (deleted)), of a mount of host files, \
             which snapshots do not capture",
        ],
    );
    writeln!(running.stdin.as_mut().unwrap(), "go").unwrap();
    let (rest, status, err) = running.finish();
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(
        rest.last().map(String::as_str),
        Some("names left in a directory: 0")
    );
}

#[test]
fn udp_sockets_and_tcp_sockets_not_yet_connected_go_on_after_restore_as_native() {
    // Before, the snapshot refused each of them as a socket it did not capture.
    let (boxed, native) = guest_across_a_snapshot(
        "snap-inet",
        "inetsnap",
        &["--net", "loopback"],
        (&[], &[]),
        "go\n",
    );
    assert_eq!(
        native,
        "ready\nclient kept its port: yes\nserver got 4: ping, from the client's port: yes\n\
         client got 4: pong\nbound socket: port 41980, SO_REUSEADDR 1\n\
         made socket connects: yes\naccepted: 8: over tcp\n"
    );
    assert_eq!(boxed, native);
}

#[test]
fn tcp_connections_of_the_boxs_own_network_go_on_with_their_queued_bytes_after_restore() {
    // Before, both ends came back reset.
    let (boxed, native) = guest_across_a_snapshot(
        "snap-tcp-queues",
        "tcpsnap",
        &["--net", "loopback"],
        (&[], &[]),
        "go\n",
    );
    assert_eq!(
        native,
        "ready\nserver read 22: hello from the client\nclient read all the server wrote: yes\n\
         and the rest: yes\nclient TCP_NODELAY 1\nsecond connection: 7: second\n\
         server sees the client close: 0\n"
    );
    assert_eq!(boxed, native);
}

#[test]
fn a_shell_with_a_background_job_goes_on_after_restore() {
    let script = "echo ready; (i=0; while [ $i -lt 3 ]; do i=$((i+1)); sleep 0.2; done; \
                  echo \"job done $i\") & read y; wait; echo \"got $y\"";
    let (boxed, native) = shell_across_a_snapshot("snap-job", script, 100, "hello\n");
    assert_eq!(boxed, native);
    assert_eq!(native, "ready\njob done 3\ngot hello\n");
}

#[test]
fn a_snapshot_of_no_running_box_is_refused() {
    let dir = scratch("snapshot-none");
    let out = snapshot("no-such-box", &dir.join("x.snap"), &[]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("no box named 'no-such-box' is running"),
        "{}",
        text(&out.stderr)
    );
}

/// `good` written again, whole and valid, but with `seal` (not the user's own).
fn resealed(good: &[u8], seal: [u8; 32]) -> Vec<u8> {
    rewritten(good, seal, |_| {})
}

/// `good` written again, whole and valid, with its metadata changed by `change` and `seal`.
fn rewritten(
    good: &[u8],
    seal: [u8; 32],
    change: impl FnOnce(&mut picobox_tools::snapshot_meta::Metadata),
) -> Vec<u8> {
    use picobox_tools::snapshot_format::{read, Limits, Writer};
    let limits = Limits {
        metadata: 64 << 20,
        memory: u64::MAX,
    };
    let s = read(good, None, limits).unwrap();
    let mut metadata = picobox_tools::snapshot_meta::Metadata::decode(s.metadata).unwrap();
    change(&mut metadata);
    let encoded = metadata.encode();
    let mut out = Vec::new();
    let mut w = Writer::new(|b: &[u8]| out.extend_from_slice(b), s.build_id, &encoded);
    for c in &s.chunks {
        w.chunk_of(c.process, c.address, c.pages).unwrap();
    }
    w.finish(seal);
    out
}

#[test]
fn an_unprivileged_user_snapshots_and_restores_a_box() {
    // As uid 65534 when the tests run as root: no memory cgroup, so address space is bounded
    // by RLIMIT_AS, which a restore must leave room in for itself; the seal key is made in
    // the user's own home.
    let (_, home) = crate::support::native_as_nobody(
        "snapshot-nobody",
        Path::new(env!("CARGO_BIN_EXE_picobox")),
    );
    let dir = home.path();
    let exe = dir.join("picobox");
    let user = |args: &[&str]| {
        let mut c = if crate::support::is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "env"]);
            c.arg(format!("HOME={}", dir.display())).arg(&exe);
            c
        } else {
            let mut c = Command::new(&exe);
            c.env("HOME", dir);
            c
        };
        c.args(args).current_dir(dir);
        c
    };
    let script = "echo ready; read x; echo \"got $x\"";
    let mut running = Talking::start(user(&[
        "run",
        "--name",
        "snap-nobody",
        "--",
        crate::support::busybox(),
        "sh",
        "-c",
        script,
    ]));
    assert_eq!(running.line(), "ready");
    let file = dir.join("nobody.snap");
    let out = user(&["snapshot", "snap-nobody", "-o", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    running.finish();
    let mut restored = Talking::start(user(&["restore", file.to_str().unwrap()]));
    writeln!(restored.stdin.as_mut().unwrap(), "on").unwrap();
    let (rest, status, err) = restored.finish();
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(rest, vec!["got on".to_string()], "{err}");
    // System V objects are made again with their ids by the restore's monitor, which is
    // root only of the user namespace that owns the box's IPC namespace.
    let program = guest("sysvsnap");
    std::fs::copy(&program, dir.join("sysvsnap")).unwrap();
    let native = native_in_own_ipc_namespace(&program, b"go\n");
    let mut running = Talking::start(user(&[
        "run",
        "--name",
        "snap-nobody-sysv",
        "--ro-bind",
        dir.to_str().unwrap(),
        "/g",
        "--",
        "/g/sysvsnap",
    ]));
    let mut printed = format!("{}\n", running.line());
    printed.push_str(&format!("{}\n", running.line()));
    let file = dir.join("nobody-sysv.snap");
    let out = user(&["snapshot", "snap-nobody-sysv", "-o", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    running.finish();
    let mut restored = Talking::start(user(&["restore", file.to_str().unwrap()]));
    writeln!(restored.stdin.as_mut().unwrap(), "go").unwrap();
    let (rest, status, err) = restored.finish();
    assert_eq!(status, Some(0), "{err}");
    for line in rest {
        printed.push_str(&line);
        printed.push('\n');
    }
    assert_eq!(printed, native, "{err}");
}

#[test]
fn a_snapshot_without_the_users_seal_does_not_choose_its_own_host_access() {
    // The counter's box had `--ro-bind DIR /w`. The same snapshot with another seal (made by
    // another user, or changed) does not get that mount from its own say-so.
    let dir = scratch("snapshot-seal");
    let (file, expected) = counter_snapshot(&dir, "snap-seal");
    let foreign = dir.join("foreign.snap");
    std::fs::write(&foreign, resealed(&std::fs::read(&file).unwrap(), [0; 32])).unwrap();
    let out = picobox().arg("restore").arg(&foreign).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(err.contains("does not bear your seal"), "{err}");
    assert!(err.contains("--ro-bind"), "{err}");
    assert!(out.stdout.is_empty());
    let inspect = picobox()
        .args(["snapshot", "inspect"])
        .arg(&foreign)
        .output()
        .unwrap();
    assert!(
        text(&inspect.stdout).contains("seal      not yours"),
        "{}",
        text(&inspect.stdout)
    );
    let own = picobox()
        .args(["snapshot", "inspect"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        text(&own.stdout).contains("seal      yours"),
        "{}",
        text(&own.stdout)
    );
    // Given by the restore's own command, or taken as recorded on purpose: it goes on.
    let program_dir = crate::support::guest("snapcount")
        .parent()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for extra in [
        vec!["--bind", program_dir.as_str(), "/w"],
        vec!["--trust-snapshot"],
    ] {
        let mut restored = restore(&foreign, &extra);
        assert_eq!(restored.ask(), expected[3], "{extra:?}");
        let (_, status, err) = restored.finish();
        assert_eq!(status, Some(0), "{extra:?}: {err}");
    }
}

#[test]
fn a_forged_snapshot_reaches_no_path_above_its_mounts() {
    // A snapshot changed to name a FIFO and a Unix socket file above the mount they are
    // beneath: the restore makes or opens nothing there, and says why.
    use picobox_tools::snapshot_meta::{
        FifoRecord, HandleKind, HandleRecord, SocketFile, UnixSocket,
    };
    let dir = scratch("snapshot-forged");
    let (file, _) = counter_snapshot(&dir, "snap-forged");
    let good = std::fs::read(&file).unwrap();
    let target = dir.join("outside");
    let escape = format!("../../../../../../../..{}", target.to_str().unwrap());
    let mount_root = |m: &picobox_tools::snapshot_meta::Metadata| {
        m.processes[0]
            .handles
            .iter()
            .find(|h| matches!(h.kind, HandleKind::BootMount(_)))
            .unwrap()
            .fd
    };
    let add = |m: &mut picobox_tools::snapshot_meta::Metadata, kind: HandleKind| {
        let fd = m.processes[0].handles.last().unwrap().fd + 1;
        m.processes[0].handles.push(HandleRecord {
            fd,
            kind,
            flags: 0,
            pos: 0,
            description: 0,
        });
    };
    let fifo = rewritten(&good, [0; 32], |m| {
        let root = mount_root(m);
        m.processes[0].fifos.push(FifoRecord {
            id: 7,
            root,
            rel: escape.clone().into_bytes(),
            mode: 0o600,
            capacity: 4096,
            data: b"x".to_vec(),
        });
        add(m, HandleKind::Fifo { id: 7 });
    });
    let socket = rewritten(&good, [0; 32], |m| {
        let root = mount_root(m);
        m.processes[0].sockets.push(UnixSocket {
            id: 8,
            kind: 1,
            address: b"/1-2".to_vec(),
            file: Some(SocketFile {
                root,
                rel: escape.clone().into_bytes(),
                given: b"/x".to_vec(),
                mode: 0o700,
            }),
            ..UnixSocket::default()
        });
        add(m, HandleKind::Unix { id: 8 });
    });
    let watch = rewritten(&good, [0; 32], |m| {
        let root = mount_root(m);
        add(
            m,
            HandleKind::Watcher {
                watches: vec![picobox_tools::snapshot_meta::WatchRecord {
                    wd: 1,
                    mask: 0x2,
                    root,
                    rel: escape.clone().into_bytes(),
                    nofollow: false,
                }],
                last_wd: 1,
            },
        );
    });
    for (name, bytes, what) in [
        ("fifo", fifo, "FIFO"),
        ("socket", socket, "socket"),
        ("watch", watch, "inotify watch 1"),
    ] {
        let path = dir.join(format!("{name}.snap"));
        std::fs::write(&path, bytes).unwrap();
        // Taken as recorded on purpose: the mounts are given, the paths above them are not.
        let out = picobox()
            .args(["restore", "--trust-snapshot"])
            .arg(&path)
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{name}: {err}");
        assert!(
            err.contains(&format!("the program's {what}")),
            "{name}: {err}"
        );
        assert!(err.contains("EXDEV"), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: it ran");
        assert!(!target.exists(), "{name}: made {target:?}");
    }
}

#[test]
fn a_forged_snapshot_gives_a_box_without_a_network_of_its_own_no_udp_socket_or_connection() {
    // The box's Landlock rules do not mediate UDP, and a connection is made before they are
    // on: only a box with a network of its own (`--net loopback`) gets either back.
    use picobox_tools::snapshot_meta::{HandleKind, HandleRecord, TcpConnection};
    let dir = scratch("snapshot-forged-net");
    let (file, _) = counter_snapshot(&dir, "snap-forged-net");
    let good = std::fs::read(&file).unwrap();
    let add = |m: &mut picobox_tools::snapshot_meta::Metadata, kind: HandleKind| {
        let fd = m.processes[0].handles.last().unwrap().fd + 1;
        m.processes[0].handles.push(HandleRecord {
            fd,
            kind,
            flags: 2,
            pos: 0,
            description: 0,
        });
    };
    let address = vec![2, 0, 0xa3, 0xff, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let udp = rewritten(&good, [0; 32], |m| {
        add(
            m,
            HandleKind::InetSocket {
                domain: 2,
                udp: true,
                local: Vec::new(),
                peer: address.clone(),
                options: 0,
            },
        )
    });
    let connection = rewritten(&good, [0; 32], |m| {
        add(
            m,
            HandleKind::Established(TcpConnection {
                domain: 2,
                local: Vec::new(),
                peer: address.clone(),
                send_queue: b"data".to_vec(),
                mss: 1400,
                ..TcpConnection::default()
            }),
        )
    });
    for (name, bytes, said) in [
        (
            "udp",
            udp,
            "UDP socket (IPv4), connected to port 41983, which this box's network does not \
             allow",
        ),
        (
            "connection",
            connection,
            "TCP connection (IPv4, port 0 to port 41983), 4 bytes to send, 0 to read, which \
             this box's network does not allow",
        ),
    ] {
        let path = dir.join(format!("{name}.snap"));
        std::fs::write(&path, bytes).unwrap();
        let out = picobox()
            .args(["restore", "--trust-snapshot"])
            .arg(&path)
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{name}: {err}");
        assert!(err.contains(said), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: it ran");
    }
}

#[test]
fn damaged_or_foreign_files_are_refused_before_anything_runs() {
    let dir = scratch("snapshot-damaged");
    let (file, _) = counter_snapshot(&dir, "snap-damaged");
    let good = std::fs::read(&file).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", good[..good.len() / 2].to_vec(), "the snapshot"),
        (
            "flipped",
            {
                let mut b = good.clone();
                let at = b.len() / 3;
                b[at] ^= 0x40;
                b
            },
            "corrupted",
        ),
        (
            "foreign",
            b"#!/bin/sh\necho hello\n".to_vec(),
            "not a picobox snapshot",
        ),
        (
            "version",
            {
                let mut b = good.clone();
                b[8] = 9;
                b
            },
            "format version 9",
        ),
        ("empty", Vec::new(), "empty"),
    ];
    for (name, bytes, message) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = picobox().arg("restore").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(125), "{name}");
        assert!(
            out.stdout.is_empty(),
            "{name}: it ran: {}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stderr).contains(message),
            "{name}: {}",
            text(&out.stderr)
        );
        let out = picobox()
            .args(["snapshot", "inspect"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "inspect {name}");
    }
}

/// Flips one bit of a byte of the last page run of snapshot `file` in place (`write`, which
/// changes the file's change time); flipping it again puts the byte back.
fn flip_a_page_byte_in_place(file: &Path) {
    use std::os::unix::fs::FileExt;
    // The last page run ends where the 60-byte trailer begins.
    let at = std::fs::metadata(file).unwrap().len() - 60 - 1000;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
        .unwrap();
    let mut byte = [0u8; 1];
    f.read_exact_at(&mut byte, at).unwrap();
    f.write_all_at(&[byte[0] ^ 0x10], at).unwrap();
}

fn assert_refused_as_corrupted(file: &Path) {
    let out = picobox().arg("restore").arg(file).output().unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "it ran: {}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("corrupted"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_snapshot_changed_in_place_after_it_was_written_or_restored_is_checked_again_and_refused() {
    // The file a snapshot wrote, and a file a restore has checked whole, are known, so that
    // restoring them (a fresh snapshot, a clone) does not read every page again; a change
    // since, of one byte of one page, is still refused before anything runs.
    let dir = scratch("snapshot-changed");
    let (file, expected) = counter_snapshot(&dir, "snap-changed");
    flip_a_page_byte_in_place(&file);
    assert_refused_as_corrupted(&file);
    flip_a_page_byte_in_place(&file);
    for _ in 0..2 {
        let mut restored = restore(&file, &[]);
        assert_eq!(restored.ask(), expected[3]);
        let (_, status, err) = restored.finish();
        assert_eq!(status, Some(0), "{err}");
    }
    flip_a_page_byte_in_place(&file);
    assert_refused_as_corrupted(&file);
}

#[test]
fn threads_waiting_in_fifo_opens_are_snapshotted_and_their_opens_go_on() {
    // A FIFO's open waits without the library OS's lock, so a box whose threads wait there
    // freezes as any blocking call does (it was refused as busy); the restored threads wait
    // again in the FIFOs made again in the box's /tmp, and the program goes on as natively.
    let dir = scratch("snapshot-fifo-open");
    let program = guest("fifowait");
    let fifos = scratch("snapshot-fifo-open-native");
    let native = native_output(
        &program,
        &[fifos.as_os_str()],
        b"ping\nping\nwrite-a\nread-b\n",
    );
    let mut running = counter_box("snap-fifo-open", &program, &["/tmp"]);
    writeln!(running.stdin.as_mut().unwrap(), "ping").unwrap();
    assert_eq!(running.line(), "pong 1");
    let file = dir.join("fifo-open.snap");
    let out = snapshot("snap-fifo-open", &file, &[]);
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    assert!(running.finish().0.is_empty());
    let mut restored = restore(&file, &[]);
    write!(restored.stdin.as_mut().unwrap(), "ping\nwrite-a\nread-b\n").unwrap();
    let (rest, status, err) = restored.finish();
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(
        format!("ready\npong 1\n{}\n", rest.join("\n")),
        native,
        "{err}"
    );
}

#[test]
fn inspect_describes_the_snapshot() {
    let dir = scratch("snapshot-inspect");
    let (file, _) = counter_snapshot(&dir, "snap-inspect");
    let out = picobox()
        .args(["snapshot", "inspect"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("process   pid 2 (parent 0) threads 2"), "{t}");
    assert!(t.contains("standard stream 1"), "{t}");
    assert!(t.contains("file snapcount beneath"), "{t}");
    let out = picobox()
        .args(["snapshot", "inspect", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    let j = text(&out.stdout);
    assert!(j.starts_with("{\"file_bytes\":"), "{j}");
    assert!(j.contains("\"pid\":2,\"parent\":0,\"threads\":[2]"), "{j}");
    assert!(j.contains("\"restorable_by_this_build\":true"), "{j}");
}

#[test]
fn a_restore_names_a_file_the_program_had_open_that_is_gone() {
    let dir = scratch("snapshot-gone");
    let program = guest("snapcount");
    let copy = dir.join("bin");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(&program, copy.join("snapcount")).unwrap();
    let mut running = counter_box("snap-gone", &copy.join("snapcount"), &[]);
    running.ask();
    let file = dir.join("gone.snap");
    assert!(snapshot("snap-gone", &file, &[]).status.success());
    running.finish();
    std::fs::remove_file(copy.join("snapcount")).unwrap();
    let out = picobox().arg("restore").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("(snapcount) cannot be opened again"),
        "{}",
        text(&out.stderr)
    );
    // Told where the mount is now, it goes on.
    let moved = dir.join("moved");
    std::fs::create_dir_all(&moved).unwrap();
    std::fs::copy(&program, moved.join("snapcount")).unwrap();
    let mut restored = restore(&file, &["--bind", moved.to_str().unwrap(), "/w"]);
    assert!(restored.ask().starts_with("2 "));
    assert_eq!(restored.finish().0, vec!["end 2".to_string()]);
}

/// Runs `args` in a box named `id`, says `before` on its input, snapshots it, restores it
/// (with `restore_flags`) and says `after`: returns what the box and the restored box
/// printed, joined.
fn across_a_snapshot(
    id: &str,
    run_flags: &[&str],
    args: &[&str],
    before: &str,
    wait_for: &str,
    after: &str,
    restore_flags: &[&str],
) -> String {
    let dir = scratch(&format!("snapshot-app-{id}"));
    let mut cmd = picobox();
    cmd.args(["run", "--name", id])
        .args(run_flags)
        .arg("--")
        .args(args);
    let mut running = Talking::start(cmd);
    write!(running.stdin.as_mut().unwrap(), "{before}").unwrap();
    let mut printed = String::new();
    while !printed.contains(wait_for) {
        let line = running.line();
        assert!(
            !line.is_empty(),
            "the box ended before {wait_for:?}: {printed}"
        );
        printed.push_str(&line);
        printed.push('\n');
    }
    let file = dir.join("app.snap");
    let out = snapshot(id, &file, &[]);
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    let (rest, _, err) = running.finish();
    assert!(rest.is_empty(), "{rest:?} {err}");
    let mut restored = restore(&file, restore_flags);
    write!(restored.stdin.as_mut().unwrap(), "{after}").unwrap();
    let (rest, status, err) = restored.finish();
    assert_eq!(status, Some(0), "{err}");
    for line in rest {
        printed.push_str(&line);
        printed.push('\n');
    }
    printed
}

/// python3 running `script` across a snapshot (`across_a_snapshot`: fed `before`, taken once
/// it printed `wait_for`, restored and fed `after`), and natively on the same input.
fn python_across_a_snapshot(
    id: &str,
    script: &str,
    before: &str,
    wait_for: &str,
    after: &str,
) -> (String, String) {
    let boxed = across_a_snapshot(
        id,
        &[],
        &["/usr/bin/python3", "-u", "-c", script],
        before,
        wait_for,
        after,
        &[],
    );
    let native = native_python(script, &[], format!("{before}{after}").as_bytes());
    (boxed, native)
}

/// What python3 prints running `script` (with `args`) natively on `input`.
fn native_python(script: &str, args: &[&std::ffi::OsStr], input: &[u8]) -> String {
    let out = Command::new("/usr/bin/python3")
        .args(["-u", "-c", script])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(input)?;
            c.wait_with_output()
        })
        .unwrap();
    text(&out.stdout)
}

#[test]
fn python3_with_a_module_loaded_and_state_in_memory_goes_on() {
    let script = "import json, sys\nstate = {'n': 0, 'seen': []}\nprint('ready', flush=True)\n\
                  for line in sys.stdin:\n    state['n'] += 1\n    state['seen'].append(line.strip())\n\
                  \x20   print(json.dumps(state), flush=True)\n";
    let (boxed, native) = python_across_a_snapshot("snap-python", script, "a\nb\n", "\"b\"", "c\n");
    assert_eq!(boxed, native);
    assert!(
        boxed.ends_with("{\"n\": 3, \"seen\": [\"a\", \"b\", \"c\"]}\n"),
        "{boxed}"
    );
}

#[test]
fn python3_asyncio_with_a_unix_server_and_its_client_goes_on() {
    // asyncio's event loop holds a socket pair (its wake-up), the server a listening Unix
    // socket, and the connection one of each end; a worker thread waits on standard input.
    let script = "import asyncio, sys\nseen = []\n\
                  async def handle(reader, writer):\n\
                  \x20   while line := await reader.readline():\n\
                  \x20       seen.append(line.decode().strip())\n\
                  \x20       writer.write(('%d %s\\n' % (len(seen), ','.join(seen))).encode())\n\
                  \x20       await writer.drain()\n\
                  async def main():\n\
                  \x20   await asyncio.start_unix_server(handle, path=sys.argv[1])\n\
                  \x20   reader, writer = await asyncio.open_unix_connection(sys.argv[1])\n\
                  \x20   loop = asyncio.get_running_loop()\n\
                  \x20   print('ready', flush=True)\n\
                  \x20   while line := await loop.run_in_executor(None, sys.stdin.readline):\n\
                  \x20       writer.write(line.encode())\n\
                  \x20       await writer.drain()\n\
                  \x20       print((await reader.readline()).decode().strip(), flush=True)\n\
                  asyncio.run(main())\n";
    let boxed = across_a_snapshot(
        "snap-asyncio",
        &[],
        &["/usr/bin/python3", "-c", script, "/tmp/server.sock"],
        "a\nb\n",
        "2 a,b",
        "c\n",
        &[],
    );
    let dir = scratch("snapshot-asyncio-native");
    let native = native_python(script, &[dir.join("server.sock").as_os_str()], b"a\nb\nc\n");
    assert_eq!(boxed, native);
    assert!(boxed.ends_with("3 a,b,c\n"), "{boxed}");
}

#[test]
fn python3_multiprocessing_with_a_lock_and_a_queue_goes_on() {
    // The lock is a POSIX semaphore: shared memory of a /dev/shm file removed once mapped,
    // whose page the process never touched (the C library wrote the file); the queue a pipe
    // with a lock of its own. After the restore a child process takes both.
    let script = "import multiprocessing as m, sys\nl = m.Lock(); q = m.Queue()\n\
                  def child(l, q):\n    with l: q.put('from child')\n\
                  print('ready', flush=True); sys.stdin.readline()\n\
                  p = m.Process(target=child, args=(l, q)); p.start()\n\
                  print(q.get(), flush=True); p.join(); print('exit', p.exitcode)\n\
                  print(l.acquire(timeout=1), l.acquire(timeout=0.1))\n";
    let (boxed, native) =
        python_across_a_snapshot("snap-multiprocessing", script, "", "ready", "go\n");
    assert_eq!(boxed, native);
    assert_eq!(boxed, "ready\nfrom child\nexit 0\nTrue False\n");
}

#[test]
fn python3_shared_memory_of_a_dev_shm_file_stays_the_files_after_restore() {
    // A shared mapping of a file of the box's own /dev/shm: the file comes back with the box's
    // tmpfs files, the mapping is made again from it, and a write through the mapping is
    // the file's again.
    let script = "from multiprocessing import shared_memory as sm\nimport os, sys\n\
                  name = 'snapshm%d' % os.getpid()\n\
                  s = sm.SharedMemory(create=True, size=4096, name=name); s.buf[:5] = b'hello'\n\
                  print('ready', flush=True); sys.stdin.readline()\n\
                  print(bytes(s.buf[:5])); s.buf[:5] = b'world'\n\
                  print(open('/dev/shm/' + name, 'rb').read(5)); s.close(); s.unlink()\n";
    let (boxed, native) = python_across_a_snapshot("snap-shm", script, "", "ready", "go\n");
    assert_eq!(boxed, native);
    assert_eq!(boxed, "ready\nb'hello'\nb'world'\n");
}

#[test]
fn sqlite3_holding_a_database_in_a_bind_mount_goes_on() {
    let dir = scratch("snapshot-sqlite");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let d = data.to_str().unwrap();
    let before = "create table t(x);\ninsert into t values(1),(2);\nselect count(*) from t;\n";
    let after = "insert into t values(3);\nselect sum(x) from t;\n";
    let boxed = across_a_snapshot(
        "snap-sqlite",
        &["--bind", d, "/data"],
        &["/usr/bin/sqlite3", "/data/t.db"],
        before,
        "2",
        after,
        &["--bind", d, "/data"],
    );
    let native_dir = dir.join("native");
    std::fs::create_dir_all(&native_dir).unwrap();
    let native = Command::new("/usr/bin/sqlite3")
        .arg(native_dir.join("t.db"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("{before}{after}").as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(boxed, text(&native.stdout));
    // The restored box wrote to the same database file.
    let check = Command::new("/usr/bin/sqlite3")
        .arg(data.join("t.db"))
        .arg("select group_concat(x) from t;")
        .output()
        .unwrap();
    assert_eq!(text(&check.stdout), "1,2,3\n");
}

/// The threads guest's output natively, for its two commands.
fn threads_native(program: &Path) -> String {
    native_output(program, &[], b"go\nresult\n")
}

/// What `program args` prints natively, given `input`.
/// Guest `name` across a snapshot: run in a box (with `run_flags` and the guests at `/g`) as
/// `/g/NAME box_args`, snapshotted once it printed `ready`, restored and given `input`.
/// Returns what it printed, beside what it prints run natively with `native_args` and the
/// same input.
fn guest_across_a_snapshot(
    id: &str,
    name: &str,
    run_flags: &[&str],
    (box_args, native_args): (&[&str], &[&std::ffi::OsStr]),
    input: &str,
) -> (String, String) {
    let program = guest(name);
    let native = native_output(&program, native_args, input.as_bytes());
    let guests = directory_of(&program);
    let mut flags = run_flags.to_vec();
    flags.extend(["--ro-bind", guests.as_str(), "/g"]);
    let path = format!("/g/{name}");
    let mut args = vec![path.as_str()];
    args.extend(box_args);
    let boxed = across_a_snapshot(id, &flags, &args, "", "ready", input, &[]);
    (boxed, native)
}

/// Takes a snapshot of running box `id`, which must be refused (exit status 125) with a
/// message holding each of `parts`, leaving no file.
fn assert_snapshot_refused(id: &str, parts: &[&str]) {
    let dir = scratch(&format!("snapshot-refused-{id}"));
    let file = dir.join("never.snap");
    let out = snapshot(id, &file, &[]);
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{said}");
    assert!(parts.iter().all(|p| said.contains(p)), "{said}");
    assert!(!file.exists());
}

fn native_output(program: &Path, args: &[&std::ffi::OsStr], input: &[u8]) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    text(&child.wait_with_output().unwrap().stdout)
}

#[test]
fn a_multi_threaded_program_frozen_mid_computation_goes_on_with_its_thread_ids() {
    let dir = scratch("snapshot-threads");
    let program = guest("snapthreads");
    let native = threads_native(&program);
    // Frozen at several points of the work: computing, sleeping, waiting on a condition.
    for (round, delay) in [20u64, 120, 300].into_iter().enumerate() {
        let id = format!("snap-threads-{round}");
        let running = counter_box(&id, &program, &[]);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let file = dir.join(format!("threads{round}.snap"));
        let out = snapshot(&id, &file, &[]);
        assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
        assert!(running.finish().0.is_empty());
        let inspect = picobox()
            .args(["snapshot", "inspect", "--json"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            text(&inspect.stdout).contains("\"threads\":[2,3,4,5,6]"),
            "{}",
            text(&inspect.stdout)
        );
        let mut restored = restore(&file, &[]);
        write!(restored.stdin.as_mut().unwrap(), "go\nresult\n").unwrap();
        let (rest, status, err) = restored.finish();
        assert_eq!(status, Some(0), "{err}");
        assert_eq!(format!("ready\n{}\n", rest.join("\n")), native, "{err}");
    }
}

#[test]
fn a_go_program_with_goroutines_a_channel_and_a_ticker_goes_on() {
    let dir = scratch("snapshot-go");
    let program = crate::support::go_guest("gosnap");
    let native = native_answers(&program, 3);
    assert_eq!(native[3], "3 1498500 true");
    let mut running = counter_box("snap-go", &program, &[]);
    assert_eq!(running.ask(), native[1]);
    let file = dir.join("go.snap");
    let out = snapshot("snap-go", &file, &["--leave-running"]);
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    assert_eq!(running.ask(), native[2]);
    running.finish();
    let mut restored = restore(&file, &[]);
    assert_eq!(restored.ask(), native[2]);
    assert_eq!(restored.ask(), native[3]);
    let (_, status, err) = restored.finish();
    assert_eq!(status, Some(0), "{err}");
}

#[test]
fn a_pipe_with_bytes_in_it_and_an_eventfd_are_captured_and_kept_in_a_box_left_running() {
    let dir = scratch("snapshot-pipe");
    let program = guest("snapcount");
    for (mode, last) in [("pipe", "pipe 5 hello"), ("eventfd", "eventfd 10")] {
        let native = native_answers_with(&program, &[mode], 2);
        assert_eq!(native.last().map(String::as_str), Some(last));
        let id = format!("snap-{mode}");
        let mut running = counter_box(&id, &program, &[mode]);
        assert_eq!(running.ask(), native[1]);
        let file = dir.join(format!("{mode}.snap"));
        let out = snapshot(&id, &file, &["--leave-running"]);
        assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
        assert_eq!(running.ask(), native[2]);
        let (rest, _, err) = running.finish();
        assert_eq!(rest, native[3..].to_vec(), "the box left running: {err}");
        let mut restored = restore(&file, &[]);
        assert_eq!(restored.ask(), native[2]);
        let (rest, status, err) = restored.finish();
        assert_eq!(status, Some(0), "{err}");
        assert_eq!(rest, native[3..].to_vec(), "the restored box: {err}");
    }
}

/// A box of `program` (with `args`) that answered once, snapshotted with `--leave-running`:
/// both the box left running and one restored from the file then answer as `native` (the
/// same program's answers natively, one line asked after `ready` each), and `snapshot
/// inspect` describes the file with each of `described`.
fn left_running_and_restored(
    id: &str,
    program: &Path,
    args: &[&str],
    native: &[String],
    described: &[&str],
) {
    let dir = scratch(&format!("snapshot-{id}"));
    let mut running = counter_box(id, program, args);
    assert_eq!(running.ask(), native[1]);
    let file = dir.join("box.snap");
    let out = snapshot(id, &file, &["--leave-running"]);
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    assert_eq!(running.ask(), native[2]);
    let (rest, _, err) = running.finish();
    assert_eq!(rest, native[3..].to_vec(), "the box left running: {err}");
    let inspect = picobox()
        .args(["snapshot", "inspect"])
        .arg(&file)
        .output()
        .unwrap();
    let text_of = text(&inspect.stdout);
    for part in described {
        assert!(text_of.contains(part), "{part}: {text_of}");
    }
    let mut restored = restore(&file, &[]);
    assert_eq!(restored.ask(), native[2]);
    let (rest, status, err) = restored.finish();
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(rest, native[3..].to_vec(), "the restored box: {err}");
}

#[test]
fn unix_sockets_of_every_kind_with_their_queued_messages_go_on_after_restore() {
    // Peeked, not taken: the box left running reads all it had queued. The restored box's
    // /tmp is a new one: its socket files are made again there.
    let dir = scratch("snapshot-unix-native");
    let program = guest("snapunix");
    let native_dir = dir.join("native");
    std::fs::create_dir_all(&native_dir).unwrap();
    let native = native_answers_with(&program, &[native_dir.to_str().unwrap()], 2);
    assert_eq!(
        native.last().map(String::as_str),
        Some("listener again: accepted")
    );
    assert!(native.contains(&"peek offset 2, peeked next: cd".to_string()));
    left_running_and_restored(
        "snap-unix",
        &program,
        &["/tmp"],
        &native,
        &[
            "Unix stream socket",
            "/tmp/s, listening (1 waiting)",
            "connecting (not yet accepted)",
            "its peer closed, 3 bytes queued",
            "Unix seqpacket socket",
            "Unix datagram socket",
            "/tmp/d, 20 bytes queued",
        ],
    );
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    text(&out.stdout)
}

fn wait_for_redis(port: u16) {
    for _ in 0..200 {
        if redis_cli(port, &["ping"]) == "PONG\n" {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("redis did not answer on port {port}");
}

#[test]
fn nginx_with_two_workers_sharing_its_listener_serves_again_after_restore() {
    // The master and both workers hold one listening socket (and the master a socket pair
    // to each worker): bound once again, and passed to the others.
    use crate::support::{curl, curl_when_up, free_port};
    let dir = scratch("snapshot-nginx");
    let addr = format!("127.0.0.1:{}", free_port());
    crate::support::nginx_site(&dir, &addr);
    let path = |d: &str| dir.join(d).to_str().unwrap().to_string();
    let mut server = picobox()
        .args([
            "run",
            "--name",
            "snap-nginx",
            "--allow-bind",
            &format!("tcp:{addr}"),
        ])
        .args([
            "--ro-bind",
            &path("www"),
            "/www",
            "--ro-bind",
            &path("conf"),
            "/conf",
        ])
        .args(["--bind", &path("logs"), "/logs", "--"])
        .args(["nginx", "-c", "/conf/nginx.conf", "-e", "/logs/error.log"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(text(&curl_when_up(&addr, "/").stdout), "hello from nginx\n");
    let file = dir.join("nginx.snap");
    let out = snapshot("snap-nginx", &file, &[]);
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    assert!(server.wait().unwrap().success());
    let inspect = picobox()
        .args(["snapshot", "inspect"])
        .arg(&file)
        .output()
        .unwrap();
    let described = text(&inspect.stdout);
    assert_eq!(described.matches("process   pid").count(), 3, "{described}");
    let mut restored = picobox()
        .arg("restore")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = curl_when_up(&addr, "/");
    for _ in 0..10 {
        assert_eq!(text(&curl(&addr, "/").stdout), "hello from nginx\n");
    }
    let _ = Command::new("kill").arg(restored.id().to_string()).status();
    let status = restored.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(restored.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(text(&first.stdout), "hello from nginx\n", "{err}");
    assert!(!err.contains("restore:"), "{err}");
    let _ = status;
    let log = std::fs::read_to_string(dir.join("logs/access.log")).unwrap();
    assert_eq!(log.lines().count(), 12, "{log}");
}

#[test]
fn redis_server_with_ten_thousand_keys_listens_again_after_restore() {
    let dir = scratch("snapshot-redis");
    let port = crate::support::free_port();
    let p = port.to_string();
    let rule = format!("tcp:127.0.0.1:{port}");
    let mut server = picobox()
        .args(["run", "--name", "snap-redis", "--allow-bind", &rule, "--"])
        .args(["/usr/bin/redis-server", "--port", &p, "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_redis(port);
    let mut cli = Command::new("redis-cli")
        .args(["-p", &p])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    {
        let mut input = cli.stdin.take().unwrap();
        for i in 0..10_000 {
            writeln!(input, "SET key{i} value{i}").unwrap();
        }
    }
    assert!(cli.wait().unwrap().success());
    assert_eq!(redis_cli(port, &["dbsize"]), "10000\n");
    // A client still connected when the snapshot is taken: its connection is reset in the
    // restored server, which drops it and serves on.
    let held = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::io::Write::write_all(&mut &held, b"PING\r\n").unwrap();
    let mut pong = [0u8; 7];
    std::io::Read::read_exact(&mut &held, &mut pong).unwrap();
    assert_eq!(&pong, b"+PONG\r\n");
    let file = dir.join("redis.snap");
    let out = snapshot("snap-redis", &file, &[]);
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    assert!(server.wait().unwrap().success());
    let inspect = picobox()
        .args(["snapshot", "inspect"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        text(&inspect.stdout).contains(&format!("listening TCP socket (IPv4, port {port})")),
        "{}",
        text(&inspect.stdout)
    );
    assert!(
        text(&inspect.stdout).contains("connected TCP socket (IPv4), reset on restore"),
        "{}",
        text(&inspect.stdout)
    );
    drop(held);
    let mut restored = picobox()
        .arg("restore")
        .arg(&file)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_redis(port);
    assert_eq!(redis_cli(port, &["dbsize"]), "10000\n");
    for i in [0, 4321, 9999] {
        assert_eq!(
            redis_cli(port, &["get", &format!("key{i}")]),
            format!("value{i}\n")
        );
    }
    redis_cli(port, &["shutdown", "nosave"]);
    assert!(restored.wait().unwrap().success());
}

#[test]
fn node_with_a_timer_goes_on_ticking_after_restore() {
    let dir = scratch("snapshot-node");
    let script = "let n = 0;\nconsole.log('ready');\n\
                  setInterval(() => { n++; if (n % 5 == 0) console.log('tick ' + n); }, 10);\n\
                  process.stdin.on('data', d => { console.log('got ' + d.toString().trim() + \
                  ' at ' + n); process.exit(0); });\n";
    let mut cmd = picobox();
    cmd.args([
        "run",
        "--name",
        "snap-node",
        "--",
        "/usr/bin/node",
        "-e",
        script,
    ]);
    let mut running = Talking::start(cmd);
    assert_eq!(running.line(), "ready");
    let mut last = 0;
    while last < 20 {
        let line = running.line();
        last = line.strip_prefix("tick ").unwrap().parse().unwrap();
    }
    let file = dir.join("node.snap");
    let out = snapshot("snap-node", &file, &[]);
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    let (rest, _, _) = running.finish();
    // Ticks printed while the freeze was under way, if any, came before it.
    if let Some(l) = rest.last() {
        last = l.strip_prefix("tick ").unwrap().parse().unwrap();
    }
    let mut restored = restore(&file, &[]);
    // The timer goes on from its count: the next tick is the next multiple of five.
    assert_eq!(restored.line(), format!("tick {}", last + 5));
    writeln!(restored.stdin.as_mut().unwrap(), "hello").unwrap();
    let (rest, status, err) = restored.finish();
    assert_eq!(status, Some(0), "{err}");
    let got = rest
        .iter()
        .find(|l| l.starts_with("got hello at "))
        .expect("an answer");
    let at: u64 = got.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(at >= last + 5, "{got}");
}

#[test]
fn a_restored_box_is_confined_as_any_box_the_gate_kills_an_escape_on_every_thread() {
    let dir = scratch("snapshot-escape");
    let program = guest("snapescape");
    for mode in ["main", "thread"] {
        let id = format!("snap-escape-{mode}");
        let running = counter_box(&id, &program, &[mode]);
        let file = dir.join(format!("{mode}.snap"));
        let out = snapshot(&id, &file, &[]);
        assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
        assert!(running.finish().0.is_empty());
        let mut restored = restore(&file, &[]);
        writeln!(restored.stdin.as_mut().unwrap(), "now").unwrap();
        let (rest, status, err) = restored.finish();
        assert!(rest.is_empty(), "{mode}: the call returned: {rest:?}");
        assert_eq!(status, Some(159), "{mode}: {err}");
        assert!(
            err.contains("killed by the seccomp policy"),
            "{mode}: {err}"
        );
    }
}

#[test]
fn a_restored_box_keeps_its_landlock_rules_on_every_thread_at_the_gate() {
    // A bind of a port the box was not given, made at the runtime's gate (past the library
    // OS's own check), from the first thread and from a thread made before the snapshot.
    let dir = scratch("snapshot-landlock");
    let program = guest("snapescape");
    let dir_of = directory_of(&program);
    for (mode, line) in [("bind", "main: -13"), ("bind-thread", "thread: -13")] {
        let id = format!("snap-landlock-{mode}");
        // Given one host port, not the one it tries.
        let mut cmd = picobox();
        cmd.args(["run", "--name", &id, "--allow-bind", "tcp:127.0.0.1:47299"])
            .args(["--ro-bind", &dir_of, "/w", "--", "/w/snapescape", mode]);
        let mut running = Talking::start(cmd);
        assert_eq!(running.line(), "ready");
        let file = dir.join(format!("{mode}.snap"));
        let out = snapshot(&id, &file, &[]);
        assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
        assert!(running.finish().0.is_empty());
        let mut restored = restore(&file, &[]);
        writeln!(restored.stdin.as_mut().unwrap(), "now").unwrap();
        let (rest, _, err) = restored.finish();
        assert_eq!(rest, vec![line.to_string()], "{mode}: {err}");
    }
}

#[test]
fn processes_of_a_restored_box_signal_each_other() {
    // The shell kills its background job after the restore: the box's processes share one
    // Landlock domain, as in a box that was run (Landlock scopes signals to a domain).
    let script = "sleep 100 & echo ready; read x; kill $!; wait $!; echo \"status $? $x\"";
    let (boxed, native) = shell_across_a_snapshot("snap-signal", script, 100, "x\n");
    assert_eq!(boxed, native);
    assert_eq!(native, "ready\nstatus 143 x\n");
}

#[test]
fn a_tcp_connection_of_the_boxs_own_network_to_itself_goes_on_after_restore() {
    // Both ends are the box's: taken and made again (before, it came back reset).
    let dir = scratch("snapshot-tcp");
    let program = guest("snapcount");
    let native = native_answers_with(&program, &["tcp"], 1);
    assert_eq!(
        native.last().unwrap(),
        "tcp -1 Resource temporarily unavailable"
    );
    let mut running = crate::support::picobox();
    running.args(["run", "--name", "snap-tcp", "--net", "loopback"]);
    let dir_of = directory_of(&program);
    running.args(["--ro-bind", &dir_of, "/w", "--", "/w/snapcount", "tcp"]);
    let mut running = Talking::start(running);
    assert_eq!(running.line(), "ready");
    let file = dir.join("tcp.snap");
    let out = snapshot("snap-tcp", &file, &[]);
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    running.finish();
    let restored = restore(&file, &[]);
    let (rest, status, err) = restored.finish();
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(
        rest,
        vec!["end 0", native.last().unwrap().as_str()],
        "{err}"
    );
}

#[test]
fn a_tcp_connection_to_the_host_is_reset_in_the_restored_box() {
    // On the host's network the peer may be outside the box: the connection is not taken,
    // and the restored program finds it reset.
    let dir = scratch("snapshot-tcp-host");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        c.write_all(b"hello\n").unwrap();
        // Held open until the test ends.
        std::thread::sleep(std::time::Duration::from_secs(30));
        drop(c);
    });
    let busybox = crate::support::busybox();
    let script = format!("echo ready; {busybox} nc 127.0.0.1 {port}; echo \"nc ended: $?\"");
    let mut running = crate::support::picobox();
    running
        .args(["run", "--name", "snap-tcp-host", "--allow-connect"])
        .arg(format!("tcp:127.0.0.1:{port}"))
        .args(["--", busybox, "sh", "-c", &script]);
    let mut running = Talking::start(running);
    assert_eq!(running.line(), "ready");
    assert_eq!(running.line(), "hello");
    let file = dir.join("tcp.snap");
    let out = snapshot("snap-tcp-host", &file, &[]);
    assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
    running.finish();
    let mut restored = restore(&file, &[]);
    writeln!(restored.stdin.as_mut().unwrap(), "x").unwrap();
    let (rest, status, err) = restored.finish();
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(rest, vec!["nc ended: 1"], "{err}");
    assert!(err.contains("Connection reset by peer"), "{err}");
    drop(server);
}

#[test]
fn a_system_v_segment_larger_than_the_monitors_memory_goes_on_after_restore() {
    // 3000 MiB, 12 MiB of it written: read a piece at a time, and its pages, more than the
    // metadata carries, stored as page runs. Before, the monitor ran out of its own memory
    // reading it whole, and ended, and the box with it.
    let (boxed, native) = guest_across_a_snapshot(
        "snap-big-segment",
        "bigsegment",
        &["--memory", "4G"],
        (&["3000"], &[std::ffi::OsStr::new("3000")]),
        "x\n",
    );
    assert_eq!(
        native,
        "ready\nsegment says kept, 3000 of 3000 MiB marked\n"
    );
    assert_eq!(boxed, native);
}

#[test]
fn a_program_reserving_64_tib_of_address_space_goes_on_after_restore_as_native() {
    // Its pages are found by PAGEMAP_SCAN (not a word per page of 64 TiB), and the restore
    // places its own page past the reservation. Before, the monitor ran out of its memory
    // (and ended, and the box with it).
    let program = guest("reservation");
    let native = native_output(&program, &[], b"x\nx\n");
    assert_eq!(native, "ready\nstill k\nstill k\n");
    let guests = directory_of(&program);
    let boxed = across_a_snapshot(
        "snap-reservation",
        &["--ro-bind", &guests, "/g"],
        &["/g/reservation"],
        "x\n",
        "still k",
        "x\n",
        &[],
    );
    assert_eq!(boxed, native);
}

#[test]
fn posix_message_queues_with_their_messages_go_on_after_restore_as_native() {
    // Before, a descriptor of one was refused as a descriptor snapshots do not know.
    let (boxed, native) =
        guest_across_a_snapshot("snap-posix-queues", "posixqueues", &[], (&[], &[]), "go\n");
    assert_eq!(
        native,
        "ready\nfirst: 3 of 5 messages of at most 64 bytes, blocking\n\
         first, write-only: 3 of 5 messages of at most 64 bytes, non-blocking\n\
         second: 0 of 2 messages of at most 1000 bytes, blocking\n\
         got high, priority 9\ngot low one, priority 1\ngot low two, priority 1\n\
         then through the other, priority 4\nremoved: 0 0\n"
    );
    assert_eq!(boxed, native);
}

#[test]
fn a_posix_queue_a_process_is_told_of_is_refused_and_the_box_goes_on() {
    let program = guest("posixqueues");
    let guests = directory_of(&program);
    let mut cmd = picobox();
    cmd.args([
        "run",
        "--name",
        "snap-posix-notify",
        "--ro-bind",
        &guests,
        "/g",
    ])
    .args(["--", "/g/posixqueues", "notify"]);
    let mut running = Talking::start(cmd);
    assert_eq!(running.line(), "ready");
    assert_snapshot_refused(
        "snap-posix-notify",
        &[
            "a process of the box asked to be told of POSIX message queue picobox-snap-b \
           (mq_notify), which snapshots do not capture",
        ],
    );
    writeln!(running.stdin.as_mut().unwrap(), "go").unwrap();
    let (rest, status, _) = running.finish();
    assert_eq!(status, Some(0));
    assert_eq!(rest.last().map(String::as_str), Some("removed: 0 0"));
}

#[test]
fn a_pidfd_of_a_child_goes_on_after_restore_as_native() {
    // Opened again with the child's pid, which the restore keeps (before, refused).
    let (boxed, native) =
        guest_across_a_snapshot("snap-pidfd", "snappidfd", &[], (&[], &[]), "go\n");
    assert_eq!(
        native,
        "ready\nreadable while the child lives: 0\nsignalled: 0\nreadable once it ended: 1\n\
         waited: 0, killed by signal 15, the child's pid: yes\n"
    );
    assert_eq!(boxed, native);
}

#[test]
fn a_restored_box_is_snapshotted_and_restored_again_with_its_clocks_going_on() {
    // Before, a restored box kept its restorer's own mount roots above the snapshot's
    // descriptors (refused when snapshotted), and its snapshot named the restorer's place
    // of the runtime. Each time the box is not running for 1.5 s; its monotonic and boot
    // clocks go on from where they were (a time namespace of its own), not by that time.
    let program = guest("snapclocks");
    let guests = directory_of(&program);
    let dir = scratch("snapshot-again");
    let mut cmd = picobox();
    cmd.args(["run", "--name", "snap-again-1", "--ro-bind", &guests, "/g"])
        .args(["--", "/g/snapclocks", "1000"]);
    let mut running = Talking::start(cmd);
    assert_eq!(running.line(), "ready");
    let first = dir.join("first.snap");
    let out = snapshot("snap-again-1", &first, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(running.finish().0.is_empty());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let mut again = restore(&first, &["--name", "snap-again-2"]);
    // Once it runs (its monitor answers), it is taken again.
    let second = dir.join("second.snap");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let out = snapshot("snap-again-2", &second, &[]);
        if out.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            text(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(again.stdin.take());
    let (rest, _, err) = again.finish();
    assert!(rest.is_empty(), "{rest:?} {err}");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let mut last = restore(&second, &[]);
    writeln!(last.stdin.as_mut().unwrap(), "x").unwrap();
    let (rest, status, err) = last.finish();
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(
        rest,
        [
            "monotonic (vDSO) went on: yes, by less than 1000 ms: yes",
            "monotonic (system call) went on: yes, by less than 1000 ms: yes",
            "boot time (vDSO) went on: yes, by less than 1000 ms: yes",
            "boot time (system call) went on: yes, by less than 1000 ms: yes",
        ]
    );
}

#[test]
fn timers_and_timer_files_keep_their_time_left_and_ids_after_restore() {
    let program = guest("snaptimers");
    let native = native_answers(&program, 2);
    assert_eq!(native.last().map(String::as_str), Some("timer ids: 0 1"));
    assert!(native.contains(&"unread timer file: fifteen expiries or more".to_string()));
    left_running_and_restored(
        "snap-timers",
        &program,
        &[],
        &native,
        &[
            "timer     interval timer ITIMER_REAL, 49",
            "timer     POSIX timer 0 (clock 1),",
            "period 0.020000000 s",
            "timer     POSIX timer 1 (clock 1), 99",
            "timer file, 99",
        ],
    );
}

#[test]
fn inotify_watches_keep_their_numbers_and_masks_after_restore_as_native() {
    // Watches 1 and 3 (one-shot) in place, 2 removed: the restored watcher reports events
    // with the same numbers, its one-shot watch fires once, and the next watch is number 4.
    let program = guest("inotifywd");
    let guests = directory_of(&program);
    let native_dir = scratch("snapshot-inotify-native");
    let native = native_output(&program, &[native_dir.as_os_str()], b"go\ngo\n");
    assert!(native.contains("watches 1 2 3\n"), "{native}");
    assert!(native.contains("new watch 4\n"), "{native}");
    let data = scratch("snapshot-inotify-data");
    let boxed = across_a_snapshot(
        "snap-inotify",
        &[
            "--ro-bind",
            &guests,
            "/g",
            "--bind",
            data.to_str().unwrap(),
            "/d",
        ],
        &["/g/inotifywd", "/d"],
        "",
        "ready",
        "go\ngo\n",
        &[],
    );
    assert_eq!(boxed, native);
}

#[test]
fn inotify_watchers_with_unread_events_or_shared_by_two_processes_are_refused() {
    let program = guest("inotifywd");
    let guests = directory_of(&program);
    for (id, mode, message) in [
        (
            "snap-inotify-unread",
            "unread",
            "has inotify events it has not read yet (descriptor",
        ),
        (
            "snap-inotify-shared",
            "shared",
            "shares an inotify watcher (descriptor",
        ),
    ] {
        let dir = scratch(id);
        let data = scratch(&format!("{id}-data"));
        let mut cmd = picobox();
        cmd.args(["run", "--name", id, "--ro-bind", &guests, "/g"])
            .args(["--bind", data.to_str().unwrap(), "/d", "--"])
            .args(["/g/inotifywd", "/d", mode]);
        let mut running = Talking::start(cmd);
        assert_eq!(running.line(), "watches 1 2 3");
        assert_eq!(running.line(), "event wd=2 mask=0x8000");
        assert_eq!(running.line(), "ready");
        let file = dir.join("never.snap");
        let out = snapshot(id, &file, &[]);
        assert_eq!(out.status.code(), Some(125), "{mode}");
        assert!(
            text(&out.stderr).contains(message),
            "{mode}: {}",
            text(&out.stderr)
        );
        assert!(!file.exists());
        // The box goes on: its first events are the ones it had, or the new ones.
        writeln!(running.stdin.as_mut().unwrap(), "go").unwrap();
        assert_eq!(running.line(), "event wd=1 mask=0x2", "{mode}");
        let (rest, status, err) = running.finish();
        assert_eq!(status, Some(0), "{mode}: {err}");
        assert_eq!(rest.last().map(String::as_str), Some("end"), "{mode}");
    }
}

#[test]
fn a_box_adding_watches_all_the_time_is_snapshotted_each_time() {
    // Each inotify_add_watch waits for the monitor with the library OS's lock held: a
    // snapshot that finds the lock held lets the box go on with its calls answered, and
    // tries again, rather than refusing the box as busy.
    let program = guest("inotifywd");
    let guests = directory_of(&program);
    let dir = scratch("snapshot-inotify-loop");
    let data = scratch("snapshot-inotify-loop-data");
    let mut cmd = picobox();
    cmd.args([
        "run",
        "--name",
        "snap-inotify-loop",
        "--ro-bind",
        &guests,
        "/g",
    ])
    .args(["--bind", data.to_str().unwrap(), "/d", "--"])
    .args(["/g/inotifywd", "/d", "loop"]);
    let mut running = Talking::start(cmd);
    assert_eq!(running.line(), "watches 1 2 3");
    assert_eq!(running.line(), "event wd=2 mask=0x8000");
    assert_eq!(running.line(), "ready");
    for round in 0..8 {
        let file = dir.join(format!("loop{round}.snap"));
        let out = snapshot("snap-inotify-loop", &file, &["--leave-running"]);
        assert!(out.status.success(), "round {round}: {}", text(&out.stderr));
    }
    running.child.kill().unwrap();
    let _ = running.child.wait();
}

#[test]
fn tail_follows_its_file_through_inotify_after_restore() {
    // GNU tail -f waits on an inotify watch of the file; after a restore, lines appended
    // from outside the box reach it.
    let dir = scratch("snapshot-tail");
    let data = scratch("snapshot-tail-data");
    let log = data.join("log");
    std::fs::write(&log, "one\n").unwrap();
    let mut cmd = picobox();
    cmd.args([
        "run",
        "--name",
        "snap-tail",
        "--bind",
        data.to_str().unwrap(),
        "/d",
    ])
    .args(["--", "/usr/bin/tail", "-f", "/d/log"]);
    let mut running = Talking::start(cmd);
    assert_eq!(running.line(), "one");
    let file = dir.join("tail.snap");
    // tail sets up its watch after printing: the snapshot is retried until it holds one.
    let mut inspected = String::new();
    for _ in 0..50 {
        let out = snapshot("snap-tail", &file, &["--leave-running"]);
        assert!(out.status.success(), "snapshot: {}", text(&out.stderr));
        let out = picobox()
            .args(["snapshot", "inspect"])
            .arg(&file)
            .output()
            .unwrap();
        inspected = text(&out.stdout);
        if inspected.contains("inotify watcher, watches [1 on log") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        inspected.contains("inotify watcher, watches [1 on log"),
        "{inspected}"
    );
    running.child.kill().unwrap();
    let _ = running.child.wait();
    let mut restored = restore(&file, &[]);
    // Without its watch, tail would wait for ever: killed, it prints nothing more.
    let watchdog = Watchdog::new(restored.child.id(), 20);
    std::thread::sleep(std::time::Duration::from_millis(300));
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"two\nthree\n").unwrap();
    drop(f);
    assert_eq!(restored.line(), "two");
    assert_eq!(restored.line(), "three");
    drop(watchdog);
    restored.child.kill().unwrap();
    let _ = restored.child.wait();
}

/// What `program` prints natively on `input`, in an IPC namespace of its own (as a box has),
/// so that its System V ids and keys are its own.
fn native_in_own_ipc_namespace(program: &Path, input: &[u8]) -> String {
    native_in_own_ipc_namespace_with(program, &[], input)
}

/// As [`native_in_own_ipc_namespace`], with arguments.
fn native_in_own_ipc_namespace_with(program: &Path, args: &[&str], input: &[u8]) -> String {
    let mut cmd = Command::new("unshare");
    if !crate::support::is_root() {
        cmd.arg("--map-root-user");
    }
    cmd.arg("--ipc").arg(program).args(args);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    text(&out.stdout)
}

#[test]
fn system_v_semaphores_and_message_queues_go_on_after_restore_as_native() {
    // Ids (with the gap a removed set leaves), keys, values, messages in order with their
    // types, a lowered capacity: as the program left them, in the restored box's own IPC
    // namespace, and as they go on natively.
    let program = guest("sysvsnap");
    let guests = directory_of(&program);
    let native = native_in_own_ipc_namespace(&program, b"go\ngo\n");
    assert!(native.starts_with("ids 0 2 1 0 1\n"), "{native}");
    assert!(
        native.contains("a 1 2 3, b 7, key finds b: 1\n"),
        "{native}"
    );
    let boxed = across_a_snapshot(
        "snap-sysv",
        &["--ro-bind", &guests, "/g"],
        &["/g/sysvsnap"],
        "",
        "ready",
        "go\ngo\n",
        &[],
    );
    assert_eq!(boxed, native);
    let restored_twice = across_a_snapshot(
        "snap-sysv-2",
        &["--ro-bind", &guests, "/g"],
        &["/g/sysvsnap"],
        "go\n",
        "keyed queue",
        "go\n",
        &[],
    );
    assert_eq!(restored_twice, native);
}

#[test]
fn system_v_shared_memory_segments_go_on_after_restore_as_native() {
    // An attached segment (its pages, size, attachments), a keyed one nobody attaches, and
    // one removed while attached (it lives on while attached, as on Linux): as natively.
    let program = guest("sysvsnap");
    let guests = directory_of(&program);
    let native = native_in_own_ipc_namespace_with(&program, &["shm"], b"go\ngo\n");
    assert!(
        native.contains("first: 10000 bytes, 1 attached, mode 600"),
        "{native}"
    );
    assert!(native.contains("removed one: 0, removed 1"), "{native}");
    let boxed = across_a_snapshot(
        "snap-sysv-shm",
        &["--ro-bind", &guests, "/g"],
        &["/g/sysvsnap", "shm"],
        "go\n",
        "segments: ",
        "go\n",
        &[],
    );
    assert_eq!(boxed, native);
}

#[test]
fn a_system_v_segment_attached_in_part_is_refused_and_the_box_goes_on() {
    let program = guest("sysvsnap");
    let guests = directory_of(&program);
    let dir = scratch("snapshot-sysv-shm-part");
    let mut cmd = picobox();
    cmd.args([
        "run",
        "--name",
        "snap-sysv-part",
        "--ro-bind",
        &guests,
        "/g",
    ])
    .args(["--", "/g/sysvsnap", "shm-part"]);
    let mut running = Talking::start(cmd);
    assert!(running.line().starts_with("segments "));
    assert!(running.line().starts_with("ids "));
    assert_eq!(running.line(), "ready");
    let file = dir.join("never.snap");
    let out = snapshot("snap-sysv-part", &file, &[]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("maps part of System V shared memory segment 0"),
        "{}",
        text(&out.stderr)
    );
    assert!(!file.exists());
    writeln!(running.stdin.as_mut().unwrap(), "go").unwrap();
    assert_eq!(running.line(), "a 1 2 3, b 7, key finds b: 1");
    let (rest, status, err) = running.finish();
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(rest.last().map(String::as_str), Some("end"));
}

#[test]
fn asynchronous_io_contexts_with_events_waiting_go_on_after_restore_as_native() {
    let program = guest("aiosnap");
    let guests = directory_of(&program);
    let native_dir = scratch("snapshot-aio-native");
    let native = native_output(&program, &[native_dir.as_os_str()], b"go\ngo\n");
    assert!(
        native.contains("events 1 (data 0x1234 res 22); read 1 (data 0x5678 res 22)"),
        "{native}"
    );
    let data = scratch("snapshot-aio-data");
    let boxed = across_a_snapshot(
        "snap-aio",
        &[
            "--ro-bind",
            &guests,
            "/g",
            "--bind",
            data.to_str().unwrap(),
            "/d",
        ],
        &["/g/aiosnap", "/d"],
        "",
        "ready",
        "go\ngo\n",
        &[],
    );
    assert_eq!(boxed, native);
}
