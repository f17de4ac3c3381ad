//! Small host I/O helpers of the monitor's snapshot and restore paths: system calls through
//! the gate with `Errno` results, whole-file reads, whole writes.

use crate::gate;
use alloc::vec::Vec;
use picobox_abi::Errno;

// Linux's `*at` and open flags, and file types (`st_mode`), as the monitor's calls use them.
pub const AT_FDCWD: u64 = -100i64 as u64;
pub const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
pub const AT_EMPTY_PATH: u64 = 0x1000;
pub const O_RDONLY: u64 = 0;
pub const O_WRONLY: u64 = 1;
pub const O_RDWR: u64 = 2;
pub const O_CREAT: u64 = 0o100;
pub const O_EXCL: u64 = 0o200;
pub const O_NONBLOCK: u64 = 0o4000;
pub const O_DIRECTORY: u64 = 0o200000;
pub const O_NOFOLLOW: u64 = 0o400000;
pub const O_CLOEXEC: u64 = 0o2000000;
pub const O_PATH: u64 = 0o10000000;
pub const S_IFMT: u32 = 0o170000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFSOCK: u32 = 0o140000;

/// A system call through the gate.
pub fn sys(nr: u64, a: [u64; 6]) -> Result<u64, Errno> {
    Errno::from_raw_return(gate::syscall(nr, a))
}

/// `b` with a terminating NUL.
pub fn c_str(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    v.push(0);
    v
}

/// `openat(AT_FDCWD, path, flags | O_CLOEXEC, mode)`.
pub fn open(path: &[u8], flags: u64, mode: u64) -> Result<u64, Errno> {
    let p = c_str(path);
    sys(
        257,
        [AT_FDCWD, p.as_ptr() as u64, flags | O_CLOEXEC, mode, 0, 0],
    )
}

pub fn close(fd: u64) {
    let _ = sys(3, [fd, 0, 0, 0, 0, 0]);
}

/// All of descriptor `fd`'s bytes from where it stands, at most `limit`.
pub fn read_all(fd: u64, limit: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut buf = alloc::vec![0u8; 65536];
    loop {
        match sys(0, [fd, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0]) {
            Ok(0) => return Ok(out),
            Ok(n) => {
                out.extend_from_slice(&buf[..n as usize]);
                if out.len() > limit {
                    return Err(Errno::EFBIG);
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// The whole file at `path` (a `/proc` file), at most `limit` bytes.
pub fn read_file(path: &[u8], limit: usize) -> Result<Vec<u8>, Errno> {
    let fd = open(path, O_RDONLY, 0)?;
    let r = read_all(fd, limit);
    close(fd);
    r
}

/// Writes all of `bytes` to `fd`.
pub fn write_all(fd: u64, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        match sys(1, [fd, bytes.as_ptr() as u64, bytes.len() as u64, 0, 0, 0]) {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => bytes = &bytes[n as usize..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Milliseconds of the monotonic clock.
pub fn now_ms() -> u64 {
    let mut ts = [0i64; 2];
    let _ = sys(228, [1, ts.as_mut_ptr() as u64, 0, 0, 0, 0]);
    ts[0] as u64 * 1000 + ts[1] as u64 / 1_000_000
}

/// Parses a decimal number.
pub fn decimal(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0u64, |n, d| {
        d.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))?
    })
}

/// Parses a hexadecimal number.
pub fn hex(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    b.iter().try_fold(0u64, |n, d| {
        let v = (*d as char).to_digit(16)?;
        Some(n << 4 | u64::from(v))
    })
}

/// `getsockopt(fd, level, name)` of an `int` option.
pub fn socket_option(fd: u64, level: u64, name: u64) -> Result<u32, Errno> {
    let mut v: u32 = 0;
    let mut len: u32 = 4;
    sys(
        55,
        [fd, level, name, &raw mut v as u64, &raw mut len as u64, 0],
    )?;
    Ok(v)
}

/// Socket `fd`'s own address (`getsockname`), or its peer's (`getpeername`): the `struct
/// sockaddr` as the kernel gives it.
pub fn socket_address(fd: u64, peer: bool) -> Result<Vec<u8>, Errno> {
    let mut address = [0u8; 128];
    let mut len: u32 = 128;
    let call = if peer { 52 } else { 51 };
    sys(
        call,
        [
            fd,
            address.as_mut_ptr() as u64,
            &raw mut len as u64,
            0,
            0,
            0,
        ],
    )?;
    Ok(address[..(len as usize).min(128)].to_vec())
}
