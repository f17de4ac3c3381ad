//! Parsing and validation of the ELF header and program headers.

use crate::{page_ceil, page_floor, PAGE_SIZE};
use alloc::vec::Vec;
use core::fmt;
use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header::{self, Header};
use goblin::elf::program_header::{self as ph, ProgramHeader};
use scroll::Pread;

/// Size of the ELF64 file header.
const SIZEOF_EHDR: usize = 64;
/// Size of one ELF64 program header.
const SIZEOF_PHDR: usize = 56;

/// How many bytes of the file [`ElfImage::parse`] wants at offset 0 (the header and, for almost
/// every executable, the program headers too).
pub const HEADER_READ_SIZE: usize = 4096;

/// Highest user address on x86-64 Linux (exclusive).
const USER_END: u64 = 0x7fff_ffff_f000;
/// Lowest address a fixed-position executable may use (Linux's default `mmap_min_addr`).
const USER_START: u64 = 0x1_0000;
/// Program headers we accept at most (Linux's limit is 64 KiB of them).
const MAX_PHNUM: u16 = 1024;

/// Why an executable was refused. Every message names the problem in words a user can act on.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ElfError {
    /// Fewer bytes than an ELF header.
    Truncated,
    /// No `\x7fELF` magic.
    NotElf,
    /// A 32-bit (or x32) executable.
    Not64Bit,
    /// Big-endian or unknown byte order.
    NotLittleEndian,
    /// Built for another processor (the ELF machine number).
    WrongMachine(u16),
    /// A relocatable object, core dump or other non-executable ELF type.
    NotExecutable(u16),
    /// The `PT_INTERP` segment is malformed (the reason).
    BadInterpreter(&'static str),
    /// Program headers are malformed (size, count or position).
    BadProgramHeaders(&'static str),
    /// A loadable segment is malformed; the index and the reason.
    BadSegment(usize, &'static str),
    /// Two loadable segments overlap or are out of order.
    OverlappingSegments(usize, usize),
    /// No loadable segment at all.
    NoSegments,
    /// The entry point is not inside an executable segment.
    EntryOutsideSegments(u64),
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::Truncated => write!(f, "file is too short to be an ELF executable"),
            ElfError::NotElf => write!(f, "not an ELF executable (no ELF magic number)"),
            ElfError::Not64Bit => {
                write!(f, "32-bit ELF executables are not supported (x86-64 only)")
            }
            ElfError::NotLittleEndian => write!(f, "ELF file is not little-endian"),
            ElfError::WrongMachine(m) => {
                write!(f, "ELF executable is for machine type {m}, not x86-64 (62)")
            }
            ElfError::NotExecutable(t) => {
                write!(
                    f,
                    "ELF file of type {t} is not an executable (need ET_EXEC or ET_DYN)"
                )
            }
            ElfError::BadInterpreter(why) => write!(f, "malformed interpreter segment: {why}"),
            ElfError::BadProgramHeaders(why) => write!(f, "malformed program headers: {why}"),
            ElfError::BadSegment(i, why) => write!(f, "malformed loadable segment {i}: {why}"),
            ElfError::OverlappingSegments(a, b) => {
                write!(
                    f,
                    "loadable segments {a} and {b} overlap or are out of order"
                )
            }
            ElfError::NoSegments => write!(f, "ELF executable has no loadable segments"),
            ElfError::EntryOutsideSegments(e) => {
                write!(f, "entry point {e:#x} is not inside an executable segment")
            }
        }
    }
}

/// A loadable segment, validated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Segment {
    /// Virtual address (before the load bias).
    pub vaddr: u64,
    /// Bytes taken from the file.
    pub filesz: u64,
    /// Bytes in memory (the rest is zero: `.bss`).
    pub memsz: u64,
    /// File offset of the first byte.
    pub offset: u64,
    /// Protection.
    pub prot: picobox_abi::Prot,
}

/// A validated executable: what to map and where to start.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ElfImage {
    /// Whether the image may be placed anywhere (`ET_DYN`, static-pie).
    pub position_independent: bool,
    /// Entry point (before the load bias).
    pub entry: u64,
    /// Loadable segments, ascending.
    pub segments: Vec<Segment>,
    /// Address of the program headers in memory (before the load bias), if they are loaded.
    pub phdr_vaddr: Option<u64>,
    /// Number of program headers.
    pub phnum: u16,
    /// Lowest page of the image.
    pub span_start: u64,
    /// End of the highest page of the image.
    pub span_end: u64,
    /// Whether the program asks for an executable stack (`PT_GNU_STACK` with `PF_X`), which
    /// Linux gives it.
    pub executable_stack: bool,
    /// The dynamic loader the program names (`PT_INTERP`), without its NUL: the program
    /// starts there, as on Linux.
    pub interpreter: Option<Vec<u8>>,
}

