//! Busybox applets, natively and boxed: same exit status, same output, same files.

use crate::support::*;
use std::path::Path;

fn prepare(dir: &Path) {
    std::fs::write(dir.join("words.txt"), "pear\napple\nfig\napple\nbanana\n").unwrap();
    std::fs::write(dir.join("nums.txt"), "3 c\n1 a\n2 b\n").unwrap();
    std::fs::create_dir_all(dir.join("tree/a/b")).unwrap();
    std::fs::write(dir.join("tree/a/one"), "1").unwrap();
    std::fs::write(dir.join("tree/a/b/two"), "22").unwrap();
    // Same times on both sides, so that archives of them are byte-for-byte equal.
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    for p in [
        "words.txt",
        "nums.txt",
        "tree/a/one",
        "tree/a/b/two",
        "tree/a/b",
        "tree/a",
        "tree",
    ] {
        std::fs::File::open(dir.join(p))
            .unwrap()
            .set_modified(when)
            .unwrap();
    }
}

/// Runs one applet both ways in fresh copies of the same directory and compares.
fn same(name: &str, args: &[&str]) {
    let bb = Path::new(busybox());
    let n = scratch(&format!("bb-native-{name}"));
    let b = scratch(&format!("bb-boxed-{name}"));
    prepare(&n);
    prepare(&b);
    // Both runs see their own directory; outputs must not mention it.
    let native_out = native(&n, bb, args);
    let boxed_out = boxed(&b, bb, args);
    assert_same(
        &format!("busybox {}", args.join(" ")),
        &native_out,
        &boxed_out,
    );
}

macro_rules! applet_tests {
    ($($test:ident: [$($arg:literal),*];)*) => {
        $(#[test] fn $test() { same(stringify!($test), &[$($arg),*]); })*
    };
}

applet_tests! {
    echo: ["echo", "hello", "world"];
    cat: ["cat", "words.txt", "nums.txt"];
    ls_l: ["ls", "-l", "tree/a"];
    wc: ["wc", "words.txt"];
    sort: ["sort", "words.txt"];
    sort_numeric: ["sort", "-n", "nums.txt"];
    uniq: ["uniq", "-c", "words.txt"];
    grep: ["grep", "-n", "app", "words.txt"];
    grep_no_match: ["grep", "kiwi", "words.txt"];
    sed: ["sed", "s/a/A/g", "words.txt"];
    awk: ["awk", "{ s += $1 } END { print s, NR }", "nums.txt"];
    head: ["head", "-n", "2", "words.txt"];
    tail: ["tail", "-n", "2", "words.txt"];
    cut: ["cut", "-d", " ", "-f", "2", "nums.txt"];
    tr: ["tr", "a-z", "A-Z"];
    md5sum: ["md5sum", "words.txt", "nums.txt"];
    sha256sum: ["sha256sum", "words.txt"];
    find: ["find", "tree", "-type", "f"];
    date: ["date", "-u", "-d", "@1700000000", "+%Y-%m-%d %H:%M"];
    seq: ["seq", "3", "7"];
    expr: ["expr", "6", "*", "7"];
    od: ["od", "-c", "nums.txt"];
    basename: ["basename", "/a/b/c.txt", ".txt"];
    dirname: ["dirname", "/a/b/c.txt"];
    true_: ["true"];
    false_: ["false"];
    cat_missing: ["cat", "no-such-file"];
}

/// Applets that change files, run one by one (pipelines need fork, which comes with issue 3):
/// the outputs and the files written in the box must equal the native ones.
fn same_files(name: &str, steps: &[&[&str]], files: &[&str]) {
    let bb = Path::new(busybox());
    let n = scratch(&format!("bbf-native-{name}"));
    let b = scratch(&format!("bbf-boxed-{name}"));
    prepare(&n);
    prepare(&b);
    for step in steps {
        let native_out = native(&n, bb, step);
        let boxed_out = boxed(&b, bb, step);
        assert_same(&step.join(" "), &native_out, &boxed_out);
    }
    for f in files {
        let nb = std::fs::read(n.join(f)).unwrap_or_else(|e| panic!("native {f}: {e}"));
        let bbytes = std::fs::read(b.join(f)).unwrap_or_else(|e| panic!("boxed {f}: {e}"));
        assert_eq!(nb, bbytes, "file {f} differs");
    }
}

#[test]
fn cp_mv_rm_mkdir() {
    same_files(
        "cpmv",
        &[
            &["cp", "words.txt", "w2"],
            &["mv", "w2", "w3"],
            &["mkdir", "-p", "d/e"],
            &["cp", "w3", "d/e/w4"],
            &["rm", "w3"],
            &["ls", "-R", "d"],
            &["ls", "w3"],
        ],
        &["d/e/w4"],
    );
}

#[test]
fn tar_and_gzip_round_trip() {
    same_files(
        "targz",
        &[
            &["tar", "cf", "t.tar", "tree"],
            &["gzip", "-9", "-n", "t.tar"],
            &["mkdir", "out"],
            &["gunzip", "-k", "t.tar.gz"],
            &["tar", "xf", "t.tar", "-C", "out"],
            &["find", "out", "-type", "f"],
            &["cat", "out/tree/a/b/two"],
        ],
        &["t.tar.gz", "t.tar", "out/tree/a/one", "out/tree/a/b/two"],
    );
}

#[test]
fn files_written_into_a_bind_mount_reach_the_host_byte_for_byte() {
    let dir = scratch("bind-bytes");
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("in.bin"), &data).unwrap();
    let out = boxed(&dir, Path::new(busybox()), &["cp", "in.bin", "out.bin"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(dir.join("out.bin")).unwrap(), data);
}

#[test]
fn tmpfs_is_writable_and_private() {
    let out = picobox()
        .args([
            "run",
            "--ro-bind",
            "/bin",
            "/bin",
            "--tmpfs",
            "/scratch",
            "--chdir",
            "/scratch",
            "--",
            busybox(),
            "cp",
            "/bin/busybox",
            "f",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Each box gets a fresh tmpfs: the file is gone in the next one.
    let out = picobox()
        .args([
            "run",
            "--ro-bind",
            "/bin",
            "/bin",
            "--tmpfs",
            "/scratch",
            "--chdir",
            "/scratch",
            "--",
            busybox(),
            "ls",
            "-a",
        ])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), ".\n..\n", "{}", text(&out.stderr));
    assert!(out.status.success());
}
