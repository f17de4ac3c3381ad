//! What `/proc/self/smaps` and `/proc/self/pagemap` show of the caller's memory: its ranges
//! (the library OS's record, as `maps` shows them) with the residency of their pages, which
//! only the host knows (`vm_pages(Residency)`, Linux's `mincore`).
//!
//! Linux's counts of sharing (`Pss`, `Shared_*`) need the page tables of every process; here a
//! resident page counts as the caller's own: dirty if it is private anonymous memory, clean
//! otherwise. `pagemap` gives no physical frame numbers (Linux does not either, to a process
//! without `CAP_SYS_ADMIN`): only the "present" and "file page or shared" bits.

use crate::kernel::{host, Kernel};
use crate::user::USER_END;
use crate::vma::Area;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use picobox_abi::{Errno, PagesOp, Result};

const PAGE: u64 = 4096;
/// The most pages one question to the host covers (its answer is a byte per page).
const PAGES_PER_QUERY: u64 = 64 * 1024;
/// The most of `pagemap` one read produces (Linux's reads are bounded by its buffer too).
const PAGEMAP_READ_MAX: usize = 1 << 20;
/// `pagemap` bits: the page is present; it is a file page or shared anonymous memory.
const PM_PRESENT: u64 = 1 << 63;
const PM_FILE: u64 = 1 << 61;

/// Calls `each(first_page_address, residency)` over `[start, end)`, a range of one mapping,
/// in pieces. A range the host cannot answer for counts as not resident.
fn residency(start: u64, end: u64, mut each: impl FnMut(u64, &[u8])) {
    let mut at = start;
    while at < end {
        let pages = ((end - at) / PAGE).min(PAGES_PER_QUERY);
        let mut vec = vec![0u8; pages as usize];
        let len = (pages * PAGE) as usize;
        if host()
            .vm_pages(at as usize, len, PagesOp::Residency(&mut vec))
            .is_err()
        {
            vec.fill(0);
        }
        each(at, &vec);
        at += pages * PAGE;
    }
}

/// How many pages of `[start, end)` are in memory.
fn resident_pages(start: u64, end: u64) -> u64 {
    let mut n = 0;
    residency(start, end, |_, vec| {
        n += vec.iter().filter(|b| *b & 1 != 0).count() as u64
    });
    n
}

/// `/proc/self/smaps`: each line of `maps` (from `maps_line`), then the range's sizes.
pub fn smaps(k: &Kernel, maps_line: impl Fn(u64, u64, &Area) -> String) -> String {
    let mut s = String::new();
    for (start, end, area) in k.vmas.iter() {
        s.push_str(&maps_line(start, end, &area));
        s.push('\n');
        let size = (end - start) / 1024;
        let rss = resident_pages(start, end) * PAGE / 1024;
        let anonymous = area.file.is_none() && !area.shared;
        let (clean, dirty) = if anonymous { (0, rss) } else { (rss, 0) };
        let locked = if area.locked { rss } else { 0 };
        let field = |s: &mut String, name: &str, kb: u64| {
            s.push_str(&format!("{:<16}{kb:>8} kB\n", format!("{name}:")));
        };
        field(&mut s, "Size", size);
        field(&mut s, "KernelPageSize", 4);
        field(&mut s, "MMUPageSize", 4);
        field(&mut s, "Rss", rss);
        field(&mut s, "Pss", rss);
        field(&mut s, "Pss_Dirty", dirty);
        field(&mut s, "Shared_Clean", 0);
        field(&mut s, "Shared_Dirty", 0);
        field(&mut s, "Private_Clean", clean);
        field(&mut s, "Private_Dirty", dirty);
        field(&mut s, "Referenced", rss);
        field(&mut s, "Anonymous", if anonymous { rss } else { 0 });
        for name in [
            "KSM",
            "LazyFree",
            "AnonHugePages",
            "ShmemPmdMapped",
            "FilePmdMapped",
            "Shared_Hugetlb",
            "Private_Hugetlb",
            "Swap",
            "SwapPss",
        ] {
            field(&mut s, name, 0);
        }
        field(&mut s, "Locked", locked);
        s.push_str("THPeligible:    0\n");
        s.push_str("VmFlags:");
        for flag in vm_flags(&area) {
            s.push(' ');
            s.push_str(flag);
        }
        s.push('\n');
    }
    s
}

/// The two-letter flags `smaps` ends a range with, in Linux's order.
fn vm_flags(area: &Area) -> Vec<&'static str> {
    let mut flags = Vec::new();
    let prot = |bit: u32| area.prot & bit != 0;
    let pairs: [(bool, &'static str); 9] = [
        (prot(1), "rd"),
        (prot(2), "wr"),
        (prot(4), "ex"),
        (area.shared, "sh"),
        (true, "mr"),
        (!area.never_writable, "mw"),
        (true, "me"),
        (area.shared, "ms"),
        (area.locked, "lo"),
    ];
    flags.extend(pairs.iter().filter(|(on, _)| *on).map(|(_, f)| *f));
    match area.on_fork {
        crate::vma::OnFork::Drop => flags.push("dc"),
        crate::vma::OnFork::Wipe => flags.push("wf"),
        crate::vma::OnFork::Copy => {}
    }
    flags
}

/// Reads `pagemap` at `position` into `out`: eight bytes per page of address space, from the
/// page `position / 8`. Both must be multiples of eight (`EINVAL`, as Linux); past the end of
/// user address space there is nothing to read.
pub fn pagemap_read(k: &Kernel, position: u64, out: &mut Vec<u8>, len: usize) -> Result<()> {
    if !position.is_multiple_of(8) || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let first = position / 8;
    let last = (USER_END / PAGE).min(first.saturating_add((len.min(PAGEMAP_READ_MAX) / 8) as u64));
    if first >= last {
        return Ok(());
    }
    let (start, end) = (first * PAGE, last * PAGE);
    let mut entries = vec![0u64; (last - first) as usize];
    for (s, e, area) in k.vmas.iter() {
        let (s, e) = (s.max(start), e.min(end));
        if s >= e {
            continue;
        }
        let file = if area.file.is_some() || area.shared {
            PM_FILE
        } else {
            0
        };
        residency(s, e, |at, vec| {
            for (i, b) in vec.iter().enumerate() {
                let index = ((at - start) / PAGE) as usize + i;
                entries[index] = if b & 1 != 0 { PM_PRESENT | file } else { 0 };
            }
        });
    }
    out.extend(entries.iter().flat_map(|e| e.to_le_bytes()));
    Ok(())
}
