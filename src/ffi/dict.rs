//! Dicts read in place: the keys table of each layout (3.9/3.10 and 3.11+), `dict.__sizeof__`,
//! and the entries in iteration order.

use super::*;

#[cfg(not(Py_3_11))]
#[repr(C)]
pub(super) struct DictKeys {
    pub(super) dk_refcnt: isize,
    pub(super) dk_size: isize,
    pub(super) dk_lookup: *mut c_void,
    pub(super) dk_usable: isize,
    pub(super) dk_nentries: isize,
}

#[cfg(Py_3_11)]
#[repr(C)]
pub(super) struct DictKeys {
    pub(super) dk_refcnt: isize,
    pub(super) dk_log2_size: u8,
    pub(super) dk_log2_index_bytes: u8,
    pub(super) dk_kind: u8,
    pub(super) dk_version: u32,
    pub(super) dk_usable: isize,
    pub(super) dk_nentries: isize,
}

#[inline]
pub(super) fn usable_fraction(n: usize) -> usize {
    (n << 1) / 3
}

/// `dict.__sizeof__` (without the pre-header), from the dict's own tables; `None` where
/// the layout did not pass its check ([`Layout::Dict`]).
///
/// # Safety
/// `obj` must be a live dict (or instance of a dict subclass).
#[inline]
pub unsafe fn dict_sizeof(obj: RawObj) -> Option<usize> {
    // SAFETY: forwarded caller guarantee.
    layout_or_fallback(Layout::Dict).then(|| unsafe { dict_sizeof_unchecked(obj) })
}

/// [`dict_sizeof`] without the layout check.
///
/// # Safety
/// `obj` must be a live dict (or instance of a dict subclass).
pub(super) unsafe fn dict_sizeof_unchecked(obj: RawObj) -> usize {
    let dict = obj.cast::<ffi::PyDictObject>();
    // SAFETY: `obj` is a live dict, so its keys table is alive (possibly the shared empty one).
    let (keys, has_values, tp) =
        unsafe { ((*dict).ma_keys.cast::<DictKeys>(), !(*dict).ma_values.is_null(), type_of(obj)) };
    // SAFETY: `tp` is the live type of `obj`.
    let mut size = unsafe { basicsize(tp) };
    // SAFETY: `keys` points at the dict's live keys object.
    let keys = unsafe { &*keys };
    #[cfg(not(Py_3_11))]
    {
        let slots = keys.dk_size as usize;
        let usable = usable_fraction(slots);
        if has_values {
            size += usable * PTR;
        }
        if keys.dk_refcnt == 1 {
            let index_bytes = match slots {
                0..=0xff => 1,
                0x100..=0xffff => 2,
                0x1_0000..=0xffff_ffff => 4,
                _ => 8,
            };
            size += std::mem::size_of::<DictKeys>() + index_bytes * slots + 3 * PTR * usable;
        }
    }
    #[cfg(Py_3_11)]
    {
        if has_values {
            size += shared_keys_usable(keys) * PTR;
        }
        if keys.dk_refcnt == 1 {
            size += keys_size(keys);
        }
    }
    size
}

#[cfg(Py_3_11)]
#[inline]
pub(super) fn shared_keys_usable(keys: &DictKeys) -> usize {
    (keys.dk_nentries + keys.dk_usable) as usize
}

#[cfg(Py_3_11)]
pub(super) fn keys_size(keys: &DictKeys) -> usize {
    const GENERAL: u8 = 0;
    let entry = if keys.dk_kind == GENERAL { 3 * PTR } else { 2 * PTR };
    std::mem::size_of::<DictKeys>()
        + (1usize << keys.dk_log2_index_bytes)
        + usable_fraction(1usize << keys.dk_log2_size) * entry
}

/// Entry `*index` (or the next live one after it) of a dict with a combined table, both
/// borrowed; advances `*index`. `Err(())` when the dict has a split table, whose order
/// only [`dict_next`] knows, and where the layout did not pass its check.
///
/// # Safety
/// `obj` must be a live dict.
#[inline]
pub unsafe fn dict_entry(obj: RawObj, index: &mut usize) -> Result<Option<(RawObj, RawObj)>, ()> {
    if !layout_or_fallback(Layout::Dict) {
        return Err(());
    }
    // SAFETY: forwarded caller guarantee.
    unsafe { dict_entry_unchecked(obj, index) }
}

