//! Leak suspects, by Eclipse MAT's rule: one object, or the objects of one type, at the
//! top of the dominator tree (below the super-root) that retain at least a given share
//! of the heap. For each, the accumulation point: walking down from the suspect along
//! the child retaining the most, the first node whose retained size is spread over its
//! children (none retains more than half of it), which is where many similar objects
//! pile up (the cache dict of a growing cache).

use crate::ffi::{self, IntoNew};
use crate::grow::{Grow, TryPush};
use crate::heap::dominator_view::{self, Children, Describer, HeldPath, NamedPath};
use crate::heap::edges::{self, Kinds};
use crate::heap::retained::{compute, Computed};
use crate::heap::roots::Kind;
use ahash::AHashMap;
use pyo3::prelude::*;

/// What the arrays of the report are called in a `MemoryError`.
const SUSPECTS: &str = "the leak suspects";

/// At most this many suspects are reported, largest first.
const MAX_SUSPECTS: usize = 10;

/// The type address of preorder number `p`'s object.
fn type_address(c: &Computed<'_>, p: u32) -> usize {
    let obj = c.graph.objects[c.dom.vertex[p as usize] as usize].as_ptr();
    // SAFETY: the node is held by the graph.
    unsafe { ffi::type_of(obj) as usize }
}

/// The object of preorder number `p`, held.
fn held<'py>(py: Python<'py>, c: &Computed<'py>, p: u32) -> Bound<'py, PyAny> {
    let obj = c.graph.objects[c.dom.vertex[p as usize] as usize].as_ptr();
    // SAFETY: the node is held by the graph; the Bound takes its own reference.
    unsafe { Bound::from_borrowed_ptr(py, obj) }
}

/// From `p` down the child retaining the most, while that child retains more than half.
fn accumulation_point(py: Python<'_>, c: &Computed<'_>, children: &Children, mut p: u32) -> PyResult<u32> {
    let mut poll = ffi::SignalPoll::default();
    loop {
        poll.check(py)?;
        let biggest = children.of(p).iter().copied().max_by_key(|&k| c.retained[k as usize]);
        match biggest {
            Some(k) if c.retained[k as usize].saturating_mul(2) > c.retained[p as usize] => p = k,
            _ => return Ok(p),
        }
    }
}

/// Among the children of `p`, the type retaining the most together: `(one of its
/// objects, count, retained)`.
fn main_child_type(c: &Computed<'_>, children: &Children, p: u32) -> Option<(u32, u64, u64)> {
    let mut by_type: AHashMap<usize, (u32, u64, u64)> = AHashMap::new();
    for &k in children.of(p) {
        let entry = by_type.entry(type_address(c, k)).or_insert((k, 0, 0));
        entry.1 += 1;
        entry.2 = entry.2.saturating_add(c.retained[k as usize]);
    }
    by_type.into_values().max_by_key(|&(_, _, retained)| retained)
}

/// A suspect held until it is named.
struct Held<'py> {
    /// One object (`true`) or all the top objects of its type.
    single: bool,
    /// The suspect's object (for a type, the one retaining the most).
    obj: Bound<'py, PyAny>,
    count: u64,
    retained: u64,
    kind: Option<Kind>,
    point: Bound<'py, PyAny>,
    point_children: u64,
    point_retained: u64,
    child_type: Option<(Bound<'py, PyAny>, u64, u64)>,
    path: HeldPath<'py>,
}

/// One suspect: `(single object?, type name, description, objects, retained, root kind
/// or None, (accumulation point's type name, its description, its children, its
/// retained size, (child type name, count, retained) or None, path to it))`.
type Suspect<'py> = (
    bool,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    u64,
    u64,
    Option<&'static str>,
    (Bound<'py, PyAny>, Bound<'py, PyAny>, u64, u64, Option<(Bound<'py, PyAny>, u64, u64)>, NamedPath<'py>),
);

