//! The box's init: as under bubblewrap, the program is not pid 1 of the box's pid namespace.
//! The box's first process, once confined (mounts, Landlock, its own user, no capabilities),
//! forks; the child goes on to become the program (pid 2), and pid 1 stays behind as a reaper:
//! it passes the signals a box is sent on to the program, reaps every orphan the kernel gives
//! it, and when the program ends, hands its wait status to the monitor (a pipe) and exits, which
//! ends every other process of the box. So the program's children see their parent's pid, and
//! the kernel's special signal rules for pid 1 fall on picobox's code, not on the program.
//!
//! `--as-pid-1` (manifest `as_pid_1 = true`) skips this: the program is pid 1, as before.

use crate::gate;
use core::sync::atomic::{AtomicU64, Ordering};

/// The program's pid (2), for the forwarding handler.
static PROGRAM: AtomicU64 = AtomicU64::new(0);

/// Signals passed on to the program: those a terminal, a supervisor or `picobox`'s monitor
/// sends to end, interrupt or notify a process.
const FORWARDED: [u64; 10] = [1, 2, 3, 10, 12, 13, 14, 15, 28, 18];

extern "C" fn forward(sig: i32) {
    let pid = PROGRAM.load(Ordering::Relaxed);
    if pid != 0 {
        gate::syscall(62, [pid, sig as u64, 0, 0, 0, 0]);
    }
}

/// Forks the program off. Returns in the program's process (with `status_fd` closed); in the
/// reaper never returns. `filter` is the box's seccomp allowlist, which the reaper takes too.
pub fn split(status_fd: u64, filter: &[u64]) {
    if let Some(pid) = fork_program(status_fd) {
        serve(pid, status_fd, filter);
    }
}

/// The fork of [`split`]: `None` in the program's process (with `status_fd` closed), the
/// program's pid in the reaper. A restore forks before the box is confined (the program
/// makes its threads with their ids first) and lets each process confine itself; the reaper
/// then calls [`serve`].
pub fn fork_program(status_fd: u64) -> Option<u64> {
    let pid = gate::syscall(57, [0; 6]);
    if pid == 0 {
        gate::syscall(3, [status_fd, 0, 0, 0, 0, 0]);
        return None;
    }
    if (pid as i64) < 0 {
        crate::out::error(format_args!(
            "cannot start the program's process: {}",
            picobox_abi::Errno::from_raw_return(pid)
                .err()
                .unwrap_or(picobox_abi::Errno::EIO)
        ));
        crate::pal::HOST.exit_now(crate::EXIT_INTERNAL);
    }
    Some(pid)
}

/// The reaper's life: passes signals on to the program `pid`, reaps orphans, and hands the
/// program's wait status to the monitor on `status_fd`.
pub fn serve(pid: u64, status_fd: u64, filter: &[u64]) -> ! {
    PROGRAM.store(pid, Ordering::Relaxed);
    // The snapshot channel is the program's.
    crate::freeze::drop_channel();
    for sig in FORWARDED {
        // struct kernel_sigaction { handler, flags (SA_RESTORER | SA_RESTART), restorer, mask }
        let act: [u64; 4] = [
            forward as *const () as u64,
            0x0400_0000 | 0x1000_0000,
            gate::sigreturn_address(),
            0,
        ];
        gate::syscall(13, [sig, act.as_ptr() as u64, 0, 8, 0, 0]);
    }
    // The box's processes may read and write each other's memory (process_vm_readv, as
    // processes of one user may on Linux), but not the reaper's: a process that is not
    // dumpable passes the kernel's ptrace check only for holders of CAP_SYS_PTRACE, which no
    // process of the box has. (prctl PR_SET_DUMPABLE, 0)
    gate::syscall(157, [4, 0, 0, 0, 0, 0]);
    // The reaper runs only this code, but takes the box's filter all the same.
    let _ = gate::install_filter(filter, gate::Brokered::Nothing);
    let mut status: u32 = 0;
    loop {
        let got = gate::syscall(61, [u64::MAX, &raw mut status as u64, 0x4000_0000, 0, 0, 0]);
        if got == pid {
            break;
        }
        // EINTR (a forwarded signal), an orphan reaped, or ECHILD (cannot be: the program
        // is a child until it ends): wait again.
        if got as i64 == -10 {
            status = 0;
            break;
        }
    }
    let bytes = status.to_le_bytes();
    gate::syscall(1, [status_fd, bytes.as_ptr() as u64, 4, 0, 0, 0]);
    loop {
        gate::syscall(231, [0, 0, 0, 0, 0, 0]);
    }
}
