//! Loading a program into the process: at start ([`crate::boot`]) and by `execve`, which
//! replaces the program inside the same picoprocess (never a host `execve`).

use crate::kernel::{host, BootError, Entry};
use crate::vma::{Area, Label, Vmas};

/// The page size the loader maps with.
const PAGE: u64 = 4096;
use alloc::vec::Vec;
use picobox_abi::{Errno, Handle, IoBuf, Placement, Prot};
use picobox_loader::stack::{self, auxv, StackContents};
use picobox_loader::{ElfError, ElfImage, HEADER_READ_SIZE};

/// Size of the program's main stack.
pub const STACK_SIZE: usize = 8 << 20;

/// What a loaded program needs from the process.
pub struct Loaded {
    /// Where to start.
    pub entry: Entry,
    /// Where the heap (program break) starts.
    pub brk: u64,
    /// The auxiliary vector, as `/proc/self/auxv` shows it.
    pub auxv: Vec<u8>,
}

/// Reads up to `buf.len()` bytes at `offset`; returns how many.
pub fn read_at(h: Handle, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut done = 0;
    while done < buf.len() {
        let n = host().stream_read(
            h,
            IoBuf::of_mut(&mut buf[done..]),
            Some(offset + done as u64),
        )?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// The first bytes of a program file, and its size.
pub fn read_head(program: Handle) -> Result<(Vec<u8>, u64), BootError> {
    let size = host().stream_attr(program).map_err(BootError::Read)?.size;
    let mut head = alloc::vec![0u8; HEADER_READ_SIZE];
    let got = read_at(program, 0, &mut head).map_err(BootError::Read)?;
    head.truncate(got);
    Ok((head, size))
}

/// Validates and parses the program whose first bytes are `head`.
pub fn parse(program: Handle, head: &[u8], size: u64) -> Result<ElfImage, BootError> {
    ElfImage::parse(head, size, |off, buf| match read_at(program, off, buf) {
        Ok(n) if n == buf.len() => Ok(()),
        _ => Err(ElfError::Truncated),
    })
    .map_err(BootError::Elf)
}

/// Maps `image` from `program`, builds a fresh stack with `argv`, `envp` and the auxiliary
/// vector, and records every mapping in `vmas`.
pub fn load(
    image: &ElfImage,
    program: Handle,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    execfn: &[u8],
    ids: (u32, u32),
    vmas: &mut Vmas,
) -> Result<Loaded, BootError> {
    let mapped = image.map(host(), program).map_err(BootError::Map)?;
    // The span is reserved inaccessible; each segment then has its own protection.
    vmas.insert(
        mapped.end - (image.span_end - image.span_start),
        mapped.end,
        Area::private(0),
    );
    for seg in &image.segments {
        let start = seg.vaddr.wrapping_add(mapped.bias) & !(PAGE - 1);
        let end = seg
            .vaddr
            .wrapping_add(mapped.bias)
            .saturating_add(seg.memsz)
            .next_multiple_of(PAGE);
        vmas.insert(start, end, Area::private(seg.prot.0));
    }
    let hi = host().host_info();
    let stack_prot = if image.executable_stack {
        Prot(Prot::READ_WRITE.0 | Prot::EXEC.0)
    } else {
        Prot::READ_WRITE
    };
    let stack_bottom = host()
        .vm_alloc(Placement::Anywhere(0), STACK_SIZE, stack_prot, false)
        .map_err(BootError::Stack)?;
    vmas.insert(
        stack_bottom as u64,
        (stack_bottom + STACK_SIZE) as u64,
        Area {
            label: Label::Stack,
            ..Area::private(stack_prot.0)
        },
    );
    // A guard page below the stack turns overflow into a fault rather than silent corruption.
    host()
        .vm_protect(stack_bottom, 4096, Prot::NONE)
        .map_err(BootError::Stack)?;
    vmas.insert(
        stack_bottom as u64,
        stack_bottom as u64 + 4096,
        Area::private(Prot::NONE.0),
    );
    let top = (stack_bottom + STACK_SIZE) as u64;
    let (uid, gid) = (u64::from(ids.0), u64::from(ids.1));
    let mut aux: Vec<(u64, u64)> = alloc::vec![
        (auxv::AT_PHDR, mapped.phdr),
        (auxv::AT_PHENT, 56),
        (auxv::AT_PHNUM, u64::from(mapped.phnum)),
        (auxv::AT_PAGESZ, hi.page_size as u64),
        (auxv::AT_BASE, 0),
        (auxv::AT_FLAGS, 0),
        (auxv::AT_ENTRY, mapped.entry),
        (auxv::AT_UID, uid),
        (auxv::AT_EUID, uid),
        (auxv::AT_GID, gid),
        (auxv::AT_EGID, gid),
        (auxv::AT_HWCAP, hi.hwcap),
        (auxv::AT_HWCAP2, hi.hwcap2),
        (auxv::AT_CLKTCK, 100),
        (auxv::AT_SECURE, 0),
        (auxv::AT_MINSIGSTKSZ, hi.min_signal_stack as u64),
        (auxv::AT_PICOBOX_GATE, hi.gate as u64),
    ];
    if let Some(vdso) = hi.vdso {
        aux.push((auxv::AT_SYSINFO_EHDR, vdso as u64));
    }
    let mut random = [0u8; 16];
    host().random_read(&mut random).map_err(BootError::Stack)?;
    let contents = StackContents {
        argv,
        envp,
        auxv: &aux,
        execfn,
        random,
    };
    let (bytes, sp) = stack::build(top, &contents).map_err(BootError::Stack)?;
    host()
        .vm_copy(sp as usize, bytes.as_ptr() as usize, bytes.len())
        .map_err(BootError::Stack)?;
    Ok(Loaded {
        entry: Entry {
            pc: mapped.entry,
            sp,
        },
        brk: mapped.end,
        auxv: {
            let mut bytes: Vec<u8> = aux
                .iter()
                .flat_map(|(k, v)| k.to_le_bytes().into_iter().chain(v.to_le_bytes()))
                .collect();
            bytes.extend_from_slice(&[0u8; 16]);
            bytes
        },
    })
}
