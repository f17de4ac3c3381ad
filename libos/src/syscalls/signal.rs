//! Signals: dispositions, masks, pending signals, and delivery to the program's handlers with
//! Linux's x86-64 signal frame (`struct rt_sigframe`: return address, `ucontext`, `siginfo`,
//! then the saved floating-point state).
//!
//! Signals reach a process three ways: the host delivers one (another process's `kill`, a
//! child's exit, a terminal's ^C) and the PAL hands it to [`arrived`]; the program faults and
//! the PAL calls [`fault`]; or the process signals itself (`kill`, `tgkill`, `raise`). A signal
//! with a handler becomes pending and is delivered when the program next runs: at once if it
//! was running, else when the current system call returns.

use super::signal_queue::{self, SIGRTMIN};
use super::{int_arg, Args};
use crate::kernel::{host, Kernel};
use crate::user;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use picobox_abi::{reg, CpuContext, Errno, Result};

/// Highest signal number.
pub const NSIG: usize = 64;
#[allow(missing_docs)]
pub const SIGILL: u8 = 4;
#[allow(missing_docs)]
pub const SIGBUS: u8 = 7;
#[allow(missing_docs)]
pub const SIGFPE: u8 = 8;
#[allow(missing_docs)]
pub const SIGKILL: u8 = 9;
#[allow(missing_docs)]
pub const SIGSEGV: u8 = 11;
/// Alarm clock.
pub const SIGALRM: u8 = 14;
#[allow(missing_docs)]
pub const SIGSTOP: u8 = 19;
/// `SIGCONT`.
const SIGCONT: u8 = 18;
const SIG_DFL: u64 = 0;
const SIG_IGN: u64 = 1;
const SA_SIGINFO: u64 = 4;
const SA_ONSTACK: u64 = 0x0800_0000;
const SA_RESTART: u64 = 0x1000_0000;
const SA_NODEFER: u64 = 0x4000_0000;
const SA_RESETHAND: u64 = 0x8000_0000;
const SS_ONSTACK: u32 = 1;
const SS_AUTODISARM: u32 = 1 << 31;
const SS_DISABLE: u32 = 2;
const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));
/// Size of the `ucontext` in the frame (flags, link, stack, sigcontext, mask).
const UCONTEXT_SIZE: u64 = 8 + 8 + 24 + 256 + 8;
const SIGINFO_SIZE: u64 = 128;

/// One `struct sigaction` as the program gave it.
#[derive(Clone, Copy, Default, Debug)]
pub struct SigAction {
    /// Handler address, `SIG_DFL` (0) or `SIG_IGN` (1).
    pub handler: u64,
    /// `SA_*` flags.
    pub flags: u64,
    /// `sa_restorer`.
    pub restorer: u64,
    /// Signals blocked while the handler runs.
    pub mask: u64,
}

/// Dispositions and the blocked mask of the process.
#[derive(Clone, Debug)]
pub struct SignalState {
    /// Disposition per signal (index = number - 1).
    pub actions: [SigAction; NSIG],
    /// Blocked signals (bit `n - 1` for signal `n`).
    pub mask: u64,
    /// The alternate signal stack (`ss_sp`, `ss_flags`, `ss_size`).
    pub altstack: (u64, u32, u64),
}

impl SignalState {
    /// What `execve` keeps: the mask and ignored signals; caught signals return to default and
    /// the alternate stack is gone.
    pub fn reset_for_exec(&mut self) {
        for (i, a) in self.actions.iter_mut().enumerate() {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
                DISPOSITION[i].store(DISP_DEFAULT, Ordering::Relaxed);
            }
        }
        self.altstack = (0, 0, 0);
    }
}

impl Default for SignalState {
    fn default() -> Self {
        SignalState {
            actions: [SigAction::default(); NSIG],
            mask: 0,
            altstack: (0, 0, 0),
        }
    }
}

// What a host signal may need to know without taking the library OS's lock (it can arrive
// while the lock is held): each signal's disposition, and the pending signals with their
// `siginfo`. Standard signals do not queue: a second instance before delivery merges.
const DISP_DEFAULT: u8 = 0;
const DISP_IGNORE: u8 = 1;
const DISP_HANDLER: u8 = 2;
static DISPOSITION: &[AtomicU8; NSIG] = &crate::state::LIBOS.signals.disposition;
static PENDING: &AtomicU64 = &crate::state::LIBOS.signals.pending;
static PENDING_INFO: &[[AtomicU64; 16]; NSIG] = &crate::state::LIBOS.signals.pending_info;

// Signals sent to one thread (`tgkill`, `tkill`, `raise`: `SI_TKILL`) are pending for that
// thread alone, as Linux keeps them: only it takes them, whatever its siblings' masks. A slot
// per thread, found by host thread id (open addressing from the id), claimed by the thread
// itself when such a signal first arrives for it and given up when it ends. Their `siginfo`
// shares the process-wide slot of the signal.
const THREAD_SLOTS: usize = 1024;
/// A slot given up: probing goes on past it, and it can be claimed again.
const SLOT_GONE: u32 = u32::MAX;
static THREAD_TID: &[AtomicU32; THREAD_SLOTS] = &crate::state::LIBOS.signals.thread_tid;
static THREAD_PENDING: &[AtomicU64; THREAD_SLOTS] = &crate::state::LIBOS.signals.thread_pending;

/// The signal state a host signal handler reaches without the library OS's lock: each
/// signal's disposition, the process's pending signals with their `siginfo`, and each
/// thread's own pending signals. Part of [`crate::state::LibOs`]; named above by its parts.
pub struct Shared {
    disposition: [AtomicU8; NSIG],
    pending: AtomicU64,
    pending_info: [[AtomicU64; 16]; NSIG],
    thread_tid: [AtomicU32; THREAD_SLOTS],
    thread_pending: [AtomicU64; THREAD_SLOTS],
}

impl Shared {
    /// Nothing pending, every disposition the default.
    pub(crate) const fn new() -> Shared {
        Shared {
            disposition: [const { AtomicU8::new(DISP_DEFAULT) }; NSIG],
            pending: AtomicU64::new(0),
            pending_info: [const { [const { AtomicU64::new(0) }; 16] }; NSIG],
            thread_tid: [const { AtomicU32::new(0) }; THREAD_SLOTS],
            thread_pending: [const { AtomicU64::new(0) }; THREAD_SLOTS],
        }
    }
}

