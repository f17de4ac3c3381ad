//! Resource bounds of a box, enforced by the kernel: a cgroup (v1 `pids` and `memory`
//! controllers) of its own beneath the monitor's, or, where the monitor may not create one,
//! rlimits (`RLIMIT_NPROC`, `RLIMIT_AS`) as a weaker fallback.

use crate::gate;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

const AT_FDCWD: u64 = -100i64 as u64;
const RLIMIT_NPROC: u64 = 6;
const RLIMIT_AS: u64 = 9;
/// Address space the runtime reserves beyond the program's memory (see `RLIMIT_AS` below).
const RUNTIME_ADDRESS_SPACE: u64 = crate::heap::HEAP_RESERVATION as u64 + (768 << 20);

/// The box's limits, prepared by the monitor before the fork.
#[derive(Clone)]
pub struct Limits {
    /// Cgroup directories created for the box (removed when it ends).
    dirs: Vec<Vec<u8>>,
    /// Each directory's `tasks` file, opened for writing by the monitor before the fork.
    tasks: Vec<u64>,
    /// rlimits the box sets on itself where no cgroup could be made.
    rlimits: Vec<(u64, u64)>,
}

fn sys(nr: u64, a: [u64; 6]) -> Result<u64, Errno> {
    Errno::from_raw_return(gate::syscall(nr, a))
}

fn c_str(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    v.push(0);
    v
}

fn write_file(path: &[u8], text: &[u8]) -> Result<(), Errno> {
    let p = c_str(path);
    let fd = sys(257, [AT_FDCWD, p.as_ptr() as u64, 1 | 0o2000000, 0, 0, 0])?;
    let r = sys(1, [fd, text.as_ptr() as u64, text.len() as u64, 0, 0, 0]);
    let _ = sys(3, [fd, 0, 0, 0, 0, 0]);
    r.map(|_| ())
}

fn read_file(path: &[u8]) -> Result<Vec<u8>, Errno> {
    let p = c_str(path);
    let fd = sys(257, [AT_FDCWD, p.as_ptr() as u64, 0o2000000, 0, 0, 0])?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sys(0, [fd, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0]) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n as usize]),
        }
    }
    let _ = sys(3, [fd, 0, 0, 0, 0, 0]);
    Ok(out)
}

