//! "Who keeps this alive?": the shortest chains of references from a root to an object,
//! over the whole gc heap (behind `heapscope.why`).
//!
//! `why_chains` first gathers the roots (module globals, a snapshot of every live frame's
//! locals in every thread, the exceptions threads handle), holding each strongly. Then,
//! with the collector paused, one pass over the collector's lists ([`TrackedObjects`])
//! builds a referrer index: every tracked object gets a node, and so do the untracked GC
//! objects they hold (tuples and dicts of atomic values, which can hold the target) and
//! the target itself; each object's `tp_traverse` gives its referents, and each edge is
//! stored backwards, in compressed rows (one `u32` per edge). A breadth-first search
//! then walks referrers from the target until it meets root holders, so each chain found
//! is a shortest one, and chains come shortest first, one per root. Last, every step is
//! named ([`edges::name_chain`]).
//!
//! The pass and the search keep borrowed pointers and run no Python code: the tracked
//! objects stay alive while no Python code runs and the collector is paused, and
//! untracked nodes are held by their (alive, unchanged) referrers. The objects on the
//! chains found are taken strongly before anything that can run Python code (naming).

use crate::ffi::{self, IntoNew, RawObj, Strong};
use crate::grow::{self, Grow, OutOfMemory, TryPush};
use crate::heap::edges::{self, Kinds, RootKind, Step};
use crate::heap::passes::{GcPause, TrackedObjects};
use ahash::{AHashMap, AHashSet};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::collections::VecDeque;

const UNSEEN: u32 = u32::MAX;

/// Why building the index or searching it stopped.
enum Stop {
    /// A buffer could not grow.
    Memory(OutOfMemory),
    /// A Ctrl-C is pending: the caller lets go of the borrowed pointers, then runs the
    /// signal's handler.
    Interrupted,
}

impl From<OutOfMemory> for Stop {
    fn from(error: OutOfMemory) -> Stop {
        Stop::Memory(error)
    }
}
/// What the index is called in a `MemoryError`.
const INDEX: &str = "the referrer index";

/// Referrers of every node: `referrers[start[v]..start[v + 1]]` are the nodes that refer
/// to node `v`.
struct Index {
    addrs: Vec<usize>,
    ids: AHashMap<usize, u32>,
    start: Vec<u32>,
    referrers: Vec<u32>,
}

