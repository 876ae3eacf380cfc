//! Watching objects that cannot be weakly referenced: the class tracker holds them and
//! notices their death by polling their reference count.

use pyo3::prelude::*;

/// The reference count of `obj`. For an object held only through one `Py` (or `Bound`),
/// 1 means that handle is its last owner: the rest of the program let it go.
#[inline]
pub fn reference_count(obj: &Bound<'_, PyAny>) -> isize {
    // SAFETY: a `Bound` proves the object is alive and the GIL held; the count is only read.
    unsafe { pyo3::ffi::Py_REFCNT(obj.as_ptr()) }
}
