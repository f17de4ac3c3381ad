//! The box's clocks across a snapshot. `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` count from the
//! host's boot: restored after a reboot, or on another machine, they would go back, and a
//! program's deadlines (its own, and the library OS's) with them. So a snapshot records them
//! as the box saw them, and the restore gives the box a time namespace of its own whose
//! offsets make them go on from there (as CRIU does), as if no time had passed while it was
//! not running; the wall clock (`CLOCK_REALTIME`) is the host's, as it is for any box.

use crate::hostio::{self, close, sys};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_BOOTTIME: u64 = 7;
const CLONE_NEWTIME: u64 = 0x80;

fn now(clock: u64) -> i128 {
    let mut ts = [0u64; 2];
    let _ = sys(228, [clock, ts.as_mut_ptr() as u64, 0, 0, 0, 0]);
    i128::from(ts[0]) * 1_000_000_000 + i128::from(ts[1])
}

/// The offsets of host process `pid`'s time namespace (`/proc/PID/timens_offsets`), in
/// nanoseconds: monotonic, boot time (none: 0).
fn offsets_of(pid: u64) -> [i128; 2] {
    let text = hostio::read_file(format!("/proc/{pid}/timens_offsets").as_bytes(), 4096)
        .unwrap_or_default();
    let mut out = [0i128; 2];
    for line in String::from_utf8_lossy(&text).lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [name, seconds, nanoseconds] = words[..] else {
            continue;
        };
        let (Ok(s), Ok(n)) = (seconds.parse::<i128>(), nanoseconds.parse::<i128>()) else {
            continue;
        };
        match name {
            "monotonic" => out[0] = s * 1_000_000_000 + n,
            "boottime" => out[1] = s * 1_000_000_000 + n,
            _ => {}
        }
    }
    out
}

/// The box's `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` now, as host process `pid` of it sees
/// them (the host's, moved by its time namespace's offsets): seconds, nanoseconds.
pub fn box_clocks(pid: u64) -> [(u64, u32); 2] {
    let offsets = offsets_of(pid);
    let mut out = [(0u64, 0u32); 2];
    for (i, clock) in [CLOCK_MONOTONIC, CLOCK_BOOTTIME].into_iter().enumerate() {
        let ns = (now(clock) + offsets[i]).max(0);
        out[i] = ((ns / 1_000_000_000) as u64, (ns % 1_000_000_000) as u32);
    }
    out
}

/// Gives this process's children a time namespace of their own (this process stays in its
/// own) whose clocks go on from `saved` (`box_clocks` when the snapshot was taken). Needs
/// `CAP_SYS_ADMIN` and `CAP_SYS_TIME` in this process's user namespace.
pub fn for_children(saved: [(u64, u32); 2]) -> Result<(), String> {
    sys(272, [CLONE_NEWTIME, 0, 0, 0, 0, 0])
        .map_err(|e| format!("cannot make the box's time namespace: {e}"))?;
    let mut text = String::new();
    for (name, clock, (seconds, nanoseconds)) in [
        ("monotonic", CLOCK_MONOTONIC, saved[0]),
        ("boottime", CLOCK_BOOTTIME, saved[1]),
    ] {
        let offset = i128::from(seconds) * 1_000_000_000 + i128::from(nanoseconds) - now(clock);
        text.push_str(&format!(
            "{name} {} {}\n",
            offset.div_euclid(1_000_000_000),
            offset.rem_euclid(1_000_000_000)
        ));
    }
    let fd = hostio::open(b"/proc/self/timens_offsets", 1, 0)
        .map_err(|e| format!("cannot set the box's clocks: {e}"))?;
    let written = sys(1, [fd, text.as_ptr() as u64, text.len() as u64, 0, 0, 0]);
    close(fd);
    written
        .map(|_| ())
        .map_err(|e| format!("cannot set the box's clocks: {e}"))
}
