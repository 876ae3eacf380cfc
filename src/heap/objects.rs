//! Operations on lists of objects behind `heapscope.muppy`: flat sizes, filtering and
//! identity diffs, each one pass in Rust instead of a Python loop.

use crate::asizeof::flat::FlatSizer;
use crate::ffi::{self, Strong};
use crate::heap::passes::{GcPause, TrackedObjects};
use ahash::AHashSet;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

/// Calls `each` with every item of `objects` (a list, or any iterable), held strongly;
/// a Ctrl-C stops the loop with the error its handler raises.
fn for_each_object<'py>(objects: &Bound<'py, PyAny>, mut each: impl FnMut(&Strong) -> PyResult<()>) -> PyResult<()> {
    let py = objects.py();
    let mut poll = ffi::SignalPoll::default();
    if let Ok(list) = objects.cast::<PyList>() {
        let mut index = 0;
        // SAFETY: the list is held by the caller and re-read at every step; each item is
        // taken strongly before use.
        loop {
            poll.check(py)?;
            // SAFETY: read after any Python code ran.
            let Some(item) = (unsafe { ffi::list_item(list.as_ptr(), index) }) else { break };
            index += 1;
            // SAFETY: a live item of the list.
            each(&unsafe { Strong::from_borrowed(item) })?;
        }
        return Ok(());
    }
    for item in objects.try_iter()? {
        poll.check(py)?;
        let item = item?;
        // SAFETY: held by the Bound.
        each(&unsafe { Strong::from_borrowed(item.as_ptr()) })?;
    }
    Ok(())
}

fn bound<'py>(py: Python<'py>, obj: &Strong) -> Bound<'py, PyAny> {
    // SAFETY: `obj` is held strongly; the Bound takes its own reference.
    unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) }
}

/// `sys.getsizeof` of each object, in order.
#[pyfunction]
pub fn flat_sizes<'py>(py: Python<'py>, objects: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let mut sizer = FlatSizer::getsizeof(py)?;
    let sizes = ffi::new_list(py, Vec::new())?;
    for_each_object(objects, |obj| {
        sizes.append(ffi::new_int(py, sizer.size(py, obj)? as u64)?)?;
        Ok(())
    })?;
    Ok(sizes)
}

/// The sum of `sys.getsizeof` over the objects (pympler's `muppy.get_size`).
#[pyfunction]
pub fn total_flat_size<'py>(py: Python<'py>, objects: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let mut sizer = FlatSizer::getsizeof(py)?;
    let mut total = 0u64;
    for_each_object(objects, |obj| {
        total = total.saturating_add(sizer.size(py, obj)? as u64);
        Ok(())
    })?;
    ffi::new_int(py, total)
}

/// pympler's `muppy.filter`: the objects that are instances of `type_` (if given), and
/// whose flat size is above `min` and below `max` (when those are above -1).
#[pyfunction]
#[pyo3(signature = (objects, type_ = None, min = -1, max = -1), text_signature = "(objects, type_=None, min=-1, max=-1)")]
pub fn filter_objects<'py>(
    py: Python<'py>,
    objects: &Bound<'py, PyAny>,
    type_: Option<&Bound<'py, PyAny>>,
    min: i64,
    max: i64,
) -> PyResult<Bound<'py, PyList>> {
    let mut sizer = FlatSizer::getsizeof(py)?;
    let out = ffi::new_list(py, Vec::new())?;
    for_each_object(objects, |obj| {
        let item = bound(py, obj);
        if let Some(type_) = type_ {
            if !item.is_instance(type_)? {
                return Ok(());
            }
        }
        if min > -1 || max > -1 {
            let size = sizer.size(py, obj)? as i64;
            if (min > -1 && size <= min) || (max > -1 && size >= max) {
                return Ok(());
            }
        }
        out.append(item)
    })?;
    Ok(out)
}

