//! Calls into Python that the walker needs now and then: a foreign `__sizeof__`, and the
//! names of `asized` tree nodes (pympler's `__name__`-or-clipped-repr convention, in
//! `heap::edges`).

use crate::asizeof::rules::Registry;
use crate::ffi::{self, Strong};
use pyo3::ffi as pyffi;
use pyo3::prelude::*;

/// Calls `type(obj).__sizeof__` bound to `obj`, as `sys.getsizeof` does. `None` when it
/// is missing, raises, or returns anything but a non-negative int.
pub fn call_sizeof(py: Python<'_>, obj: &Strong, registry: &Registry) -> Option<usize> {
    // SAFETY: `obj` is held strongly; the lookup result is borrowed and taken at once.
    let descr = unsafe {
        let tp = ffi::type_of(obj.as_ptr());
        let found = ffi::type_lookup(tp, registry.names.sizeof.as_ptr());
        if found.is_null() {
            return None;
        }
        Bound::from_borrowed_ptr(py, found)
    };
    // SAFETY: `obj` is held strongly.
    let bound_obj = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
    let method = match descr.get_type().getattr("__get__") {
        Ok(_) => descr.call_method1("__get__", (&bound_obj, bound_obj.get_type())).ok()?,
        Err(_) => descr,
    };
    let result = method.call0().ok()?;
    // SAFETY: `result` is a live object.
    if unsafe { pyffi::PyLong_Check(result.as_ptr()) } == 0 {
        return None;
    }
    let size: isize = result.extract().ok()?;
    usize::try_from(size).ok()
}

// The names of tree nodes live with the other names of references.
pub use crate::heap::edges::{ref_name, NamePart};
