//! `Sizer`: the Rust state behind `heapscope.asizeof.Asizer`.
//!
//! Threads. A `Sizer` can be used and freed on any thread. Its state sits behind a
//! `Mutex` held for a whole call: a walk runs Python code (a foreign `__sizeof__`,
//! properties), so another thread may get the GIL meanwhile and call the same sizer;
//! it then waits for the lock with the GIL released, and the calls run one after the
//! other. A call made again by the thread already sizing (from code the walk ran) cannot
//! wait for itself: it raises `RuntimeError`.

use crate::asizeof::estimates::{self, TypeDef};
use crate::asizeof::ledger::Ledger;
use crate::asizeof::rules::{self, ClassifyOptions, RuleCache};
use crate::asizeof::walk::{self, Node, Options, Walker};
use crate::ffi::{self, IntoNew};
use crate::grow::{Grow, TryPush};
use ahash::AHashMap;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::{PyList, PyTuple};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

/// What a sizer remembers and how it is configured.
#[derive(Default)]
struct State {
    ledger: Ledger,
    options: Options,
    classify: ClassifyOptions,
}

// SAFETY: the state holds object pointers (the ledger's `Strong` references and the
// addresses it remembers), which are only valid to use with the GIL held. Every use
// goes through `Sizer::state`, which takes a `Python` token and returns with the GIL
// held, and the state is dropped by the class's deallocator, which CPython runs with
// the GIL held on whichever thread frees the sizer. Moving it between threads therefore
// never touches an object without the GIL.
unsafe impl Send for State {}

/// Accumulating sizer: sizes objects, remembering what it has seen until `clear()`.
#[pyclass(frozen, module = "heapscope._core")]
pub struct Sizer {
    state: Mutex<State>,
    /// The [`thread_token`] of the thread holding `state`, 0 when none does.
    owner: AtomicUsize,
}

/// A number that tells the running thread from every other live thread: the address of
/// a thread-local.
fn thread_token() -> usize {
    thread_local!(static TOKEN: u8 = const { 0 });
    TOKEN.with(|token| token as *const u8 as usize)
}

/// The locked state of a sizer, with its owner noted while held.
struct Busy<'a> {
    guard: MutexGuard<'a, State>,
    owner: &'a AtomicUsize,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        // Cleared before the guard (a field) unlocks the state.
        self.owner.store(0, Ordering::Release);
    }
}

impl std::ops::Deref for Busy<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.guard
    }
}

impl std::ops::DerefMut for Busy<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard
    }
}

