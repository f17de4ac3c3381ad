//! Loading a program into the process: at start ([`crate::boot`]) and by `execve`, which
//! replaces the program inside the same picoprocess (never a host `execve`).
//!
//! Both find the program in the box's own view of the file system ([`find`], [`prepare`]):
//! `#!` scripts name their interpreter, and a dynamically linked program names its loader
//! (`PT_INTERP`, normally glibc's `/lib64/ld-linux-x86-64.so.2`), which is mapped beside the
//! program and started first, as Linux does; the loader then maps the shared libraries with
//! ordinary `openat` and `mmap` calls. Every error that leaves the old program running (or
//! stops a box before it starts) happens before [`load`].

use crate::fd::HostHandle;
use crate::kernel::{host, BootError, Entry};
use crate::path::{self, Components};
use crate::vfs::{Node, Vfs};
use crate::vma::{Area, Label, Vmas};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use picobox_abi::{Errno, FileKind, Handle, IoBuf, OpenFlags, Placement, Prot};
use picobox_loader::stack::{self, auxv, StackContents};
use picobox_loader::{ElfError, ElfImage, MappedImage, HEADER_READ_SIZE};

/// The page size the loader maps with.
const PAGE: u64 = 4096;
/// Size of the program's main stack.
pub const STACK_SIZE: usize = 8 << 20;
/// Most nested `#!` interpreters (Linux allows 4).
const MAX_INTERPRETERS: usize = 4;
/// The path that names the running program.
pub const PROC_SELF_EXE: &[u8] = b"/proc/self/exe";
/// `ELIBBAD`: the dynamic loader named by a program is not a loadable ELF file.
const ELIBBAD: Errno = Errno(80);

/// What a loaded program needs from the process.
pub struct Loaded {
    /// Where to start.
    pub entry: Entry,
    /// Where the heap (program break) starts.
    pub brk: u64,
    /// The auxiliary vector, as `/proc/self/auxv` shows it.
    pub auxv: Vec<u8>,
}

/// Why a program cannot be started: the errno `execve` returns, and a line for a person.
#[derive(Debug)]
pub struct Refusal {
    /// What `execve` returns.
    pub errno: Errno,
    /// What went wrong, naming the file.
    pub why: String,
}

impl Refusal {
    fn new(errno: Errno, file: &[u8], why: impl core::fmt::Display) -> Refusal {
        Refusal {
            errno,
            why: alloc::format!("{}: {why}", String::from_utf8_lossy(file)),
        }
    }

    fn errno(file: &[u8], errno: Errno) -> Refusal {
        match words_for(errno) {
            Some(why) => Refusal::new(errno, file, why),
            None => Refusal::new(errno, file, errno),
        }
    }
}

/// What an error of finding a program means, in words.
fn words_for(errno: Errno) -> Option<&'static str> {
    Some(match errno {
        Errno::ENOENT => "no such file in the box",
        Errno::EACCES => "permission denied (not an executable file, or no search access)",
        Errno::ENOTDIR => "a component of the path is not a directory",
        Errno::ELOOP => "too many symbolic links",
        _ => return None,
    })
}

/// Where programs are looked up: the box's mounts and working directory, and the running
/// program (for `/proc/self/exe`), if any.
pub struct View<'a> {
    /// The box's file system.
    pub vfs: &'a Vfs,
    /// The working directory.
    pub cwd: &'a Components,
    /// The running program's file and name.
    pub current: Option<(&'a Arc<HostHandle>, &'a [u8])>,
}

