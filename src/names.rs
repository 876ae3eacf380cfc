//! Calls into Python that the walker needs now and then: a foreign `__sizeof__`, and the
//! names of `asized` tree nodes (pympler's `__name__`-or-clipped-repr convention).

use crate::cpython::{self, Strong};
use crate::rules::Registry;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Calls `type(obj).__sizeof__` bound to `obj`, as `sys.getsizeof` does. `None` when it
/// is missing, raises, or returns anything but a non-negative int.
pub fn call_sizeof(py: Python<'_>, obj: &Strong, registry: &Registry) -> Option<usize> {
    // SAFETY: `obj` is held strongly; the lookup result is borrowed and taken at once.
    let descr = unsafe {
        let tp = cpython::type_of(obj.as_ptr());
        let found = cpython::type_lookup(tp, registry.names.sizeof.as_ptr());
        if found.is_null() {
            return None;
        }
        Bound::from_borrowed_ptr(py, found)
    };
    // SAFETY: `obj` is held strongly.
    let bound_obj = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
    let method = match descr.get_type().getattr("__get__") {
        Ok(_) => descr.call_method1("__get__", (&bound_obj, bound_obj.get_type())).ok()?,
        Err(_) => descr,
    };
    let result = method.call0().ok()?;
    // SAFETY: `result` is a live object.
    if unsafe { ffi::PyLong_Check(result.as_ptr()) } == 0 {
        return None;
    }
    let size: isize = result.extract().ok()?;
    usize::try_from(size).ok()
}

/// `repr(obj)` with line breaks escaped, shortened to `clip` characters by cutting out
/// its middle; `"N/A"` when `repr` raises.
pub fn clipped_repr(obj: &Bound<'_, PyAny>, clip: usize) -> String {
    let text = match obj.repr() {
        Ok(r) => r.to_string().replace('\n', "\\n"),
        Err(_) => return "N/A".to_owned(),
    };
    clip_text(text, clip)
}

fn clip_text(text: String, clip: usize) -> String {
    let length = text.chars().count();
    if clip == 0 || length <= clip {
        return text;
    }
    let half = (clip / 2).saturating_sub(2);
    if half == 0 {
        return text;
    }
    let head: String = text.chars().take(half).collect();
    let tail: String = text.chars().skip(length - half).collect();
    format!("{head}....{tail}")
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
        key.str().map(|s| s.to_string()).unwrap_or_else(|_| "N/A".to_owned())
    };
    match part {
        NamePart::Object => object_name(&bound, clip),
        NamePart::Text(text) => PyString::new(py, text).into_any().unbind(),
        NamePart::PyText(text) => text.clone_ref(py).into_any(),
        NamePart::Key(key) => PyString::new(py, &format!("[K] {}", key_text(key))).into_any().unbind(),
        NamePart::Value(key) => {
            let text = format!("[V] {}: {}", key_text(key), clipped_repr(&bound, VALUE_CLIP));
            PyString::new(py, &text).into_any().unbind()
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
    PyString::new(obj.py(), &clipped_repr(obj, clip)).into_any().unbind()
}

#[cfg(test)]
mod tests {
    use super::clip_text;

    #[test]
    fn short_text_is_kept() {
        assert_eq!(clip_text("abc".into(), 80), "abc");
        assert_eq!(clip_text("abc".into(), 0), "abc");
    }

    #[test]
    fn long_text_loses_its_middle() {
        let text: String = "x".repeat(50) + &"y".repeat(50);
        let clipped = clip_text(text, 20);
        assert_eq!(clipped, format!("{}....{}", "x".repeat(8), "y".repeat(8)));
    }

    #[test]
    fn clips_by_characters_not_bytes() {
        let text = "é".repeat(30);
        assert_eq!(clip_text(text, 12).chars().count(), 4 + 4 + 4);
    }
}
