//! The Python face of heap summaries: the `Summary` class (rows kept in Rust memory,
//! diffs, saving and loading), `summarize(objects)` and `summarize_heap()`, and the
//! conversion of rows to and from pympler's `[type, count, size]` lists. The counting
//! itself is `aggregate`'s.

use super::aggregate::Aggregator;
use super::file::{self as snapshot, Kind, Meta};
use super::rows::{diff_rows, same_rows, sums, Rows, Totals};
use super::text::{self, TEXT_ROWS};
use crate::ffi::{self, IntoNew};
use crate::heap::{self, Census, Scan, ScanOptions};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
/// Rows as pympler's list of `[type, count, size]` lists.
pub fn rows_to_py<'py>(py: Python<'py>, rows: &Rows) -> PyResult<Bound<'py, PyList>> {
    let mut items = Vec::new();
    crate::grow::Grow::grow(&mut items, rows.len(), "the rows of a summary")?;
    for (name, totals) in rows {
        items.push(row_to_py(py, name, totals)?.into_any());
    }
    ffi::new_list(py, items)
}

/// One row as pympler's `[type, count, size]` list, made with the fallible constructors.
fn row_to_py<'py>(py: Python<'py>, name: &str, totals: &Totals) -> PyResult<Bound<'py, PyList>> {
    let items =
        vec![ffi::new_str(py, name)?.into_any(), ffi::new_i64(py, totals.count)?, ffi::new_i64(py, totals.size)?];
    ffi::new_list(py, items)
}
/// Rows from any iterable of `[type, count, size]` sequences (pympler's rows, or a
/// `Summary`). Rows of the same type are added up.
pub fn rows_from_py(rows: &Bound<'_, PyAny>) -> PyResult<Rows> {
    if let Ok(summary) = rows.cast::<Summary>() {
        return Ok(summary.get().rows.clone());
    }
    let mut out = Rows::default();
    for row in rows.try_iter()? {
        let row = row?;
        let name: String = row.get_item(0)?.str()?.to_string_lossy().into_owned();
        let count: i64 = row.get_item(1)?.extract()?;
        let size: i64 = row.get_item(2)?.extract()?;
        let added = Totals { count, size };
        match out.get_mut(&name) {
            Some(totals) => {
                *totals = totals.checked_add(added).ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "the rows of type {name:?} add up to a count or size that does not fit in 64 bits"
                    ))
                })?
            }
            None => {
                out.insert(name, added);
            }
        }
    }
    Ok(out)
}

/// A summary of objects by type: rows of (type name, count, total size), held in Rust
/// memory, so keeping summaries adds no Python objects to the heap but this one.
///
/// Iterating gives pympler's rows, `[type, count, size]` lists, so a `Summary` can be
/// passed wherever pympler's summaries (lists of rows) are used.
#[pyclass(module = "heapscope._core", frozen, sequence)]
pub struct Summary {
    pub rows: Rows,
    pub meta: Meta,
}

impl Summary {
    pub fn new(py: Python<'_>, rows: Rows, kind: Kind, label: Option<String>) -> Summary {
        Summary { rows, meta: Meta::now(py, kind, label) }
    }
}