/// `(size, type-or-class, is_class, obj, depth, id, parent_id)` of a ranked object.
type RankRow<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, bool, Bound<'py, PyAny>, u32, usize, usize);
/// `(type-or-class, is_class, number, total, high, largest)` of a profile.
type ProfileRow<'py> =
    (Bound<'py, PyAny>, bool, Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>);

impl State {
    fn walker<'a, 'py>(&'a mut self, py: Python<'py>) -> PyResult<Walker<'a, 'py>> {
        let rules = RuleCache::new(rules::registry(py)?, self.classify);
        Ok(Walker::new(py, &mut self.ledger, self.options, rules))
    }

    #[allow(clippy::too_many_arguments)]
    fn configure(
        &mut self,
        align: u64,
        code: bool,
        ignored: bool,
        limit: Option<u64>,
        detail: u64,
        stats: u32,
        above: u64,
        frames: bool,
        infer: bool,
        clip: u64,
    ) -> PyResult<()> {
        let align_mask = walk::check_align(align).map_err(PyValueError::new_err)? as usize;
        self.options = Options {
            align_mask,
            code,
            ignored,
            limit: limit.map_or(u32::MAX, |l| l.min(u32::MAX as u64 - 1) as u32),
            detail: detail.min(u32::MAX as u64) as u32,
            stats,
            above,
            clip: clip as usize,
        };
        self.classify = ClassifyOptions { frames, infer, libraries: true };
        Ok(())
    }

    fn asizeof(&mut self, py: Python<'_>, objs: &Bound<'_, PyTuple>) -> PyResult<u64> {
        for obj in objs.iter() {
            self.ledger.exclude_refs(obj.as_ptr())?;
        }
        let mut walker = self.walker(py)?;
        let mut total = 0;
        for obj in objs.iter() {
            total = walker.size_top(&obj, false)?.saturating_add(total);
        }
        Ok(total)
    }
}

impl Sizer {
    /// The state, held by this thread until the result is dropped. Waits, with the GIL
    /// released, while another thread uses it; `RuntimeError` when this thread does
    /// (code run by a walk called the sizer again).
    fn state(&self, py: Python<'_>) -> PyResult<Busy<'_>> {
        let me = thread_token();
        let guard = match self.state.try_lock() {
            Ok(guard) => guard,
            // A panic cannot leave a walk half done in a way later calls depend on.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {
                if self.owner.load(Ordering::Acquire) == me {
                    return Err(PyRuntimeError::new_err(
                        "this Asizer is already sizing: code run by the walk (a __sizeof__, a property, \
                         a finalizer) called the same Asizer again; use another Asizer (or asizeof()) there",
                    ));
                }
                self.state.lock_py_attached(py).unwrap_or_else(|poisoned| poisoned.into_inner())
            }
        };
        self.owner.store(me, Ordering::Release);
        Ok(Busy { guard, owner: &self.owner })
    }
}

fn tree_to_py<'py>(py: Python<'py>, nodes: Vec<Node>) -> PyResult<Bound<'py, PyList>> {
    let mut rows = Vec::new();
    rows.grow(nodes.len(), "the size tree")?;
    for n in nodes {
        let parent = match n.parent {
            Some(parent) => ffi::new_int(py, u64::from(parent))?,
            None => py.None().into_bound(py),
        };
        let row = [parent, n.name.into_bound(py), ffi::new_int(py, n.size)?, ffi::new_int(py, n.flat)?];
        rows.push(ffi::new_tuple(py, row)?);
    }
    ffi::new_list(py, rows)
}

#[pymethods]
impl Sizer {
    #[new]
    fn new() -> Self {
        Sizer { state: Mutex::new(State::default()), owner: AtomicUsize::new(0) }
    }

    /// Sets the sizing options, which the Python caller (`heapscope.asizeof`) has checked;
    /// `ValueError` for an `align` that is not 0, 1 or a power of 2 up to 2**32.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (*, align, code, ignored, limit, detail, stats, above, frames, infer, clip))]
    fn configure(
        &self,
        py: Python<'_>,
        align: u64,
        code: bool,
        ignored: bool,
        limit: Option<u64>,
        detail: u64,
        stats: u32,
        above: u64,
        frames: bool,
        infer: bool,
        clip: u64,
    ) -> PyResult<()> {
        self.state(py)?.configure(align, code, ignored, limit, detail, stats, above, frames, infer, clip)
    }

