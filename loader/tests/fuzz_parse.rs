//! Property tests: the ELF parser never panics, whatever bytes it is given, and anything it
//! accepts satisfies the invariants the mapper relies on.

use picobox_loader::ElfImage;
use proptest::prelude::*;

/// A minimal valid static x86-64 executable header with one R+X segment.
fn minimal_elf() -> Vec<u8> {
    let mut e = vec![0u8; 64 + 56];
    e[..4].copy_from_slice(b"\x7fELF");
    e[4] = 2; // 64-bit
    e[5] = 1; // little-endian
    e[6] = 1; // version
    e[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    e[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
    e[20..24].copy_from_slice(&1u32.to_le_bytes());
    e[24..32].copy_from_slice(&0x40_0070u64.to_le_bytes()); // entry
    e[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
    e[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
    e[54..56].copy_from_slice(&56u16.to_le_bytes()); // phentsize
    e[56..58].copy_from_slice(&1u16.to_le_bytes()); // phnum
    let p = 64;
    e[p..p + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    e[p + 4..p + 8].copy_from_slice(&5u32.to_le_bytes()); // R+X
    e[p + 16..p + 24].copy_from_slice(&0x40_0000u64.to_le_bytes()); // vaddr
    e[p + 32..p + 40].copy_from_slice(&120u64.to_le_bytes()); // filesz
    e[p + 40..p + 48].copy_from_slice(&120u64.to_le_bytes()); // memsz
    e
}

fn parse(bytes: &[u8]) -> Result<ElfImage, picobox_loader::ElfError> {
    ElfImage::parse(bytes, bytes.len() as u64, |off, buf| {
        let start = usize::try_from(off).map_err(|_| picobox_loader::ElfError::Truncated)?;
        let end = start
            .checked_add(buf.len())
            .ok_or(picobox_loader::ElfError::Truncated)?;
        buf.copy_from_slice(
            bytes
                .get(start..end)
                .ok_or(picobox_loader::ElfError::Truncated)?,
        );
        Ok(())
    })
}

#[test]
fn the_minimal_executable_is_accepted() {
    let img = parse(&minimal_elf()).unwrap();
    assert_eq!(img.entry, 0x40_0070);
    assert_eq!(img.segments.len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn mutated_headers_never_panic_and_accepted_images_are_sane(
        edits in proptest::collection::vec((0usize..120, any::<u8>()), 1..12)
    ) {
        let mut e = minimal_elf();
        for (at, v) in edits {
            e[at] = v;
        }
        if let Ok(img) = parse(&e) {
            prop_assert!(!img.segments.is_empty());
            prop_assert!(img.span_start < img.span_end);
            for s in &img.segments {
                prop_assert!(s.filesz <= s.memsz);
                prop_assert!(s.offset + s.filesz <= e.len() as u64);
            }
            prop_assert!(img.segments.iter().any(|s| img.entry >= s.vaddr && img.entry < s.vaddr + s.memsz));
        }
    }
}
