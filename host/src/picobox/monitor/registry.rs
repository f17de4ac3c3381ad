//! The boxes running now, by id. Each monitor records its box in a file of the registry
//! directory (`/run/picobox` for root, `/tmp/picobox-UID` for another user; mode 0700, the
//! user's own) and removes it when the box ends; `picobox ps` lists the records, and drops those
//! whose monitor died without removing its own (a record names its monitor by pid and start
//! time, so a reused pid is not taken for it).
//!
//! A record is a few `key=value` lines: `monitor`, `monitor_start` (clock ticks since boot, as
//! `/proc/PID/stat` gives them), `box` (the box's first process), `started` (seconds since the
//! epoch), `state`, `memory_limit`, `cgroup` (the box's memory cgroup, if it has one) and
//! `program`.

use crate::gate;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

const AT_FDCWD: u64 = -100i64 as u64;
const O_RDONLY: u64 = 0;
const O_WRONLY: u64 = 1;
const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;
const O_NOFOLLOW: u64 = 0o400000;
const O_DIRECTORY: u64 = 0o200000;
const O_CLOEXEC: u64 = 0o2000000;

fn sys(nr: u64, a: [u64; 6]) -> Result<u64, Errno> {
    Errno::from_raw_return(gate::syscall(nr, a))
}

fn c_str(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    v.push(0);
    v
}

fn read_file(path: &[u8]) -> Result<Vec<u8>, Errno> {
    let p = c_str(path);
    let fd = sys(
        257,
        [
            AT_FDCWD,
            p.as_ptr() as u64,
            O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
            0,
            0,
            0,
        ],
    )?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = sys(0, [fd, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0]) {
        out.extend_from_slice(&buf[..n as usize]);
        if out.len() > 1 << 20 {
            break; // no record is this long
        }
    }
    let _ = sys(3, [fd, 0, 0, 0, 0, 0]);
    Ok(out)
}

fn unlink(path: &[u8]) {
    let p = c_str(path);
    let _ = sys(263, [AT_FDCWD, p.as_ptr() as u64, 0, 0, 0, 0]);
}

/// The registry directory of the calling user; made if missing with `create`, else `None`
/// when there is none (no box runs). Refused if it is not a directory of the user's own that
/// only the user may enter (someone else could plant records there). The last box to end
/// removes it, so nothing of the registry outlives the boxes.
pub fn directory(create: bool) -> Result<Option<Vec<u8>>, String> {
    let uid = gate::syscall(102, [0; 6]);
    let dir = if uid == 0 {
        b"/run/picobox".to_vec()
    } else {
        format!("/tmp/picobox-{uid}").into_bytes()
    };
    let p = c_str(&dir);
    if create {
        match sys(83, [p.as_ptr() as u64, 0o700, 0, 0, 0, 0]) {
            Ok(_) | Err(Errno::EEXIST) => {}
            Err(e) => {
                return Err(format!(
                    "cannot make the box registry {}: {e}",
                    String::from_utf8_lossy(&dir)
                ))
            }
        }
    }
    let fd = match sys(
        257,
        [
            AT_FDCWD,
            p.as_ptr() as u64,
            O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
            0,
            0,
            0,
        ],
    ) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) if !create => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot open the box registry {}: {e}",
                String::from_utf8_lossy(&dir)
            ))
        }
    };
    // struct stat: st_mode at 24 (u32), st_uid at 28 (u32).
    let mut st = [0u8; 144];
    let r = sys(5, [fd, st.as_mut_ptr() as u64, 0, 0, 0, 0]);
    let _ = sys(3, [fd, 0, 0, 0, 0, 0]);
    r.map_err(|e| format!("cannot stat the box registry: {e}"))?;
    let mode = u32::from_le_bytes([st[24], st[25], st[26], st[27]]);
    let owner = u32::from_le_bytes([st[28], st[29], st[30], st[31]]);
    if u64::from(owner) != uid || mode & 0o077 != 0 {
        return Err(format!(
            "the box registry {} is not yours alone (owner {owner}, mode {:o}): remove it",
            String::from_utf8_lossy(&dir),
            mode & 0o7777
        ));
    }
    Ok(Some(dir))
}

