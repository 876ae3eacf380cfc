//! Calls into Python made from Rust: a type's `__sizeof__`, and building result lists.

use super::*;

/// Calls a `__sizeof__` found on the type of `obj` the way `sys.getsizeof` does, when
/// it is a method descriptor or a Python function (binding then calling equals calling
/// it with `obj` first). `Err(())` for other descriptors, which need the general path;
/// `Ok(None)` when the call fails (the error is cleared) or returns anything but a
/// non-negative int.
///
/// # Safety
/// `obj` must be held strongly by the caller and `descr` be the (live) result of looking
/// `__sizeof__` up on its type, held strongly too: the call runs Python code.
pub unsafe fn call_sizeof_descr(obj: RawObj, descr: RawObj) -> Result<Option<usize>, ()> {
    // SAFETY: both objects are held by the caller; the result is a new reference.
    unsafe {
        let dt = type_of(descr);
        if dt != std::ptr::addr_of_mut!(ffi::PyMethodDescr_Type) && dt != std::ptr::addr_of_mut!(ffi::PyFunction_Type) {
            return Err(());
        }
        let args = [obj];
        let result = Strong::from_owned(ffi::PyObject_Vectorcall(descr, args.as_ptr(), 1, std::ptr::null_mut()));
        let Some(result) = result else {
            ffi::PyErr_Clear();
            return Ok(None);
        };
        if ffi::PyLong_Check(result.as_ptr()) == 0 {
            return Ok(None);
        }
        let value = ffi::PyLong_AsSsize_t(result.as_ptr());
        if value == -1 && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return Ok(None);
        }
        Ok(usize::try_from(value).ok())
    }
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