    /// `asizeof(*objs)` with a fresh sizer configured as given, in one call: what the
    /// module-level `asizeof()` does when it prints no statistics.
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (objs, *, align, code, ignored, limit, detail, above, frames, infer, clip, progress = None))]
    fn size_once<'py>(
        py: Python<'py>,
        objs: &Bound<'py, PyTuple>,
        align: u64,
        code: bool,
        ignored: bool,
        limit: Option<u64>,
        detail: u64,
        above: u64,
        frames: bool,
        infer: bool,
        clip: u64,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _progress = ffi::ProgressScope::enter(progress, None)?;
        let mut state = State::default();
        state.configure(align, code, ignored, limit, detail, 0, above, frames, infer, clip)?;
        ffi::new_int(py, state.asizeof(py, objs)?)
    }

    /// pympler's basic size, item size and length estimate for the type of `obj` (or,
    /// with `instance=False`, for the type `obj`).
    #[staticmethod]
    #[pyo3(signature = (obj, instance = true))]
    fn typedef(obj: &Bound<'_, PyAny>, instance: bool) -> PyResult<TypeDef> {
        estimates::typedef(obj, instance)
    }

    /// Combined size of `objs`, each object counted once (pympler's `Asizer.asizeof`).
    #[pyo3(signature = (objs, progress = None))]
    fn asizeof<'py>(
        &self,
        py: Python<'py>,
        objs: &Bound<'py, PyTuple>,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _progress = ffi::ProgressScope::enter(progress, None)?;
        let total = self.state(py)?.asizeof(py, objs)?;
        ffi::new_int(py, total)
    }

    /// Size of each object (an `int`), or with `tree` its `asized` nodes as a list of
    /// `(parent_index, name, size, flat)` in pre-order. An object given twice gets the
    /// same result twice and is counted once.
    #[pyo3(signature = (objs, tree, progress = None))]
    fn sizes<'py>(
        &self,
        py: Python<'py>,
        objs: &Bound<'py, PyTuple>,
        tree: bool,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let _progress = ffi::ProgressScope::enter(progress, None)?;
        let mut state = self.state(py)?;
        for obj in objs.iter() {
            state.ledger.exclude_refs(obj.as_ptr())?;
        }
        let mut done: AHashMap<usize, Bound<'py, PyAny>> = AHashMap::new();
        let mut results = Vec::new();
        results.grow(objs.len(), "the list of sizes")?;
        // One walker (and so one rule cache) for all the objects.
        let mut walker = state.walker(py)?;
        for obj in objs.iter() {
            let address = ffi::address(obj.as_ptr());
            if let Some(result) = done.get(&address) {
                walker.again(obj.as_ptr())?;
                results.push(result.clone());
                continue;
            }
            let size = walker.size_top(&obj, tree)?;
            let result = match walker.nodes.take() {
                Some(nodes) => tree_to_py(py, nodes)?.into_any(),
                None => ffi::new_int(py, size)?,
            };
            done.grow(1, "the list of sizes")?;
            done.insert(address, result.clone());
            results.push(result);
        }
        ffi::new_list(py, results)
    }

    /// Flat size of one object with the current options, without marking it seen.
    fn flatsize<'py>(&self, py: Python<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let mut state = self.state(py)?;
        let size = state.walker(py)?.flat_of(obj)?;
        ffi::new_int(py, size)
    }

    /// Exclude references to these objects (they are still sized when given directly).
    #[pyo3(signature = (*objs))]
    fn exclude_refs(&self, py: Python<'_>, objs: &Bound<'_, PyTuple>) -> PyResult<()> {
        let mut state = self.state(py)?;
        for obj in objs.iter() {
            state.ledger.exclude_refs(obj.as_ptr())?;
        }
        Ok(())
    }

    /// Never size these objects.
    #[pyo3(signature = (*objs))]
    fn exclude_objs(&self, py: Python<'_>, objs: &Bound<'_, PyTuple>) -> PyResult<()> {
        let mut state = self.state(py)?;
        for obj in objs.iter() {
            state.ledger.exclude_obj(obj.as_ptr())?;
        }
        Ok(())
    }

    /// Never size instances of these classes, nor the classes themselves.
    #[pyo3(signature = (*objs))]
    fn exclude_types(&self, py: Python<'_>, objs: &Bound<'_, PyTuple>) -> PyResult<()> {
        let mut state = self.state(py)?;
        for obj in objs.iter() {
            // SAFETY: `obj` is alive for the call.
            unsafe { state.ledger.exclude_type(obj.as_ptr()) };
        }
        Ok(())
    }

    /// Forget all seen objects and totals; keep the excluded types.
    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        let mut state = self.state(py)?;
        // The references the ledger drops may be the last ones, running finalizers
        // that may use this sizer: they run once the lock is released.
        let forgotten = state.ledger.clear();
        drop(state);
        drop(forgotten);
        Ok(())
    }

    #[getter]
    fn total<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let total = self.state(py)?.ledger.total;
        ffi::new_int(py, total)
    }
    #[getter]
    fn missed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let missed = self.state(py)?.ledger.missed;
        ffi::new_int(py, missed)
    }
    #[getter]
    fn mapped<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mapped = self.state(py)?.ledger.mapped;
        ffi::new_int(py, mapped)
    }
    #[getter]
    fn device<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let device = self.state(py)?.ledger.device;
        ffi::new_int(py, device)
    }
    #[getter]
    fn sized<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let sized = self.state(py)?.ledger.sized();
        ffi::new_int(py, sized)
    }
    #[getter]
    fn seen<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let seen = self.state(py)?.ledger.seen();
        ffi::new_int(py, seen)
    }
    #[getter]
    fn duplicate<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let duplicate = self.state(py)?.ledger.duplicate();
        ffi::new_int(py, duplicate)
    }
    #[getter]
    fn depth<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let depth = self.state(py)?.ledger.depth;
        ffi::new_int(py, depth.into())
    }
    #[getter]
    fn ranked<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let ranked = self.state(py)?.ledger.ranked;
        ffi::new_int(py, ranked)
    }
    #[getter]
    fn excluded_count<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let count = self.state(py)?.ledger.excluded_count();
        ffi::new_int(py, count)
    }

    fn excluded_types<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = self.state(py)?;
        // SAFETY: the ledger holds these classes strongly.
        let types: Vec<Bound<'py, PyAny>> =
            state.ledger.excluded_types().map(|t| unsafe { Bound::from_borrowed_ptr(py, t.as_ptr()) }).collect();
        types.into_new(py)
    }

    /// The largest objects seen, largest first.
    fn ranks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = self.state(py)?;
        let mut rows: Vec<RankRow<'py>> = Vec::new();
        for r in &state.ledger.ranks {
            // SAFETY: the ledger holds the key and the object strongly.
            let (key, obj) =
                unsafe { (Bound::from_borrowed_ptr(py, r.key.as_ptr()), Bound::from_borrowed_ptr(py, r.obj.as_ptr())) };
            let row = (ffi::new_int(py, r.size)?, key, r.is_class, obj, r.depth, r.obj.as_ptr() as usize, r.parent_id);
            rows.try_push(row, "the ranking")?;
        }
        rows.into_new(py)
    }

    /// Per-type profiles of flat sizes.
    fn profiles<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = self.state(py)?;
        let mut rows: Vec<ProfileRow<'py>> = Vec::new();
        for p in state.ledger.profiles.values() {
            // SAFETY: the ledger holds the key and the object strongly.
            let (key, obj) = unsafe {
                (Bound::from_borrowed_ptr(py, p.key.as_ptr()), Bound::from_borrowed_ptr(py, p.largest.as_ptr()))
            };
            let (number, total, high) =
                (ffi::new_int(py, p.number)?, ffi::new_int(py, p.total)?, ffi::new_int(py, p.high)?);
            rows.try_push((key, p.is_class, number, total, high, obj), "the profiles")?;
        }
        rows.into_new(py)
    }
}

