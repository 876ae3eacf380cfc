//! Every raw CPython access of the crate lives here: object layouts that differ between
//! interpreter versions, the `__sizeof__` formulas of the builtin types, and a strong
//! reference type. The rest of the crate works with [`Strong`] and the safe-looking
//! helpers below, each of which documents what its caller must guarantee.
//!
//! All functions require the GIL to be held. Layouts are selected at compile time with
//! the `Py_3_x` cfgs that `pyo3-build-config` sets for the interpreter being built for.

use pyo3::ffi;
use std::ffi::{c_int, c_void};
use std::ptr::NonNull;

pub type RawObj = *mut ffi::PyObject;
pub type RawType = *mut ffi::PyTypeObject;

const PTR: usize = std::mem::size_of::<*mut c_void>();
#[cfg(not(Py_3_12))]
const WCHAR: usize = if cfg!(windows) { 2 } else { 4 };
/// `sizeof(PyGC_Head)`: two pointers on every supported version.
pub const GC_HEAD: usize = 2 * PTR;

const TPFLAGS_HEAPTYPE: u64 = 1 << 9;
const TPFLAGS_HAVE_GC: u64 = 1 << 14;
#[cfg(Py_3_11)]
const TPFLAGS_MANAGED_DICT: u64 = 1 << 4;
#[cfg(Py_3_12)]
const TPFLAGS_MANAGED_WEAKREF: u64 = 1 << 3;
#[cfg(Py_3_13)]
const TPFLAGS_INLINE_VALUES: u64 = 1 << 2;

extern "C" {
    // Exported by every supported CPython (cpython/object.h); a pure MRO lookup that
    // returns a borrowed reference and runs no Python code for str names.
    fn _PyType_Lookup(tp: RawType, name: RawObj) -> RawObj;
}

/// An owned (strong) reference, released on drop. Only ever used while the GIL is held:
/// the walker never releases the GIL, and the type is `!Send` because of the raw pointer.
pub struct Strong(NonNull<ffi::PyObject>);

impl Strong {
    /// Takes a new reference to a borrowed object.
    ///
    /// # Safety
    /// `ptr` must point to a live object and the GIL must be held.
    #[inline]
    pub unsafe fn from_borrowed(ptr: RawObj) -> Strong {
        // SAFETY: the caller guarantees `ptr` is alive, so increasing its count is valid.
        unsafe { ffi::Py_INCREF(ptr) };
        // SAFETY: a live object pointer is never null.
        Strong(unsafe { NonNull::new_unchecked(ptr) })
    }

    /// Wraps a new reference returned by the C API; `None` when the call failed (NULL).
    ///
    /// # Safety
    /// `ptr` must be NULL or a new (owned) reference, and the GIL must be held.
    #[inline]
    pub unsafe fn from_owned(ptr: RawObj) -> Option<Strong> {
        NonNull::new(ptr).map(Strong)
    }

    #[inline]
    pub fn as_ptr(&self) -> RawObj {
        self.0.as_ptr()
    }

    /// The object's reference count; 1 means this handle is the only owner.
    #[inline]
    pub fn refcount(&self) -> isize {
        // SAFETY: we own a reference, so the object is alive.
        unsafe { ffi::Py_REFCNT(self.as_ptr()) }
    }
}

impl Clone for Strong {
    fn clone(&self) -> Self {
        // SAFETY: `self` owns a reference, so the object is alive.
        unsafe { Strong::from_borrowed(self.as_ptr()) }
    }
}

impl Drop for Strong {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own exactly one reference and hold the GIL (see the type's docs).
        unsafe { ffi::Py_DECREF(self.0.as_ptr()) }
    }
}

/// The type of a live object.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn type_of(obj: RawObj) -> RawType {
    // SAFETY: the caller guarantees `obj` is alive; every object has a valid ob_type.
    unsafe { ffi::Py_TYPE(obj) }
}

/// `tp_flags` of a type.
///
/// # Safety
/// `tp` must be a live type object.
#[inline]
#[allow(clippy::unnecessary_cast)] // `tp_flags` is a u32 on some platforms
pub unsafe fn type_flags(tp: RawType) -> u64 {
    // SAFETY: the caller guarantees `tp` is a live type.
    unsafe { (*tp).tp_flags as u64 }
}

/// # Safety
/// `tp` must be a live type object.
#[inline]
pub unsafe fn basicsize(tp: RawType) -> usize {
    // SAFETY: the caller guarantees `tp` is a live type.
    unsafe { (*tp).tp_basicsize as usize }
}

