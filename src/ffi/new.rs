//! New Python objects made from Rust values without panicking: pyo3's own conversions
//! of integers and strings panic ("PyObject pointer is null") when the allocation fails,
//! which would reach the user as `PanicException`; these return the `MemoryError`.

use super::*;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// A Python `int` equal to `value`.
pub fn new_int(py: Python<'_>, value: u64) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: the GIL is held (`py`); the call returns a new reference or NULL with an
    // exception set, which `from_owned_ptr_or_err` turns into `Err`.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromUnsignedLongLong(value)) }
}

/// A Python `int` equal to `value`.
pub fn new_i64(py: Python<'_>, value: i64) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: as in `new_int`.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromLongLong(value)) }
}

/// A Python `int` equal to `value` (sums that may not fit in 64 bits).
pub fn new_i128(py: Python<'_>, value: i128) -> PyResult<Bound<'_, PyAny>> {
    if let Ok(small) = i64::try_from(value) {
        return new_i64(py, small);
    }
    let digits = std::ffi::CString::new(value.to_string()).expect("decimal digits hold no NUL");
    // SAFETY: the GIL is held; `digits` is a NUL-terminated decimal number; the call
    // returns a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromString(digits.as_ptr(), std::ptr::null_mut(), 10)) }
}

/// A Python `str` equal to `text`.
pub fn new_str<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyString>> {
    // SAFETY: the GIL is held; `text` is valid UTF-8 of the given length; the call
    // returns a new reference or NULL with an exception set.
    unsafe {
        let ptr = ffi::PyUnicode_FromStringAndSize(text.as_ptr().cast(), text.len() as ffi::Py_ssize_t);
        Ok(Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked())
    }
}

/// A Python `tuple` of `items` (each reference moved into it).
pub fn new_tuple<'py, const N: usize>(py: Python<'py>, items: [Bound<'py, PyAny>; N]) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: the GIL is held; a new tuple of N empty slots is filled once each with a
    // reference it takes over (`PyTuple_SET_ITEM` steals it), before anything else can
    // see the tuple.
    unsafe {
        let tuple = Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(N as ffi::Py_ssize_t))?;
        for (i, item) in items.into_iter().enumerate() {
            ffi::PyTuple_SET_ITEM(tuple.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr());
        }
        Ok(tuple)
    }
}

/// A Python `list` of `items` (each reference moved into it).
pub fn new_list<'py>(py: Python<'py>, items: Vec<Bound<'py, PyAny>>) -> PyResult<Bound<'py, pyo3::types::PyList>> {
    // SAFETY: the GIL is held; a new list of `len` empty slots is filled once each with
    // a reference it takes over (`PyList_SET_ITEM` steals it), before anything else can
    // see the list.
    unsafe {
        let list = Bound::from_owned_ptr_or_err(py, ffi::PyList_New(items.len() as ffi::Py_ssize_t))?;
        for (i, item) in items.into_iter().enumerate() {
            ffi::PyList_SET_ITEM(list.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr());
        }
        Ok(list.cast_into_unchecked())
    }
}
