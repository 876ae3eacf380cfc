//! Where an instance keeps its attributes: `__dict__`, inline values (3.11+), managed dicts
//! (3.12+), values in the object (3.13+), and `__slots__` members.

use super::*;

/// Where an instance keeps its attributes, read without creating anything.
// Before 3.11 attributes live in `__dict__` only: the other variants exist for the match
// arms of callers, which are the same on every version.
#[cfg_attr(not(Py_3_11), allow(dead_code))]
pub enum InstanceAttrs {
    /// No attribute storage, or storage that was never created.
    Nothing,
    /// A real `__dict__` object, borrowed from the instance.
    Dict(RawObj),
    /// Values kept without a dict object (3.11+): `count` slots of `values`, whose keys
    /// are the type's shared keys. `bytes` is the memory the values occupy outside the
    /// object's basic size.
    Values { values: *mut RawObj, count: usize, bytes: usize },
    /// Kept by the interpreter where this build cannot read it (the layout did not pass
    /// its check, [`Layout::InstanceValues`]): ask `__dict__`.
    Unreadable,
}

/// Reads an instance's attribute storage without materialising a `__dict__`.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn instance_attrs(obj: RawObj) -> InstanceAttrs {
    #[cfg(Py_3_11)]
    // SAFETY: `obj` is alive, and so is its type.
    if unsafe { type_flags(type_of(obj)) } & TPFLAGS_MANAGED_DICT != 0 && !layout_or_fallback(Layout::InstanceValues) {
        return InstanceAttrs::Unreadable;
    }
    // SAFETY: forwarded caller guarantee.
    unsafe { instance_attrs_unchecked(obj) }
}

/// [`instance_attrs`] without the layout check.
///
/// # Safety
/// `obj` must be alive.
pub(super) unsafe fn instance_attrs_unchecked(obj: RawObj) -> InstanceAttrs {
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

/// Attribute `i` of an instance whose values are kept without a dict (3.11+), read
/// afresh from the instance each time: its storage may have changed since the last read.
pub enum InlineAttr {
    /// No attribute `i`: past the end, or the values now live in a dict (or nowhere).
    End,
    /// Slot `i` holds no value (an attribute deleted or not set on this instance).
    Unset,
    /// The attribute's name (a shared key of the type) and value, both borrowed.
    Set { key: RawObj, value: RawObj },
}

/// Reads attribute `i` of `obj`'s inline values (see [`InlineAttr`]).
///
/// # Safety
/// `obj` must be alive. The borrowed key and value live while the instance and its type
/// are unchanged: they must be used, or held, before any Python code runs.
#[inline]
pub unsafe fn inline_attr(obj: RawObj, i: usize) -> InlineAttr {
    // SAFETY: `obj` is alive (caller).
    let InstanceAttrs::Values { values, count, .. } = (unsafe { instance_attrs(obj) }) else {
        return InlineAttr::End;
    };
    if i >= count {
        return InlineAttr::End;
    }
    // SAFETY: `i` is below the count just read from this instance, of this type.
    let (value, key) = unsafe { (value_at(values, i), shared_key(type_of(obj), i)) };
    match key {
        Some(key) if !value.is_null() => InlineAttr::Set { key, value },
        _ => InlineAttr::Unset,
    }
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

/// If `descr` is a member descriptor for an object slot (`__slots__` entry) of `tp`'s
/// instances, its offset.
///
/// As CPython's own `member_get` does, the descriptor must belong to `tp` or one of its
/// bases: a descriptor taken from an unrelated class (`Small.x = Big.a63`) names an
/// offset in that class's layout, perhaps past the end of `tp`'s instances. The offset,
/// plus the pointer read there, must also lie within `tp`'s basic size. `None` otherwise:
/// such a slot can only be read with `getattr`.
///
/// # Safety
/// `descr` and `tp` must be alive, `tp` a ready type.
pub unsafe fn object_member_offset(descr: RawObj, tp: RawType) -> Option<usize> {
    const T_OBJECT: c_int = 6;
    const T_OBJECT_EX: c_int = 16;
    // SAFETY: `descr` is alive; a member descriptor has the PyMemberDescrObject layout,
    // whose common part names the type it was made for (never NULL for a member
    // descriptor, tested anyway). `tp` is a live type.
    unsafe {
        if type_of(descr) != std::ptr::addr_of_mut!(ffi::PyMemberDescr_Type) {
            return None;
        }
        let descr = descr.cast::<ffi::PyMemberDescrObject>();
        let owner = (*descr).d_common.d_type;
        if owner.is_null() || ffi::PyType_IsSubtype(tp, owner) == 0 {
            return None;
        }
        // (PyO3 declares the field with another pointee type on some versions.)
        let member = (*descr).d_member.cast::<ffi::PyMemberDef>();
        if member.is_null() {
            return None;
        }
        let kind = (*member).type_code;
        if kind != T_OBJECT && kind != T_OBJECT_EX {
            return None;
        }
        let offset = usize::try_from((*member).offset).ok()?;
        let end = offset.checked_add(std::mem::size_of::<RawObj>())?;
        (end <= basicsize(tp)).then_some(offset)
    }
}