/// pympler's `muppy.get_diff` by identity: `(only_in_right, only_in_left)`, each in
/// its list's order.
#[pyfunction]
pub fn identity_diff<'py>(
    py: Python<'py>,
    left: &Bound<'py, PyAny>,
    right: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    // Both lists are held by the caller, so the addresses identify their objects.
    let mut left_objects = Vec::new();
    for_each_object(left, |obj| {
        left_objects.push(obj.clone());
        Ok(())
    })?;
    let mut right_objects = Vec::new();
    for_each_object(right, |obj| {
        right_objects.push(obj.clone());
        Ok(())
    })?;
    let in_left: AHashSet<usize> = left_objects.iter().map(|o| o.as_ptr() as usize).collect();
    let in_right: AHashSet<usize> = right_objects.iter().map(|o| o.as_ptr() as usize).collect();
    let plus = ffi::new_list(py, Vec::new())?;
    for obj in &right_objects {
        if !in_left.contains(&(obj.as_ptr() as usize)) {
            plus.append(bound(py, obj))?;
        }
    }
    let minus = ffi::new_list(py, Vec::new())?;
    for obj in &left_objects {
        if !in_right.contains(&(obj.as_ptr() as usize)) {
            minus.append(bound(py, obj))?;
        }
    }
    ffi::new_tuple(py, [plus.into_any(), minus.into_any()])
}

/// `gc.get_referents(*objects)` without its free-list hazard: the objects each one's
/// `tp_traverse` reports, in order, leaving out dead objects that some modules still
/// report from their free lists (see [`ffi::is_dead_referent`]).
#[pyfunction]
#[pyo3(signature = (*objects))]
pub fn referents<'py>(py: Python<'py>, objects: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyList>> {
    let out = ffi::new_list(py, Vec::new())?;
    for obj in objects.iter() {
        // SAFETY: `obj` is held by the argument tuple; traversal runs no Python code and
        // the referents come back as strong references.
        for referent in unsafe { ffi::traverse_referents(obj.as_ptr()) }? {
            out.append(bound(py, &referent))?;
        }
    }
    Ok(out)
}

/// How many objects the collector tracks (`len(gc.get_objects())`), counted on its lists
/// without building a list of them where their layout checks out. The Python layer
/// collects until this stops changing before a summary (see `collect_until_settled`).
#[pyfunction]
pub fn tracked_count(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    crate::ffi::new_int(py, count_tracked(py)? as u64)
}

fn count_tracked(py: Python<'_>) -> PyResult<usize> {
    let _pause = GcPause::new(py)?;
    let mut tracked = TrackedObjects::take(py)?;
    let mut count = 0usize;
    // Following the links runs no Python code and allocates nothing, so the lists do not
    // change while they are counted.
    while tracked.next().is_some() {
        count += 1;
    }
    Ok(count)
}

/// `gc.collect()` until a collection shortens the collector's lists by no more than the
/// objects it freed, at most `rounds` times; returns how many collections ran.
///
/// A collection also untracks the tuples (and, on some versions, dicts) that can no
/// longer be part of a cycle, but only those whose items are untracked already, a level
/// of nesting per collection; a summary would see each late untracking as objects gone.
/// Only untracking shortens the lists by more than what was freed, so the loop stops when
/// that no longer happens. It runs here rather than in Python because between two
/// bytecodes another thread may take the GIL and allocate or free (its automatic
/// collections shorten the lists too), and the loop would then run all its rounds.
/// `gc.collect` is looked up at every call, so that a replaced one is honoured.
#[pyfunction]
#[pyo3(signature = (rounds = 8))]
pub fn collect_until_settled(py: Python<'_>, rounds: u32) -> PyResult<Bound<'_, PyAny>> {
    let collect = py.import("gc")?.getattr("collect")?;
    let mut before = count_tracked(py)?;
    let mut collections = 0u32;
    while collections < rounds {
        let freed = collect.call0()?.extract::<i64>().unwrap_or(0).max(0) as usize;
        collections += 1;
        // A collection does not look for signals; a Ctrl-C during it is seen here.
        py.check_signals()?;
        let after = count_tracked(py)?;
        if after >= before.saturating_sub(freed) {
            break;
        }
        before = after;
    }
    crate::ffi::new_int(py, u64::from(collections))
}
