//! Views of the dominator tree once it is computed (`retained::compute`): each node's
//! children, the chain of immediate dominators from a root down to an object (named as
//! `why()` names its steps), and the visible part of the tree behind
//! `heapscope.dominator_tree`.
//!
//! Everything shown is first taken from the arrays and held strongly; the computation
//! (and the references its graph holds) is dropped before naming, which runs Python code.

use crate::ffi::IntoNew;
use crate::grow::{self, Grow, OutOfMemory, TryPush};
use crate::heap::dominators::Dominators;
use crate::heap::edges::{self, Kinds, RootKind, Step};
use crate::heap::retained::{compute, Computed};
use crate::heap::roots::{Gathered, Kind};
use pyo3::prelude::*;

/// What the arrays of the views are called in a `MemoryError`.
const VIEW: &str = "the dominator tree's children";

/// The most dominators a path shows: the root, then the nearest ones to the object.
pub const MAX_PATH: usize = 12;

/// The clip of an object's description.
const DESCRIPTION_CLIP: usize = 60;

/// The children of every node of the dominator tree, by preorder numbers, in
/// compressed rows.
pub struct Children {
    start: Vec<u32>,
    list: Vec<u32>,
}

impl Children {
    pub fn new(dom: &Dominators) -> Result<Children, OutOfMemory> {
        let m = dom.vertex.len();
        let mut start: Vec<u32> = grow::vec_filled(0, m + 1, VIEW)?;
        for i in 1..m {
            start[dom.idom[i] as usize + 1] += 1;
        }
        for i in 0..m {
            start[i + 1] += start[i];
        }
        let mut fill: Vec<u32> = grow::collect_exact(start.iter().copied(), VIEW)?;
        let mut list: Vec<u32> = grow::vec_filled(0, m.saturating_sub(1), VIEW)?;
        for i in 1..m {
            let d = dom.idom[i] as usize;
            list[fill[d] as usize] = i as u32;
            fill[d] += 1;
        }
        Ok(Children { start, list })
    }

    /// The children of preorder number `p`.
    pub fn of(&self, p: u32) -> &[u32] {
        &self.list[self.start[p as usize] as usize..self.start[p as usize + 1] as usize]
    }
}

/// The `n` children retaining the most, largest first.
pub fn largest(children: &[u32], retained: &[u64], n: usize) -> Result<Vec<u32>, OutOfMemory> {
    let mut order: Vec<u32> = grow::collect_exact(children.iter().copied(), VIEW)?;
    let key = |p: &u32| std::cmp::Reverse(retained[*p as usize]);
    if n < order.len() {
        order.select_nth_unstable_by_key(n, key);
        order.truncate(n);
    }
    order.sort_by_key(key);
    Ok(order)
}

/// Where a path starts.
enum Head {
    /// A root `why()` knows: the index in [`Gathered::roots`].
    Known(usize),
    /// Another root (held from C, unreachable), or, with `None`, an object that several
    /// roots reach, so that no single root dominates it.
    Other(Option<Kind>),
}

/// The chain of immediate dominators from the top of the tree down to an object, held.
pub struct HeldPath<'py> {
    head: Head,
    pub(crate) objects: Vec<Bound<'py, PyAny>>,
    /// `direct[i]`: `objects[i]` refers to `objects[i + 1]` itself.
    direct: Vec<bool>,
    /// Dominators left out after the first object.
    skipped: usize,
}

/// Holds the objects of the dominator chain of preorder number `p`: the node below the
/// super-root first, at most [`MAX_PATH`] of them (the first, then the last ones).
pub fn hold_path<'py>(py: Python<'py>, c: &Computed<'py>, p: u32) -> PyResult<HeldPath<'py>> {
    let mut chain: Vec<u32> = Vec::new();
    let mut at = p;
    // A chain can be as long as the heap (a linked list of a million nodes).
    let mut poll = crate::ffi::SignalPoll::default();
    while at != 0 {
        poll.check(py)?;
        chain.try_push(at, VIEW)?;
        at = c.dom.idom[at as usize];
    }
    chain.reverse();
    let skipped = chain.len().saturating_sub(MAX_PATH);
    if skipped > 0 {
        chain.drain(1..1 + skipped);
    }
    let nodes: Vec<u32> = chain.iter().map(|&q| c.dom.vertex[q as usize]).collect();
    let mut objects = Vec::new();
    objects.grow(nodes.len(), VIEW)?;
    for &node in &nodes {
        // SAFETY: every node is held by the graph; the Bound takes its own reference.
        objects.push(unsafe { Bound::from_borrowed_ptr(py, c.graph.objects[node as usize].as_ptr()) });
    }
    let direct =
        nodes.windows(2).enumerate().map(|(i, w)| !(i == 0 && skipped > 0) && c.dom.refers(w[0], w[1])).collect();
    let head = match nodes.first() {
        Some(node) => match c.root_index.get(node) {
            Some(&index) => Head::Known(index),
            None => Head::Other(c.kinds.get(node).copied()),
        },
        None => Head::Other(None),
    };
    Ok(HeldPath { head, objects, direct, skipped })
}