/// The slot of thread `tid`; with `claim`, one is made for it if it has none (none if all are
/// taken: its signals are then the process's).
fn thread_slot(tid: u32, claim: bool) -> Option<usize> {
    let start = tid as usize % THREAD_SLOTS;
    let mut free = None;
    for i in 0..THREAD_SLOTS {
        let slot = (start + i) % THREAD_SLOTS;
        match THREAD_TID[slot].load(Ordering::Acquire) {
            t if t == tid => return Some(slot),
            0 => {
                free = free.or(Some(slot));
                break;
            }
            SLOT_GONE => free = free.or(Some(slot)),
            _ => {}
        }
    }
    let slot = free.filter(|_| claim)?;
    let seen = THREAD_TID[slot].load(Ordering::Acquire);
    THREAD_TID[slot]
        .compare_exchange(seen, tid, Ordering::AcqRel, Ordering::Acquire)
        .ok()
        .map(|_| slot)
}

/// The calling thread's own pending signals.
fn thread_pending() -> u64 {
    thread_slot(host().thread_id(), false).map_or(0, |s| THREAD_PENDING[s].load(Ordering::Acquire))
}

/// Forgets the calling thread's pending signals and slot (the thread ends).
pub fn thread_gone() {
    crate::box_processes::set_state(0);
    if let Some(slot) = thread_slot(host().thread_id(), false) {
        THREAD_PENDING[slot].store(0, Ordering::Release);
        THREAD_TID[slot].store(SLOT_GONE, Ordering::Release);
    }
}

/// The process's own pending signals, just before a fork (see [`reset_after_fork`]).
pub fn pending_before_fork() -> (u64, u64) {
    (PENDING.load(Ordering::Acquire), signal_queue::mark())
}

/// In a forked child, which starts with no pending signal of its parent's (as on Linux): the
/// parent's threads are not here, nor the signals pending for the parent when it forked,
/// `before`. A signal sent to the child since (a `kill` right after `fork`) stays.
pub fn reset_after_fork((before, queued): (u64, u64)) {
    for (tid, pending) in THREAD_TID.iter().zip(THREAD_PENDING) {
        tid.store(0, Ordering::Release);
        pending.store(0, Ordering::Release);
    }
    signal_queue::forget_before(queued);
    // A real-time signal queued for the child since the fork stays pending.
    let requeued = (SIGRTMIN..=NSIG as u8)
        .filter(|s| signal_queue::holds(*s, 0))
        .fold(0, |m, s| m | bit(s));
    PENDING.fetch_and(!before | requeued, Ordering::AcqRel);
}

fn bit(sig: u8) -> u64 {
    1 << (sig - 1)
}

/// Ends the process by `sig`, which reached its default action with the program at `ctx`: with
/// a core file first if `sig` dumps core and the process may (`core_dump.rs`).
fn die_of_at(k: &Kernel, sig: u8, ctx: &CpuContext) -> ! {
    if crate::core_dump::dump(k, sig, ctx) {
        crate::box_processes::mark_ended();
        let pid = host().process_id(picobox_abi::Whose::Caller);
        crate::box_processes::set_state_of(pid, crate::box_processes::DUMPED);
        host().process_exit(picobox_abi::ProcessEnd::Signal(sig))
    }
    die_of(sig)
}

/// Ends the process as if killed by `sig` (the box's first process: exit status `128 + sig`).
pub fn die_of(sig: u8) -> ! {
    crate::box_processes::mark_ended();
    host().process_exit(picobox_abi::ProcessEnd::Signal(sig))
}

pub(super) fn signal_arg(v: u64) -> Result<u8> {
    match u8::try_from(int_arg(v)) {
        Ok(s) if (1..=NSIG as u8).contains(&s) => Ok(s),
        _ => Err(Errno::EINVAL),
    }
}

/// Whether the default action of `sig` is to ignore it.
fn ignored_by_default(sig: u8) -> bool {
    // SIGCHLD, SIGCONT, SIGURG, SIGWINCH.
    matches!(sig, 17 | 18 | 23 | 28)
}

/// Whether the default action of `sig` is to stop the process (SIGSTOP, SIGTSTP, SIGTTIN,
/// SIGTTOU).
fn stops_by_default(sig: u8) -> bool {
    matches!(sig, 19..=22)
}

/// A stop signal's default action: the host stops this process by that signal (its parent's
/// wait sees which); SIGCONT from another process lets it go on from here.
fn stop_self(sig: u8) {
    let me = host().process_id(picobox_abi::Whose::Caller) as i32;
    crate::box_processes::set_state(crate::box_processes::STOPPED);
    let _ = host().process_signal(me, u32::from(sig), None);
    crate::box_processes::set_state(crate::box_processes::RUNNING);
}

/// After a traced process executed a program: SIGTRAP, as Linux sends it (without
/// `PTRACE_O_TRACEEXEC`), so that its tracer sees the new program before it runs.
pub(crate) fn trap_after_exec() {
    const SIGTRAP: u8 = 5;
    if super::ptrace::traced() {
        let mut info = [0u8; 128];
        info[0..4].copy_from_slice(&i32::from(SIGTRAP).to_le_bytes());
        make_pending(SIGTRAP, &info);
    }
}

/// Makes `sig` pending with `info`.
/// A signal sent to one thread, which is the calling one (the host delivers a `tgkill` to its
/// target; `raise` is the caller's own), is pending for it alone.
fn make_pending(sig: u8, info: &[u8; 128]) {
    const SI_TKILL: i32 = -6;
    // SIGCONT discards the pending stop signals, and a stop signal a pending SIGCONT, as
    // Linux does when either is sent.
    let discards: u64 = if sig == SIGCONT {
        (19..=22u8).fold(0, |m, s| m | bit(s))
    } else if stops_by_default(sig) {
        bit(SIGCONT)
    } else {
        0
    };
    if discards != 0 {
        PENDING.fetch_and(!discards, Ordering::AcqRel);
        for pending in THREAD_PENDING {
            pending.fetch_and(!discards, Ordering::AcqRel);
        }
    }
    let code = i32::from_le_bytes(info[8..12].try_into().unwrap_or([0; 4]));
    let thread = (code == SI_TKILL)
        .then(|| thread_slot(host().thread_id(), true))
        .flatten();
    if sig >= SIGRTMIN {
        // Real-time signals queue (see `signal_queue.rs`); the bit follows the queue.
        if !signal_queue::push(sig, thread.map_or(0, |s| s as u32 + 1), info) {
            return;
        }
    } else {
        let set = thread.map_or(PENDING, |s| &THREAD_PENDING[s]);
        if set.load(Ordering::Acquire) & bit(sig) != 0 {
            return; // already pending: merges, the first instance's siginfo kept, as Linux
        }
        for (i, word) in info.chunks_exact(8).enumerate() {
            let v = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
            PENDING_INFO[usize::from(sig - 1)][i].store(v, Ordering::Relaxed);
        }
    }
    match thread {
        Some(slot) => THREAD_PENDING[slot].fetch_or(bit(sig), Ordering::Release),
        None => PENDING.fetch_or(bit(sig), Ordering::Release),
    };
    super::signalfd::ring(sig);
}

