//! The set of object addresses a walk has already counted.
//!
//! Objects are at least 16 bytes long, so two live objects never share a 16-byte
//! granule of the address space: `addr >> 4` identifies an object. Granules are grouped
//! by 1 KiB region, one 64-bit mask per region, kept in a hash map keyed by region.
//! Python objects are packed densely in pymalloc pools, so a walk costs about one bit per
//! 16 bytes of the heap it touches (1–3 bytes per object) instead of the 16–40 bytes an
//! address hash set needs.

use ahash::AHashMap;

const GRANULE_BITS: u32 = 4;
const REGION_BITS: u32 = GRANULE_BITS + 6;

#[derive(Default)]
pub struct VisitedSet {
    regions: AHashMap<usize, u64>,
    len: usize,
}

impl VisitedSet {
    #[inline]
    fn split(address: usize) -> (usize, u64) {
        (address >> REGION_BITS, 1u64 << ((address >> GRANULE_BITS) & 63))
    }

    /// Adds `address`; returns `false` if it was already present.
    #[inline]
    pub fn insert(&mut self, address: usize) -> bool {
        let (region, bit) = Self::split(address);
        let mask = self.regions.entry(region).or_insert(0);
        if *mask & bit != 0 {
            return false;
        }
        *mask |= bit;
        self.len += 1;
        true
    }

    #[inline]
    pub fn contains(&self, address: usize) -> bool {
        let (region, bit) = Self::split(address);
        self.regions.get(&region).is_some_and(|mask| mask & bit != 0)
    }

    /// Number of addresses present.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn clear(&mut self) {
        self.regions = AHashMap::new();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_objects_are_distinct() {
        let mut set = VisitedSet::default();
        assert!(set.insert(0x1000));
        assert!(set.insert(0x1010));
        assert!(!set.insert(0x1000));
        assert!(set.contains(0x1010));
        assert!(!set.contains(0x1020));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn region_boundaries() {
        let mut set = VisitedSet::default();
        // Last granule of one region and first of the next.
        assert!(set.insert(0x3f0));
        assert!(set.insert(0x400));
        assert!(set.contains(0x3f0) && set.contains(0x400));
        assert!(!set.contains(0x3e0));
        set.clear();
        assert_eq!(set.len(), 0);
        assert!(!set.contains(0x400));
    }

    #[test]
    fn many_addresses() {
        let mut set = VisitedSet::default();
        for i in 0..100_000usize {
            assert!(set.insert(0x7f00_0000_0000 + i * 48));
        }
        for i in 0..100_000usize {
            assert!(!set.insert(0x7f00_0000_0000 + i * 48));
        }
        assert_eq!(set.len(), 100_000);
    }
}
