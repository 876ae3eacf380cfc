//! Lists and tuples read in bulk, and the tables of containers located for prefetching.

use super::*;

/// Calls `each(item)` for the items of a list, last first (borrowed, NULL slots skipped).
///
/// # Safety
/// `obj` must be a live exact list, unchanged during the call (`each` runs no Python code).
#[inline(always)]
pub unsafe fn list_items_rev(obj: RawObj, mut each: impl FnMut(RawObj)) {
    // SAFETY: `obj` is a live list; its item array holds `ob_size` pointers, and cannot
    // be resized while no Python code runs.
    unsafe {
        let items = (*obj.cast::<ffi::PyListObject>()).ob_item;
        for i in (0..ffi::PyList_GET_SIZE(obj) as usize).rev() {
            let item = *items.add(i);
            if !item.is_null() {
                each(item);
            }
        }
    }
}

/// Calls `each(item)` for the items of a tuple, last first (borrowed, NULL slots skipped).
///
/// # Safety
/// `obj` must be a live tuple.
#[inline(always)]
pub unsafe fn tuple_items_rev(obj: RawObj, mut each: impl FnMut(RawObj)) {
    // SAFETY: `obj` is a live tuple of `ob_size` items, stored inline.
    unsafe {
        for i in (0..ffi::PyTuple_GET_SIZE(obj) as usize).rev() {
            let item = ffi::PyTuple_GET_ITEM(obj, i as isize);
            if !item.is_null() {
                each(item);
            }
        }
    }
}

/// Bytes before the first entry of a small dict's keys table (header and index array),
/// and per entry: 3.11+ tables with only str keys store (key, value) pairs after a
/// 32-byte header; older ones (hash, key, value) after a larger header.
#[cfg(Py_3_11)]
const KEYS_HEAD_ESTIMATE: usize = 40;
#[cfg(Py_3_11)]
const ENTRY_ESTIMATE: usize = 16;
#[cfg(not(Py_3_11))]
const KEYS_HEAD_ESTIMATE: usize = 48;
#[cfg(not(Py_3_11))]
const ENTRY_ESTIMATE: usize = 24;

/// The table an exact dict or list points to, and about how many of its bytes a walk
/// reads: a dict's keys header, indices and used entries (estimated from its item
/// count), a list's used item pointers. `None` for other objects.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn interior_table(obj: RawObj) -> Option<(*const u8, usize)> {
    // SAFETY: `obj` is alive; each layout is read for its exact type only, and only the
    // pointers and counts stored in the object are read.
    unsafe {
        if ffi::PyDict_CheckExact(obj) != 0 {
            let dict = obj.cast::<ffi::PyDictObject>();
            Some(((*dict).ma_keys.cast_const().cast(), KEYS_HEAD_ESTIMATE + (*dict).ma_used as usize * ENTRY_ESTIMATE))
        } else if ffi::PyList_CheckExact(obj) != 0 {
            let items = (*obj.cast::<ffi::PyListObject>()).ob_item;
            Some((items.cast_const().cast(), ffi::PyList_GET_SIZE(obj) as usize * PTR))
        } else {
            None
        }
    }
}
