//! Heap summaries: objects aggregated by type name into `[type, count, total size]`
//! rows, as pympler's `summary.summarize` makes them, and diffs of two summaries.
//!
//! The type name of an object is pympler's: `str(type(obj))` with `<class '...'>`
//! unwrapped and ` at 0x...` addresses removed, except for functions (`function
//! (name)`), modules (`module(name)`) and frames (`frame (codename: name)`), and for
//! types the caller gives its own representation function. Names are worked out once per
//! type (once per function name), so most objects are counted with two table look-ups
//! and a size formula, without Python code. The flat size is `sys.getsizeof`'s
//! (see `flat`).

use crate::cpython::{self, RawObj, Strong};
use crate::flat::{self, FlatRule, FlatSizer};
use crate::heap::{self, HeapVisitor, Scan, ScanOptions};
use crate::snapshot::{self, Kind, Meta};
use ahash::AHashMap;
use indexmap::IndexMap;
use pyo3::exceptions::{PyAttributeError, PyIndexError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

/// Count and total size of one row. Signed: diffs have negative rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub count: i64,
    pub size: i64,
}

/// Rows by type name, in the order the names were first met.
pub type Rows = IndexMap<String, Totals, ahash::RandomState>;

/// pympler's clean-up of a representation: every ` at 0x<hex digits>` removed, then
/// `<class 'X'>` (or `<type 'X'>`) reduced to `X` when `X` has no white space.
pub fn clean_name(text: &str) -> String {
    let without_addresses = remove_addresses(text);
    match unwrap_type_repr(&without_addresses) {
        Some(inner) => inner,
        None => without_addresses,
    }
}

/// `re.sub(r' at 0x[0-9a-f]+', '', text)`.
fn remove_addresses(text: &str) -> String {
    const MARK: &str = " at 0x";
    if !text.contains(MARK) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        let after = &rest[at + MARK.len()..];
        let digits = after.bytes().take_while(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')).count();
        if digits == 0 {
            out.push_str(&rest[..at + 1]);
            rest = &rest[at + 1..];
            continue;
        }
        out.push_str(&rest[..at]);
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// `re.sub(r"^<(type|class) '(\S+)'>$", r'\2', text)`; `$` also matches before a final
/// newline, which is kept.
fn unwrap_type_repr(text: &str) -> Option<String> {
    let (body, newline) = match text.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (text, ""),
    };
    let inner = body.strip_prefix("<class '").or_else(|| body.strip_prefix("<type '"))?.strip_suffix("'>")?;
    if inner.is_empty() || inner.chars().any(is_python_space) {
        return None;
    }
    Some(format!("{inner}{newline}"))
}

/// Python's `\s` for str patterns (`str.isspace`).
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// How the objects of one type are named.
enum Naming {
    /// One name for the whole type, worked out when the rows are made.
    Type,
    /// Exact functions: named after `__name__`.
    Function,
    /// Exact modules.
    Module,
    /// Exact frames.
    Frame,
    /// A representation function given by the caller.
    Custom(Py<PyAny>),
}

struct TypeEntry {
    naming: Naming,
    rule: FlatRule,
    /// The objects counted under the type's own name ([`Naming::Type`]).
    totals: Totals,
    /// When the type was met, for the order of the rows.
    first: u32,
    /// Keeps the type alive (and its address unique) while it is a key of the cache.
    type_ref: Strong,
}

/// The functions of one name.
struct FunctionRow {
    /// Keeps the name alive (and its address unique) while it is a key.
    name: Strong,
    totals: Totals,
    first: u32,
}

const RECENT: usize = 64;

/// How far ahead in a list of objects their headers are prefetched (measured best on a
/// million-object list).
const LIST_AHEAD: usize = 20;

/// Aggregates objects into rows; a [`HeapVisitor`] for whole-heap passes.
///
/// Objects are counted per type (per function name) without Python code, also for a
/// type met for the first time: a whole-heap pass runs no Python code while it reads the
/// collector's lists. Names are worked out once, when the rows are made; objects named
/// one by one (modules, frames, representation functions) wait for the slow path.
pub struct Aggregator<'py> {
    py: Python<'py>,
    sizer: FlatSizer,
    entries: Vec<TypeEntry>,
    by_type: AHashMap<usize, u32>,
    /// Direct-mapped cache of `by_type`: (type address, entry index).
    recent: [(usize, u32); RECENT],
    /// Function rows, by the address of the (held) name string.
    functions: AHashMap<usize, FunctionRow>,
    /// Rows of objects named one by one, with when each name was first met.
    named: IndexMap<String, (Totals, u32), ahash::RandomState>,
    /// Types whose objects are named by a Python function, by type address.
    overrides: AHashMap<usize, Py<PyAny>>,
    /// How many types and names were met so far.
    met: u32,
}

