//! Freezing a picoprocess for a snapshot (docs/snapshot.md, "Freezing at a safe point"), and
//! the way a restored thread comes back to life.
//!
//! The monitor asks by queueing host signal [`FREEZE_SIGNAL`] with value [`FROM_MONITOR`];
//! the thread that takes it sends the same signal with [`TO_PEER`] to every other thread of
//! the process. Each thread *parks* at the first point where it holds no lock of the library
//! OS: at once if the signal interrupted the program or a blocking host call (the call then
//! returns `EINTR` to the library OS, which waits again as it does for any host signal), else
//! on its way back to the program from the system call it is serving. A parked thread has
//! all catchable signals blocked, its callee-saved registers pushed on its signal stack and
//! that stack pointer, its `fs` base and its robust list in its thread block: everything of
//! the thread is then memory. The last thread to park hands the monitor the process's
//! inventory (its threads, and what each of its host descriptors is) over the snapshot
//! channel and waits for the monitor's word: resume, or end.
//!
//! A restore maps that memory back and starts each thread in [`picobox_park_resume`] on its
//! parked stack: it sets its signal stack, `fs` base, robust list and exit futex again, and
//! returns from the park as if the monitor had said resume.
#![allow(unsafe_code)]

use crate::{gate, threads};
use alloc::vec::Vec;
use core::arch::global_asm;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// The host signal of a freeze request (`SIGRTMAX`), told from the program's own by its
/// `si_code` (`SI_QUEUE`) and value.
pub const FREEZE_SIGNAL: u64 = 64;
/// `si_value` of the monitor's request.
pub const FROM_MONITOR: u64 = 0x7069_636f_6672_7a31;
/// `si_value` of the request one thread passes to the others.
pub const TO_PEER: u64 = 0x7069_636f_6672_7a32;
/// `si_value` of the monitor's "give up": every parked thread goes on.
pub const ABORT: u64 = 0x7069_636f_6672_7a33;
/// `si_value` of the monitor's repeated request, while it waits for a report: it reaches the
/// threads of a freeze under way that have not parked yet, and never starts a freeze (one
/// that arrives late, after the process was resumed, is dropped; a repeated
/// [`FROM_MONITOR`] would freeze the process again with nobody waiting for its report).
pub const REASK: u64 = 0x7069_636f_6672_7a34;
const SI_QUEUE: i32 = -1;

/// The monitor's word to the last parked thread.
pub const RESUME: u8 = b'r';
/// See [`RESUME`]: the box ends (its snapshot is written).
pub const END: u8 = b'x';

const IDLE: u32 = 0;
const FREEZING: u32 = 1;

/// Whether a freeze is under way (futex word of the parked threads).
static STATE: AtomicU32 = AtomicU32::new(IDLE);
/// How many of the process's threads have parked.
static PARKED: AtomicU32 = AtomicU32::new(0);
/// The runtime's end of the monitor's snapshot channel (`u64::MAX`: none).
static CHANNEL: AtomicU64 = AtomicU64::new(u64::MAX);
/// The box's boot handles: `(descriptor, role)`; role `u32::MAX` is the socket root, any
/// other the index of the boot mount.
static BOOT_HANDLES: spin::Mutex<Vec<(u32, u32)>> = spin::Mutex::new(Vec::new());

/// What a thread keeps for its park, in its [`threads::ThreadData`].
#[repr(C)]
#[derive(Default)]
pub struct Parked {
    /// Its stack pointer inside [`picobox_park`] (the callee-saved registers are above it).
    pub sp: u64,
    /// Its `fs` base (the program's thread pointer).
    pub fs_base: u64,
    /// Its robust list (`set_robust_list`), head and length.
    pub robust_head: AtomicU64,
    /// See `robust_head`.
    pub robust_len: AtomicU64,
    /// Set while it is parked (a repeated request leaves it alone).
    pub parked: AtomicBool,
    /// Set when it must park on its way back to the program.
    pub pending: AtomicBool,
}

global_asm!(
    // picobox_park(sp_slot: *mut u64, wait: extern "C" fn()): pushes the callee-saved
    // registers and the floating-point control words, stores the stack pointer, calls
    // `wait`, and returns once it has returned (or once a restore resumed the stack).
    ".globl picobox_park",
    "picobox_park:",
    "    push rbp",
    "    push rbx",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    sub rsp, 8",
    "    stmxcsr [rsp]",
    "    fnstcw [rsp + 4]",
    "    mov [rdi], rsp",
    "    call rsi",
    "picobox_park_return:",
    "    ldmxcsr [rsp]",
    "    fldcw [rsp + 4]",
    "    add rsp, 8",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbx",
    "    pop rbp",
    "    ret",
    // picobox_park_resume(sp: u64, after: extern "C" fn()): on a restored thread, back onto
    // the parked stack; `after` runs there, then the park returns.
    ".globl picobox_park_resume",
    "picobox_park_resume:",
    "    mov rsp, rdi",
    "    call rsi",
    "    jmp picobox_park_return",
);