/// The signals pending for the calling thread: its own and the process's.
pub fn pending() -> u64 {
    PENDING.load(Ordering::Acquire) | thread_pending()
}

/// Takes the lowest-numbered pending signal of `set` (for a signal file).
pub fn take_pending_of(set: u64) -> Option<(u8, [u8; 128])> {
    take_pending(!set)
}

/// Takes the lowest-numbered pending signal not in `blocked`.
fn take_pending(blocked: u64) -> Option<(u8, [u8; 128])> {
    let slot = thread_slot(host().thread_id(), false);
    let own = slot.map_or(0, |s| THREAD_PENDING[s].load(Ordering::Acquire));
    let ready = (PENDING.load(Ordering::Acquire) | own) & !blocked;
    if ready == 0 {
        return None;
    }
    let sig = ready.trailing_zeros() as u8 + 1;
    // The thread's own instance first, as Linux dequeues.
    let (set, target) = match slot {
        Some(s) if own & bit(sig) != 0 => (&THREAD_PENDING[s], s as u32 + 1),
        _ => (PENDING, 0),
    };
    if sig >= SIGRTMIN {
        let taken = signal_queue::take(sig, target);
        set.fetch_and(!bit(sig), Ordering::AcqRel);
        if signal_queue::holds(sig, target) {
            set.fetch_or(bit(sig), Ordering::AcqRel);
        }
        // None: taken by another thread since the bit was read; look again.
        return match taken {
            Some(info) => Some((sig, info)),
            None => take_pending(blocked),
        };
    }
    set.fetch_and(!bit(sig), Ordering::AcqRel);
    let mut info = [0u8; 128];
    for (i, word) in info.chunks_exact_mut(8).enumerate() {
        word.copy_from_slice(
            &PENDING_INFO[usize::from(sig - 1)][i]
                .load(Ordering::Relaxed)
                .to_le_bytes(),
        );
    }
    Some((sig, info))
}

/// Whether a pending signal interrupts a blocking system call of this thread now, as on Linux:
/// one the thread has not blocked whose handler runs or whose default action ends the process.
/// A host call returns `EINTR` for every host signal, also for one the program blocked or
/// ignores; the call then goes on as if nothing happened. Pending signals that delivery would
/// discard (ignored, or ignored by default while unblocked) are discarded here.
pub fn interrupts(k: &Kernel) -> bool {
    loop {
        let ready = pending() & !k.signals.mask;
        if ready == 0 {
            return false;
        }
        let sig = ready.trailing_zeros() as u8 + 1;
        let action = k.signals.actions[usize::from(sig - 1)];
        let discarded =
            action.handler == SIG_IGN || (action.handler == SIG_DFL && ignored_by_default(sig));
        // A stop by default action does not interrupt the call either: the process stops
        // now, and once continued the call goes on, as on Linux.
        let stops = action.handler == SIG_DFL && stops_by_default(sig);
        if !discarded && !stops {
            return true;
        }
        PENDING.fetch_and(!bit(sig), Ordering::AcqRel);
        signal_queue::discard(sig, 0);
        if let Some(slot) = thread_slot(host().thread_id(), false) {
            THREAD_PENDING[slot].fetch_and(!bit(sig), Ordering::AcqRel);
            signal_queue::discard(sig, slot as u32 + 1);
        }
        if stops {
            stop_self(sig);
        }
    }
}

/// A `siginfo` for a signal a process of the box sent (`SI_USER`, or `SI_TKILL` for tgkill).
fn user_info(sig: u8, code: i32, k: &Kernel) -> [u8; 128] {
    let mut info = [0u8; 128];
    info[0..4].copy_from_slice(&i32::from(sig).to_le_bytes());
    info[8..12].copy_from_slice(&code.to_le_bytes());
    info[16..20].copy_from_slice(&host().process_id(picobox_abi::Whose::Caller).to_le_bytes());
    info[20..24].copy_from_slice(&k.creds.real_uid().to_le_bytes());
    info
}

/// A host signal arrived. `in_libos` says whether it interrupted the library OS (then the
/// signal waits for the current system call to return) or the program (then it is delivered
/// now, through `ctx`).
pub fn arrived(sig: u8, info: &[u8; 128], ctx: &mut CpuContext, in_libos: bool) {
    if !(1..=NSIG as u8).contains(&sig) {
        return;
    }
    if super::exec::another_thread_execs() {
        // Another thread is replacing the program: this one ends, now if it was running the
        // program, else when it is back in the library OS; the signal was only the nudge.
        if !in_libos {
            // Taking the lock ends this thread (see `kernel::lock`).
            drop(crate::kernel::lock());
        }
        if sig == super::exec::SIGURG {
            return;
        }
    }
    // The tracer's SIGCONT is its command to a stopped tracee, not the program's signal.
    if sig == SIGCONT
        && super::ptrace::takes_continue(info, |s| {
            let mut info = [0u8; 128];
            info[0..4].copy_from_slice(&i32::from(s).to_le_bytes());
            make_pending(s, &info);
        })
    {
        return;
    }
    match DISPOSITION[usize::from(sig - 1)].load(Ordering::Relaxed) {
        // An ignored signal is discarded, unless it is blocked: then it stays pending and can
        // be waited for (`sigwaitinfo`), as on Linux. Which threads block it is not known
        // here, so it is made pending, and discarded where it is found unblocked.
        DISP_IGNORE => make_pending(sig, info),
        _ => {
            // A signal whose default is to be ignored stays pending too: while blocked it can
            // be waited for (`sigwait`) and is reported by `sigpending`, as on Linux.
            // Pending until the program runs with the signal unblocked; then the handler runs
            // or the default action ends the process.
            make_pending(sig, info);
            if !in_libos {
                if let Some(mut guard) = crate::kernel::try_lock() {
                    if let Some(k) = guard.as_mut() {
                        k.switch_to(host().thread_id());
                        deliver_pending(k, ctx, None, None);
                    }
                }
            }
        }
    }
}

