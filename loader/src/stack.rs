//! The initial stack of a new program, as the Linux kernel lays it out for `execve`:
//!
//! ```text
//! top →  [strings: execfn, argv[], envp[], platform] [16 random bytes] (padding)
//!        auxv pairs … AT_NULL, envp pointers … NULL, argv pointers … NULL, argc   ← sp (16-aligned)
//! ```

use alloc::vec::Vec;
use picobox_abi::Errno;

/// Auxiliary vector keys used by picobox (values as in `<elf.h>`).
#[allow(missing_docs)]
pub mod auxv {
    pub const AT_NULL: u64 = 0;
    pub const AT_PHDR: u64 = 3;
    pub const AT_PHENT: u64 = 4;
    pub const AT_PHNUM: u64 = 5;
    pub const AT_PAGESZ: u64 = 6;
    pub const AT_BASE: u64 = 7;
    pub const AT_FLAGS: u64 = 8;
    pub const AT_ENTRY: u64 = 9;
    pub const AT_UID: u64 = 11;
    pub const AT_EUID: u64 = 12;
    pub const AT_GID: u64 = 13;
    pub const AT_EGID: u64 = 14;
    pub const AT_PLATFORM: u64 = 15;
    pub const AT_HWCAP: u64 = 16;
    pub const AT_CLKTCK: u64 = 17;
    pub const AT_SECURE: u64 = 23;
    pub const AT_RANDOM: u64 = 25;
    pub const AT_HWCAP2: u64 = 26;
    pub const AT_EXECFN: u64 = 31;
    pub const AT_SYSINFO_EHDR: u64 = 33;
    pub const AT_MINSIGSTKSZ: u64 = 51;
    /// picobox's own entry: the address of the host's syscall gate (see `docs/threat-model.md`).
    pub const AT_PICOBOX_GATE: u64 = 0x7062;
}

/// Most bytes of arguments and environment accepted, as Linux's default (a quarter of 8 MiB).
pub const MAX_ARG_BYTES: usize = 2 * 1024 * 1024;

/// What goes on the stack.
pub struct StackContents<'a> {
    /// Arguments.
    pub argv: &'a [Vec<u8>],
    /// Environment.
    pub envp: &'a [Vec<u8>],
    /// Auxiliary entries, except `AT_RANDOM`, `AT_EXECFN`, `AT_PLATFORM` and `AT_NULL`, which
    /// [`build`] adds because they point into the stack.
    pub auxv: &'a [(u64, u64)],
    /// The program's name for `AT_EXECFN`.
    pub execfn: &'a [u8],
    /// 16 random bytes for `AT_RANDOM`.
    pub random: [u8; 16],
}

/// Lays out the stack whose highest address is `top` (exclusive, 16-aligned). Returns the
/// bytes that belong at `[sp, top)` and `sp`. Errors: `E2BIG` if arguments and environment
/// exceed [`MAX_ARG_BYTES`], `EINVAL` if `top` is not 16-aligned.
pub fn build(top: u64, c: &StackContents<'_>) -> Result<(Vec<u8>, u64), Errno> {
    if !top.is_multiple_of(16) {
        return Err(Errno::EINVAL);
    }
    let string_bytes: usize = c
        .argv
        .iter()
        .chain(c.envp)
        .map(|s| s.len() + 1)
        .sum::<usize>()
        + c.execfn.len()
        + 1;
    if string_bytes > MAX_ARG_BYTES || c.argv.len() + c.envp.len() > MAX_ARG_BYTES / 8 {
        return Err(Errno::E2BIG);
    }
    // Strings area, built downward from top: we build it upward in `strings` and place it so
    // that it ends at `top`.
    const PLATFORM: &[u8] = b"x86_64\0";
    let mut strings: Vec<u8> = Vec::with_capacity(string_bytes + 32);
    let mut offsets = Vec::with_capacity(c.argv.len() + c.envp.len());
    let execfn_off = strings.len();
    strings.extend_from_slice(c.execfn);
    strings.push(0);
    for s in c.argv.iter().chain(c.envp) {
        offsets.push(strings.len());
        strings.extend_from_slice(s);
        strings.push(0);
    }
    let platform_off = strings.len();
    strings.extend_from_slice(PLATFORM);
    let random_off = strings.len();
    strings.extend_from_slice(&c.random);
    let strings_base = top - strings.len() as u64;
    let at = |off: usize| strings_base + off as u64;

    let mut words: Vec<u64> = Vec::new();
    words.push(c.argv.len() as u64);
    let (argv_offs, envp_offs) = offsets.split_at(c.argv.len());
    words.extend(argv_offs.iter().map(|o| at(*o)));
    words.push(0);
    words.extend(envp_offs.iter().map(|o| at(*o)));
    words.push(0);
    for (k, v) in c.auxv {
        words.extend([*k, *v]);
    }
    words.extend([auxv::AT_RANDOM, at(random_off)]);
    words.extend([auxv::AT_EXECFN, at(execfn_off)]);
    words.extend([auxv::AT_PLATFORM, at(platform_off)]);
    words.extend([auxv::AT_NULL, 0]);

    let words_len = words.len() as u64 * 8;
    let sp = (strings_base - words_len) & !15;
    let total = usize::try_from(top - sp).map_err(|_| Errno::E2BIG)?;
    let mut out = alloc::vec![0u8; total];
    for (i, w) in words.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    let strings_at = total - strings.len();
    out[strings_at..].copy_from_slice(&strings);
    Ok((out, sp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn word(bytes: &[u8], i: usize) -> u64 {
        u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap())
    }

    #[test]
    fn layout_matches_linux() {
        let argv = vec![b"prog".to_vec(), b"arg".to_vec()];
        let envp = vec![b"K=V".to_vec()];
        let c = StackContents {
            argv: &argv,
            envp: &envp,
            auxv: &[(auxv::AT_PAGESZ, 4096)],
            execfn: b"/bin/prog",
            random: [7; 16],
        };
        let top = 0x7000_0000u64;
        let (bytes, sp) = build(top, &c).unwrap();
        assert_eq!(sp % 16, 0);
        assert_eq!(bytes.len() as u64, top - sp);
        assert_eq!(word(&bytes, 0), 2);
        let str_at = |addr: u64| {
            let off = (addr - sp) as usize;
            let end = bytes[off..].iter().position(|b| *b == 0).unwrap();
            bytes[off..off + end].to_vec()
        };
        assert_eq!(str_at(word(&bytes, 1)), b"prog");
        assert_eq!(str_at(word(&bytes, 2)), b"arg");
        assert_eq!(word(&bytes, 3), 0);
        assert_eq!(str_at(word(&bytes, 4)), b"K=V");
        assert_eq!(word(&bytes, 5), 0);
        assert_eq!((word(&bytes, 6), word(&bytes, 7)), (auxv::AT_PAGESZ, 4096));
        assert_eq!(word(&bytes, 8), auxv::AT_RANDOM);
        let random = (word(&bytes, 9) - sp) as usize;
        assert_eq!(&bytes[random..random + 16], &[7; 16]);
        assert_eq!(word(&bytes, 10), auxv::AT_EXECFN);
        assert_eq!(str_at(word(&bytes, 11)), b"/bin/prog");
    }

    #[test]
    fn oversized_arguments_are_refused() {
        let argv = vec![vec![b'a'; MAX_ARG_BYTES]];
        let c = StackContents {
            argv: &argv,
            envp: &[],
            auxv: &[],
            execfn: b"x",
            random: [0; 16],
        };
        assert_eq!(build(0x7000_0000, &c).err(), Some(Errno::E2BIG));
    }
}