unsafe extern "C" {
    fn picobox_park(sp_slot: *mut u64, wait: extern "C" fn());
    fn picobox_park_resume(sp: u64, after: extern "C" fn()) -> !;
}

/// In the box's program process, before it runs the program: the snapshot channel and the
/// descriptors the monitor made for the box.
pub fn set_up(channel: u64, boot_handles: Vec<(u32, u32)>) {
    CHANNEL.store(channel, Ordering::Relaxed);
    *BOOT_HANDLES.lock() = boot_handles;
}

/// In picobox's reaper, which is never frozen: drops its copy of the channel (the box's
/// processes keep theirs; each reports on it).
pub fn drop_channel() {
    let fd = CHANNEL.swap(u64::MAX, Ordering::Relaxed);
    if fd != u64::MAX {
        gate::syscall(3, [fd, 0, 0, 0, 0, 0]);
    }
}

/// Whether the `siginfo` of a host [`FREEZE_SIGNAL`] is one of the freeze's (else it is the
/// program's own signal); `Some(value)` if it is.
pub fn request_of(sig: i32, info: *const u8) -> Option<u64> {
    if sig as u64 != FREEZE_SIGNAL {
        return None;
    }
    // SAFETY: an SA_SIGINFO handler's siginfo: si_code at byte 8, si_value at byte 24.
    let (code, value) = unsafe {
        (
            (info.add(8) as *const i32).read(),
            (info.add(24) as *const u64).read(),
        )
    };
    (code == SI_QUEUE && matches!(value, FROM_MONITOR | TO_PEER | ABORT | REASK)).then_some(value)
}

/// A freeze request arrived on this thread. `can_park` says whether the thread holds no lock
/// of the library OS here (it interrupted the program, or a blocking host call).
pub fn requested(value: u64, can_park: bool) {
    if value == ABORT {
        STATE.store(IDLE, Ordering::Release);
        wake_all();
        return;
    }
    if CHANNEL.load(Ordering::Relaxed) == u64::MAX {
        return;
    }
    if value == REASK && STATE.load(Ordering::Acquire) != FREEZING {
        return;
    }
    if value == FROM_MONITOR || value == REASK {
        if value == FROM_MONITOR
            && STATE
                .compare_exchange(IDLE, FREEZING, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            PARKED.store(0, Ordering::Release);
        }
        // A repeated request (the monitor asks again while it waits) reaches the threads that
        // have not parked yet: one that was computing in the library OS may since have
        // blocked in a host call, which this signal interrupts.
        let me = threads::current().tid.load(Ordering::Relaxed);
        let pid = u64::from(crate::pal::own_pid());
        for (tid, block) in threads::live() {
            // SAFETY: a live thread's block holds its initialised ThreadData.
            let data = unsafe { &*(block as *const threads::ThreadData) };
            if tid != me && !data.park.parked.load(Ordering::Acquire) {
                send(pid, tid, TO_PEER);
            }
        }
    }
    if STATE.load(Ordering::Acquire) != FREEZING {
        return;
    }
    if can_park {
        park();
    } else {
        threads::current()
            .park
            .pending
            .store(true, Ordering::Release);
    }
}

/// On thread `me`'s way back to the program from a system call: parks if a freeze asked it
/// to. On every trapped call: one plain load when no freeze is asked.
pub fn park_if_pending(me: &threads::ThreadData) {
    if me.park.pending.load(Ordering::Relaxed)
        && me.park.pending.swap(false, Ordering::AcqRel)
        && STATE.load(Ordering::Acquire) == FREEZING
    {
        park();
    }
}

fn send(pid: u64, tid: u32, value: u64) {
    let mut info = [0u8; 128];
    info[0..4].copy_from_slice(&(FREEZE_SIGNAL as i32).to_le_bytes());
    info[8..12].copy_from_slice(&SI_QUEUE.to_le_bytes());
    info[24..32].copy_from_slice(&value.to_le_bytes());
    gate::syscall(
        297,
        [
            pid,
            u64::from(tid),
            FREEZE_SIGNAL,
            info.as_ptr() as u64,
            0,
            0,
        ],
    );
}

