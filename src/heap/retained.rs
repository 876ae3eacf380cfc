//! Retained sizes: the heap graph (`graph`), its roots (`roots`) and its dominator tree
//! (`dominators`), put together behind `heapscope.retained_size`, `retained_top` and
//! `retained_by_type`, one call each.

use crate::asizeof::flat::FlatSizer;
use crate::asizeof::sizer::default_deep_size;
use crate::ffi::IntoNew;
use crate::ffi::{self, RawObj};
use crate::grow::{self, OutOfMemory, TryPush};
use crate::heap::dominator_view::{self, Children, NamedPath};
use crate::heap::dominators::{finish_unless, preorder_unless, Dominators};
use crate::heap::edges::Kinds;
use crate::heap::graph::{HeapGraph, Stop};
use crate::heap::passes::{GcPause, TrackedObjects};
use crate::heap::roots::{self, Kind};
use ahash::AHashMap;
use pyo3::exceptions::{PyOverflowError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::time::Instant;

/// What the per-type arrays are called in a `MemoryError`.
const BY_TYPE: &str = "the retained sizes by type";

/// Everything one computation makes.
pub(crate) struct Computed<'py> {
    pub(crate) graph: HeapGraph,
    pub(crate) dom: Dominators,
    /// Retained size by preorder number.
    pub(crate) retained: Vec<u64>,
    /// The kind of each root node.
    pub(crate) kinds: AHashMap<u32, Kind>,
    /// Seconds spent building the graph, then on roots and dominators.
    build_seconds: f64,
    dominator_seconds: f64,
    /// Bytes of the dominator arrays kept, and of the graph's before its index was
    /// freed.
    dominator_bytes: usize,
    graph_bytes: usize,
    /// The number of references (edges) the graph had.
    edges: usize,
    /// The node of the first extra object.
    target: Option<u32>,
    /// The roots `why()` knows (their holders held), and the index among them of each
    /// root node that is one.
    pub(crate) gathered: roots::Gathered<'py>,
    pub(crate) root_index: AHashMap<u32, usize>,
}

impl<'py> Computed<'py> {
    /// Every preorder number but the super-root's.
    pub(crate) fn everything(&self) -> Result<Vec<u32>, OutOfMemory> {
        grow::collect_exact(1..self.dom.vertex.len() as u32, BY_TYPE)
    }

    /// The gathered roots, the rest (the graph and its references) dropped.
    pub(crate) fn into_gathered(self) -> roots::Gathered<'py> {
        self.gathered
    }

    pub(crate) fn retained_of(&self, node: u32) -> Option<u64> {
        let p = self.dom.pre[node as usize];
        (p != crate::heap::dominators::NONE).then(|| self.retained[p as usize])
    }
}

