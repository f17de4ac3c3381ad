//! The program's memory map as the library OS made it: every range it mapped for the program
//! (image, stack, heap, `mmap`). `execve` unmaps exactly these, leaving the runtime's own
//! memory alone.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Disjoint ranges `[start, end)`, keyed by start.
#[derive(Default, Debug, Clone)]
pub struct Vmas {
    ranges: BTreeMap<u64, u64>,
}

impl Vmas {
    /// Records `[start, end)` as the program's, merging with what it overlaps or touches.
    pub fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let (mut start, mut end) = (start, end);
        let touching: Vec<(u64, u64)> = self
            .ranges
            .range(..=end)
            .filter(|(s, e)| **e >= start && **s <= end)
            .map(|(s, e)| (*s, *e))
            .collect();
        for (s, e) in touching {
            self.ranges.remove(&s);
            start = start.min(s);
            end = end.max(e);
        }
        self.ranges.insert(start, end);
    }

    /// Forgets `[start, end)`, splitting ranges that straddle it.
    pub fn remove(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let hit: Vec<(u64, u64)> = self
            .ranges
            .range(..end)
            .filter(|(_, e)| **e > start)
            .map(|(s, e)| (*s, *e))
            .collect();
        for (s, e) in hit {
            self.ranges.remove(&s);
            if s < start {
                self.ranges.insert(s, start);
            }
            if e > end {
                self.ranges.insert(end, e);
            }
        }
    }

    /// Takes every range, leaving the map empty.
    pub fn take_all(&mut self) -> Vec<(u64, u64)> {
        core::mem::take(&mut self.ranges).into_iter().collect()
    }

    /// The ranges, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|(s, e)| (*s, *e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_merges_and_remove_splits() {
        let mut v = Vmas::default();
        v.insert(0x1000, 0x3000);
        v.insert(0x3000, 0x4000);
        v.insert(0x8000, 0x9000);
        assert_eq!(
            v.iter().collect::<Vec<_>>(),
            [(0x1000, 0x4000), (0x8000, 0x9000)]
        );
        v.remove(0x2000, 0x3000);
        assert_eq!(
            v.iter().collect::<Vec<_>>(),
            [(0x1000, 0x2000), (0x3000, 0x4000), (0x8000, 0x9000)]
        );
        v.remove(0, 0x10000);
        assert_eq!(v.iter().count(), 0);
    }
}