fn wake_all() {
    gate::syscall(
        202,
        [STATE.as_ptr() as u64, 1 | 128, i32::MAX as u64, 0, 0, 0],
    );
}

/// Parks this thread until the freeze ends (or, in a restored process, until it is resumed).
fn park() {
    let me = threads::current();
    let old_mask = block_catchable();
    let mut fs: u64 = 0;
    gate::syscall(158, [0x1003, &raw mut fs as u64, 0, 0, 0, 0]);
    // SAFETY: the thread's own data; no other thread writes these fields.
    unsafe {
        let park = &raw const me.park as *mut Parked;
        (*park).fs_base = fs;
        me.park.parked.store(true, Ordering::Release);
        picobox_park(&raw mut (*park).sp, wait_while_frozen);
    }
    me.park.parked.store(false, Ordering::Release);
    me.park.pending.store(false, Ordering::Release);
    gate::syscall(14, [2, &raw const old_mask as u64, 0, 8, 0, 0]);
}

/// Blocks every catchable signal; returns the previous mask.
fn block_catchable() -> u64 {
    let all: u64 = !((1 << 8) | (1 << 18));
    let mut old: u64 = 0;
    gate::syscall(14, [0, &raw const all as u64, &raw mut old as u64, 8, 0, 0]);
    old
}

extern "C" fn wait_while_frozen() {
    let parked = PARKED.fetch_add(1, Ordering::AcqRel) + 1;
    // Counted now, not when the freeze began: a thread made meanwhile (its maker parks only
    // once the call that made it is done) must park too before the process reports.
    if parked as usize >= threads::live().len() {
        report_and_wait();
        return;
    }
    while STATE.load(Ordering::Acquire) == FREEZING {
        gate::syscall(
            202,
            [STATE.as_ptr() as u64, 128, u64::from(FREEZING), 0, 0, 0],
        );
    }
}

/// The last thread to park: tells the monitor what the process holds, and waits for its word.
fn report_and_wait() {
    let channel = CHANNEL.load(Ordering::Relaxed);
    let report = inventory();
    // One message on the SOCK_SEQPACKET channel.
    gate::syscall(
        1,
        [
            channel,
            report.as_ptr() as u64,
            report.len() as u64,
            0,
            0,
            0,
        ],
    );
    let mut word = [0u8; 1];
    let got = loop {
        let r = gate::syscall(0, [channel, word.as_mut_ptr() as u64, 1, 0, 0, 0]);
        if r != (-4i64) as u64 {
            break r;
        }
    };
    if got == 1 && word[0] == END {
        crate::pal::HOST.exit_now(0);
    }
    STATE.store(IDLE, Ordering::Release);
    wake_all();
}

/// The process's report (`snapshot_meta::Report`): its threads, what each host descriptor
/// the runtime and the library OS can name is, and what makes the process not capturable,
/// if anything does.
fn inventory() -> Vec<u8> {
    use crate::snapshot_meta::{HandleKind, Report, Thread};
    let mut report = Report {
        pid: crate::pal::own_pid(),
        runtime_base: crate::start::image_range().0 as u64,
        threads: threads::live()
            .into_iter()
            .map(|(tid, block)| Thread {
                tid,
                block: block as u64,
            })
            .collect(),
        ..Report::default()
    };
    for (fd, role) in BOOT_HANDLES.lock().iter() {
        let kind = if *role == u32::MAX {
            HandleKind::SocketRoot
        } else {
            HandleKind::BootMount(*role)
        };
        report.named.push((*fd, kind));
    }
    report
        .named
        .push((CHANNEL.load(Ordering::Relaxed) as u32, HandleKind::Channel));
    match picobox_libos::snapshot_handles() {
        Ok(named) => report.named.extend(named.into_iter().map(|h| {
            let kind = match h.what {
                picobox_libos::HandleWhat::Stdio(n) => HandleKind::Stdio(n),
                picobox_libos::HandleWhat::File { root, rel } => HandleKind::File { root, rel },
                picobox_libos::HandleWhat::UnixName(b) => {
                    HandleKind::UnixName(crate::snapshot_meta::SocketFile {
                        root: b.root,
                        rel: b.rel,
                        given: b.given,
                        mode: b.mode,
                    })
                }
                picobox_libos::HandleWhat::Watcher { watches, last_wd } => HandleKind::Watcher {
                    watches: watches
                        .into_iter()
                        .map(|w| crate::snapshot_meta::WatchRecord {
                            wd: w.wd,
                            mask: 0,
                            root: w.root,
                            rel: w.rel,
                            nofollow: w.nofollow,
                        })
                        .collect(),
                    last_wd,
                },
            };
            (h.handle, kind)
        })),
        Err(why) => report.refusal = why.into_bytes(),
    }
    report.shared_files = picobox_libos::snapshot_shared_files()
        .into_iter()
        .map(|m| crate::snapshot_meta::SharedFileMapping {
            start: m.start,
            end: m.end,
            offset: m.offset,
            file: crate::snapshot_meta::MappedFileRecord {
                root: m.root,
                rel: m.rel,
            },
        })
        .collect();
    report.timers = picobox_libos::snapshot_timers()
        .into_iter()
        .filter_map(host_timer)
        .collect();
    report.encode()
}

