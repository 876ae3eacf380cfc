//! "Who keeps this alive?": the shortest chains of references from a root to an object,
//! over the whole gc heap (behind `heapscope.why`).
//!
//! One pass over `gc.get_objects()` builds a referrer index: every tracked object gets a
//! node, and so do the untracked GC objects they hold (tuples and dicts of atomic
//! values, which can hold the target) and the target itself; each object's `tp_traverse`
//! gives its referents, and each edge is stored backwards, in compressed rows (one
//! `u32` per edge). A breadth-first search then walks referrers from the target until it
//! meets root holders (module objects, snapshots of live frames' locals, thread state),
//! so each chain found is a shortest one, and chains come shortest first, one per root.
//!
//! The pass and the search keep borrowed pointers and run no Python code: the list from
//! `gc.get_objects()` keeps the tracked objects alive, and untracked nodes are held by
//! their (alive, unchanged) referrers. The objects on the chains found are taken strongly
//! before anything that can run Python code (building the result).

use crate::ffi::{self, RawObj, Strong};
use ahash::{AHashMap, AHashSet};
use pyo3::prelude::*;
use pyo3::types::PyList;
use std::collections::VecDeque;

const UNSEEN: u32 = u32::MAX;

/// Referrers of every node: `referrers[start[v]..start[v + 1]]` are the nodes that refer
/// to node `v`.
struct Index {
    addrs: Vec<usize>,
    ids: AHashMap<usize, u32>,
    start: Vec<u32>,
    referrers: Vec<u32>,
}

impl Index {
    /// Builds the index over the tracked objects in `tracked` and the `extra` objects
    /// (the target, root holders). Objects in `ignore` refer to nothing.
    ///
    /// # Safety
    /// `tracked` must be alive and unchanged for the call, and every `extra` object and
    /// every address in `ignore` alive. No Python code may run during the call.
    unsafe fn build(tracked: RawObj, extra: &[RawObj], ignore: &AHashSet<usize>) -> Result<Index, &'static str> {
        let mut addrs: Vec<usize> = Vec::new();
        let mut ids: AHashMap<usize, u32> = AHashMap::new();
        let add = |addrs: &mut Vec<usize>, ids: &mut AHashMap<usize, u32>, addr: usize| -> Result<u32, &'static str> {
            let id = u32::try_from(addrs.len()).map_err(|_| "too many objects for the referrer index")?;
            if id == UNSEEN {
                return Err("too many objects for the referrer index");
            }
            ids.insert(addr, id);
            addrs.push(addr);
            Ok(id)
        };
        let mut index = 0usize;
        // SAFETY: the caller keeps the list alive and unchanged; items are borrowed from it.
        while let Some(item) = unsafe { ffi::list_item(tracked, index) } {
            index += 1;
            let addr = ffi::address(item);
            if !ignore.contains(&addr) && !ids.contains_key(&addr) {
                add(&mut addrs, &mut ids, addr)?;
            }
        }
        for &obj in extra {
            let addr = ffi::address(obj);
            if !ids.contains_key(&addr) {
                add(&mut addrs, &mut ids, addr)?;
            }
        }
        let target = extra.first().map(|&t| ffi::address(t));
        // Edges as (referent, referrer); nodes appended while walking are walked too.
        let mut edges: Vec<(u32, u32)> = Vec::with_capacity(addrs.len() * 3);
        let mut failed = None;
        let mut node = 0usize;
        while node < addrs.len() {
            let obj = addrs[node] as RawObj;
            let from = node as u32;
            node += 1;
            if ignore.contains(&(obj as usize)) {
                continue;
            }
            let mut each = |child: RawObj| {
                let addr = ffi::address(child);
                let id = match ids.get(&addr) {
                    Some(&id) => id,
                    None => {
                        if ignore.contains(&addr) {
                            return;
                        }
                        // SAFETY: `child` is held by the live object being traversed,
                        // or a dead one in a free list, whose header is still readable.
                        // Dead objects are never nodes: they are not traversed or held.
                        if unsafe { ffi::is_dead_referent(child) } {
                            return;
                        }
                        // SAFETY: as above; `child` is alive.
                        let holds_more = unsafe { ffi::is_gc_object(child) };
                        if !holds_more && Some(addr) != target {
                            return; // an atomic object: never on a chain to the target
                        }
                        match add(&mut addrs, &mut ids, addr) {
                            Ok(id) => id,
                            Err(e) => {
                                failed = Some(e);
                                return;
                            }
                        }
                    }
                };
                if id != from {
                    edges.push((id, from));
                }
            };
            // SAFETY: `obj` is a tracked object held by the list, an extra object held by
            // the caller, or an untracked object held by one of those, unchanged since it
            // was found: no Python code has run.
            unsafe { ffi::for_each_referent(obj, &mut each) };
            if let Some(e) = failed {
                return Err(e);
            }
        }
        // Counting sort of the edges by referent.
        let n = addrs.len();
        let mut start = vec![0u32; n + 1];
        for &(to, _) in &edges {
            start[to as usize + 1] += 1;
        }
        for v in 0..n {
            start[v + 1] += start[v];
        }
        let mut fill: Vec<u32> = start[..n].to_vec();
        let mut referrers = vec![0u32; edges.len()];
        for &(to, from) in &edges {
            let slot = &mut fill[to as usize];
            referrers[*slot as usize] = from;
            *slot += 1;
        }
        Ok(Index { addrs, ids, start, referrers })
    }

    fn referrers_of(&self, v: u32) -> &[u32] {
        &self.referrers[self.start[v as usize] as usize..self.start[v as usize + 1] as usize]
    }

    /// Breadth-first search from `target` along referrers, stopping at root nodes (whose
    /// own referrers are not followed). Returns up to `max_paths` chains, shortest first,
    /// one per root: (root number, node ids from the root holder to the target).
    fn search(&self, target: u32, roots: &AHashMap<u32, usize>, max_paths: usize) -> Vec<(usize, Vec<u32>)> {
        let mut next = vec![UNSEEN; self.addrs.len()];
        let mut queue = VecDeque::new();
        let mut found = Vec::new();
        next[target as usize] = target;
        queue.push_back(target);
        while let Some(v) = queue.pop_front() {
            if let Some(&root) = roots.get(&v) {
                let mut chain = vec![v];
                let mut at = v;
                while at != target {
                    at = next[at as usize];
                    chain.push(at);
                }
                found.push((root, chain));
                if found.len() >= max_paths {
                    break;
                }
                continue;
            }
            for &u in self.referrers_of(v) {
                if next[u as usize] == UNSEEN {
                    next[u as usize] = v;
                    queue.push_back(u);
                }
            }
        }
        found
    }
}