impl Index {
    /// Builds the index over the tracked objects `tracked` yields (borrowed, until it
    /// returns `None`) and the `extra` objects (the target, root holders). Objects in
    /// `ignore` refer to nothing.
    ///
    /// # Safety
    /// Every object `tracked` yields must be alive, and stay alive and unchanged for the
    /// call, as must every `extra` object and every address in `ignore`. No Python code
    /// may run during the call.
    unsafe fn build(
        py: Python<'_>,
        mut tracked: impl FnMut() -> Option<RawObj>,
        extra: &[RawObj],
        ignore: &AHashSet<usize>,
    ) -> Result<Index, Stop> {
        let mut poll = ffi::SignalPoll::default();
        const TOO_MANY: OutOfMemory = OutOfMemory("the referrer index past its 4294967294 objects");
        let mut addrs: Vec<usize> = Vec::new();
        let mut ids: AHashMap<usize, u32> = AHashMap::new();
        let add = |addrs: &mut Vec<usize>, ids: &mut AHashMap<usize, u32>, addr: usize| -> Result<u32, OutOfMemory> {
            let id = u32::try_from(addrs.len()).map_err(|_| TOO_MANY)?;
            if id == UNSEEN {
                return Err(TOO_MANY);
            }
            ids.grow(1, INDEX)?;
            addrs.grow(1, INDEX)?;
            ids.insert(addr, id);
            addrs.push(addr);
            Ok(id)
        };
        while let Some(item) = tracked() {
            if poll.interrupted(py) {
                return Err(Stop::Interrupted);
            }
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
        let mut edges: Vec<(u32, u32)> = grow::vec_with_capacity(addrs.len().saturating_mul(3), INDEX)?;
        let mut failed = None;
        let mut node = 0usize;
        while node < addrs.len() {
            if poll.interrupted(py) {
                return Err(Stop::Interrupted);
            }
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
                if id != from && failed.is_none() {
                    if let Err(e) = edges.try_push((id, from), INDEX) {
                        failed = Some(e);
                    }
                }
            };
            // SAFETY: `obj` is a tracked object held by the list, an extra object held by
            // the caller, or an untracked object held by one of those, unchanged since it
            // was found: no Python code has run.
            unsafe { ffi::for_each_referent(obj, &mut each) };
            if let Some(e) = failed {
                return Err(e.into());
            }
        }
        // Counting sort of the edges by referent.
        let n = addrs.len();
        let mut start = grow::vec_filled(0u32, n + 1, INDEX)?;
        for &(to, _) in &edges {
            start[to as usize + 1] += 1;
        }
        for v in 0..n {
            start[v + 1] += start[v];
        }
        let mut fill: Vec<u32> = grow::collect_exact(start[..n].iter().copied(), INDEX)?;
        let mut referrers = grow::vec_filled(0u32, edges.len(), INDEX)?;
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
    fn search(
        &self,
        py: Python<'_>,
        target: u32,
        roots: &AHashMap<u32, usize>,
        max_paths: usize,
    ) -> Result<Vec<(usize, Vec<u32>)>, Stop> {
        let mut poll = ffi::SignalPoll::default();
        const WHAT: &str = "the search for chains of referrers";
        let mut next = grow::vec_filled(UNSEEN, self.addrs.len(), WHAT)?;
        let mut queue = VecDeque::new();
        let mut found = Vec::new();
        next[target as usize] = target;
        queue.try_push(target, WHAT)?;
        while let Some(v) = queue.pop_front() {
            if poll.interrupted(py) {
                return Err(Stop::Interrupted);
            }
            if let Some(&root) = roots.get(&v) {
                let mut chain = vec![v];
                let mut at = v;
                while at != target {
                    at = next[at as usize];
                    chain.try_push(at, WHAT)?;
                }
                found.try_push((root, chain), WHAT)?;
                if found.len() >= max_paths {
                    break;
                }
                continue;
            }
            for &u in self.referrers_of(v) {
                if next[u as usize] == UNSEEN {
                    next[u as usize] = v;
                    queue.try_push(u, WHAT)?;
                }
            }
        }
        Ok(found)
    }
}

/// For each object of `targets`, the objects that refer to it directly (what
/// `gc.get_referrers` returns for it), found in one pass over the gc heap instead of
/// one pass per object (over the collector's lists, see [`TrackedObjects`]). Objects in
/// `ignore` are left out.
#[pyfunction]
pub fn referrers_of<'py>(
    py: Python<'py>,
    targets: Vec<Bound<'py, PyAny>>,
    ignore: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let ignored: AHashSet<usize> = ignore.iter().map(|o| ffi::address(o.as_ptr())).collect();
    let mut slot: AHashMap<usize, Vec<usize>> = AHashMap::new();
    for (i, t) in targets.iter().enumerate() {
        slot.entry(ffi::address(t.as_ptr())).or_default().push(i);
    }
    let mut found: Vec<Vec<Strong>> = (0..targets.len()).map(|_| Vec::new()).collect();
    let pause = GcPause::new(py)?;
    let mut tracked = TrackedObjects::take(py)?;
    let mut poll = ffi::SignalPoll::default();
    // From here to the end of the loop no Python code runs and the collector is paused,
    // so each object `tracked` yields is alive (see `TrackedObjects`). Referents are
    // compared by address only, and the referrer is taken strongly.
    while let Some(item) = tracked.next() {
        if poll.interrupted(py) {
            // Ctrl-C: the handler runs once the lists are let go of, then the pass
            // starts again (when the handler returned).
            drop(tracked);
            for list in &mut found {
                list.clear();
            }
            ffi::check_signals(py)?;
            tracked = TrackedObjects::take(py)?;
            continue;
        }
        if ignored.contains(&ffi::address(item)) {
            continue;
        }
        let mut hits: Vec<usize> = Vec::new();
        let mut failed = None;
        let mut each = |child: RawObj| {
            if let Some(slots) = slot.get(&ffi::address(child)) {
                match hits.grow(slots.len(), "the list of referrers") {
                    Ok(()) => hits.extend_from_slice(slots),
                    Err(e) => failed = Some(e),
                }
            }
        };
        // SAFETY: `item` is alive (see above) and no Python code runs.
        unsafe { ffi::for_each_referent(item, &mut each) };
        if let Some(e) = failed {
            return Err(e.into());
        }
        hits.sort_unstable();
        hits.dedup();
        for i in hits {
            // SAFETY: `item` is alive (see above).
            found[i].try_push(unsafe { Strong::from_borrowed(item) }, "the list of referrers")?;
        }
    }
    drop(tracked);
    drop(pause);
    let mut lists = Vec::new();
    lists.grow(found.len(), "the lists of referrers")?;
    for items in found {
        // SAFETY: each item is held by its `Strong`; the Bound takes its own reference.
        let bound = items.iter().map(|s| unsafe { Bound::from_borrowed_ptr(py, s.as_ptr()) });
        lists.push(ffi::new_list(py, grow::collect_exact(bound, "a list of referrers")?)?.into_any());
    }
    ffi::new_list(py, lists)
}

