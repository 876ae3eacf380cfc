//! What an `Asizer` remembers between calls until it is reset: the objects seen (and how
//! often), objects and types excluded, totals, the largest objects and per-type profiles.

use crate::asizeof::libraries::{BufferKind, BufferUse};
use crate::ffi::{self, Borrowed, RawObj, Strong};
use crate::grow::{Grow, OutOfMemory};
use crate::visited::VisitedSet;
use ahash::{AHashMap, AHashSet};
use indexmap::IndexMap;
use pyo3::prelude::*;

/// Objects marked before they are reached.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mark {
    /// Never sized (`exclude_objs`).
    Excluded,
    /// Sized only when given as a top-level object, not as a referent (`exclude_refs`).
    RefOnly,
}

/// The key objects are profiled and excluded by: their type, or, for classes whose
/// metaclass is `type`, the class itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ProfileKey {
    pub address: usize,
    pub is_class: bool,
}

impl ProfileKey {
    #[inline]
    pub fn of(obj: Borrowed<'_>) -> ProfileKey {
        if obj.is_exact_type() {
            ProfileKey { address: obj.address(), is_class: true }
        } else {
            ProfileKey { address: obj.type_ptr() as usize, is_class: false }
        }
    }

    /// The key and its object (the class itself, or the type), held.
    #[inline]
    fn held_of(obj: Borrowed<'_>) -> (ProfileKey, Strong) {
        let key = ProfileKey::of(obj);
        let object = if key.is_class { obj } else { obj.type_object() };
        (key, object.to_strong())
    }
}

pub struct Profile {
    pub key: Strong,
    pub is_class: bool,
    pub number: u64,
    pub total: u64,
    pub high: u64,
    pub largest: Strong,
}

pub struct Rank {
    pub key: Strong,
    pub is_class: bool,
    pub obj: Strong,
    pub size: u64,
    pub depth: u32,
    pub parent_id: usize,
}

pub const MAX_RANKS: usize = 100;

const MARK_FILTER_BITS: usize = 4096;

/// A one-hash Bloom filter of marked addresses (512 bytes, stays in L1).
struct MarkFilter([u64; MARK_FILTER_BITS / 64]);

impl Default for MarkFilter {
    fn default() -> Self {
        MarkFilter([0; MARK_FILTER_BITS / 64])
    }
}

impl MarkFilter {
    #[inline(always)]
    fn slot(address: usize) -> (usize, u64) {
        let bit = (address >> 4) % MARK_FILTER_BITS;
        (bit / 64, 1 << (bit % 64))
    }

    fn add(&mut self, address: usize) {
        let (word, mask) = Self::slot(address);
        self.0[word] |= mask;
    }

    #[inline(always)]
    fn may_contain(&self, address: usize) -> bool {
        let (word, mask) = Self::slot(address);
        self.0[word] & mask != 0
    }
}

/// What counting an object's buffers found.
pub struct Counted {
    /// Bytes in RAM not counted before.
    pub ram: u64,
    /// Who counted first a buffer counted before, if one was.
    pub shared: Option<FirstCounter>,
}

/// The object that counted a buffer first.
pub enum FirstCounter {
    /// Its name in a size tree.
    Named(Py<PyAny>),
    /// An object outside the size trees.
    Unnamed,
}

#[derive(Default)]
pub struct Ledger {
    pub visited: VisitedSet,
    /// Objects reached more than once, and the number of such extra encounters.
    repeated: VisitedSet,
    repeats: u64,
    /// Objects excluded or to be sized at the top level only. Read through
    /// [`may_be_marked`](Self::may_be_marked) first: there are few, and the walk asks
    /// about every object.
    pub marks: AHashMap<usize, Mark>,
    /// One bit per `(address >> 4) % MARK_FILTER_BITS` of every address ever marked: an
    /// unset bit means "not marked" without hashing the address.
    mark_filter: MarkFilter,
    /// Types whose instances are excluded, and classes excluded as objects; with counts.
    excluded_instances: IndexMap<usize, (Strong, u64)>,
    excluded_classes: IndexMap<usize, (Strong, u64)>,
    /// Temporaries produced by attribute reads, kept so their addresses stay unique.
    pub keepalive: Vec<Strong>,
    pub total: u64,
    pub missed: u64,
    /// Keys of the library buffers counted (see `libraries`), each with the tree name of
    /// the object that counted it (`None` outside trees), and the bytes of those in
    /// mapped files and on devices, which no size includes.
    buffers: AHashMap<u64, Option<Py<PyAny>>>,
    /// Objects a footprint made for the tree (a table's column): what they reach is
    /// counted, not the objects themselves. Held in `keepalive` while they are temporaries.
    parts: AHashSet<usize>,
    pub mapped: u64,
    pub device: u64,
    pub depth: u32,
    pub ranked: u64,
    pub ranks: Vec<Rank>,
    pub profiles: IndexMap<ProfileKey, Profile>,
}