/// # Safety
/// `tp` must be a live type object.
#[inline]
pub unsafe fn itemsize(tp: RawType) -> usize {
    // SAFETY: the caller guarantees `tp` is a live type.
    unsafe { (*tp).tp_itemsize as usize }
}

/// # Safety
/// `tp` must be a live type object.
#[inline]
pub unsafe fn has_gc(tp: RawType) -> bool {
    // SAFETY: forwarded caller guarantee.
    unsafe { type_flags(tp) & TPFLAGS_HAVE_GC != 0 }
}

/// # Safety
/// `tp` must be a live type object.
#[inline]
pub unsafe fn is_heap_type(tp: RawType) -> bool {
    // SAFETY: forwarded caller guarantee.
    unsafe { type_flags(tp) & TPFLAGS_HEAPTYPE != 0 }
}

/// Whether the type can be called (`callable(obj)` for its instances).
///
/// # Safety
/// `tp` must be a live type object.
#[inline]
pub unsafe fn is_callable_type(tp: RawType) -> bool {
    // SAFETY: the caller guarantees `tp` is a live type.
    unsafe { (*tp).tp_call.is_some() }
}

/// Looks `name` up along the MRO of `tp` without running Python code; borrowed result.
///
/// # Safety
/// `tp` must be a live type whose MRO is ready, `name` a live `str`.
#[inline]
pub unsafe fn type_lookup(tp: RawType, name: RawObj) -> RawObj {
    // SAFETY: see the caller requirements; `_PyType_Lookup` does not raise.
    unsafe { _PyType_Lookup(tp, name) }
}

/// The pre-header every instance of `tp` has (see [`pre_header`]), or `None` when it
/// depends on the object (type objects, and types with a `tp_is_gc` before 3.11).
///
/// # Safety
/// `tp` must be a live type object.
pub unsafe fn type_pre_header(tp: RawType) -> Option<usize> {
    // SAFETY: `tp` is alive.
    let flags = unsafe { type_flags(tp) };
    let gc = if flags & TPFLAGS_HAVE_GC != 0 { GC_HEAD } else { 0 };
    #[cfg(not(Py_3_11))]
    {
        // SAFETY: `tp` is alive.
        if gc != 0 && unsafe { (*tp).tp_is_gc }.is_some() {
            return None;
        }
        Some(gc)
    }
    #[cfg(Py_3_11)]
    {
        // SAFETY: `tp` is alive; `PyType_Type` is the static metatype.
        if unsafe { ffi::PyType_IsSubtype(tp, std::ptr::addr_of_mut!(ffi::PyType_Type)) } != 0 {
            return None;
        }
        #[cfg(Py_3_12)]
        let managed = TPFLAGS_MANAGED_DICT | TPFLAGS_MANAGED_WEAKREF;
        #[cfg(not(Py_3_12))]
        let managed = TPFLAGS_MANAGED_DICT;
        Some(gc + if flags & managed != 0 { 2 * PTR } else { 0 })
    }
}

/// The bytes `sys.getsizeof` adds to `__sizeof__`: the GC header and, on 3.11+, the
/// managed dict / weakref pre-header.
///
/// # Safety
/// `obj` must be alive.
pub unsafe fn pre_header(obj: RawObj) -> usize {
    // SAFETY: the caller guarantees `obj` is alive.
    let tp = unsafe { type_of(obj) };
    // SAFETY: `tp` is the live type of a live object.
    let flags = unsafe { type_flags(tp) };
    #[cfg(not(Py_3_11))]
    {
        if flags & TPFLAGS_HAVE_GC == 0 {
            return 0;
        }
        // SAFETY: `tp` is alive; `tp_is_gc` takes the object it was looked up for.
        match unsafe { (*tp).tp_is_gc } {
            Some(is_gc) if unsafe { is_gc(obj) } == 0 => 0,
            _ => GC_HEAD,
        }
    }
    #[cfg(Py_3_11)]
    {
        // From 3.13 on, sys.getsizeof leaves out the pre-header of static type objects
        // (which are not heap allocated); 3.11 and 3.12 still add it.
        // SAFETY: `obj` is alive; when it is a type, it is a live type object.
        #[cfg(Py_3_13)]
        if unsafe { ffi::PyType_CheckExact(obj) } != 0 && unsafe { !is_heap_type(obj.cast()) } {
            return 0;
        }
        let mut size = if flags & TPFLAGS_HAVE_GC != 0 { GC_HEAD } else { 0 };
        #[cfg(Py_3_12)]
        let managed = TPFLAGS_MANAGED_DICT | TPFLAGS_MANAGED_WEAKREF;
        #[cfg(not(Py_3_12))]
        let managed = TPFLAGS_MANAGED_DICT;
        if flags & managed != 0 {
            size += 2 * PTR;
        }
        size
    }
}