impl<'py> Aggregator<'py> {
    pub fn new(py: Python<'py>, overrides: Option<Bound<'py, PyDict>>) -> PyResult<Aggregator<'py>> {
        let mut by_address = AHashMap::new();
        // Held by `Bound`s only for this loop: the summary's caller keeps the dict and its
        // types alive until the summary is made.
        for (tp, function) in overrides.iter().flat_map(|o| o.iter()) {
            by_address.insert(tp.as_ptr() as usize, function.unbind());
        }
        Ok(Aggregator {
            py,
            sizer: FlatSizer::new(py)?,
            entries: Vec::new(),
            by_type: AHashMap::new(),
            recent: [(0, 0); RECENT],
            functions: AHashMap::new(),
            named: IndexMap::default(),
            overrides: by_address,
            met: 0,
        })
    }

    #[inline]
    fn entry_index(&mut self, tp: usize) -> Option<u32> {
        let slot = (tp >> 4) % RECENT;
        if self.recent[slot].0 == tp {
            return Some(self.recent[slot].1);
        }
        let index = *self.by_type.get(&tp)?;
        self.recent[slot] = (tp, index);
        Some(index)
    }

    fn next_met(&mut self) -> u32 {
        self.met += 1;
        self.met
    }

    /// The cache entry for the type of `obj`, made if new; runs no Python code.
    ///
    /// # Safety
    /// `obj` must be alive.
    #[inline]
    unsafe fn entry_of(&mut self, obj: RawObj) -> u32 {
        // SAFETY: `obj` is alive (caller).
        let tp = unsafe { cpython::type_of(obj) };
        if let Some(index) = self.entry_index(tp as usize) {
            return index;
        }
        // SAFETY: `tp` is the type of a live object; the entry keeps it alive.
        let type_ref = unsafe { Strong::from_borrowed(tp.cast()) };
        // SAFETY: as above.
        let rule = unsafe { self.sizer.type_rule(tp) };
        let naming = if let Some(function) = self.overrides.get(&(tp as usize)) {
            Naming::Custom(function.clone_ref(self.py))
        } else if cpython::is_function_type(tp) {
            Naming::Function
        } else if cpython::is_module_type(tp) {
            Naming::Module
        } else if cpython::is_frame_type(tp) {
            Naming::Frame
        } else {
            Naming::Type
        };
        let index = self.entries.len() as u32;
        let first = self.next_met();
        self.entries.push(TypeEntry { naming, rule, totals: Totals::default(), first, type_ref });
        self.by_type.insert(tp as usize, index);
        index
    }

    /// Counts `obj` under its type or function name if that needs no Python code.
    ///
    /// # Safety
    /// `obj` must be alive and of the type of entry `index`.
    #[inline]
    unsafe fn count_quick(&mut self, index: u32, obj: RawObj, size: usize) -> bool {
        let entry = &mut self.entries[index as usize];
        let totals = match entry.naming {
            Naming::Type => &mut entry.totals,
            Naming::Function => {
                // SAFETY: `obj` is a live, exact function (caller).
                let name = unsafe { cpython::function_name(obj) };
                let first = self.met + 1;
                let row = self.functions.entry(name as usize).or_insert_with(|| FunctionRow {
                    // SAFETY: `name` is held by the live function.
                    name: unsafe { Strong::from_borrowed(name) },
                    totals: Totals::default(),
                    first,
                });
                if row.first == first {
                    self.met = first;
                }
                &mut row.totals
            }
            _ => return false,
        };
        totals.count += 1;
        totals.size += size as i64;
        true
    }

    /// The row name of an object named one by one (modules, frames, custom).
    fn object_name(&self, entry: u32, obj: &Strong) -> PyResult<String> {
        let py = self.py;
        // SAFETY: `obj` is held strongly.
        let bound = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
        Ok(match &self.entries[entry as usize].naming {
            Naming::Module => module_name(&bound),
            Naming::Frame => frame_name(&bound),
            Naming::Custom(function) => {
                let result = function.bind(py).call1((&bound,))?;
                let text = result
                    .cast_into::<PyString>()
                    .map_err(|_| PyTypeError::new_err("a summary representation function must return a str"))?;
                clean_name(&text.to_string_lossy())
            }
            Naming::Type | Naming::Function => unreachable!("counted without a name"),
        })
    }

    /// Adds every object of a list or other iterable (pympler's `summarize`).
    pub fn add_all(&mut self, objects: &Bound<'py, PyAny>) -> PyResult<()> {
        if let Ok(list) = objects.cast::<PyList>() {
            let mut index = 0;
            // SAFETY: the list is held by the caller and re-read at every step, so an item
            // is alive until Python code runs; it is taken strongly before the slow path.
            while let Some(item) = unsafe { cpython::list_item(list.as_ptr(), index) } {
                index += 1;
                // SAFETY: a bounds-checked read of the held list; only used as a hint.
                if let Some(ahead) = unsafe { cpython::list_item(list.as_ptr(), index + LIST_AHEAD) } {
                    cpython::prefetch(ahead);
                }
                // SAFETY: as above; `quick` runs no Python code.
                if !unsafe { self.quick(item, false) } {
                    // SAFETY: as above.
                    let obj = unsafe { Strong::from_borrowed(item) };
                    self.slow(self.py, &obj, false)?;
                }
            }
            return Ok(());
        }
        if let Ok(tuple) = objects.cast::<PyTuple>() {
            for item in tuple.iter() {
                // SAFETY: `item` is held by the Bound.
                let obj = unsafe { Strong::from_borrowed(item.as_ptr()) };
                self.add_held(&obj)?;
            }
            return Ok(());
        }
        for item in objects.try_iter()? {
            let item = item?;
            // SAFETY: `item` is held by the Bound.
            let obj = unsafe { Strong::from_borrowed(item.as_ptr()) };
            self.add_held(&obj)?;
        }
        Ok(())
    }

    fn add_held(&mut self, obj: &Strong) -> PyResult<()> {
        // SAFETY: `obj` is held strongly.
        if unsafe { self.quick(obj.as_ptr(), false) } {
            return Ok(());
        }
        self.slow(self.py, obj, false)
    }

    /// The rows, in the order their names were first met (runs Python code: `str` of
    /// each type, `__str__` of each function name).
    pub fn into_rows(self) -> Rows {
        let py = self.py;
        let mut met: Vec<(u32, String, Totals)> = Vec::new();
        for entry in &self.entries {
            if matches!(entry.naming, Naming::Type) && entry.totals.count > 0 {
                // SAFETY: the type is held by the entry.
                let tp = unsafe { Bound::from_borrowed_ptr(py, entry.type_ref.as_ptr()) };
                met.push((entry.first, type_name(&tp), entry.totals));
            }
        }
        for row in self.functions.values() {
            // SAFETY: the name is held by the row.
            let name = unsafe { Bound::from_borrowed_ptr(py, row.name.as_ptr()) };
            let text = name.str().map(|t| t.to_string_lossy().into_owned()).unwrap_or_else(|_| "?".into());
            met.push((row.first, clean_name(&format!("function ({text})")), row.totals));
        }
        met.extend(self.named.into_iter().map(|(name, (totals, first))| (first, name, totals)));
        met.sort_by_key(|(first, _, _)| *first);
        let mut rows = Rows::default();
        for (_, name, totals) in met {
            let row = rows.entry(name).or_default();
            row.count += totals.count;
            row.size += totals.size;
        }
        rows
    }
}