/// What `sys.getsizeof(obj)` returns, computed by heapscope's own formulas (for tests).
#[pyfunction]
pub fn getsizeof<'py>(py: Python<'py>, obj: &Bound<'_, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let mut state = State::default();
    state.options.align_mask = 0;
    let size = state.walker(py)?.getsizeof(obj)?;
    ffi::new_int(py, size)
}

/// The referents `asizeof` follows for `obj` (pympler's `refs()`), with their names.
#[pyfunction]
pub fn named_referents<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    ffi::IntoNew::into_new(named_referents_of(py, obj, false)?, py)
}

/// [`named_referents`] as Rust values; with `inline_items`, attributes Python keeps
/// inline come as `[K]`/`[V]` pairs rather than one dict (to name the edge to each).
pub fn named_referents_of<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    inline_items: bool,
) -> PyResult<Vec<(Py<PyAny>, Bound<'py, PyAny>)>> {
    let mut state = State::default();
    state.options.detail = 1;
    let mut walker = state.walker(py)?;
    walker.named_referents(obj, inline_items)
}

/// The combined deep size of `objs` (each object counted once) with `asizeof()`'s
/// defaults at import: what `heapscope.asizeof(*objs)` returns when no option was set.
pub(crate) fn default_deep_size(py: Python<'_>, objs: Vec<Bound<'_, PyAny>>) -> PyResult<u64> {
    let mut state = State::default();
    state.configure(8, false, true, None, 0, 0, 1024, false, false, 80)?;
    for obj in &objs {
        state.ledger.exclude_refs(obj.as_ptr())?;
    }
    let mut walker = state.walker(py)?;
    let mut total = 0u64;
    for obj in &objs {
        total = walker.size_top(obj, false)?.saturating_add(total);
    }
    Ok(total)
}
