//! Guest paths as lists of components, and the lexical operations on them.

use alloc::vec::Vec;
use picobox_abi::{Errno, Result};

/// Longest path accepted, including the terminating NUL (Linux's `PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// Longest single component (Linux's `NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// An absolute guest path, as its components (no `.`, `..` or empty ones). `[]` is `/`.
pub type Components = Vec<Vec<u8>>;

/// Splits `path` into components, keeping `.` and `..` for the resolver.
/// Errors: `ENAMETOOLONG` for a component longer than [`NAME_MAX`].
pub fn split(path: &[u8]) -> Result<Vec<&[u8]>> {
    let parts: Vec<&[u8]> = path
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    if parts.iter().any(|c| c.len() > NAME_MAX) {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(parts)
}

/// Joins components into an absolute path (`/` for none).
pub fn join(components: &[Vec<u8>]) -> Vec<u8> {
    if components.is_empty() {
        return b"/".to_vec();
    }
    let mut out = Vec::new();
    for c in components {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    out
}

/// Joins components into a path relative to some root (empty for none).
pub fn join_relative(components: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, c) in components.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(c);
    }
    out
}

/// Lexically normalises an absolute path: drops `.` and empty components, applies `..`
/// (never above `/`).
pub fn normalize(path: &[u8]) -> Result<Components> {
    let mut out: Components = Vec::new();
    for c in split(path)? {
        match c {
            b"." => {}
            b".." => {
                out.pop();
            }
            c => out.push(c.to_vec()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_never_climbs_above_root() {
        let n = normalize(b"/a/./b/../../../c//d/").unwrap();
        assert_eq!(join(&n), b"/c/d");
        assert_eq!(join(&normalize(b"/..").unwrap()), b"/");
        assert_eq!(join_relative(&normalize(b"/x/y").unwrap()), b"x/y");
    }

    #[test]
    fn long_components_are_refused() {
        let mut p = alloc::vec![b'/'];
        p.extend(core::iter::repeat_n(b'a', 256));
        assert_eq!(split(&p), Err(Errno::ENAMETOOLONG));
    }
}
