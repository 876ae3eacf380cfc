//! `Sizer`: the Rust state behind `heapscope.asizeof.Asizer`.

use crate::asizeof::estimates::{self, TypeDef};
use crate::asizeof::ledger::Ledger;
use crate::asizeof::rules::{self, ClassifyOptions, RuleCache};
use crate::asizeof::walk::{self, Node, Options, Walker};
use crate::ffi;
use ahash::AHashMap;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

/// Accumulating sizer: sizes objects, remembering what it has seen until `clear()`.
#[pyclass(unsendable, module = "heapscope._core")]
pub struct Sizer {
    ledger: Ledger,
    options: Options,
    classify: ClassifyOptions,
}

/// `(size, type-or-class, is_class, obj, depth, id, parent_id)` of a ranked object.
type RankRow<'py> = (u64, Bound<'py, PyAny>, bool, Bound<'py, PyAny>, u32, usize, usize);
/// `(type-or-class, is_class, number, total, high, largest)` of a profile.
type ProfileRow<'py> = (Bound<'py, PyAny>, bool, u64, u64, u64, Bound<'py, PyAny>);

impl Sizer {
    fn walker<'a, 'py>(&'a mut self, py: Python<'py>) -> PyResult<Walker<'a, 'py>> {
        let rules = RuleCache::new(rules::registry(py)?, self.classify);
        Ok(Walker::new(py, &mut self.ledger, self.options, rules))
    }
}

fn tree_to_py<'py>(py: Python<'py>, nodes: Vec<Node>) -> PyResult<Bound<'py, PyList>> {
    let rows = nodes
        .into_iter()
        .map(|n| (n.parent, n.name, n.size, n.flat).into_pyobject(py))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, rows)
}

#[pymethods]
impl Sizer {
    #[new]
    fn new() -> Self {
        Sizer { ledger: Ledger::default(), options: Options::default(), classify: ClassifyOptions::default() }
    }