// ---------------------------------------------------------------------------------------
// dict

#[cfg(not(Py_3_11))]
#[repr(C)]
struct DictKeys {
    dk_refcnt: isize,
    dk_size: isize,
    dk_lookup: *mut c_void,
    dk_usable: isize,
    dk_nentries: isize,
}

#[cfg(Py_3_11)]
#[repr(C)]
struct DictKeys {
    dk_refcnt: isize,
    dk_log2_size: u8,
    dk_log2_index_bytes: u8,
    dk_kind: u8,
    dk_version: u32,
    dk_usable: isize,
    dk_nentries: isize,
}

#[inline]
fn usable_fraction(n: usize) -> usize {
    (n << 1) / 3
}

/// `dict.__sizeof__` (without the pre-header), from the dict's own tables.
///
/// # Safety
/// `obj` must be a live dict (or instance of a dict subclass).
pub unsafe fn dict_sizeof(obj: RawObj) -> usize {
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
fn shared_keys_usable(keys: &DictKeys) -> usize {
    (keys.dk_nentries + keys.dk_usable) as usize
}

#[cfg(Py_3_11)]
fn keys_size(keys: &DictKeys) -> usize {
    const GENERAL: u8 = 0;
    let entry = if keys.dk_kind == GENERAL { 3 * PTR } else { 2 * PTR };
    std::mem::size_of::<DictKeys>()
        + (1usize << keys.dk_log2_index_bytes)
        + usable_fraction(1usize << keys.dk_log2_size) * entry
}

/// Entry `*index` (or the next live one after it) of a dict with a combined table, both
/// borrowed; advances `*index`. `Err(())` when the dict has a split table, whose order
/// only [`dict_next`] knows.
///
/// # Safety
/// `obj` must be a live dict.
#[inline]
pub unsafe fn dict_entry(obj: RawObj, index: &mut usize) -> Result<Option<(RawObj, RawObj)>, ()> {
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
/// entry first (both borrowed); `false`, calling nothing, for a split table. One read
/// of the table layout for the whole dict, where [`dict_entry`] reads it per entry.
///
/// # Safety
/// `obj` must be a live dict, unchanged during the call (`each` runs no Python code).
#[inline]
pub unsafe fn dict_entries_rev(obj: RawObj, mut each: impl FnMut(RawObj, RawObj)) -> bool {
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

// ---------------------------------------------------------------------------------------
// str, int, list, set, bytearray, generic objects

/// `str.__sizeof__` for compact strings (all strings made by Python code); `None` for
/// legacy, non-compact strings, whose size the caller must ask `__sizeof__` for.
///
/// # Safety
/// `obj` must be a live `str` (or subclass instance).
pub unsafe fn str_sizeof(obj: RawObj) -> Option<usize> {
    let ascii_obj = obj.cast::<ffi::PyASCIIObject>();
    // SAFETY: `obj` is a live str, so its header and state bits are initialised.
    let (compact, ascii, kind, length) = unsafe {
        let a = &*ascii_obj;
        (a.compact() != 0, a.ascii() != 0, a.kind() as usize, a.length as usize)
    };
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

/// `int.__sizeof__` (also bool and int subclasses).
///
/// # Safety
/// `obj` must be a live `int`.
pub unsafe fn int_sizeof(obj: RawObj) -> usize {
    const DIGIT: usize = 4;
    const DIGITS_OFFSET: usize = 3 * PTR;
    #[cfg(Py_3_12)]
    {
        // SAFETY: 3.12+ ints store `lv_tag` (digit count << 3) right after the object header.
        let tag = unsafe { *obj.cast::<u8>().add(2 * PTR).cast::<usize>() };
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
unsafe fn var_size(obj: RawObj) -> isize {
    // SAFETY: see the caller requirements.
    unsafe { (*obj.cast::<ffi::PyVarObject>()).ob_size }
}

/// `list.__sizeof__`.
///
/// # Safety
/// `obj` must be a live list.
pub unsafe fn list_sizeof(obj: RawObj) -> usize {
    // SAFETY: `obj` is a live list.
    unsafe { basicsize(type_of(obj)) + (*obj.cast::<ffi::PyListObject>()).allocated as usize * PTR }
}

/// `set.__sizeof__` / `frozenset.__sizeof__`.
///
/// # Safety
/// `obj` must be a live set or frozenset.
pub unsafe fn set_sizeof(obj: RawObj) -> usize {
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

/// `bytearray.__sizeof__`.
///
/// # Safety
/// `obj` must be a live bytearray.
pub unsafe fn bytearray_sizeof(obj: RawObj) -> usize {
    // SAFETY: `obj` is a live bytearray.
    unsafe { basicsize(type_of(obj)) + (*obj.cast::<ffi::PyByteArrayObject>()).ob_alloc as usize }
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

// ---------------------------------------------------------------------------------------
// containers' items

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

/// Whether a pointer handed to a `tp_traverse` visitor is a dead object: one with no
/// references left, which a module still lists in a free list of its own.
///
/// CPython 3.12.0-3.12.4 `_asyncio` traverses its free list of future iterators
/// (python/cpython#122695); taking a reference to one of those and dropping it frees it
/// a second time, and the next `gc.collect()` loops forever. Live objects always have a
/// reference count of at least one, so visitors skip anything at zero.
///
/// # Safety
/// `child` must point to memory a `tp_traverse` visitor received.
#[inline]
pub unsafe fn is_dead_referent(child: RawObj) -> bool {
    // SAFETY: free-listed objects keep their memory (that is what a free list is), so the
    // header of anything a traversal reports can be read.
    unsafe { ffi::Py_REFCNT(child) <= 0 }
}

/// Objects visited by the type's `tp_traverse` (what `gc.get_referents` returns), as
/// strong references.
///
/// # Safety
/// `obj` must be alive.
pub unsafe fn traverse_referents(obj: RawObj) -> Vec<Strong> {
    unsafe extern "C" fn visit(child: RawObj, arg: *mut c_void) -> c_int {
        // SAFETY: `arg` is the Vec passed below, alive for the traverse call; `child` is
        // an object the traversed object holds, alive unless it sits in a free list.
        unsafe {
            if !is_dead_referent(child) {
                (*arg.cast::<Vec<Strong>>()).push(Strong::from_borrowed(child));
            }
        }
        0
    }
    let mut out: Vec<Strong> = Vec::new();
    // SAFETY: `obj` is alive; traversal only reads it and runs no Python code. Only
    // objects the collector manages are traversed (`PyObject_IS_GC` also asks
    // `tp_is_gc`, false for static types, whose traversal is not valid).
    unsafe {
        let tp = type_of(obj);
        if ffi::PyObject_IS_GC(obj) != 0 {
            if let Some(traverse) = (*tp).tp_traverse {
                traverse(obj, visit, (&mut out as *mut Vec<Strong>).cast());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// instance attributes: __dict__, inline values, slots

/// Where an instance keeps its attributes, read without creating anything.
pub enum InstanceAttrs {
    /// No attribute storage, or storage that was never created.
    Nothing,
    /// A real `__dict__` object, borrowed from the instance.
    Dict(RawObj),
    /// Values kept without a dict object (3.11+): `count` slots of `values`, whose keys
    /// are the type's shared keys. `bytes` is the memory the values occupy outside the
    /// object's basic size.
    Values { values: *mut RawObj, count: usize, bytes: usize },
}

/// Reads an instance's attribute storage without materialising a `__dict__`.
///
/// # Safety
/// `obj` must be alive.
pub unsafe fn instance_attrs(obj: RawObj) -> InstanceAttrs {
    // SAFETY: the caller guarantees `obj` is alive.
    let tp = unsafe { type_of(obj) };
    #[cfg(Py_3_11)]
    {
        // SAFETY: `tp` is the live type of `obj`.
        if unsafe { type_flags(tp) } & TPFLAGS_MANAGED_DICT != 0 {
            // SAFETY: managed-dict types keep their storage in the pre-header.
            return unsafe { managed_attrs(obj, tp) };
        }
    }
    // SAFETY: `obj` and `tp` are alive.
    match unsafe { dict_slot(obj, tp) } {
        Some(slot) => {
            // SAFETY: `dict_slot` returned the address of the instance's dict pointer.
            let dict = unsafe { *slot };
            if dict.is_null() {
                InstanceAttrs::Nothing
            } else {
                InstanceAttrs::Dict(dict)
            }
        }
        None => InstanceAttrs::Nothing,
    }
}

/// Address of the `__dict__` pointer of a type with a `tp_dictoffset`.
///
/// # Safety
/// `obj` must be alive and `tp` its type.
unsafe fn dict_slot(obj: RawObj, tp: RawType) -> Option<*mut RawObj> {
    // SAFETY: `tp` is alive.
    let mut offset = unsafe { (*tp).tp_dictoffset };
    if offset == 0 {
        return None;
    }
    if offset < 0 {
        // Var-sized objects keep the dict after their items.
        // SAFETY: `obj` is alive; only var-sized types use a negative offset.
        let items = unsafe { var_size(obj) }.unsigned_abs();
        // SAFETY: `tp` is alive.
        let size = unsafe { basicsize(tp) + items * itemsize(tp) };
        offset += (size.div_ceil(PTR) * PTR) as isize;
    }
    // SAFETY: the offset lies within the object, as CPython computes it the same way.
    Some(unsafe { obj.cast::<u8>().offset(offset) }.cast())
}

#[cfg(Py_3_11)]
unsafe fn managed_attrs(obj: RawObj, tp: RawType) -> InstanceAttrs {
    let words = obj.cast::<usize>();
    // SAFETY: heap types with managed dicts have `ht_cached_keys`; the keys may be NULL
    // only before the first instance is made, and then there are no values to read.
    let keys = unsafe { (*tp.cast::<ffi::PyHeapTypeObject>()).ht_cached_keys.cast::<DictKeys>() };
    #[cfg(not(Py_3_12))]
    {
        // SAFETY: 3.11 keeps the values pointer 4 words and the dict 3 words before the object.
        let (values, dict) = unsafe { (*words.sub(4) as *mut RawObj, *words.sub(3) as RawObj) };
        if !dict.is_null() {
            return InstanceAttrs::Dict(dict);
        }
        if values.is_null() || keys.is_null() {
            return InstanceAttrs::Nothing;
        }
        // SAFETY: live values; their allocation stores its prefix size just before them.
        unsafe { split_values(values, &*keys) }
    }
    #[cfg(all(Py_3_12, not(Py_3_13)))]
    {
        // SAFETY: 3.12 keeps a tagged dict-or-values word 3 words before the object.
        let tagged = unsafe { *words.sub(3) };
        if tagged & 1 == 0 {
            return if tagged == 0 { InstanceAttrs::Nothing } else { InstanceAttrs::Dict(tagged as RawObj) };
        }
        if keys.is_null() {
            return InstanceAttrs::Nothing;
        }
        // SAFETY: the tag bit marks a live values array, stored as its address minus one.
        unsafe { split_values((tagged + 1) as *mut RawObj, &*keys) }
    }
    #[cfg(Py_3_13)]
    {
        // SAFETY: 3.13 keeps the managed dict pointer 3 words before the object.
        let dict = unsafe { *words.sub(3) } as RawObj;
        if !dict.is_null() {
            return InstanceAttrs::Dict(dict);
        }
        // SAFETY: `tp` is alive.
        if unsafe { type_flags(tp) } & TPFLAGS_INLINE_VALUES == 0 || keys.is_null() {
            return InstanceAttrs::Nothing;
        }
        // Inline values follow the basic size: capacity, size, embedded and valid bytes,
        // padding to a pointer, the values, then the insertion-order bytes.
        // SAFETY: objects of INLINE_VALUES types are allocated with the values after them.
        unsafe {
            let header = obj.cast::<u8>().add(basicsize(tp));
            let capacity = *header as usize;
            let valid = *header.add(3) != 0;
            if !valid {
                return InstanceAttrs::Nothing;
            }
            let count = ((*keys).dk_nentries as usize).min(capacity);
            let bytes = capacity.div_ceil(PTR) * PTR + (capacity + 1) * PTR;
            InstanceAttrs::Values { values: header.add(PTR).cast(), count, bytes }
        }
    }
}

/// Values of a split (key-sharing) table kept outside the object (3.11, 3.12).
#[cfg(all(Py_3_11, not(Py_3_13)))]
unsafe fn split_values(values: *mut RawObj, keys: &DictKeys) -> InstanceAttrs {
    // SAFETY: the allocation's prefix ends with a byte holding the prefix size.
    let prefix = unsafe { *values.cast::<u8>().sub(1) } as usize;
    InstanceAttrs::Values { values, count: keys.dk_nentries as usize, bytes: prefix + shared_keys_usable(keys) * PTR }
}

/// Key `i` of the shared keys of a managed-dict type (3.11+), borrowed.
///
/// # Safety
/// `tp` must be the live heap type whose instance's values are being read, and `i`
/// below the `count` that [`instance_attrs`] returned.
#[cfg(Py_3_11)]
pub unsafe fn shared_key(tp: RawType, i: usize) -> Option<RawObj> {
    // SAFETY: see the caller requirements; shared keys are str-keyed ("unicode") tables
    // whose entries follow the index array and are (key, value) pointer pairs.
    unsafe {
        let keys = (*tp.cast::<ffi::PyHeapTypeObject>()).ht_cached_keys.cast::<DictKeys>();
        if keys.is_null() || i >= (*keys).dk_nentries as usize {
            return None;
        }
        let entries = keys
            .cast::<u8>()
            .add(std::mem::size_of::<DictKeys>() + (1usize << (*keys).dk_log2_index_bytes))
            .cast::<[RawObj; 2]>();
        let key = (*entries.add(i))[0];
        (!key.is_null()).then_some(key)
    }
}

/// Before 3.11 instance values always live in a real dict.
///
/// # Safety
/// Never reads memory.
#[cfg(not(Py_3_11))]
pub unsafe fn shared_key(_tp: RawType, _i: usize) -> Option<RawObj> {
    None
}

/// Value `i` of a values array, borrowed (NULL for an unset attribute).
///
/// # Safety
/// `values` and `i` must come from a fresh [`instance_attrs`] result.
#[inline]
pub unsafe fn value_at(values: *mut RawObj, i: usize) -> RawObj {
    // SAFETY: see the caller requirements.
    unsafe { *values.add(i) }
}

/// The object stored in a `__slots__` member at `offset`, borrowed (NULL if unset).
///
/// # Safety
/// `offset` must come from a member descriptor of `obj`'s type (or a base type).
#[inline]
pub unsafe fn slot_value(obj: RawObj, offset: usize) -> RawObj {
    // SAFETY: member offsets lie within the object's basic size.
    unsafe { *obj.cast::<u8>().add(offset).cast::<RawObj>() }
}

/// If `descr` is a member descriptor for an object slot (`__slots__` entry), its offset.
///
/// # Safety
/// `descr` must be alive.
pub unsafe fn object_member_offset(descr: RawObj) -> Option<usize> {
    const T_OBJECT: c_int = 6;
    const T_OBJECT_EX: c_int = 16;
    // SAFETY: `descr` is alive; a member descriptor has the PyMemberDescrObject layout.
    unsafe {
        if type_of(descr) != std::ptr::addr_of_mut!(ffi::PyMemberDescr_Type) {
            return None;
        }
        // (PyO3 declares the field with another pointee type on some versions.)
        let member = (*descr.cast::<ffi::PyMemberDescrObject>()).d_member.cast::<ffi::PyMemberDef>();
        if member.is_null() {
            return None;
        }
        let kind = (*member).type_code;
        (kind == T_OBJECT || kind == T_OBJECT_EX).then_some((*member).offset as usize)
    }
}

/// Asks the CPU to start loading the cache line at `obj`: the walks are bound by memory
/// latency, and know which objects they will read next.
#[inline(always)]
pub fn prefetch(obj: RawObj) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(obj.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = obj;
}

/// The object's address: the identity used for "seen" bookkeeping (like `id()`).
#[inline]
pub fn address(obj: RawObj) -> usize {
    obj as usize
}

// ---------------------------------------------------------------------------------------
// referrer index (used by `referrers`)

/// Whether `obj` takes part in garbage collection (`gc.is_tracked` aside): its type has
/// the GC flag and, for types that decide per object (type objects), the object says so.
/// Only such objects may be traversed: `tp_traverse` of a static type is a fatal error.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_gc_object(obj: RawObj) -> bool {
    // `PyObject_IS_GC` inlined: it is asked of every referent in a heap pass, and the
    // call through the library costs more than the test.
    // SAFETY: `obj` is alive; only its type (and, through `tp_is_gc`, the object) is read.
    unsafe {
        let tp = type_of(obj);
        has_gc(tp) && (*tp).tp_is_gc.map_or(true, |is_gc| is_gc(obj) != 0)
    }
}

/// Calls `each` with every object the type's `tp_traverse` visits from `obj` (what
/// `gc.get_referents` returns), as *borrowed* pointers. They stay valid only until
/// Python code runs or `obj` changes: `each` must not run Python code, and callers that
/// keep a pointer past the walk take a strong reference first. Does nothing for objects
/// that are not [`is_gc_object`]. Dead objects may be among them (see
/// [`is_dead_referent`]): the visitor reads no object header, so that the caller can do
/// so when it has to (and when the header was prefetched); any referent that is kept,
/// referenced or traversed must be checked first.
///
/// # Safety
/// `obj` must be alive.
pub unsafe fn for_each_referent<F: FnMut(RawObj)>(obj: RawObj, each: &mut F) {
    unsafe extern "C" fn visit<F: FnMut(RawObj)>(child: RawObj, arg: *mut c_void) -> c_int {
        // SAFETY: `arg` is the closure passed below, borrowed for the traverse call only;
        // `child` is an object `obj` holds (never NULL: `Py_VISIT` skips NULLs).
        unsafe { (*arg.cast::<F>())(child) };
        0
    }
    // SAFETY: `obj` is alive and a GC object, so its type has a `tp_traverse` that may be
    // called on it; traversal only reads it and runs no Python code. The visitor cannot
    // outlive the call: it is a plain function and the closure is borrowed for the call.
    unsafe {
        if !is_gc_object(obj) {
            return;
        }
        if let Some(traverse) = (*type_of(obj)).tp_traverse {
            traverse(obj, visit::<F>, (each as *mut F).cast());
        }
    }
}

// ---------------------------------------------------------------------------------------
// heap enumeration (used by `heap`, `flat` and `summary`)

/// Whether the garbage collector tracks `obj` (`gc.is_tracked(obj)`).
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_gc_tracked(obj: RawObj) -> bool {
    // `PyObject_GC_IsTracked` inlined, for the same reason as `is_gc_object`.
    #[cfg(not(Py_GIL_DISABLED))]
    // SAFETY: `obj` is alive. Only a GC object has a `PyGC_Head`, which CPython places
    // right before the object; its `_gc_next` is non-zero exactly while it is tracked.
    unsafe {
        is_gc_object(obj) && (*obj.cast::<GcLinks>().sub(1)).next != 0
    }
    #[cfg(Py_GIL_DISABLED)]
    // SAFETY: `obj` is alive; the call only reads its type and GC bits.
    unsafe {
        ffi::PyObject_GC_IsTracked(obj) != 0
    }
}

// ---------------------------------------------------------------------------------------
// the collector's lists (used by `heap`)

/// `PyGC_Head`: the links of the collector's doubly linked, circular lists; every
/// tracked object sits in exactly one, with this header right before it.
#[cfg(not(Py_GIL_DISABLED))]
#[repr(C)]
struct GcLinks {
    next: usize,
    prev: usize,
}

/// The low bits of both links carry the collector's flags.
#[cfg(not(Py_GIL_DISABLED))]
const GC_LINK_FLAGS: usize = 3;
/// `struct gc_generation` { `PyGC_Head head; int threshold; int count;` }, three in a row
/// in the interpreter's `_gc_runtime_state` (3.9 to 3.13), followed by the
/// `generation0` pointer to the first one's head.
#[cfg(not(Py_GIL_DISABLED))]
const GENERATION_BYTES: usize = GC_HEAD + 8;
#[cfg(not(Py_GIL_DISABLED))]
const GENERATIONS: usize = 3;

/// The heads of the collector's three generation lists (youngest first), found through
/// `probe` and checked against `thresholds` (`gc.get_threshold()`); `None` when the
/// interpreter's state is not laid out as expected, so that callers fall back to
/// `gc.get_objects()`.
///
/// # Safety
/// `probe` must be a live object that was tracked just now (a new list): CPython links
/// a newly tracked object at the end of the youngest generation, so the next link of its
/// header is that generation's head.
#[cfg(not(Py_GIL_DISABLED))]
pub unsafe fn generation_heads(probe: RawObj, thresholds: [c_int; GENERATIONS]) -> Option<[usize; GENERATIONS]> {
    // SAFETY: `probe` is tracked, so its header and both neighbours in the list are live
    // collector links; the head is a `gc_generation` inside the interpreter's collector
    // state, so the generations after it and the `generation0` pointer that follows them
    // are readable on every version this is compiled for (the checks below confirm it).
    unsafe {
        let links = probe.cast::<GcLinks>().sub(1);
        let head0 = (*links).next & !GC_LINK_FLAGS;
        if head0 == 0 || ((*(head0 as *const GcLinks)).prev & !GC_LINK_FLAGS) != links as usize {
            return None;
        }
        let generation0 = *((head0 + GENERATIONS * GENERATION_BYTES) as *const usize);
        if generation0 != head0 {
            return None;
        }
        let mut heads = [0usize; GENERATIONS];
        for (i, head) in heads.iter_mut().enumerate() {
            *head = head0 + i * GENERATION_BYTES;
            let threshold = *((*head + GC_HEAD) as *const c_int);
            let links = *head as *const GcLinks;
            let first = ((*links).next & !GC_LINK_FLAGS) as *const GcLinks;
            let last = ((*links).prev & !GC_LINK_FLAGS) as *const GcLinks;
            if threshold != thresholds[i]
                || first.is_null()
                || last.is_null()
                || ((*first).prev & !GC_LINK_FLAGS) != *head
                || ((*last).next & !GC_LINK_FLAGS) != *head
            {
                return None;
            }
        }
        Some(heads)
    }
}

/// The link after `link` in its collector list: the header of the next tracked object,
/// or the list's head.
///
/// # Safety
/// `link` must be a generation head from [`generation_heads`] or the header of an
/// object in its list, with no Python code run since the head was found (nothing else
/// changes the lists while the collector is paused).
#[cfg(not(Py_GIL_DISABLED))]
#[inline]
pub unsafe fn next_gc_link(link: usize) -> usize {
    // SAFETY: see the caller requirements: `link` points to a live `PyGC_Head`.
    unsafe { (*(link as *const GcLinks)).next & !GC_LINK_FLAGS }
}

/// The object whose header is `link` (not a generation head).
#[cfg(not(Py_GIL_DISABLED))]
#[inline]
pub fn object_of_gc_link(link: usize) -> RawObj {
    (link + GC_HEAD) as RawObj
}

/// Appends the objects visited by the type's `tp_traverse` (what `gc.get_referents`
/// returns) to `out`, as *borrowed* pointers. They stay valid only until Python code
/// runs or `obj` is changed; callers take strong references before either can happen.
/// As with [`for_each_referent`], dead objects may be among them and must be skipped
/// before use (see [`is_dead_referent`]).
///
/// # Safety
/// `obj` must be alive.
pub unsafe fn traverse_borrowed(obj: RawObj, out: &mut Vec<RawObj>) {
    unsafe extern "C" fn visit(child: RawObj, arg: *mut c_void) -> c_int {
        // SAFETY: `arg` is the Vec passed below, alive for the traverse call.
        unsafe { (*arg.cast::<Vec<RawObj>>()).push(child) };
        0
    }
    // SAFETY: `obj` is alive; traversal only reads it and runs no Python code. The
    // visitor cannot outlive this call: it is a plain function and `out` is borrowed
    // for the call only.
    unsafe {
        let tp = type_of(obj);
        if has_gc(tp) {
            if let Some(traverse) = (*tp).tp_traverse {
                traverse(obj, visit, (out as *mut Vec<RawObj>).cast());
            }
        }
    }
}

/// Whether `tp` is exactly `types.FunctionType`, `types.ModuleType` or `types.FrameType`.
pub fn is_function_type(tp: RawType) -> bool {
    tp == std::ptr::addr_of_mut!(ffi::PyFunction_Type)
}

/// See [`is_function_type`].
pub fn is_module_type(tp: RawType) -> bool {
    tp == std::ptr::addr_of_mut!(ffi::PyModule_Type)
}

/// See [`is_function_type`].
pub fn is_frame_type(tp: RawType) -> bool {
    tp == std::ptr::addr_of_mut!(ffi::PyFrame_Type)
}

/// A function's `__name__` (always a `str`), borrowed from the function.
///
/// # Safety
/// `obj` must be a live, exact function.
#[inline]
pub unsafe fn function_name(obj: RawObj) -> RawObj {
    // SAFETY: see the caller requirements; `func_name` is never NULL once made.
    unsafe { (*obj.cast::<ffi::PyFunctionObject>()).func_name }
}

/// Whether `isinstance(obj, types.FrameType)` can be answered from the type alone for
/// the instances of `tp`: true when attribute lookup on them is the generic one (or the
/// one of classes or modules), `__getattr__` aside, and `__class__` is `object`'s, so
/// `__class__` reports the real type. Other types (proxies, `__getattribute__`
/// overrides) can claim to be frames, or raise, and are asked through Python.
///
/// # Safety
/// `tp` must be a live, ready type, `class_name` and `getattribute_name` the interned
/// strs `"__class__"` and `"__getattribute__"`.
pub unsafe fn class_attr_is_plain(
    tp: RawType,
    class_name: RawObj,
    getattribute_name: RawObj,
    object_class: RawObj,
) -> bool {
    // SAFETY: `tp` is a live type; the static types are only read; the descriptor found
    // is borrowed from a type's dict and only read before anything else runs.
    unsafe {
        let generic = ffi::PyObject_GenericGetAttr as *const () as usize;
        let of_type = (*std::ptr::addr_of_mut!(ffi::PyType_Type)).tp_getattro.map_or(0, |f| f as usize);
        let of_module = (*std::ptr::addr_of_mut!(ffi::PyModule_Type)).tp_getattro.map_or(0, |f| f as usize);
        let is_plain = |getattro: usize| getattro == generic || getattro == of_type || getattro == of_module;
        let plain_lookup = is_plain((*tp).tp_getattro.map_or(0, |f| f as usize)) || {
            // A class with `__getattr__` has a hook as its lookup, which calls
            // `__getattribute__` first, and `__getattr__` only for missing names: plain
            // if that `__getattribute__` is one of the above.
            let found = type_lookup(tp, getattribute_name);
            !found.is_null()
                && type_of(found) == std::ptr::addr_of_mut!(ffi::PyWrapperDescr_Type)
                && is_plain((*found.cast::<ffi::PyWrapperDescrObject>()).d_wrapped as usize)
        };
        plain_lookup && type_lookup(tp, class_name) == object_class
    }
}

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
