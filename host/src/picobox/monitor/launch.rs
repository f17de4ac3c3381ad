//! `picobox run`: open what the box may use, build its policy, fork, confine the child, and let
//! the library OS load the program there. The parent stays behind as the box's monitor: it
//! waits, reports how the program ended, and removes the box's cgroups. The box's first process
//! builds its own root (`policy/box_root.rs`) before it confines itself.
//!
//! The child never executes another file: it is already the runtime (this binary holds the
//! PAL, the library OS and the loader), so a box costs one fork and no `execve`.

use crate::box_root::{self, BoxUser};
use crate::broker;
use crate::cli::RunConfig;
use crate::hostio::{AT_FDCWD, O_CLOEXEC};
use crate::landlock::{self, Ruleset};
use crate::limits::Limits;
use crate::root_plan::{self, Leaf, PlannedMount, What};
use crate::{freeze, gate, out, pal, reaper, registry, restore, signals, snapshot};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::boot::{BootInfo, BootMount, Network};
use picobox_abi::{Errno, Handle, Host};

/// Exit status: picobox failed.
pub const EXIT_INTERNAL: u8 = 125;
// Exit status 126 (not runnable) and 127 (not found) come from the library OS, which finds the
// program in the box's view (`BootError::exit_status`).
/// Exit status: the kernel killed the box for a forbidden host system call.
pub const EXIT_POLICY_KILL: u8 = 159;

const DEFAULT_PATH: &[u8] = b"/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
const SIGKILL: u64 = 9;
const SIGSYS: u32 = 31;

/// A failure before the program started: exit status and message.
struct Failure(u8, String);

fn sys(nr: u64, a: [u64; 6]) -> Result<u64, Errno> {
    Errno::from_raw_return(gate::syscall(nr, a))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn c_str(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    v.push(0);
    v
}

fn open(path: &[u8], flags: u64) -> Result<u64, Errno> {
    let p = c_str(path);
    sys(
        257,
        [AT_FDCWD, p.as_ptr() as u64, flags | O_CLOEXEC, 0, 0, 0],
    )
}

fn close(fd: u64) {
    let _ = sys(3, [fd, 0, 0, 0, 0, 0]);
}

/// A name for this box's host objects (tmpfs directories, cgroups) that no other box, nor a
/// leftover of a box whose monitor was killed, can have: the monitor's pid and random bits.
pub fn box_tag() -> &'static str {
    static TAG: spin::Once<String> = spin::Once::new();
    TAG.call_once(|| {
        let mut r = [0u8; 4];
        let _ = pal::HOST.random_read(&mut r);
        format!(
            "{}-{:08x}",
            gate::syscall(39, [0; 6]),
            u32::from_le_bytes(r)
        )
    })
}

/// Everything the child needs, prepared by the parent.
struct Prepared {
    boot: BootInfo,
    /// The box's memory limit in bytes (`--memory`), which also bounds its System V IPC.
    memory: u64,
    mounts: Vec<PlannedMount>,
    limits: Limits,
    network: Network,
    user: BoxUser,
    /// The user namespace that idmaps writable binds (boxes started by root).
    idmap: Option<u64>,
    /// Whether Landlock scopes abstract sockets and signals (else a network namespace must).
    scoped: bool,
    /// How the box hands the monitor its `listen` calls (a box on the host's network).
    broker: Option<broker::Channel>,
    /// Whether the program is pid 1 (else picobox's reaper is, `monitor/reaper.rs`).
    as_pid_1: bool,
    /// The write end of the pipe on which the reaper gives the program's wait status.
    status: u64,
    /// The box's devpts instance (its `/dev/pts`), once made.
    devpts: Option<u64>,
    /// The root of the box's POSIX message queues (its IPC namespace's), once made.
    mqueue: Option<u64>,
    /// The snapshot channel (`pal/freeze.rs`): the monitor's end and the box's.
    snapshot_channel: (u64, u64),
    /// A snapshot to resume instead of a program to start (`picobox restore`).
    restore: Option<restore::Plan>,
    /// `picobox run`'s arguments, recorded in a snapshot of the box.
    run_args: Vec<Vec<u8>>,
}

/// The host kernel's release (`uname -r`), which the box reports as its own.
fn host_release() -> Vec<u8> {
    let mut uts = [0u8; 65 * 6];
    if sys(63, [uts.as_mut_ptr() as u64, 0, 0, 0, 0, 0]).is_err() {
        return b"6.1.0".to_vec();
    }
    let field = &uts[130..195];
    field[..field.iter().position(|b| *b == 0).unwrap_or(64)].to_vec()
}

/// Refuses standard streams that are directories: the box would hold a descriptor whose `..`
/// and paths lead into the host's file system, beside its mounts.
fn check_standard_streams() -> Result<(), Failure> {
    for (fd, name) in [(0, "input"), (1, "output"), (2, "error")] {
        let mut st = [0u64; 18];
        if sys(5, [fd, st.as_mut_ptr() as u64, 0, 0, 0, 0]).is_ok()
            && (st[3] & 0o170000) == 0o040000
        {
            return Err(Failure(
                EXIT_INTERNAL,
                format!(
                    "standard {name} is a directory; a box gets no host directory but its \
                     mounts (use --ro-bind or --bind)"
                ),
            ));
        }
    }
    Ok(())
}