/// Longest interpreter path accepted (Linux's `PATH_MAX`).
const MAX_INTERPRETER_LEN: u64 = 4096;

impl ElfImage {
    /// Parses and validates an executable. `head` holds the file from offset 0 (at least the
    /// 64-byte header; [`HEADER_READ_SIZE`] bytes are enough for nearly all files); `file_size`
    /// is the whole file's size; `read_at` fetches program headers that lie beyond `head`.
    pub fn parse(
        head: &[u8],
        file_size: u64,
        mut read_at: impl FnMut(u64, &mut [u8]) -> Result<(), ElfError>,
    ) -> Result<ElfImage, ElfError> {
        if head.len() < 4 || &head[..4] != b"\x7fELF" {
            return Err(if head.len() < 4 {
                ElfError::Truncated
            } else {
                ElfError::NotElf
            });
        }
        if head.len() < SIZEOF_EHDR {
            return Err(ElfError::Truncated);
        }
        match head[header::EI_CLASS] {
            header::ELFCLASS64 => {}
            header::ELFCLASS32 => return Err(ElfError::Not64Bit),
            _ => return Err(ElfError::NotElf),
        }
        if head[header::EI_DATA] != header::ELFDATA2LSB {
            return Err(ElfError::NotLittleEndian);
        }
        let hdr: Header = head
            .pread_with(0, Endian::Little)
            .map_err(|_| ElfError::NotElf)?;
        if hdr.e_machine != header::EM_X86_64 {
            return Err(ElfError::WrongMachine(hdr.e_machine));
        }
        let position_independent = match hdr.e_type {
            header::ET_EXEC => false,
            header::ET_DYN => true,
            t => return Err(ElfError::NotExecutable(t)),
        };
        if usize::from(hdr.e_phentsize) != SIZEOF_PHDR {
            return Err(ElfError::BadProgramHeaders("entry size is not 56 bytes"));
        }
        if hdr.e_phnum == 0 || hdr.e_phnum > MAX_PHNUM {
            return Err(ElfError::BadProgramHeaders("count is zero or above 1024"));
        }
        let table_len = u64::from(hdr.e_phnum) * SIZEOF_PHDR as u64;
        let table_end = hdr
            .e_phoff
            .checked_add(table_len)
            .filter(|end| *end <= file_size)
            .ok_or(ElfError::BadProgramHeaders(
                "table lies beyond the end of the file",
            ))?;
        let table = match usize::try_from(table_end) {
            Ok(end) if end <= head.len() => {
                head[usize::try_from(hdr.e_phoff).unwrap_or(0)..end].to_vec()
            }
            _ => {
                let mut buf = alloc::vec![0u8; table_len as usize];
                read_at(hdr.e_phoff, &mut buf)?;
                buf
            }
        };
        let ctx = Ctx::new(Container::Big, Endian::Little);
        let phdrs = ProgramHeader::parse(&table, 0, usize::from(hdr.e_phnum), ctx)
            .map_err(|_| ElfError::BadProgramHeaders("cannot be parsed"))?;
        let mut image = Self::validate(hdr, &phdrs, file_size, position_independent)?;
        let interps: Vec<&ProgramHeader> =
            phdrs.iter().filter(|p| p.p_type == ph::PT_INTERP).collect();
        match interps.as_slice() {
            [] => {}
            [p] => image.interpreter = Some(Self::read_interpreter(p, file_size, head, read_at)?),
            _ => return Err(ElfError::BadInterpreter("more than one PT_INTERP")),
        }
        Ok(image)
    }

    /// The interpreter's path: a NUL-terminated string inside the file, as Linux requires.
    fn read_interpreter(
        p: &ProgramHeader,
        file_size: u64,
        head: &[u8],
        mut read_at: impl FnMut(u64, &mut [u8]) -> Result<(), ElfError>,
    ) -> Result<Vec<u8>, ElfError> {
        let bad = ElfError::BadInterpreter;
        if p.p_filesz < 2 || p.p_filesz > MAX_INTERPRETER_LEN {
            return Err(bad("path length is not between 1 and 4095 bytes"));
        }
        let end = p
            .p_offset
            .checked_add(p.p_filesz)
            .filter(|e| *e <= file_size)
            .ok_or(bad("path lies beyond the end of the file"))?;
        let mut buf = match usize::try_from(end) {
            Ok(e) if e <= head.len() => head[p.p_offset as usize..e].to_vec(),
            _ => {
                let mut buf = alloc::vec![0u8; p.p_filesz as usize];
                read_at(p.p_offset, &mut buf)?;
                buf
            }
        };
        // As Linux: the segment ends with a NUL, and the path is what comes before the first.
        if buf.last() != Some(&0) {
            return Err(bad("path is not NUL-terminated"));
        }
        buf.truncate(buf.iter().position(|b| *b == 0).unwrap_or(0));
        if buf.is_empty() {
            return Err(bad("path is empty"));
        }
        Ok(buf)
    }