/// A root of `why()`: the object a chain starts at, how it is shown, and what it is.
pub(crate) struct Root<'py> {
    pub(crate) holder: Bound<'py, PyAny>,
    pub(crate) label: Bound<'py, PyAny>,
    pub(crate) kind: RootKind,
}

/// The globals of every module in `sys.modules`.
pub(crate) fn module_roots<'py>(py: Python<'py>, kinds: &Kinds<'py>, roots: &mut Vec<Root<'py>>) -> PyResult<()> {
    let modules = py
        .import(crate::pystr!(py, "sys")?)?
        .getattr(crate::pystr!(py, "modules")?)?
        .call_method0(crate::pystr!(py, "items")?)?;
    let modules = ffi::new_list(py, modules.try_iter()?.collect::<PyResult<Vec<_>>>()?)?;
    for pair in modules.iter() {
        let (name, module): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair.extract()?;
        if kinds.is_module(&module) {
            // A key whose repr raises (not a str: someone else's sys.modules) is shown
            // by its type and address.
            let shown = edges::unless_exception(py, name.repr().map(Bound::into_any))?;
            let shown = match shown {
                Some(shown) => shown,
                None => edges::safe_description(&name)?,
            };
            let label = crate::pystr!(py, "module ")?.add(shown)?;
            roots.push(Root { holder: module, label, kind: RootKind::Module });
        }
    }
    Ok(())
}

/// `co_name() at file:line` for a frame.
fn frame_place<'py>(frame: &Bound<'py, PyAny>, code: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = frame.py();
    let file = code
        .getattr(crate::pystr!(py, "co_filename")?)?
        .call_method1(crate::pystr!(py, "replace")?, (crate::pystr!(py, "\\")?, crate::pystr!(py, "/")?))?;
    let file = file.call_method1(crate::pystr!(py, "rsplit")?, (crate::pystr!(py, "/")?, 1))?;
    let file = file.get_item(-1)?;
    let place =
        code.getattr(crate::pystr!(py, "co_name")?)?.str()?.add(crate::pystr!(py, "() at ")?)?.add(file.str()?)?;
    place.add(crate::pystr!(py, ":")?)?.add(frame.getattr(crate::pystr!(py, "f_lineno")?)?.str()?)
}