/// A named path: the root's label and the steps, as `why()` gives them.
pub type NamedPath<'py> = (Bound<'py, PyAny>, Vec<Step<'py>>);

/// Names a held path: runs of direct references are named by [`edges::name_chain`],
/// and a step `…` stands where a dominator does not refer to the next one itself (or
/// where dominators were left out).
pub fn name_path<'py>(
    py: Python<'py>,
    kinds: &Kinds<'py>,
    gathered: &Gathered<'py>,
    path: &HeldPath<'py>,
) -> PyResult<NamedPath<'py>> {
    let Some(first) = path.objects.first() else {
        return Ok((crate::pystr!(py, "")?.into_any(), Vec::new()));
    };
    let (label, kind) = match path.head {
        Head::Known(index) => (gathered.roots[index].label.clone(), gathered.roots[index].kind),
        Head::Other(kind) => {
            let note = match kind {
                Some(kind) => format!("{}: ", kind.name()),
                None => "several roots: ".to_string(),
            };
            let shown = match module_of_globals(py, gathered, first)? {
                Some(label) => label.add(crate::pystr!(py, ".__dict__")?)?,
                None => edges::type_name(kinds, first)?,
            };
            (crate::ffi::new_str(py, &note)?.into_any().add(shown)?, RootKind::Module)
        }
    };
    let mut steps = Vec::new();
    let mut start = 0;
    let mut segment_label = label.clone();
    let mut segment_kind = kind;
    for end in 1..=path.objects.len() {
        if end < path.objects.len() && path.direct[end - 1] {
            continue;
        }
        steps.extend(edges::name_chain(kinds, &path.objects[start..end], segment_kind, &segment_label)?);
        if end < path.objects.len() {
            let gap =
                if start == 0 && path.skipped > 0 { format!("… {} more", path.skipped) } else { "…".to_string() };
            steps.push((crate::ffi::new_str(py, &gap)?.into_any(), crate::pystr!(py, "")?.into_any(), 0));
            segment_label = edges::type_name(kinds, &path.objects[end])?;
            segment_kind = RootKind::Module;
        }
        start = end;
    }
    Ok((label, steps))
}

/// The label of the module root whose `__dict__` is `obj`, if any: the globals of
/// `__main__` are held from C too (by the running frame), so they are a root of their
/// own, better named after their module.
fn module_of_globals<'py>(
    py: Python<'py>,
    gathered: &Gathered<'py>,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if !obj.is_exact_instance_of::<pyo3::types::PyDict>() {
        return Ok(None);
    }
    for root in gathered.roots.iter().filter(|r| r.kind == RootKind::Module) {
        let globals = edges::unless_exception(py, root.holder.getattr(crate::pystr!(py, "__dict__")?))?;
        if globals.is_some_and(|g| g.is(obj)) {
            return Ok(Some(root.label.clone()));
        }
    }
    Ok(None)
}

/// Short descriptions of objects, bounded whatever their size: a non-empty `__name__`
/// (modules, classes, functions), else `reprlib.repr` (which shows a few items of a
/// container, never all of them), cut to a few dozen characters; the type's C name and
/// address when the object's own code raises an `Exception`.
pub struct Describer<'py> {
    short_repr: Bound<'py, PyAny>,
}

impl<'py> Describer<'py> {
    pub fn new(py: Python<'py>) -> PyResult<Describer<'py>> {
        Ok(Describer { short_repr: py.import(crate::pystr!(py, "reprlib")?)?.getattr(crate::pystr!(py, "repr")?)? })
    }

    pub fn describe(&self, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = obj.py();
        let named = edges::unless_exception(py, obj.getattr(crate::pystr!(py, "__name__")?))?
            .filter(|name| name.is_instance_of::<pyo3::types::PyString>() && name.is_truthy().unwrap_or(false));
        let text = match named {
            Some(name) => name,
            None => match edges::unless_exception(py, self.short_repr.call1((obj,)))? {
                Some(text) if text.is_instance_of::<pyo3::types::PyString>() => text,
                _ => return edges::safe_description(obj),
            },
        };
        let length = text.len()?;
        if length <= DESCRIPTION_CLIP {
            return Ok(text);
        }
        crate::ffi::get_slice(&text, 0, DESCRIPTION_CLIP as isize - 3)?.add(crate::pystr!(py, "...")?)
    }
}

/// One visible node of `dominator_tree`: its row index while the tree is cut out.
struct Visible {
    parent: i64,
    p: u32,
    hidden: u64,
    hidden_retained: u64,
}

/// A row of `dominator_tree`: `(parent row or -1, type name, description, retained
/// size, flat size, children, root kind or None, children not shown, their retained
/// size)`.
type Row<'py> = (i64, Bound<'py, PyAny>, Bound<'py, PyAny>, u64, u64, u64, Option<&'static str>, u64, u64);

