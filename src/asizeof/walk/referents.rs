//! The referents `asizeof` follows from one object, read without walking further: for
//! `refs()` and `named_refs()`, and for footprints that keep an object's usual referents.

use super::{Entered, Frame, Walker, NO_NODE};
use crate::asizeof::cursors::{name_parts, RefName};
use crate::asizeof::rules::Rule;
use crate::ffi::{Borrowed, Strong};
use crate::grow::TryPush;
use crate::heap::edges as names;
use pyo3::prelude::*;

impl<'py> Walker<'_, 'py> {
    /// The referents `asizeof` follows from `obj`, with their names (`None` for items).
    /// Attributes Python keeps inline (3.11+) come as one new dict named `__dict__`, as
    /// pympler finds them, or, with `inline_items`, as their `[K]` and `[V]` pairs.
    pub fn named_referents(
        &mut self,
        obj: &Bound<'py, PyAny>,
        inline_items: bool,
    ) -> PyResult<Vec<(Py<PyAny>, Bound<'py, PyAny>)>> {
        // Inline values as the one `__dict__` child (or its items) the callers name.
        self.inline_in_place = false;
        let strong = Borrowed::from(obj).to_strong();
        let rule = self.rules.classify(self.py, &strong)?;
        // `None` only when reading the referents raised (the error is pending).
        let Some(mut children) = self.held_referents(&strong, &rule) else {
            return self.take_pending().map(|()| Vec::new());
        };
        if let Some(at) = children.iter().position(|(name, _)| matches!(name, RefName::InlineValues)) {
            let instance = children[at].1.clone();
            let found = if inline_items {
                self.inline_values_items(&instance)
            } else {
                self.inline_values_dict(&instance).map(|dict| vec![(RefName::Static("__dict__"), dict)])
            };
            let Some(found) = found else { return self.take_pending().map(|()| Vec::new()) };
            children.splice(at..=at, found);
        }
        let mut out = Vec::new();
        for (name, child) in children {
            let name = match name {
                RefName::Unnamed => self.py.None(),
                other => names::ref_name(self.py, &child, name_parts(&other), self.options.clip)?,
            };
            // SAFETY: `child` is held strongly.
            let pair = (name, unsafe { Bound::from_borrowed_ptr(self.py, child.as_ptr()) });
            out.try_push(pair, "the list of referents")?;
        }
        Ok(out)
    }

    /// The referents `rule` gives `obj` (without its footprint), each held, their names
    /// not yet made. `None` when reading them stopped the walk (the error is pending).
    pub(super) fn held_referents(&mut self, obj: &Strong, rule: &Rule) -> Option<Vec<(RefName, Strong)>> {
        let cursor = self.cursor_for(obj, rule)?;
        if let Entered::Stopped = self.push_frame(Frame {
            obj: obj.clone(),
            rule_id: rule.id,
            cursor,
            depth: 0,
            node: NO_NODE,
            named: true,
            flat: 0,
            total: 0,
        }) {
            return None;
        }
        let mut out = Vec::new();
        // SAFETY: each child is held at once, before Python code runs.
        while let Some((held, name)) = unsafe { self.next_child() } {
            if let Err(error) = out.try_push((name, held.into_strong()), "the referents of an object") {
                self.out_of_memory(error);
                break;
            }
        }
        self.stack.pop();
        self.pending.is_none().then_some(out)
    }
}
