//! Referents that only Python code can give: attributes read with `getattr`, the items
//! of a set iterated, the `items()` of a mapping that is not a dict. Each is held
//! strongly as it is read; an `Exception` raised on the way is dropped, any other
//! error stops the walk (`Walker::dropped`).

use super::Walker;
use crate::asizeof::cursors::RefName;
use crate::asizeof::rules::AttrSpec;
use crate::ffi::{Borrowed, Strong};
use crate::grow::{Grow, TryPush};
use pyo3::prelude::*;
use pyo3::types::PyString;

impl<'py> Walker<'_, 'py> {
    pub(super) fn attr_items(&mut self, obj: &Strong, spec: &'static AttrSpec) -> Vec<(RefName, Strong)> {
        let py = self.py;
        // SAFETY: `obj` is held strongly.
        let bound = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
        let target = match spec.via {
            Some(via) => match bound.getattr(via) {
                Ok(target) => target,
                Err(error) => {
                    self.dropped(error);
                    return Vec::new();
                }
            },
            None => bound,
        };
        let mut items = Vec::new();
        let mut push = |walker: &mut Self, name: RefName, value: Bound<'py, PyAny>| {
            // SAFETY: `value` is a live object we own a reference to through `Bound`.
            let strong = unsafe { Strong::from_borrowed(value.as_ptr()) };
            drop(value);
            walker.keep_if_temporary(&strong);
            if let Err(error) = items.try_push((name, strong), "the attributes of an object") {
                walker.out_of_memory(error);
            }
        };
        for name in spec.names {
            match target.getattr(*name) {
                Ok(value) => push(self, RefName::Static(name), value),
                Err(error) => {
                    if !self.dropped(error) {
                        return items;
                    }
                }
            }
        }
        if let Some(prefix) = spec.prefix {
            // `dir()` is sorted; names are matched with Python's string functions (see
            // `rules::str_equals`).
            let attrs: Vec<Bound<'py, PyString>> = match target.dir() {
                Ok(names) => names.iter().filter_map(|n| n.cast_into::<PyString>().ok()).collect(),
                Err(error) => {
                    if !self.dropped(error) {
                        return items;
                    }
                    Vec::new()
                }
            };
            for attr in attrs {
                let starts = match crate::asizeof::rules::str_starts_with(&attr, prefix) {
                    Ok(starts) => starts,
                    Err(error) => {
                        self.dropped(error);
                        return items;
                    }
                };
                if !starts {
                    continue;
                }
                let mut excluded = false;
                for name in spec.exclude {
                    match PyAnyMethods::eq(attr.as_any(), *name) {
                        Ok(equal) => excluded |= equal,
                        Err(error) => {
                            if !self.dropped(error) {
                                return items;
                            }
                        }
                    }
                }
                if excluded {
                    continue;
                }
                match target.getattr(&attr) {
                    Ok(value) => push(self, RefName::Str(attr.unbind()), value),
                    Err(error) => {
                        if !self.dropped(error) {
                            return items;
                        }
                    }
                }
            }
        }
        items
    }

    /// The items of a set taken by iterating it, where its table cannot be read in place.
    pub(super) fn set_items(&mut self, obj: &Strong) -> Vec<(RefName, Strong)> {
        // SAFETY: `obj` is held strongly.
        let bound = unsafe { Bound::from_borrowed_ptr(self.py, obj.as_ptr()) };
        let mut items = Vec::new();
        let iterator = match bound.try_iter() {
            Ok(iterator) => iterator,
            Err(error) => {
                self.dropped(error);
                return items;
            }
        };
        for item in iterator {
            match item {
                Ok(item) => items.push((RefName::Unnamed, Borrowed::from(&item).to_strong())),
                Err(error) => {
                    self.dropped(error);
                    return items;
                }
            }
        }
        items
    }

    /// Keys and values of a mapping that is not a dict, through its `items()`.
    pub(super) fn dict_like_items(&mut self, obj: &Strong) -> Vec<(RefName, Strong)> {
        let py = self.py;
        // SAFETY: `obj` is held strongly.
        let bound = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
        let mut items = Vec::new();
        let pairs =
            match crate::pystr!(py, "items").and_then(|name| bound.call_method0(name)).and_then(|i| i.try_iter()) {
                Ok(pairs) => pairs,
                Err(error) => {
                    self.dropped(error);
                    return items;
                }
            };
        for pair in pairs {
            let pair = match pair {
                Ok(pair) => pair,
                Err(error) => {
                    if !self.dropped(error) {
                        return items;
                    }
                    continue;
                }
            };
            let Ok((key, value)) = pair.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>() else { continue };
            // SAFETY: `key` and `value` are live objects held by the Bound handles.
            let (key, value) = unsafe { (Strong::from_borrowed(key.as_ptr()), Strong::from_borrowed(value.as_ptr())) };
            if let Err(error) = items.grow(2, "the items of a mapping") {
                self.out_of_memory(error);
                return items;
            }
            items.push((RefName::Key(key.clone()), key.clone()));
            items.push((RefName::Value(key), value));
        }
        items
    }
}