    /// Sets the sizing options, which the Python caller (`heapscope.asizeof`) has checked;
    /// `ValueError` for an `align` that is not 0, 1 or a power of 2 up to 2**32.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (*, align, code, ignored, limit, detail, stats, above, frames, infer, clip))]
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
        self.classify = ClassifyOptions { frames, infer };
        Ok(())
    }

    /// pympler's basic size, item size and length estimate for the type of `obj` (or,
    /// with `instance=False`, for the type `obj`).
    /// `asizeof(*objs)` with a fresh sizer configured as given, in one call: what the
    /// module-level `asizeof()` does when it prints no statistics.
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (objs, *, align, code, ignored, limit, detail, above, frames, infer, clip))]
    fn size_once(
        py: Python<'_>,
        objs: &Bound<'_, PyTuple>,
        align: u64,
        code: bool,
        ignored: bool,
        limit: Option<u64>,
        detail: u64,
        above: u64,
        frames: bool,
        infer: bool,
        clip: u64,
    ) -> PyResult<u64> {
        let mut sizer = Sizer::new();
        sizer.configure(align, code, ignored, limit, detail, 0, above, frames, infer, clip)?;
        sizer.asizeof(py, objs)
    }

    #[staticmethod]
    #[pyo3(signature = (obj, instance = true))]
    fn typedef(obj: &Bound<'_, PyAny>, instance: bool) -> PyResult<TypeDef> {
        estimates::typedef(obj, instance)
    }

    /// Combined size of `objs`, each object counted once (pympler's `Asizer.asizeof`).
    fn asizeof(&mut self, py: Python<'_>, objs: &Bound<'_, PyTuple>) -> PyResult<u64> {
        for obj in objs.iter() {
            self.ledger.exclude_refs(obj.as_ptr());
        }
        let mut walker = self.walker(py)?;
        let mut total = 0;
        for obj in objs.iter() {
            total = walker.size_top(&obj, false)?.saturating_add(total);
        }
        Ok(total)
    }

    /// Size of each object (an `int`), or with `tree` its `asized` nodes as a list of
    /// `(parent_index, name, size, flat)` in pre-order. An object given twice gets the
    /// same result twice and is counted once.
    fn sizes<'py>(
        &mut self,
        py: Python<'py>,
        objs: &Bound<'py, PyTuple>,
        tree: bool,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        for obj in objs.iter() {
            self.ledger.exclude_refs(obj.as_ptr());
        }
        let mut done: AHashMap<usize, Bound<'py, PyAny>> = AHashMap::new();
        let mut results = Vec::with_capacity(objs.len());
        // One walker (and so one rule cache) for all the objects.
        let mut walker = self.walker(py)?;
        for obj in objs.iter() {
            let address = ffi::address(obj.as_ptr());
            if let Some(result) = done.get(&address) {
                walker.again(obj.as_ptr());
                results.push(result.clone());
                continue;
            }
            let size = walker.size_top(&obj, tree)?;
            let result = match walker.nodes.take() {
                Some(nodes) => tree_to_py(py, nodes)?.into_any(),
                None => size.into_pyobject(py)?.into_any(),
            };
            done.insert(address, result.clone());
            results.push(result);
        }
        Ok(results)
    }

    /// Flat size of one object with the current options, without marking it seen.
    fn flatsize(&mut self, py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<u64> {
        let mut walker = self.walker(py)?;
        walker.flat_of(obj)
    }

    /// Exclude references to these objects (they are still sized when given directly).
    #[pyo3(signature = (*objs))]
    fn exclude_refs(&mut self, objs: &Bound<'_, PyTuple>) {
        for obj in objs.iter() {
            self.ledger.exclude_refs(obj.as_ptr());
        }
    }

    /// Never size these objects.
    #[pyo3(signature = (*objs))]
    fn exclude_objs(&mut self, objs: &Bound<'_, PyTuple>) {
        for obj in objs.iter() {
            self.ledger.exclude_obj(obj.as_ptr());
        }
    }

    /// Never size instances of these classes, nor the classes themselves.
    #[pyo3(signature = (*objs))]
    fn exclude_types(&mut self, objs: &Bound<'_, PyTuple>) {
        for obj in objs.iter() {
            // SAFETY: `obj` is alive for the call.
            unsafe { self.ledger.exclude_type(obj.as_ptr()) };
        }
    }

    /// Forget all seen objects and totals; keep the excluded types.
    fn clear(&mut self) {
        self.ledger.clear();
    }

    #[getter]
    fn total(&self) -> u64 {
        self.ledger.total
    }
    #[getter]
    fn missed(&self) -> u64 {
        self.ledger.missed
    }
    #[getter]
    fn sized(&self) -> u64 {
        self.ledger.sized()
    }
    #[getter]
    fn seen(&self) -> u64 {
        self.ledger.seen()
    }
    #[getter]
    fn duplicate(&self) -> u64 {
        self.ledger.duplicate()
    }
    #[getter]
    fn depth(&self) -> u32 {
        self.ledger.depth
    }
    #[getter]
    fn ranked(&self) -> u64 {
        self.ledger.ranked
    }
    #[getter]
    fn excluded_count(&self) -> u64 {
        self.ledger.excluded_count()
    }

    fn excluded_types<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyAny>> {
        // SAFETY: the ledger holds these classes strongly.
        self.ledger.excluded_types().map(|t| unsafe { Bound::from_borrowed_ptr(py, t.as_ptr()) }).collect()
    }

    /// The largest objects seen, largest first.
    fn ranks<'py>(&self, py: Python<'py>) -> Vec<RankRow<'py>> {
        self.ledger
            .ranks
            .iter()
            .map(|r| {
                // SAFETY: the ledger holds the key and the object strongly.
                let (key, obj) = unsafe {
                    (Bound::from_borrowed_ptr(py, r.key.as_ptr()), Bound::from_borrowed_ptr(py, r.obj.as_ptr()))
                };
                (r.size, key, r.is_class, obj, r.depth, r.obj.as_ptr() as usize, r.parent_id)
            })
            .collect()
    }

    /// Per-type profiles of flat sizes.
    fn profiles<'py>(&self, py: Python<'py>) -> Vec<ProfileRow<'py>> {
        self.ledger
            .profiles
            .values()
            .map(|p| {
                // SAFETY: the ledger holds the key and the object strongly.
                let (key, obj) = unsafe {
                    (Bound::from_borrowed_ptr(py, p.key.as_ptr()), Bound::from_borrowed_ptr(py, p.largest.as_ptr()))
                };
                (key, p.is_class, p.number, p.total, p.high, obj)
            })
            .collect()
    }
}

/// What `sys.getsizeof(obj)` returns, computed by heapscope's own formulas (for tests).
#[pyfunction]
pub fn getsizeof(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    let mut sizer = Sizer::new();
    sizer.options.align_mask = 0;
    let mut walker = sizer.walker(py)?;
    walker.getsizeof(obj)
}

/// The referents `asizeof` follows for `obj` (pympler's `refs()`), with their names.
#[pyfunction]
pub fn named_referents<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Vec<(Py<PyAny>, Bound<'py, PyAny>)>> {
    let mut sizer = Sizer::new();
    sizer.options.detail = 1;
    let mut walker = sizer.walker(py)?;
    walker.named_referents(obj)
}