/// The monitor's own cgroup path for a v1 `controller`, from `/proc/self/cgroup`.
fn own_cgroup(table: &[u8], controller: &[u8]) -> Option<Vec<u8>> {
    table.split(|b| *b == b'\n').find_map(|line| {
        let mut parts = line.splitn(3, |b| *b == b':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers
            .split(|b| *b == b',')
            .any(|c| c == controller)
            .then(|| path.to_vec())
    })
}

impl Limits {
    /// Creates the box's cgroups (or plans rlimits) for at most `pids` processes and `memory`
    /// bytes.
    /// Sweeps the cgroups that boxes whose monitor was killed left behind first.
    pub fn prepare(pids: u64, memory: u64) -> Limits {
        let table = read_file(b"/proc/self/cgroup").unwrap_or_default();
        sweep_leftovers(&table);
        let mut limits = Limits {
            dirs: Vec::new(),
            tasks: Vec::new(),
            rlimits: Vec::new(),
        };
        // (controller, limit file, value, rlimit used where no cgroup can be made)
        type Wanted<'a> = (&'a [u8], &'a [u8], Option<u64>, u64);
        let wanted: [Wanted; 2] = [
            (b"pids", b"pids.max", Some(pids), RLIMIT_NPROC),
            (b"memory", b"memory.limit_in_bytes", Some(memory), RLIMIT_AS),
        ];
        for (controller, file, value, rlimit) in wanted {
            let Some(value) = value else { continue };
            let made = own_cgroup(&table, controller).and_then(|own| {
                let own = if own == b"/" { Vec::new() } else { own };
                let mut dir = b"/sys/fs/cgroup/".to_vec();
                dir.extend_from_slice(controller);
                dir.extend_from_slice(&own);
                dir.extend_from_slice(format!("/picobox-{}", crate::launch::box_tag()).as_bytes());
                let p = c_str(&dir);
                sys(83, [p.as_ptr() as u64, 0o755, 0, 0, 0, 0]).ok()?;
                let mut limit_file = dir.clone();
                limit_file.push(b'/');
                limit_file.extend_from_slice(file);
                let mut tasks_file = dir.clone();
                tasks_file.extend_from_slice(b"/tasks");
                let tasks = c_str(&tasks_file);
                let opened =
                    write_file(&limit_file, format!("{value}").as_bytes()).and_then(|()| {
                        sys(
                            257,
                            [AT_FDCWD, tasks.as_ptr() as u64, 1 | 0o2000000, 0, 0, 0],
                        )
                    });
                match opened {
                    Ok(fd) => Some((dir, fd)),
                    Err(_) => {
                        let _ = sys(84, [p.as_ptr() as u64, 0, 0, 0, 0, 0]);
                        None
                    }
                }
            });
            match made {
                Some((dir, tasks)) => {
                    limits.dirs.push(dir);
                    limits.tasks.push(tasks);
                }
                // RLIMIT_AS counts address space, not memory: leave room for what the
                // runtime reserves but does not use (its heap, thread blocks).
                None if rlimit == RLIMIT_AS => limits
                    .rlimits
                    .push((rlimit, value.saturating_add(RUNTIME_ADDRESS_SPACE))),
                None => limits.rlimits.push((rlimit, value)),
            }
        }
        limits
    }

    /// In the box's first process, right after the fork and while it has one thread: moves
    /// itself into the cgroups, through each one's `tasks` file with pid 0 ("this thread").
    /// Moving one's own single thread is the one move for which the kernel does not take its
    /// global cgroup_threadgroup_rwsem, whose write side waits for an RCU grace period (5 to
    /// 22 ms here, most of a small program's start); moving the process by pid from the
    /// monitor (`cgroup.procs`) pays it. Nothing the box's program does precedes this.
    pub fn join(&self) -> Result<(), String> {
        for (dir, fd) in self.dirs.iter().zip(&self.tasks) {
            let r = sys(1, [*fd, b"0".as_ptr() as u64, 1, 0, 0, 0]);
            let _ = sys(3, [*fd, 0, 0, 0, 0, 0]);
            r.map_err(|e| {
                format!(
                    "cannot put the box in cgroup {}: {e}",
                    String::from_utf8_lossy(dir)
                )
            })?;
        }
        Ok(())
    }

    /// In the monitor, once the box runs: closes the `tasks` files only the box writes.
    pub fn close_join_files(&self) {
        for fd in &self.tasks {
            let _ = sys(3, [*fd, 0, 0, 0, 0, 0]);
        }
    }

    /// In the box's first process, before it is confined: sets the rlimits that stand in
    /// where no cgroup could be made.
    /// Raises the address-space bound (where it is the fallback, `RLIMIT_AS`) by `extra`
    /// bytes: a restore maps itself beside the saved box.
    pub fn allow_more_address_space(&mut self, extra: u64) {
        for (rlimit, value) in &mut self.rlimits {
            if *rlimit == RLIMIT_AS {
                *value = value.saturating_add(extra);
            }
        }
    }

    pub fn apply(&self) -> Result<(), String> {
        for (resource, value) in &self.rlimits {
            let lim = [*value, *value];
            sys(302, [0, *resource, lim.as_ptr() as u64, 0, 0, 0])
                .map_err(|e| format!("setrlimit: {e}"))?;
        }
        Ok(())
    }

    /// The box's memory cgroup directory, if it has one.
    pub fn memory_dir(&self) -> Option<&[u8]> {
        self.dirs
            .iter()
            .find(|d| d.starts_with(b"/sys/fs/cgroup/memory"))
            .map(Vec::as_slice)
    }

    /// In the monitor, after the box ended: removes its cgroups.
    pub fn remove(&self) {
        for dir in &self.dirs {
            let p = c_str(dir);
            // The kernel may take a moment to let go of the last exited process.
            for _ in 0..100 {
                if sys(84, [p.as_ptr() as u64, 0, 0, 0, 0, 0]) != Err(Errno::EBUSY) {
                    break;
                }
                let pause = [0u64, 1_000_000];
                let _ = sys(35, [pause.as_ptr() as u64, 0, 0, 0, 0, 0]);
            }
        }
    }
}

/// Removes the cgroups of boxes whose monitor was killed before it could (they are named
/// `picobox-<monitor pid>-<random>`): each one whose monitor is gone and that holds no process
/// (the kernel refuses to remove one that does).
fn sweep_leftovers(table: &[u8]) {
    for controller in [&b"pids"[..], b"memory"] {
        let Some(own) = own_cgroup(table, controller) else {
            continue;
        };
        let mut parent = b"/sys/fs/cgroup/".to_vec();
        parent.extend_from_slice(controller);
        if own != b"/" {
            parent.extend_from_slice(&own);
        }
        for name in list_dir(&parent) {
            let Some(pid) = leftover_owner(&name) else {
                continue;
            };
            if sys(62, [pid, 0, 0, 0, 0, 0]) != Err(Errno::ESRCH) {
                continue; // its monitor still runs
            }
            let mut dir = parent.clone();
            dir.push(b'/');
            dir.extend_from_slice(&name);
            let p = c_str(&dir);
            let _ = sys(84, [p.as_ptr() as u64, 0, 0, 0, 0, 0]);
        }
    }
}

/// The monitor pid in a box cgroup's name `picobox-<pid>-<hex>`.
fn leftover_owner(name: &[u8]) -> Option<u64> {
    let rest = name.strip_prefix(b"picobox-")?;
    let (pid, tag) = rest.split_at(rest.iter().position(|b| *b == b'-')?);
    if tag.len() != 9 || !tag[1..].iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    core::str::from_utf8(pid)
        .ok()?
        .parse()
        .ok()
        .filter(|p| *p > 0)
}

/// The names in directory `path` (none if it cannot be read).
pub(crate) fn list_dir(path: &[u8]) -> Vec<Vec<u8>> {
    let p = c_str(path);
    let Ok(fd) = sys(
        257,
        [AT_FDCWD, p.as_ptr() as u64, 0o200000 | 0o2000000, 0, 0, 0],
    ) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    let mut buf = alloc::vec![0u8; 8192];
    while let Ok(n @ 1..) = sys(
        217,
        [fd, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0],
    ) {
        names.extend(dirent_names(&buf[..n as usize]).map(<[u8]>::to_vec));
    }
    let _ = sys(3, [fd, 0, 0, 0, 0, 0]);
    names
}

/// The names in a buffer `getdents64` filled (`.` and `..` among them).
pub(crate) fn dirent_names(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 0;
    core::iter::from_fn(move || {
        // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; }
        if at + 19 >= buf.len() {
            return None;
        }
        let reclen = usize::from(u16::from_le_bytes([buf[at + 16], buf[at + 17]]));
        if reclen < 19 || at + reclen > buf.len() {
            return None;
        }
        let name = &buf[at + 19..at + reclen];
        at += reclen;
        Some(&name[..name.iter().position(|b| *b == 0).unwrap_or(name.len())])
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn leftover_names_give_their_monitor() {
        assert_eq!(super::leftover_owner(b"picobox-123-0000abcd"), Some(123));
        assert_eq!(super::leftover_owner(b"picobox-123-xyz"), None);
        assert_eq!(super::leftover_owner(b"other-123-0000abcd"), None);
        assert_eq!(super::leftover_owner(b"picobox--0000abcd"), None);
    }

    use super::*;

    #[test]
    fn own_cgroup_is_found_by_controller() {
        let t = b"9:name=systemd:/\n8:pids:/\n4:memory:/a/b\n2:cpu,cpuacct:/c\n0::/";
        assert_eq!(own_cgroup(t, b"pids").as_deref(), Some(&b"/"[..]));
        assert_eq!(own_cgroup(t, b"memory").as_deref(), Some(&b"/a/b"[..]));
        assert_eq!(own_cgroup(t, b"cpuacct").as_deref(), Some(&b"/c"[..]));
        assert_eq!(own_cgroup(t, b"blkio"), None);
    }
}
