//! The snapshot file (docs/snapshot.md, "Format"): a header, one metadata section, memory in
//! page runs, a trailer. Plain `alloc` code, so that the `no_std` runtime can write and read it
//! too; this module holds only the container, not what the metadata says.
//!
//! ```text
//! header   "PICOSNAP", version u32, flags u32, build id [20], metadata length u64,
//!          metadata checksum u64                                       (52 bytes)
//! metadata the bytes the header counts
//! chunk*   "CHNK", process index u32, first address u64, pages u32, checksum of the pages
//!          u64, zeros up to
//!          the next multiple of 4096 bytes in the file, pages × 4096 bytes
//! trailer  "TRLR", chunk count u64, memory bytes u64, seal [32] (`seal.rs`: whose
//!          snapshot it is), checksum u64 of everything in the file before it but the pages
//!          (which their chunks' checksums cover)
//! ```
//!
//! All numbers are little-endian. Chunks come in ascending address order without overlap,
//! which makes the file deterministic for the same memory and lets the reader check each
//! range once. The reader takes the file as untrusted input: every length is checked against
//! what remains of the file and against the caller's limits before anything is allocated,
//! and a file that is truncated, corrupted, of another version or from another build is
//! refused with an error that says which. Checksums find corruption, not forgery; the seal
//! tells the user's own snapshots from others, whose box confinement a restore does not take
//! from the file (`seal.rs`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The file's first bytes.
pub const MAGIC: [u8; 8] = *b"PICOSNAP";
/// The format version this code writes and reads.
pub const VERSION: u32 = 3;
/// Bytes of a memory page.
pub const PAGE: u64 = 4096;
/// The header's size.
const HEADER: usize = 52;
/// A chunk's head, before its pages.
const CHUNK_HEAD: usize = 4 + 4 + 8 + 4 + 8;
/// The trailer's size.
const TRAILER: usize = 4 + 8 + 8 + 32 + 8;
/// Addresses end below this (the top of x86-64 user space).
const USER_END: u64 = 0x7fff_ffff_f000;

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// Not a picobox snapshot (no magic).
    NotASnapshot,
    /// Written in another format version.
    Version(u32),
    /// Written by another build of picobox (its build id), whose runtime it holds.
    Build([u8; 20]),
    /// The file ends early, in the part named.
    Truncated(&'static str),
    /// A checksum does not match, in the part named.
    Corrupted(String),
    /// Well formed but beyond the caller's limits.
    TooLarge(String),
    /// A field holds what no writer writes.
    Malformed(String),
}

impl core::fmt::Display for FormatError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FormatError::NotASnapshot => write!(f, "not a picobox snapshot"),
            FormatError::Version(v) => write!(
                f,
                "a snapshot of format version {v}; this picobox reads version {VERSION}"
            ),
            FormatError::Build(_) => write!(
                f,
                "made by another build of picobox: restore it with the picobox that made it"
            ),
            FormatError::Truncated(part) => write!(f, "the snapshot ends early (in its {part})"),
            FormatError::Corrupted(part) => write!(f, "the snapshot is corrupted (its {part})"),
            FormatError::TooLarge(what) => write!(f, "the snapshot is too large: {what}"),
            FormatError::Malformed(what) => write!(f, "the snapshot is malformed: {what}"),
        }
    }
}

/// A 64-bit checksum, fed in pieces: the same bytes give the same sum however they are cut.
/// Four independent multiply-rotate lanes over 32-byte blocks, so that the processor runs
/// them side by side: several gigabytes a second, beside which copying the pages dominates.
#[derive(Clone)]
pub struct Checksum {
    lanes: [u64; 4],
    pending: [u8; 32],
    pending_len: usize,
    total: u64,
}

impl Default for Checksum {
    fn default() -> Checksum {
        Checksum {
            lanes: [
                0x243f_6a88_85a3_08d3,
                0x1319_8a2e_0370_7344,
                0xa409_3822_299f_31d0,
                0x082e_fa98_ec4e_6c89,
            ],
            pending: [0; 32],
            pending_len: 0,
            total: 0,
        }
    }
}

