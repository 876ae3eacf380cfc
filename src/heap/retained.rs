//! Retained sizes: the heap graph (`graph`), its roots (`roots`) and its dominator tree
//! (`dominators`), put together behind `heapscope.retained_size`, `retained_top` and
//! `retained_by_type`, one call each.

use crate::asizeof::flat::FlatSizer;
use crate::ffi::IntoNew;
use crate::ffi::{self, RawObj};
use crate::grow::{self, OutOfMemory};
use crate::heap::dominators::{dominators, Csr, Dominators};
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
struct Computed {
    graph: HeapGraph,
    dom: Dominators,
    /// Retained size by preorder number.
    retained: Vec<u64>,
    /// The kind of each root node.
    kinds: AHashMap<u32, Kind>,
    /// Seconds spent building the graph, then on roots and dominators.
    build_seconds: f64,
    dominator_seconds: f64,
    /// Bytes of the dominator arrays kept, and of the graph's before its index was
    /// freed.
    dominator_bytes: usize,
    graph_bytes: usize,
    /// The node of the first extra object.
    target: Option<u32>,
}

impl Computed {
    fn retained_of(&self, node: u32) -> Option<u64> {
        let p = self.dom.pre[node as usize];
        (p != crate::heap::dominators::NONE).then(|| self.retained[p as usize])
    }
}

/// Builds the graph (with `extra` objects as nodes), finds its roots and its dominator
/// tree, and sums retained sizes.
fn compute(py: Python<'_>, extra: &[RawObj], own_code: &[Bound<'_, PyAny>]) -> PyResult<Computed> {
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
            }
        }
    };
    graph.size_slow(py, &mut sizer)?;
    let build_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let (root_nodes, root_kinds) = roots::root_nodes(&graph, &gathered)?;
    let target = extra.first().and_then(|&obj| graph.node_of(obj));
    let graph_bytes = graph.footprint();
    graph.drop_index();
    let csr = Csr { offsets: &graph.offsets, targets: &graph.targets, roots: &root_nodes };
    let dom = dominators(csr, true)?;
    let retained = dom.retained(|v| graph.sizes[v as usize])?.ok_or_else(|| {
        PyOverflowError::new_err("retained sizes past 2**64 bytes: the heap's flat sizes cannot be right; report it")
    })?;
    let mut kinds: AHashMap<u32, Kind> = root_nodes.iter().copied().zip(root_kinds).collect();
    kinds.extend(dom.adopted.iter().map(|&v| (v, Kind::Unreachable)));
    let dominator_seconds = started.elapsed().as_secs_f64();
    let dominator_bytes = (dom.vertex.capacity() + dom.pre.capacity() + dom.idom.capacity()) * 4
        + retained.capacity() * 8
        + root_nodes.capacity() * 4;
    ffi::check_signals(py)?;
    Ok(Computed { graph, dom, retained, kinds, build_seconds, dominator_seconds, dominator_bytes, graph_bytes, target })
}

/// The bytes freed if every reference to `obj` from outside the objects it dominates
/// went away: its flat size plus those of every object only it keeps alive. Frames
/// running `own_code` are not roots.
#[pyfunction]
#[pyo3(signature = (obj, own_code))]
pub fn retained_size<'py>(
    py: Python<'py>,
    obj: &Bound<'_, PyAny>,
    own_code: Vec<Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let computed = compute(py, &[obj.as_ptr()], &own_code)?;
    let node = computed.target.ok_or_else(|| {
        PyRuntimeError::new_err("the object was not found in the heap graph it was added to; report it")
    })?;
    computed.retained_of(node).unwrap_or(computed.graph.sizes[node as usize]).into_new(py)
}

/// One object of `retained_top`: `(object, retained size, flat size, root kind or None)`.
type TopEntry<'py> = (Bound<'py, PyAny>, u64, u64, Option<&'static str>);

