//! Every raw CPython access of the crate lives here, one file per concept: object headers,
//! `Strong` references and pre-headers (this file); `Borrowed` pointers that cannot
//! outlive their owner (`borrowed`); type checks (`types`); dict tables (`dict`); the
//! `__sizeof__` formulas and items of the builtin containers (`sizes`, `items`); instance
//! attribute storage (`instance`); the collector's side of objects and its lists (`gc`);
//! reference counts of watched objects (`weakref`); calls into Python (`call`); new ints
//! and strings that report a failed allocation instead of panicking (`new`); pending
//! SIGINTs noticed without running Python code (`signals`) and the progress reports made at
//! the same polls (`progress`); pymalloc's statistics, read
//! into memory instead of onto stderr (`malloc_stats`); numpy's array struct, once its
//! layout is checked (`numpy`); work queued for the main thread
//! from another thread (`pending`, the one function here callable without the GIL); a
//! trace function in C form for line events (`trace`). The rest
//! of the crate works with [`Strong`], [`Borrowed`] and the helpers re-exported here, each
//! of which documents what its caller must guarantee; nothing outside this folder calls
//! `pyo3::ffi` or reads a CPython struct field.
//!
//! All functions require the GIL to be held. Layouts are selected at compile time with
//! the `Py_3_x` cfgs that `pyo3-build-config` sets for the interpreter being built for.

mod borrowed;
mod call;
mod code;
mod dict;
mod gc;
mod instance;
mod items;
mod layout;
mod malloc_stats;
mod new;
mod numpy;
mod pending;
mod progress;
mod signals;
mod sizes;
mod trace;
mod types;
mod weakref;

pub use borrowed::*;
pub use call::*;
pub use code::*;
pub use dict::*;
pub use gc::*;
pub use instance::*;
pub use items::*;
pub use layout::*;
pub use malloc_stats::*;
pub use new::*;
pub use numpy::*;
pub use pending::*;
pub use progress::ProgressScope;
pub use signals::*;
pub use sizes::*;
pub use trace::*;
pub use types::*;
pub use weakref::*;

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
const TPFLAGS_METHOD_DESCRIPTOR: u64 = 1 << 17;
const TPFLAGS_HAVE_GC: u64 = 1 << 14;
#[cfg(Py_3_11)]
const TPFLAGS_MANAGED_DICT: u64 = 1 << 4;
#[cfg(Py_3_12)]
const TPFLAGS_MANAGED_WEAKREF: u64 = 1 << 3;
#[cfg(Py_3_13)]
const TPFLAGS_INLINE_VALUES: u64 = 1 << 2;

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

/// The reference count of a live object, read without taking a reference.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn refcount_of(obj: RawObj) -> isize {
    // SAFETY: `obj` is alive (caller); only its header is read.
    unsafe { ffi::Py_REFCNT(obj) }
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

