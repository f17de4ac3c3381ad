//! The program's memory map as the library OS made it: every range it mapped for the program
//! (image, stack, heap, `mmap`), with its protection. `execve` unmaps exactly these, leaving
//! the runtime's own memory alone, and `/proc/self/maps` shows them.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// What a range is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Area {
    /// `PROT_*` bits.
    pub prot: u32,
    /// `MAP_SHARED` (else private).
    pub shared: bool,
    /// A shared mapping of a file opened without write access: it can never be made writable
    /// (`mprotect` is `EACCES`, as on Linux).
    pub never_writable: bool,
    /// What `/proc/self/maps` names it.
    pub label: Label,
    /// Sealed by `mseal`: it can no longer be unmapped, moved, remapped or reprotected.
    pub sealed: bool,
    /// Locked by `mlock` or `mlockall` (recorded: `/proc/PID/status` counts it, and `msync`
    /// will not invalidate it).
    pub locked: bool,
    /// What a forked child gets of it (`madvise`'s `MADV_WIPEONFORK`, `MADV_DONTFORK`).
    pub on_fork: OnFork,
    /// The file it maps (not anonymous memory, nor `/dev/zero`), as `/proc/self/maps` names
    /// it (see [`Vmas::file_id`]).
    pub file: Option<FileId>,
    /// For a file mapping, the address at which the file's offset 0 would be (so a part of
    /// the range keeps its offset, `addr - origin`, however the range is split).
    pub origin: u64,
}

/// A file some range maps: an index into [`Vmas`]'s table of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId(u32);

/// What `/proc/self/maps` shows of a mapped file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedFile {
    /// Its path in the box.
    pub path: Vec<u8>,
    /// Its device number.
    pub dev: u64,
    /// Its inode number.
    pub ino: u64,
}

/// What a forked child gets of a range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnFork {
    /// A copy (the default, `MADV_DOFORK`, `MADV_KEEPONFORK`).
    #[default]
    Copy,
    /// The range, zero-filled (`MADV_WIPEONFORK`).
    Wipe,
    /// Nothing: the range is not mapped in the child (`MADV_DONTFORK`).
    Drop,
}

/// The names `/proc/self/maps` gives some ranges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Label {
    /// Nothing.
    #[default]
    None,
    /// The program break's heap.
    Heap,
    /// The initial thread's stack.
    Stack,
}

impl Area {
    /// The file offset at `addr`, for a file mapping (else 0).
    pub fn offset_at(&self, addr: u64) -> u64 {
        if self.file.is_some() {
            addr.wrapping_sub(self.origin)
        } else {
            0
        }
    }

    /// The same range moved by `by` bytes (`mremap`): its file offsets stay.
    pub fn moved(self, by: u64) -> Area {
        Area {
            origin: self.origin.wrapping_add(by),
            ..self
        }
    }

    /// Private memory with protection `prot`.
    pub fn private(prot: u32) -> Area {
        Area {
            prot,
            ..Area::default()
        }
    }
}

/// Disjoint ranges `[start, end)`, keyed by start.
#[derive(Default, Debug, Clone)]
pub struct Vmas {
    ranges: BTreeMap<u64, (u64, Area)>,
    /// The files ranges map, each once.
    files: Vec<MappedFile>,
}

impl Vmas {
    /// The id of `file` in the table of mapped files, added if new (the table first drops
    /// the files no range maps any more, once it has grown).
    pub fn file_id(&mut self, file: MappedFile) -> FileId {
        let at = match self.files.iter().position(|f| *f == file) {
            Some(at) => at,
            None => {
                if self.files.len() >= 32 && self.files.len().is_power_of_two() {
                    self.drop_unmapped_files();
                }
                self.files.push(file);
                self.files.len() - 1
            }
        };
        FileId(u32::try_from(at).unwrap_or(u32::MAX))
    }

    /// Renumbers the table of mapped files to those some range still maps.
    fn drop_unmapped_files(&mut self) {
        let mut renumbered: BTreeMap<u32, u32> = BTreeMap::new();
        let mut kept = Vec::new();
        for (_, area) in self.ranges.values_mut() {
            if let Some(FileId(old)) = area.file {
                let new = *renumbered.entry(old).or_insert_with(|| {
                    kept.push(self.files[old as usize].clone());
                    (kept.len() - 1) as u32
                });
                area.file = Some(FileId(new));
            }
        }
        self.files = kept;
    }

    /// The mapped file `id` names.
    pub fn file(&self, id: FileId) -> Option<&MappedFile> {
        self.files.get(id.0 as usize)
    }