/// Builds the graph (with `extra` objects as nodes), finds its roots and its dominator
/// tree, and sums retained sizes. With `adopt`, objects no root reaches (garbage the
/// collector has not freed yet) are made roots of their own, so that every object is in
/// the tree; without, they are left out of it, as a collection would free them.
pub(crate) fn compute<'py>(
    py: Python<'py>,
    extra: &[RawObj],
    own_code: &[Bound<'py, PyAny>],
    adopt: bool,
) -> PyResult<Computed<'py>> {
    let gathered = roots::gather(py, own_code)?;
    let mut extra_objects: Vec<RawObj> = gathered.roots.iter().map(|r| r.holder.as_ptr()).collect();
    extra_objects.extend_from_slice(extra);
    let mut sizer = FlatSizer::new(py)?;
    let started = Instant::now();
    let mut graph = {
        let _pause = GcPause::new(py)?;
        loop {
            let tracked = TrackedObjects::take(py)?;
            // SAFETY: the collector is paused and no Python code has run since `take`;
            // the extra objects are held by `gathered` and the caller.
            match unsafe { HeapGraph::build(py, tracked, &extra_objects, &sizer) } {
                Ok(graph) => break graph,
                Err(Stop::Memory(error)) => return Err(error.into()),
                // The partial graph is dropped: the handler runs, and on return the
                // graph is built again.
                Err(Stop::Interrupted) => ffi::check_signals(py)?,
                Err(Stop::Python(error)) => return Err(error),
            }
        }
    };
    graph.size_slow(py, &mut sizer)?;
    // The edges' addresses are freed.
    grow::release_free_memory();
    let build_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let (root_nodes, root_kinds) = roots::root_nodes(&graph, &gathered)?;
    let target = extra.first().and_then(|&obj| graph.node_of(obj));
    let mut root_index: AHashMap<u32, usize> = AHashMap::new();
    for (index, root) in gathered.roots.iter().enumerate() {
        if let Some(node) = graph.node_of(root.holder.as_ptr()) {
            root_index.entry(node).or_insert(index);
        }
    }
    let graph_bytes = graph.footprint();
    graph.drop_index();
    // Pure Rust over arrays, with every node held: Python code may run at the polls (a
    // progress report, a signal's handler), and the computation goes on if it returns.
    let mut poll = ffi::SignalPoll::default();
    let mut raised: Option<PyErr> = None;
    let mut stop = || match poll.check(py) {
        Ok(()) => false,
        Err(error) => {
            raised = Some(error);
            true
        }
    };
    let stopped = |raised: &mut Option<PyErr>| {
        raised.take().unwrap_or_else(|| PyRuntimeError::new_err("the dominator computation stopped; report it"))
    };
    let Some(mut order) = preorder_unless(&graph.offsets, &mut graph.targets, &root_nodes, adopt, &mut stop)? else {
        return Err(stopped(&mut raised));
    };
    let edges = graph.targets.len();
    // The predecessor rows answer from here on what the edges would (which are in
    // preorder numbers now): freeing them keeps the peak of the computation down.
    graph.drop_edges();
    grow::release_free_memory();
    let Some(dom) = finish_unless(&mut order, &mut stop)? else {
        return Err(stopped(&mut raised));
    };
    // The semidominators' arrays are freed.
    grow::release_free_memory();
    let retained = dom.retained(|v| graph.sizes.get(v))?.ok_or_else(|| {
        PyOverflowError::new_err("retained sizes past 2**64 bytes: the heap's flat sizes cannot be right; report it")
    })?;
    let mut kinds: AHashMap<u32, Kind> = root_nodes.iter().copied().zip(root_kinds).collect();
    kinds.extend(dom.adopted.iter().map(|&v| (v, Kind::Unreachable)));
    let dominator_seconds = started.elapsed().as_secs_f64();
    let dominator_bytes = dom.footprint() + retained.capacity() * 8 + root_nodes.capacity() * 4;
    ffi::check_signals(py)?;
    Ok(Computed {
        graph,
        dom,
        retained,
        kinds,
        build_seconds,
        dominator_seconds,
        dominator_bytes,
        graph_bytes,
        edges,
        target,
        gathered,
        root_index,
    })
}

/// The bytes freed if every reference to `obj` from outside the objects it dominates
/// went away: its flat size plus those of every object only it keeps alive. Frames
/// running `own_code` are not roots.
#[pyfunction]
#[pyo3(signature = (obj, own_code, progress = None))]
pub fn retained_size<'py>(
    py: Python<'py>,
    obj: &Bound<'_, PyAny>,
    own_code: Vec<Bound<'_, PyAny>>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let _progress = crate::ffi::ProgressScope::enter_pass(progress)?;
    let computed = compute(py, &[obj.as_ptr()], &own_code, false)?;
    let node = computed.target.ok_or_else(|| {
        PyRuntimeError::new_err("the object was not found in the heap graph it was added to; report it")
    })?;
    computed.retained_of(node).unwrap_or(computed.graph.sizes.get(node)).into_new(py)
}

/// One object of `retained_top`: `(object, retained size, flat size, root kind or None,
/// deep size or None, (root label, steps of its dominator chain))`.
type TopEntry<'py> = (Bound<'py, PyAny>, u64, u64, Option<&'static str>, Option<u64>, NamedPath<'py>);