impl Checksum {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    fn block(&mut self, b: &[u8]) {
        for (lane, w) in self.lanes.iter_mut().zip(b.chunks_exact(8)) {
            let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
            *lane = (*lane ^ w).wrapping_mul(Self::K).rotate_left(29);
        }
    }

    /// Adds `bytes`.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        if self.pending_len > 0 {
            let n = bytes.len().min(32 - self.pending_len);
            self.pending[self.pending_len..self.pending_len + n].copy_from_slice(&bytes[..n]);
            self.pending_len += n;
            bytes = &bytes[n..];
            if self.pending_len < 32 {
                return;
            }
            let block = self.pending;
            self.block(&block);
            self.pending_len = 0;
        }
        let mut blocks = bytes.chunks_exact(32);
        for b in &mut blocks {
            self.block(b);
        }
        let rest = blocks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// The sum of everything added (the length counts, so that trailing zeros do).
    pub fn finish(&self) -> u64 {
        let mut last = self.clone();
        if last.pending_len > 0 {
            let mut b = [0u8; 32];
            b[..last.pending_len].copy_from_slice(&last.pending[..last.pending_len]);
            last.block(&b);
        }
        let mut sum = last.total;
        for lane in last.lanes {
            sum = (sum ^ lane).wrapping_mul(Self::K).rotate_left(31);
        }
        sum
    }

    /// The sum of `bytes` alone.
    pub fn of(bytes: &[u8]) -> u64 {
        let mut c = Checksum::default();
        c.update(bytes);
        c.finish()
    }
}

/// Writes a snapshot into a byte sink, in order: [`Writer::new`] (header and metadata), then
/// [`Writer::chunk`] for each page run in ascending order, then [`Writer::finish`].
pub struct Writer<F: FnMut(&[u8])> {
    out: F,
    /// Bytes written so far (where the next one goes in the file).
    offset: u64,
    running: Checksum,
    chunks: u64,
    memory: u64,
    next_address: u64,
    /// The process whose pages came last (chunks go in process, then address, order).
    process: u32,
}

impl<F: FnMut(&[u8])> Writer<F> {
    /// Starts a snapshot of `build_id`'s runtime with `metadata`.
    pub fn new(out: F, build_id: [u8; 20], metadata: &[u8]) -> Writer<F> {
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(&MAGIC);
        header.extend_from_slice(&VERSION.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&build_id);
        header.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
        header.extend_from_slice(&Checksum::of(metadata).to_le_bytes());
        let mut w = Writer {
            out,
            offset: 0,
            running: Checksum::default(),
            chunks: 0,
            memory: 0,
            next_address: 0,
            process: 0,
        };
        w.put(&header);
        w.put(metadata);
        w
    }

    fn put(&mut self, bytes: &[u8]) {
        self.running.update(bytes);
        self.offset += bytes.len() as u64;
        (self.out)(bytes);
    }

    /// Adds the pages at `address` (page-aligned, above the last chunk's end; `pages` a
    /// whole number of pages). Returns an error, writing nothing, for a run out of order.
    pub fn chunk(&mut self, address: u64, pages: &[u8]) -> Result<(), FormatError> {
        self.chunk_of(0, address, pages)
    }

    /// Adds the pages at `address` of the box's process with index `process` (the metadata's
    /// order): processes in ascending order, each one's runs ascending.
    pub fn chunk_of(
        &mut self,
        process: u32,
        address: u64,
        pages: &[u8],
    ) -> Result<(), FormatError> {
        if process < self.process {
            return Err(FormatError::Malformed(format!(
                "pages of process {process} after those of process {}",
                self.process
            )));
        }
        if process > self.process {
            self.process = process;
            self.next_address = 0;
        }
        let count = pages.len() as u64 / PAGE;
        if !address.is_multiple_of(PAGE)
            || !(pages.len() as u64).is_multiple_of(PAGE)
            || count == 0
            || count > u64::from(u32::MAX)
            || address < self.next_address
            || address
                .checked_add(pages.len() as u64)
                .is_none_or(|end| end > USER_END)
        {
            return Err(FormatError::Malformed(format!(
                "a page run at {address:#x} of {} bytes, out of order or unaligned",
                pages.len()
            )));
        }
        let mut head = Vec::with_capacity(CHUNK_HEAD);
        head.extend_from_slice(b"CHNK");
        head.extend_from_slice(&process.to_le_bytes());
        head.extend_from_slice(&address.to_le_bytes());
        head.extend_from_slice(&(count as u32).to_le_bytes());
        head.extend_from_slice(&Checksum::of(pages).to_le_bytes());
        self.put(&head);
        // The pages start on a page boundary of the file, so that a restore can map them.
        let pad = (PAGE - self.offset % PAGE) % PAGE;
        self.put(&alloc::vec![0u8; pad as usize]);
        // Their own checksum covers them; the running one covers everything else.
        self.offset += pages.len() as u64;
        (self.out)(pages);
        self.chunks += 1;
        self.memory += pages.len() as u64;
        self.next_address = address + pages.len() as u64;
        Ok(())
    }