/// The locals of every live frame of every thread (a snapshot of them), and the globals
/// of module-level frames whose globals are not a module's. Frames of `own_code` are
/// left out; the frames and `sys._current_frames()` are added to `ignored`.
pub(crate) fn frame_roots<'py>(
    py: Python<'py>,
    own_code: &[Bound<'py, PyAny>],
    roots: &mut Vec<Root<'py>>,
    ignored: &mut Vec<Bound<'py, PyAny>>,
) -> PyResult<()> {
    let mut module_dicts: AHashSet<usize> = AHashSet::new();
    for module in roots.iter().filter(|r| r.kind == RootKind::Module) {
        // A module subclass whose own `__getattribute__` raises has its globals found by
        // the frames that run in them instead.
        if let Some(dict) = edges::unless_exception(py, module.holder.getattr(crate::pystr!(py, "__dict__")?))? {
            module_dicts.insert(ffi::address(dict.as_ptr()));
        }
    }
    let current = py.import(crate::pystr!(py, "sys")?)?.getattr(crate::pystr!(py, "_current_frames")?)?.call0()?;
    ignored.push(current.clone());
    let frames = current.call_method0(crate::pystr!(py, "values")?)?.try_iter()?.collect::<PyResult<Vec<_>>>()?;
    for mut frame in frames {
        while !frame.is_none() {
            py.check_signals()?;
            ignored.push(frame.clone());
            let code = frame.getattr(crate::pystr!(py, "f_code")?)?;
            if !own_code.iter().any(|own| own.is(&code)) {
                let place = frame_place(&frame, &code)?;
                let globals = frame.getattr(crate::pystr!(py, "f_globals")?)?;
                let locals = frame.getattr(crate::pystr!(py, "f_locals")?)?;
                let module_level = globals.is(&locals)
                    || code.getattr(crate::pystr!(py, "co_name")?)?.eq(crate::pystr!(py, "<module>")?)?;
                if module_level {
                    if !module_dicts.contains(&ffi::address(globals.as_ptr())) {
                        let label = crate::pystr!(py, "globals of ")?.add(place)?;
                        roots.push(Root { holder: globals, label, kind: RootKind::Locals });
                    }
                } else {
                    let snapshot = py.get_type::<PyDict>().call1((locals,))?;
                    let label = crate::pystr!(py, "frame ")?.add(place)?;
                    roots.push(Root { holder: snapshot, label, kind: RootKind::Locals });
                }
            }
            frame = frame.getattr(crate::pystr!(py, "f_back")?)?;
            // CPython 3.11's `f_back` gives None, with the exception still set, when it
            // cannot allocate the frame object: that is the error.
            if let Some(error) = PyErr::take(py) {
                return Err(error);
            }
        }
    }
    current.call_method0(crate::pystr!(py, "clear")?)?;
    Ok(())
}

/// The exception each thread is handling, each held by a list of its own.
pub(crate) fn thread_roots<'py>(py: Python<'py>, roots: &mut Vec<Root<'py>>) -> PyResult<()> {
    let threading = py.import(crate::pystr!(py, "threading")?)?;
    let names = ffi::new_dict(py)?;
    for thread in threading.call_method0(crate::pystr!(py, "enumerate")?)?.try_iter()? {
        let thread = thread?;
        names.set_item(thread.getattr(crate::pystr!(py, "ident")?)?, thread.getattr(crate::pystr!(py, "name")?)?)?;
    }
    let sys = py.import(crate::pystr!(py, "sys")?)?;
    let mut handled: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)> = Vec::new();
    match sys.getattr(crate::pystr!(py, "_current_exceptions")?) {
        Ok(getter) => {
            let found = ffi::new_dict(py)?;
            for pair in getter.call0()?.call_method0(crate::pystr!(py, "items")?)?.try_iter()? {
                let (ident, mut exc): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair?.extract()?;
                if exc.is_instance_of::<PyTuple>() {
                    exc = exc.get_item(1)?; // 3.12 returns exc_info tuples on some builds
                }
                if !exc.is_none() {
                    found.set_item(ident, exc)?;
                }
            }
            for (ident, exc) in found.iter() {
                handled.push((ident, exc));
            }
        }
        Err(err) if err.is_instance_of::<pyo3::exceptions::PyAttributeError>(py) => {
            let exc = sys.call_method0(crate::pystr!(py, "exc_info")?)?.get_item(1)?;
            if !exc.is_none() {
                handled.push((threading.call_method0(crate::pystr!(py, "get_ident")?)?, exc));
            }
        }
        Err(err) => return Err(err),
    }
    for (ident, exc) in handled {
        let name = names.call_method1(crate::pystr!(py, "get")?, (&ident, &ident))?;
        let label =
            crate::pystr!(py, "thread ")?.add(name.repr()?)?.add(crate::pystr!(py, ": exception being handled")?)?;
        roots.push(Root { holder: ffi::new_list(py, vec![exc])?.into_any(), label, kind: RootKind::Thread });
    }
    Ok(())
}

/// A named chain: the label of its root and its steps.
type NamedChain<'py> = (Bound<'py, PyAny>, Vec<Step<'py>>);

/// What `why_chains` found: the target's name, the chains (shortest first), how many
/// objects refer to the target directly and the names of the first 20 of them, and how
/// many objects were indexed.
type WhyFound<'py> = (Bound<'py, PyAny>, Vec<NamedChain<'py>>, usize, Vec<Bound<'py, PyAny>>, usize);

