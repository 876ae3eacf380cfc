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

#[cfg(test)]
mod tests {
    use super::*;

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
