//! `execve`: a new program in the same process. The library OS unmaps what it mapped for the
//! old program, closes close-on-exec descriptors, resets caught signals, and loads the new
//! program with the same loader as at start. There is never a host `execve`.

use super::Args;
use crate::exec;
use crate::fd::HostHandle;
use crate::kernel::{host, Brk, Kernel, Return};
use crate::path;
use crate::user;
use crate::vfs::Node;
use alloc::sync::Arc;
use alloc::vec::Vec;
use picobox_abi::{Errno, FileKind, OpenFlags, Result};

/// The path that names the running program.
pub const PROC_SELF_EXE: &[u8] = b"/proc/self/exe";
/// Most nested `#!` interpreters (Linux allows 4).
const MAX_INTERPRETERS: usize = 4;
/// Most arguments plus environment entries accepted.
const MAX_STRINGS: usize = 1 << 17;

/// `execve(path, argv, envp)`.
pub fn sys_execve(k: &mut Kernel, a: &Args) -> Result<Return> {
    let path = user::read_path(a[0])?;
    let argv = user::read_cstr_array(a[1], MAX_STRINGS)?;
    let envp = user::read_cstr_array(a[2], MAX_STRINGS)?;
    exec_path(k, path, argv, envp, 0)
}

/// Opens the executable at `path` for loading; returns it and its absolute guest path.
fn open_executable(k: &Kernel, path: &[u8]) -> Result<(Arc<HostHandle>, Vec<u8>)> {
    if path == PROC_SELF_EXE {
        return Ok((k.program.clone(), k.program_name.clone()));
    }
    k.vfs.lookup(&k.cwd, path, true, |node, comps| match node {
        Node::Host { root, rel, .. } => {
            let attr = host().stream_attr_at(*root, rel, true)?;
            if attr.kind != FileKind::Regular {
                return Err(Errno::EACCES);
            }
            host().stream_access(*root, rel, 1)?; // X_OK
            let h = host().stream_open(*root, rel, OpenFlags::READ, 0)?;
            Ok((Arc::new(HostHandle(h)), path::join(comps)))
        }
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

fn exec_path(
    k: &mut Kernel,
    path: Vec<u8>,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    depth: usize,
) -> Result<Return> {
    let (file, name) = open_executable(k, &path)?;
    let (head, size) = exec::read_head(file.0).map_err(|_| Errno::EIO)?;
    if head.starts_with(b"#!") {
        if depth >= MAX_INTERPRETERS {
            return Err(Errno::ELOOP);
        }
        let (interpreter, arg) = interpreter_line(&head).ok_or(Errno::ENOEXEC)?;
        let mut new_argv = alloc::vec![interpreter.clone()];
        new_argv.extend(arg);
        new_argv.push(path);
        new_argv.extend(argv.into_iter().skip(1));
        return exec_path(k, interpreter, new_argv, envp, depth + 1);
    }
    let image = exec::parse(file.0, &head, size).map_err(|_| Errno::ENOEXEC)?;

    // The point of no return: the old program goes.
    for (start, end) in k.vmas.take_all() {
        let _ = host().vm_free(start as usize, (end - start) as usize);
    }
    k.fds.close_on_exec();
    k.signals.reset_for_exec();
    super::timer::delete_all(k);
    // The robust list lived in the old program's memory (Linux drops it at exec too).
    let _ = host().thread_set_robust_list(0, 24);
    if let Some(t) = k.threads.get_mut(&k.current_tid) {
        t.robust_list = 0;
    }
    let loaded = match exec::load(
        &image,
        file.0,
        &argv,
        &envp,
        &name,
        (k.uid, k.gid),
        &mut k.vmas,
    ) {
        Ok(l) => l,
        Err(e) => {
            let mut line = alloc::string::String::new();
            let _ = core::fmt::write(
                &mut line,
                format_args!(
                    "picobox: execve of {}: {e}",
                    alloc::string::String::from_utf8_lossy(&name)
                ),
            );
            host().debug_log(&line);
            super::signal::die_of(super::signal::SIGKILL)
        }
    };
    k.brk = Brk {
        start: loaded.brk,
        current: loaded.brk,
        mapped_end: loaded.brk,
    };
    k.program = file;
    k.program_name = name;
    k.cmdline = crate::kernel::nul_joined(&argv);
    k.environ = crate::kernel::nul_joined(&envp);
    k.auxv = loaded.auxv;
    Ok(Return::Fresh(loaded.entry))
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
