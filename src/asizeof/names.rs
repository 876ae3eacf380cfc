//! The names of `asized` tree nodes (pympler's `__name__`-or-clipped-repr convention),
//! made with Python's string functions.

use crate::ffi::Strong;
use pyo3::prelude::*;
use pyo3::types::{PySlice, PyString};

/// `repr(obj)` with line breaks escaped, shortened to `clip` characters by cutting out
/// its middle; `"N/A"` when `repr` raises. Built with Python's string functions only: a
/// Rust conversion would store a UTF-8 copy inside the strings being measured.
pub fn clipped_repr<'py>(obj: &Bound<'py, PyAny>, clip: usize) -> Bound<'py, PyAny> {
    let py = obj.py();
    let na = || PyString::new(py, "N/A").into_any();
    let Ok(text) = obj.repr().and_then(|r| r.call_method1("replace", ("\n", "\\n"))) else {
        return na();
    };
    clip_text(&text, clip).unwrap_or_else(|_| na())
}

fn clip_text<'py>(text: &Bound<'py, PyAny>, clip: usize) -> PyResult<Bound<'py, PyAny>> {
    let length = text.len()?;
    let half = (clip / 2).saturating_sub(2);
    if clip == 0 || length <= clip || half == 0 {
        return Ok(text.clone());
    }
    let py = text.py();
    let head = text.get_item(PySlice::new(py, 0, half as isize, 1))?;
    let tail = text.get_item(PySlice::new(py, (length - half) as isize, length as isize, 1))?;
    head.add("....")?.add(tail)
}

/// How a tree node is named.
pub enum NamePart<'a> {
    /// After the object: its `__name__` if non-empty, else its clipped repr.
    Object,
    Text(&'a str),
    PyText(&'a Py<PyString>),
    /// `[K] str(key)`.
    Key(&'a Strong),
    /// `[V] str(key): repr(value)`.
    Value(&'a Strong),
}

/// The clip used for dict values in node names (pympler's fixed default).
const VALUE_CLIP: usize = 80;

pub fn ref_name(py: Python<'_>, obj: &Strong, part: NamePart<'_>, clip: usize) -> Py<PyAny> {
    // SAFETY: `obj` is held strongly.
    let bound = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
    let key_text = |key: &Strong| {
        // SAFETY: the key is held strongly.
        let key = unsafe { Bound::from_borrowed_ptr(py, key.as_ptr()) };
        key.str().map(Bound::into_any).unwrap_or_else(|_| PyString::new(py, "N/A").into_any())
    };
    let joined = |parts: &[Bound<'_, PyAny>]| -> Py<PyAny> {
        let mut text = PyString::new(py, "").into_any();
        for part in parts {
            text = match text.add(part) {
                Ok(joined) => joined,
                Err(_) => return PyString::new(py, "N/A").into_any().unbind(),
            };
        }
        text.unbind()
    };
    let literal = |text: &str| PyString::new(py, text).into_any();
    match part {
        NamePart::Object => object_name(&bound, clip),
        NamePart::Text(text) => PyString::new(py, text).into_any().unbind(),
        NamePart::PyText(text) => text.clone_ref(py).into_any(),
        NamePart::Key(key) => joined(&[literal("[K] "), key_text(key)]),
        NamePart::Value(key) => {
            joined(&[literal("[V] "), key_text(key), literal(": "), clipped_repr(&bound, VALUE_CLIP)])
        }
    }
}

/// pympler's `_nameof(obj) or repr`: a non-empty `__name__` (whatever its type), else
/// the clipped repr.
pub fn object_name(obj: &Bound<'_, PyAny>, clip: usize) -> Py<PyAny> {
    if let Ok(name) = obj.getattr("__name__") {
        if name.is_truthy().unwrap_or(false) {
            return name.unbind();
        }
    }
    clipped_repr(obj, clip).unbind()
}