impl HeapVisitor for Aggregator<'_> {
    #[inline]
    unsafe fn quick(&mut self, obj: RawObj, _tracked: bool) -> bool {
        // SAFETY: `obj` is alive (trait contract); nothing below runs Python code.
        unsafe {
            let index = self.entry_of(obj);
            let size = match flat::leaf_size(obj) {
                Some(size) => size,
                None => match self.sizer.size_with(obj, self.entries[index as usize].rule) {
                    Some(size) => size,
                    None => return false,
                },
            };
            self.count_quick(index, obj, size)
        }
    }

    fn slow(&mut self, _py: Python<'_>, obj: &Strong, _tracked: bool) -> PyResult<()> {
        // SAFETY: `obj` is held strongly.
        let index = unsafe { self.entry_of(obj.as_ptr()) };
        let size = self.sizer.size(self.py, obj);
        // SAFETY: as above; the entry is of its type.
        if unsafe { self.count_quick(index, obj.as_ptr(), size) } {
            return Ok(());
        }
        let name = self.object_name(index, obj)?;
        let first = self.met + 1;
        let (totals, row_first) = self.named.entry(name).or_insert((Totals::default(), first));
        if *row_first == first {
            self.met = first;
        }
        totals.count += 1;
        totals.size += size as i64;
        Ok(())
    }
}