/// The program faulted with `sig`: run its handler if it has one and has not blocked the
/// signal, else end the process as Linux does.
pub fn fault(sig: u8, info: &[u8; 128], ctx: &mut CpuContext) {
    let mut guard = crate::kernel::lock();
    let Some(k) = guard.as_mut() else { die_of(sig) };
    k.switch_to(host().thread_id());
    // Traced, the tracer sees the fault first; suppressed, the program goes on (a breakpoint
    // after its int3; a faulting instruction, again).
    let Some((sig, info)) = super::ptrace::signal_stop(ctx, sig, *info, None) else {
        return;
    };
    let info = &info;
    let action = k.signals.actions[usize::from(sig - 1)];
    if action.handler <= SIG_IGN || k.signals.mask & bit(sig) != 0 {
        die_of_at(k, sig, ctx);
    }
    if deliver(k, ctx, sig, info, k.signals.mask).is_err() {
        die_of_at(k, SIGSEGV, ctx);
    }
}

/// Delivers one pending, unblocked signal into `ctx`, if there is one. `saved_mask` is the
/// mask to restore when the handler returns (the current one unless `sigsuspend` changed it).
/// `interrupted` is the system call that just returned, which a handler with `SA_RESTART`
/// starts again if it failed with `EINTR`. Returns the signal's flags if a handler was set up.
pub fn deliver_pending(
    k: &mut Kernel,
    ctx: &mut CpuContext,
    saved_mask: Option<u64>,
    interrupted: Option<u64>,
) -> Option<u64> {
    let first = loop {
        if let Some(flags) = deliver_one(k, ctx, saved_mask, interrupted)? {
            break flags;
        }
    };
    // As Linux, every other signal the handler's mask leaves deliverable gets its frame now,
    // on top of the first: the last one taken runs first.
    while deliver_one(k, ctx, None, None).is_some() {}
    Some(first)
}

/// Takes one pending, unblocked signal (none: `None`) and acts on it: `Some(None)` if it was
/// discarded (or stopped the process), `Some(flags)` if its handler's frame was set up.
fn deliver_one(
    k: &mut Kernel,
    ctx: &mut CpuContext,
    saved_mask: Option<u64>,
    interrupted: Option<u64>,
) -> Option<Option<u64>> {
    let (sig, mut info) = take_pending(k.signals.mask)?;
    name_guest_fd(k, sig, &mut info);
    // A traced process stops for its tracer, which may change or suppress the signal.
    let Some((sig, info)) = super::ptrace::signal_stop(ctx, sig, info, interrupted) else {
        return Some(None);
    };
    let action = k.signals.actions[usize::from(sig - 1)];
    Some(match action.handler {
        SIG_IGN => None,
        SIG_DFL if ignored_by_default(sig) => None,
        SIG_DFL if stops_by_default(sig) => {
            stop_self(sig);
            None
        }
        SIG_DFL => die_of_at(k, sig, ctx),
        _ => {
            if let Some(nr) = interrupted {
                if ctx.regs[reg::RAX] == Errno::EINTR.as_return()
                    && action.flags & SA_RESTART != 0
                    && restartable(nr)
                {
                    // Back to the `syscall` instruction, number in rax: it runs again after
                    // the handler returns.
                    ctx.regs[reg::RAX] = nr;
                    ctx.regs[reg::RIP] = ctx.regs[reg::RIP].wrapping_sub(2);
                }
            }
            let mask = saved_mask.unwrap_or(k.signals.mask);
            if deliver(k, ctx, sig, &info, mask).is_err() {
                return Some(Some(frame_failed(k, ctx, sig, mask)));
            }
            Some(action.flags)
        }
    })
}

/// The frame for `sig` could not be written (a bad or read-only stack). As Linux's
/// `force_sigsegv`: SIGSEGV instead, unblocked, to its handler if it has one; the process
/// dies of SIGSEGV if it has none, or if the failed signal was SIGSEGV itself, or if that
/// frame cannot be written either. Returns the SIGSEGV handler's flags.
fn frame_failed(k: &mut Kernel, ctx: &mut CpuContext, sig: u8, mask: u64) -> u64 {
    /// `SI_KERNEL`: sent by the kernel.
    const SI_KERNEL: i32 = 0x80;
    let segv = k.signals.actions[usize::from(SIGSEGV - 1)];
    if sig == SIGSEGV || segv.handler == SIG_IGN || segv.handler == SIG_DFL {
        die_of(SIGSEGV);
    }
    let mut info = [0u8; 128];
    info[0..4].copy_from_slice(&i32::from(SIGSEGV).to_le_bytes());
    info[8..12].copy_from_slice(&SI_KERNEL.to_le_bytes());
    if deliver(k, ctx, SIGSEGV, &info, mask & !bit(SIGSEGV)).is_err() {
        die_of(SIGSEGV);
    }
    segv.flags
}

/// A signal the host sent about one of its streams (a lease broken, a directory changed, with
/// the signal `F_SETSIG` chose: `si_code` `POLL_IN`..`POLL_HUP`, `si_fd` the stream's handle)
/// is told with the program's descriptor of that stream instead.
fn name_guest_fd(k: &Kernel, sig: u8, info: &mut [u8; 128]) {
    const POLL_IN: i32 = 1;
    const POLL_HUP: i32 = 6;
    const SI_FD: usize = 24;
    let code = i32::from_le_bytes([info[8], info[9], info[10], info[11]]);
    // Other signals the kernel sends use these codes for their own layouts.
    const SIGTRAP: u8 = 5;
    const SIGCHLD: u8 = 17;
    const SIGSYS: u8 = 31;
    let own_layout = [SIGCHLD, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS];
    if !(POLL_IN..=POLL_HUP).contains(&code) || own_layout.contains(&sig) {
        return;
    }
    let handle = u32::from_le_bytes([
        info[SI_FD],
        info[SI_FD + 1],
        info[SI_FD + 2],
        info[SI_FD + 3],
    ]);
    let guest = k.fds.numbers().into_iter().find_map(|fd| {
        let file = k.fds.file(fd).ok()?;
        file.handle().filter(|h| h.0 == handle)?;
        // The descriptor the notice was asked through, if it is still open.
        let asked = file.notice_fd.load(Ordering::Relaxed);
        let still = u64::try_from(asked).ok().filter(|a| {
            k.fds
                .file(*a)
                .is_ok_and(|f| alloc::sync::Arc::ptr_eq(&f, &file))
        });
        Some(still.unwrap_or(fd))
    });
    if let Some(fd) = guest {
        info[SI_FD..SI_FD + 4].copy_from_slice(&(fd as u32).to_le_bytes());
    }
}

