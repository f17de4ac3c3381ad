//! Terminal and pseudo-terminal requests: [`TerminalQuestion`]s and [`TerminalChange`]s as the
//! `ioctl` requests the seccomp filter admits (`policy/tty_requests.rs`, shared with it).

use crate::pal::sys;
use picobox_abi::Result;
use picobox_abi::{TerminalChange, TerminalQuestion};

#[allow(dead_code, missing_docs)]
mod requests {
    include!("../../policy/tty_requests.rs");
}
use requests::*;
pub use requests::{FIONREAD, TCGETS, TIOCGWINSZ};

const IOCTL: u64 = 16;

/// The request that answers `q` (a 4-byte integer).
pub fn question(q: TerminalQuestion) -> u64 {
    match q {
        TerminalQuestion::PtyNumber => TIOCGPTN,
        TerminalQuestion::PtyLocked => TIOCGPTLCK,
        TerminalQuestion::ForegroundGroup => TIOCGPGRP,
        TerminalQuestion::Session => TIOCGSID,
        TerminalQuestion::OutputPending => TIOCOUTQ,
        TerminalQuestion::PacketMode => TIOCGPKT,
        TerminalQuestion::Exclusive => TIOCGEXCL,
        TerminalQuestion::LineDiscipline => TIOCGETD,
    }
}

/// Makes `change` to the terminal `fd`.
pub fn change(fd: u64, change: TerminalChange) -> Result<u64> {
    let by_value = |request: u64, arg: u64| sys(IOCTL, [fd, request, arg, 0, 0, 0]);
    let by_pointer = |request: u64, value: i32| {
        let v = value;
        sys(IOCTL, [fd, request, &raw const v as u64, 0, 0, 0])
    };
    match change {
        TerminalChange::Attributes { when, termios } => {
            let request = match when {
                0 => TCSETS,
                1 => TCSETSW,
                _ => TCSETSF,
            };
            by_value(request, termios.as_ptr() as u64)
        }
        TerminalChange::WindowSize(size) => by_value(TIOCSWINSZ, size.as_ptr() as u64),
        TerminalChange::PtyLock(lock) => by_pointer(TIOCSPTLCK, i32::from(lock)),
        TerminalChange::ForegroundGroup(pgid) => by_pointer(TIOCSPGRP, pgid as i32),
        TerminalChange::BecomeControlling { steal } => by_value(TIOCSCTTY, u64::from(steal)),
        TerminalChange::GiveUpControlling => by_value(TIOCNOTTY, 0),
        TerminalChange::Flush(queue) => by_value(TCFLSH, u64::from(queue)),
        TerminalChange::Flow(action) => by_value(TCXONC, u64::from(action)),
        TerminalChange::Break(arg) => by_value(TCSBRK, u64::from(arg)),
        TerminalChange::PacketMode(on) => by_pointer(TIOCPKT, i32::from(on)),
        TerminalChange::Exclusive(true) => by_value(TIOCEXCL, 0),
        TerminalChange::Exclusive(false) => by_value(TIOCNXCL, 0),
        TerminalChange::Signal(sig) => by_value(TIOCSIG, u64::from(sig)),
    }
}
