//! The set of object addresses a walk has already counted.
//!
//! Objects are at least 16 bytes long, so two live objects never share a 16-byte
//! granule of the address space: `addr >> 4` identifies an object. The set is a bitmap
//! over the address space, one bit per granule, allocated in 1 MiB chunks (8 KiB of
//! bits each) found through a small map. Python objects are packed densely in pymalloc
//! arenas, so a walk costs one bit per 16 bytes of the heap it touches (1-3 bytes per
//! object) instead of the 16-40 bytes an address hash set needs, and neighbouring
//! objects share cache lines of the bitmap. The last chunk used is remembered, so most
//! lookups do no hashing at all.

use crate::grow::{self, Grow, OutOfMemory, TryPush};
use ahash::AHashMap;

const GRANULE_BITS: u32 = 4;
const CHUNK_BITS: u32 = 20;
const WORDS_PER_CHUNK: usize = 1 << (CHUNK_BITS - GRANULE_BITS - 6);
const RECENT: usize = 64;

pub struct VisitedSet {
    /// Chunk number (`addr >> 20`) to its index in `chunks`.
    index: AHashMap<usize, usize>,
    chunks: Vec<Box<[u64]>>,
    /// Recently used chunks, direct-mapped by chunk number: (chunk number + 1, its
    /// words); 0 means empty. Objects of different sizes live in different arenas, so a
    /// walk alternates between a few chunks. Holding the words' address saves a
    /// dependent load per lookup; it stays valid because a chunk's boxed words never
    /// move or go away while the set lives.
    recent: [(usize, *mut u64); RECENT],
    len: usize,
}

impl Default for VisitedSet {
    fn default() -> Self {
        VisitedSet { index: AHashMap::new(), chunks: Vec::new(), recent: [(0, std::ptr::null_mut()); RECENT], len: 0 }
    }
}

impl VisitedSet {
    #[inline]
    fn split(address: usize) -> (usize, usize, u64) {
        let granule = address >> GRANULE_BITS;
        let word = (granule >> 6) & (WORDS_PER_CHUNK - 1);
        (address >> CHUNK_BITS, word, 1u64 << (granule & 63))
    }

    /// The words of chunk number `chunk`, creating them if `create`; `Ok(None)` when it
    /// does not exist and is not created.
    #[inline(always)]
    fn chunk(&mut self, chunk: usize, create: bool) -> Result<Option<*mut u64>, OutOfMemory> {
        let slot = chunk % RECENT;
        if self.recent[slot].0 == chunk + 1 {
            return Ok(Some(self.recent[slot].1));
        }
        self.chunk_slow(chunk, create)
    }

    #[inline(never)]
    fn chunk_slow(&mut self, chunk: usize, create: bool) -> Result<Option<*mut u64>, OutOfMemory> {
        const WHAT: &str = "the set of objects already seen";
        let found = match self.index.get(&chunk) {
            Some(&i) => i,
            None if create => {
                // Room in both containers first, so that a refusal leaves them consistent.
                self.index.grow(1, WHAT)?;
                let words = grow::vec_filled(0u64, WORDS_PER_CHUNK, WHAT)?.into_boxed_slice();
                self.chunks.try_push(words, WHAT)?;
                self.index.insert(chunk, self.chunks.len() - 1);
                self.chunks.len() - 1
            }
            None => return Ok(None),
        };
        let words = self.chunks[found].as_mut_ptr();
        self.recent[chunk % RECENT] = (chunk + 1, words);
        Ok(Some(words))
    }

    /// The words of chunk number `chunk` if it exists, without creating or caching it.
    #[inline(always)]
    fn find(&self, chunk: usize) -> Option<*const u64> {
        let cached = self.recent[chunk % RECENT];
        if cached.0 == chunk + 1 {
            return Some(cached.1);
        }
        self.index.get(&chunk).map(|&i| self.chunks[i].as_ptr())
    }

    /// Adds `address`; returns `false` if it was already present. `Err` (and nothing
    /// added) when the bitmap must grow and the allocator refuses.
    #[inline(always)]
    pub fn insert(&mut self, address: usize) -> Result<bool, OutOfMemory> {
        let (chunk, word, bit) = Self::split(address);
        let Some(words) = self.chunk(chunk, true)? else { return Ok(false) };
        // SAFETY: `words` points to a live chunk of WORDS_PER_CHUNK words, owned by
        // `self.chunks` and never freed while `self` lives; `word` < WORDS_PER_CHUNK.
        let mask = unsafe { &mut *words.add(word) };
        if *mask & bit != 0 {
            return Ok(false);
        }
        *mask |= bit;
        self.len += 1;
        Ok(true)
    }

    /// Removes `address` (after an [`insert`](Self::insert) that must be undone).
    pub fn remove(&mut self, address: usize) {
        let (chunk, word, bit) = Self::split(address);
        if let Ok(Some(words)) = self.chunk(chunk, false) {
            // SAFETY: as in `insert`.
            let mask = unsafe { &mut *words.add(word) };
            if *mask & bit != 0 {
                *mask &= !bit;
                self.len -= 1;
            }
        }
    }

    #[inline(always)]
    pub fn contains(&self, address: usize) -> bool {
        let (chunk, word, bit) = Self::split(address);
        // SAFETY: as in `insert`.
        self.find(chunk).is_some_and(|words| unsafe { *words.add(word) } & bit != 0)
    }

    /// Number of addresses present.
    pub fn len(&self) -> usize {
        self.len
    }
}

