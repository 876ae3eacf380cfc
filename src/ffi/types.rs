//! Type checks on live objects and types (`isinstance` and `issubclass` answered from the
//! type objects, never running Python code), and the builtin types compared against.

use super::*;

/// `isinstance(obj, types.ModuleType)`.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_module(obj: RawObj) -> bool {
    // SAFETY: the caller guarantees `obj` is alive; the check reads its type only.
    unsafe { ffi::PyModule_Check(obj) != 0 }
}

/// `isinstance(obj, types.FrameType)` by the real type (not `__class__`).
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_frame(obj: RawObj) -> bool {
    // SAFETY: the caller guarantees `obj` is alive; the check reads its type only.
    unsafe { ffi::PyFrame_Check(obj) != 0 }
}

/// `isinstance(obj, types.CodeType)` by the real type.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_code(obj: RawObj) -> bool {
    // SAFETY: the caller guarantees `obj` is alive; the check reads its type only.
    unsafe { ffi::PyCode_Check(obj) != 0 }
}

/// `isinstance(obj, type)` by the real type.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_type(obj: RawObj) -> bool {
    // SAFETY: the caller guarantees `obj` is alive; the check reads its type only.
    unsafe { ffi::PyType_Check(obj) != 0 }
}

/// `type(obj) is type`.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_exact_type(obj: RawObj) -> bool {
    // SAFETY: the caller guarantees `obj` is alive; the check reads its type only.
    unsafe { ffi::PyType_CheckExact(obj) != 0 }
}

/// `isinstance(obj, types.FunctionType)` by the real type.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_function(obj: RawObj) -> bool {
    // SAFETY: the caller guarantees `obj` is alive; the check reads its type only.
    unsafe { ffi::PyFunction_Check(obj) != 0 }
}

/// `isinstance(obj, dict)` by the real type.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_dict(obj: RawObj) -> bool {
    // SAFETY: the caller guarantees `obj` is alive; the check reads its type only.
    unsafe { ffi::PyDict_Check(obj) != 0 }
}

/// `isinstance(obj, types.CellType)` by the real type.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_cell(obj: RawObj) -> bool {
    // SAFETY: the caller guarantees `obj` is alive; the check reads its type only.
    unsafe { ffi::PyCell_Check(obj) != 0 }
}

/// `isinstance(obj, tuple)` by the real type.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_tuple(obj: RawObj) -> bool {
    // SAFETY: the caller guarantees `obj` is alive; the check reads its type only.
    unsafe { ffi::PyTuple_Check(obj) != 0 }
}

/// `isinstance(obj, str)` by the real type.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_str(obj: RawObj) -> bool {
    // SAFETY: the caller guarantees `obj` is alive; the check reads its type only.
    unsafe { ffi::PyUnicode_Check(obj) != 0 }
}

/// Whether `obj` is a str equal to the ASCII text `expected`, compared in place (no
/// UTF-8 copy of the str is made).
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn str_equals_ascii(obj: RawObj, expected: &std::ffi::CStr) -> bool {
    // SAFETY: `obj` is alive (caller) and checked to be a str before it is compared;
    // `expected` is NUL-terminated. The comparison does not raise.
    unsafe { is_str(obj) && ffi::PyUnicode_CompareWithASCIIString(obj, expected.as_ptr()) == 0 }
}

/// `isinstance(obj, tp)` by the real type of `obj` (`tp` need not be a builtin).
///
/// # Safety
/// `obj` must be alive and `tp` a live type.
#[inline]
pub unsafe fn is_instance_of(obj: RawObj, tp: RawType) -> bool {
    // SAFETY: both are alive (caller); the check walks the MRO of `obj`'s type only.
    unsafe { ffi::PyObject_TypeCheck(obj, tp) != 0 }
}

/// `issubclass(tp, Exception)`.
///
/// # Safety
/// `tp` must be a live, ready type.
#[inline]
pub unsafe fn is_exception_type(tp: RawType) -> bool {
    // SAFETY: `tp` is alive (caller); `PyExc_Exception` is a static type object.
    unsafe { ffi::PyType_IsSubtype(tp, ffi::PyExc_Exception.cast()) != 0 }
}

/// The `dict` type object.
#[inline]
pub fn dict_type() -> RawType {
    std::ptr::addr_of_mut!(ffi::PyDict_Type)
}

/// Whether `tp` is `type` itself.
#[inline]
pub fn is_type_type(tp: RawType) -> bool {
    tp == std::ptr::addr_of_mut!(ffi::PyType_Type)
}

/// Whether `tp` is exactly `str`.
#[inline(always)]
pub fn is_str_type(tp: RawType) -> bool {
    tp == std::ptr::addr_of_mut!(ffi::PyUnicode_Type)
}

/// Whether `tp` is exactly `int` or `bool`.
#[inline(always)]
pub fn is_int_or_bool_type(tp: RawType) -> bool {
    tp == std::ptr::addr_of_mut!(ffi::PyLong_Type) || tp == std::ptr::addr_of_mut!(ffi::PyBool_Type)
}

/// Whether `tp` is exactly `float`.
#[inline(always)]
pub fn is_float_type(tp: RawType) -> bool {
    tp == std::ptr::addr_of_mut!(ffi::PyFloat_Type)
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

/// Whether `tp` is exactly `list`.
#[inline(always)]
pub fn is_list_type(tp: RawType) -> bool {
    tp == std::ptr::addr_of_mut!(ffi::PyList_Type)
}

/// Whether `tp` is exactly `tuple`.
#[inline(always)]
pub fn is_tuple_type(tp: RawType) -> bool {
    tp == std::ptr::addr_of_mut!(ffi::PyTuple_Type)
}

/// Whether `tp` is exactly `dict`.
#[inline(always)]
pub fn is_dict_type(tp: RawType) -> bool {
    tp == std::ptr::addr_of_mut!(ffi::PyDict_Type)
}

/// The static type `bytes`.
#[inline(always)]
pub fn bytes_type() -> RawType {
    std::ptr::addr_of_mut!(ffi::PyBytes_Type)
}

/// The static type `object`.
#[inline(always)]
pub fn object_type() -> RawType {
    std::ptr::addr_of_mut!(ffi::PyBaseObject_Type)
}

/// Whether `tp` is `types.FrameType` or a subclass of it.
///
/// # Safety
/// `tp` must be a live type object.
#[inline]
pub unsafe fn is_frame_subtype(tp: RawType) -> bool {
    // SAFETY: `tp` is a live type; the frame type is static.
    unsafe { ffi::PyType_IsSubtype(tp, std::ptr::addr_of_mut!(ffi::PyFrame_Type)) != 0 }
}
