//! Core dumps. A process killed by a signal whose default action dumps core (`SIGQUIT`,
//! `SIGILL`, `SIGTRAP`, `SIGABRT`, `SIGBUS`, `SIGFPE`, `SIGSEGV`, `SIGXCPU`, `SIGXFSZ`,
//! `SIGSYS`), with a `RLIMIT_CORE` above 0 and still dumpable, leaves an ELF core file named
//! `core` in its working directory, as Linux does with its default `core_pattern`: the dying
//! thread's registers (`NT_PRSTATUS`), the process's description (`NT_PRPSINFO`), its
//! auxiliary vector (`NT_AUXV`, so a debugger finds the program's load address) and the
//! program's memory, one `PT_LOAD` per mapping (unreadable ones empty, all-zero stretches left
//! as holes). The file stops at `RLIMIT_CORE`. The host never dumps the picoprocess (its own
//! core limit is 0); the parent's wait reports the dump (`WCOREDUMP`) through the box's shared
//! run states (`box_processes.rs`).

use crate::kernel::{host, Kernel};
use alloc::vec::Vec;
use picobox_abi::{CpuContext, Handle, IoBuf, OpenFlags};

/// Whether `sig`'s default action dumps core.
pub fn dumps_core(sig: u8) -> bool {
    matches!(sig, 3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31)
}

const PAGE: u64 = 4096;
const NT_PRSTATUS: u32 = 1;
const NT_PRPSINFO: u32 = 3;
const NT_AUXV: u32 = 6;

/// Writes the core file for `sig`, if the process may dump; returns whether it did.
pub fn dump(k: &Kernel, sig: u8, ctx: &CpuContext) -> bool {
    const RLIMIT_CORE: usize = 4;
    let limit = k.rlimits[RLIMIT_CORE].0;
    if !dumps_core(sig) || limit == 0 || !k.prctl.dumpable {
        return false;
    }
    let Some(file) = open_core(k) else {
        return false;
    };
    let written = write_core(k, sig, ctx, file, limit);
    let _ = host().object_close(file);
    written
}

/// Opens (or truncates) `core` in the working directory, never through a link.
fn open_core(k: &Kernel) -> Option<Handle> {
    let crate::vfs::Node::Host {
        root,
        rel,
        writable: true,
    } = k
        .vfs
        .locate(&{
            let mut p = k.cwd.clone();
            p.push(b"core".to_vec());
            p
        })
        .ok()?
    else {
        return None;
    };
    let flags = OpenFlags(
        OpenFlags::WRITE.0 | OpenFlags::CREATE | OpenFlags::TRUNCATE | OpenFlags::NOFOLLOW,
    );
    host().stream_open(root, &rel, flags, 0o600).ok()
}