fn prepare(c: &RunConfig, plan: root_plan::Plan) -> Result<Prepared, Failure> {
    check_standard_streams()?;
    let network = c.network();
    let (uid, gid) = (
        gate::syscall(102, [0; 6]) as u32,
        gate::syscall(104, [0; 6]) as u32,
    );
    let mut random = [0u8; 4];
    let _ = pal::HOST.random_read(&mut random);
    let user = BoxUser::for_caller(uid, gid, u32::from_le_bytes(random));
    let mounts = plan.mounts;
    let writes_host = mounts
        .iter()
        .any(|m| matches!(m.what, What::Bind { writable: true, .. }));
    let idmap = if user.switch && writes_host {
        Some(box_root::idmap_namespace(user).map_err(|e| Failure(EXIT_INTERNAL, e))?)
    } else {
        None
    };
    let mut envp: Vec<Vec<u8>> = Vec::new();
    if !c.env.iter().any(|(k, _)| k == b"PATH") {
        let mut p = b"PATH=".to_vec();
        p.extend_from_slice(DEFAULT_PATH);
        envp.push(p);
    }
    if let Some(home) = plan
        .home
        .filter(|_| !c.env.iter().any(|(k, _)| k == b"HOME"))
    {
        let mut h = b"HOME=".to_vec();
        h.extend_from_slice(&home);
        envp.push(h);
    }
    for (k, v) in &c.env {
        let mut e = k.clone();
        e.push(b'=');
        e.extend_from_slice(v);
        envp.push(e);
    }
    let mut argv = alloc::vec![c.program.clone()];
    argv.extend(c.args.iter().cloned());
    let boot = BootInfo {
        argv,
        envp,
        cwd: c.cwd.clone().unwrap_or_else(|| b"/".to_vec()),
        mounts: Vec::new(),
        uid,
        gid,
        hostname: b"picobox".to_vec(),
        kernel_release: host_release(),
        trace: c.trace,
        network,
        max_open_files: c.files,
        socket_root: None,
        allow_bind: c.allow_bind.clone(),
        allow_connect: c.allow_connect.clone(),
    };
    // The reaper (pid 1) is picobox's, not the box's: it does not count against --pids.
    let reaper = u64::from(!c.as_pid_1);
    let limits = Limits::prepare(c.pids.saturating_add(reaper), c.memory);
    Ok(Prepared {
        boot,
        memory: c.memory,
        mounts,
        limits,
        network,
        user,
        idmap,
        scoped: landlock::scoping_available(),
        broker: None,
        as_pid_1: c.as_pid_1,
        status: u64::MAX,
        devpts: None,
        mqueue: None,
        snapshot_channel: (u64::MAX, u64::MAX),
        restore: None,
        run_args: c.raw_args.clone(),
    })
}

/// Runs a box to completion; returns the exit status for `picobox run`.
pub fn run(c: &RunConfig) -> u8 {
    run_box(c, None)
}

/// Runs a box restored from a snapshot to completion (`picobox restore`).
pub fn run_restored(c: &RunConfig, plan: restore::Plan) -> u8 {
    run_box(c, Some(plan))
}

fn run_box(c: &RunConfig, plan: Option<restore::Plan>) -> u8 {
    let (uid, gid) = (
        gate::syscall(102, [0; 6]) as u32,
        gate::syscall(104, [0; 6]) as u32,
    );
    let mut restoring = plan;
    let plan = root_plan::plan(c, uid, gid);
    if c.show_root {
        out::stdout(&root_plan::describe(&plan));
        return 0;
    }
    let code = match prepare(c, plan) {
        Ok(mut p) => {
            p.restore = restoring.take();
            if let Some(plan) = &p.restore {
                // Where address space is bounded by RLIMIT_AS (no memory cgroup), the restore
                // needs room for itself beside the saved box's: its own image and heap
                // reservation and the snapshot, mapped whole while it is checked.
                let file = sys(8, [plan.file, 0, 2, 0, 0, 0]).unwrap_or(0);
                let (start, end) = crate::start::image_range();
                let own = (end - start) as u64 + crate::heap::HEAP_RESERVATION as u64;
                p.limits.allow_more_address_space(file.saturating_add(own));
            }
            let limits = p.limits.clone();
            let r = register(c, &p).and_then(|registration| start_and_wait(p, registration));
            limits.remove();
            r
        }
        Err(e) => Err(e),
    };
    match code {
        Ok(code) => code,
        Err(Failure(code, msg)) => {
            out::error(format_args!("{msg}"));
            code
        }
    }
}

/// Records the box in the registry (`picobox ps`) under its `--name` or a generated id.
/// A box given no name still runs where no record can be kept (a read-only `/run` or `/tmp`):
/// it is then not listed (`picobox ps` says why); a named one is refused, since its name is
/// what was asked for.
fn register(c: &RunConfig, p: &Prepared) -> Result<Option<registry::Registration>, Failure> {
    let id = c.name.clone().unwrap_or_else(registry::generated_id);
    let registration = registry::Registration::new(registry::Record {
        id,
        memory_limit: p.memory,
        cgroup: p.limits.memory_dir().unwrap_or_default().to_vec(),
        program: c.program.clone(),
        ..registry::Record::default()
    });
    match registration {
        Ok(r) => Ok(Some(r)),
        Err(_) if c.name.is_none() => Ok(None),
        Err(msg) => Err(Failure(EXIT_INTERNAL, msg)),
    }
}