pub use crate::cli::check_box_id as check_id;

/// The control socket beside the record at `record` (`ID.sock`): where `picobox snapshot`
/// reaches the box's monitor.
pub fn control_socket_of(record: &[u8]) -> Vec<u8> {
    [record, b".sock"].concat()
}

/// A fresh id: 12 random hexadecimal digits.
pub fn generated_id() -> Vec<u8> {
    let mut b = [0u8; 6];
    let _ = sys(318, [b.as_mut_ptr() as u64, 6, 0, 0, 0, 0]);
    b.iter()
        .flat_map(|x| [x >> 4, x & 15])
        .map(|d| b"0123456789abcdef"[usize::from(d)])
        .collect()
}

/// Field 22 of `/proc/PID/stat`: when the process started, in clock ticks since boot.
fn start_ticks(pid: u64) -> Option<u64> {
    let stat = read_file(format!("/proc/{pid}/stat").as_bytes()).ok()?;
    // The name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    let after = &stat[stat.iter().rposition(|b| *b == b')')? + 2..];
    let field = after.split(|b| *b == b' ').nth(22 - 3)?;
    core::str::from_utf8(field).ok()?.parse().ok()
}

fn now_seconds() -> u64 {
    let mut ts = [0u64; 2];
    let _ = sys(228, [0, ts.as_mut_ptr() as u64, 0, 0, 0, 0]);
    ts[0]
}

/// One running box.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// Its id.
    pub id: Vec<u8>,
    /// Its monitor's pid.
    pub monitor: u64,
    /// When its monitor started ([`start_ticks`]).
    pub monitor_start: u64,
    /// Its first process (picobox's reaper, or the program with `--as-pid-1`), 0 until it runs.
    pub box_pid: u64,
    /// When it started, in seconds since the epoch.
    pub started: u64,
    /// `running`.
    pub state: String,
    /// Its `--memory`.
    pub memory_limit: u64,
    /// Its memory cgroup's directory, if it has one.
    pub cgroup: Vec<u8>,
    /// The program as given.
    pub program: Vec<u8>,
}

impl Record {
    fn encode(&self) -> Vec<u8> {
        // The program is the only free text: no line breaks in it.
        let program: Vec<u8> = self
            .program
            .iter()
            .map(|b| if *b == b'\n' || *b == b'\r' { b' ' } else { *b })
            .collect();
        let mut s = format!(
            "monitor={}\nmonitor_start={}\nbox={:010}\nstarted={}\nstate={}\nmemory_limit={}\ncgroup=",
            self.monitor,
            self.monitor_start,
            self.box_pid,
            self.started,
            self.state,
            self.memory_limit
        )
        .into_bytes();
        s.extend_from_slice(&self.cgroup);
        s.extend_from_slice(b"\nprogram=");
        s.extend_from_slice(&program);
        s.push(b'\n');
        s
    }