/// What [`reference_chains`] found.
#[pyclass(frozen, module = "heapscope._core")]
pub struct Chains {
    /// `(root number, [root holder, ..., target])`, shortest first, one per root.
    #[pyo3(get)]
    chains: Vec<(usize, Py<PyList>)>,
    /// Objects that refer to the target directly (first 20), for the "unreachable" case.
    #[pyo3(get)]
    direct_referrers: Py<PyList>,
    /// How many objects refer to the target directly.
    #[pyo3(get)]
    direct_count: usize,
    /// Nodes and edges in the index.
    #[pyo3(get)]
    nodes: usize,
    #[pyo3(get)]
    edges: usize,
}

/// The shortest chains of references from the `roots` (holder objects: a chain starts at
/// one of them) to `target`, at most `max_paths` of them, over every object the garbage
/// collector tracks. Objects in `ignore` (and the list `gc.get_objects()` returns) are
/// not counted as referrers.
#[pyfunction]
#[pyo3(signature = (target, roots, ignore, max_paths=1))]
pub fn reference_chains<'py>(
    py: Python<'py>,
    target: &Bound<'py, PyAny>,
    roots: Vec<Bound<'py, PyAny>>,
    ignore: Vec<Bound<'py, PyAny>>,
    max_paths: usize,
) -> PyResult<Chains> {
    let tracked = py.import("gc")?.getattr("get_objects")?.call0()?.cast_into::<PyList>()?;
    let mut ignored: AHashSet<usize> = ignore.iter().map(|o| ffi::address(o.as_ptr())).collect();
    ignored.insert(ffi::address(tracked.as_ptr()));
    ignored.remove(&ffi::address(target.as_ptr()));
    let mut extra: Vec<RawObj> = vec![target.as_ptr()];
    extra.extend(roots.iter().map(|r| r.as_ptr()));

    // From here until the chains are held strongly, no Python code runs.
    // SAFETY: `tracked` is our own list, nobody else changes it; the target, roots and
    // ignored objects are held by the arguments.
    let index = unsafe { Index::build(tracked.as_ptr(), &extra, &ignored) }
        .map_err(pyo3::exceptions::PyMemoryError::new_err)?;
    let mut root_ids: AHashMap<u32, usize> = AHashMap::new();
    for (number, root) in roots.iter().enumerate() {
        if let Some(&id) = index.ids.get(&ffi::address(root.as_ptr())) {
            root_ids.entry(id).or_insert(number);
        }
    }
    let target_id = index.ids[&ffi::address(target.as_ptr())];
    let found = index.search(target_id, &root_ids, max_paths.max(1));
    let hold = |id: u32| {
        // SAFETY: every node is alive (see the module docs) and no Python code has run.
        unsafe { Strong::from_borrowed(index.addrs[id as usize] as RawObj) }
    };
    let held: Vec<(usize, Vec<Strong>)> =
        found.iter().map(|(root, chain)| (*root, chain.iter().map(|&id| hold(id)).collect())).collect();
    let direct = index.referrers_of(target_id);
    let direct_held: Vec<Strong> = direct.iter().take(20).map(|&id| hold(id)).collect();
    let (nodes, edges, direct_count) = (index.addrs.len(), index.referrers.len(), direct.len());
    drop(index);
    drop(tracked);

    // Python code may run from here on: everything kept is held strongly.
    let to_list = |items: Vec<Strong>| -> PyResult<Py<PyList>> {
        // SAFETY: each item is held by its `Strong`; the Bound takes its own reference.
        let bound = items.iter().map(|s| unsafe { Bound::from_borrowed_ptr(py, s.as_ptr()) });
        Ok(PyList::new(py, bound)?.unbind())
    };
    let chains = held.into_iter().map(|(root, chain)| Ok((root, to_list(chain)?))).collect::<PyResult<Vec<_>>>()?;
    Ok(Chains { chains, direct_referrers: to_list(direct_held)?, direct_count, nodes, edges })
}

