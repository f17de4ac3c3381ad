// The terminal `ioctl` requests a box may make (included by `seccomp.rs`, which admits exactly
// these, and by the PAL's `tty.rs`, which makes them): reading and setting attributes and
// window sizes, pseudo-terminal numbers and locks, job control (foreground group, controlling
// terminal), flushing, flow control, breaks, packet and exclusive modes, and a master's
// signals to its peer. Never `TIOCSTI` (typing into a terminal someone else reads), `TIOCCONS`,
// `TIOCSETD`, `TIOCLINUX`, `TIOCVHANGUP` or the locked-termios requests.

/// `TCGETS`.
pub const TCGETS: u64 = 0x5401;
/// `TCSETS`, `TCSETSW`, `TCSETSF`.
pub const TCSETS: u64 = 0x5402;
pub const TCSETSW: u64 = 0x5403;
pub const TCSETSF: u64 = 0x5404;
/// `TCSBRK`.
pub const TCSBRK: u64 = 0x5409;
/// `TCXONC`.
pub const TCXONC: u64 = 0x540a;
/// `TCFLSH`.
pub const TCFLSH: u64 = 0x540b;
/// `TIOCEXCL`, `TIOCNXCL`.
pub const TIOCEXCL: u64 = 0x540c;
pub const TIOCNXCL: u64 = 0x540d;
/// `TIOCSCTTY`.
pub const TIOCSCTTY: u64 = 0x540e;
/// `TIOCGPGRP`, `TIOCSPGRP`.
pub const TIOCGPGRP: u64 = 0x540f;
pub const TIOCSPGRP: u64 = 0x5410;
/// `TIOCOUTQ`.
pub const TIOCOUTQ: u64 = 0x5411;
/// `TIOCGWINSZ`, `TIOCSWINSZ`.
pub const TIOCGWINSZ: u64 = 0x5413;
pub const TIOCSWINSZ: u64 = 0x5414;
/// `FIONREAD`.
pub const FIONREAD: u64 = 0x541b;
/// `TIOCPKT`.
pub const TIOCPKT: u64 = 0x5420;
/// `TIOCNOTTY`.
pub const TIOCNOTTY: u64 = 0x5422;
/// `TIOCGETD`.
pub const TIOCGETD: u64 = 0x5424;
/// `TIOCGSID`.
pub const TIOCGSID: u64 = 0x5429;
/// `TIOCGPTN`.
pub const TIOCGPTN: u64 = 0x8004_5430;
/// `TIOCSPTLCK`.
pub const TIOCSPTLCK: u64 = 0x4004_5431;
/// `TIOCSIG`.
pub const TIOCSIG: u64 = 0x4004_5436;
/// `TIOCGPKT`.
pub const TIOCGPKT: u64 = 0x8004_5438;
/// `TIOCGPTLCK`.
pub const TIOCGPTLCK: u64 = 0x8004_5439;
/// `TIOCGEXCL`.
pub const TIOCGEXCL: u64 = 0x8004_5440;

/// Every request above.
pub const ALL: [u64; 26] = [
    TCGETS, TCSETS, TCSETSW, TCSETSF, TCSBRK, TCXONC, TCFLSH, TIOCEXCL, TIOCNXCL, TIOCSCTTY,
    TIOCGPGRP, TIOCSPGRP, TIOCOUTQ, TIOCGWINSZ, TIOCSWINSZ, FIONREAD, TIOCPKT, TIOCNOTTY,
    TIOCGETD, TIOCGSID, TIOCGPTN, TIOCSPTLCK, TIOCSIG, TIOCGPKT, TIOCGPTLCK, TIOCGEXCL,
];