/// Builds the signal frame on the program's stack (or its alternate stack) and points `ctx`
/// at the handler.
fn deliver(
    k: &mut Kernel,
    ctx: &mut CpuContext,
    sig: u8,
    info: &[u8; 128],
    saved_mask: u64,
) -> Result<()> {
    let slot = usize::from(sig - 1);
    let action = k.signals.actions[slot];
    let (ss_sp, ss_flags, ss_size) = k.signals.altstack;
    let rsp = ctx.regs[reg::RSP];
    // Guest values: a frame that does not fit (a stack at the top or bottom of the address
    // space) is EFAULT here, which the caller turns into SIGSEGV as Linux does.
    let altstack_top = ss_sp.checked_add(ss_size);
    // As Linux keeps it: no alternate stack is a size of 0 (SS_DISABLE clears it).
    let enabled = ss_size != 0;
    let on_altstack = enabled && rsp > ss_sp && altstack_top.is_some_and(|top| rsp <= top);
    let mut sp = if action.flags & SA_ONSTACK != 0 && enabled && !on_altstack {
        altstack_top.ok_or(Errno::EFAULT)?
    } else {
        rsp.checked_sub(128).ok_or(Errno::EFAULT)? // the red zone
    };
    // Floating-point state, 64-byte aligned, at the top of the frame.
    let fp_len = ctx.fpstate_len as u64;
    let fp_addr = if fp_len > 0 {
        sp = sp.checked_sub(fp_len).ok_or(Errno::EFAULT)? & !63;
        let mut fp = alloc::vec![0u8; ctx.fpstate_len];
        host().vm_copy(fp.as_mut_ptr() as usize, ctx.fpstate, fp.len())?;
        user::write_bytes(sp, &fp)?;
        sp
    } else {
        0
    };
    let frame = (sp
        .checked_sub(8 + UCONTEXT_SIZE + SIGINFO_SIZE)
        .ok_or(Errno::EFAULT)?
        & !15)
        .checked_sub(8)
        .ok_or(Errno::EFAULT)?;
    let uc = frame + 8;
    let info_at = uc + UCONTEXT_SIZE;
    let mut f = alloc::vec![0u8; (8 + UCONTEXT_SIZE + SIGINFO_SIZE) as usize];
    f[0..8].copy_from_slice(&action.restorer.to_le_bytes());
    // ucontext: uc_flags, uc_link, uc_stack { sp, flags, size }, sigcontext, sigmask.
    let u = 8;
    let stack_flags = if on_altstack {
        SS_ONSTACK
    } else if enabled {
        ss_flags & SS_AUTODISARM
    } else {
        SS_DISABLE
    };
    f[u + 16..u + 24].copy_from_slice(&ss_sp.to_le_bytes());
    f[u + 24..u + 28].copy_from_slice(&stack_flags.to_le_bytes());
    f[u + 32..u + 40].copy_from_slice(&ss_size.to_le_bytes());
    let sc = u + 40;
    for (i, r) in ctx.regs.iter().enumerate() {
        f[sc + i * 8..sc + i * 8 + 8].copy_from_slice(&r.to_le_bytes());
    }
    f[sc + 18 * 8..sc + 18 * 8 + 8].copy_from_slice(&0x33u64.to_le_bytes()); // cs, gs, fs, ss
    f[sc + 23 * 8..sc + 23 * 8 + 8].copy_from_slice(&fp_addr.to_le_bytes());
    f[sc + 256..sc + 264].copy_from_slice(&saved_mask.to_le_bytes());
    f[(8 + UCONTEXT_SIZE) as usize..].copy_from_slice(info);
    user::write_bytes(frame, &f)?;

    let mut mask = k.signals.mask | action.mask;
    if action.flags & SA_NODEFER == 0 {
        mask |= bit(sig);
    }
    k.signals.mask = mask & !UNBLOCKABLE;
    if action.flags & SA_RESETHAND != 0 {
        // As Linux: only the handler goes back to SIG_DFL; flags and mask stay as set.
        k.signals.actions[slot].handler = 0;
        DISPOSITION[slot].store(DISP_DEFAULT, Ordering::Relaxed);
    }
    ctx.regs[reg::RSP] = frame;
    ctx.regs[reg::RIP] = action.handler;
    ctx.regs[reg::RDI] = u64::from(sig);
    ctx.regs[reg::RSI] = if action.flags & SA_SIGINFO != 0 {
        info_at
    } else {
        0
    };
    ctx.regs[reg::RDX] = if action.flags & SA_SIGINFO != 0 {
        uc
    } else {
        0
    };
    ctx.regs[reg::RAX] = 0;
    ctx.regs[reg::EFLAGS] &= !0x400; // clear DF, as the ABI requires on function entry
    Ok(())
}

/// Whether a system call interrupted by a handler with `SA_RESTART` is started again.
pub fn restartable(nr: u64) -> bool {
    // Sleeps, waits for signals, polls, System V message and semaphore waits and AIO waits
    // return EINTR whatever SA_RESTART says (signal(7)).
    !matches!(
        nr,
        7 | 23
            | 34
            | 35
            | 65
            | 69
            | 70
            | 128
            | 130
            | 208
            | 220
            | 230
            | 232
            | 270
            | 271
            | 281
            | 333
            | 441
    )
}

/// `rt_sigreturn()`: restores what the frame at the stack pointer saved.
pub fn sys_rt_sigreturn(k: &mut Kernel, _a: &Args, ctx: &mut CpuContext) -> Result<()> {
    // A frame that cannot be read is fatal, as on Linux (SIGSEGV).
    restore_frame(k, ctx).map_err(|_| die_of(SIGSEGV))
}