/// A program found loadable, not yet loaded.
pub struct Prepared {
    /// Its short name (`comm`).
    pub comm: Vec<u8>,
    /// The file.
    pub file: Arc<HostHandle>,
    /// Its absolute path in the box.
    pub name: Vec<u8>,
    /// What to map.
    pub image: ElfImage,
    /// The dynamic loader the program asks for, and what to map of it.
    pub interpreter: Option<(Arc<HostHandle>, ElfImage)>,
    /// Arguments, with those a `#!` line added.
    pub argv: Vec<Vec<u8>>,
    /// Environment.
    pub envp: Vec<Vec<u8>>,
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
fn read_head(program: Handle) -> Result<(Vec<u8>, u64), Errno> {
    let size = host().stream_attr(program)?.size;
    let mut head = alloc::vec![0u8; HEADER_READ_SIZE];
    let got = read_at(program, 0, &mut head)?;
    head.truncate(got);
    Ok((head, size))
}

/// Validates and parses the program whose first bytes are `head`.
fn parse(program: Handle, head: &[u8], size: u64) -> Result<ElfImage, ElfError> {
    ElfImage::parse(head, size, |off, buf| match read_at(program, off, buf) {
        Ok(n) if n == buf.len() => Ok(()),
        _ => Err(ElfError::Truncated),
    })
}

/// The program to start as `name`: a path if it has a `/`, else the first executable file of
/// that name in the directories of `PATH` (from `envp`), as `execvp` finds it.
pub fn find(view: &View<'_>, name: &[u8], envp: &[Vec<u8>]) -> Result<Vec<u8>, Refusal> {
    if name.is_empty() {
        return Err(Refusal::new(Errno::ENOENT, name, "empty program name"));
    }
    if name.contains(&b'/') {
        return Ok(name.to_vec());
    }
    const DEFAULT_PATH: &[u8] = b"/usr/local/bin:/usr/bin:/bin";
    let search = envp
        .iter()
        .find_map(|e| e.strip_prefix(b"PATH="))
        .unwrap_or(DEFAULT_PATH);
    let mut denied = None;
    for dir in search.split(|b| *b == b':') {
        let mut candidate = if dir.is_empty() {
            b".".to_vec()
        } else {
            dir.to_vec()
        };
        candidate.push(b'/');
        candidate.extend_from_slice(name);
        match open_executable(view, &candidate) {
            Ok(_) => return Ok(candidate),
            Err(Errno::EACCES) => denied = Some(candidate),
            Err(_) => {}
        }
    }
    match denied {
        Some(path) => Err(Refusal::errno(&path, Errno::EACCES)),
        None => Err(Refusal::new(
            Errno::ENOENT,
            name,
            "command not found in the box's PATH",
        )),
    }
}

/// Opens the executable at `path` for loading; returns it and its absolute path in the box.
fn open_executable(view: &View<'_>, path: &[u8]) -> Result<(Arc<HostHandle>, Vec<u8>), Errno> {
    if path == PROC_SELF_EXE {
        if let Some((file, name)) = view.current {
            return Ok((file.clone(), name.to_vec()));
        }
    }
    view.vfs
        .lookup(view.cwd, path, true, |node, comps| match node {
            Node::Host { root, rel, .. } => {
                let attr = host().stream_attr_at(*root, rel, true)?;
                match attr.kind {
                    FileKind::Regular => {}
                    FileKind::Directory => return Err(Errno::EISDIR),
                    _ => return Err(Errno::EACCES),
                }
                host().stream_access(*root, rel, 1)?; // X_OK
                let h = host().stream_open(*root, rel, OpenFlags::READ, 0)?;
                Ok((Arc::new(HostHandle(h)), path::join(comps)))
            }
            Node::Synthetic => Err(Errno::EISDIR),
            _ => Err(Errno::EACCES),
        })
}

/// Splits a `#!` line into the interpreter and its optional single argument.
fn interpreter_line(head: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let rest = head.strip_prefix(b"#!")?;
    let line = &rest[..rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len())];
    let trimmed: &[u8] = line.trim_ascii();
    if trimmed.is_empty() {
        return None;
    }
    match trimmed.iter().position(|b| *b == b' ' || *b == b'\t') {
        Some(i) => Some((
            trimmed[..i].to_vec(),
            Some(trimmed[i..].trim_ascii().to_vec()).filter(|a| !a.is_empty()),
        )),
        None => Some((trimmed.to_vec(), None)),
    }
}