    /// Reads a record back; `None` if it is not one (a foreign or half-written file).
    fn decode(id: &[u8], text: &[u8]) -> Option<Record> {
        let mut r = Record {
            id: id.to_vec(),
            ..Record::default()
        };
        let number = |v: &[u8]| core::str::from_utf8(v).ok()?.parse::<u64>().ok();
        let mut seen = 0;
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let eq = line.iter().position(|b| *b == b'=')?;
            let (key, value) = (&line[..eq], &line[eq + 1..]);
            match key {
                b"monitor" => r.monitor = number(value)?,
                b"monitor_start" => r.monitor_start = number(value)?,
                b"box" => r.box_pid = number(value)?,
                b"started" => r.started = number(value)?,
                b"state" => r.state = String::from_utf8_lossy(value).into_owned(),
                b"memory_limit" => r.memory_limit = number(value)?,
                b"cgroup" => r.cgroup = value.to_vec(),
                b"program" => r.program = value.to_vec(),
                _ => continue,
            }
            seen += 1;
        }
        (seen == 8 && r.monitor > 0).then_some(r)
    }

    /// Whether the monitor that wrote it still runs (the same process: its pid and start
    /// time).
    fn alive(&self) -> bool {
        start_ticks(self.monitor) == Some(self.monitor_start)
    }

    /// Whether no process has the pid of the monitor that wrote it (cheaper than [`alive`],
    /// for the start of every box; a reused pid is left for `ps` to tell).
    ///
    /// [`alive`]: Record::alive
    fn monitor_ended(&self) -> bool {
        sys(62, [self.monitor, 0, 0, 0, 0, 0]) == Err(Errno::ESRCH)
    }

    /// Bytes of memory the box uses: its cgroup's count (tmpfs pages included), else the
    /// resident memory of its processes.
    fn memory(&self) -> u64 {
        if !self.cgroup.is_empty() {
            let mut path = self.cgroup.clone();
            path.extend_from_slice(b"/memory.usage_in_bytes");
            if let Some(n) = read_file(&path)
                .ok()
                .and_then(|t| core::str::from_utf8(t.trim_ascii()).ok()?.parse().ok())
            {
                return n;
            }
        }
        tree_resident(self.box_pid, 0)
    }
}

/// Resident bytes of process `pid` and its descendants.
fn tree_resident(pid: u64, depth: u32) -> u64 {
    if pid == 0 || depth > 64 {
        return 0;
    }
    let status = read_file(format!("/proc/{pid}/status").as_bytes()).unwrap_or_default();
    let rss = status
        .split(|b| *b == b'\n')
        .find_map(|l| l.strip_prefix(b"VmRSS:"))
        .and_then(|v| {
            let digits: Vec<u8> = v.iter().copied().filter(u8::is_ascii_digit).collect();
            core::str::from_utf8(&digits).ok()?.parse::<u64>().ok()
        })
        .unwrap_or(0)
        * 1024;
    let children =
        read_file(format!("/proc/{pid}/task/{pid}/children").as_bytes()).unwrap_or_default();
    rss + children
        .split(|b| *b == b' ')
        .filter_map(|c| core::str::from_utf8(c).ok()?.parse::<u64>().ok())
        .map(|c| tree_resident(c, depth + 1))
        .sum::<u64>()
}

/// A box's record in the registry, removed when dropped. The file is made (exclusively) and
/// written whole before the box starts, which claims the id; the box's first process, once
/// known, is written over its fixed-width field (`box=0000000000` until then).
pub struct Registration {
    path: Vec<u8>,
    /// The record's file, open for writing until it is written.
    file: Option<u64>,
    record: Record,
}