fn restore_frame(k: &mut Kernel, ctx: &mut CpuContext) -> Result<()> {
    // The handler's `ret` popped the return address: the frame started 8 bytes lower.
    let uc = ctx.regs[reg::RSP];
    let raw = user::read_bytes(uc, UCONTEXT_SIZE as usize)?;
    let word = |off: usize| u64::from_le_bytes(raw[off..off + 8].try_into().unwrap_or([0; 8]));
    let sc = 40;
    let mut regs = [0u64; 18];
    for (i, r) in regs.iter_mut().enumerate() {
        *r = word(sc + i * 8);
    }
    // Only the arithmetic and direction flags come from the frame, as on Linux.
    const USER_FLAGS: u64 = 0x0000_0000_0025_4dd5;
    regs[reg::EFLAGS] = (ctx.regs[reg::EFLAGS] & !USER_FLAGS) | (regs[reg::EFLAGS] & USER_FLAGS);
    let fp_addr = word(sc + 23 * 8);
    if fp_addr != 0 && ctx.fpstate_len > 0 {
        let fp = user::read_bytes(fp_addr, ctx.fpstate_len)?;
        host().vm_copy(ctx.fpstate, fp.as_ptr() as usize, fp.len())?;
    }
    ctx.regs = regs;
    k.signals.mask = word(sc + 256) & !UNBLOCKABLE;
    Ok(())
}

/// `rt_sigaction(sig, act, oldact, sigsetsize)`.
pub fn sys_rt_sigaction(k: &mut Kernel, a: &Args) -> Result<u64> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    // Linux reads the new action before it looks at the signal number.
    let new = if a[1] != 0 {
        Some(user::read_bytes(a[1], 32)?)
    } else {
        None
    };
    let sig = signal_arg(a[0])?;
    let slot = usize::from(sig - 1);
    let old = k.signals.actions[slot];
    if let Some(raw) = new {
        if sig == SIGKILL || sig == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let word =
            |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        let act = SigAction {
            handler: word(0),
            flags: word(1),
            restorer: word(2),
            mask: word(3) & !UNBLOCKABLE,
        };
        k.signals.actions[slot] = act;
        let disp = match act.handler {
            SIG_DFL => DISP_DEFAULT,
            SIG_IGN => DISP_IGNORE,
            _ => DISP_HANDLER,
        };
        DISPOSITION[slot].store(disp, Ordering::Relaxed);
        if disp == DISP_IGNORE {
            // Discarded wherever it is pending, as Linux does.
            PENDING.fetch_and(!bit(sig), Ordering::AcqRel);
            for pending in THREAD_PENDING {
                pending.fetch_and(!bit(sig), Ordering::AcqRel);
            }
        }
    }
    if a[2] != 0 {
        let mut out = [0u8; 32];
        for (i, w) in [old.handler, old.flags, old.restorer, old.mask]
            .iter()
            .enumerate()
        {
            out[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        user::write_bytes(a[2], &out)?;
    }
    Ok(0)
}

/// `rt_sigprocmask(how, set, oldset, sigsetsize)`.
pub fn sys_rt_sigprocmask(k: &mut Kernel, a: &Args) -> Result<u64> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let old = k.signals.mask;
    if a[1] != 0 {
        let set = user::read_u64(a[1])?;
        k.signals.mask = match int_arg(a[0]) {
            0 => old | set,
            1 => old & !set,
            2 => set,
            _ => return Err(Errno::EINVAL),
        } & !UNBLOCKABLE;
    }
    if a[2] != 0 {
        user::write_u64(a[2], old)?;
    }
    Ok(0)
}

/// `rt_sigpending(set, sigsetsize)`.
pub fn sys_rt_sigpending(k: &mut Kernel, a: &Args) -> Result<u64> {
    // Linux copies `sigsetsize` bytes of the set, up to its size.
    let size = usize::try_from(a[1])
        .ok()
        .filter(|n| *n <= 8)
        .ok_or(Errno::EINVAL)?;
    let set = (pending() & k.signals.mask).to_le_bytes();
    user::write_bytes(a[0], &set[..size])?;
    Ok(0)
}

/// Waits, with `mask` blocked, until a signal is delivered; returns `EINTR` with the handler
/// set up in `ctx` (to return to the caller with the old mask). Sleeps without the library
/// OS's lock.
fn suspend(ctx: &mut CpuContext, mask: Option<u64>) -> Result<()> {
    let old = crate::kernel::with(|k| {
        let old = k.signals.mask;
        if let Some(mask) = mask {
            k.signals.mask = mask & !UNBLOCKABLE;
        }
        old
    })?;
    loop {
        let seen = host().signals_seen();
        ctx.regs[reg::RAX] = Errno::EINTR.as_return();
        if crate::kernel::with(|k| deliver_pending(k, ctx, Some(old), None).is_some())? {
            return Ok(());
        }
        // Waiting (again: a sender may have shown this thread running, see `wake`).
        crate::box_processes::set_state(crate::box_processes::SLEEPING);
        host().signals_wait(seen, None);
    }
}

/// Nanoseconds on the monotonic clock.
fn monotonic_nanos() -> Result<i128> {
    let t = host().time_query(picobox_abi::Clock::Monotonic)?;
    Ok(i128::from(t.sec) * 1_000_000_000 + i128::from(t.nsec))
}

/// `rt_sigtimedwait(set, info, timeout, sigsetsize)`: takes a pending signal of `set` (its
/// number is the result, its `siginfo` goes to `info`), waiting up to `timeout` (`EAGAIN`
/// after). A signal outside `set` that has a handler interrupts the wait (`EINTR`).
pub fn sys_rt_sigtimedwait(a: &Args, ctx: &mut CpuContext) -> Result<()> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let set = user::read_u64(a[0])? & !UNBLOCKABLE;
    let deadline = if a[2] != 0 {
        let t = super::time::read_timespec(a[2])?;
        Some(monotonic_nanos()? + i128::from(t.sec) * 1_000_000_000 + i128::from(t.nsec))
    } else {
        None
    };
    loop {
        let seen = host().signals_seen();
        if let Some((sig, mut info)) = take_pending(!set) {
            crate::kernel::with(|k| name_guest_fd(k, sig, &mut info))?;
            if a[1] != 0 {
                user::write_bytes(a[1], &info)?;
            }
            ctx.regs[reg::RAX] = u64::from(sig);
            return Ok(());
        }
        ctx.regs[reg::RAX] = Errno::EINTR.as_return();
        if crate::kernel::with(|k| deliver_pending(k, ctx, None, None).is_some())? {
            return Ok(());
        }
        let timeout = match deadline {
            None => None,
            Some(d) => {
                let left = d - monotonic_nanos()?;
                if left <= 0 {
                    return Err(Errno::EAGAIN);
                }
                Some(picobox_abi::Timespec {
                    sec: (left / 1_000_000_000) as i64,
                    nsec: (left % 1_000_000_000) as i64,
                })
            }
        };
        host().signals_wait(seen, timeout);
    }
}

