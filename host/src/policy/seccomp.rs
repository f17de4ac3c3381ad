//! The seccomp allowlist: the system calls the PAL may make at the gate, with argument checks.
//!
//! This file is compiled by `host/build.rs`, which turns the rules into BPF at build time; the
//! `picobox` binary embeds the result, so nothing is compiled on the start path.
//!
//! The runtime puts a prefix in front of this program that traps every call not made at the
//! gate (those are the program's, emulated by the library OS). Calls made at the gate are
//! checked here: allowed if listed (and their arguments pass), otherwise the kernel kills the
//! whole picoprocess, which the monitor reports as exit status 159.
//!
//! Each rule names the ABI call that needs it. Paths are not checked here (seccomp cannot read
//! them): Landlock confines `openat2` and the other path calls.

use super::bpf::{self, Cond, Op as SeccompCmpOp, Rules};
use std::collections::BTreeMap;

/// Why the filter could not be built (a bug in this file, never user input).
#[derive(Debug)]
pub struct SeccompError(pub String);

/// The terminal requests the box may make.
mod tty {
    #![allow(dead_code, missing_docs)]
    include!("tty_requests.rs");
}

/// The socket requests a box with a network may make.
mod socket {
    #![allow(dead_code, missing_docs)]
    include!("socket_requests.rs");
}

/// The conditions of one rule, all of which must hold.
type SeccompRule = Vec<Cond>;

/// `SET_ID_BITS`.
const SET_ID_BITS: u64 = 0o6000;
/// `MSG_FASTOPEN`.
const FAST_OPEN: u64 = 0x2000_0000;
/// `IPPROTO_TCP`, `IPPROTO_UDP`.
const PROTO_TCP: u64 = 6;
const PROTO_UDP: u64 = 17;
/// `TCP_FASTOPEN_CONNECT`.
const FAST_OPEN_CONNECT: u64 = 30;

/// A condition on an `int`-sized argument (`int`, `unsigned int`, `umode_t`, `clockid_t`):
/// the kernel reads only its low 32 bits, so only those are compared (high bits set by a
/// caller must not make a value look different from what the kernel acts on).
fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> Result<Cond, SeccompError> {
    if arg > 5 || value > u64::from(u32::MAX) {
        return Err(SeccompError(format!("bad condition on argument {arg}")));
    }
    Ok(Cond {
        arg,
        wide: false,
        op,
        value,
    })
}

/// A condition on a full 64-bit argument (`unsigned long`, pointers).
fn cond64(arg: u8, op: SeccompCmpOp, value: u64) -> Result<Cond, SeccompError> {
    if arg > 5 {
        return Err(SeccompError(format!("bad condition on argument {arg}")));
    }
    Ok(Cond {
        arg,
        wide: true,
        op,
        value,
    })
}

fn rule(conds: Vec<Cond>) -> Result<SeccompRule, SeccompError> {
    Ok(conds)
}

/// Rules allowing `arg` to take exactly one of `values`.
fn one_of(arg: u8, values: &[u64]) -> Result<Vec<SeccompRule>, SeccompError> {
    values
        .iter()
        .map(|v| rule(vec![cond(arg, SeccompCmpOp::Eq, *v)?]))
        .collect()
}

/// Rules allowing mode argument `arg` without the set-user-ID and set-group-ID bits: nothing a
/// box creates or changes may grant privileges on the host (in a writable bind of a box started
/// by root, the box's files are root's).
fn never_set_id(arg: u8) -> Result<Vec<SeccompRule>, SeccompError> {
    Ok(vec![rule(vec![cond(
        arg,
        SeccompCmpOp::MaskedEq(SET_ID_BITS),
        0,
    )?])?])
}

/// Which network a box is on; it decides which sockets the allowlist admits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Network {
    /// No network: Unix socket pairs only.
    None,
    /// A network namespace of the box's own: TCP and UDP over IPv4 and IPv6.
    Loopback,
    /// The host's network, where Landlock confines TCP ports but cannot see UDP: TCP only.
    Host,
}

/// Builds the allowlist as classic BPF, one `struct sock_filter` per `u64` (see `bpf.rs`).
pub fn allowlist(network: Network) -> Result<Vec<u64>, SeccompError> {
    bpf::compile(&rules(network)?).map_err(SeccompError)
}