/// The box's first process, for [`forward`].
static BOX_PID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// The monitor's handler for SIGTERM and SIGHUP: the box gets the signal.
extern "C" fn forward(sig: i32) {
    let pid = BOX_PID.load(core::sync::atomic::Ordering::Relaxed);
    if pid != 0 {
        gate::syscall(62, [pid, sig as u64, 0, 0, 0, 0]);
    }
}

/// A restore that failed in one of the box's processes: it says why, and the box's other
/// processes end with it (a box is restored whole or not at all).
fn restore_failed(why: &str) -> ! {
    out::error(format_args!("restore: {why}"));
    // kill(-1, SIGKILL): every process of the box's pid namespace but its pid 1 (the reaper,
    // which then ends the box) and this one; only from inside the box's pid namespace.
    if IN_BOX_PID_NAMESPACE.load(core::sync::atomic::Ordering::Relaxed) {
        let _ = sys(62, [u64::MAX, 9, 0, 0, 0, 0]);
    }
    pal::HOST.exit_now(EXIT_INTERNAL)
}

/// Set in the box's first process (pid 1 of the box's pid namespace) and inherited by the
/// processes it makes: where `kill(-1)` reaches the box's processes only.
static IN_BOX_PID_NAMESPACE: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);

/// A restore's IPC objects: the snapshot's, the box's user, and where stored pages are.
type RestoredIpc<'a> = (
    &'a crate::snapshot_meta::Ipc,
    Option<(u32, u32)>,
    crate::box_files::StoredData<'a>,
);

/// Gives the box its own pid namespace: its first process is pid 1, its processes see only
/// each other, and they all die with the first one; and its own IPC namespace (System V
/// shared memory, semaphores and message queues), bounded by `memory` ([`bound_ipc`]).
///
/// A non-root caller needs user namespaces for both, and two of them: the IPC namespace's
/// limits can be set only by the uid that is 0 in the user namespace owning it, so it is made
/// in one that maps the caller to 0; the pid namespace, in a second one inside it that maps
/// the caller back to its own ids, which the rest of the box expects.
///
/// A restore's System V objects are made again (`sysv::make_again`) as soon as the IPC
/// namespace is bounded, while this process is its root.
fn enter_pid_namespace(memory: u64, ipc: Option<RestoredIpc<'_>>) -> Result<Option<u64>, Failure> {
    const CLONE_NEWUSER: u64 = 0x1000_0000;
    const CLONE_NEWPID: u64 = 0x2000_0000;
    // System V IPC objects of the box's own (the host's and other boxes' are out of reach).
    const CLONE_NEWIPC: u64 = 0x0800_0000;
    let fail = |e: Errno| {
        Failure(
            EXIT_INTERNAL,
            format!("cannot create the box's pid namespace: {e}"),
        )
    };
    let uid = gate::syscall(102, [0; 6]);
    let gid = gate::syscall(104, [0; 6]);
    // System V objects, then POSIX queues (in the queue file system at `mqueue`).
    let make_ipc_again = |mqueue: Option<u64>| match ipc {
        Some((ipc, box_user, data)) => crate::sysv::make_again(ipc, box_user, data)
            .and_then(|()| match (mqueue, ipc.posix_queues.is_empty()) {
                (_, true) => Ok(()),
                (Some(root), false) => {
                    crate::mqueues::make_again(&ipc.posix_queues, root, box_user)
                }
                (None, false) => Err("this box can have no POSIX message queues".into()),
            })
            .map_err(|why| Failure(EXIT_INTERNAL, why)),
        None => Ok(()),
    };
    if uid == 0 {
        sys(272, [CLONE_NEWIPC, 0, 0, 0, 0, 0]).map_err(fail)?;
        let mqueue = bound_ipc(memory)?;
        make_ipc_again(mqueue)?;
        return sys(272, [CLONE_NEWPID, 0, 0, 0, 0, 0])
            .map(|_| mqueue)
            .map_err(fail);
    }
    let write_file = |path: &[u8], text: &[u8]| -> Result<(), Errno> {
        let fd = open(path, 1)?;
        let r = sys(1, [fd, text.as_ptr() as u64, text.len() as u64, 0, 0, 0]);
        close(fd);
        r.map(|_| ())
    };
    // A user namespace where this process is `inside`, mapped to `outside` of the one above.
    let user_namespace = |inside: (u64, u64), outside: (u64, u64)| -> Result<(), Failure> {
        sys(272, [CLONE_NEWUSER, 0, 0, 0, 0, 0]).map_err(fail)?;
        write_file(b"/proc/self/setgroups", b"deny").map_err(fail)?;
        write_file(
            b"/proc/self/uid_map",
            format!("{} {} 1", inside.0, outside.0).as_bytes(),
        )
        .map_err(fail)?;
        write_file(
            b"/proc/self/gid_map",
            format!("{} {} 1", inside.1, outside.1).as_bytes(),
        )
        .map_err(fail)
    };
    user_namespace((0, 0), (uid, gid))?;
    sys(272, [CLONE_NEWIPC, 0, 0, 0, 0, 0]).map_err(fail)?;
    let mqueue = bound_ipc(memory)?;
    make_ipc_again(mqueue)?;
    user_namespace((uid, gid), (0, 0))?;
    sys(272, [CLONE_NEWPID, 0, 0, 0, 0, 0]).map_err(fail)?;
    Ok(mqueue)
}