/// The `n` objects retaining the most, largest first.
#[pyfunction]
#[pyo3(signature = (n, own_code))]
pub fn retained_top<'py>(py: Python<'py>, n: usize, own_code: Vec<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    let computed = compute(py, &[], &own_code)?;
    let mut order: Vec<u32> = grow::collect_exact(1..computed.dom.vertex.len() as u32, BY_TYPE)?;
    let key = |p: &u32| std::cmp::Reverse(computed.retained[*p as usize]);
    if n < order.len() {
        order.select_nth_unstable_by_key(n, key);
        order.truncate(n);
    }
    order.sort_by_key(key);
    order
        .into_iter()
        .map(|p| {
            let node = computed.dom.vertex[p as usize];
            let obj = computed.graph.objects[node as usize].as_ptr();
            // SAFETY: every node is held by the graph; the Bound takes its own reference.
            let bound = unsafe { Bound::from_borrowed_ptr(py, obj) };
            let kind = computed.kinds.get(&node).map(|k| k.name());
            (bound, computed.retained[p as usize], computed.graph.sizes[node as usize], kind)
        })
        .collect::<Vec<TopEntry<'py>>>()
        .into_new(py)
}

/// One type of `retained_by_type`: `(type, objects, flat size, retained size)`.
type TypeEntry<'py> = (Bound<'py, PyAny>, u64, u64, u64);

/// The `n` types whose objects retain the most together, largest first. The retained
/// size of a type counts each of its objects not dominated by another of the same type,
/// so that nothing is counted twice.
#[pyfunction]
#[pyo3(signature = (n, own_code))]
pub fn retained_by_type<'py>(
    py: Python<'py>,
    n: usize,
    own_code: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let computed = compute(py, &[], &own_code)?;
    let totals = by_type(&computed)?;
    let mut rows: Vec<(usize, [u64; 3])> = totals.into_iter().collect();
    rows.sort_by_key(|(_, t)| std::cmp::Reverse(t[2]));
    rows.truncate(n);
    rows.into_iter()
        .map(|(tp, [count, flat, retained])| {
            // SAFETY: `tp` is the type of a node the graph holds.
            let bound = unsafe { Bound::from_borrowed_ptr(py, tp as RawObj) };
            (bound, count, flat, retained)
        })
        .collect::<Vec<TypeEntry<'py>>>()
        .into_new(py)
}

/// `[count, flat, retained]` by type address, walking the dominator tree depth first
/// with an explicit stack, and counting how many objects of each type are on the path.
fn by_type(c: &Computed) -> Result<AHashMap<usize, [u64; 3]>, OutOfMemory> {
    let m = c.dom.vertex.len();
    // Children of each node of the dominator tree, by preorder numbers.
    let mut start: Vec<u32> = grow::vec_filled(0, m + 1, BY_TYPE)?;
    for i in 1..m {
        start[c.dom.idom[i] as usize + 1] += 1;
    }
    for i in 0..m {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut children: Vec<u32> = grow::vec_filled(0, m.saturating_sub(1), BY_TYPE)?;
    for i in 1..m {
        let d = c.dom.idom[i] as usize;
        children[fill[d] as usize] = i as u32;
        fill[d] += 1;
    }
    drop(fill);
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
    let mut on_path: Vec<u32> = vec![0; types.len()];
    let mut stack: Vec<(u32, u32)> = vec![(0, start[0])];
    while let Some(top) = stack.last_mut() {
        let (p, next) = *top;
        if next < start[p as usize + 1] {
            top.1 += 1;
            let child = children[next as usize];
            let t = type_of[child as usize] as usize;
            let node = c.dom.vertex[child as usize] as usize;
            totals[t][0] += 1;
            totals[t][1] = totals[t][1].saturating_add(c.graph.sizes[node]);
            if on_path[t] == 0 {
                totals[t][2] = totals[t][2].saturating_add(c.retained[child as usize]);
            }
            on_path[t] += 1;
            grow::Grow::grow(&mut stack, 1, BY_TYPE)?;
            stack.push((child, start[child as usize]));
        } else {
            stack.pop();
            if p != 0 {
                on_path[type_of[p as usize] as usize] -= 1;
            }
        }
    }
    Ok(types.into_iter().zip(totals).collect())
}

/// Figures of one computation, for the benchmark: a dict of node, edge and root counts,
/// the bytes of the graph's and the dominator tree's arrays, and the seconds each took.
#[pyfunction]
#[pyo3(signature = (own_code))]
pub fn retained_stats<'py>(
    py: Python<'py>,
    own_code: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
    let computed = compute(py, &[], &own_code)?;
    let stats = pyo3::types::PyDict::new(py);
    stats.set_item("nodes", computed.graph.len())?;
    stats.set_item("edges", computed.graph.targets.len())?;
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