/// `rt_sigsuspend(mask, sigsetsize)`.
pub fn sys_rt_sigsuspend(a: &Args, ctx: &mut CpuContext) -> Result<()> {
    if a[1] != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = user::read_u64(a[0])?;
    suspend(ctx, Some(mask))
}

/// Runs `wait` (a `ppoll`, `pselect6` or `epoll_pwait` wait) with signal mask `mask` in
/// place, as Linux: a signal the new mask lets through, pending already or arriving during the
/// wait, ends it with `EINTR`, and its handler then runs under that mask, the frame restoring
/// the caller's own (the dispatcher does that: `ThreadState::restore_mask`). Otherwise the old
/// mask is back when this returns.
pub fn with_temporary_mask(mask: u64, wait: impl FnOnce() -> Result<u64>) -> Result<u64> {
    let mask = mask & !UNBLOCKABLE;
    let (old, pending_now) = crate::kernel::with(|k| {
        let old = core::mem::replace(&mut k.signals.mask, mask);
        (old, interrupts(k))
    })?;
    let result = if pending_now {
        Err(Errno::EINTR)
    } else {
        wait()
    };
    crate::kernel::with(|k| {
        if result == Err(Errno::EINTR) && interrupts(k) {
            let me = k.current_tid;
            k.threads.entry(me).or_default().restore_mask = Some(old);
        } else {
            k.signals.mask = old;
        }
    })?;
    result
}

/// After a call that left a temporary mask for its handler (see [`with_temporary_mask`]):
/// delivers under it, the frame saving the caller's mask, or puts that mask back.
pub fn deliver_after_temporary_mask(k: &mut Kernel, ctx: &mut CpuContext, nr: u64) -> bool {
    let me = k.current_tid;
    let Some(old) = k.threads.get_mut(&me).and_then(|t| t.restore_mask.take()) else {
        return false;
    };
    if deliver_pending(k, ctx, Some(old), Some(nr)).is_none() {
        k.signals.mask = old;
    }
    true
}

/// `pause()`.
pub fn sys_pause(_a: &Args, ctx: &mut CpuContext) -> Result<()> {
    suspend(ctx, None)
}

/// `sigaltstack(ss, old_ss)`, in Linux's order: a request that changes nothing succeeds
/// before any check of its size; `SS_DISABLE` clears the stack. While the program runs on the
/// alternate stack (a handler's stack pointer is inside it), the stack reports `SS_ONSTACK`
/// and cannot be changed (`EPERM`).
pub fn sys_sigaltstack(k: &mut Kernel, a: &Args, ctx: &mut CpuContext) -> Result<()> {
    let old = k.signals.altstack;
    let rsp = ctx.regs[reg::RSP];
    let on_altstack =
        old.2 != 0 && rsp > old.0 && old.0.checked_add(old.2).is_some_and(|top| rsp <= top);
    if a[0] != 0 {
        let raw = user::read_bytes(a[0], 24)?;
        let mut sp = u64::from_le_bytes(raw[0..8].try_into().unwrap_or([0; 8]));
        let flags = u32::from_le_bytes(raw[8..12].try_into().unwrap_or([0; 4]));
        let mut size = u64::from_le_bytes(raw[16..24].try_into().unwrap_or([0; 8]));
        let mode = flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_ONSTACK && mode != SS_DISABLE {
            return Err(Errno::EINVAL);
        }
        if on_altstack {
            return Err(Errno::EPERM);
        }
        if (sp, flags, size) != old {
            if mode == SS_DISABLE {
                (sp, size) = (0, 0);
            } else if size < 2048 {
                return Err(Errno::ENOMEM);
            }
            k.signals.altstack = (sp, flags, size);
        }
    }
    if a[1] != 0 {
        let reported = if on_altstack {
            SS_ONSTACK
        } else if old.2 == 0 {
            SS_DISABLE
        } else {
            old.1 & SS_AUTODISARM
        };
        let mut out = [0u8; 24];
        out[0..8].copy_from_slice(&old.0.to_le_bytes());
        out[8..12].copy_from_slice(&reported.to_le_bytes());
        out[16..24].copy_from_slice(&old.2.to_le_bytes());
        user::write_bytes(a[1], &out)?;
    }
    ctx.regs[reg::RAX] = 0;
    Ok(())
}

/// Sends `sig` to the calling process itself.
fn signal_self(k: &mut Kernel, sig: u8, code: i32) -> Result<u64> {
    let info = user_info(sig, code, k);
    signal_self_with(k, sig, &info)
}

/// As [`signal_self`], with the `siginfo` the handler is to see.
fn signal_self_with(k: &mut Kernel, sig: u8, info: &[u8; 128]) -> Result<u64> {
    // A traced process's tracer sees every signal but SIGKILL, ignored ones included: it is
    // pending, for delivery to stop for.
    if super::ptrace::traced() && sig != SIGKILL {
        make_pending(sig, info);
        return Ok(0);
    }
    let action = k.signals.actions[usize::from(sig - 1)];
    match action.handler {
        SIG_IGN if sig != SIGKILL && sig != SIGSTOP => Ok(0),
        // Ignored unless blocked: then it stays pending for sigwait and sigpending.
        SIG_DFL if ignored_by_default(sig) && k.signals.mask & bit(sig) == 0 => Ok(0),
        // Stopped by the host now (SIGSTOP cannot be blocked or ignored); on with SIGCONT.
        SIG_DFL | SIG_IGN
            if stops_by_default(sig) && (sig == SIGSTOP || k.signals.mask & bit(sig) == 0) =>
        {
            stop_self(sig);
            Ok(0)
        }
        // One that dumps core ends the process when this call returns, where the core shows it.
        SIG_DFL if crate::core_dump::dumps_core(sig) => {
            make_pending(sig, info);
            Ok(0)
        }
        SIG_DFL | SIG_IGN if k.signals.mask & bit(sig) == 0 || sig == SIGKILL => die_of(sig),
        _ => {
            // Delivered when this system call returns (or when unblocked).
            make_pending(sig, info);
            Ok(0)
        }
    }
}

