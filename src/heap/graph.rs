//! The heap as a graph: every object of the complete census (every object the collector
//! tracks, and every object reachable from one, dict keys included) is a `u32` node
//! with its flat size (`sys.getsizeof`'s, as `summarize_heap` counts it) and its
//! out-edges in compressed rows.
//!
//! Built in one pass without Python code, with the collector paused: first the tracked
//! objects, read from the collector's lists, and the extra objects the caller gives
//! (root holders, a target) are numbered; then every node in turn is traversed, and a
//! referent not numbered yet becomes a new node at the end, traversed in its turn. Every
//! node is held strongly from the moment it is numbered, so the graph stays valid once
//! Python code runs again (the sizes of objects with a foreign `__sizeof__`, computed
//! after the pass, and everything done with the graph). The reference count of each
//! object is read before that reference is taken.

use crate::asizeof::flat::{self, FlatRule, FlatSizer};
use crate::ffi::{self, RawObj, Strong};
use crate::grow::{self, Grow, OutOfMemory, TryPush};
use crate::heap::passes::TrackedObjects;
use ahash::AHashMap;
use pyo3::prelude::*;

/// What the graph's arrays are called in a `MemoryError`.
const GRAPH: &str = "the heap graph";
const TOO_MANY: OutOfMemory = OutOfMemory("the heap graph past 4294967294 objects or references");

/// Why building the graph stopped.
pub enum Stop {
    /// A buffer could not grow.
    Memory(OutOfMemory),
    /// A Ctrl-C is pending: the caller drops the graph, then runs the signal's handler.
    Interrupted,
}

impl From<OutOfMemory> for Stop {
    fn from(error: OutOfMemory) -> Stop {
        Stop::Memory(error)
    }
}

/// Node numbers by address: open addressing, linear probing, `index + 1` per slot
/// (`0` is free), at most half full.
#[derive(Default)]
struct AddressTable {
    slots: Vec<u32>,
}

