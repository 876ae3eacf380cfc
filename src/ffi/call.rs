//! Calls into Python made from Rust: a type's `__sizeof__`, and building result lists.

use super::*;
use pyo3::{PyErr, PyResult, Python};

/// What calling a `__sizeof__` descriptor directly gave.
pub enum SizeofCall {
    /// Neither a method descriptor nor a Python function: it needs the general path
    /// (binding it first).
    Unbound,
    /// The size; `None` when the call raised an `Exception` (cleared) or returned
    /// anything but a non-negative int.
    Done(Option<usize>),
}

/// Calls a `__sizeof__` found on the type of `obj` the way `sys.getsizeof` does, when
/// it is a method descriptor or a Python function (binding then calling equals calling
/// it with `obj` first). Only `Exception`s are cleared: any other error the call raises
/// (`KeyboardInterrupt`, `SystemExit`, ...) is fetched and returned.
///
/// # Safety
/// `obj` must be held strongly by the caller and `descr` be the (live) result of looking
/// `__sizeof__` up on its type, held strongly too: the call runs Python code.
pub unsafe fn call_sizeof_descr(py: Python<'_>, obj: RawObj, descr: RawObj) -> PyResult<SizeofCall> {
    // SAFETY: both objects are held by the caller; the result is a new reference.
    unsafe {
        let dt = type_of(descr);
        if dt != std::ptr::addr_of_mut!(ffi::PyMethodDescr_Type) && dt != std::ptr::addr_of_mut!(ffi::PyFunction_Type) {
            return Ok(SizeofCall::Unbound);
        }
        let args = [obj];
        let result = Strong::from_owned(ffi::PyObject_Vectorcall(descr, args.as_ptr(), 1, std::ptr::null_mut()));
        let Some(result) = result else {
            return clear_exception(py).map(|()| SizeofCall::Done(None));
        };
        if ffi::PyLong_Check(result.as_ptr()) == 0 {
            return Ok(SizeofCall::Done(None));
        }
        let value = ffi::PyLong_AsSsize_t(result.as_ptr());
        if value == -1 && !ffi::PyErr_Occurred().is_null() {
            return clear_exception(py).map(|()| SizeofCall::Done(None));
        }
        Ok(SizeofCall::Done(usize::try_from(value).ok()))
    }
}

/// Clears the error set if it is an `Exception`; fetches and returns any other.
///
/// # Safety
/// A Python error must be set.
unsafe fn clear_exception(py: Python<'_>) -> PyResult<()> {
    // SAFETY: an error is set (caller); `PyExc_Exception` is a static exception type.
    unsafe {
        if ffi::PyErr_ExceptionMatches(ffi::PyExc_Exception) != 0 {
            ffi::PyErr_Clear();
            return Ok(());
        }
    }
    Err(PyErr::fetch(py))
}

/// A new list made of `items` (their references move into the list); `None` (with a
/// Python error set) when it cannot be allocated.
pub fn list_from(items: Vec<Strong>) -> Option<Strong> {
    // SAFETY: a fresh list of the right length is filled once per slot; each item's
    // reference is handed to the list (PyList_SET_ITEM steals it), so it is forgotten.
    unsafe {
        let list = Strong::from_owned(ffi::PyList_New(items.len() as ffi::Py_ssize_t))?;
        for (i, item) in items.into_iter().enumerate() {
            ffi::PyList_SET_ITEM(list.as_ptr(), i as ffi::Py_ssize_t, item.as_ptr());
            std::mem::forget(item);
        }
        Some(list)
    }
}

/// `obj()`, a new reference; `None` (the error cleared) when the call fails.
///
/// # Safety
/// Calling `obj` must run no Python code that could free what the caller borrows
/// (weak references: calling one only returns its referent).
#[inline]
pub unsafe fn call_no_args(obj: Borrowed<'_>) -> Option<Strong> {
    // SAFETY: `obj` is alive; the result is a new reference or NULL with an error set.
    unsafe {
        let result = Strong::from_owned(ffi::PyObject_CallNoArgs(obj.as_ptr()));
        if result.is_none() {
            ffi::PyErr_Clear();
        }
        result
    }
}