/// `str(tp)` cleaned as pympler does; the type's C name when `str` fails.
fn type_name(tp: &Bound<'_, PyAny>) -> String {
    match tp.str() {
        Ok(text) => clean_name(&text.to_string_lossy()),
        Err(_) => {
            // SAFETY: `tp` is a live type object.
            let name = unsafe { std::ffi::CStr::from_ptr((*tp.as_ptr().cast::<pyo3::ffi::PyTypeObject>()).tp_name) };
            name.to_string_lossy().into_owned()
        }
    }
}

/// pympler's `"module(%s)" % getattr(m, '__name__', getattr(m, '__file__', 'nameless,
/// id: %d' % id(m)))`; a module whose attributes raise other errors is `module(?)`.
fn module_name(module: &Bound<'_, PyAny>) -> String {
    let py = module.py();
    let attribute = |name: &str| -> Result<Option<Bound<'_, PyAny>>, ()> {
        match module.getattr(name) {
            Ok(value) => Ok(Some(value)),
            Err(err) if err.is_instance_of::<PyAttributeError>(py) => Ok(None),
            Err(_) => Err(()),
        }
    };
    let name = match (attribute("__file__"), attribute("__name__")) {
        (_, Ok(Some(name))) => name.str().map(|s| s.to_string_lossy().into_owned()).ok(),
        (Ok(Some(file)), Ok(None)) => file.str().map(|s| s.to_string_lossy().into_owned()).ok(),
        (Ok(None), Ok(None)) => Some(format!("nameless, id: {}", module.as_ptr() as usize)),
        _ => None,
    };
    clean_name(&format!("module({})", name.as_deref().unwrap_or("?")))
}

/// pympler's `"frame (codename: %s)" % f.f_code.co_name`.
fn frame_name(frame: &Bound<'_, PyAny>) -> String {
    let name = frame
        .getattr("f_code")
        .and_then(|code| code.getattr("co_name"))
        .and_then(|name| name.str().map(|s| s.to_string_lossy().into_owned()));
    clean_name(&format!("frame (codename: {})", name.as_deref().unwrap_or("?")))
}

/// Rows as pympler's list of `[type, count, size]` lists.
pub fn rows_to_py<'py>(py: Python<'py>, rows: &Rows) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (name, totals) in rows {
        list.append(row_to_py(py, name, totals)?)?;
    }
    Ok(list)
}

fn row_to_py<'py>(py: Python<'py>, name: &str, totals: &Totals) -> PyResult<Bound<'py, PyList>> {
    let items: [Bound<'py, PyAny>; 3] = [
        PyString::new(py, name).into_any(),
        totals.count.into_pyobject(py)?.into_any(),
        totals.size.into_pyobject(py)?.into_any(),
    ];
    PyList::new(py, items)
}

/// `right - left` row by row (pympler's `get_diff`): rows of `right` in its order, then
/// rows only in `left`, negated. Rows on both sides with no change stay, as zeros.
pub fn diff_rows(left: &Rows, right: &Rows) -> Rows {
    let mut out = Rows::default();
    for (name, r) in right {
        let l = left.get(name).copied().unwrap_or_default();
        out.insert(name.clone(), Totals { count: r.count - l.count, size: r.size - l.size });
    }
    for (name, l) in left {
        if !right.contains_key(name) {
            out.insert(name.clone(), Totals { count: -l.count, size: -l.size });
        }
    }
    out
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
        let totals = out.entry(name).or_default();
        totals.count += count;
        totals.size += size;
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
        let mut rows = diff_rows(&self.rows, &later_rows);
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
    fn total_count(&self) -> i64 {
        self.rows.values().map(|t| t.count).sum()
    }

    /// Total flat size in bytes (the sum of the sizes).
    #[getter]
    fn total_size(&self) -> i64 {
        self.rows.values().map(|t| t.size).sum()
    }

    /// `"summary"` or `"diff"`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.meta.kind.as_str()
    }

    /// When the summary was taken, in seconds since the epoch.
    #[getter]
    fn created(&self) -> f64 {
        self.meta.created
    }

    #[getter]
    fn label(&self) -> Option<String> {
        self.meta.label.clone()
    }

    /// Where the summary was taken: python, implementation, platform, pid, heapscope.
    #[getter]
    fn origin<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("python", &self.meta.python)?;
        dict.set_item("implementation", &self.meta.implementation)?;
        dict.set_item("platform", &self.meta.platform)?;
        dict.set_item("pid", self.meta.pid)?;
        dict.set_item("heapscope", &self.meta.heapscope)?;
        Ok(dict)
    }

    /// The summary as JSON text in the versioned snapshot format (docs/snapshot-format.md).
    fn to_json(&self) -> PyResult<String> {
        Ok(snapshot::to_json(&self.rows, &self.meta)?)
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
    fn _repr_html_(slf: &Bound<'_, Self>) -> PyResult<String> {
        slf.py().import("heapscope._html")?.call_method1("summary_html", (slf,))?.extract()
    }

    fn __repr__(&self) -> String {
        let label = self.meta.label.as_deref().map(|l| format!(" {l:?}")).unwrap_or_default();
        format!(
            "<heapscope Summary{label}: {} {}, {} types, {} objects, {} bytes>",
            self.meta.kind.as_str(),
            snapshot::format_time(self.meta.created),
            self.rows.len(),
            self.total_count(),
            self.total_size()
        )
    }
}