/// The allowlist's rules.
pub fn rules(network: Network) -> Result<Rules, SeccompError> {
    use libc::*;
    /// `F_SETSIG`, `F_CREATED_QUERY`, `F_SETOWN_EX` (not in the libc crate).
    const F_SETSIG: i32 = 10;
    const F_CREATED_QUERY: u64 = 1028;
    const F_SETOWN_EX: i32 = 15;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let unconditional: &[(i64, &str)] = &[
        (SYS_read, "stream_read"),
        (SYS_pread64, "stream_read at an offset"),
        (SYS_write, "stream_write, debug_log"),
        (SYS_pwrite64, "stream_write at an offset"),
        (SYS_close, "object_close"),
        (SYS_close_range, "runtime start: drop inherited descriptors"),
        (SYS_fstat, "stream_attr"),
        (SYS_fstatfs, "stream_query(FileSystem)"),
        (SYS_newfstatat, "stream_attr_at without following"),
        (SYS_lseek, "stream_seek"),
        (SYS_getdents64, "stream_read_dir"),
        (SYS_ftruncate, "stream_set_length"),
        (SYS_fsync, "stream_flush"),
        (SYS_fdatasync, "stream_flush(data_only)"),
        (
            SYS_openat2,
            "stream_open and every path call (Landlock confines the path)",
        ),
        (SYS_readlinkat, "stream_read_link"),
        (SYS_unlinkat, "stream_delete"),
        (SYS_renameat2, "stream_rename"),
        (SYS_symlinkat, "stream_make_link"),
        (SYS_utimensat, "stream_set_times"),
        (SYS_faccessat2, "stream_access"),
        (SYS_munmap, "vm_free"),
        (SYS_mremap, "vm_remap"),
        (
            SYS_remap_file_pages,
            "vm_remap(FilePages): the range's own file again, at another offset, with its \
             own protection",
        ),
        (SYS_madvise, "vm_discard, vm_pages(Populate)"),
        (
            SYS_mincore,
            "vm_pages(Residency): of the caller's own pages (file pages only of files it could write)",
        ),
        (SYS_futex, "futex"),
        (SYS_futex_waitv, "futex(FUTEX_WAITV): waits on words the caller names"),
        (SYS_ppoll, "streams_wait"),
        (SYS_sched_yield, "thread_yield"),
        (SYS_clock_gettime, "time_query"),
        (SYS_clock_nanosleep, "time_sleep"),
        (SYS_getrandom, "random_read"),
        (
            SYS_rt_sigreturn,
            "return from the SIGSYS and fault handlers",
        ),
        (SYS_exit_group, "process_exit"),
        (
            SYS_restart_syscall,
            "the kernel's restart of an interrupted sleep or wait made at the gate",
        ),
        (SYS_exit, "thread_exit"),
        (SYS_gettid, "process_id(Thread)"),
        (SYS_getrusage, "process_usage: the caller's own, its thread's or its reaped children's"),
        (
            SYS_tgkill,
            "thread_signal: the pid namespace and Landlock's scoping keep it in the box",
        ),
        (
            SYS_sched_getaffinity,
            "thread_cpus(Allowed): of the box's own threads (its pid namespace names no other)",
        ),
        (
            SYS_sched_setaffinity,
            "thread_cpus(Restrict): of the box's own threads, within the CPUs the host allows it",
        ),
        (SYS_getcpu, "thread_cpus(Current)"),
        (
            451, // cachestat
            "stream_query(PageCache): of a descriptor the box holds, files it could write or owns",
        ),
        (
            SYS_process_vm_readv,
            "process_memory: the pid namespace names only the box's processes, the box's own \
             host uid is the only one they pass the kernel's ptrace check with, and the \
             reaper is not dumpable",
        ),
        (SYS_process_vm_writev, "process_memory(write), as process_vm_readv"),
        (
            SYS_rt_tgsigqueueinfo,
            "thread_signal with a siginfo (the kernel refuses a forged kernel one)",
        ),
        (
            SYS_rt_sigqueueinfo,
            "process_signal with a siginfo (the kernel refuses a forged kernel one)",
        ),
        (SYS_sigaltstack, "thread_create: each thread's signal stack"),
        (SYS_eventfd2, "stream_create(Event)"),
        (SYS_inotify_init1, "stream_create(Watcher)"),
        (SYS_inotify_rm_watch, "stream_set(Unwatch)"),
        (SYS_shmget, "ipc: in the box's own IPC namespace"),
        (SYS_shmat, "ipc (the library OS checks a given address)"),
        (SYS_shmdt, "ipc"),
        (SYS_shmctl, "ipc"),
        (SYS_semget, "ipc"),
        (SYS_semtimedop, "ipc"),
        (SYS_semctl, "ipc"),
        (SYS_msgget, "ipc"),
        (SYS_msgsnd, "ipc"),
        (SYS_msgrcv, "ipc"),
        (SYS_msgctl, "ipc"),
        (SYS_mq_open, "ipc(MqOpen): names of the box's own IPC namespace, not paths"),
        (SYS_mq_unlink, "ipc(MqUnlink)"),
        (SYS_mq_timedsend, "ipc(MqSend)"),
        (SYS_mq_timedreceive, "ipc(MqReceive)"),
        (
            SYS_mq_notify,
            "ipc(MqNotify): the kernel signals the caller (SIGEV_THREAD needs a netlink socket, which the box cannot make)",
        ),
        (SYS_mq_getsetattr, "ipc(MqAttributes)"),
        (SYS_timerfd_create, "stream_create(Timer)"),
        (SYS_timerfd_settime, "timer_set(Stream)"),
        (SYS_timerfd_gettime, "timer_set(Stream), its state"),
        (
            SYS_setitimer,
            "timer_set(Alarm, Virtual, Profile) (an interval timer signals only the process itself)",
        ),
        (SYS_getitimer, "timer_set(Alarm, Virtual, Profile), their state"),
        (
            SYS_rt_sigprocmask,
            "signals_wait: block the program's signals around the check",
        ),
        (SYS_rt_sigsuspend, "signals_wait"),
        (
            SYS_fork,
            "process_fork: the child inherits this filter and the Landlock domain",
        ),
        (SYS_wait4, "process_wait"),
        (SYS_waitid, "process_wait with WNOWAIT (the box's children only: the pid namespace)"),
        (SYS_getpid, "process_id"),
        (SYS_getppid, "process_id(Parent)"),
        (
            SYS_kill,
            "process_signal: the pid namespace and Landlock's scoping keep it in the box",
        ),
        (SYS_setpgid, "process_group"),
        (SYS_getpgid, "process_group"),
        (SYS_setsid, "process_group"),
        (SYS_getsid, "process_group"),
        (SYS_pipe2, "stream_pipe"),
        (SYS_tee, "stream_tee: between two pipes the box holds"),
        (SYS_flock, "stream_lock(WholeFile)"),
        (
            SYS_set_robust_list,
            "thread_set_robust_list (the kernel writes only the caller's memory)",
        ),
        (SYS_timer_settime, "timer_set(Posix)"),
        (SYS_timer_gettime, "timer_set(Posix), its state"),
        (SYS_timer_getoverrun, "timer_set(Posix), its state"),
        (SYS_timer_delete, "timer_delete"),
        // stream_query(Attribute, AttributeNames), stream_set(Attribute): descriptors only,
        // which name files the box opened; the kernel checks the permissions, a read-only
        // mount is EROFS, `trusted.*` needs host privileges, and a file capability the box
        // writes is namespaced (it grants nothing outside the box's user namespace).
        (SYS_fgetxattr, "stream_query(Attribute)"),
        (SYS_flistxattr, "stream_query(AttributeNames)"),
        (SYS_fsetxattr, "stream_set(Attribute)"),
        (SYS_fremovexattr, "stream_set(Attribute) to remove"),
    ];
    for (nr, _needed_by) in unconditional {
        rules.insert(*nr, vec![]);
    }
    // vm_alloc, vm_map_stream, vm_protect: any protection. W^X is not part of the boundary:
    // the program's own code already runs natively with exactly the allowlist's authority, and
    // JIT compilers need memory they write and execute (docs/threat-model.md).
    rules.insert(SYS_mmap, vec![]);
    rules.insert(SYS_mprotect, vec![]);
    // stream_make_link (hard): linkat without flags (no AT_EMPTY_PATH, no following), so it
    // names only paths Landlock sees; the kernel refuses links across mounts.
    rules.insert(SYS_linkat, vec![rule(vec![cond(4, SeccompCmpOp::Eq, 0)?])?]);
    // process_handle: pidfd_open names only processes of the box's pid namespace (and its
    // reaper); the box can wait on the descriptor, no more: no ioctl of a pidfd, pidfd_getfd,
    // pidfd_send_signal, setns or process_madvise is allowed.
    rules.insert(SYS_pidfd_open, one_of(1, &[0, 0o200])?);
    // vm_barrier: membarrier's global barrier, and the caller's own expedited one (with its
    // registration); no other command.
    rules.insert(SYS_membarrier, one_of(0, &[1, 32, 64])?);
    // stream_set_mode, stream_make_dir: never set-user-ID or set-group-ID.
    rules.insert(SYS_fchmodat2, never_set_id(2)?);
    rules.insert(SYS_mkdirat, never_set_id(2)?);
    // stream_make_node: mknodat creates FIFOs and socket inodes only, never devices (Landlock
    // refuses those too), and never with set-id bits.
    rules.insert(
        SYS_mknodat,
        [0o010000, 0o140000]
            .iter()
            .map(|kind| {
                rule(vec![cond(
                    2,
                    SeccompCmpOp::MaskedEq(0o170000 | SET_ID_BITS),
                    *kind,
                )?])
            })
            .collect::<Result<_, _>>()?,
    );
    // stream_query and stream_set: exactly the terminal requests of the ABI (tty_requests.rs;
    // never TIOCSTI, TIOCCONS, TIOCSETD or TIOCLINUX).
    //
    // stream_query(Interfaces, Interface, AtMark) on a box with a network: the socket requests
    // that only read (the urgent mark, the interfaces of the box's network namespace, or of
    // the host's for `--net host`). Without a network the box shares the host's namespace
    // (Linux 6.12 and later), whose interfaces it is not told.
    let mut ioctls: Vec<u64> = tty::ALL.to_vec();
    if network != Network::None {
        ioctls.extend([socket::SIOCATMARK, socket::SIOCGIFCONF]);
        ioctls.extend(socket::INTERFACE_QUESTIONS);
    }
    rules.insert(SYS_ioctl, one_of(1, &ioctls)?);
    // stream_set (flags, a pipe's capacity, leases, directory notices and their signal),
    // stream_query (a pipe's capacity, the lease), stream_lock (POSIX and open-file locks,
    // which name no other file). A lease or a notice signals only the process that asked, or
    // the owner F_SETOWN_EX names: a process, thread or group of the box's pid namespace,
    // where Landlock's scoping also keeps I/O signals (Linux 6.12 and later).
    rules.insert(
        SYS_fcntl,
        one_of(
            1,
            &[
                F_SETFL as u64,
                F_GETPIPE_SZ as u64,
                F_SETPIPE_SZ as u64,
                F_GETLK as u64,
                F_SETLK as u64,
                F_SETLKW as u64,
                F_OFD_GETLK as u64,
                F_OFD_SETLK as u64,
                F_OFD_SETLKW as u64,
                F_SETLEASE as u64,
                F_GETLEASE as u64,
                F_NOTIFY as u64,
                F_SETSIG as u64,
                F_SETOWN_EX as u64,
                F_CREATED_QUERY,
            ],
        )?,
    );
    // process_exit(Signal): back to the default action before dying; never for SIGSYS,
    // whose handler is how the program's system calls reach the library OS.
    rules.insert(
        SYS_rt_sigaction,
        vec![rule(vec![cond(0, SeccompCmpOp::Ne, SIGSYS as u64)?])?],
    );
    // socket_create: TCP (and UDP where the box has its own network) over IPv4 and IPv6, and
    // Unix sockets; never raw, packet or netlink sockets. A Unix path name resolves in the
    // socket root (the process's root directory, empty but for the box's own sockets), and
    // Landlock's scoping keeps connections to abstract names inside the box.
    // The protocol is pinned to the one each kind allows (0 or its own number): never MPTCP,
    // SCTP or ICMP, which Landlock's TCP rules do not see.
    let kinds: &[(u64, u64)] = match network {
        Network::None => &[],
        Network::Loopback => &[
            (SOCK_STREAM as u64, PROTO_TCP),
            (SOCK_DGRAM as u64, PROTO_UDP),
        ],
        Network::Host => &[(SOCK_STREAM as u64, PROTO_TCP)],
    };
    let mut socket_rules = Vec::new();
    for domain in [AF_INET as u64, AF_INET6 as u64] {
        for (kind, protocol) in kinds {
            for protocol in [0, *protocol] {
                socket_rules.push(rule(vec![
                    cond(0, SeccompCmpOp::Eq, domain)?,
                    cond(1, SeccompCmpOp::MaskedEq(0xf), *kind)?,
                    cond(2, SeccompCmpOp::Eq, protocol)?,
                ])?);
            }
        }
    }
    for kind in [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET] {
        socket_rules.push(rule(vec![
            cond(0, SeccompCmpOp::Eq, AF_UNIX as u64)?,
            cond(1, SeccompCmpOp::MaskedEq(0xf), kind as u64)?,
            cond(2, SeccompCmpOp::Eq, 0)?,
        ])?);
    }
    rules.insert(SYS_socket, socket_rules);
    // socket_pair: connected Unix pairs only (they name no path).
    rules.insert(
        SYS_socketpair,
        vec![rule(vec![
            cond(0, SeccompCmpOp::Eq, AF_UNIX as u64)?,
            cond(2, SeccompCmpOp::Eq, 0)?,
        ])?],
    );
    // socket_send: never an implicit connect (TCP Fast Open's MSG_FASTOPEN connects without
    // the connect hook, where Landlock checks the port).
    rules.insert(
        SYS_sendto,
        vec![rule(vec![cond(3, SeccompCmpOp::MaskedEq(FAST_OPEN), 0)?])?],
    );
    rules.insert(
        SYS_sendmsg,
        vec![rule(vec![cond(2, SeccompCmpOp::MaskedEq(FAST_OPEN), 0)?])?],
    );
    // socket_set_option: any option but TCP_FASTOPEN_CONNECT, which makes connect() return
    // at once and the first write connect, again past the connect hook.
    rules.insert(
        SYS_setsockopt,
        vec![
            rule(vec![cond(1, SeccompCmpOp::Ne, PROTO_TCP)?])?,
            rule(vec![
                cond(1, SeccompCmpOp::Eq, PROTO_TCP)?,
                cond(2, SeccompCmpOp::Ne, FAST_OPEN_CONNECT)?,
            ])?,
        ],
    );
    for nr in [
        SYS_bind,
        SYS_listen,
        SYS_accept4,
        SYS_connect,
        SYS_recvmsg,
        SYS_shutdown,
        SYS_getsockname,
        SYS_getpeername,
        SYS_getsockopt,
    ] {
        // The socket_* calls on sockets created above: Landlock and the network namespace
        // decide what they reach.
        rules.insert(nr, vec![]);
    }
    // timer_create: the kernel signals only the calling process (or one of its threads); the
    // clock must be one of the fixed clocks, not the CPU clock of another process (those have
    // negative ids, which compare as huge).
    rules.insert(
        SYS_timer_create,
        vec![rule(vec![cond(0, SeccompCmpOp::Lt, 16)?])?],
    );
    // thread_create: exactly the flags of a thread of this process.
    const THREAD_FLAGS: u64 =
        0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x80000 | 0x10_0000 | 0x20_0000;
    rules.insert(
        SYS_clone,
        vec![rule(vec![cond64(0, SeccompCmpOp::Eq, THREAD_FLAGS)?])?],
    );
    // thread_set_tls (reads, then sets).
    rules.insert(SYS_arch_prctl, one_of(0, &[0x1002, 0x1003])?);
    // process_group(SetLimit): the caller's own CPU-time and file-size limits, which the
    // kernel enforces with signals; (Subreaper): orphans of the caller's own descendants.
    rules.insert(
        SYS_prlimit64,
        vec![
            rule(vec![
                cond(0, SeccompCmpOp::Eq, 0)?,
                cond(1, SeccompCmpOp::Eq, 0)?,
            ])?,
            rule(vec![
                cond(0, SeccompCmpOp::Eq, 0)?,
                cond(1, SeccompCmpOp::Eq, 1)?,
            ])?,
        ],
    );
    rules.insert(SYS_prctl, vec![rule(vec![cond(0, SeccompCmpOp::Eq, 36)?])?]);

    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_builds_and_fits_in_bpf() {
        for network in [Network::None, Network::Loopback, Network::Host] {
            let p = allowlist(network).unwrap();
            // The kernel takes up to 4096 (BPF_MAXINSNS); each call's rules are reached only
            // for that call, so their length costs nothing to the others.
            assert!(p.len() > 20 && p.len() < 640, "{} instructions", p.len());
        }
    }

    /// The same rules compiled by seccompiler, an independent compiler.
    fn reference(rules: &Rules) -> Vec<u64> {
        use seccompiler::{
            BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp as R, SeccompCondition,
            SeccompFilter, SeccompRule as Rule, TargetArch,
        };
        let mut theirs: BTreeMap<i64, Vec<Rule>> = BTreeMap::new();
        for (nr, alternatives) in rules {
            let converted = alternatives
                .iter()
                .map(|conds| {
                    let c = conds
                        .iter()
                        .map(|c| {
                            let len = if c.wide {
                                SeccompCmpArgLen::Qword
                            } else {
                                SeccompCmpArgLen::Dword
                            };
                            let op = match c.op {
                                SeccompCmpOp::Eq => R::Eq,
                                SeccompCmpOp::Ne => R::Ne,
                                SeccompCmpOp::Lt => R::Lt,
                                SeccompCmpOp::MaskedEq(m) => R::MaskedEq(m),
                            };
                            SeccompCondition::new(c.arg, len, op, c.value).unwrap()
                        })
                        .collect();
                    Rule::new(c).unwrap()
                })
                .collect();
            theirs.insert(*nr, converted);
        }
        let filter = SeccompFilter::new(
            theirs,
            SeccompAction::KillProcess,
            SeccompAction::Allow,
            TargetArch::x86_64,
        )
        .unwrap();
        let program: BpfProgram = filter.try_into().unwrap();
        program
            .iter()
            .map(|f| {
                u64::from(f.code)
                    | (u64::from(f.jt) << 16)
                    | (u64::from(f.jf) << 24)
                    | (u64::from(f.k) << 32)
            })
            .collect()
    }

    #[test]
    fn compiled_allowlist_decides_as_seccompiler_does() {
        // Every listed call and some others, with arguments drawn from the rules' own values,
        // the same with high bits set, and noise: both programs must agree on every one.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for network in [Network::None, Network::Loopback, Network::Host] {
            let rules = rules(network).unwrap();
            let ours = bpf::compile(&rules).unwrap();
            let theirs = reference(&rules);
            let mut values: Vec<u64> = vec![0, 1, u64::MAX, 1 << 31, 1 << 32];
            for alternatives in rules.values() {
                for c in alternatives.iter().flatten() {
                    values.extend([c.value, c.value | (1 << 32), c.value.wrapping_sub(1)]);
                    if let SeccompCmpOp::MaskedEq(m) = c.op {
                        values.extend([m, c.value | m, !m]);
                    }
                }
            }
            let numbers: Vec<u32> = rules.keys().map(|n| *n as u32).chain(0..460).collect();
            for _ in 0..200_000 {
                let nr = numbers[(next() % numbers.len() as u64) as usize];
                let mut args = [0u64; 6];
                for a in &mut args {
                    *a = match next() % 3 {
                        0 => next(),
                        _ => values[(next() % values.len() as u64) as usize],
                    };
                }
                let (a, b) = (bpf::run(&ours, nr, 0, args), bpf::run(&theirs, nr, 0, args));
                assert!(a.is_some(), "our program has an unknown instruction");
                assert_eq!(a, b, "{network:?}: syscall {nr} with {args:x?}");
            }
        }
    }
}
