//! Mapping a validated image into the picoprocess through the ABI.

use crate::{page_ceil, page_floor, ElfImage};
use picobox_abi::{Errno, Handle, Host, Placement, Prot};

/// Why mapping failed after validation (the host refused memory).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LoadError(pub Errno);

/// Where the image ended up.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MappedImage {
    /// Offset added to every address of the file (0 for fixed-position executables).
    pub bias: u64,
    /// Entry point in memory.
    pub entry: u64,
    /// Program headers in memory (`AT_PHDR`), 0 if not loaded.
    pub phdr: u64,
    /// Number of program headers (`AT_PHNUM`).
    pub phnum: u16,
    /// First address after the image: where the program break starts.
    pub end: u64,
}

fn to_usize(v: u64) -> Result<usize, LoadError> {
    usize::try_from(v).map_err(|_| LoadError(Errno::ENOMEM))
}

impl ElfImage {
    /// Maps every loadable segment of `file` and zeroes `.bss`. A position-independent image is
    /// placed at `hint` if that is free, else where the host finds room; a fixed one where it
    /// asks, failing if that is taken.
    pub fn map(
        &self,
        host: &dyn Host,
        file: Handle,
        hint: usize,
    ) -> Result<MappedImage, LoadError> {
        let span_len = to_usize(self.span_end - self.span_start)?;
        // Reserve the whole span first so that segments cannot land on something else.
        let place = if self.position_independent {
            Placement::Anywhere(hint)
        } else {
            Placement::NoReplace(to_usize(self.span_start)?)
        };
        let base = host
            .vm_alloc(place, span_len, Prot::NONE, false)
            .map_err(LoadError)? as u64;
        // Modular, as the kernel's: a position-independent image may name addresses above
        // where it lands (a crafted one, even above the address space).
        let bias = base.wrapping_sub(self.span_start);
        for seg in &self.segments {
            if let Err(e) = map_segment(host, file, seg, bias) {
                let _ = host.vm_free(base as usize, span_len);
                return Err(e);
            }
        }
        Ok(MappedImage {
            bias,
            entry: self.entry.wrapping_add(bias),
            phdr: self.phdr_vaddr.map_or(0, |p| p.wrapping_add(bias)),
            phnum: self.phnum,
            end: self.span_end.wrapping_add(bias),
        })
    }
}

fn map_segment(
    host: &dyn Host,
    file: Handle,
    seg: &crate::Segment,
    bias: u64,
) -> Result<(), LoadError> {
    let no_room = LoadError(Errno::ENOMEM);
    let start = seg.vaddr.wrapping_add(bias);
    let page_start = page_floor(start);
    let file_end = start.checked_add(seg.filesz).ok_or(no_room)?;
    let mem_end = start.checked_add(seg.memsz).ok_or(no_room)?;
    let needs_zeroing = seg.memsz > seg.filesz && !file_end.is_multiple_of(crate::PAGE_SIZE);
    // Map writable while we zero the tail of the last file page, then set the final protection.
    let map_prot = if needs_zeroing {
        seg.prot | Prot::WRITE
    } else {
        seg.prot
    };
    if seg.filesz > 0 {
        let len = page_ceil(file_end).ok_or(LoadError(Errno::ENOMEM))? - page_start;
        host.vm_map_stream(
            file,
            page_floor(seg.offset),
            Placement::Replace(to_usize(page_start)?),
            to_usize(len)?,
            map_prot,
            false,
        )
        .map_err(LoadError)?;
    }
    let anon_start = if seg.filesz > 0 {
        page_ceil(file_end).ok_or(LoadError(Errno::ENOMEM))?
    } else {
        page_start
    };
    let anon_end = page_ceil(mem_end).ok_or(LoadError(Errno::ENOMEM))?;
    if anon_end > anon_start {
        host.vm_alloc(
            Placement::Replace(to_usize(anon_start)?),
            to_usize(anon_end - anon_start)?,
            seg.prot,
            false,
        )
        .map_err(LoadError)?;
    }
    if needs_zeroing && seg.filesz > 0 {
        // The whole rest of the page, as Linux's `padzero`: what follows `.bss` in that page
        // is zero too (glibc's loader takes its first allocations from there).
        let tail = page_ceil(file_end).ok_or(LoadError(Errno::ENOMEM))? - file_end;
        let zeros = [0u8; crate::PAGE_SIZE as usize];
        host.vm_copy(
            to_usize(file_end)?,
            zeros.as_ptr() as usize,
            to_usize(tail)?,
        )
        .map_err(LoadError)?;
    }
    if map_prot != seg.prot {
        let len = to_usize(page_ceil(file_end).ok_or(LoadError(Errno::ENOMEM))? - page_start)?;
        host.vm_protect(to_usize(page_start)?, len, seg.prot)
            .map_err(LoadError)?;
    }
    Ok(())
}