/// Bounds the System V IPC of the box's own namespace (just made) by its memory: shared memory
/// in all (`shmall`, pages) and per segment (`shmmax`), and its message queues (`msgmni`; each
/// holds `msgmnb`, 16 KiB): as many as fill a sixteenth of the memory bound (at least 64, at
/// most Linux's default 32000), since queued messages are not charged to an rlimit. Returns
/// the root of the namespace's POSIX message queue file system (a detached mount), which the
/// box's Landlock rules must name for `mq_open` to open a queue there; none where it cannot
/// be mounted (the box then has no POSIX queues: `mq_open` is `EACCES`).
fn bound_ipc(memory: u64) -> Result<Option<u64>, Failure> {
    let fail = |what: &str, e: Errno| {
        Failure(
            EXIT_INTERNAL,
            format!("cannot bound the box's System V IPC ({what}): {e}"),
        )
    };
    for (path, value) in [
        (&b"/proc/sys/kernel/shmmax"[..], memory),
        (b"/proc/sys/kernel/shmall", memory.div_ceil(4096)),
        (
            b"/proc/sys/kernel/msgmni",
            (memory / 16 / 16384).clamp(64, 32000),
        ),
    ] {
        let fd = open(path, 1).map_err(|e| fail("open", e))?;
        let text = format!("{value}");
        let r = sys(1, [fd, text.as_ptr() as u64, text.len() as u64, 0, 0, 0]);
        close(fd);
        r.map_err(|e| fail(&String::from_utf8_lossy(path), e))?;
    }
    // Mounting takes a mount namespace owned by the user namespace that owns the IPC one:
    // where this one is not (a user namespace's root, or the non-root path), a private copy
    // of the host's tree (the box makes its own later).
    match box_root::mqueue() {
        Err(e) if e.errno == Errno::EPERM => {
            box_root::unshare_mounts().map_err(|e| fail(&e.what, e.errno))?;
            Ok(box_root::mqueue().ok())
        }
        r => Ok(r.ok()),
    }
}

/// Drops every capability of the box's process: even a box started by root may not do what
/// root may (read others' files, bind low ports, open raw sockets).
fn drop_capabilities() {
    // struct __user_cap_header_struct { u32 version; int pid; } and two zeroed data words.
    let header: [u32; 2] = [0x2008_0522, 0];
    let data = [0u32; 6];
    let _ = sys(
        126,
        [header.as_ptr() as u64, data.as_ptr() as u64, 0, 0, 0, 0],
    );
}

/// Whether the box gets a network namespace of its own ([`enter_net_namespace`]): with
/// `--net loopback`; and without a network where, before Linux 6.12, Landlock's scoping is
/// missing and only a network namespace keeps abstract Unix sockets to the box.
fn has_own_network(p: &Prepared) -> bool {
    p.network == Network::Loopback || (p.network == Network::None && !p.scoped)
}

/// Gives the box a network namespace of its own, with its loopback up.
fn enter_net_namespace() -> Result<(), Failure> {
    const CLONE_NEWNET: u64 = 0x4000_0000;
    const SIOCSIFFLAGS: u64 = 0x8914;
    const IFF_UP_RUNNING: u16 = 0x1 | 0x40;
    let fail = |e: Errno| {
        Failure(
            EXIT_INTERNAL,
            format!("cannot create the box's network namespace: {e}"),
        )
    };
    sys(272, [CLONE_NEWNET, 0, 0, 0, 0, 0]).map_err(fail)?;
    let s = sys(41, [2, 2 | 0o2000000, 0, 0, 0, 0]).map_err(fail)?;
    // struct ifreq { char name[16]; short flags; ... }
    let mut ifreq = [0u8; 40];
    ifreq[..2].copy_from_slice(b"lo");
    ifreq[16..18].copy_from_slice(&IFF_UP_RUNNING.to_ne_bytes());
    let r = sys(16, [s, SIOCSIFFLAGS, ifreq.as_mut_ptr() as u64, 0, 0, 0]);
    close(s);
    r.map(|_| ()).map_err(fail)
}

