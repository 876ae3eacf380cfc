//! `__sizeof__` of the builtin types computed from their fields (str, int, list, set,
//! bytearray, object), and the items of lists, tuples and sets read in place.

use super::*;

/// `str.__sizeof__` for compact strings (all strings made by Python code); `None` for
/// legacy, non-compact strings, whose size the caller must ask `__sizeof__` for, and
/// where the layout did not pass its check ([`Layout::Str`]).
///
/// # Safety
/// `obj` must be a live `str` (or subclass instance).
#[inline]
pub unsafe fn str_sizeof(obj: RawObj) -> Option<usize> {
    if !layout_or_fallback(Layout::Str) {
        return None;
    }
    // SAFETY: forwarded caller guarantee.
    unsafe { str_sizeof_unchecked(obj) }
}

/// The bits of `PyASCIIObject.state` (`interned:2, kind:3, compact:1, ascii:1` from the
/// least significant bit on 3.9 to 3.15, the order C compilers give bit-fields on
/// little-endian targets, and from the most significant one on big-endian targets).
/// PyO3 gives the field as a plain `u32` from 3.14 on; the check at import
/// ([`check_layouts`]) confirms the decoding on the running interpreter.
#[inline(always)]
fn str_state(state: u32) -> (bool, bool, usize) {
    let bit = |lsb_index: u32, width: u32| -> u32 {
        let shift = if cfg!(target_endian = "big") { 32 - lsb_index - width } else { lsb_index };
        (state >> shift) & ((1 << width) - 1)
    };
    (bit(5, 1) != 0, bit(6, 1) != 0, bit(2, 3) as usize)
}

/// [`str_sizeof`] without the layout check (the check itself calls this).
///
/// # Safety
/// `obj` must be a live `str` (or subclass instance).
pub(super) unsafe fn str_sizeof_unchecked(obj: RawObj) -> Option<usize> {
    let ascii_obj = obj.cast::<ffi::PyASCIIObject>();
    // SAFETY: `obj` is a live str, so its header and state bits are initialised.
    let (state, length) = unsafe { ((*ascii_obj).state, (*ascii_obj).length as usize) };
    let (compact, ascii, kind) = str_state(state);
    if !compact {
        return None;
    }
    let mut size;
    if ascii {
        size = std::mem::size_of::<ffi::PyASCIIObject>() + length + 1;
    } else {
        size = std::mem::size_of::<ffi::PyCompactUnicodeObject>() + (length + 1) * kind;
        // SAFETY: a compact non-ASCII str has the PyCompactUnicodeObject layout.
        let c = unsafe { &*obj.cast::<ffi::PyCompactUnicodeObject>() };
        // The UTF-8 copy of a non-ASCII str is always a separate buffer.
        if !c.utf8.is_null() {
            size += c.utf8_length as usize + 1;
        }
    }
    #[cfg(not(Py_3_12))]
    {
        // SAFETY: same object as above; `wstr` exists before 3.12.
        let wstr = unsafe { (*ascii_obj).wstr };
        if !wstr.is_null() {
            let header = if ascii {
                std::mem::size_of::<ffi::PyASCIIObject>()
            } else {
                std::mem::size_of::<ffi::PyCompactUnicodeObject>()
            };
            // SAFETY: compact strings keep their data right after the header.
            let data = unsafe { obj.cast::<u8>().add(header) }.cast::<c_void>();
            if wstr.cast::<c_void>() != data {
                let wlen = if ascii {
                    length
                } else {
                    // SAFETY: compact non-ASCII layout, as above.
                    unsafe { (*obj.cast::<ffi::PyCompactUnicodeObject>()).wstr_length as usize }
                };
                size += (wlen + 1) * WCHAR;
            }
        }
    }
    Some(size)
}

/// `int.__sizeof__` (also bool and int subclasses); `None` where the layout did not pass
/// its check ([`Layout::Int`]).
///
/// # Safety
/// `obj` must be a live `int`.
#[inline]
pub unsafe fn int_sizeof(obj: RawObj) -> Option<usize> {
    // SAFETY: forwarded caller guarantee.
    layout_or_fallback(Layout::Int).then(|| unsafe { int_sizeof_unchecked(obj) })
}

/// [`int_sizeof`] without the layout check.
///
/// # Safety
/// `obj` must be a live `int`.
#[inline]
pub(super) unsafe fn int_sizeof_unchecked(obj: RawObj) -> usize {
    const DIGIT: usize = 4;
    const HEADER: usize = std::mem::size_of::<ffi::PyObject>();
    const DIGITS_OFFSET: usize = HEADER + PTR;
    #[cfg(Py_3_12)]
    {
        // SAFETY: 3.12+ ints store `lv_tag` (digit count << 3) right after the object header.
        let tag = unsafe { *obj.cast::<u8>().add(HEADER).cast::<usize>() };
        DIGITS_OFFSET + (tag >> 3).max(1) * DIGIT
    }
    #[cfg(not(Py_3_12))]
    {
        // SAFETY: before 3.12 ints are var-objects whose |ob_size| is the digit count.
        let ndigits = unsafe { var_size(obj) }.unsigned_abs();
        // From 3.11 on, zero is reported with the one digit it is allocated with.
        let ndigits = if cfg!(Py_3_11) { ndigits.max(1) } else { ndigits };
        DIGITS_OFFSET + ndigits * DIGIT
    }
}

/// `ob_size` of a var-sized object (negative for negative ints before 3.12).
///
/// # Safety
/// `obj` must be a live object with the `PyVarObject` layout.
#[inline]
pub(super) unsafe fn var_size(obj: RawObj) -> isize {
    // SAFETY: see the caller requirements.
    unsafe { (*obj.cast::<ffi::PyVarObject>()).ob_size }
}

