//! Fallible growth of buffers whose size follows the heap's (work lists, visited
//! bitmaps, indexes, rendered tables). A memory profiler is used when memory is short,
//! so none of them may abort the process when the allocator refuses: they reserve
//! through [`Grow`], and a refusal becomes [`OutOfMemory`], which the Python edge turns
//! into `MemoryError`. Fixed-size and per-type buffers (a few hundred entries whatever
//! the heap) need not.

use ahash::{AHashMap, AHashSet};
use pyo3::exceptions::PyMemoryError;
use pyo3::PyErr;
use std::collections::VecDeque;
use std::hash::Hash;

/// A buffer (named) could not grow: the allocator refused the memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory(pub &'static str);

impl OutOfMemory {
    /// The message of the `MemoryError` this becomes.
    pub fn message(self) -> String {
        format!(
            "heapscope ran out of memory growing {}; free memory, raise the process's memory limit, \
             or measure a smaller part of the heap",
            self.0
        )
    }
}

impl std::fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl From<OutOfMemory> for PyErr {
    fn from(err: OutOfMemory) -> PyErr {
        PyMemoryError::new_err(err.message())
    }
}

/// Growth that fails instead of aborting. `what` names the buffer in the error.
pub trait Grow {
    /// Makes room for `additional` more entries.
    fn grow(&mut self, additional: usize, what: &'static str) -> Result<(), OutOfMemory>;
}

impl<T> Grow for Vec<T> {
    #[inline(always)]
    fn grow(&mut self, additional: usize, what: &'static str) -> Result<(), OutOfMemory> {
        if self.capacity() - self.len() >= additional {
            return Ok(());
        }
        self.try_reserve(additional).map_err(|_| OutOfMemory(what))
    }
}

impl<T> Grow for VecDeque<T> {
    #[inline(always)]
    fn grow(&mut self, additional: usize, what: &'static str) -> Result<(), OutOfMemory> {
        self.try_reserve(additional).map_err(|_| OutOfMemory(what))
    }
}

impl Grow for String {
    #[inline(always)]
    fn grow(&mut self, additional: usize, what: &'static str) -> Result<(), OutOfMemory> {
        self.try_reserve(additional).map_err(|_| OutOfMemory(what))
    }
}

impl<K: Eq + Hash, V> Grow for AHashMap<K, V> {
    #[inline(always)]
    fn grow(&mut self, additional: usize, what: &'static str) -> Result<(), OutOfMemory> {
        self.try_reserve(additional).map_err(|_| OutOfMemory(what))
    }
}

impl<K: Eq + Hash> Grow for AHashSet<K> {
    #[inline(always)]
    fn grow(&mut self, additional: usize, what: &'static str) -> Result<(), OutOfMemory> {
        self.try_reserve(additional).map_err(|_| OutOfMemory(what))
    }
}

/// `push` after making room for it.
pub trait TryPush<T> {
    fn try_push(&mut self, item: T, what: &'static str) -> Result<(), OutOfMemory>;
}

impl<T> TryPush<T> for Vec<T> {
    #[inline(always)]
    fn try_push(&mut self, item: T, what: &'static str) -> Result<(), OutOfMemory> {
        self.grow(1, what)?;
        self.push(item);
        Ok(())
    }
}

impl<T> TryPush<T> for VecDeque<T> {
    #[inline(always)]
    fn try_push(&mut self, item: T, what: &'static str) -> Result<(), OutOfMemory> {
        self.grow(1, what)?;
        self.push_back(item);
        Ok(())
    }
}

/// An empty `Vec` with room for `capacity` entries.
pub fn vec_with_capacity<T>(capacity: usize, what: &'static str) -> Result<Vec<T>, OutOfMemory> {
    let mut v = Vec::new();
    v.grow(capacity, what)?;
    Ok(v)
}

/// A `Vec` of `len` copies of `value`.
pub fn vec_filled<T: Clone>(value: T, len: usize, what: &'static str) -> Result<Vec<T>, OutOfMemory> {
    let mut v = vec_with_capacity(len, what)?;
    v.resize(len, value);
    Ok(v)
}

/// Collects an iterator whose length is known up front.
pub fn collect_exact<T, I: ExactSizeIterator<Item = T>>(items: I, what: &'static str) -> Result<Vec<T>, OutOfMemory> {
    let mut v = vec_with_capacity(items.len(), what)?;
    v.extend(items);
    Ok(v)
}

/// A list whose length is not known up front, kept in blocks of a fixed size: growing
/// never copies it. (A `Vec` that doubles leaves its old copies behind, and an
/// allocator that keeps them resident makes the peak half as large again.)
/// [`into_blocks`](Self::into_blocks) gives its blocks back, each freed once used.
pub struct Blocks<T> {
    blocks: Vec<Vec<T>>,
    len: usize,
    what: &'static str,
}

impl<T> Blocks<T> {
    const BLOCK: usize = 1 << 16;