/// Whether the type's instances are functions written in C that bind like methods
/// (Cython's functions among them): a class written in Python cannot set this flag.
///
/// # Safety
/// `tp` must be a live type object.
#[inline]
pub unsafe fn is_method_descriptor_type(tp: RawType) -> bool {
    // SAFETY: forwarded caller guarantee.
    unsafe { type_flags(tp) & TPFLAGS_METHOD_DESCRIPTOR != 0 }
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

/// Looks `name` up along the MRO of `tp` as `_PyType_Lookup` does, without running
/// Python code and without freeing anything; borrowed result (null when not found).
///
/// The interpreter's type-attribute cache is left alone: filling one of its entries
/// releases the name it held, and that can free a string a heap pass still holds
/// borrowed. From 3.14 the interned-strings table is a tracked dict, so its traversal
/// reports strings it does not count, some held by nothing but that cache.
///
/// # Safety
/// `tp` must be a live type whose MRO is ready, `name` a live `str`.
pub unsafe fn type_lookup(tp: RawType, name: RawObj) -> RawObj {
    // SAFETY: `tp` is live and ready (caller), so its MRO is a tuple of live classes that
    // it holds; each class holds its namespace, which `PyDict_GetItem` reads without
    // raising (a str key's hash is cached, its comparisons are C code) and with any
    // pending error kept.
    unsafe {
        let mro = (*tp).tp_mro;
        if mro.is_null() || ffi::PyTuple_Check(mro) == 0 {
            return std::ptr::null_mut();
        }
        for index in 0..ffi::PyTuple_GET_SIZE(mro) {
            let class = ffi::PyTuple_GET_ITEM(mro, index);
            if ffi::PyType_Check(class) == 0 {
                continue;
            }
            let found = own_attribute(class.cast(), name);
            if !found.is_null() {
                return found;
            }
        }
        std::ptr::null_mut()
    }
}

/// `name` in the namespace of `tp` itself; borrowed, null when absent.
///
/// # Safety
/// `tp` must be a live type, `name` a live `str`.
unsafe fn own_attribute(tp: RawType, name: RawObj) -> RawObj {
    // SAFETY: `tp` is live (caller). From 3.12 a static builtin type keeps its namespace
    // in the interpreter, which `PyType_GetDict` returns with a new reference; dropping
    // that reference leaves the owner's, so the borrowed item stays alive.
    unsafe {
        #[cfg(Py_3_12)]
        {
            let dict = ffi::PyType_GetDict(tp);
            if dict.is_null() {
                return std::ptr::null_mut();
            }
            let found = ffi::PyDict_GetItem(dict, name);
            ffi::Py_DECREF(dict);
            found
        }
        #[cfg(not(Py_3_12))]
        {
            let dict = (*tp).tp_dict;
            if dict.is_null() {
                return std::ptr::null_mut();
            }
            ffi::PyDict_GetItem(dict, name)
        }
    }
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
            // SAFETY: `obj` is alive and of the type `is_gc` belongs to.
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

/// The C-level name of a type (`tp_name`), as text.
pub fn type_c_name(tp: &pyo3::Bound<'_, pyo3::types::PyType>) -> String {
    // SAFETY: `tp` is a live type object (held by the `Bound`); `tp_name` is a
    // NUL-terminated string it owns.
    let name = unsafe { std::ffi::CStr::from_ptr((*tp.as_ptr().cast::<ffi::PyTypeObject>()).tp_name) };
    name.to_string_lossy().into_owned()
}

/// A module's `__dict__`, borrowed from the module; `None` (no error set) when it has none.
///
/// # Safety
/// `module` must be a module (or a subclass instance).
#[inline]
pub unsafe fn module_dict(module: Borrowed<'_>) -> Option<Borrowed<'_>> {
    // SAFETY: `module` is a live module; the dict returned is borrowed from it.
    unsafe { Borrowed::from_nullable(ffi::PyModule_GetDict(module.as_ptr())) }
}

/// The mapping of a `mappingproxy` when it is a dict, borrowed from the proxy; `None`
/// for another mapping and where the layout did not pass its check.
///
/// # Safety
/// `proxy` must be an instance of `types.MappingProxyType`.
#[inline]
pub unsafe fn mappingproxy_dict(proxy: Borrowed<'_>) -> Option<Borrowed<'_>> {
    if !layout_or_fallback(Layout::MappingProxy) {
        return None;
    }
    // SAFETY: forwarded caller guarantee.
    unsafe { mappingproxy_dict_unchecked(proxy) }
}

/// [`mappingproxy_dict`] without the layout check.
///
/// # Safety
/// `proxy` must be an instance of `types.MappingProxyType`.
pub(super) unsafe fn mappingproxy_dict_unchecked(proxy: Borrowed<'_>) -> Option<Borrowed<'_>> {
    // SAFETY: a mappingproxy stores its mapping right after the object header, which
    // the proxy holds alive.
    unsafe {
        let header = std::mem::size_of::<ffi::PyObject>();
        let mapping = Borrowed::from_nullable(*proxy.as_ptr().cast::<u8>().add(header).cast::<RawObj>())?;
        (ffi::PyDict_Check(mapping.as_ptr()) != 0).then_some(mapping)
    }
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