    fn validate(
        hdr: Header,
        phdrs: &[ProgramHeader],
        file_size: u64,
        position_independent: bool,
    ) -> Result<ElfImage, ElfError> {
        let mut segments: Vec<Segment> = Vec::new();
        let mut phdr_vaddr = None;
        let mut executable_stack = false;
        let mut load_indices = Vec::new();
        for (i, p) in phdrs.iter().enumerate() {
            match p.p_type {
                ph::PT_PHDR => phdr_vaddr = Some(p.p_vaddr),
                ph::PT_GNU_STACK => executable_stack = p.p_flags & ph::PF_X != 0,
                ph::PT_LOAD => {
                    segments.push(Self::check_segment(i, p, file_size, position_independent)?);
                    load_indices.push(i);
                }
                _ => {}
            }
        }
        if segments.is_empty() {
            return Err(ElfError::NoSegments);
        }
        for w in 0..segments.len() - 1 {
            let (a, b) = (&segments[w], &segments[w + 1]);
            if a.vaddr + a.memsz > b.vaddr {
                return Err(ElfError::OverlappingSegments(
                    load_indices[w],
                    load_indices[w + 1],
                ));
            }
        }
        let entry_ok = segments.iter().any(|s| {
            s.prot.contains(picobox_abi::Prot::EXEC)
                && hdr.e_entry >= s.vaddr
                && hdr.e_entry < s.vaddr + s.memsz
        });
        if !entry_ok {
            return Err(ElfError::EntryOutsideSegments(hdr.e_entry));
        }
        // Without PT_PHDR, the headers are in memory if the first segment maps them.
        if phdr_vaddr.is_none() {
            let first = &segments[0];
            let end = hdr.e_phoff + u64::from(hdr.e_phnum) * SIZEOF_PHDR as u64;
            if first.offset <= hdr.e_phoff && end <= first.offset + first.filesz {
                phdr_vaddr = Some(first.vaddr + (hdr.e_phoff - first.offset));
            }
        }
        let span_start = page_floor(segments[0].vaddr);
        let last = segments[segments.len() - 1];
        let span_end = page_ceil(last.vaddr + last.memsz).ok_or(ElfError::BadSegment(
            load_indices[segments.len() - 1],
            "ends past the address space",
        ))?;
        Ok(ElfImage {
            position_independent,
            entry: hdr.e_entry,
            segments,
            phdr_vaddr,
            phnum: hdr.e_phnum,
            span_start,
            span_end,
            executable_stack,
            interpreter: None,
        })
    }

    fn check_segment(
        i: usize,
        p: &ProgramHeader,
        file_size: u64,
        position_independent: bool,
    ) -> Result<Segment, ElfError> {
        let bad = |why| Err(ElfError::BadSegment(i, why));
        if p.p_memsz == 0 {
            return bad("memory size is zero");
        }
        if p.p_filesz > p.p_memsz {
            return bad("file size exceeds memory size");
        }
        match p.p_offset.checked_add(p.p_filesz) {
            Some(end) if end <= file_size => {}
            _ => return bad("file range lies beyond the end of the file"),
        }
        if p.p_vaddr % PAGE_SIZE != p.p_offset % PAGE_SIZE {
            return bad("address and file offset are not congruent modulo the page size");
        }
        match p.p_vaddr.checked_add(p.p_memsz) {
            Some(end) if end <= USER_END => {}
            _ => return bad("memory range exceeds the user address space"),
        }
        if !position_independent && p.p_vaddr < USER_START {
            return bad("address is below the lowest mappable address (64 KiB)");
        }
        let mut prot = picobox_abi::Prot::NONE;
        if p.p_flags & ph::PF_R != 0 {
            prot = prot | picobox_abi::Prot::READ;
        }
        if p.p_flags & ph::PF_W != 0 {
            prot = prot | picobox_abi::Prot::WRITE;
        }
        if p.p_flags & ph::PF_X != 0 {
            prot = prot | picobox_abi::Prot::EXEC;
        }
        Ok(Segment {
            vaddr: p.p_vaddr,
            filesz: p.p_filesz,
            memsz: p.p_memsz,
            offset: p.p_offset,
            prot,
        })
    }
}
