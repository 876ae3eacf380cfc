//! New Python objects made from Rust values without panicking: pyo3's own conversions
//! of integers and strings panic ("PyObject pointer is null") when the allocation fails,
//! which would reach the user as `PanicException`; these return the `MemoryError`. So do
//! floats, bytes, dicts, slices of sequences, and whole results ([`IntoNew`]: numbers,
//! strings, options, lists and tuples of them).

use super::*;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// A Python `int` equal to `value`.
pub fn new_int(py: Python<'_>, value: u64) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: the GIL is held (`py`); the call returns a new reference or NULL with an
    // exception set, which `from_owned_ptr_or_err` turns into `Err`.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromUnsignedLongLong(value)) }
}

/// A Python `int` equal to `value`.
pub fn new_i64(py: Python<'_>, value: i64) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: as in `new_int`.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromLongLong(value)) }
}

/// A Python `int` equal to `value` (sums that may not fit in 64 bits).
pub fn new_i128(py: Python<'_>, value: i128) -> PyResult<Bound<'_, PyAny>> {
    if let Ok(small) = i64::try_from(value) {
        return new_i64(py, small);
    }
    let digits = std::ffi::CString::new(value.to_string()).expect("decimal digits hold no NUL");
    // SAFETY: the GIL is held; `digits` is a NUL-terminated decimal number; the call
    // returns a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromString(digits.as_ptr(), std::ptr::null_mut(), 10)) }
}

/// A Python `str` equal to `text`.
pub fn new_str<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyString>> {
    // SAFETY: the GIL is held; `text` is valid UTF-8 of the given length; the call
    // returns a new reference or NULL with an exception set.
    unsafe {
        let ptr = ffi::PyUnicode_FromStringAndSize(text.as_ptr().cast(), text.len() as ffi::Py_ssize_t);
        Ok(Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked())
    }
}

/// A Python `tuple` of `items` (each reference moved into it).
pub fn new_tuple<'py, const N: usize>(py: Python<'py>, items: [Bound<'py, PyAny>; N]) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: the GIL is held; a new tuple of N empty slots is filled once each with a
    // reference it takes over (`PyTuple_SET_ITEM` steals it), before anything else can
    // see the tuple.
    unsafe {
        let tuple = Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(N as ffi::Py_ssize_t))?;
        for (i, item) in items.into_iter().enumerate() {
            ffi::PyTuple_SET_ITEM(tuple.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr());
        }
        Ok(tuple)
    }
}

/// A Python `list` of `items` (each reference moved into it).
pub fn new_list<'py>(py: Python<'py>, items: Vec<Bound<'py, PyAny>>) -> PyResult<Bound<'py, pyo3::types::PyList>> {
    // SAFETY: the GIL is held; a new list of `len` empty slots is filled once each with
    // a reference it takes over (`PyList_SET_ITEM` steals it), before anything else can
    // see the list.
    unsafe {
        let list = Bound::from_owned_ptr_or_err(py, ffi::PyList_New(items.len() as ffi::Py_ssize_t))?;
        for (i, item) in items.into_iter().enumerate() {
            ffi::PyList_SET_ITEM(list.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr());
        }
        Ok(list.cast_into_unchecked())
    }
}

/// A Python `float` equal to `value`.
pub fn new_float(py: Python<'_>, value: f64) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: the GIL is held; the call returns a new reference or NULL with an
    // exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyFloat_FromDouble(value)) }
}

/// A Python `bytes` equal to `data`.
pub fn new_bytes<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    // SAFETY: the GIL is held; `data` is valid for its length; the call copies it and
    // returns a new reference or NULL with an exception set.
    unsafe {
        let ptr = ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), data.len() as ffi::Py_ssize_t);
        Ok(Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked())
    }
}

/// A new empty Python `dict`.
pub fn new_dict(py: Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyDict>> {
    // SAFETY: the GIL is held; the call returns a new reference or NULL with an
    // exception set.
    unsafe { Ok(Bound::from_owned_ptr_or_err(py, ffi::PyDict_New())?.cast_into_unchecked()) }
}

/// `seq[start:stop]` (Python's slice rules: negative indices count from the end), made
/// without a slice object.
pub fn get_slice<'py>(seq: &Bound<'py, PyAny>, start: isize, stop: isize) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: the GIL is held and `seq` is alive (`Bound`); the call may run the
    // object's `__getitem__` and returns a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(seq.py(), ffi::PySequence_GetSlice(seq.as_ptr(), start, stop)) }
}

/// A Rust value made into a new Python object with the constructors above, so that a
/// failed allocation anywhere in it (a tuple, one of its strings) is a `MemoryError`,
/// where pyo3's own conversion of a returned value would panic.
pub trait IntoNew<'py> {
    /// The new object.
    fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>>;
}