    /// Writes the trailer, with the snapshot's `seal`.
    pub fn finish(mut self, seal: [u8; 32]) {
        let mut trailer = Vec::with_capacity(TRAILER);
        trailer.extend_from_slice(b"TRLR");
        trailer.extend_from_slice(&self.chunks.to_le_bytes());
        trailer.extend_from_slice(&self.memory.to_le_bytes());
        trailer.extend_from_slice(&seal);
        self.running.update(&trailer);
        let before = self.running.finish();
        trailer.extend_from_slice(&before.to_le_bytes());
        (self.out)(&trailer);
    }
}

/// What a reader accepts at most.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bytes of metadata.
    pub metadata: u64,
    /// Bytes of memory in all chunks (the restored box's `--memory`, say).
    pub memory: u64,
}

/// One page run of a snapshot.
#[derive(Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// The index of the process whose memory it is.
    pub process: u32,
    /// Its first address.
    pub address: u64,
    /// Its pages.
    pub pages: &'a [u8],
    /// The checksum its head gives for its pages.
    pub sum: u64,
}

impl Chunk<'_> {
    /// Whether its pages are those its head's checksum was made of.
    pub fn verify(&self) -> Result<(), FormatError> {
        if Checksum::of(self.pages) == self.sum {
            Ok(())
        } else {
            Err(FormatError::Corrupted(format!(
                "pages at {:#x}",
                self.address
            )))
        }
    }
}

/// A snapshot file, checked whole.
#[derive(Debug)]
pub struct Snapshot<'a> {
    /// The build of picobox that wrote it.
    pub build_id: [u8; 20],
    /// Its metadata section.
    pub metadata: &'a [u8],
    /// Its page runs, ascending.
    pub chunks: Vec<Chunk<'a>>,
    /// Its seal (`seal.rs`).
    pub seal: [u8; 32],
}

/// A little-endian reader over `bytes` that refuses to run past the end.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: u64, part: &'static str) -> Result<&'a [u8], FormatError> {
        let n = usize::try_from(n).map_err(|_| FormatError::Truncated(part))?;
        if self.bytes.len() - self.at < n {
            return Err(FormatError::Truncated(part));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn u32(&mut self, part: &'static str) -> Result<u32, FormatError> {
        let b = self.take(4, part)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, part: &'static str) -> Result<u64, FormatError> {
        let b = self.take(8, part)?;
        Ok(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }
}

/// Checks `bytes` as a snapshot written by build `expected_build` (any build if `None`, for
/// `snapshot inspect`) and returns its parts.
pub fn read<'a>(
    bytes: &'a [u8],
    expected_build: Option<[u8; 20]>,
    limits: Limits,
) -> Result<Snapshot<'a>, FormatError> {
    let s = read_all_but_pages(bytes, expected_build, limits)?;
    for chunk in &s.chunks {
        chunk.verify()?;
    }
    Ok(s)
}