/// Finds the program at `path` (through `#!` lines and its dynamic loader) and checks that it
/// can be loaded.
pub fn prepare(
    view: &View<'_>,
    path: Vec<u8>,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> Result<Prepared, Refusal> {
    prepare_at_depth(view, path, argv, envp, 0)
}

fn prepare_at_depth(
    view: &View<'_>,
    path: Vec<u8>,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    depth: usize,
) -> Result<Prepared, Refusal> {
    let comm = crate::kernel::comm_of(&path);
    let (file, name) = open_executable(view, &path).map_err(|e| match e {
        Errno::EISDIR => Refusal::new(Errno::EACCES, &path, "is a directory"),
        e => Refusal::errno(&path, e),
    })?;
    let (head, size) = read_head(file.0).map_err(|e| Refusal::errno(&path, e))?;
    if head.starts_with(b"#!") {
        if depth >= MAX_INTERPRETERS {
            return Err(Refusal::new(
                Errno::ELOOP,
                &path,
                "too many nested #! interpreters",
            ));
        }
        let (interpreter, arg) = interpreter_line(&head)
            .ok_or_else(|| Refusal::new(Errno::ENOEXEC, &path, "empty #! line"))?;
        let mut new_argv = alloc::vec![interpreter.clone()];
        new_argv.extend(arg);
        new_argv.push(path);
        new_argv.extend(argv.into_iter().skip(1));
        // A script keeps its own name (Linux names the process after the file executed).
        return prepare_at_depth(view, interpreter, new_argv, envp, depth + 1)
            .map(|p| Prepared { comm, ..p });
    }
    let image = parse(file.0, &head, size).map_err(|e| Refusal::new(Errno::ENOEXEC, &path, e))?;
    let interpreter = match &image.interpreter {
        None => None,
        Some(loader) => Some(open_interpreter(view, &path, loader)?),
    };
    Ok(Prepared {
        comm,
        file,
        name,
        image,
        interpreter,
        argv,
        envp,
    })
}

/// Opens and checks the dynamic loader `loader` that `program` names.
fn open_interpreter(
    view: &View<'_>,
    program: &[u8],
    loader: &[u8],
) -> Result<(Arc<HostHandle>, ElfImage), Refusal> {
    let refuse = |errno: Errno, why: &dyn core::fmt::Display| Refusal {
        errno,
        why: alloc::format!(
            "{}: its dynamic loader {}: {why}",
            String::from_utf8_lossy(program),
            String::from_utf8_lossy(loader)
        ),
    };
    let (file, _) = open_executable(view, loader).map_err(|e| match words_for(e) {
        Some(why) => refuse(e, &why),
        None => refuse(e, &e),
    })?;
    let (head, size) = read_head(file.0).map_err(|e| refuse(e, &e))?;
    let image = parse(file.0, &head, size).map_err(|e| refuse(ELIBBAD, &e))?;
    if image.interpreter.is_some() {
        return Err(refuse(ELIBBAD, &"names a dynamic loader itself"));
    }
    Ok((file, image))
}

/// Maps `image` from `file` and records its ranges in `vmas`.
/// Where Linux puts a position-independent program on x86-64 (`ELF_ET_DYN_BASE`, two thirds
/// of the way up the address space), below the mappings that grow down from the stack, with
/// room above it for the program break.
const PROGRAM_BASE: u64 = 0x5555_5555_4000;
/// How far Linux moves that base at random (`mmap_rnd_bits` of 28: up to 1 TiB).
const PROGRAM_BASE_RANDOM: u64 = 1 << 40;
/// How far past the program's end Linux starts its break at random (32 MiB).
const BRK_RANDOM: u64 = 32 << 20;

/// A random page-aligned offset below `range`.
fn random_offset(range: u64) -> Result<u64, BootError> {
    let mut bytes = [0u8; 8];
    host().random_read(&mut bytes).map_err(BootError::Stack)?;
    Ok((u64::from_le_bytes(bytes) % range) & !(PAGE - 1))
}

fn map_image(
    image: &ElfImage,
    file: Handle,
    name: &[u8],
    hint: u64,
    vmas: &mut Vmas,
) -> Result<MappedImage, BootError> {
    let mapped = image
        .map(host(), file, usize::try_from(hint).unwrap_or(0))
        .map_err(BootError::Map)?;
    // The span is reserved inaccessible; each segment then has its own protection.
    vmas.insert(
        mapped.end - (image.span_end - image.span_start),
        mapped.end,
        Area::private(0),
    );
    let id = host().stream_attr(file).ok().map(|attr| {
        vmas.file_id(crate::vma::MappedFile {
            path: name.to_vec(),
            dev: attr.dev,
            ino: attr.ino,
        })
    });
    for seg in &image.segments {
        let start = seg.vaddr.wrapping_add(mapped.bias) & !(PAGE - 1);
        let end = seg
            .vaddr
            .wrapping_add(mapped.bias)
            .saturating_add(seg.memsz)
            .next_multiple_of(PAGE);
        vmas.insert(start, end, Area::private(seg.prot.0));
        // The pages holding the file's bytes map the file; the rest (`.bss`) is anonymous.
        let file_end = seg
            .vaddr
            .wrapping_add(mapped.bias)
            .saturating_add(seg.filesz)
            .next_multiple_of(PAGE)
            .min(end);
        if let (Some(id), true) = (id, seg.filesz > 0) {
            let area = Area {
                file: Some(id),
                origin: start.wrapping_sub(seg.offset & !(PAGE - 1)),
                ..Area::private(seg.prot.0)
            };
            vmas.insert(start, file_end, area);
        }
    }
    Ok(mapped)
}

/// Maps the program `p` (and its dynamic loader), builds a fresh stack with its arguments,
/// environment and the auxiliary vector, and records every mapping in `vmas`.
pub fn load(p: &Prepared, ids: (u32, u32), vmas: &mut Vmas) -> Result<Loaded, BootError> {
    // The program where Linux puts it, so that its break has room to grow; its loader among
    // the other mappings.
    let base = PROGRAM_BASE + random_offset(PROGRAM_BASE_RANDOM)?;
    let mapped = map_image(&p.image, p.file.0, &p.name, base, vmas)?;
    let loader = match &p.interpreter {
        Some((file, image)) => {
            let name = p.image.interpreter.clone().unwrap_or_default();
            Some(map_image(image, file.0, &name, 0, vmas)?)
        }
        None => None,
    };
    let brk = mapped.end.next_multiple_of(PAGE) + random_offset(BRK_RANDOM)?;
    let hi = host().host_info();
    let stack_prot = if p.image.executable_stack {
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
        (auxv::AT_BASE, loader.map_or(0, |l| l.bias)),
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
        argv: &p.argv,
        envp: &p.envp,
        auxv: &aux,
        execfn: &p.name,
        random,
    };
    let (bytes, sp) = stack::build(top, &contents).map_err(BootError::Stack)?;
    host()
        .vm_copy(sp as usize, bytes.as_ptr() as usize, bytes.len())
        .map_err(BootError::Stack)?;
    Ok(Loaded {
        entry: Entry {
            pc: loader.map_or(mapped.entry, |l| l.entry),
            sp,
        },
        brk,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_lines() {
        assert_eq!(
            interpreter_line(b"#!/bin/sh\necho"),
            Some((b"/bin/sh".to_vec(), None))
        );
        assert_eq!(
            interpreter_line(b"#! /usr/bin/env  python3 \n"),
            Some((b"/usr/bin/env".to_vec(), Some(b"python3".to_vec())))
        );
        assert_eq!(interpreter_line(b"#!\n"), None);
    }
}