impl<'py> IntoNew<'py> for u64 {
    fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        new_int(py, self)
    }
}

impl<'py> IntoNew<'py> for u32 {
    fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        new_int(py, u64::from(self))
    }
}

impl<'py> IntoNew<'py> for usize {
    fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        new_int(py, self as u64)
    }
}

impl<'py> IntoNew<'py> for i64 {
    fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        new_i64(py, self)
    }
}

impl<'py> IntoNew<'py> for f64 {
    fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        new_float(py, self)
    }
}

impl<'py> IntoNew<'py> for bool {
    fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        // `True` and `False` are never allocated.
        Ok(pyo3::types::PyBool::new(py, self).to_owned().into_any())
    }
}

impl<'py> IntoNew<'py> for &str {
    fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(new_str(py, self)?.into_any())
    }
}

impl<'py> IntoNew<'py> for String {
    fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(new_str(py, &self)?.into_any())
    }
}

impl<'py, T> IntoNew<'py> for Bound<'py, T> {
    fn into_new(self, _py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.into_any())
    }
}

impl<'py, T> IntoNew<'py> for Py<T> {
    fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.into_bound(py).into_any())
    }
}

impl<'py, T: IntoNew<'py>> IntoNew<'py> for Option<T> {
    fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Some(value) => value.into_new(py),
            None => Ok(py.None().into_bound(py)),
        }
    }
}

impl<'py, T: IntoNew<'py>> IntoNew<'py> for Vec<T> {
    fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        use crate::grow::Grow;
        let mut items = Vec::new();
        items.grow(self.len(), "a result list")?;
        for value in self {
            items.push(value.into_new(py)?);
        }
        Ok(new_list(py, items)?.into_any())
    }
}

macro_rules! tuple_into_new {
    ($($t:ident $v:ident),+) => {
        impl<'py, $($t: IntoNew<'py>),+> IntoNew<'py> for ($($t,)+) {
            fn into_new(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let ($($v,)+) = self;
                new_tuple(py, [$($v.into_new(py)?),+])
            }
        }
    };
}

tuple_into_new!(A a, B b);
tuple_into_new!(A a, B b, C c);
tuple_into_new!(A a, B b, C c, D d);
tuple_into_new!(A a, B b, C c, D d, E e);
tuple_into_new!(A a, B b, C c, D d, E e, F f);
tuple_into_new!(A a, B b, C c, D d, E e, F f, G g);
tuple_into_new!(A a, B b, C c, D d, E e, F f, G g, H h);
tuple_into_new!(A a, B b, C c, D d, E e, F f, G g, H h, I i);

/// The text of a Python `str` as Rust text, lone surrogates replaced by U+FFFD; a failed
/// allocation (of the UTF-8 form) is a `MemoryError`, where pyo3's lossy conversion
/// would panic.
pub fn text_of(text: &Bound<'_, PyString>) -> PyResult<String> {
    use pyo3::types::PyStringMethods;
    let py = text.py();
    match text.to_str() {
        Ok(plain) => Ok(plain.to_owned()),
        Err(err) if err.is_instance_of::<pyo3::exceptions::PyUnicodeEncodeError>(py) => {
            // SAFETY: the GIL is held and `text` is alive; the call returns a new
            // reference to a `bytes` or NULL with an exception set.
            let bytes = unsafe {
                Bound::from_owned_ptr_or_err(
                    py,
                    ffi::PyUnicode_AsEncodedString(text.as_ptr(), c"utf-8".as_ptr(), c"surrogatepass".as_ptr()),
                )?
            };
            let bytes = bytes.cast_into::<pyo3::types::PyBytes>()?;
            Ok(String::from_utf8_lossy(pyo3::types::PyBytesMethods::as_bytes(&bytes)).into_owned())
        }
        Err(err) => Err(err),
    }
}

/// `pystr!(py, "name")`: the Python `str` of a literal, made once and kept (a
/// `PyResult<Bound<PyString>>`). The names of attributes and methods and the constant
/// texts of names go through it: pyo3 would convert a Rust `&str` with a constructor
/// that panics when the allocation fails, and after its first use this one allocates
/// nothing.
#[macro_export]
macro_rules! pystr {
    ($py:expr, $text:literal) => {{
        static TEXT: pyo3::sync::PyOnceLock<pyo3::Py<pyo3::types::PyString>> = pyo3::sync::PyOnceLock::new();
        let py: pyo3::Python<'_> = $py;
        TEXT.get_or_try_init(py, || $crate::ffi::new_str(py, $text).map(pyo3::Bound::unbind))
            .map(|text| text.bind(py).clone())
    }};
}
