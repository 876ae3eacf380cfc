//! The per-function cache of global and attribute look-ups that CPython 3.9 and 3.10
//! allocate inside a code object on its 1024th call (`co_opcache`), which
//! `code.__sizeof__` counts.
//!
//! It appears whenever any function of the process, the interpreter's and IPython's
//! own included, reaches that call, so a summary that counted it would show `code 0
//! +N B` in the diff of a cell or a stretch of a program that allocated nothing.
//! Summaries and the heap graph leave it out (see `asizeof::flat`); from 3.11 on, code
//! objects keep their caches inline from the start and never grow.

use super::*;
use pyo3::prelude::*;

/// `PyCodeObject` of 3.9 and 3.10 up to the cache fields (identical on both; pyo3
/// leaves the struct opaque). Checked at import ([`check_code_cache`]).
#[cfg(not(Py_3_11))]
#[repr(C)]
struct CodeObject {
    ob_base: ffi::PyObject,
    co_argcount: std::os::raw::c_int,
    co_posonlyargcount: std::os::raw::c_int,
    co_kwonlyargcount: std::os::raw::c_int,
    co_nlocals: std::os::raw::c_int,
    co_stacksize: std::os::raw::c_int,
    co_flags: std::os::raw::c_int,
    co_firstlineno: std::os::raw::c_int,
    co_code: *mut ffi::PyObject,
    co_consts: *mut ffi::PyObject,
    co_names: *mut ffi::PyObject,
    co_varnames: *mut ffi::PyObject,
    co_freevars: *mut ffi::PyObject,
    co_cellvars: *mut ffi::PyObject,
    co_cell2arg: *mut ffi::Py_ssize_t,
    co_filename: *mut ffi::PyObject,
    co_name: *mut ffi::PyObject,
    co_lnotab: *mut ffi::PyObject,
    co_zombieframe: *mut std::os::raw::c_void,
    co_weakreflist: *mut ffi::PyObject,
    co_extra: *mut std::os::raw::c_void,
    co_opcache_map: *mut u8,
    co_opcache: *mut std::os::raw::c_void,
    co_opcache_flag: std::os::raw::c_int,
    co_opcache_size: u8,
}

/// `sizeof(_PyOpcache)`: a union of two three-word entries and a flag byte, padded.
#[cfg(not(Py_3_11))]
const OPCACHE_ENTRY: usize = 4 * std::mem::size_of::<usize>();

/// The bytes of `code.__sizeof__(obj)` that are its look-up cache: 0 when it has none,
/// from 3.11 on, and where the layout did not pass its check ([`Layout::CodeCache`]),
/// in which case the cache stays counted.
///
/// # Safety
/// `obj` must be a live code object.
#[inline]
pub unsafe fn code_cache_bytes(obj: RawObj) -> usize {
    #[cfg(not(Py_3_11))]
    {
        if !layout_or_fallback(Layout::CodeCache) {
            return 0;
        }
        // SAFETY: forwarded caller guarantee.
        unsafe { code_cache_bytes_unchecked(obj) }
    }
    #[cfg(Py_3_11)]
    {
        let _ = obj;
        0
    }
}

/// [`code_cache_bytes`] without the layout check, as `code_sizeof` computes it: one map
/// byte per code unit and one entry per cached instruction.
///
/// # Safety
/// `obj` must be a live code object.
#[cfg(not(Py_3_11))]
unsafe fn code_cache_bytes_unchecked(obj: RawObj) -> usize {
    // SAFETY: `obj` is a live code object, whose fields are initialised; `co_code` is a
    // bytes object the code holds for its whole life.
    unsafe {
        let code = &*obj.cast::<CodeObject>();
        if code.co_opcache.is_null() {
            return 0;
        }
        let units = ffi::Py_SIZE(code.co_code) as usize / 2;
        units + code.co_opcache_size as usize * OPCACHE_ENTRY
    }
}

/// Reads the fields on sample functions and compares them with what the interpreter
/// reports: the code's bytecode and name objects, no cache on a fresh function, and,
/// after 1,100 calls, a cache whose bytes are exactly what `__sizeof__` grew by.
#[cfg(not(Py_3_11))]
pub(super) fn check_code_cache(py: Python<'_>) -> PyResult<bool> {
    let source = c"lambda: len";
    let hot = py.eval(source, None, None)?;
    let cold = py.eval(source, None, None)?;
    let (hot_code, cold_code) = (hot.getattr("__code__")?, cold.getattr("__code__")?);
    for code in [&hot_code, &cold_code] {
        // SAFETY: `code` is a live code object held by the Bound.
        let fields = unsafe { &*code.as_ptr().cast::<CodeObject>() };
        if fields.co_code != code.getattr("co_code")?.as_ptr() || fields.co_name != code.getattr("co_name")?.as_ptr() {
            return Ok(false);
        }
    }
    // SAFETY: a live code object, never called.
    if unsafe { code_cache_bytes_unchecked(cold_code.as_ptr()) } != 0 {
        return Ok(false);
    }
    for _ in 0..1100 {
        hot.call0()?;
    }
    // SAFETY: a live code object.
    let cache = unsafe { code_cache_bytes_unchecked(hot_code.as_ptr()) };
    Ok(cache > 0 && reported_sizeof(&hot_code)? == reported_sizeof(&cold_code)? + cache)
}

/// From 3.11 on there is no such cache and nothing is read.
#[cfg(Py_3_11)]
pub(super) fn check_code_cache(_py: Python<'_>) -> PyResult<bool> {
    Ok(true)
}