/// Everything `heapscope.why` does: gathers the roots (module globals, live frames'
/// locals in every thread, exceptions threads handle), indexes the referrers of every
/// object the collector tracks, finds up to `max_paths` shortest chains from a root to
/// `target` (one per root) and names every step. Frames running `own_code` are not
/// roots; objects in `ignore` are not counted as referrers.
#[pyfunction]
#[pyo3(signature = (target, ignore, max_paths, own_code))]
pub fn why_chains<'py>(
    py: Python<'py>,
    target: &Bound<'py, PyAny>,
    ignore: &Bound<'py, PyAny>,
    max_paths: usize,
    own_code: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let kinds = Kinds::new(py)?;
    let mut ignored: Vec<Bound<'py, PyAny>> = ignore.try_iter()?.collect::<PyResult<_>>()?;
    let mut roots: Vec<Root<'py>> = Vec::new();
    module_roots(py, &kinds, &mut roots)?;
    frame_roots(py, &own_code, &mut roots, &mut ignored)?;
    thread_roots(py, &mut roots)?;

    let mut ignored_addrs: AHashSet<usize> = ignored.iter().map(|o| ffi::address(o.as_ptr())).collect();
    ignored_addrs.remove(&ffi::address(target.as_ptr()));
    let mut extra: Vec<RawObj> = vec![target.as_ptr()];
    extra.extend(roots.iter().map(|r| r.holder.as_ptr()));

    let pause = GcPause::new(py)?;
    // `tracked` is kept until the chains are held: a `gc.get_objects()` list holds them.
    let ((index, target_id, found), tracked) = loop {
        let mut tracked = TrackedObjects::take(py)?;
        // From here until the chains are held strongly, no Python code runs and the
        // collector is paused: the tracked objects are borrowed from its lists.
        // SAFETY: the tracked objects are alive while no Python code runs and the
        // collector is paused (see `TrackedObjects`); the target, roots and ignored
        // objects are held.
        let searched = unsafe { Index::build(py, || tracked.next(), &extra, &ignored_addrs) }.and_then(|index| {
            let mut root_ids: AHashMap<u32, usize> = AHashMap::new();
            for (number, root) in roots.iter().enumerate() {
                if let Some(&id) = index.ids.get(&ffi::address(root.holder.as_ptr())) {
                    root_ids.entry(id).or_insert(number);
                }
            }
            let target_id = index.ids[&ffi::address(target.as_ptr())];
            let found = index.search(py, target_id, &root_ids, max_paths.max(1))?;
            Ok((index, target_id, found))
        });
        match searched {
            Ok(searched) => break (searched, tracked),
            Err(Stop::Memory(error)) => return Err(error.into()),
            Err(Stop::Interrupted) => {
                // Ctrl-C: the signal's handler runs once no borrowed pointer is left;
                // when it returns, the index is built again.
                drop(tracked);
                ffi::check_signals(py)?;
            }
        }
    };
    let hold = |id: u32| {
        // SAFETY: every node is alive (see the module docs) and no Python code has run.
        // The Bound takes its own reference.
        unsafe { Bound::from_borrowed_ptr(py, index.addrs[id as usize] as RawObj) }
    };
    let held: Vec<(usize, Vec<Bound<'py, PyAny>>)> =
        found.iter().map(|(root, chain)| (*root, chain.iter().map(|&id| hold(id)).collect())).collect();
    let direct = index.referrers_of(target_id);
    let direct_held: Vec<Bound<'py, PyAny>> = direct.iter().take(20).map(|&id| hold(id)).collect();
    let (nodes, direct_count) = (index.addrs.len(), direct.len());
    drop(index);
    drop(tracked);
    drop(pause);

    // Python code may run from here on: everything kept is held strongly.
    let mut chains = Vec::with_capacity(held.len());
    for (number, objects) in held {
        let root = &roots[number];
        chains.push((root.label.clone(), edges::name_chain(&kinds, &objects, root.kind, &root.label)?));
    }
    let direct_names = direct_held.iter().map(|o| edges::type_name(&kinds, o)).collect::<PyResult<Vec<_>>>()?;
    let found: WhyFound<'py> = (edges::type_name(&kinds, target)?, chains, direct_count, direct_names, nodes);
    found.into_new(py)
}
