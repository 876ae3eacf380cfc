//! Run-time checks of every layout the crate reads by hand.
//!
//! The fast paths read CPython structs in place: the state bits of a `str`, the digit
//! count of an `int`, the tables of lists, dicts, sets and bytearrays, the attribute
//! values kept without a dict (3.11+), the mapping of a `mappingproxy`, the
//! collector's lists and a code object's look-up cache (3.9, 3.10). The layouts are
//! chosen at compile time for the interpreter built for, but a point release, a
//! vendor's patch or a build option can move a field.
//! So at import each layout is tried on sample objects and compared with what the
//! interpreter itself reports (`__sizeof__`, `PyDict_Next`, iteration, `__dict__`); a
//! layout that disagrees is never read, and its callers take the public API instead.
//! The collector's lists are checked again before every heap pass (see
//! [`generation_heads`]).
//!
//! [`_layouts`] shows the result; [`_use_layout`] turns a layout off, so that tests
//! can prove each fallback is taken and gives the same answer.

use super::Borrowed;
use super::*;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyDict, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A layout read by hand somewhere in `ffi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `PyASCIIObject`/`PyCompactUnicodeObject`: state bits, length, UTF-8 buffer.
    Str,
    /// The digit count of an `int` (`ob_size`, or `lv_tag` from 3.12).
    Int,
    /// `PyListObject.allocated`.
    List,
    /// `PyDictKeysObject` and its entries, split tables.
    Dict,
    /// `PySetObject`'s table.
    Set,
    /// `PyByteArrayObject.ob_alloc`.
    ByteArray,
    /// Managed dicts and values kept without a dict (3.11+).
    InstanceValues,
    /// The mapping inside a `mappingproxy`.
    MappingProxy,
    /// The collector's generation lists (checked again per heap pass).
    GcLists,
    /// numpy's array struct (checked where used, per array type: numpy is not imported
    /// here; see `numpy.rs`).
    NumpyArray,
    /// A code object's look-up cache on 3.9 and 3.10 (`code.rs`).
    CodeCache,
}

/// Every layout, with the name [`_layouts`] reports it under.
pub const LAYOUTS: [(Layout, &str); 11] = [
    (Layout::Str, "str"),
    (Layout::Int, "int"),
    (Layout::List, "list"),
    (Layout::Dict, "dict"),
    (Layout::Set, "set"),
    (Layout::ByteArray, "bytearray"),
    (Layout::InstanceValues, "instance_values"),
    (Layout::MappingProxy, "mappingproxy"),
    (Layout::GcLists, "gc_lists"),
    (Layout::NumpyArray, "numpy_array"),
    (Layout::CodeCache, "code_cache"),
];

impl Layout {
    #[inline(always)]
    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// Layouts that passed their check at import (all, until the check has run: the
/// module's initialisation runs it before anything else can read).
static VALID: AtomicU32 = AtomicU32::new(u32::MAX);
/// Layouts turned off by [`_use_layout`].
static DISABLED: AtomicU32 = AtomicU32::new(0);
/// How often each layout's public fallback was taken (see [`_layout_fallbacks`]).
static FALLBACKS: [AtomicU64; LAYOUTS.len()] = [const { AtomicU64::new(0) }; LAYOUTS.len()];

/// Whether `layout` may be read in place. A relaxed load: the flags only change at
/// import and from the test hook, both with the GIL held.
#[inline(always)]
pub fn layout_ok(layout: Layout) -> bool {
    (VALID.load(Ordering::Relaxed) & !DISABLED.load(Ordering::Relaxed)) & layout.bit() != 0
}

/// [`layout_ok`], counting a fallback when the answer is no.
#[inline(always)]
pub fn layout_or_fallback(layout: Layout) -> bool {
    if layout_ok(layout) {
        return true;
    }
    count_fallback(layout);
    false
}

/// Counts one taking of `layout`'s public fallback (see [`_layout_fallbacks`]): for a
/// layout checked per object type, when an object's type did not pass.
pub fn count_fallback(layout: Layout) {
    FALLBACKS[layout as usize].fetch_add(1, Ordering::Relaxed);
}

/// Checks every layout on sample objects; run once, at import. An `Exception` raised
/// while making the samples counts as a failed check; other errors propagate.
pub fn check_layouts(py: Python<'_>) -> PyResult<()> {
    type Check = fn(Python<'_>) -> PyResult<bool>;
    let checks: [(Layout, Check); LAYOUTS.len()] = [
        (Layout::Str, check_str),
        (Layout::Int, check_int),
        (Layout::List, check_list),
        (Layout::Dict, check_dict),
        (Layout::Set, check_set),
        (Layout::ByteArray, check_bytearray),
        (Layout::InstanceValues, check_instance_values),
        (Layout::MappingProxy, check_mappingproxy),
        (Layout::GcLists, check_gc_lists),
        (Layout::NumpyArray, |_| Ok(true)),
        (Layout::CodeCache, check_code_cache),
    ];
    // Each check reads only the layout it tests, so none may rely on another.
    VALID.store(0, Ordering::Relaxed);
    let mut valid = 0;
    for (layout, check) in checks {
        match check(py) {
            Ok(true) => valid |= layout.bit(),
            Ok(false) => {}
            Err(error) if error.is_instance_of::<pyo3::exceptions::PyException>(py) => {}
            Err(error) => return Err(error),
        }
    }
    VALID.store(valid, Ordering::Relaxed);
    Ok(())
}

/// What `type(obj).__sizeof__(obj)` returns: the interpreter's own answer.
pub(super) fn reported_sizeof(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    obj.get_type().call_method1("__sizeof__", (obj,))?.extract()
}

/// Whether `read` gives the interpreter's `__sizeof__` for every sample.
fn sizes_agree<'py>(
    samples: impl IntoIterator<Item = Bound<'py, PyAny>>,
    read: unsafe fn(RawObj) -> Option<usize>,
) -> PyResult<bool> {
    for sample in samples {
        // SAFETY: `sample` is alive (held) and of the type `read` is made for.
        if unsafe { read(sample.as_ptr()) } != Some(reported_sizeof(&sample)?) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn check_str(py: Python<'_>) -> PyResult<bool> {
    let texts = ["", "a", "heapscope", "caf\u{e9}", "\u{20ac}uro", "\u{1f600} face", "\u{e9}\u{e8}\u{ea}"];
    let mut samples: Vec<Bound<'_, PyAny>> = texts.iter().map(|t| PyString::new(py, t).into_any()).collect();
    samples.push(PyString::new(py, &"x".repeat(1000)).into_any());
    // A non-ASCII str whose UTF-8 copy was made (it then owns a second buffer).
    let with_utf8 = PyString::new(py, "na\u{ef}ve \u{3b1}\u{3b2}");
    with_utf8.to_str()?;
    samples.push(with_utf8.into_any());
    sizes_agree(samples, str_sizeof_unchecked)
}

fn check_int(py: Python<'_>) -> PyResult<bool> {
    let builtins = py.import("builtins")?;
    let int = builtins.getattr("int")?;
    let mut samples: Vec<Bound<'_, PyAny>> = Vec::new();
    for value in [0i64, 1, -1, 255, 1 << 30, -(1 << 40), i64::MAX, i64::MIN] {
        samples.push(PyInt::new(py, value).into_any());
    }
    samples.push(int.call1(("9".repeat(400),))?);
    samples.push(int.call1(("-123456789012345678901234567890",))?);
    samples.push(PyBool::new(py, true).to_owned().into_any());
    // SAFETY: each sample is an int.
    sizes_agree(samples, |obj| Some(unsafe { int_sizeof_unchecked(obj) }))
}

fn check_list(py: Python<'_>) -> PyResult<bool> {
    let grown = PyList::empty(py);
    for i in 0..17 {
        grown.append(i)?;
    }
    let samples = [PyList::empty(py), PyList::new(py, [1, 2, 3])?, grown];
    // SAFETY: each sample is a list.
    sizes_agree(samples.into_iter().map(Bound::into_any), |obj| Some(unsafe { list_sizeof_unchecked(obj) }))
}

fn check_dict(py: Python<'_>) -> PyResult<bool> {
    let samples = dict_samples(py)?;
    // SAFETY: each sample is a dict.
    if !sizes_agree(samples.iter().cloned(), |obj| Some(unsafe { dict_sizeof_unchecked(obj) }))? {
        return Ok(false);
    }
    // The entries read in place, forwards and backwards, must be PyDict_Next's.
    for dict in &samples {
        let ptr = dict.as_ptr();
        let mut expected = Vec::new();
        let mut pos = 0;
        // SAFETY: `dict` is a live dict; nothing runs Python code while it is read.
        while let Some(entry) = unsafe { dict_next(ptr, &mut pos) } {
            expected.push(entry);
        }
        let mut forwards = Vec::new();
        let mut index = 0;
        // SAFETY: as above.
        match unsafe { dict_entry_unchecked(ptr, &mut index) } {
            Err(()) => continue, // a split table, which only PyDict_Next reads
            Ok(first) => forwards.extend(first),
        }
        // SAFETY: as above.
        while let Ok(Some(entry)) = unsafe { dict_entry_unchecked(ptr, &mut index) } {
            forwards.push(entry);
        }
        let mut backwards = Vec::new();
        // SAFETY: as above.
        unsafe { dict_entries_rev_unchecked(ptr, |key, value| backwards.push((key, value))) };
        backwards.reverse();
        if forwards != expected || backwards != expected {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Dicts of every kind of keys table: empty, str keys, other keys, large, with deleted
/// entries, and an instance's `__dict__` (a split table before 3.13).
fn dict_samples(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyAny>>> {
    let str_keys = PyDict::new(py);
    str_keys.set_item("alpha", 1)?;
    str_keys.set_item("beta", 2)?;
    let int_keys = PyDict::new(py);
    int_keys.set_item(1, "one")?;
    int_keys.set_item((2, 3), "pair")?;
    let large = PyDict::new(py);
    for i in 0..1000 {
        large.set_item(i, i)?;
    }
    let deleted = PyDict::new(py);
    for i in 0..20 {
        deleted.set_item(i.to_string(), i)?;
    }
    for i in 0..10 {
        deleted.del_item(i.to_string())?;
    }
    let instance = probe_class(py)?.call0()?;
    instance.setattr("first", 1)?;
    instance.setattr("second", 2)?;
    let instance_dict = instance.getattr("__dict__")?;
    Ok(vec![
        PyDict::new(py).into_any(),
        str_keys.into_any(),
        int_keys.into_any(),
        large.into_any(),
        deleted.into_any(),
        instance_dict,
    ])
}

fn check_set(py: Python<'_>) -> PyResult<bool> {
    let large = PySet::new(py, 0..100)?;
    let samples: Vec<Bound<'_, PyAny>> = vec![
        PySet::empty(py)?.into_any(),
        PySet::new(py, [7])?.into_any(),
        large.into_any(),
        PyFrozenSet::new(py, ["a", "b", "c"])?.into_any(),
    ];
    // SAFETY: each sample is a set or frozenset.
    if !sizes_agree(samples.iter().cloned(), |obj| Some(unsafe { set_sizeof_unchecked(obj) }))? {
        return Ok(false);
    }
    for set in &samples {
        let mut expected: Vec<usize> = Vec::new();
        for item in set.try_iter()? {
            expected.push(address(item?.as_ptr()));
        }
        let mut found = Vec::new();
        let mut pos = 0;
        // SAFETY: `set` is a live set, unchanged while it is read.
        while let Some(key) = unsafe { set_next(set.as_ptr(), &mut pos) } {
            found.push(address(key));
        }
        expected.sort_unstable();
        found.sort_unstable();
        if expected != found {
            return Ok(false);
        }
    }
    Ok(true)
}

fn check_bytearray(py: Python<'_>) -> PyResult<bool> {
    let grown = PyByteArray::new(py, b"abc");
    grown.call_method1("extend", (PyByteArray::new(py, &[0u8; 100]),))?;
    let samples = [PyByteArray::new(py, b""), PyByteArray::new(py, &[1u8; 40]), grown];
    // SAFETY: each sample is a bytearray.
    sizes_agree(samples.into_iter().map(Bound::into_any), |obj| Some(unsafe { bytearray_sizeof_unchecked(obj) }))
}

/// A plain class made for the checks: instances with managed dicts on 3.11+.
fn probe_class(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let type_type = py.import("builtins")?.getattr("type")?;
    type_type.call1(("HeapscopeLayoutProbe", PyTuple::empty(py), PyDict::new(py)))
}

fn check_instance_values(py: Python<'_>) -> PyResult<bool> {
    let class = probe_class(py)?;
    // Values kept without a dict: each read value must be the object stored, under its
    // name in the shared keys.
    let values: Vec<Bound<'_, PyAny>> = (0..3).map(|i| PyString::new(py, &format!("value {i}")).into_any()).collect();
    let names = ["first", "second", "third"];
    let kept = class.call0()?;
    for (name, value) in names.iter().zip(&values) {
        kept.setattr(*name, value)?;
    }
    // SAFETY: `kept` is alive (held) and nothing runs Python code while it is read.
    let found = unsafe { instance_attrs_unchecked(kept.as_ptr()) };
    let tp = kept.get_type();
    match found {
        InstanceAttrs::Values { values: stored, count, .. } => {
            if count != names.len() {
                return Ok(false);
            }
            for (i, (name, value)) in names.iter().zip(&values).enumerate() {
                // SAFETY: `i` is below the count just read; the type is the instance's.
                let (stored_value, key) = unsafe { (value_at(stored, i), shared_key(tp.as_ptr().cast(), i)) };
                let Some(key) = key else { return Ok(false) };
                // SAFETY: a shared key is a live str held by the type's keys.
                let key = unsafe { Bound::from_borrowed_ptr(py, key) };
                if stored_value != value.as_ptr() || key.extract::<&str>().ok() != Some(*name) {
                    return Ok(false);
                }
            }
        }
        // Before 3.11 every instance keeps a real dict.
        InstanceAttrs::Dict(dict) if cfg!(not(Py_3_11)) => {
            if dict != kept.getattr("__dict__")?.as_ptr() {
                return Ok(false);
            }
        }
        _ => return Ok(false),
    }
    // Once its `__dict__` was asked for, an instance holds a real dict.
    let with_dict = class.call0()?;
    with_dict.setattr("first", 1)?;
    let dict = with_dict.getattr("__dict__")?;
    // SAFETY: `with_dict` is alive (held).
    let found = unsafe { instance_attrs_unchecked(with_dict.as_ptr()) };
    if !matches!(found, InstanceAttrs::Dict(ptr) if ptr == dict.as_ptr()) {
        return Ok(false);
    }
    // An instance with no attribute at all.
    let empty = class.call0()?;
    // SAFETY: `empty` is alive (held).
    Ok(match unsafe { instance_attrs_unchecked(empty.as_ptr()) } {
        InstanceAttrs::Nothing => true,
        InstanceAttrs::Values { values, count, .. } => {
            // SAFETY: `count` values were just read from `empty`.
            (0..count).all(|i| unsafe { value_at(values, i) }.is_null())
        }
        InstanceAttrs::Dict(dict) => {
            // SAFETY: a dict the instance holds.
            unsafe { ffi::PyDict_Size(dict) == 0 }
        }
        InstanceAttrs::Unreadable => false,
    })
}

fn check_mappingproxy(py: Python<'_>) -> PyResult<bool> {
    let mapping = PyDict::new(py);
    mapping.set_item("key", 1)?;
    let proxy = py.import("types")?.getattr("MappingProxyType")?.call1((&mapping,))?;
    let proxy = Borrowed::from(&proxy);
    // SAFETY: `proxy` is a live mappingproxy.
    Ok(unsafe { mappingproxy_dict_unchecked(proxy) }.map(|d| d.as_ptr()) == Some(mapping.as_ptr()))
}

fn check_gc_lists(py: Python<'_>) -> PyResult<bool> {
    #[cfg(not(Py_GIL_DISABLED))]
    {
        let thresholds: (c_int, c_int, c_int) = py.import("gc")?.call_method0("get_threshold")?.extract()?;
        // A new list: tracked at once, at the end of the youngest generation.
        let probe = PyList::empty(py);
        // SAFETY: `probe` was tracked just now and no Python code ran since.
        let heads = unsafe { generation_heads_unchecked(probe.as_ptr(), [thresholds.0, thresholds.1, thresholds.2]) };
        Ok(heads.is_some())
    }
    #[cfg(Py_GIL_DISABLED)]
    {
        let _ = py;
        Ok(false)
    }
}

/// Which hand-read layouts are in use: each name (`str`, `dict`, `gc_lists`, ...) maps
/// to whether it passed its check at import and is not turned off.
#[pyfunction]
pub fn _layouts() -> Vec<(&'static str, bool)> {
    LAYOUTS.iter().map(|(layout, name)| (*name, layout_ok(*layout))).collect()
}

/// Turns reading a layout in place on or off (for tests: its callers then take the
/// public API) and returns the previous setting. A layout that failed its check stays
/// off. Raises `ValueError` for an unknown name.
#[pyfunction]
pub fn _use_layout(name: &str, enabled: bool) -> PyResult<bool> {
    let Some((layout, _)) = LAYOUTS.iter().find(|(_, known)| *known == name) else {
        let names: Vec<&str> = LAYOUTS.iter().map(|(_, known)| *known).collect();
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "unknown layout {name:?}; the layouts are {}",
            names.join(", ")
        )));
    };
    let was = DISABLED.load(Ordering::Relaxed) & layout.bit() == 0;
    if enabled {
        DISABLED.fetch_and(!layout.bit(), Ordering::Relaxed);
    } else {
        DISABLED.fetch_or(layout.bit(), Ordering::Relaxed);
    }
    Ok(was)
}

/// How many times each layout's public fallback was taken since import.
#[pyfunction]
pub fn _layout_fallbacks() -> Vec<(&'static str, u64)> {
    LAYOUTS.iter().map(|(layout, name)| (*name, FALLBACKS[*layout as usize].load(Ordering::Relaxed))).collect()
}