impl AddressTable {
    #[inline]
    fn start(&self, address: usize) -> usize {
        let hash = ((address >> 4) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (hash.rotate_left(32) as usize) & (self.slots.len() - 1)
    }

    /// Starts loading the slot where the search for `address` begins.
    #[inline]
    fn prefetch(&self, address: usize) {
        if !self.slots.is_empty() {
            ffi::prefetch(self.slots.as_ptr().wrapping_add(self.start(address)).cast_mut().cast());
        }
    }

    /// The node of `address`, or the free slot where it goes.
    #[inline]
    fn find(&self, address: usize, objects: &[Strong]) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut slot = self.start(address);
        loop {
            match self.slots[slot] {
                0 => return Err(slot),
                index if ffi::address(objects[index as usize - 1].as_ptr()) == address => return Ok(index - 1),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    /// Makes room for one more node among `count`: doubles (and refills) the table
    /// when it would be more than half full.
    fn reserve(&mut self, count: usize, objects: &[Strong]) -> Result<(), OutOfMemory> {
        if (count + 1) * 2 <= self.slots.len() {
            return Ok(());
        }
        let size = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, grow::vec_filled(0, size, GRAPH)?);
        for index in old.into_iter().filter(|&i| i != 0) {
            let address = ffi::address(objects[index as usize - 1].as_ptr());
            if let Err(slot) = self.find(address, objects) {
                self.slots[slot] = index;
            }
        }
        Ok(())
    }
}

/// The heap graph (see the module docs).
pub struct HeapGraph {
    /// Every node's object, held.
    pub objects: Vec<Strong>,
    /// Flat sizes (0 until [`size_slow`](Self::size_slow) for the nodes in `slow`).
    pub sizes: Vec<u64>,
    /// Reference counts, read before the graph took its own reference (saturated).
    pub refcounts: Vec<u32>,
    /// Out-edges: `targets[offsets[v]..offsets[v + 1]]`, one per reference.
    pub offsets: Vec<u32>,
    pub targets: Vec<u32>,
    /// Nodes whose flat size needs Python code.
    slow: Vec<u32>,
    table: AddressTable,
}

/// The flat size of a live object if no Python code is needed; `rules` caches the
/// formula per type address.
///
/// # Safety
/// `obj` must be alive, and the types in `rules` too.
#[inline]
unsafe fn quick_size(rules: &mut AHashMap<usize, FlatRule>, sizer: &FlatSizer, obj: RawObj) -> Option<u64> {
    // SAFETY: `obj` is alive (caller); nothing below runs Python code.
    unsafe {
        if let Some(size) = flat::leaf_size(obj) {
            return Some(size as u64);
        }
        let tp = ffi::type_of(obj);
        let rule = *rules.entry(tp as usize).or_insert_with(|| sizer.type_rule(tp));
        sizer.size_with(obj, rule).map(|size| size as u64)
    }
}

impl HeapGraph {
    /// The node of a held object, if it is in the graph.
    pub fn node_of(&self, obj: RawObj) -> Option<u32> {
        if self.objects.is_empty() {
            return None;
        }
        self.table.find(ffi::address(obj), &self.objects).ok()
    }

    /// Frees the address table and the reference counts (once the roots and the
    /// nodes the caller looks up are known): [`node_of`](Self::node_of) finds nothing
    /// after this.
    pub fn drop_index(&mut self) {
        self.table = AddressTable::default();
        self.refcounts = Vec::new();
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Bytes held by the graph's arrays (capacity, not length).
    pub fn footprint(&self) -> usize {
        self.objects.capacity() * std::mem::size_of::<Strong>()
            + self.sizes.capacity() * 8
            + (self.refcounts.capacity() + self.offsets.capacity() + self.targets.capacity()) * 4
            + self.table.slots.capacity() * 4
            + self.slow.capacity() * 4
    }

    /// Numbers `obj`, which is not in the graph yet, and holds it.
    ///
    /// # Safety
    /// `obj` must be alive.
    #[inline]
    unsafe fn add(&mut self, obj: RawObj) -> Result<u32, OutOfMemory> {
        let count = self.objects.len();
        if count >= u32::MAX as usize - 1 {
            return Err(TOO_MANY);
        }
        self.table.reserve(count, &self.objects)?;
        let slot = match self.table.find(ffi::address(obj), &self.objects) {
            Err(slot) => slot,
            Ok(node) => return Ok(node),
        };
        self.objects.grow(1, GRAPH)?;
        self.refcounts.grow(1, GRAPH)?;
        // SAFETY: `obj` is alive (caller); its count is read before our reference.
        let refcount = unsafe { ffi::refcount_of(obj) };
        self.refcounts.push(refcount.clamp(0, u32::MAX as isize) as u32);
        // SAFETY: as above.
        self.objects.push(unsafe { Strong::from_borrowed(obj) });
        self.table.slots[slot] = count as u32 + 1;
        Ok(count as u32)
    }

    /// The node of `obj`, numbered now if new.
    ///
    /// # Safety
    /// `obj` must be alive.
    #[inline]
    unsafe fn node(&mut self, obj: RawObj) -> Result<u32, OutOfMemory> {
        if !self.objects.is_empty() {
            if let Ok(node) = self.table.find(ffi::address(obj), &self.objects) {
                return Ok(node);
            }
        }
        // SAFETY: forwarded caller guarantee.
        unsafe { self.add(obj) }
    }

    /// Builds the graph over the tracked objects `tracked` yields and `extra` objects.
    ///
    /// # Safety
    /// The collector must be paused and no Python code may have run since the call of
    /// [`TrackedObjects::take`] that made `tracked`; every `extra` object must be alive.
    pub unsafe fn build(
        py: Python<'_>,
        mut tracked: TrackedObjects,
        extra: &[RawObj],
        sizer: &FlatSizer,
    ) -> Result<HeapGraph, Stop> {
        let mut graph = HeapGraph {
            objects: Vec::new(),
            sizes: Vec::new(),
            refcounts: Vec::new(),
            offsets: Vec::new(),
            targets: Vec::new(),
            slow: Vec::new(),
            table: AddressTable::default(),
        };
        let mut rules: AHashMap<usize, FlatRule> = AHashMap::new();
        let mut poll = ffi::SignalPoll::default();
        while let Some(obj) = tracked.next() {
            if poll.interrupted(py) {
                return Err(Stop::Interrupted);
            }
            // SAFETY: a tracked object read since `take`, with no Python code run since
            // (requirements).
            unsafe { graph.node(obj) }?;
        }
        drop(tracked);
        for &obj in extra {
            // SAFETY: the caller holds the extra objects.
            unsafe { graph.node(obj) }?;
        }
        graph.offsets.grow(graph.objects.len() + 1, GRAPH)?;
        graph.sizes.grow(graph.objects.len(), GRAPH)?;
        graph.targets.grow(graph.objects.len().saturating_mul(2), GRAPH)?;
        graph.offsets.push(0);
        let mut refs: Vec<RawObj> = Vec::new();
        let mut node = 0usize;
        while node < graph.objects.len() {
            if poll.interrupted(py) {
                return Err(Stop::Interrupted);
            }
            let obj = graph.objects[node].as_ptr();
            // SAFETY: `obj` is held by the graph, and so are the types in `rules` (each
            // the type of a held node).
            let size = unsafe { quick_size(&mut rules, sizer, obj) };
            graph.sizes.grow(1, GRAPH)?;
            match size {
                Some(size) => graph.sizes.push(size),
                None => {
                    graph.sizes.push(0);
                    graph.slow.try_push(node as u32, GRAPH)?;
                }
            }
            refs.clear();
            // SAFETY: `obj` is held by the graph.
            unsafe { ffi::traverse_borrowed_with_keys(obj, &mut refs) }?;
            // The table slots of all the referents are asked for first, so that their
            // cache misses overlap.
            for &child in &refs {
                graph.table.prefetch(ffi::address(child));
            }
            if let Some(next) = graph.objects.get(node + 1) {
                ffi::prefetch(next.as_ptr());
            }
            for &child in &refs {
                // SAFETY: reported by the traversal of a held object just now, and no
                // Python code has run since: alive, or dead in a free list (skipped
                // before anything but its count is read).
                unsafe {
                    if ffi::is_dead_referent(child) {
                        continue;
                    }
                    let target = graph.node(child)?;
                    graph.targets.try_push(target, GRAPH)?;
                }
            }
            let end = u32::try_from(graph.targets.len()).map_err(|_| TOO_MANY)?;
            graph.offsets.try_push(end, GRAPH)?;
            node += 1;
        }
        graph.targets.shrink_to_fit();
        Ok(graph)
    }

    /// Sizes the nodes whose flat size needs Python code (a foreign `__sizeof__`): may
    /// run Python code, which is why every node is held. Errors that are not
    /// `Exception`s propagate.
    pub fn size_slow(&mut self, py: Python<'_>, sizer: &mut FlatSizer) -> PyResult<()> {
        let mut poll = ffi::SignalPoll::default();
        for node in std::mem::take(&mut self.slow) {
            poll.check(py)?;
            let size = sizer.size(py, &self.objects[node as usize])?;
            self.sizes[node as usize] = size as u64;
        }
        Ok(())
    }
}