fn start_and_wait(
    mut p: Prepared,
    mut registration: Option<registry::Registration>,
) -> Result<u8, Failure> {
    let box_user = p.user.switch.then_some((p.user.uid, p.user.gid));
    let ipc = p.restore.as_ref().map(|r| {
        let data = crate::box_files::StoredData {
            file: r.file,
            runs: restore::stored_runs(&r.chunks),
        };
        (&r.metadata.ipc, box_user, data)
    });
    p.mqueue = enter_pid_namespace(p.memory, ipc)?;
    // A restored box's clocks go on from where they were (`timens.rs`).
    if let Some(plan) = &p.restore {
        crate::timens::for_children(plan.metadata.clocks)
            .map_err(|why| Failure(EXIT_INTERNAL, format!("restore: {why}")))?;
    }
    if has_own_network(&p) {
        enter_net_namespace()?;
    }
    let mut p = p;
    p.broker = Some(broker::Channel::new().map_err(|e| {
        Failure(
            EXIT_INTERNAL,
            format!("cannot make the monitor's channel: {e}"),
        )
    })?);
    // The reaper hands the program's wait status back on this one.
    let mut status_pipe = [0i32; 2];
    sys(
        293,
        [status_pipe.as_mut_ptr() as u64, O_CLOEXEC, 0, 0, 0, 0],
    )
    .map_err(|e| Failure(EXIT_INTERNAL, format!("cannot make a pipe: {e}")))?;
    p.status = status_pipe[1] as u64;
    let mut channel = [0i32; 2];
    sys(53, [1, 5 | O_CLOEXEC, 0, channel.as_mut_ptr() as u64, 0, 0]).map_err(|e| {
        Failure(
            EXIT_INTERNAL,
            format!("cannot make the snapshot channel: {e}"),
        )
    })?;
    p.snapshot_channel = (channel[0] as u64, channel[1] as u64);
    let pid = sys(57, [0; 6])
        .map_err(|e| Failure(EXIT_INTERNAL, format!("cannot start the picoprocess: {e}")))?;
    if pid == 0 {
        if let Some(r) = registration {
            r.leave_to_the_monitor();
        }
        close(status_pipe[0] as u64);
        become_the_box(p);
    }
    if let Some(r) = registration.as_mut() {
        r.set_box_pid(pid);
    }
    if let Some(plan) = &p.restore {
        // While the box is built on another processor; nothing of the program runs before.
        if let Err(why) = restore::verify_then_release(plan) {
            let _ = sys(62, [pid, SIGKILL, 0, 0, 0, 0]);
            let _ = sys(61, [pid, 0, 0, 0, 0, 0]);
            return Err(Failure(EXIT_INTERNAL, format!("restore: {why}")));
        }
    }
    close(p.snapshot_channel.1);
    let control = registration
        .as_ref()
        .and_then(|r| snapshot::listen(&r.control_socket()).ok());
    let snapshot_box = snapshot::BoxHandle {
        first: pid,
        as_pid_1: p.as_pid_1,
        channel: p.snapshot_channel.0,
        run_args: core::mem::take(&mut p.run_args),
        tmpfs_mounts: p
            .mounts
            .iter()
            .enumerate()
            .filter(|(_, m)| matches!(m.what, root_plan::What::Tmpfs { .. }))
            .map(|(i, _)| i as u32)
            .collect(),
        own_network: has_own_network(&p),
        mqueue: p.mqueue,
    };
    p.limits.close_join_files();
    close(status_pipe[1] as u64);
    // A box that ended early has closed its ends: no write of the monitor's may kill it.
    let ignore: [u64; 4] = [1, 0, 0, 0];
    let _ = sys(13, [13, ignore.as_ptr() as u64, 0, 8, 0, 0]); // rt_sigaction(SIGPIPE, SIG_IGN)
                                                               // The monitor: let a terminal's ^C or ^\ reach only the box, whose death we then report;
                                                               // pass SIGTERM and SIGHUP on to the box, so that it ends and the monitor cleans up.
    BOX_PID.store(pid, core::sync::atomic::Ordering::Relaxed);
    for (sig, handler) in [
        (2u64, 1u64),
        (3, 1),
        (15, forward as *const () as u64),
        (1, forward as *const () as u64),
    ] {
        let act: [u64; 4] = [handler, 0x0400_0000, gate::sigreturn_address(), 0];
        let _ = sys(13, [sig, act.as_ptr() as u64, 0, 8, 0, 0]);
    }
    if let Some(channel) = p.broker.take() {
        let identity = p.user.switch.then_some(broker::BoxIdentity {
            uid: p.user.uid,
            gid: p.user.gid,
        });
        let mut on_request = |answer_for: &dyn Fn(u64)| {
            if let Some(listener) = control {
                snapshot::serve_one(listener, &snapshot_box, answer_for);
            }
        };
        broker::serve(
            channel,
            pid,
            identity,
            control.map(|fd| broker::Extra {
                fd,
                on_ready: &mut on_request,
            }),
        );
    }
    if let Some(fd) = control {
        close(fd);
    }
    let mut status: u32 = 0;
    loop {
        match sys(61, [pid, &raw mut status as u64, 0, 0, 0, 0]) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Failure(EXIT_INTERNAL, format!("waiting for the box: {e}"))),
            Ok(_) => break,
        }
    }
    // The program's own status, from the reaper (none with --as-pid-1, or if it failed).
    let mut reported = [0u8; 4];
    if sys(
        0,
        [
            status_pipe[0] as u64,
            reported.as_mut_ptr() as u64,
            4,
            0,
            0,
            0,
        ],
    ) == Ok(4)
    {
        status = u32::from_le_bytes(reported);
    }
    close(status_pipe[0] as u64);
    let signal = status & 0x7f;
    if signal == 0 {
        return Ok(((status >> 8) & 0xff) as u8);
    }
    if signal == SIGSYS {
        return Err(Failure(
            EXIT_POLICY_KILL,
            "the box attempted a forbidden host system call and was killed by the seccomp policy"
                .into(),
        ));
    }
    Ok(128u8.wrapping_add(signal as u8))
}