    /// An empty list; `what` names it in a [`OutOfMemory`].
    pub fn new(what: &'static str) -> Blocks<T> {
        Blocks { blocks: Vec::new(), len: 0, what }
    }

    #[inline]
    pub fn push(&mut self, item: T) -> Result<(), OutOfMemory> {
        if self.blocks.last().map_or(true, |block| block.len() == Self::BLOCK) {
            self.blocks.grow(1, self.what)?;
            self.blocks.push(vec_with_capacity(Self::BLOCK, self.what)?);
        }
        if let Some(block) = self.blocks.last_mut() {
            block.push(item);
        }
        self.len += 1;
        Ok(())
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn get(&self, index: usize) -> Option<&T> {
        self.blocks.get(index / Self::BLOCK)?.get(index % Self::BLOCK)
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.blocks.iter().flatten()
    }

    /// The blocks in order, each freed once the caller drops it.
    pub fn into_blocks(self) -> impl Iterator<Item = Vec<T>> {
        self.blocks.into_iter()
    }

    /// Bytes held (capacity, not length).
    pub fn footprint(&self) -> usize {
        self.blocks.len() * Self::BLOCK * std::mem::size_of::<T>()
            + self.blocks.capacity() * std::mem::size_of::<Vec<T>>()
    }
}

impl<T> std::ops::Index<usize> for Blocks<T> {
    type Output = T;

    #[inline]
    fn index(&self, index: usize) -> &T {
        &self.blocks[index / Self::BLOCK][index % Self::BLOCK]
    }
}

impl<T> std::ops::IndexMut<usize> for Blocks<T> {
    #[inline]
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.blocks[index / Self::BLOCK][index % Self::BLOCK]
    }
}

/// Gives the C allocator's free pages back to the system, once large buffers are freed.
/// glibc keeps the memory of freed blocks below its (adaptive, up to 32 MiB) mapping
/// threshold in its heap, where a later buffer of another size may not reuse it: the
/// peak of a computation in steps would then add up the steps' buffers. Elsewhere a
/// no-op.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns whole free pages of the allocator's arenas to
    // the system; no memory in use is touched, and it is safe from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_order_across_blocks() {
        let mut blocks = Blocks::new("the test list");
        let n = 3 * Blocks::<u32>::BLOCK + 5;
        for i in 0..n as u32 {
            blocks.push(i).unwrap();
        }
        assert_eq!((blocks.len(), blocks.get(70_000), blocks.get(n)), (n, Some(&70_000), None));
        blocks[3] = 0;
        blocks[4] = 1;
        assert_eq!((blocks[3], blocks[4], blocks[n - 1]), (0, 1, n as u32 - 1));
        assert!(blocks.iter().copied().eq((0..n as u32).map(|i| [i, 0, 1][(i == 3) as usize + 2 * (i == 4) as usize])));
        let all: Vec<u32> = blocks.into_blocks().flatten().collect();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn refused_growth_is_an_error() {
        let mut v: Vec<u64> = Vec::new();
        assert_eq!(v.grow(usize::MAX / 4, "the test list"), Err(OutOfMemory("the test list")));
        assert!(v.try_push(1, "the test list").is_ok());
        assert_eq!(v, [1]);
        let mut s = String::new();
        assert!(s.grow(usize::MAX, "text").is_err());
        let mut m: AHashMap<usize, usize> = AHashMap::new();
        assert!(m.grow(usize::MAX / 2, "an index").is_err());
        assert!(vec_filled(0u8, usize::MAX, "a bitmap").is_err());
        assert_eq!(vec_filled(7u8, 3, "a bitmap").unwrap(), [7, 7, 7]);
        assert!(OutOfMemory("the work list").message().contains("the work list"));
    }
}