/// [`dict_entry`] without the layout check.
///
/// # Safety
/// `obj` must be a live dict.
#[inline]
pub(super) unsafe fn dict_entry_unchecked(obj: RawObj, index: &mut usize) -> Result<Option<(RawObj, RawObj)>, ()> {
    let dict = obj.cast::<ffi::PyDictObject>();
    // SAFETY: `obj` is a live dict; its keys object and entries are re-read on every call
    // and `index` is bounds-checked against the current number of entries.
    unsafe {
        if !(*dict).ma_values.is_null() {
            return Err(());
        }
        let keys = (*dict).ma_keys.cast::<DictKeys>();
        let count = (*keys).dk_nentries as usize;
        let (entries, width, key_at) = entry_layout(&*keys);
        while *index < count {
            let entry = entries.add(*index * width);
            *index += 1;
            let value = *entry.add(key_at + 1);
            if !value.is_null() {
                return Ok(Some((*entry.add(key_at), value)));
            }
        }
        Ok(None)
    }
}

/// Calls `each(key, value)` for the live entries of a dict with a combined table, last
/// entry first (both borrowed); `false`, calling nothing, for a split table and where
/// the layout did not pass its check. One read of the table layout for the whole dict,
/// where [`dict_entry`] reads it per entry.
///
/// # Safety
/// `obj` must be a live dict, unchanged during the call (`each` runs no Python code).
#[inline]
pub unsafe fn dict_entries_rev(obj: RawObj, each: impl FnMut(RawObj, RawObj)) -> bool {
    // SAFETY: forwarded caller guarantee.
    layout_or_fallback(Layout::Dict) && unsafe { dict_entries_rev_unchecked(obj, each) }
}

/// [`dict_entries_rev`] without the layout check.
///
/// # Safety
/// `obj` must be a live dict, unchanged during the call (`each` runs no Python code).
#[inline]
pub(super) unsafe fn dict_entries_rev_unchecked(obj: RawObj, mut each: impl FnMut(RawObj, RawObj)) -> bool {
    let dict = obj.cast::<ffi::PyDictObject>();
    // SAFETY: `obj` is a live dict; entries below `dk_nentries` lie inside its keys
    // object, which cannot change while no Python code runs.
    unsafe {
        if !(*dict).ma_values.is_null() {
            return false;
        }
        let keys = (*dict).ma_keys.cast::<DictKeys>();
        let count = (*keys).dk_nentries as usize;
        let (entries, width, key_at) = entry_layout(&*keys);
        for index in (0..count).rev() {
            let entry = entries.add(index * width);
            let value = *entry.add(key_at + 1);
            if !value.is_null() {
                each(*entry.add(key_at), value);
            }
        }
        true
    }
}

/// Start of a keys object's entries, their width in pointers, and the key's position.
#[inline]
fn entry_layout(keys: &DictKeys) -> (*const RawObj, usize, usize) {
    let base = (keys as *const DictKeys).cast::<u8>();
    #[cfg(not(Py_3_11))]
    {
        let slots = keys.dk_size as usize;
        let index_bytes = match slots {
            0..=0xff => 1,
            0x100..=0xffff => 2,
            0x1_0000..=0xffff_ffff => 4,
            _ => 8,
        };
        // SAFETY: entries follow the index array inside the keys allocation.
        let entries = unsafe { base.add(std::mem::size_of::<DictKeys>() + slots * index_bytes) };
        (entries.cast(), 3, 1)
    }
    #[cfg(Py_3_11)]
    {
        // SAFETY: entries follow the index array inside the keys allocation.
        let entries = unsafe { base.add(std::mem::size_of::<DictKeys>() + (1usize << keys.dk_log2_index_bytes)) };
        // Tables with only str keys store (key, value); others (hash, key, value).
        if keys.dk_kind == 0 {
            (entries.cast(), 3, 1)
        } else {
            (entries.cast(), 2, 0)
        }
    }
}

/// Next `(key, value)` of a dict in iteration order, both borrowed.
///
/// # Safety
/// `obj` must be a live dict; `pos` starts at 0 and is only advanced by this function.
#[inline]
pub unsafe fn dict_next(obj: RawObj, pos: &mut isize) -> Option<(RawObj, RawObj)> {
    let mut key = std::ptr::null_mut();
    let mut value = std::ptr::null_mut();
    // SAFETY: `obj` is a live dict; PyDict_Next bounds-checks `pos` against the current table.
    if unsafe { ffi::PyDict_Next(obj, pos, &mut key, &mut value) } != 0 {
        Some((key, value))
    } else {
        None
    }
}
