//! The heap as a graph: every object of the complete census (every object the collector
//! tracks, and every object reachable from one, dict keys included) is a `u32` node
//! with its flat size (`sys.getsizeof`'s, as `summarize_heap` counts it) and its
//! out-edges in compressed rows.
//!
//! Built in one pass with the collector paused: first the tracked objects, read from the
//! collector's lists without running Python code, and the extra objects the caller gives
//! (root holders, a target) are numbered; then every node in turn is traversed, and a
//! referent not numbered yet becomes a new node at the end, traversed in its turn. Every
//! node is held strongly from the moment it is numbered, so the graph stays valid when
//! Python code runs: between two nodes of the traversal (a progress report, a signal's
//! handler), for the sizes of objects with a foreign `__sizeof__` (computed after the
//! pass) and for everything done with the graph. The reference count of each object is
//! read before that reference is taken.

use crate::asizeof::flat::{self, FlatRule, FlatSizer};
use crate::ffi::{self, RawObj, Strong};
use crate::grow::{self, Blocks, Grow, OutOfMemory, TryPush};
use crate::heap::passes::TrackedObjects;
use crate::visited::{AddressRanks, VisitedSet};
use ahash::AHashMap;
use pyo3::prelude::*;

/// What the graph's arrays are called in a `MemoryError`.
const GRAPH: &str = "the heap graph";
/// How many nodes ahead of the one being traversed the next node's header is asked for.
const PREFETCH_NODES: usize = 4;
const TOO_MANY: OutOfMemory = OutOfMemory("the heap graph past 4294967294 objects or references");

/// Why building the graph stopped.
pub enum Stop {
    /// A buffer could not grow.
    Memory(OutOfMemory),
    /// A Ctrl-C is pending: the caller drops the graph, then runs the signal's handler.
    Interrupted,
    /// A progress report or a signal's handler raised (while the nodes were traversed).
    Python(PyErr),
}

impl From<OutOfMemory> for Stop {
    fn from(error: OutOfMemory) -> Stop {
        Stop::Memory(error)
    }
}

/// Node numbers by address, once every node is known: the rank of each address among
/// the nodes' (see [`AddressRanks`]) and the node of each rank.
struct NodeIndex {
    ranks: AddressRanks,
    nodes: Vec<u32>,
}

impl NodeIndex {
    #[inline]
    fn find(&self, address: usize) -> Option<u32> {
        self.ranks.rank(address).map(|rank| self.nodes[rank as usize])
    }

    fn footprint(&self) -> usize {
        self.ranks.footprint() + self.nodes.capacity() * 4
    }
}

/// Flat sizes by node, 4 bytes each: the rare size past `u32::MAX - 1` bytes (a huge
/// array or bytes object) is kept aside.
pub struct FlatSizes {
    small: Blocks<u32>,
    large: AHashMap<u32, u64>,
}

impl FlatSizes {
    /// In `small`, a size kept in `large`.
    const LARGE: u32 = u32::MAX;

    /// The flat size of `node`.
    #[inline]
    pub fn get(&self, node: u32) -> u64 {
        match self.small[node as usize] {
            Self::LARGE => self.large.get(&node).copied().unwrap_or(u64::from(Self::LARGE)),
            size => u64::from(size),
        }
    }

    /// `size` if it is kept in `small`.
    #[inline]
    fn as_small(size: u64) -> Option<u32> {
        u32::try_from(size).ok().filter(|&small| small != Self::LARGE)
    }

    #[inline]
    fn push(&mut self, size: u64) -> Result<(), OutOfMemory> {
        match Self::as_small(size) {
            Some(small) => self.small.push(small),
            None => {
                let node = self.small.len() as u32;
                self.small.push(Self::LARGE)?;
                self.set(node, size)
            }
        }
    }

