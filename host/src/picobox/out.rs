//! Writing to standard output and standard error without a C library.

use crate::gate;

fn write_all(fd: u64, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let r = gate::syscall(1, [fd, bytes.as_ptr() as u64, bytes.len() as u64, 0, 0, 0]);
        match picobox_abi::Errno::from_raw_return(r) {
            Ok(0) | Err(_) => return,
            Ok(n) => bytes = &bytes[usize::try_from(n).unwrap_or(bytes.len()).min(bytes.len())..],
        }
    }
}

/// Writes to standard output.
pub fn stdout(s: &str) {
    write_all(1, s.as_bytes());
}

/// Writes `picobox: MESSAGE` and a newline to standard error.
pub fn error(msg: core::fmt::Arguments<'_>) {
    let mut line = alloc::string::String::new();
    let _ = core::fmt::write(&mut line, format_args!("picobox: {msg}\n"));
    write_all(2, line.as_bytes());
}

/// Writes `msg` to standard error as it is (a progress line rewritten with `\r`).
pub fn error_partial(msg: core::fmt::Arguments<'_>) {
    let mut line = alloc::string::String::new();
    let _ = core::fmt::write(&mut line, msg);
    write_all(2, line.as_bytes());
}