impl Registration {
    /// Claims the id of the box `record` describes (its monitor: the caller). An id that
    /// another running box has is refused; records of ended monitors are removed first, as
    /// the cgroups of killed monitors are (`limits.rs`).
    pub fn new(mut record: Record) -> Result<Registration, String> {
        record.monitor = gate::syscall(39, [0; 6]);
        record.monitor_start = start_ticks(record.monitor).unwrap_or(0);
        record.started = now_seconds();
        record.state = "running".into();
        let text = record.encode();
        // The directory may go between making it and the record (the last other box ended):
        // then it is made again.
        for _ in 0..3 {
            let dir = directory(true)?.unwrap_or_default();
            let mut path = dir.clone();
            path.push(b'/');
            path.extend_from_slice(&record.id);
            for (other_path, other) in records(&dir) {
                if other.monitor_ended() {
                    unlink(&other_path);
                    unlink(&control_socket_of(&other_path));
                }
            }
            let p = c_str(&path);
            let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
            match sys(257, [AT_FDCWD, p.as_ptr() as u64, flags, 0o600, 0, 0]) {
                Ok(fd) => {
                    let written = sys(1, [fd, text.as_ptr() as u64, text.len() as u64, 0, 0, 0]);
                    let r = Registration {
                        path,
                        file: Some(fd),
                        record,
                    };
                    if written != Ok(text.len() as u64) {
                        return Err("cannot record the box: short write".into());
                    }
                    return Ok(r);
                }
                // Another running box's (a record still being written, of a box starting
                // this moment, counts as one), or one whose monitor's pid was reused.
                Err(Errno::EEXIST) => {
                    let other = read_file(&path)
                        .ok()
                        .and_then(|t| Record::decode(&record.id, &t));
                    if other.is_none_or(|o| o.alive()) {
                        return Err(format!(
                            "a box named '{}' is running already (see picobox ps)",
                            String::from_utf8_lossy(&record.id)
                        ));
                    }
                    unlink(&path);
                }
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(format!("cannot record the box: {e}")),
            }
        }
        Err("cannot record the box: its registry keeps disappearing".into())
    }

    /// Notes the box's first process `pid` in the record (over its fixed-width field).
    pub fn set_box_pid(&mut self, pid: u64) {
        self.record.box_pid = pid;
        if let Some(fd) = self.file.take() {
            let text = self.record.encode();
            if let Some(at) = text.windows(5).position(|w| w == b"\nbox=") {
                let field = &text[at + 5..at + 15];
                let offset = (at + 5) as u64;
                let _ = sys(18, [fd, field.as_ptr() as u64, 10, offset, 0, 0]);
            }
            let _ = sys(3, [fd, 0, 0, 0, 0, 0]);
        }
    }

    /// The path of the box's control socket (`picobox snapshot` connects there), beside its
    /// record; removed with the record.
    pub fn control_socket(&self) -> Vec<u8> {
        control_socket_of(&self.path)
    }

    /// In the box's first process, right after the fork: lets go of the record, which is the
    /// monitor's to keep and remove.
    pub fn leave_to_the_monitor(mut self) {
        if let Some(fd) = self.file.take() {
            let _ = sys(3, [fd, 0, 0, 0, 0, 0]);
        }
        core::mem::forget(self);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(fd) = self.file.take() {
            let _ = sys(3, [fd, 0, 0, 0, 0, 0]);
        }
        unlink(&self.path);
        unlink(&self.control_socket());
        let dir_len = self.path.iter().rposition(|b| *b == b'/').unwrap_or(0);
        remove_if_empty(&self.path[..dir_len]);
    }
}

/// Removes the registry directory `dir` if it holds no record (the kernel refuses otherwise).
fn remove_if_empty(dir: &[u8]) {
    let p = c_str(dir);
    let _ = sys(84, [p.as_ptr() as u64, 0, 0, 0, 0, 0]);
}

/// The records in directory `dir` that read as records, with their paths.
fn records(dir: &[u8]) -> Vec<(Vec<u8>, Record)> {
    let mut found = Vec::new();
    for name in crate::limits::list_dir(dir) {
        if check_id(&name).is_err() {
            continue;
        }
        let mut path = dir.to_vec();
        path.push(b'/');
        path.extend_from_slice(&name);
        if let Some(r) = read_file(&path)
            .ok()
            .and_then(|t| Record::decode(&name, &t))
        {
            found.push((path, r));
        }
    }
    found
}