    fn set(&mut self, node: u32, size: u64) -> Result<(), OutOfMemory> {
        match Self::as_small(size) {
            Some(small) => {
                self.small[node as usize] = small;
                self.large.remove(&node);
            }
            None => {
                self.large.grow(1, GRAPH)?;
                self.large.insert(node, size);
                self.small[node as usize] = Self::LARGE;
            }
        }
        Ok(())
    }

    fn footprint(&self) -> usize {
        self.small.footprint() + self.large.capacity() * 16
    }
}

/// The heap graph (see the module docs). The lists by node are [`Blocks`]: their
/// length is known only once the graph is built.
pub struct HeapGraph {
    /// Every node's object, held.
    pub objects: Blocks<Strong>,
    /// Flat sizes (0 until [`size_slow`](Self::size_slow) for the nodes in `slow`).
    pub sizes: FlatSizes,
    /// Reference counts, read before the graph took its own reference (saturated).
    pub refcounts: Blocks<u32>,
    /// Out-edges: `targets[offsets[v]..offsets[v + 1]]`, one per reference (empty
    /// after [`drop_edges`](Self::drop_edges)).
    pub offsets: Vec<u32>,
    pub targets: Vec<u32>,
    /// Nodes whose flat size needs Python code.
    slow: Vec<u32>,
    index: Option<NodeIndex>,
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
        self.index.as_ref()?.find(ffi::address(obj))
    }

    /// Frees the address table and the reference counts (once the roots and the
    /// nodes the caller looks up are known): [`node_of`](Self::node_of) finds nothing
    /// after this.
    pub fn drop_index(&mut self) {
        self.index = None;
        self.refcounts = Blocks::new(GRAPH);
    }

    /// Frees the out-edges, once the dominator computation has its predecessor rows.
    pub fn drop_edges(&mut self) {
        self.offsets = Vec::new();
        self.targets = Vec::new();
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Bytes held by the graph's arrays (capacity, not length).
    pub fn footprint(&self) -> usize {
        self.objects.footprint()
            + self.sizes.footprint()
            + self.refcounts.footprint()
            + (self.offsets.capacity() + self.targets.capacity()) * 4
            + self.index.as_ref().map_or(0, NodeIndex::footprint)
            + self.slow.capacity() * 4
    }

    /// Numbers and holds `obj` unless `seen` has it already.
    ///
    /// # Safety
    /// `obj` must be alive.
    #[inline]
    unsafe fn add(&mut self, seen: &mut VisitedSet, obj: RawObj) -> Result<(), OutOfMemory> {
        if self.objects.len() >= u32::MAX as usize - 1 {
            return Err(TOO_MANY);
        }
        if !seen.insert(ffi::address(obj))? {
            return Ok(());
        }
        // SAFETY: `obj` is alive (caller); its count is read before our reference.
        let refcount = unsafe { ffi::refcount_of(obj) };
        self.refcounts.push(refcount.clamp(0, u32::MAX as isize) as u32)?;
        // SAFETY: as above.
        self.objects.push(unsafe { Strong::from_borrowed(obj) })
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
            objects: Blocks::new(GRAPH),
            sizes: FlatSizes { small: Blocks::new(GRAPH), large: AHashMap::new() },
            refcounts: Blocks::new(GRAPH),
            offsets: Vec::new(),
            targets: Vec::new(),
            slow: Vec::new(),
            index: None,
        };
        let mut seen = VisitedSet::default();
        let mut rules: AHashMap<usize, FlatRule> = AHashMap::new();
        let mut poll = ffi::SignalPoll::default();
        while let Some(obj) = tracked.next() {
            if poll.interrupted(py) {
                return Err(Stop::Interrupted);
            }
            // SAFETY: a tracked object read since `take`, with no Python code run since
            // (requirements).
            unsafe { graph.add(&mut seen, obj) }?;
        }
        drop(tracked);
        for &obj in extra {
            // SAFETY: the caller holds the extra objects.
            unsafe { graph.add(&mut seen, obj) }?;
        }
        graph.offsets.grow(graph.objects.len() + 1, GRAPH)?;
        // The edges' targets as addresses: their node numbers are known only once every
        // node is (numbering them as they come would take a look-up in a table of
        // addresses per reference, a cache miss or two each on a large heap).
        let mut addresses: Blocks<usize> = Blocks::new(GRAPH);
        graph.offsets.push(0);
        let mut refs: Vec<RawObj> = Vec::new();
        let mut node = 0usize;
        while node < graph.objects.len() {
            if poll.woken(py) {
                // Python code may run between two nodes: every node is held, and nothing
                // borrowed is kept from one to the next. A progress report (in a
                // notebook, Python code) is made here, and a signal's handler runs; if it
                // returns, the traversal goes on. (What such code changes in objects not
                // traversed yet is seen as it is then.)
                ffi::check_signals(py).map_err(Stop::Python)?;
                // That code may have freed a type whose address keys a cached rule (an
                // object given another `__class__`): the rules are found again.
                rules.clear();
            }
            let obj = graph.objects[node].as_ptr();
            // SAFETY: `obj` is held by the graph, and so are the types in `rules` (each
            // the type of a held node since `rules` was last cleared).
            let size = unsafe { quick_size(&mut rules, sizer, obj) };
            match size {
                Some(size) => graph.sizes.push(size)?,
                None => {
                    graph.sizes.push(0)?;
                    graph.slow.try_push(node as u32, GRAPH)?;
                }
            }
            refs.clear();
            // SAFETY: `obj` is held by the graph.
            unsafe { ffi::traverse_borrowed_with_keys(obj, &mut refs) }?;
            if let Some(next) = graph.objects.get(node + PREFETCH_NODES) {
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
                    graph.add(&mut seen, child)?;
                }
                addresses.push(ffi::address(child))?;
            }
            let end = u32::try_from(addresses.len()).map_err(|_| TOO_MANY)?;
            graph.offsets.try_push(end, GRAPH)?;
            node += 1;
        }
        let ranks = seen.into_ranks()?;
        let mut nodes = grow::vec_filled(0u32, graph.objects.len(), GRAPH)?;
        for (node, obj) in graph.objects.iter().enumerate() {
            if let Some(rank) = ranks.rank(ffi::address(obj.as_ptr())) {
                nodes[rank as usize] = node as u32;
            }
        }
        let index = NodeIndex { ranks, nodes };
        graph.targets = grow::vec_with_capacity(addresses.len(), GRAPH)?;
        // Block by block, each freed once read, so that the addresses and the targets
        // are not both whole at once.
        for block in addresses.into_blocks() {
            for address in block {
                // Every target was numbered when its edge was recorded.
                let target = index.find(address);
                debug_assert!(target.is_some(), "an edge to an object without a node");
                graph.targets.push(target.unwrap_or(0));
            }
        }
        graph.index = Some(index);
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
            self.sizes.set(node, size as u64)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{AHashMap, Blocks, FlatSizes};

    #[test]
    fn sizes_past_four_gib_are_kept_aside() {
        let mut sizes = FlatSizes { small: Blocks::new("the test sizes"), large: AHashMap::new() };
        for size in [0, 56, u64::from(u32::MAX) - 1, u64::from(u32::MAX), 5 << 30, u64::MAX] {
            sizes.push(size).unwrap();
        }
        let got: Vec<u64> = (0..6).map(|node| sizes.get(node)).collect();
        assert_eq!(got, [0, 56, u64::from(u32::MAX) - 1, u64::from(u32::MAX), 5 << 30, u64::MAX]);
        assert_eq!(sizes.large.len(), 3);
        sizes.set(4, 64).unwrap();
        assert_eq!((sizes.get(4), sizes.large.len()), (64, 2));
        sizes.set(0, 6 << 30).unwrap();
        assert_eq!(sizes.get(0), 6 << 30);
    }
}
