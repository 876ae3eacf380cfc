//! numpy's array struct (`PyArrayObject_fields`), read directly once its layout has been
//! checked against what the array's Python attributes say. The fields read here (`nd`,
//! `base`, `descr`, and the descriptor's `kind`) have the same place in numpy 1 and 2:
//!
//! ```text
//! PyObject_HEAD; char *data; int nd; npy_intp *dimensions; npy_intp *strides;
//! PyObject *base; PyArray_Descr *descr; int flags; ...
//! PyArray_Descr: PyObject_HEAD; PyTypeObject *typeobj; char kind; char type; ...
//! ```
//!
//! The descriptor's item size moved in numpy 2 (`int elsize` after `int type_num` in
//! numpy 1, `npy_intp elsize` after a 64-bit `flags` in numpy 2): [`layout_matches`]
//! finds which one a running numpy has by comparing both with `dtype.itemsize`, and
//! the size formula with `__sizeof__`.

use super::{RawObj, PTR};
use pyo3::prelude::*;
use std::ffi::c_int;

/// Offsets past the object header, which differs between builds (free-threading).
const HEAD: usize = std::mem::size_of::<pyo3::ffi::PyObject>();
const DATA: usize = HEAD;
const ND: usize = HEAD + PTR;
const STRIDES: usize = HEAD + 3 * PTR;
const BASE: usize = HEAD + 4 * PTR;
const DIMENSIONS: usize = HEAD + 2 * PTR;
const DESCR: usize = HEAD + 5 * PTR;
const FLAGS: usize = HEAD + 6 * PTR;
const DESCR_KIND: usize = HEAD + PTR;
const ELSIZE_1: usize = HEAD + PTR + 8;
const ELSIZE_2: usize = HEAD + PTR + 16;
const OWNDATA: c_int = 0x0004;

/// Where the running numpy keeps a descriptor's item size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elsize {
    /// numpy 1: an `int`.
    Int,
    /// numpy 2: an `npy_intp`.
    Intp,
}

/// Reads a field of type `T` at `offset` bytes into `obj`.
///
/// # Safety
/// `obj` must be a live numpy array whose layout [`layout_matches`] confirmed (for its
/// type), so that `offset` lies inside it and is aligned for `T`.
unsafe fn field<T: Copy>(obj: RawObj, offset: usize) -> T {
    // SAFETY: forwarded caller guarantee.
    unsafe { obj.cast::<u8>().add(offset).cast::<T>().read() }
}

/// The array's `base` as Python sees it (`None` for none), borrowed from the array (or
/// `None`, which lives as long as the interpreter).
///
/// # Safety
/// As for [`field`].
#[inline]
pub unsafe fn array_base(obj: RawObj) -> RawObj {
    // SAFETY: forwarded caller guarantee.
    let base = unsafe { field::<RawObj>(obj, BASE) };
    if base.is_null() {
        // SAFETY: `Py_None` is a static object of the interpreter.
        unsafe { pyo3::ffi::Py_None() }
    } else {
        base
    }
}

/// The `kind` character of the array's dtype (`b'O'` for objects).
///
/// # Safety
/// As for [`field`].
#[inline]
pub unsafe fn array_kind(obj: RawObj) -> u8 {
    // SAFETY: forwarded caller guarantee; `descr` is never null for a live array, and
    // the array holds a reference to it.
    unsafe {
        let descr = field::<RawObj>(obj, DESCR);
        field::<u8>(descr, DESCR_KIND)
    }
}