/// `list.__sizeof__`; `None` where the layout did not pass its
/// check ([`Layout::List`]).
///
/// # Safety
/// `obj` must be a live list.
#[inline]
pub unsafe fn list_sizeof(obj: RawObj) -> Option<usize> {
    // SAFETY: forwarded caller guarantee.
    layout_or_fallback(Layout::List).then(|| unsafe { list_sizeof_unchecked(obj) })
}

/// [`list_sizeof`] without the layout check.
///
/// # Safety
/// `obj` must be a live list.
pub(super) unsafe fn list_sizeof_unchecked(obj: RawObj) -> usize {
    // SAFETY: `obj` is a live list.
    unsafe { basicsize(type_of(obj)) + (*obj.cast::<ffi::PyListObject>()).allocated as usize * PTR }
}

/// `set.__sizeof__` / `frozenset.__sizeof__`; `None` where the layout did not pass its
/// check ([`Layout::Set`]).
///
/// # Safety
/// `obj` must be a live set or frozenset.
#[inline]
pub unsafe fn set_sizeof(obj: RawObj) -> Option<usize> {
    // SAFETY: forwarded caller guarantee.
    layout_or_fallback(Layout::Set).then(|| unsafe { set_sizeof_unchecked(obj) })
}

/// [`set_sizeof`] without the layout check.
///
/// # Safety
/// `obj` must be a live set or frozenset.
pub(super) unsafe fn set_sizeof_unchecked(obj: RawObj) -> usize {
    let set = obj.cast::<ffi::PySetObject>();
    // SAFETY: `obj` is a live set; the small table is embedded in it.
    unsafe {
        let mut size = basicsize(type_of(obj));
        if (*set).table != std::ptr::addr_of_mut!((*set).smalltable).cast() {
            size += ((*set).mask as usize + 1) * std::mem::size_of::<ffi::setentry>();
        }
        size
    }
}

/// `bytearray.__sizeof__`; `None` where the layout did not pass its
/// check ([`Layout::ByteArray`]).
///
/// # Safety
/// `obj` must be a live bytearray.
#[inline]
pub unsafe fn bytearray_sizeof(obj: RawObj) -> Option<usize> {
    // SAFETY: forwarded caller guarantee.
    layout_or_fallback(Layout::ByteArray).then(|| unsafe { bytearray_sizeof_unchecked(obj) })
}

/// [`bytearray_sizeof`] without the layout check.
///
/// # Safety
/// `obj` must be a live bytearray.
pub(super) unsafe fn bytearray_sizeof_unchecked(obj: RawObj) -> usize {
    // SAFETY: `obj` is a live bytearray.
    let (basic, allocated) =
        unsafe { (basicsize(type_of(obj)), (*obj.cast::<ffi::PyByteArrayObject>()).ob_alloc as usize) };
    // From 3.15 the buffer is a bytes object of `ob_alloc` bytes, counted whole (its
    // header and trailing NUL too) unless it is the empty one.
    #[cfg(Py_3_15)]
    {
        const BYTES_HEADER: usize = std::mem::size_of::<ffi::PyVarObject>() + std::mem::size_of::<isize>() + 1;
        basic + if allocated > 0 { BYTES_HEADER + allocated } else { 0 }
    }
    #[cfg(not(Py_3_15))]
    {
        basic + allocated
    }
}

/// `object.__sizeof__`: basic size plus items for var-sized types.
///
/// # Safety
/// `obj` must be alive.
pub unsafe fn object_sizeof(obj: RawObj) -> usize {
    // SAFETY: `obj` is alive, and so is its type.
    unsafe {
        let tp = type_of(obj);
        let items = itemsize(tp);
        let mut size = basicsize(tp);
        if items > 0 {
            size += var_size(obj).unsigned_abs() * items;
        }
        size
    }
}

/// Item `i` of a list, borrowed; `None` past the (current) end.
///
/// # Safety
/// `obj` must be a live list.
#[inline]
pub unsafe fn list_item(obj: RawObj, i: usize) -> Option<RawObj> {
    // SAFETY: bounds-checked against the list's current size.
    unsafe {
        if (i as isize) < ffi::PyList_GET_SIZE(obj) {
            Some(ffi::PyList_GET_ITEM(obj, i as isize))
        } else {
            None
        }
    }
}

/// Item `i` of a tuple (or tuple subclass instance), borrowed.
///
/// # Safety
/// `obj` must be a live tuple.
#[inline]
pub unsafe fn tuple_item(obj: RawObj, i: usize) -> Option<RawObj> {
    // SAFETY: bounds-checked against the tuple's size; tuple items are never NULL once built.
    unsafe {
        if (i as isize) < ffi::PyTuple_GET_SIZE(obj) {
            let item = ffi::PyTuple_GET_ITEM(obj, i as isize);
            (!item.is_null()).then_some(item)
        } else {
            None
        }
    }
}

/// The next live key of a set's hash table at or after slot `*pos`, borrowed.
///
/// # Safety
/// `obj` must be a live set or frozenset.
#[inline]
pub unsafe fn set_next(obj: RawObj, pos: &mut usize) -> Option<RawObj> {
    let set = obj.cast::<ffi::PySetObject>();
    // SAFETY: the table has `mask + 1` entries; both are re-read on every call, so a set
    // resized by Python code run in between is still read within bounds.
    unsafe {
        let mask = (*set).mask as usize;
        let table = (*set).table;
        while *pos <= mask {
            let entry = &*table.add(*pos);
            *pos += 1;
            // Deleted entries hold the dummy key with hash -1, which no live key has.
            if !entry.key.is_null() && entry.hash != -1 {
                return Some(entry.key);
            }
        }
    }
    None
}