fn same_rows(a: &Rows, b: &Rows) -> bool {
    a.len() == b.len() && a.iter().all(|(name, t)| b.get(name) == Some(t))
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
    rows_to_py(py, &aggregator.into_rows())
}

/// Summary of the whole heap in one pass, without building the object list: the objects
/// of `muppy.get_objects()` (no `gc.collect()`: the Python caller does it), aggregated
/// by type. Leaves out `Summary` objects with `ignore_self`, and the `exclude` objects.
#[pyfunction]
#[pyo3(signature = (*, overrides = None, remove_dups = true, ignore_self = true, exclude = None, label = None))]
pub fn summarize_heap<'py>(
    py: Python<'py>,
    overrides: Option<Bound<'py, PyDict>>,
    remove_dups: bool,
    ignore_self: bool,
    exclude: Option<&Bound<'py, PyAny>>,
    label: Option<String>,
) -> PyResult<Summary> {
    let own_types: Vec<Py<PyAny>> =
        if ignore_self { vec![py.get_type::<Summary>().into_any().unbind()] } else { Vec::new() };
    let exclusions = heap::exclusions_from(&own_types, exclude)?;
    let mut aggregator = Aggregator::new(py, overrides)?;
    {
        let _pause = heap::GcPause::new(py)?;
        let mut scan = Scan::new(py, ScanOptions { dedup: remove_dups, skip_frames: true, exclusions })?;
        let tracked = heap::TrackedObjects::take(py)?;
        scan.run(tracked, &mut aggregator)?;
    }
    Ok(Summary::new(py, aggregator.into_rows(), Kind::Summary, label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_like_pympler() {
        assert_eq!(clean_name("<class 'dict'>"), "dict");
        assert_eq!(clean_name("<class 'mod.Foo'>"), "mod.Foo");
        assert_eq!(clean_name("<type 'int'>"), "int");
        assert_eq!(clean_name("<class 'a b'>"), "<class 'a b'>");
        assert_eq!(clean_name("<class ''>"), "<class ''>");
        assert_eq!(clean_name("<class 'x'>\n"), "x\n");
        assert_eq!(clean_name("<thing at 0x7f00ab>"), "<thing>");
        assert_eq!(clean_name("a at 0x1 b at 0xff c"), "a b c");
        assert_eq!(clean_name("no at 0xZZ"), "no at 0xZZ");
        assert_eq!(clean_name("upper at 0xAB"), "upper at 0xAB");
        // Addresses go first, then the class is unwrapped.
        assert_eq!(clean_name("<class 'x at 0x10'>"), "x");
        assert_eq!(clean_name("function (f)"), "function (f)");
    }

    #[test]
    fn diffs_subtract_rows() {
        let mut left = Rows::default();
        left.insert("a".into(), Totals { count: 2, size: 20 });
        left.insert("gone".into(), Totals { count: 1, size: 5 });
        let mut right = Rows::default();
        right.insert("a".into(), Totals { count: 5, size: 50 });
        right.insert("new".into(), Totals { count: 1, size: 8 });
        let diff: Vec<_> = diff_rows(&left, &right).into_iter().collect();
        assert_eq!(
            diff,
            vec![
                ("a".to_owned(), Totals { count: 3, size: 30 }),
                ("new".to_owned(), Totals { count: 1, size: 8 }),
                ("gone".to_owned(), Totals { count: -1, size: -5 }),
            ]
        );
    }
}