fn note(out: &mut Vec<u8>, kind: u32, desc: &[u8]) {
    out.extend_from_slice(&5u32.to_le_bytes());
    out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(b"CORE\0\0\0\0");
    out.extend_from_slice(desc);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// `struct elf_prstatus` (336 bytes on x86-64): the signal, the ids, the registers in
/// `user_regs_struct` order.
fn prstatus(sig: u8, ctx: &CpuContext) -> Vec<u8> {
    let mut s = alloc::vec![0u8; 336];
    s[0..4].copy_from_slice(&i32::from(sig).to_le_bytes());
    s[12..14].copy_from_slice(&u16::from(sig).to_le_bytes());
    let pid = host().process_id(picobox_abi::Whose::Caller);
    s[32..36].copy_from_slice(&host().thread_id().to_le_bytes());
    s[36..40].copy_from_slice(&host().process_id(picobox_abi::Whose::Parent).to_le_bytes());
    s[40..44].copy_from_slice(&pid.to_le_bytes());
    s[44..48].copy_from_slice(&pid.to_le_bytes());
    // Not in a system call (orig_rax -1); the thread's TLS base is the library OS's to
    // restore, not recorded here.
    let user_regs = crate::syscalls::ptrace::user_regs(ctx, u64::MAX, 0);
    for (i, v) in user_regs.iter().enumerate() {
        s[112 + i * 8..120 + i * 8].copy_from_slice(&v.to_le_bytes());
    }
    s
}

/// `struct elf_prpsinfo` (136 bytes): state, ids, name and arguments.
fn prpsinfo(k: &Kernel) -> Vec<u8> {
    let mut s = alloc::vec![0u8; 136];
    s[1] = b'R';
    s[16..20].copy_from_slice(&k.creds.effective_uid().to_le_bytes());
    s[20..24].copy_from_slice(&k.creds.effective_gid().to_le_bytes());
    let pid = host().process_id(picobox_abi::Whose::Caller);
    s[24..28].copy_from_slice(&pid.to_le_bytes());
    s[28..32].copy_from_slice(&host().process_id(picobox_abi::Whose::Parent).to_le_bytes());
    let name = &k.comm[..k.comm.len().min(15)];
    s[40..40 + name.len()].copy_from_slice(name);
    let args: Vec<u8> = k
        .cmdline
        .iter()
        .map(|b| if *b == 0 { b' ' } else { *b })
        .take(79)
        .collect();
    s[56..56 + args.len()].copy_from_slice(&args);
    s
}

fn write_core(k: &Kernel, sig: u8, ctx: &CpuContext, file: Handle, limit: u64) -> bool {
    let areas: Vec<(u64, u64, u32)> = k.vmas.iter().map(|(s, e, a)| (s, e, a.prot)).collect();
    let mut notes = Vec::new();
    note(&mut notes, NT_PRSTATUS, &prstatus(sig, ctx));
    note(&mut notes, NT_PRPSINFO, &prpsinfo(k));
    note(&mut notes, NT_AUXV, &k.auxv);
    let phnum = 1 + areas.len();
    let headers_end = 64 + 56 * phnum as u64;
    let notes_at = headers_end;
    let data_at = (notes_at + notes.len() as u64).div_ceil(PAGE) * PAGE;
    // The ELF header, then the program headers.
    let mut head = alloc::vec![0u8; 64];
    head[0..4].copy_from_slice(b"\x7fELF");
    head[4] = 2; // 64-bit
    head[5] = 1; // little-endian
    head[6] = 1; // version
    head[16..18].copy_from_slice(&4u16.to_le_bytes()); // ET_CORE
    head[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    head[20..24].copy_from_slice(&1u32.to_le_bytes());
    head[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    head[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    head[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    head[56..58].copy_from_slice(&(phnum.min(0xffff) as u16).to_le_bytes());
    let phdr =
        |kind: u32, flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64, align: u64| {
            let mut p = [0u8; 56];
            p[0..4].copy_from_slice(&kind.to_le_bytes());
            p[4..8].copy_from_slice(&flags.to_le_bytes());
            p[8..16].copy_from_slice(&offset.to_le_bytes());
            p[16..24].copy_from_slice(&vaddr.to_le_bytes());
            p[32..40].copy_from_slice(&filesz.to_le_bytes());
            p[40..48].copy_from_slice(&memsz.to_le_bytes());
            p[48..56].copy_from_slice(&align.to_le_bytes());
            p
        };
    head.extend_from_slice(&phdr(4, 0, notes_at, 0, notes.len() as u64, 0, 4));
    let mut offset = data_at;
    for (start, end, prot) in &areas {
        let readable = prot & 1 != 0;
        let size = end - start;
        let filesz = if readable { size } else { 0 };
        // PROT_READ, WRITE, EXEC are ELF's PF_R (4), PF_W (2), PF_X (1).
        let flags = (prot & 1) << 2 | (prot & 2) | (prot & 4) >> 2;
        head.extend_from_slice(&phdr(1, flags, offset, *start, filesz, size, PAGE));
        offset += filesz;
    }
    head.extend_from_slice(&notes);
    let put = |at: u64, bytes: &[u8]| -> bool {
        if at + bytes.len() as u64 > limit {
            return false;
        }
        host()
            .stream_write(file, IoBuf::of(bytes), Some(at))
            .is_ok_and(|n| n == bytes.len())
    };
    if !put(0, &head) {
        return false;
    }
    // The memory, a chunk at a time; chunks of zeros stay holes.
    let mut chunk = alloc::vec![0u8; 64 * 1024];
    let mut at = data_at;
    for (start, end, prot) in &areas {
        if prot & 1 == 0 {
            continue;
        }
        let mut addr = *start;
        while addr < *end {
            let n = (end - addr).min(chunk.len() as u64) as usize;
            if host()
                .vm_copy(chunk.as_mut_ptr() as usize, addr as usize, n)
                .is_err()
            {
                chunk[..n].fill(0); // a page beyond the file it maps: zeros, as Linux writes
            }
            if chunk[..n].iter().any(|b| *b != 0) && !put(at, &chunk[..n]) {
                return true; // cut at the limit, as Linux cuts it
            }
            addr += n as u64;
            at += n as u64;
        }
    }
    // The file is as long as its last mapping, holes included.
    let _ = host().stream_set_length(file, at.min(limit));
    true
}