/// The `n` objects retaining the most, largest first, each with the chain of its
/// dominators from a root and, with `deep`, its deep size (`asizeof`'s defaults).
#[pyfunction]
#[pyo3(signature = (n, deep, own_code, progress = None))]
pub fn retained_top<'py>(
    py: Python<'py>,
    n: usize,
    deep: bool,
    own_code: Vec<Bound<'py, PyAny>>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let _progress = crate::ffi::ProgressScope::enter_pass(progress)?;
    let computed = compute(py, &[], &own_code, true)?;
    let order = dominator_view::largest(&computed.everything()?, &computed.retained, n)?;
    let mut picked = Vec::new();
    grow::Grow::grow(&mut picked, order.len(), BY_TYPE)?;
    for p in order {
        let node = computed.dom.vertex[p as usize];
        let kind = computed.kinds.get(&node).map(|k| k.name());
        let path = dominator_view::hold_path(py, &computed, p)?;
        let bound = path
            .objects
            .last()
            .cloned()
            .ok_or_else(|| PyRuntimeError::new_err("an empty dominator chain; report it"))?;
        picked.push((bound, computed.retained[p as usize], computed.graph.sizes.get(node), kind, path));
    }
    let gathered = computed.into_gathered();
    // Python code may run from here on: what is returned is held.
    let kinds = Kinds::new(py)?;
    let mut entries: Vec<TopEntry<'py>> = Vec::new();
    grow::Grow::grow(&mut entries, picked.len(), BY_TYPE)?;
    for (obj, retained, flat, kind, path) in picked {
        let deep_size = if deep { Some(default_deep_size(py, vec![obj.clone()])?) } else { None };
        let named = dominator_view::name_path(py, &kinds, &gathered, &path)?;
        entries.push((obj, retained, flat, kind, deep_size, named));
    }
    entries.into_new(py)
}

/// One type of `retained_by_type`: `(type, objects, flat size, retained size, deep size
/// or None, (root label, steps of the dominator chain of its object retaining the
/// most))`.
type TypeEntry<'py> = (Bound<'py, PyAny>, u64, u64, u64, Option<u64>, NamedPath<'py>);

/// The `n` types whose objects retain the most together, largest first. The retained
/// size of a type counts each of its objects not dominated by another of the same type,
/// so that nothing is counted twice; so does its deep size (with `deep`), the combined
/// `asizeof` of those objects.
#[pyfunction]
#[pyo3(signature = (n, deep, own_code, progress = None))]
pub fn retained_by_type<'py>(
    py: Python<'py>,
    n: usize,
    deep: bool,
    own_code: Vec<Bound<'py, PyAny>>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let _progress = crate::ffi::ProgressScope::enter_pass(progress)?;
    let computed = compute(py, &[], &own_code, true)?;
    let found = by_type(&computed)?;
    let mut rows: Vec<usize> = grow::collect_exact(0..found.types.len(), BY_TYPE)?;
    rows.sort_by_key(|&t| std::cmp::Reverse(found.totals[t][2]));
    rows.truncate(n);
    let mut rank: Vec<u32> = grow::vec_filled(u32::MAX, found.types.len(), BY_TYPE)?;
    for (i, &t) in rows.iter().enumerate() {
        rank[t] = i as u32;
    }
    // The outermost objects of each type shown, and the one retaining the most.
    let mut outer: Vec<Vec<Bound<'py, PyAny>>> = (0..rows.len()).map(|_| Vec::new()).collect();
    let mut largest: Vec<u32> = vec![0; rows.len()];
    for &(t, p) in &found.outer {
        let r = rank[t as usize];
        if r == u32::MAX {
            continue;
        }
        let r = r as usize;
        if largest[r] == 0 || computed.retained[p as usize] > computed.retained[largest[r] as usize] {
            largest[r] = p;
        }
        if deep {
            let obj = computed.graph.objects[computed.dom.vertex[p as usize] as usize].as_ptr();
            // SAFETY: the node is held by the graph; the Bound takes its own reference.
            outer[r].try_push(unsafe { Bound::from_borrowed_ptr(py, obj) }, BY_TYPE)?;
        }
    }
    let mut picked = Vec::new();
    grow::Grow::grow(&mut picked, rows.len(), BY_TYPE)?;
    for (r, &t) in rows.iter().enumerate() {
        // SAFETY: the type of a node the graph holds.
        let tp = unsafe { Bound::from_borrowed_ptr(py, found.types[t] as RawObj) };
        picked.push((tp, found.totals[t], dominator_view::hold_path(py, &computed, largest[r])?));
    }
    let gathered = computed.into_gathered();
    // Python code may run from here on: what is returned is held.
    let kinds = Kinds::new(py)?;
    let mut entries: Vec<TypeEntry<'py>> = Vec::new();
    grow::Grow::grow(&mut entries, picked.len(), BY_TYPE)?;
    for ((tp, [count, flat, retained], path), objects) in picked.into_iter().zip(outer) {
        let deep_size = if deep { Some(default_deep_size(py, objects)?) } else { None };
        let named = dominator_view::name_path(py, &kinds, &gathered, &path)?;
        entries.push((tp, count, flat, retained, deep_size, named));
    }
    entries.into_new(py)
}