impl Ledger {
    /// Forgets everything but the excluded types (whose counts restart at zero). Returns
    /// what was forgotten, for the caller to drop when releasing the references it holds
    /// (which may run finalizers) cannot re-enter the caller.
    #[must_use = "the forgotten references are released when the result is dropped"]
    pub fn clear(&mut self) -> Ledger {
        let instances = std::mem::take(&mut self.excluded_instances);
        let classes = std::mem::take(&mut self.excluded_classes);
        let forgotten = std::mem::take(self);
        self.excluded_instances = instances.into_iter().map(|(k, (o, _))| (k, (o, 0))).collect();
        self.excluded_classes = classes.into_iter().map(|(k, (o, _))| (k, (o, 0))).collect();
        forgotten
    }

    /// Counts the buffers not counted before, for the object named `counter` in the tree:
    /// the bytes of those in RAM (the others go to `mapped` and `device`), and, when one
    /// was counted before, who counted it first.
    pub fn count_buffers(
        &mut self,
        py: Python<'_>,
        buffers: &[BufferUse],
        counter: Option<&Py<PyAny>>,
    ) -> Result<Counted, OutOfMemory> {
        let mut ram = 0u64;
        let mut shared = None;
        for buffer in buffers {
            self.buffers.grow(1, "the library buffers counted")?;
            if let Some(first) = self.buffers.get(&buffer.key) {
                if shared.is_none() {
                    shared = Some(match first {
                        Some(name) => FirstCounter::Named(name.clone_ref(py)),
                        None => FirstCounter::Unnamed,
                    });
                }
                continue;
            }
            let name = counter.map(|name| name.clone_ref(py));
            self.buffers.insert(buffer.key, name);
            match buffer.kind {
                BufferKind::Ram => ram = ram.saturating_add(buffer.nbytes),
                BufferKind::Mapped => self.mapped = self.mapped.saturating_add(buffer.nbytes),
                BufferKind::Device => self.device = self.device.saturating_add(buffer.nbytes),
            }
        }
        Ok(Counted { ram, shared })
    }

    /// Marks `obj` as made for the tree by a footprint (see `parts`).
    pub fn add_part(&mut self, obj: &Strong) -> Result<(), OutOfMemory> {
        self.parts.grow(1, "the parts made for the tree")?;
        self.parts.insert(ffi::address(obj.as_ptr()));
        Ok(())
    }

    /// Whether the object at `address` was made for the tree; forgets it.
    #[inline]
    pub fn take_part(&mut self, address: usize) -> bool {
        !self.parts.is_empty() && self.parts.remove(&address)
    }

    /// Number of distinct objects reached.
    pub fn sized(&self) -> u64 {
        self.visited.len() as u64
    }

    /// Number of times objects were reached.
    pub fn seen(&self) -> u64 {
        self.sized() + self.repeats
    }

    pub fn duplicate(&self) -> u64 {
        self.repeated.len() as u64
    }

    pub fn excluded_count(&self) -> u64 {
        self.excluded_instances.values().chain(self.excluded_classes.values()).map(|(_, n)| n).sum()
    }

    pub fn excluded_types(&self) -> impl Iterator<Item = &Strong> {
        self.excluded_instances.values().map(|(o, _)| o)
    }

    /// `false` when `address` is certainly not in `marks`.
    #[inline(always)]
    pub fn may_be_marked(&self, address: usize) -> bool {
        self.mark_filter.may_contain(address)
    }

    /// Marks `obj` to be sized only at the top level, unless already known.
    pub fn exclude_refs(&mut self, obj: RawObj) -> Result<(), OutOfMemory> {
        let address = ffi::address(obj);
        if !self.visited.contains(address) {
            self.marks.grow(1, "the set of excluded objects")?;
            self.marks.entry(address).or_insert(Mark::RefOnly);
            self.mark_filter.add(address);
        }
        Ok(())
    }