/// For each object of `targets`, the objects that refer to it directly (what
/// `gc.get_referrers` returns for it), found in one pass over the gc heap instead of
/// one pass per object. Objects in `ignore` (and the list `gc.get_objects()` returns)
/// are left out.
#[pyfunction]
pub fn referrers_of<'py>(
    py: Python<'py>,
    targets: Vec<Bound<'py, PyAny>>,
    ignore: Vec<Bound<'py, PyAny>>,
) -> PyResult<Vec<Py<PyList>>> {
    let tracked = py.import("gc")?.getattr("get_objects")?.call0()?.cast_into::<PyList>()?;
    let mut ignored: AHashSet<usize> = ignore.iter().map(|o| ffi::address(o.as_ptr())).collect();
    ignored.insert(ffi::address(tracked.as_ptr()));
    let mut slot: AHashMap<usize, Vec<usize>> = AHashMap::new();
    for (i, t) in targets.iter().enumerate() {
        slot.entry(ffi::address(t.as_ptr())).or_default().push(i);
    }
    let mut found: Vec<Vec<Strong>> = (0..targets.len()).map(|_| Vec::new()).collect();
    let mut index = 0usize;
    // SAFETY: `tracked` is our own list, unchanged; each item is alive while it is in
    // it. Referents are compared by address only, and the referrer is taken strongly.
    // No Python code runs in the loop.
    while let Some(item) = unsafe { ffi::list_item(tracked.as_ptr(), index) } {
        index += 1;
        if ignored.contains(&ffi::address(item)) {
            continue;
        }
        let mut hits: Vec<usize> = Vec::new();
        let mut each = |child: RawObj| {
            if let Some(slots) = slot.get(&ffi::address(child)) {
                hits.extend_from_slice(slots);
            }
        };
        // SAFETY: `item` is alive (held by the list) and no Python code runs.
        unsafe { ffi::for_each_referent(item, &mut each) };
        hits.sort_unstable();
        hits.dedup();
        for i in hits {
            // SAFETY: `item` is alive (held by the list).
            found[i].push(unsafe { Strong::from_borrowed(item) });
        }
    }
    drop(tracked);
    found
        .into_iter()
        .map(|items| {
            // SAFETY: each item is held by its `Strong`; the Bound takes its own reference.
            let bound = items.iter().map(|s| unsafe { Bound::from_borrowed_ptr(py, s.as_ptr()) });
            Ok(PyList::new(py, bound)?.unbind())
        })
        .collect()
}