/// What [`by_type`] finds: each type's address and `[count, flat, retained]`, and every
/// object not dominated by another of its type, as `(type index, preorder number)`.
pub(crate) struct ByType {
    pub(crate) types: Vec<usize>,
    pub(crate) totals: Vec<[u64; 3]>,
    pub(crate) outer: Vec<(u32, u32)>,
}

/// Walks the dominator tree depth first with an explicit stack, counting how many
/// objects of each type are on the path.
pub(crate) fn by_type(c: &Computed<'_>) -> Result<ByType, OutOfMemory> {
    let m = c.dom.vertex.len();
    let children = Children::new(&c.dom)?;
    let mut ids: AHashMap<usize, u32> = AHashMap::new();
    let mut types: Vec<usize> = Vec::new();
    let mut type_of: Vec<u32> = grow::vec_filled(0, m, BY_TYPE)?;
    for (p, slot) in type_of.iter_mut().enumerate().skip(1) {
        let obj = c.graph.objects[c.dom.vertex[p] as usize].as_ptr();
        // SAFETY: the node is held by the graph.
        let tp = unsafe { ffi::type_of(obj) } as usize;
        *slot = *ids.entry(tp).or_insert_with(|| {
            types.push(tp);
            types.len() as u32 - 1
        });
    }
    let mut totals: Vec<[u64; 3]> = vec![[0; 3]; types.len()];
    let mut outer: Vec<(u32, u32)> = Vec::new();
    let mut on_path: Vec<u32> = vec![0; types.len()];
    let mut stack: Vec<(u32, u32)> = vec![(0, 0)];
    while let Some(top) = stack.last_mut() {
        let (p, next) = *top;
        if let Some(&child) = children.of(p).get(next as usize) {
            top.1 += 1;
            let t = type_of[child as usize] as usize;
            let node = c.dom.vertex[child as usize] as usize;
            totals[t][0] += 1;
            totals[t][1] = totals[t][1].saturating_add(c.graph.sizes.get(node as u32));
            if on_path[t] == 0 {
                totals[t][2] = totals[t][2].saturating_add(c.retained[child as usize]);
                outer.try_push((t as u32, child), BY_TYPE)?;
            }
            on_path[t] += 1;
            grow::Grow::grow(&mut stack, 1, BY_TYPE)?;
            stack.push((child, 0));
        } else {
            stack.pop();
            if p != 0 {
                on_path[type_of[p as usize] as usize] -= 1;
            }
        }
    }
    Ok(ByType { types, totals, outer })
}

/// Figures of one computation, for the benchmark: a dict of node, edge and root counts,
/// the bytes of the graph's and the dominator tree's arrays, and the seconds each took.
#[pyfunction]
#[pyo3(signature = (own_code))]
pub fn retained_stats<'py>(
    py: Python<'py>,
    own_code: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
    let computed = compute(py, &[], &own_code, true)?;
    let stats = pyo3::types::PyDict::new(py);
    stats.set_item("nodes", computed.graph.len())?;
    stats.set_item("edges", computed.edges)?;
    stats.set_item("roots", computed.kinds.len())?;
    stats.set_item("graph_bytes", computed.graph_bytes)?;
    stats.set_item("dominator_bytes", computed.dominator_bytes)?;
    stats.set_item("build_seconds", computed.build_seconds)?;
    stats.set_item("dominator_seconds", computed.dominator_seconds)?;
    if computed.retained.is_empty() {
        return Err(PyValueError::new_err("the heap graph is empty: nothing to measure"));
    }
    stats.set_item("total", computed.retained[0])?;
    Ok(stats)
}