#[pymethods]
impl Summary {
    /// A summary made from rows (`[type, count, size]` sequences or another summary).
    #[staticmethod]
    #[pyo3(signature = (rows, *, kind = "summary", label = None))]
    fn from_rows(rows: &Bound<'_, PyAny>, kind: &str, label: Option<String>) -> PyResult<Summary> {
        let kind = Kind::parse(kind)?;
        let rows_ = rows_from_py(rows)?;
        if kind == Kind::Summary && rows_.values().any(|t| t.count < 0 || t.size < 0) {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "a summary cannot have negative counts or sizes (use kind='diff')",
            ));
        }
        Ok(Summary::new(rows.py(), rows_, kind, label))
    }

    /// The rows as pympler's list of `[type, count, size]` lists.
    fn rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        rows_to_py(py, &self.rows)
    }

    /// What changed from this summary to `later` (`later - self`), as a diff summary
    /// without the rows that did not change.
    fn diff(&self, later: &Bound<'_, PyAny>) -> PyResult<Summary> {
        let later_rows = rows_from_py(later)?;
        let mut rows = diff_rows(&self.rows, &later_rows).map_err(PyValueError::new_err)?;
        rows.retain(|_, t| t.count != 0 || t.size != 0);
        Ok(Summary::new(later.py(), rows, Kind::Diff, None))
    }

    fn __len__(&self) -> usize {
        self.rows.len()
    }

    fn __getitem__<'py>(&self, py: Python<'py>, index: isize) -> PyResult<Bound<'py, PyList>> {
        let len = self.rows.len() as isize;
        let at = if index < 0 { index + len } else { index };
        match self.rows.get_index(at.max(0) as usize).filter(|_| at >= 0) {
            Some((name, totals)) => row_to_py(py, name, totals),
            None => Err(PyIndexError::new_err("summary row index out of range")),
        }
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        rows_to_py(py, &self.rows)?.try_iter().map(|i| i.into_any())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<Summary>() {
            Ok(other) => {
                let other = other.get();
                self.meta.kind == other.meta.kind && same_rows(&self.rows, &other.rows)
            }
            Err(_) => false,
        }
    }

    /// Number of objects summarized (the sum of the counts).
    #[getter]
    fn total_count<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        ffi::new_i128(py, sums(&self.rows).0)
    }

    /// Total flat size in bytes (the sum of the sizes).
    #[getter]
    fn total_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        ffi::new_i128(py, sums(&self.rows).1)
    }

    /// `"summary"` or `"diff"`.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.meta.kind.as_str().into_new(py)
    }

    /// When the summary was taken, in seconds since the epoch.
    #[getter]
    fn created<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.meta.created.into_new(py)
    }

    #[getter]
    fn label<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.meta.label.as_deref().into_new(py)
    }

    /// Where the summary was taken: python, implementation, platform, pid, heapscope.
    #[getter]
    fn origin<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = ffi::new_dict(py)?;
        dict.set_item(crate::pystr!(py, "python")?, ffi::new_str(py, &self.meta.python)?)?;
        dict.set_item(crate::pystr!(py, "implementation")?, ffi::new_str(py, &self.meta.implementation)?)?;
        dict.set_item(crate::pystr!(py, "platform")?, ffi::new_str(py, &self.meta.platform)?)?;
        dict.set_item(crate::pystr!(py, "pid")?, ffi::new_int(py, u64::from(self.meta.pid))?)?;
        dict.set_item(crate::pystr!(py, "heapscope")?, ffi::new_str(py, &self.meta.heapscope)?)?;
        Ok(dict)
    }

    /// The summary as JSON text in the versioned snapshot format (docs/snapshot-format.md).
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        snapshot::to_json(&self.rows, &self.meta)?.into_new(py)
    }

    /// Writes the summary to `path` as JSON (replacing the file in one step).
    fn save(&self, path: std::path::PathBuf) -> PyResult<()> {
        Ok(snapshot::save(&path, &self.rows, &self.meta)?)
    }

    /// Reads a summary saved by `to_json`; `ValueError` (`SnapshotError`) for anything
    /// else: truncated or foreign text, a newer format version, inconsistent rows.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Summary> {
        let (rows, meta) = snapshot::from_json(text, None)?;
        Ok(Summary { rows, meta })
    }

    /// Reads a summary saved by `save`; see `from_json` for the errors.
    #[staticmethod]
    fn load(path: std::path::PathBuf) -> PyResult<Summary> {
        let (rows, meta) = snapshot::load(&path)?;
        Ok(Summary { rows, meta })
    }

    /// The summary as an HTML table in Jupyter (drawn by `heapscope._html.summary_html`).
    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        py.import(crate::pystr!(py, "heapscope._html")?)?.call_method1(crate::pystr!(py, "summary_html")?, (slf,))
    }

    /// The summary as text: a title line, `limit` rows as a table and a line for the
    /// other rows. `sort`: "size" (the default: the largest first; for a diff, the
    /// largest change either way), "count", "growth" or "shrink".
    #[pyo3(signature = (limit = 15, sort = "size"))] // TEXT_ROWS, written out for the text signature
    fn format<'py>(&self, py: Python<'py>, limit: usize, sort: &str) -> PyResult<Bound<'py, PyAny>> {
        let Some(order) = text::Order::from_name(sort) else {
            return Err(PyValueError::new_err(format!(
                "format(): sort must be one of {}, not {sort:?}",
                text::Order::NAMES.join(", ")
            )));
        };
        text::summary_text(&self.rows, &self.meta, limit, order)?.into_new(py)
    }

    fn __str__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.format(py, TEXT_ROWS, "size")
    }

    /// IPython's terminal shows the text of `str()`.
    fn _repr_pretty_(&self, printer: &Bound<'_, PyAny>, _cycle: bool) -> PyResult<()> {
        let py = printer.py();
        printer.call_method1(crate::pystr!(py, "text")?, (self.format(py, TEXT_ROWS, "size")?,))?;
        Ok(())
    }

    fn __repr__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let label = self.meta.label.as_deref().map(|l| format!(" {l:?}")).unwrap_or_default();
        format!(
            "<heapscope Summary{label}: {} {}, {} types, {} objects, {} bytes>",
            self.meta.kind.as_str(),
            snapshot::format_time(self.meta.created),
            self.rows.len(),
            sums(&self.rows).0,
            sums(&self.rows).1
        )
        .into_new(py)
    }
}
/// pympler's `summary.summarize(objects)`: a list of `[type, count, size]` rows, in the
/// order types are first met. `overrides`: `{type: function}` naming the objects of
/// those types (pympler's `representations` entries that differ from the defaults).
#[pyfunction]
#[pyo3(signature = (objects, overrides = None))]
pub fn summarize<'py>(
    py: Python<'py>,
    objects: &Bound<'py, PyAny>,
    overrides: Option<Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyList>> {
    // The rows made here would start young collections, and a young collection scans a
    // young list of every object (`summarize(muppy.get_objects())`) reference by
    // reference: as long again as the summary.
    let _pause = heap::GcPause::new(py)?;
    let mut aggregator = Aggregator::new(py, overrides)?;
    aggregator.add_all(objects)?;
    rows_to_py(py, &aggregator.into_rows()?)
}