    /// Marks `obj` never to be sized, unless already known.
    pub fn exclude_obj(&mut self, obj: RawObj) -> Result<(), OutOfMemory> {
        let address = ffi::address(obj);
        if !self.visited.contains(address) {
            self.marks.grow(1, "the set of excluded objects")?;
            self.marks.entry(address).or_insert(Mark::Excluded);
            self.mark_filter.add(address);
        }
        Ok(())
    }

    /// Excludes the instances of class `obj` and the class itself; other objects are
    /// ignored, as in pympler.
    ///
    /// # Safety
    /// `obj` must be alive.
    pub unsafe fn exclude_type(&mut self, obj: RawObj) {
        // SAFETY: the caller guarantees `obj` is alive for the call, and non-null.
        let obj = unsafe { Borrowed::from_raw(obj) };
        if !obj.is_exact_type() {
            return;
        }
        // A class is held strongly by the ledger from here on.
        let address = obj.address();
        self.excluded_instances.entry(address).or_insert_with(|| (obj.to_strong(), 0));
        self.excluded_classes.entry(address).or_insert_with(|| (obj.to_strong(), 0));
    }

    pub fn has_excluded_types(&self) -> bool {
        !self.excluded_instances.is_empty()
    }

    #[inline]
    pub fn is_type_excluded(&self, obj: Borrowed<'_>) -> bool {
        if self.excluded_instances.is_empty() {
            return false;
        }
        let key = ProfileKey::of(obj);
        let map = if key.is_class { &self.excluded_classes } else { &self.excluded_instances };
        map.contains_key(&key.address)
    }

    pub fn count_excluded(&mut self, obj: Borrowed<'_>) {
        let key = ProfileKey::of(obj);
        let map = if key.is_class { &mut self.excluded_classes } else { &mut self.excluded_instances };
        if let Some((_, count)) = map.get_mut(&key.address) {
            *count += 1;
        }
    }

    /// Another encounter of an object reached before.
    #[inline]
    pub fn repeat(&mut self, address: usize) -> Result<(), OutOfMemory> {
        self.repeated.insert(address)?;
        self.repeats += 1;
        Ok(())
    }

    /// Another encounter of a top-level object given twice (pympler's `again`).
    pub fn again(&mut self, obj: RawObj) -> Result<(), OutOfMemory> {
        let address = ffi::address(obj);
        if self.visited.contains(address) {
            self.repeat(address)?;
        } else if self.marks.get(&address) == Some(&Mark::RefOnly) {
            self.visited.insert(address)?;
            self.marks.remove(&address);
        }
        Ok(())
    }

    pub fn profile(&mut self, obj: Strong, flat: u64) {
        let key = ProfileKey::of(obj.borrow());
        self.add_to_profile(key, || ProfileKey::held_of(obj.borrow()).1, obj.clone(), flat);
    }

    /// Profiles an instance's virtual `__dict__` (its inline values, of flat size `flat`)
    /// as a `dict`, which is what pympler finds there; the instance stands for it.
    pub fn profile_inline_values(&mut self, instance: Strong, flat: u64) {
        let dict_type = ffi::dict_type();
        let key = ProfileKey { address: dict_type as usize, is_class: false };
        // SAFETY: `dict` is a static type object, alive for the whole process.
        let dict_type = unsafe { Borrowed::from_raw(dict_type.cast()) };
        self.add_to_profile(key, || dict_type.to_strong(), instance, flat);
    }

    fn add_to_profile(&mut self, key: ProfileKey, key_object: impl FnOnce() -> Strong, obj: Strong, flat: u64) {
        let profile = self.profiles.entry(key).or_insert_with(|| Profile {
            key: key_object(),
            is_class: key.is_class,
            number: 0,
            total: 0,
            high: 0,
            largest: obj.clone(),
        });
        profile.number += 1;
        profile.total = profile.total.saturating_add(flat);
        if profile.high < flat {
            profile.high = flat;
            profile.largest = obj;
        }
    }

    /// Keeps the largest objects by total size, largest first, ties in arrival order.
    pub fn rank(&mut self, obj: Strong, size: u64, depth: u32, parent_id: usize) {
        self.ranked += 1;
        let at = self.ranks.partition_point(|r| size < r.size);
        if at >= MAX_RANKS {
            return;
        }
        let (key, key_obj) = ProfileKey::held_of(obj.borrow());
        self.ranks.insert(at, Rank { key: key_obj, is_class: key.is_class, obj, size, depth, parent_id });
        self.ranks.truncate(MAX_RANKS);
    }
}