/// The running boxes of the caller, by id; records of dead monitors are removed (and the
/// registry with the last of them).
pub fn list() -> Result<Vec<Record>, String> {
    let Some(dir) = directory(false)? else {
        return Ok(Vec::new());
    };
    let mut running = Vec::new();
    for (path, r) in records(&dir) {
        if r.alive() {
            running.push(r);
        } else {
            unlink(&path);
            unlink(&control_socket_of(&path));
        }
    }
    // A control socket whose record is gone (its monitor was killed between removing the
    // one and the other, or an older picobox removed only the record) goes too.
    for name in crate::limits::list_dir(&dir) {
        let Some(id) = name.strip_suffix(b".sock") else {
            continue;
        };
        if check_id(id).is_ok() && !running.iter().any(|r| r.id == id) {
            let record = [dir.as_slice(), b"/", id].concat();
            if read_file(&record).is_err() {
                unlink(&control_socket_of(&record));
            }
        }
    }
    if running.is_empty() {
        remove_if_empty(&dir);
    }
    running.sort_by(|a, b| (a.started, &a.id).cmp(&(b.started, &b.id)));
    Ok(running)
}

/// `picobox ps [--json]`: prints the running boxes.
pub fn ps(json: bool) -> Result<String, String> {
    let records = list()?;
    let mut out = String::new();
    if json {
        out.push('[');
        for (i, r) in records.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!(
                "\n  {{\"id\": {}, \"state\": {}, \"pid\": {}, \"monitor_pid\": {}, \
                 \"memory\": {}, \"memory_limit\": {}, \"started\": {}, \"program\": {}}}",
                json_string(&r.id),
                json_string(r.state.as_bytes()),
                r.box_pid,
                r.monitor,
                r.memory(),
                r.memory_limit,
                r.started,
                json_string(&r.program)
            ));
        }
        out.push_str(if records.is_empty() { "]\n" } else { "\n]\n" });
        return Ok(out);
    }
    out.push_str(&format!(
        "{:<20} {:<8} {:>8} {:>10} {:<20} {}\n",
        "ID", "STATE", "PID", "MEMORY", "STARTED", "PROGRAM"
    ));
    for r in &records {
        out.push_str(&format!(
            "{:<20} {:<8} {:>8} {:>10} {:<20} {}\n",
            String::from_utf8_lossy(&r.id),
            r.state,
            r.box_pid,
            human_size(r.memory()),
            utc_time(r.started),
            String::from_utf8_lossy(&r.program)
        ));
    }
    Ok(out)
}

/// `s` as a JSON string (bytes that are not UTF-8 become U+FFFD).
fn json_string(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for c in String::from_utf8_lossy(s).chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `12.3M`-style sizes.
fn human_size(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1}G", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1}M", n as f64 / (1u64 << 20) as f64),
        n => format!("{:.1}K", n as f64 / 1024.0),
    }
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
fn utc_time(t: u64) -> String {
    let (days, secs) = (t / 86400, t % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_and_foreign_files_are_not_records() {
        let r = Record {
            id: b"web-1".to_vec(),
            monitor: 42,
            monitor_start: 7,
            box_pid: 43,
            started: 1_700_000_000,
            state: "running".into(),
            memory_limit: 1 << 30,
            cgroup: b"/sys/fs/cgroup/memory/picobox-42-abcd".to_vec(),
            program: b"/bin/sh\nx".to_vec(),
        };
        let back = Record::decode(b"web-1", &r.encode()).unwrap();
        assert_eq!(back.program, b"/bin/sh x");
        assert_eq!(back.box_pid, 43);
        assert!(Record::decode(b"x", b"hello\n").is_none());
        assert!(Record::decode(b"x", b"monitor=1\n").is_none());
    }

    #[test]
    fn ids_are_file_names_and_words() {
        assert!(check_id(b"web-1.a_b").is_ok());
        for bad in [&b""[..], b"-x", b".x", b"a/b", b"a b", &[b'a'; 65]] {
            assert!(check_id(bad).is_err());
        }
        assert_eq!(generated_id().len(), 12);
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00");
        assert_eq!(utc_time(1_764_671_696), "2025-12-02 10:34:56");
        assert_eq!(json_string(b"a\"b\n"), "\"a\\\"b\\u000a\"");
    }
}