/// Summary of the whole heap in one pass, without building the object list (no
/// `gc.collect()`: the Python caller does it), aggregated by type. `census` is
/// `"complete"` (every object reachable from a tracked object through untracked ones) or
/// `"pympler"` (the objects of `muppy.get_objects()`: tracked objects and their direct
/// untracked referents). Leaves out `Summary` objects and the instances of `own_types`
/// (heapscope's other result types) with `ignore_self`, and the `exclude` objects.
#[pyfunction]
#[pyo3(signature = (*, overrides = None, remove_dups = true, ignore_self = true, exclude = None, label = None, census = "complete", own_types = None, progress = None))]
#[allow(clippy::too_many_arguments)] // one per keyword argument of the Python function
pub fn summarize_heap<'py>(
    py: Python<'py>,
    overrides: Option<Bound<'py, PyDict>>,
    remove_dups: bool,
    ignore_self: bool,
    exclude: Option<&Bound<'py, PyAny>>,
    label: Option<String>,
    census: &str,
    own_types: Option<&Bound<'py, PyAny>>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Summary> {
    let _progress = crate::ffi::ProgressScope::enter_pass(progress)?;
    let census = census_named(census, remove_dups)?;
    let mut own: Vec<Py<PyAny>> = Vec::new();
    if ignore_self {
        own.push(py.get_type::<Summary>().into_any().unbind());
        if let Some(types) = own_types {
            for tp in types.try_iter()? {
                own.push(tp?.unbind());
            }
        }
    }
    let own_types = own;
    let exclusions = heap::exclusions_from(&own_types, exclude)?;
    let options = ScanOptions { dedup: remove_dups, skip_frames: true, exclusions, census };
    let aggregator = {
        let _pause = heap::GcPause::new(py)?;
        // A new pass after a Ctrl-C whose handler did not raise (see `Scan::run`).
        loop {
            let mut aggregator = Aggregator::new(py, overrides.clone())?;
            let mut scan = Scan::new(py, options.clone())?;
            let tracked = heap::TrackedObjects::take(py)?;
            if scan.run(tracked, &mut aggregator)? {
                break aggregator;
            }
        }
    };
    Ok(Summary::new(py, aggregator.into_rows()?, Kind::Summary, label))
}

/// The census a `summarize_heap(census=...)` argument names.
fn census_named(name: &str, remove_dups: bool) -> PyResult<Census> {
    match name {
        "complete" if remove_dups => Ok(Census::Complete),
        "complete" => Err(PyValueError::new_err(
            "remove_dups=False counts an untracked object once per reference to it, which only pympler's \
             census does: pass census=\"pympler\" with it",
        )),
        "pympler" => Ok(Census::Referents),
        other => Err(PyValueError::new_err(format!(
            "census must be \"complete\" (every reachable object) or \"pympler\" (muppy.get_objects()'s \
             objects), not {other:?}"
        ))),
    }
}