    /// Records `[start, end)` as `area`, replacing whatever it overlaps (as `MAP_FIXED` does).
    pub fn insert(&mut self, start: u64, end: u64, area: Area) {
        if start >= end {
            return;
        }
        self.remove(start, end);
        self.ranges.insert(start, (end, area));
        self.merge_at(start);
        self.merge_at(end);
    }

    /// Whether some recorded part of `[start, end)` may never be made writable.
    pub fn any_never_writable(&self, start: u64, end: u64) -> bool {
        self.overlapping(start, end)
            .iter()
            .any(|(_, _, area)| area.never_writable)
    }

    /// Whether some recorded part of `[start, end)` is sealed.
    pub fn any_sealed(&self, start: u64, end: u64) -> bool {
        self.overlapping(start, end)
            .iter()
            .any(|(_, _, area)| area.sealed)
    }

    /// Whether `[start, end)` is recorded all through, without a gap.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        for (s, e, _) in self.overlapping(start, end) {
            if s > at {
                return false;
            }
            at = at.max(e);
        }
        at >= end
    }

    /// Sets what a forked child gets of the recorded parts of `[start, end)`.
    pub fn set_on_fork(&mut self, start: u64, end: u64, on_fork: OnFork) {
        for (s, e, area) in self.overlapping(start, end) {
            let (from, to) = (s.max(start), e.min(end));
            self.insert(from, to, Area { on_fork, ..area });
        }
    }

    /// Locks or unlocks the recorded parts of `[start, end)`.
    pub fn set_locked(&mut self, start: u64, end: u64, locked: bool) {
        for (s, e, area) in self.overlapping(start, end) {
            let (from, to) = (s.max(start), e.min(end));
            self.insert(from, to, Area { locked, ..area });
        }
    }

    /// Whether some recorded part of `[start, end)` is locked.
    pub fn any_locked(&self, start: u64, end: u64) -> bool {
        self.overlapping(start, end)
            .iter()
            .any(|(_, _, area)| area.locked)
    }

    /// Bytes locked in all.
    pub fn locked_bytes(&self) -> u64 {
        self.iter()
            .filter(|(_, _, a)| a.locked)
            .map(|(s, e, _)| e - s)
            .sum()
    }

    /// Seals the recorded parts of `[start, end)`.
    pub fn seal(&mut self, start: u64, end: u64) {
        for (s, e, area) in self.overlapping(start, end) {
            let (from, to) = (s.max(start), e.min(end));
            self.insert(
                from,
                to,
                Area {
                    sealed: true,
                    ..area
                },
            );
        }
    }

    /// Makes the recorded parts of `[start, end)` map their file from the offset `start - origin`
    /// on (`remap_file_pages`).
    pub fn set_origin(&mut self, start: u64, end: u64, origin: u64) {
        for (s, e, area) in self.overlapping(start, end) {
            let (from, to) = (s.max(start), e.min(end));
            self.insert(from, to, Area { origin, ..area });
        }
    }

    /// Changes the protection of the recorded parts of `[start, end)`.
    pub fn protect(&mut self, start: u64, end: u64, prot: u32) {
        for (s, e, area) in self.overlapping(start, end) {
            let (from, to) = (s.max(start), e.min(end));
            self.insert(from, to, Area { prot, ..area });
        }
    }

    /// Forgets `[start, end)`, splitting ranges that straddle it.
    pub fn remove(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        for (s, e, area) in self.overlapping(start, end) {
            self.ranges.remove(&s);
            if s < start {
                self.ranges.insert(s, (start, area));
            }
            if e > end {
                self.ranges.insert(end, (e, area));
            }
        }
    }

    /// What is recorded at `addr`.
    pub fn area_at(&self, addr: u64) -> Option<Area> {
        self.ranges
            .range(..=addr)
            .next_back()
            .filter(|(_, (end, _))| *end > addr)
            .map(|(_, (_, area))| *area)
    }

    /// Takes every range, leaving the map empty.
    pub fn take_all(&mut self) -> Vec<(u64, u64)> {
        self.files.clear();
        core::mem::take(&mut self.ranges)
            .into_iter()
            .map(|(s, (e, _))| (s, e))
            .collect()
    }

    /// The ranges, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64, Area)> + '_ {
        self.ranges.iter().map(|(s, (e, a))| (*s, *e, *a))
    }

    fn overlapping(&self, start: u64, end: u64) -> Vec<(u64, u64, Area)> {
        self.ranges
            .range(..end)
            .filter(|(_, (e, _))| *e > start)
            .map(|(s, (e, a))| (*s, *e, *a))
            .collect()
    }

    /// Joins the range ending at `at` with the one starting there, if they are alike.
    fn merge_at(&mut self, at: u64) {
        let Some((&s, &(e, area))) = self.ranges.range(..at).next_back() else {
            return;
        };
        if e != at {
            return;
        }
        if let Some(&(next_end, next_area)) = self.ranges.get(&at) {
            if next_area == area {
                self.ranges.remove(&at);
                self.ranges.insert(s, (next_end, area));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(v: &Vmas) -> Vec<(u64, u64, u32)> {
        v.iter().map(|(s, e, a)| (s, e, a.prot)).collect()
    }

    #[test]
    fn insert_merges_alike_and_remove_splits() {
        let mut v = Vmas::default();
        v.insert(0x1000, 0x3000, Area::private(3));
        v.insert(0x3000, 0x4000, Area::private(3));
        v.insert(0x8000, 0x9000, Area::private(1));
        assert_eq!(ranges(&v), [(0x1000, 0x4000, 3), (0x8000, 0x9000, 1)]);
        v.remove(0x2000, 0x3000);
        assert_eq!(
            ranges(&v),
            [
                (0x1000, 0x2000, 3),
                (0x3000, 0x4000, 3),
                (0x8000, 0x9000, 1)
            ]
        );
        v.remove(0, 0x10000);
        assert_eq!(v.iter().count(), 0);
    }

    #[test]
    fn protect_splits_and_rejoins() {
        let mut v = Vmas::default();
        v.insert(0x1000, 0x5000, Area::private(3));
        v.protect(0x2000, 0x3000, 1);
        assert_eq!(
            ranges(&v),
            [
                (0x1000, 0x2000, 3),
                (0x2000, 0x3000, 1),
                (0x3000, 0x5000, 3)
            ]
        );
        v.protect(0x2000, 0x3000, 3);
        assert_eq!(ranges(&v), [(0x1000, 0x5000, 3)]);
        // Unmapped parts stay unmapped.
        v.protect(0, 0x10000, 0);
        assert_eq!(ranges(&v), [(0x1000, 0x5000, 0)]);
        assert_eq!(v.area_at(0x4fff).map(|a| a.prot), Some(0));
        assert_eq!(v.area_at(0x5000), None);
    }

    #[test]
    fn a_new_mapping_replaces_what_it_covers() {
        let mut v = Vmas::default();
        v.insert(0x1000, 0x5000, Area::private(3));
        v.insert(0x2000, 0x3000, Area::private(5));
        assert_eq!(
            ranges(&v),
            [
                (0x1000, 0x2000, 3),
                (0x2000, 0x3000, 5),
                (0x3000, 0x5000, 3)
            ]
        );
    }

    #[test]
    fn a_file_mapping_keeps_its_offsets_when_split_or_moved() {
        let mut v = Vmas::default();
        let id = v.file_id(MappedFile {
            path: b"/f".to_vec(),
            dev: 1,
            ino: 2,
        });
        // Pages 0x10000.. map the file from offset 0x3000.
        let area = Area {
            file: Some(id),
            origin: 0x10000 - 0x3000,
            ..Area::private(1)
        };
        v.insert(0x10000, 0x14000, area);
        v.protect(0x11000, 0x12000, 3);
        let offsets: Vec<u64> = v.iter().map(|(s, _, a)| a.offset_at(s)).collect();
        assert_eq!(offsets, [0x3000, 0x4000, 0x5000]);
        let moved = v.area_at(0x12000).unwrap().moved(0x40000 - 0x12000);
        assert_eq!(moved.offset_at(0x40000), 0x5000);
        // The same file is one entry; a new mapping of the same pages merges with its neighbour.
        assert_eq!(v.file_id(v.file(id).unwrap().clone()), id);
        v.protect(0x11000, 0x12000, 1);
        assert_eq!(v.iter().count(), 1);
    }

    #[test]
    fn files_no_range_maps_leave_the_table() {
        let mut v = Vmas::default();
        let file = |n: u64| MappedFile {
            path: alloc::format!("/f{n}").into_bytes(),
            dev: 1,
            ino: n,
        };
        for n in 0..1000u64 {
            let id = v.file_id(file(n));
            let area = Area {
                file: Some(id),
                ..Area::private(1)
            };
            v.insert(0x10000, 0x11000, area); // each mapping replaces the last
        }
        assert!(v.files.len() <= 64, "{} files kept", v.files.len());
        let (_, _, area) = v.iter().next().unwrap();
        assert_eq!(v.file(area.file.unwrap()), Some(&file(999)));
    }
}