/// The dominator tree of the whole heap, cut to what is shown: from the super-root (row
/// 0, its "children" the roots), each node's `max_children` children retaining the
/// most, largest first, to `max_depth` levels below the super-root and at most
/// `max_nodes` rows in all (breadth first). Returns `(rows, objects in the tree)`.
#[pyfunction]
#[pyo3(signature = (max_depth, max_children, max_nodes, own_code, progress = None))]
pub fn dominator_tree<'py>(
    py: Python<'py>,
    max_depth: usize,
    max_children: usize,
    max_nodes: usize,
    own_code: Vec<Bound<'py, PyAny>>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let _progress = crate::ffi::ProgressScope::enter_pass(progress)?;
    let computed = compute(py, &[], &own_code, true)?;
    let children = Children::new(&computed.dom)?;
    // Breadth first, so that a cut by `max_nodes` takes the deepest levels first.
    let mut visible: Vec<Visible> = Vec::new();
    let mut queue: std::collections::VecDeque<(u32, i64, usize)> = std::collections::VecDeque::new();
    queue.push_back((0, -1, 0));
    let mut poll = crate::ffi::SignalPoll::default();
    while let Some((p, parent, depth)) = queue.pop_front() {
        poll.check(py)?;
        if visible.len() >= max_nodes.max(1) {
            let shown = &mut visible[parent as usize];
            shown.hidden += 1;
            shown.hidden_retained = shown.hidden_retained.saturating_add(computed.retained[p as usize]);
            continue;
        }
        let row = visible.len() as i64;
        let kids = children.of(p);
        let shown = if depth < max_depth { largest(kids, &computed.retained, max_children)? } else { Vec::new() };
        let all: u64 = kids.iter().fold(0u64, |sum, &k| sum.saturating_add(computed.retained[k as usize]));
        let kept: u64 = shown.iter().fold(0u64, |sum, &k| sum.saturating_add(computed.retained[k as usize]));
        visible.try_push(
            Visible { parent, p, hidden: (kids.len() - shown.len()) as u64, hidden_retained: all - kept },
            VIEW,
        )?;
        queue.try_reserve(shown.len()).map_err(|_| OutOfMemory(VIEW))?;
        queue.extend(shown.into_iter().map(|k| (k, row, depth + 1)));
    }
    let count = computed.graph.len() as u64;
    let mut held = Vec::new();
    held.grow(visible.len(), VIEW)?;
    for v in &visible {
        let node = computed.dom.vertex[v.p as usize];
        let figures = if v.p == 0 {
            (computed.retained[0], 0, None)
        } else {
            (
                computed.retained[v.p as usize],
                computed.graph.sizes.get(node),
                computed.kinds.get(&node).map(|k| k.name()),
            )
        };
        let obj = (v.p != 0).then(|| {
            // SAFETY: the node is held by the graph; the Bound takes its own reference.
            unsafe { Bound::from_borrowed_ptr(py, computed.graph.objects[node as usize].as_ptr()) }
        });
        held.push((obj, figures, children.of(v.p).len() as u64));
    }
    drop(children);
    drop(computed);
    // Python code may run from here on (naming): what is shown is held.
    let describer = Describer::new(py)?;
    let rows = crate::heap::quiet_warnings::quietly(py, || {
        let mut rows: Vec<Row<'py>> = Vec::new();
        rows.grow(held.len(), VIEW)?;
        for (v, (obj, (retained, flat, kind), kids)) in visible.iter().zip(held) {
            let (type_name, description) = match &obj {
                Some(obj) => (edges::qualname_of_type(obj)?, describer.describe(obj)?),
                None => (crate::pystr!(py, "heap")?.into_any(), crate::pystr!(py, "every root")?.into_any()),
            };
            rows.push((v.parent, type_name, description, retained, flat, kids, kind, v.hidden, v.hidden_retained));
        }
        Ok(rows)
    })?;
    (rows, count).into_new(py)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::dominators::{dominators, Csr};

    #[test]
    fn children_rows_and_the_largest_of_them() {
        // 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, 2 -> 4: 3 is dominated by 0 only.
        let offsets = [0u32, 2, 3, 5, 5, 5];
        let targets = [1u32, 2, 3, 3, 4];
        let roots = [0u32];
        let dom = dominators(Csr { offsets: &offsets, targets: &targets, roots: &roots }, false).unwrap();
        let children = Children::new(&dom).unwrap();
        let node_children = |node: u32| {
            let mut kids: Vec<u32> =
                children.of(dom.pre[node as usize]).iter().map(|&p| dom.vertex[p as usize]).collect();
            kids.sort();
            kids
        };
        assert_eq!(node_children(5), vec![0]); // the super-root
        assert_eq!(node_children(0), vec![1, 2, 3]);
        assert_eq!(node_children(2), vec![4]);
        assert!(node_children(3).is_empty());
        let retained = dom.retained(|v| [1, 10, 20, 300, 4][v as usize]).unwrap().unwrap();
        let top: Vec<u32> = largest(children.of(dom.pre[0]), &retained, 2)
            .unwrap()
            .into_iter()
            .map(|p| dom.vertex[p as usize])
            .collect();
        assert_eq!(top, vec![3, 2]);
        assert_eq!(largest(children.of(dom.pre[0]), &retained, 10).unwrap().len(), 3);
        assert!(largest(children.of(dom.pre[0]), &retained, 0).unwrap().is_empty());
    }
}