/// The suspects of the heap (at most [`MAX_SUSPECTS`], largest first): the objects at
/// the top of the dominator tree retaining at least `threshold` of the heap, then the
/// types whose top objects (modules and other named roots left out: each is an object
/// on its own) retain that much together. Returns `(suspects, heap total, objects)`.
#[pyfunction]
#[pyo3(signature = (threshold, own_code, progress = None))]
pub fn leak_suspects<'py>(
    py: Python<'py>,
    threshold: f64,
    own_code: Vec<Bound<'py, PyAny>>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let _progress = crate::ffi::ProgressScope::enter_pass(progress)?;
    let computed = compute(py, &[], &own_code, true)?;
    let children = Children::new(&computed.dom)?;
    let total = computed.retained.first().copied().unwrap_or(0);
    let objects = computed.graph.len() as u64;
    let bar = ((total as f64) * threshold).ceil().max(1.0) as u64;
    let top = children.of(0);

    // (single?, representative preorder number, count, retained)
    let mut found: Vec<(bool, u32, u64, u64)> = Vec::new();
    let mut groups: AHashMap<usize, (u32, u64, u64)> = AHashMap::new();
    for &p in top {
        let retained = computed.retained[p as usize];
        if retained >= bar {
            found.try_push((true, p, 1, retained), SUSPECTS)?;
            continue;
        }
        let named_root = matches!(
            computed.kinds.get(&computed.dom.vertex[p as usize]),
            Some(Kind::Module | Kind::Locals | Kind::Thread)
        );
        if !named_root {
            let group = groups.entry(type_address(&computed, p)).or_insert((p, 0, 0));
            if retained > computed.retained[group.0 as usize] {
                group.0 = p;
            }
            group.1 += 1;
            group.2 = group.2.saturating_add(retained);
        }
    }
    for (_, (p, count, retained)) in groups {
        if count > 1 && retained >= bar {
            found.try_push((false, p, count, retained), SUSPECTS)?;
        }
    }
    found.sort_by_key(|&(_, _, _, retained)| std::cmp::Reverse(retained));
    found.truncate(MAX_SUSPECTS);

    let mut suspects: Vec<Held<'py>> = Vec::new();
    suspects.grow(found.len(), SUSPECTS)?;
    for (single, p, count, retained) in found {
        let q = accumulation_point(py, &computed, &children, p)?;
        let child_type = main_child_type(&computed, &children, q).map(|(k, n, r)| (held(py, &computed, k), n, r));
        suspects.push(Held {
            single,
            obj: held(py, &computed, p),
            count,
            retained,
            kind: computed.kinds.get(&computed.dom.vertex[p as usize]).copied(),
            point: held(py, &computed, q),
            point_children: children.of(q).len() as u64,
            point_retained: computed.retained[q as usize],
            child_type,
            path: dominator_view::hold_path(py, &computed, q)?,
        });
    }
    drop(children);
    let gathered = computed.into_gathered();
    // Python code may run from here on (naming): what is named is held.
    let kinds = Kinds::new(py)?;
    let describer = Describer::new(py)?;
    let named = crate::heap::quiet_warnings::quietly(py, || {
        let mut named: Vec<Suspect<'py>> = Vec::new();
        named.grow(suspects.len(), SUSPECTS)?;
        for s in suspects {
            let type_name = if s.single { edges::type_name(&kinds, &s.obj)? } else { edges::qualname_of_type(&s.obj)? };
            let description = describer.describe(&s.obj)?;
            let child_type = match s.child_type {
                Some((child, n, r)) => Some((edges::qualname_of_type(&child)?, n, r)),
                None => None,
            };
            let point = (
                edges::qualname_of_type(&s.point)?,
                describer.describe(&s.point)?,
                s.point_children,
                s.point_retained,
                child_type,
                dominator_view::name_path(py, &kinds, &gathered, &s.path)?,
            );
            named.push((s.single, type_name, description, s.count, s.retained, s.kind.map(Kind::name), point));
        }
        Ok(named)
    })?;
    (named, total, objects).into_new(py)
}