/// What `ndarray.__sizeof__` returns: the struct, its shape and strides, and the data
/// when the array owns it. `None` if a product overflows.
///
/// # Safety
/// As for [`field`], with `elsize` found by [`layout_matches`].
#[inline]
pub unsafe fn array_sizeof(obj: RawObj, elsize: Elsize) -> Option<usize> {
    // SAFETY: forwarded caller guarantee: the dimensions hold `nd` entries, and the
    // descriptor is alive with the array.
    unsafe {
        let nd = usize::try_from(field::<c_int>(obj, ND)).ok()?;
        let size = super::basicsize(super::type_of(obj)).checked_add(nd.checked_mul(2 * PTR)?)?;
        if field::<c_int>(obj, FLAGS) & OWNDATA == 0 {
            return Some(size);
        }
        let descr = field::<RawObj>(obj, DESCR);
        let item = match elsize {
            Elsize::Int => usize::try_from(field::<c_int>(descr, ELSIZE_1)).ok()?,
            Elsize::Intp => usize::try_from(field::<isize>(descr, ELSIZE_2)).ok()?,
        };
        let dims = field::<*const isize>(obj, DIMENSIONS);
        let mut bytes = item;
        for i in 0..nd {
            bytes = bytes.checked_mul(usize::try_from(dims.add(i).read()).ok()?)?;
        }
        size.checked_add(bytes)
    }
}

/// How many items the array has (the product of its dimensions); `None` on overflow.
///
/// # Safety
/// As for [`field`].
#[inline]
pub unsafe fn array_len(obj: RawObj) -> Option<usize> {
    // SAFETY: forwarded caller guarantee: the dimensions hold `nd` entries.
    unsafe {
        let nd = usize::try_from(field::<c_int>(obj, ND)).ok()?;
        let dims = field::<*const isize>(obj, DIMENSIONS);
        let mut count = 1usize;
        for axis in 0..nd {
            count = count.checked_mul(usize::try_from(dims.add(axis).read()).ok()?)?;
        }
        Some(count)
    }
}

/// Item `index` of an object array in C order (as `flat` gives them), borrowed from the
/// array; `None` past the end. An empty slot (null, which numpy shows as `None`) is
/// `None`'s object. Every field is read again at each call, so that a resized array is
/// read within its new bounds.
///
/// # Safety
/// As for [`field`], for an array whose dtype kind is `O`.
#[inline]
pub unsafe fn array_object_item(obj: RawObj, index: usize) -> Option<RawObj> {
    // SAFETY: forwarded caller guarantee: `dimensions` and `strides` hold `nd` entries,
    // and every index within the dimensions, through the strides, lands on an item of
    // the data buffer (numpy's invariant), which holds object pointers.
    unsafe {
        let nd = usize::try_from(field::<c_int>(obj, ND)).ok()?;
        let dims = field::<*const isize>(obj, DIMENSIONS);
        let strides = field::<*const isize>(obj, STRIDES);
        let mut rest = index;
        let mut offset = 0isize;
        for axis in (0..nd).rev() {
            let dim = usize::try_from(dims.add(axis).read()).ok()?;
            if dim == 0 {
                return None;
            }
            let at = isize::try_from(rest % dim).ok()?;
            rest /= dim;
            offset = offset.checked_add(at.checked_mul(strides.add(axis).read())?)?;
        }
        if rest != 0 {
            return None;
        }
        let item = field::<*const u8>(obj, DATA).offset(offset).cast::<RawObj>().read_unaligned();
        Some(if item.is_null() { pyo3::ffi::Py_None() } else { item })
    }
}

/// What [`layout_matches`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrayLayout {
    /// The fields are not where this module reads them: use the Python attributes.
    Unknown,
    /// `base`, `nd` and `descr` are; the size formula is not confirmed.
    Fields,
    /// The fields are, and [`array_sizeof`] with this item size gives `__sizeof__`.
    Sized(Elsize),
}