/// In the forked child: build the box's root, confine this process, then load and start the
/// program. Never returns.
fn become_the_box(mut p: Prepared) -> ! {
    let fail = |what: &str, e: Errno| -> ! {
        out::error(format_args!("cannot confine the box: {what}: {e}"));
        pal::HOST.exit_now(EXIT_INTERNAL)
    };
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_SET_NO_NEW_PRIVS: u64 = 38;
    if let Err(e) = sys(157, [PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0, 0]) {
        fail("parent-death signal", e);
    }
    // First of all, while this process has one thread and nothing of the box has run.
    if let Err(msg) = p.limits.join() {
        out::error(format_args!("cannot confine the box: {msg}"));
        pal::HOST.exit_now(EXIT_INTERNAL);
    }
    gate::syscall(95, [0, 0, 0, 0, 0, 0]); // umask(0): the library OS applies the program's own
    let no_core: [u64; 2] = [0, 0];
    // RLIMIT_CORE
    let _ = sys(302, [0, 4, no_core.as_ptr() as u64, 0, 0, 0]);
    if let Err(msg) = set_open_file_limit(p.boot.max_open_files) {
        out::error(format_args!("cannot confine the box: {msg}"));
        pal::HOST.exit_now(EXIT_INTERNAL);
    }
    if let Err(msg) = p.limits.apply() {
        out::error(format_args!("cannot confine the box: {msg}"));
        pal::HOST.exit_now(EXIT_INTERNAL);
    }
    let mount_failed = |m: &PlannedMount, e: box_root::MountError| -> ! {
        let source = match &m.what {
            What::Bind { source, .. } => text(source),
            _ => text(&m.guest_path),
        };
        if e.what.is_empty() {
            out::error(format_args!("{} {source}: {}", m.flag, e.errno));
        } else {
            out::error(format_args!("{} {source}: {}: {}", m.flag, e.what, e.errno));
        }
        pal::HOST.exit_now(EXIT_INTERNAL)
    };
    // The box's file system: detached mounts in a mount namespace of its own, whose root (and
    // working directory) is an empty tmpfs; the host's root is detached (policy/box_root.rs).
    if let Err(e) = box_root::unshare_mounts() {
        fail(&e.what, e.errno);
    }
    // First every detached mount (while the host's tree is still there to clone from)...
    let mut made: Vec<Option<u64>> = Vec::with_capacity(p.mounts.len());
    // A populated directory's entries, its binds made now (while the host is there).
    let mut made_leaves: Vec<Vec<(&[u8], box_root::Leaf<'_>)>> = Vec::with_capacity(p.mounts.len());
    for m in &p.mounts {
        let mut leaves = Vec::new();
        if let What::Populated { entries } = &m.what {
            for (name, leaf) in entries {
                let leaf = match leaf {
                    Leaf::File(bytes) => box_root::Leaf::File(bytes),
                    Leaf::Link(target) => box_root::Leaf::Link(target),
                    Leaf::Bind(path) => {
                        let source = box_root::Source::Bind {
                            path,
                            writable: false,
                        };
                        match box_root::make_mount(&source, p.user, None) {
                            Ok(fd) => box_root::Leaf::Mounted(fd),
                            Err(e) => mount_failed(m, e),
                        }
                    }
                };
                leaves.push((name.as_slice(), leaf));
            }
        }
        made_leaves.push(leaves);
        let source = match &m.what {
            What::Tmpfs { size, shared } => box_root::Source::Tmpfs {
                size: *size,
                shared: *shared,
            },
            What::Bind { source, writable } => box_root::Source::Bind {
                path: source,
                writable: *writable,
            },
            _ => {
                made.push(None);
                continue;
            }
        };
        match box_root::make_mount(&source, p.user, p.idmap) {
            Ok(fd) => made.push(Some(fd)),
            Err(e) => mount_failed(m, e),
        }
    }
    if let Some(ns) = p.idmap.take() {
        gate::syscall(3, [ns, 0, 0, 0, 0, 0]);
    }
    // The box's own pseudo-terminals (its /dev/pts, placed below).
    let devpts = match box_root::devpts() {
        Ok(fd) => fd,
        Err(e) => fail(&e.what, e.errno),
    };
    let socket_root = match box_root::enter(p.user) {
        Ok(fd) => fd,
        Err(e) => fail(&e.what, e.errno),
    };
    p.boot.socket_root = Some(handle(socket_root));
    // ...then, in the box's own root, what is not a directory mount: files, links, directories.
    let mut entries = box_root::Entries::default();
    for (index, ((m, fd), leaves)) in p.mounts.iter().zip(made).zip(made_leaves).enumerate() {
        let writable = matches!(
            m.what,
            What::Bind { writable: true, .. } | What::Tmpfs { .. }
        );
        let entry = match (&m.what, fd) {
            (_, Some(fd)) if box_root::is_directory(fd) => {
                p.boot.mounts.push(BootMount {
                    guest_path: m.guest_path.clone(),
                    root: handle(fd),
                    entry: None,
                    writable,
                    is_mount: true,
                });
                continue;
            }
            (_, Some(fd)) => box_root::Entry::MountedFile(fd),
            (What::Symlink { target }, None) => box_root::Entry::Symlink(target),
            (What::Populated { .. }, None) => box_root::Entry::Populated(leaves),
            _ => box_root::Entry::Dir,
        };
        // A directory picobox filled, and a mounted file, are mounts of their own (listed in
        // /proc/self/mounts); links and empty directories it made are not.
        let is_mount = matches!(
            entry,
            box_root::Entry::Populated(_) | box_root::Entry::MountedFile(_)
        );
        match entries.place(index, entry, writable) {
            Ok((dir, name)) => p.boot.mounts.push(BootMount {
                guest_path: m.guest_path.clone(),
                root: handle(dir),
                entry: name,
                writable,
                is_mount,
            }),
            Err(e) => mount_failed(m, e),
        }
    }
    // Last, so that a mount of the whole tree (`--ro-bind / /`) does not hide it; a mount the
    // caller made at /dev or /dev/pts does.
    let declared = |path: &[u8]| p.mounts.iter().any(|m| m.guest_path == path);
    if !declared(b"/dev") && !declared(b"/dev/pts") {
        p.boot.mounts.push(BootMount {
            guest_path: b"/dev/pts".to_vec(),
            root: handle(devpts),
            entry: None,
            writable: true,
            is_mount: true,
        });
        p.devpts = Some(devpts);
    }
    let ruleset = match build_ruleset(&p, socket_root) {
        Ok(r) => r,
        Err(e) => {
            out::error(format_args!("cannot confine the box: {e}"));
            pal::HOST.exit_now(EXIT_INTERNAL)
        }
    };
    // A restore forks the program now, while the box is privileged, so that the program can
    // make its threads again with their ids (`restore::create_threads`); each process then
    // confines itself below.
    let filter: &[u64] = match p.network {
        Network::None => &crate::ALLOWLIST_NO_NET,
        Network::Loopback => &crate::ALLOWLIST_LOOPBACK,
        Network::Host => &crate::ALLOWLIST_HOST_NET,
    };
    let mut reaper_of: Option<u64> = None;
    let (has_network, own_network) = (p.network != Network::None, has_own_network(&p));
    if let Some(plan) = p.restore.as_mut() {
        if let Err(msg) = restore::check_network(plan, has_network, own_network) {
            restore_failed(&msg);
        }
        if gate::syscall(39, [0; 6]) == 1 {
            IN_BOX_PID_NAMESPACE.store(true, core::sync::atomic::Ordering::Relaxed);
        }
        // One Landlock domain for the whole restored box, as for a box that was run (its
        // processes and threads may signal each other and reach each other's abstract
        // sockets only within one): the box's process restricts itself before it makes any
        // process or thread, once it has made what the rules would refuse it.
        if let Err(msg) = restore::make_reset_sockets(plan) {
            restore_failed(&msg);
        }
        if let Err(e) = ruleset.restrict_self() {
            fail("Landlock", e);
        }
        if !p.as_pid_1 {
            reaper_of = reaper::fork_program(p.status);
        }
        if reaper_of.is_none() {
            let all: u64 = !0;
            let _ = sys(14, [2, &raw const all as u64, 0, 8, 0, 0]);
            let user = p.user.switch.then_some((p.user.uid, p.user.gid));
            let made = restore::build_tree(plan, &p.boot, user)
                .and_then(|()| restore::map_memory(plan))
                .and_then(|()| restore::create_threads(plan, user));
            if let Err(msg) = made {
                restore_failed(&msg);
            }
        }
    }
    if let Err(e) = p.user.become_it() {
        fail("the box's own user", e);
    }
    // A change of credentials clears the parent-death signal: set it again (the program of a
    // restored box is the reaper's child, and dies with the box's pid namespace).
    if let Err(e) = sys(157, [PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0, 0]) {
        fail("parent-death signal", e);
    }
    // It also makes the process not dumpable. The box's processes may read and write each
    // other's memory (process_vm_readv), as one user's processes may on Linux; nothing else
    // runs as the box's own uid, and with RLIMIT_CORE 0 the host writes no core file.
    const PR_SET_DUMPABLE: u64 = 4;
    if let Err(e) = sys(157, [PR_SET_DUMPABLE, 1, 0, 0, 0, 0]) {
        fail("dumpable", e);
    }
    pal::set_box_owner(p.user.uid, p.user.gid, p.boot.uid, p.boot.gid);
    if let Err(e) = sys(157, [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0]) {
        fail("no_new_privs", e);
    }
    if p.restore.is_none() {
        if let Err(e) = ruleset.restrict_self() {
            fail("Landlock", e);
        }
    }
    if let Some(program) = reaper_of {
        // The restored box's reaper, confined as the program is.
        crate::close_stray_descriptors(&p.boot, &[p.status as u32]);
        drop_capabilities();
        reaper::serve(program, p.status, filter);
    }
    if let Some(plan) = &p.restore {
        restore::wait_for_threads(plan);
    }
    let box_end = p.broker.as_ref().map(|c| {
        gate::syscall(3, [c.monitor_end, 0, 0, 0, 0, 0]);
        c.box_end
    });
    let mut also: Vec<u32> = box_end.iter().map(|fd| *fd as u32).collect();
    also.push(p.status as u32);
    let (monitor_channel, box_channel) = p.snapshot_channel;
    gate::syscall(3, [monitor_channel, 0, 0, 0, 0, 0]);
    also.push(box_channel as u32);
    if let Some(plan) = &p.restore {
        also.extend([plan.file as u32, plan.exe as u32]);
        also.extend(plan.made_descriptors());
    }
    crate::close_stray_descriptors(&p.boot, &also);
    let mut box_end = box_end;
    if let Some(plan) = p.restore.as_mut() {
        let mut broker_end = box_end.unwrap_or(u64::MAX);
        // The channel is placed at the number the saved runtime knows it by; the status pipe
        // is the reaper's alone (the program closed it when it was forked).
        p.status = u64::MAX;
        let mut keep: Vec<&mut u64> = Vec::new();
        if box_end.is_some() {
            keep.push(&mut broker_end);
        }
        if let Err(msg) = restore::arrange_descriptors(plan, &p.boot, box_channel, &mut keep) {
            restore_failed(&msg);
        }
        if box_end.is_some() {
            box_end = Some(broker_end);
        }
    }
    drop_capabilities();
    let mut boot_handles: Vec<(u32, u32)> = Vec::new();
    for (i, m) in p.boot.mounts.iter().enumerate() {
        if !boot_handles.iter().any(|(fd, _)| *fd == m.root.0) {
            boot_handles.push((m.root.0, i as u32));
        }
    }
    if let Some(root) = p.boot.socket_root {
        boot_handles.push((root.0, u32::MAX));
    }
    if p.restore.is_none() {
        freeze::set_up(box_channel, boot_handles);
    }
    if p.as_pid_1 || p.restore.is_some() {
        // (A restored box's program was forked above, and closed its copy then.)
        if p.status != u64::MAX {
            close(p.status);
        }
    } else {
        reaper::split(p.status, filter);
    }
    if let Some(plan) = p.restore.take() {
        restore::wait_for_box(&plan);
        let jump = restore::Jump {
            filter,
            broker_listen: p.network == Network::Host,
            broker_end: box_end.unwrap_or(u64::MAX),
        };
        let why = restore::enter(plan, jump);
        restore_failed(&why);
    }
    if let Err(e) = crate::heap::map_box_shared() {
        fail("the box's shared memory", e);
    }
    if let Err(e) = signals::install() {
        fail("signal handlers", e);
    }
    let brokered = match p.network {
        Network::Host => gate::Brokered::WatchesAndListen,
        _ => gate::Brokered::Watches,
    };
    match gate::install_filter(filter, brokered) {
        Ok(Some(listener)) => {
            if let Some(end) = box_end {
                if let Err(e) = broker::hand_over(end, listener) {
                    fail("the monitor's channel", e);
                }
            }
        }
        Ok(None) => {}
        Err(e) => fail("seccomp filter", e),
    }
    match picobox_libos::boot(&pal::HOST, p.boot) {
        Ok(entry) => crate::start::enter(entry.pc, entry.sp),
        Err(e) => {
            out::error(format_args!("{e}"));
            pal::HOST.exit_now(e.exit_status())
        }
    }
}

/// RLIMIT_NOFILE for the box: the program's descriptors (the library OS keeps it to `files`,
/// from `--files`), each backed by at most one host descriptor, and the runtime's own.
fn set_open_file_limit(files: u64) -> Result<(), String> {
    let want = files.saturating_add(256).max(4096);
    let limit: [u64; 2] = [want, want];
    match sys(302, [0, 7, limit.as_ptr() as u64, 0, 0, 0]) {
        Ok(_) => Ok(()),
        Err(Errno::EPERM) => {
            let mut now = [0u64; 2];
            let _ = sys(302, [0, 7, 0, now.as_mut_ptr() as u64, 0, 0]);
            Err(format!(
                "--files {files}: the box needs {want} host descriptors, above this session's \
                 hard limit of {} (raise it with ulimit -Hn, or ask for fewer)",
                now[1]
            ))
        }
        Err(e) => Err(format!("open-file limit: {e}")),
    }
}

fn handle(fd: u64) -> Handle {
    Handle(u32::try_from(fd).unwrap_or(u32::MAX))
}

/// The box's Landlock rules: its mounts (read-only where declared), its socket root, its TCP
/// ports; signals and abstract sockets scoped to the box.
fn build_ruleset(p: &Prepared, socket_root: u64) -> Result<Ruleset, landlock::LandlockError> {
    let mut ruleset = Ruleset::new(p.network != Network::Loopback)?;
    for (rules, bind) in [(&p.boot.allow_bind, true), (&p.boot.allow_connect, false)] {
        for rule in rules {
            ruleset.allow_port(rule.port, bind)?;
        }
    }
    ruleset.allow(
        socket_root,
        landlock::fs::MAKE_SOCK
            | landlock::fs::MAKE_SYM
            | landlock::fs::REMOVE_FILE
            | landlock::fs::READ_DIR,
    )?;
    if let Some(mqueue) = p.mqueue {
        // Queues are opened and used there; mq_open makes and mq_unlink removes them
        // without the path checks Landlock sees.
        ruleset.allow(mqueue, landlock::fs::READ_FILE | landlock::fs::WRITE_FILE)?;
    }
    for m in &p.boot.mounts {
        let root = u64::from(m.root.0);
        let access = if Some(root) == p.devpts {
            // Its terminals: opened, read, written and controlled; nothing made or removed.
            landlock::fs::READ_FILE
                | landlock::fs::WRITE_FILE
                | landlock::fs::READ_DIR
                | landlock::fs::IOCTL_DEV
        } else if m.writable {
            landlock::READ_WRITE
        } else {
            landlock::READ_ONLY
        };
        ruleset.allow(root, access)?;
    }
    Ok(ruleset)
}