/// The number of each address of a finished [`VisitedSet`] among all of them
/// (`0..len`): the addresses are counted chunk by chunk, in the order the chunks were
/// made, and by address within a chunk. A look-up reads a small table of chunks, one
/// count per bitmap word and that word, all of a size that stays in cache (a few bytes
/// per 1,024 bytes of heap), where a hash table of addresses would cost a cache miss
/// or two per look-up on a large heap.
pub struct AddressRanks {
    /// Open addressing by chunk number: (chunk number + 1, chunk index); 0 is free.
    slots: Vec<(usize, u32)>,
    chunks: Vec<Box<[u64]>>,
    /// Per chunk index and word (`index * WORDS_PER_CHUNK + word`): how many addresses
    /// all the words before it hold.
    before: Vec<u32>,
}

/// What the ranks' arrays are called in a `MemoryError`.
const RANKS: &str = "the numbering of objects by address";

impl VisitedSet {
    /// Numbers the addresses present (see [`AddressRanks`]); `Err` when the allocator
    /// refuses or there are `u32::MAX` addresses or more.
    pub fn into_ranks(self) -> Result<AddressRanks, OutOfMemory> {
        if self.len >= u32::MAX as usize {
            return Err(OutOfMemory(RANKS));
        }
        let mut before = grow::vec_with_capacity(self.chunks.len() * WORDS_PER_CHUNK, RANKS)?;
        let mut count = 0u32;
        for words in &self.chunks {
            for word in words.iter() {
                before.push(count);
                count += word.count_ones();
            }
        }
        let size = (self.chunks.len() * 2).next_power_of_two().max(16);
        let mut slots = grow::vec_filled((0usize, 0u32), size, RANKS)?;
        for (&chunk, &index) in &self.index {
            let mut slot = AddressRanks::start(chunk, size - 1);
            while slots[slot].0 != 0 {
                slot = (slot + 1) & (size - 1);
            }
            slots[slot] = (chunk + 1, index as u32);
        }
        Ok(AddressRanks { slots, chunks: self.chunks, before })
    }
}

impl AddressRanks {
    #[inline]
    fn start(chunk: usize, mask: usize) -> usize {
        ((chunk as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & mask
    }

    /// The number of `address`, if it was in the set.
    #[inline]
    pub fn rank(&self, address: usize) -> Option<u32> {
        let (chunk, word, bit) = VisitedSet::split(address);
        let mask = self.slots.len() - 1;
        let mut slot = Self::start(chunk, mask);
        let index = loop {
            match self.slots[slot] {
                (0, _) => return None,
                (key, index) if key == chunk + 1 => break index as usize,
                _ => slot = (slot + 1) & mask,
            }
        };
        let bits = self.chunks[index][word];
        if bits & bit == 0 {
            return None;
        }
        Some(self.before[index * WORDS_PER_CHUNK + word] + (bits & (bit - 1)).count_ones())
    }

    /// Bytes held (capacity).
    pub fn footprint(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<(usize, u32)>()
            + self.chunks.len() * WORDS_PER_CHUNK * 8
            + self.before.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_objects_are_distinct() {
        let mut set = VisitedSet::default();
        assert!(set.insert(0x1000).unwrap());
        assert!(set.insert(0x1010).unwrap());
        assert!(!set.insert(0x1000).unwrap());
        set.remove(0x1000);
        assert!(!set.contains(0x1000) && set.contains(0x1010));
        assert!(set.insert(0x1000).unwrap());
        assert!(set.contains(0x1010));
        assert!(!set.contains(0x1020));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn region_boundaries() {
        let mut set = VisitedSet::default();
        // Last granule of one region and first of the next.
        assert!(set.insert(0x3f0).unwrap());
        assert!(set.insert(0x400).unwrap());
        assert!(set.contains(0x3f0) && set.contains(0x400));
        assert!(!set.contains(0x3e0));
        // Neighbouring 1 MiB chunks.
        assert!(set.insert(0xff_fff0).unwrap());
        assert!(set.insert(0x100_0000).unwrap());
        assert!(set.contains(0xff_fff0) && set.contains(0x100_0000));
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn many_addresses() {
        let mut set = VisitedSet::default();
        for i in 0..100_000usize {
            assert!(set.insert(0x7f00_0000_0000 + i * 48).unwrap());
        }
        for i in 0..100_000usize {
            assert!(!set.insert(0x7f00_0000_0000 + i * 48).unwrap());
        }
        assert_eq!(set.len(), 100_000);
    }

    #[test]
    fn ranks_number_every_address_once() {
        let mut set = VisitedSet::default();
        // Spread over several chunks, inserted out of order, with neighbours.
        let addresses: Vec<usize> = (0..50_000usize)
            .map(|i| 0x7f00_0000_0000 + (i.wrapping_mul(7919) % 50_000) * 48 + (i % 3) * 0x40_0000)
            .collect();
        let mut distinct = addresses.clone();
        distinct.sort_unstable();
        distinct.dedup();
        for &a in &addresses {
            set.insert(a).unwrap();
        }
        let ranks = set.into_ranks().unwrap();
        let mut seen = vec![false; distinct.len()];
        for &a in &distinct {
            let rank = ranks.rank(a).unwrap() as usize;
            assert!(!seen[rank], "two addresses share rank {rank}");
            seen[rank] = true;
            if distinct.binary_search(&(a + 16)).is_err() {
                assert_eq!(ranks.rank(a + 16), None);
            }
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(ranks.rank(0x10), None);
        assert_eq!(ranks.rank(0x7f00_0000_0000 + 8 * 0x40_0000), None);
    }

    #[test]
    fn ranks_of_an_empty_set() {
        let ranks = VisitedSet::default().into_ranks().unwrap();
        assert_eq!(ranks.rank(0x1000), None);
    }
}