/// `kill(pid, sig)`: to the caller, emulated here; to other processes of the box, sent by the
/// host (whose pid namespace and Landlock scoping keep it inside the box).
pub fn sys_kill(k: &mut Kernel, a: &Args) -> Result<u64> {
    let pid = int_arg(a[0]);
    let raw_sig = int_arg(a[1]);
    let me = host().process_id(picobox_abi::Whose::Caller);
    let me = i32::try_from(me).unwrap_or(-1);
    if raw_sig != 0 {
        signal_arg(a[1])?;
    }
    if pid == me {
        return if raw_sig == 0 {
            Ok(0)
        } else {
            signal_self(k, signal_arg(a[1])?, 0)
        };
    }
    refuse_reaper(k, pid)?;
    if raw_sig != 0 && pid > 0 {
        wake(pid as u32);
    }
    host().process_signal(pid, raw_sig as u32, None)?;
    Ok(0)
}

/// Before a signal is sent to thread `tid` of the box (a process: its main thread): shows it
/// running if it was sleeping, as Linux wakes the target of a signal at once. Harnesses read
/// that state to tell when a child waits again. If the target blocks or ignores the signal,
/// it shows itself sleeping again when it goes back to waiting.
fn wake(tid: u32) {
    if crate::box_processes::state_of(tid) == crate::box_processes::SLEEPING {
        crate::box_processes::set_state_of(tid, crate::box_processes::RUNNING);
    }
}

/// The box's pid 1 is its reaper, which stands for the host's init, root's: a process whose
/// real and effective uids are not root's may not signal it (`EPERM`, as Linux's init).
fn refuse_reaper(k: &Kernel, pid: i32) -> Result<()> {
    if pid == 1 && !k.creds.may_signal_root() {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// `si_code` of tgkill and tkill.
const SI_TKILL: i32 = -6;

/// A real-time signal with a `siginfo` of its own needs a place in the queue, which
/// `RLIMIT_SIGPENDING` bounds: `EAGAIN` when it is full (Linux drops only the `siginfo` of a
/// `kill`, and refuses the others).
fn queue_room(k: &Kernel, sig: i32, code: i32) -> Result<()> {
    const RLIMIT_SIGPENDING: usize = 11;
    if sig >= i32::from(signal_queue::SIGRTMIN)
        && code != 0
        && signal_queue::queued() >= k.rlimits[RLIMIT_SIGPENDING].0
    {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

/// `tgkill(tgid, tid, sig)`.
pub fn sys_tgkill(k: &mut Kernel, a: &Args) -> Result<u64> {
    let (tgid, tid) = (int_arg(a[0]), int_arg(a[1]));
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let raw_sig = int_arg(a[2]);
    if raw_sig != 0 {
        signal_arg(a[2])?;
    }
    let me = host().process_id(picobox_abi::Whose::Caller);
    if i64::from(tgid) != i64::from(me) {
        // A thread of another process of the box: the host's tgkill.
        if raw_sig != 0 && tid > 0 {
            wake(tid as u32);
        }
        host().thread_signal(tgid as u32, tid as u32, raw_sig as u32, None)?;
        return Ok(0);
    }
    let tid = tid as u32;
    queue_room(k, raw_sig, SI_TKILL)?;
    if tid == host().thread_id() {
        return if raw_sig == 0 {
            Ok(0)
        } else {
            signal_self(k, signal_arg(a[2])?, -6)
        }; // SI_TKILL
    }
    if !k.threads.contains_key(&tid) {
        return Err(Errno::ESRCH);
    }
    host().thread_signal(me, tid, raw_sig as u32, None)?;
    Ok(0)
}

/// `rt_sigqueueinfo(tgid, sig, info)`: a signal with the sender's own `siginfo` (what
/// `sigqueue` sends), which the receiver's handler sees. To another thread of the caller, or
/// of another process, the instance is the process's (a thread cannot be told it was meant for
/// it alone).
pub fn sys_rt_sigqueueinfo(k: &mut Kernel, a: &Args) -> Result<u64> {
    queue_info(k, int_arg(a[0]), None, a[1], a[2])
}

/// `rt_tgsigqueueinfo(tgid, tid, sig, info)`.
pub fn sys_rt_tgsigqueueinfo(k: &mut Kernel, a: &Args) -> Result<u64> {
    if int_arg(a[0]) <= 0 || int_arg(a[1]) <= 0 {
        return Err(Errno::EINVAL);
    }
    queue_info(k, int_arg(a[0]), Some(int_arg(a[1])), a[2], a[3])
}

fn queue_info(k: &mut Kernel, tgid: i32, tid: Option<i32>, sig: u64, info: u64) -> Result<u64> {
    let mut raw = [0u8; 128];
    user::read_into(info, &mut raw)?;
    let raw_sig = int_arg(sig);
    let me = i32::try_from(host().process_id(picobox_abi::Whose::Caller)).unwrap_or(-1);
    let code = i32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]);
    // Only the kernel may claim a kernel-made or tkill siginfo toward another process.
    if tgid != me && (code >= 0 || code == SI_TKILL) {
        return Err(Errno::EPERM);
    }
    if raw_sig == 0 {
        return sys_kill(k, &[tgid as u64, 0, 0, 0, 0, 0]);
    }
    let signal = signal_arg(sig)?;
    let to_me = tgid == me && tid.is_none_or(|t| i64::from(t) == i64::from(host().thread_id()));
    if tgid == me {
        queue_room(k, raw_sig, code)?;
    }
    if !to_me {
        refuse_reaper(k, tgid)?;
        raw[0..4].copy_from_slice(&i32::from(signal).to_le_bytes());
        match tid {
            None => host().process_signal(tgid, u32::from(signal), Some(&raw))?,
            Some(t) => {
                let t = u32::try_from(t).map_err(|_| Errno::EINVAL)?;
                host().thread_signal(tgid as u32, t, u32::from(signal), Some(&raw))?;
            }
        }
        return Ok(0);
    }
    raw[0..4].copy_from_slice(&i32::from(signal).to_le_bytes());
    signal_self_with(k, signal, &raw)
}

/// `tkill(tid, sig)`.
pub fn sys_tkill(k: &mut Kernel, a: &Args) -> Result<u64> {
    let tid = int_arg(a[0]);
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    // A thread of the caller (musl's pthread_kill), else the first thread of another process
    // (the host is asked by process and thread: another process's other threads are named
    // by tgkill).
    let me = host().process_id(picobox_abi::Whose::Caller);
    let ours = tid as u32 == host().thread_id() || k.threads.contains_key(&(tid as u32));
    let tgid = if ours { u64::from(me) } else { a[0] };
    sys_tgkill(k, &[tgid, a[0], a[1], 0, 0, 0])
}