/// Whether `array`'s struct has the fields where this module reads them: its `ndim`,
/// `base`, `dtype` and `dtype.kind` as Python reports them must be what the struct
/// holds, and for the size formula `dtype.itemsize` and `__sizeof__()` too. Checked once
/// per array type and call. An `Exception` reading an attribute gives
/// [`ArrayLayout::Unknown`]; other errors propagate.
pub fn array_layout(array: &Bound<'_, PyAny>) -> PyResult<ArrayLayout> {
    if !super::layout_or_fallback(super::Layout::NumpyArray) {
        return Ok(ArrayLayout::Unknown);
    }
    if !layout_matches(array)? {
        super::count_fallback(super::Layout::NumpyArray);
        return Ok(ArrayLayout::Unknown);
    }
    let py = array.py();
    let lenient = |value: PyResult<isize>| match value {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_instance_of::<pyo3::exceptions::PyException>(py) => Ok(None),
        Err(error) => Err(error),
    };
    let itemsize = lenient(array.getattr("dtype").and_then(|d| d.getattr("itemsize")).and_then(|v| v.extract()))?;
    let sizeof = lenient(array.call_method0("__sizeof__").and_then(|v| v.extract()))?;
    let (Some(itemsize), Some(sizeof)) = (itemsize, sizeof) else { return Ok(ArrayLayout::Fields) };
    if itemsize <= 0 {
        return Ok(ArrayLayout::Fields);
    }
    let ptr = array.as_ptr();
    // SAFETY: `layout_matches` confirmed the array's fields, so `descr` is the live
    // dtype; both item-size candidates lie inside every descriptor (numpy 1's and 2's
    // structs are longer than either offset) and are aligned.
    let (as_int, as_intp) = unsafe {
        let descr = field::<RawObj>(ptr, DESCR);
        (field::<c_int>(descr, ELSIZE_1) as isize, field::<isize>(descr, ELSIZE_2))
    };
    let elsize = match (as_int == itemsize, as_intp == itemsize) {
        (true, false) => Elsize::Int,
        (false, true) => Elsize::Intp,
        _ => return Ok(ArrayLayout::Fields),
    };
    // SAFETY: as above, with the item size just found.
    let formula = unsafe { array_sizeof(ptr, elsize) };
    Ok(if formula == usize::try_from(sizeof).ok() { ArrayLayout::Sized(elsize) } else { ArrayLayout::Fields })
}

fn layout_matches(array: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = array.py();
    let read = |name: &str| match array.getattr(name) {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_instance_of::<pyo3::exceptions::PyException>(py) => Ok(None),
        Err(error) => Err(error),
    };
    let (Some(ndim), Some(base), Some(dtype), Some(strides), Some(interface)) =
        (read("ndim")?, read("base")?, read("dtype")?, read("strides")?, read("__array_interface__")?)
    else {
        return Ok(false);
    };
    let Ok(ndim) = ndim.extract::<c_int>() else { return Ok(false) };
    let Ok(strides) = strides.extract::<Vec<isize>>() else { return Ok(false) };
    let data = interface.get_item("data").and_then(|data| data.get_item(0)).and_then(|address| address.extract());
    let Ok(data) = data else { return Ok(false) };
    let data: usize = data;
    let Ok(kind) = dtype.getattr("kind").and_then(|k| k.extract::<String>()) else { return Ok(false) };
    let kind = kind.as_bytes();
    let ptr = array.as_ptr();
    // The struct is at least as large as the fields read (checked before reading).
    // SAFETY: `ptr` is a live object; its type is alive with it.
    let basicsize = unsafe { super::basicsize(super::type_of(ptr)) };
    if basicsize < DESCR + PTR || kind.len() != 1 {
        return Ok(false);
    }
    // SAFETY: the reads lie inside the object (its basic size covers them) and are
    // aligned (an object is pointer-aligned; every offset is a multiple of its field's
    // size). The descriptor is read only once it is known to be `dtype` itself.
    unsafe {
        // `array_base` gives `None` for a null field, as Python does.
        let base_matches = array_base(ptr) == base.as_ptr();
        if !(base_matches && field::<c_int>(ptr, ND) == ndim && field::<RawObj>(ptr, DESCR) == dtype.as_ptr()) {
            return Ok(false);
        }
        // `nd` is now known to be `ndim`, so the strides hold that many entries.
        let ours = field::<*const isize>(ptr, STRIDES);
        let strides_match = strides.len() == ndim as usize
            && strides.iter().enumerate().all(|(axis, &stride)| ours.add(axis).read() == stride);
        Ok(strides_match && field::<usize>(ptr, DATA) == data && array_kind(ptr) == kind[0])
    }
}
