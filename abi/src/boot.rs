//! What the host hands the library OS at start: the box's configuration, already decided by the
//! monitor (argv, environment, mounts as handles, identity, limits).
//!
//! It travels as bytes (a memory file on the Linux host), in a small length-prefixed format
//! written by [`BootInfo::encode`] and read back by [`BootInfo::decode`], which checks every
//! length and never panics on malformed input.

use crate::types::Handle;
use crate::{Errno, Result};
use alloc::vec::Vec;

/// A directory of the host visible in the box at `guest_path`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BootMount {
    /// Absolute, normalised path inside the box, e.g. `b"/usr"`.
    pub guest_path: Vec<u8>,
    /// The directory, opened by the monitor; everything under the mount is reached through it.
    pub root: Handle,
    /// Whether the box may change what is inside.
    pub writable: bool,
}

/// The library OS's initial state as decided by the monitor.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct BootInfo {
    /// Arguments, `argv[0]` first.
    pub argv: Vec<Vec<u8>>,
    /// Environment entries `KEY=VALUE`.
    pub envp: Vec<Vec<u8>>,
    /// Initial working directory inside the box (absolute).
    pub cwd: Vec<u8>,
    /// The program's ELF file, opened by the monitor.
    pub program: Option<Handle>,
    /// The name under which the program was started (for `AT_EXECFN` and `/proc/self/exe`).
    pub program_name: Vec<u8>,
    /// Mounts, in the order declared (later ones shadow earlier ones at the same path).
    pub mounts: Vec<BootMount>,
    /// User id the box's processes report.
    pub uid: u32,
    /// Group id the box's processes report.
    pub gid: u32,
    /// Host name the box reports.
    pub hostname: Vec<u8>,
    /// Whether to log unimplemented system calls and other events (`--trace`).
    pub trace: bool,
    /// Limit on open descriptors reported by `getrlimit(RLIMIT_NOFILE)`.
    pub max_open_files: u64,
    /// The compiled seccomp filter, one `struct sock_filter` per entry (host-specific).
    pub seccomp_filter: Vec<u64>,
}

impl BootInfo {
    /// Serialises the configuration.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.list(&self.argv);
        w.list(&self.envp);
        w.bytes(&self.cwd);
        w.u32(self.program.map_or(u32::MAX, |h| h.0));
        w.bytes(&self.program_name);
        w.u32(self.mounts.len() as u32);
        for m in &self.mounts {
            w.bytes(&m.guest_path);
            w.u32(m.root.0);
            w.u32(u32::from(m.writable));
        }
        w.u32(self.uid);
        w.u32(self.gid);
        w.bytes(&self.hostname);
        w.u32(u32::from(self.trace));
        w.u64(self.max_open_files);
        w.u32(self.seccomp_filter.len() as u32);
        for insn in &self.seccomp_filter {
            w.u64(*insn);
        }
        w.0
    }

    /// Parses what [`BootInfo::encode`] wrote. Errors: `EINVAL` for anything malformed.
    pub fn decode(bytes: &[u8]) -> Result<BootInfo> {
        let mut r = Reader(bytes);
        let argv = r.list()?;
        let envp = r.list()?;
        let cwd = r.bytes()?;
        let program = match r.u32()? {
            u32::MAX => None,
            h => Some(Handle(h)),
        };
        let program_name = r.bytes()?;
        let count = r.u32()?;
        let mut mounts = Vec::new();
        for _ in 0..count {
            mounts.push(BootMount {
                guest_path: r.bytes()?,
                root: Handle(r.u32()?),
                writable: r.u32()? != 0,
            });
        }
        let info = BootInfo {
            argv,
            envp,
            cwd,
            program,
            program_name,
            mounts,
            uid: r.u32()?,
            gid: r.u32()?,
            hostname: r.bytes()?,
            trace: r.u32()? != 0,
            max_open_files: r.u64()?,
            seccomp_filter: {
                let n = r.u32()?;
                let mut v = Vec::new();
                for _ in 0..n {
                    v.push(r.u64()?);
                }
                v
            },
        };
        if !r.0.is_empty() {
            return Err(Errno::EINVAL);
        }
        Ok(info)
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    fn list(&mut self, items: &[Vec<u8>]) {
        self.u32(items.len() as u32);
        for item in items {
            self.bytes(item);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if n > self.0.len() {
            return Err(Errno::EINVAL);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let lo = u64::from(self.u32()?);
        let hi = u64::from(self.u32()?);
        Ok(lo | (hi << 32))
    }
    fn bytes(&mut self) -> Result<Vec<u8>> {
        let n = usize::try_from(self.u32()?).map_err(|_| Errno::EINVAL)?;
        Ok(self.take(n)?.to_vec())
    }
    fn list(&mut self) -> Result<Vec<Vec<u8>>> {
        let n = self.u32()?;
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(self.bytes()?);
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn round_trip_and_truncation() {
        let info = BootInfo {
            argv: vec![b"/bin/echo".to_vec(), b"hi".to_vec()],
            envp: vec![b"A=B".to_vec()],
            cwd: b"/".to_vec(),
            program: Some(Handle(4)),
            program_name: b"/bin/echo".to_vec(),
            mounts: vec![BootMount {
                guest_path: b"/usr".to_vec(),
                root: Handle(5),
                writable: false,
            }],
            uid: 1000,
            gid: 1000,
            hostname: b"box".to_vec(),
            trace: true,
            max_open_files: 1024,
            seccomp_filter: vec![1, 2, 3],
        };
        let bytes = info.encode();
        assert_eq!(BootInfo::decode(&bytes), Ok(info));
        for cut in 0..bytes.len() {
            assert_eq!(BootInfo::decode(&bytes[..cut]), Err(Errno::EINVAL));
        }
    }
}