/// Checks `bytes` as [`read`] does, but for the pages themselves: each chunk's checksum is
/// left to [`Chunk::verify`], for a restore that checks them while it builds the box.
pub fn read_all_but_pages<'a>(
    bytes: &'a [u8],
    expected_build: Option<[u8; 20]>,
    limits: Limits,
) -> Result<Snapshot<'a>, FormatError> {
    let mut c = Cursor { bytes, at: 0 };
    if c.take(8, "header").ok() != Some(&MAGIC[..]) {
        return Err(FormatError::NotASnapshot);
    }
    let version = c.u32("header")?;
    if version != VERSION {
        return Err(FormatError::Version(version));
    }
    if c.u32("header")? != 0 {
        return Err(FormatError::Malformed("unknown header flags".into()));
    }
    let mut build_id = [0u8; 20];
    build_id.copy_from_slice(c.take(20, "header")?);
    let metadata_len = c.u64("header")?;
    let metadata_sum = c.u64("header")?;
    if bytes.len() < HEADER + TRAILER {
        return Err(FormatError::Truncated("trailer"));
    }
    // Everything but the pages, which their chunks' own checksums cover.
    let mut running = Checksum::default();
    running.update(&bytes[..c.at]);
    if metadata_len > limits.metadata {
        return Err(FormatError::TooLarge(format!(
            "{metadata_len} bytes of metadata (at most {})",
            limits.metadata
        )));
    }
    let metadata = c.take(metadata_len, "metadata")?;
    if Checksum::of(metadata) != metadata_sum {
        return Err(FormatError::Corrupted("metadata".into()));
    }
    running.update(metadata);
    let end_of_chunks = bytes.len() - TRAILER;
    let mut chunks = Vec::new();
    let (mut memory, mut next_address, mut last_process) = (0u64, 0u64, 0u32);
    while c.at < end_of_chunks {
        let head_at = c.at;
        if c.take(4, "chunk")? != b"CHNK" {
            return Err(FormatError::Malformed(format!(
                "no chunk at byte {head_at}"
            )));
        }
        let process = c.u32("chunk")?;
        if process < last_process {
            return Err(FormatError::Malformed(format!(
                "pages of process {process} after those of process {last_process}"
            )));
        }
        if process > last_process {
            last_process = process;
            next_address = 0;
        }
        let address = c.u64("chunk")?;
        let count = c.u32("chunk")?;
        let sum = c.u64("chunk")?;
        running.update(&bytes[head_at..c.at]);
        let len = u64::from(count) * PAGE;
        if count == 0
            || !address.is_multiple_of(PAGE)
            || address < next_address
            || address.checked_add(len).is_none_or(|end| end > USER_END)
        {
            return Err(FormatError::Malformed(format!(
                "a page run at {address:#x} of {count} pages, out of order or out of range"
            )));
        }
        memory += len;
        if memory > limits.memory {
            return Err(FormatError::TooLarge(format!(
                "more than {} bytes of memory",
                limits.memory
            )));
        }
        let pad = (PAGE - c.at as u64 % PAGE) % PAGE;
        running.update(c.take(pad, "chunk")?);
        if (end_of_chunks.saturating_sub(c.at) as u64) < len {
            return Err(FormatError::Truncated("memory"));
        }
        let pages = c.take(len, "memory")?;
        chunks.push(Chunk {
            process,
            address,
            pages,
            sum,
        });
        next_address = address + len;
    }
    let trailer_at = c.at;
    if c.at != end_of_chunks || c.take(4, "trailer")? != b"TRLR" {
        return Err(FormatError::Malformed(
            "no trailer where the chunks end".into(),
        ));
    }
    let (count, total) = (c.u64("trailer")?, c.u64("trailer")?);
    let mut seal = [0u8; 32];
    seal.copy_from_slice(c.take(32, "trailer")?);
    running.update(&bytes[trailer_at..c.at]);
    if c.u64("trailer")? != running.finish() {
        return Err(FormatError::Corrupted(
            "header, chunk heads or trailer".into(),
        ));
    }
    if count != chunks.len() as u64 || total != memory {
        return Err(FormatError::Malformed(
            "the trailer counts other chunks than the file holds".into(),
        ));
    }
    if expected_build.is_some_and(|e| e != build_id) {
        return Err(FormatError::Build(build_id));
    }
    Ok(Snapshot {
        build_id,
        metadata,
        chunks,
        seal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BUILD: [u8; 20] = [7; 20];
    const LIMITS: Limits = Limits {
        metadata: 1 << 20,
        memory: 1 << 24,
    };

    fn sample() -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = Writer::new(|b: &[u8]| out.extend_from_slice(b), BUILD, b"processes: 1");
        let pages: Vec<u8> = (0..2 * PAGE).map(|i| (i % 251) as u8).collect();
        w.chunk(0x40_0000, &pages).unwrap();
        w.chunk(0x7f00_0000_0000, &[9u8; 4096]).unwrap();
        w.finish([7; 32]);
        out
    }

    #[test]
    fn a_snapshot_reads_back_as_written_and_deterministically() {
        let file = sample();
        assert_eq!(file, sample());
        let s = read(&file, Some(BUILD), LIMITS).unwrap();
        assert_eq!(s.metadata, b"processes: 1");
        assert_eq!(s.chunks.len(), 2);
        assert_eq!(s.chunks[0].address, 0x40_0000);
        assert_eq!(s.chunks[0].pages.len(), 8192);
        assert_eq!(s.chunks[1].pages, &[9u8; 4096][..]);
    }

    #[test]
    fn foreign_old_and_other_builds_files_are_refused_with_what_they_are() {
        let file = sample();
        assert_eq!(
            read(b"#!/bin/sh\necho hi\n", None, LIMITS).unwrap_err(),
            FormatError::NotASnapshot
        );
        let mut old = file.clone();
        old[8] = 1;
        assert_eq!(
            read(&old, None, LIMITS).unwrap_err(),
            FormatError::Version(1)
        );
        assert_eq!(
            read(&file, Some([1; 20]), LIMITS).unwrap_err(),
            FormatError::Build(BUILD)
        );
        assert!(read(&file, None, LIMITS).is_ok());
        let small = Limits {
            metadata: 4,
            memory: 1 << 24,
        };
        assert!(matches!(
            read(&file, None, small),
            Err(FormatError::TooLarge(_))
        ));
        let small = Limits {
            metadata: 1 << 20,
            memory: 4096,
        };
        assert!(matches!(
            read(&file, None, small),
            Err(FormatError::TooLarge(_))
        ));
    }

    #[test]
    fn the_writer_refuses_runs_out_of_order() {
        let mut w = Writer::new(|_: &[u8]| {}, BUILD, b"");
        w.chunk(0x2000, &[0; 4096]).unwrap();
        assert!(w.chunk(0x1000, &[0; 4096]).is_err());
        assert!(
            w.chunk(0x2000, &[0; 4096]).is_err(),
            "overlaps the last run"
        );
        assert!(w.chunk(0x3001, &[0; 4096]).is_err());
        assert!(w.chunk(0x4000, &[0; 100]).is_err());
        assert!(w.chunk(USER_END, &[0; 4096]).is_err());
    }

    #[test]
    fn the_checksum_is_the_same_however_the_bytes_are_cut() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        for cut in [0, 1, 7, 8, 9, 500, 999, 1000] {
            let mut c = Checksum::default();
            c.update(&bytes[..cut]);
            c.update(&bytes[cut..]);
            assert_eq!(c.finish(), Checksum::of(&bytes), "cut at {cut}");
        }
        assert_ne!(Checksum::of(&[0; 8]), Checksum::of(&[0; 16]));
    }

    proptest! {
        // The reader's fuzz test: any file cut short, any byte changed, anything appended is
        // refused (never a panic, never a snapshot that differs from what was written).
        #[test]
        fn every_truncation_is_refused(len in 0usize..20000) {
            let file = sample();
            let len = len % file.len();
            prop_assert!(read(&file[..len], None, LIMITS).is_err());
        }

        #[test]
        fn every_changed_byte_is_refused(at in 0usize..20000, xor in 1u8..=255) {
            let mut file = sample();
            let at = at % file.len();
            file[at] ^= xor;
            prop_assert!(read(&file, None, LIMITS).is_err());
        }

        #[test]
        fn random_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                    magic in any::<bool>()) {
            let mut file = bytes;
            if magic && file.len() >= 12 {
                file[..8].copy_from_slice(&MAGIC);
                file[8..12].copy_from_slice(&VERSION.to_le_bytes());
            }
            prop_assert!(read(&file, None, LIMITS).is_err());
        }

        #[test]
        fn appended_bytes_are_refused(extra in proptest::collection::vec(any::<u8>(), 1..64)) {
            let mut file = sample();
            file.extend_from_slice(&extra);
            prop_assert!(read(&file, None, LIMITS).is_err());
        }
    }
}