/// A timer of the library OS's as the host knows it (clock id, `struct sigevent`).
fn host_timer(t: picobox_libos::TimerState) -> Option<crate::snapshot_meta::HostTimer> {
    use crate::snapshot_meta::{HostTimer, TimerWhich};
    use picobox_abi::Timer;
    let which = match (t.timer, t.made) {
        (Timer::Alarm, _) => TimerWhich::Interval(0),
        (Timer::Virtual, _) => TimerWhich::Interval(1),
        (Timer::Profile, _) => TimerWhich::Interval(2),
        (Timer::Posix(id), Some((clock, notify))) => TimerWhich::Posix {
            id,
            clock: crate::pal::clock_id(clock) as u32,
            event: crate::pal::sigevent_of(notify).map_or(Vec::new(), |e| e[..20].to_vec()),
        },
        _ => return None,
    };
    let time =
        |t: picobox_abi::Timespec| (t.sec.max(0) as u64, t.nsec.clamp(0, 999_999_999) as u32);
    Some(HostTimer {
        which,
        value: time(t.setting.value),
        interval: time(t.setting.interval),
    })
}

/// The restored process's entry, in the *saved* runtime (the restoring code calls it at this
/// function's address in the snapshot's runtime). Everything that confines the process is
/// done by then, the seccomp filter included (`monitor/restore.rs`): this code and the state
/// it reads come from the snapshot, which the box itself wrote. It forgets what the freeze
/// left in its statics, takes `host_owner` as the box's host user and group now
/// ([`crate::pal::own_host_owner`], asked by the restoring code before the filter was on),
/// and resumes the first thread where it parked.
///
/// # Safety
/// The process's memory is the snapshot's, mapped back at its addresses; `leader_block` is
/// the first thread's block there.
pub unsafe extern "C" fn restored_entry(leader_block: u64, host_owner: u64) -> ! {
    STATE.store(IDLE, Ordering::Release);
    PARKED.store(0, Ordering::Release);
    crate::pal::forget_own_pid();
    crate::pal::box_owner_moved_to(host_owner);
    // SAFETY: the leader's block is in the restored memory, with its parked stack.
    unsafe { resume_thread(leader_block as usize) }
}

/// A restored thread other than the first, made by the restoring code: resumes the thread
/// whose block is `block` (called at this function's address in the saved runtime).
///
/// # Safety
/// As for [`restored_entry`]; `block` is the thread's block in the restored memory.
pub unsafe extern "C" fn resume_thread_entry(block: u64) -> ! {
    // SAFETY: as the caller guarantees.
    unsafe { resume_thread(block as usize) }
}

/// On a restored thread: back onto the parked stack of the thread whose block is `block`.
///
/// # Safety
/// The process's memory is the snapshot's, mapped back: `block` holds the thread's data with
/// a parked stack pointer.
unsafe fn resume_thread(block: usize) -> ! {
    // SAFETY: as the caller guarantees.
    let data = unsafe { &*(block as *const threads::ThreadData) };
    // SAFETY: the parked stack is in memory again, as it was when the thread parked.
    unsafe { picobox_park_resume(data.park.sp, after_restore) }
}

/// Runs on a restored thread's parked stack: what the kernel kept per thread is set again.
extern "C" fn after_restore() {
    let me = threads::current();
    let block = me as *const threads::ThreadData as usize;
    let _ = threads::use_block(block);
    gate::syscall(158, [0x1002, me.park.fs_base, 0, 0, 0, 0]);
    let head = me.park.robust_head.load(Ordering::Relaxed);
    if head != 0 {
        let len = me.park.robust_len.load(Ordering::Relaxed);
        gate::syscall(273, [head, len, 0, 0, 0, 0]);
    }
    // Its id is the saved one (`clone3` with `set_tid`), and its exit frees its block as
    // `threads::create` asked (the restoring code gave `clone3` the same exit futex).
    me.tid
        .store(gate::syscall(186, [0; 6]) as u32, Ordering::Relaxed);
}
