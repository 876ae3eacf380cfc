//! Objects of data libraries: those sized by a registered footprint function (see
//! `asizeof::libraries`) and numpy arrays, whose `base` and object items are read with
//! Python's help.

use super::{Entered, Walker, NO_NODE};
use crate::asizeof::cursors::{Cursor, Held, RefName};
use crate::asizeof::ledger::FirstCounter;
use crate::asizeof::libraries::{footprint, Footprint, Referent};
use crate::asizeof::rules::{str_equals, Rule};
use crate::ffi::{self, RawObj, Strong};
use crate::grow::{Grow, TryPush};
use crate::heap::edges::clip_text;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

/// How many characters of the name of the object that counted shared data first are shown.
const SHARER_CLIP: usize = 40;

impl<'py> Walker<'_, 'py> {
    /// Sizes an object whose type has a footprint function: its own size, plus the RAM
    /// buffers no object counted before, then its referents (the function's, or the
    /// instance's). A function raising an `Exception` leaves the object sized as any
    /// other instance, counted as missed.
    pub(super) fn enter_library(
        &mut self,
        held: Held<'_>,
        index: u16,
        rule: &Rule,
        depth: u32,
        node: Option<u32>,
        parent_id: usize,
    ) -> Entered {
        // Its inline values, if any, are always a virtual `__dict__`: the footprint's own
        // size leaves them out, and its referents may be read as `refs()` reads them.
        let in_place = std::mem::replace(&mut self.inline_in_place, false);
        let entered = self.enter_footprint(held, index, rule, depth, node, parent_id);
        self.inline_in_place = in_place;
        entered
    }

    fn enter_footprint(
        &mut self,
        mut held: Held<'_>,
        index: u16,
        rule: &Rule,
        depth: u32,
        node: Option<u32>,
        parent_id: usize,
    ) -> Entered {
        // An object a footprint made for the tree counts what it reaches, not itself.
        let part = self.ledger.take_part(ffi::address(held.ptr()));
        let obj = held.hold().clone();
        let found = match footprint(self.py, index, &obj) {
            Ok(found) => Some(found),
            Err(error) if error.is_instance_of::<PyException>(self.py) => {
                self.ledger.missed += 1;
                None
            }
            Err(error) => {
                self.pending.get_or_insert(error);
                return Entered::Stopped;
            }
        };
        let (flat, referents, usual) = match found {
            Some(Footprint { size, buffers, referents, usual }) => {
                let own = match size {
                    // As `__sizeof__` would report it: the pre-header is added, as
                    // `sys.getsizeof` adds it.
                    Some(size) => {
                        usize::try_from(size).unwrap_or(usize::MAX).saturating_add(self.pre_header(held.ptr(), rule))
                    }
                    // The rule's flat size leaves out the registered class's own
                    // `__sizeof__`, which may count the buffers again.
                    None => match self.flat_size(&mut held, rule) {
                        Some(own) => own,
                        None => return Entered::Stopped,
                    },
                };
                let own = if part { 0 } else { own };
                let name =
                    node.and_then(|node| self.nodes.as_ref().map(|nodes| nodes[node as usize].name.clone_ref(self.py)));
                let counted = match self.ledger.count_buffers(self.py, &buffers, name.as_ref()) {
                    Ok(counted) => counted,
                    Err(error) => {
                        self.out_of_memory(error);
                        return Entered::Stopped;
                    }
                };
                if let (Some(node), Some(first)) = (node, counted.shared) {
                    self.name_sharing(node, first);
                }
                (self.align(own).saturating_add(counted.ram), referents, usual)
            }
            None => match self.flat_size(&mut held, rule) {
                Some(flat) => (if part { 0 } else { self.align(flat) }, None, false),
                None => return Entered::Stopped,
            },
        };
        if self.options.stats > 1 {
            self.ledger.profile(obj.clone(), flat);
        }
        drop(held);
        if depth >= self.options.limit {
            return Entered::Done(self.finish(Held::Owned(obj), flat, flat, node.unwrap_or(NO_NODE), depth, parent_id));
        }
        let cursor = match referents {
            Some(referents) => {
                let mut items = Vec::new();
                for Referent { name, obj: value, made } in referents {
                    self.keep_if_temporary(&value);
                    if made {
                        if let Err(error) = self.ledger.add_part(&value) {
                            self.out_of_memory(error);
                            return Entered::Stopped;
                        }
                    }
                    let name = name.map_or(RefName::Unnamed, RefName::Str);
                    if let Err(error) = items.try_push((name, value), "the referents of an object") {
                        self.out_of_memory(error);
                        return Entered::Stopped;
                    }
                }
                if usual {
                    let Some(more) = self.held_referents(&obj, rule) else { return Entered::Stopped };
                    if let Err(error) = items.grow(more.len(), "the referents of an object") {
                        self.out_of_memory(error);
                        return Entered::Stopped;
                    }
                    items.extend(more);
                }
                Cursor::items(items)
            }
            None => match self.cursor_for(&obj, rule) {
                Some(cursor) => cursor,
                None => return Entered::Stopped,
            },
        };
        if self.pending.is_some() {
            return Entered::Stopped;
        }
        self.push_object_frame(obj, rule, cursor, depth, node, flat)
    }

    /// Says in the name of tree node `node` that its data was counted first by `first`.
    fn name_sharing(&mut self, node: u32, first: FirstCounter) {
        let py = self.py;
        let Some(nodes) = self.nodes.as_mut() else { return };
        let current = nodes[node as usize].name.bind(py);
        let text = match &first {
            FirstCounter::Named(first) => match clip_text(first.bind(py), SHARER_CLIP) {
                Ok(first) => format!("{current} (shares its data with {first})"),
                Err(error) => {
                    if !error.is_instance_of::<PyException>(py) {
                        self.pending.get_or_insert(error);
                    }
                    format!("{current} (shares its data)")
                }
            },
            FirstCounter::Unnamed => format!("{current} (its data is counted elsewhere)"),
        };
        nodes[node as usize].name = pyo3::types::PyString::new(py, &text).into_any().unbind();
    }

    /// In the unordered pass: the flat size of a plain numpy array (see
    /// `rules::plain_arrays`) that is not an object array, its `base` pushed on `work`.
    /// `None` for anything else, which that pass defers to the ordered walk.
    ///
    /// # Safety
    /// `obj` must be alive, borrowed from a container no Python code has run since.
    #[inline]
    pub(super) unsafe fn array_in_pass(
        &mut self,
        obj: RawObj,
        depth: u32,
        work: &mut Vec<(RawObj, u32)>,
    ) -> Option<usize> {
        // SAFETY: `obj` is alive (caller), and so is its type.
        let elsize = self.rules.plain_array(unsafe { ffi::type_of(obj) })?;
        // SAFETY: the type's layout was checked (it is remembered only then).
        unsafe {
            let flat = ffi::array_sizeof(obj, elsize)?;
            // The items of an object array, last first (`work` is a stack), then the base
            // (`None` for an array owning its data, counted as pympler counts it): all
            // borrowed from the array, alive while it is.
            const WHAT: &str = "the objects to size";
            if ffi::array_kind(obj) == b'O' {
                let count = ffi::array_len(obj)?;
                if let Err(error) = work.grow(count.saturating_add(1), WHAT) {
                    self.out_of_memory(error);
                    return Some(flat);
                }
                for index in (0..count).rev() {
                    if let Some(item) = ffi::array_object_item(obj, index) {
                        work.push((item, depth + 1));
                    }
                }
            }
            if let Err(error) = work.try_push((ffi::array_base(obj), depth + 1), WHAT) {
                self.out_of_memory(error);
            }
            self.ledger.depth = self.ledger.depth.max(depth + 1);
            Some(flat)
        }
    }

    /// A numpy array's referents read as attributes: its `base` (which holds the data of
    /// a view), then the items of an object array, which hold its memory as much as a
    /// list's do.
    pub(super) fn numpy_items(&mut self, obj: &Strong) -> Vec<(RefName, Strong)> {
        let py = self.py;
        // SAFETY: `obj` is held strongly.
        let array = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
        let mut items = Vec::new();
        match crate::pystr!(py, "base").and_then(|name| array.getattr(name)) {
            Ok(base) => {
                if !self.push_held(&mut items, RefName::Static("base"), &base) {
                    return items;
                }
            }
            Err(error) => {
                if !self.dropped(error) {
                    return items;
                }
            }
        }
        let kind = crate::pystr!(py, "dtype")
            .and_then(|name| array.getattr(name))
            .and_then(|dtype| dtype.getattr(crate::pystr!(py, "kind")?));
        let is_object = match kind {
            Ok(kind) => str_equals(&kind, c"O"),
            Err(error) => {
                self.dropped(error);
                false
            }
        };
        if is_object {
            self.push_object_items(obj, &mut items);
        }
        items
    }

    /// Appends the items of the object array `obj`, in memory order whatever its shape
    /// (`flat` returns the objects themselves).
    fn push_object_items(&mut self, obj: &Strong, items: &mut Vec<(RefName, Strong)>) {
        let py = self.py;
        // SAFETY: `obj` is held strongly.
        let array = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
        let iter = crate::pystr!(py, "flat").and_then(|name| array.getattr(name)).and_then(|flat| flat.try_iter());
        let iter = match iter {
            Ok(iter) => iter,
            Err(error) => {
                self.dropped(error);
                return;
            }
        };
        for item in iter {
            if let Err(error) = self.poll.check(py) {
                self.pending.get_or_insert(error);
                return;
            }
            match item {
                Ok(item) => {
                    if !self.push_held(items, RefName::Unnamed, &item) {
                        return;
                    }
                }
                Err(error) => {
                    self.dropped(error);
                    return;
                }
            }
        }
    }

    /// Holds `value` for the walk (kept alive if it is a temporary) and appends it;
    /// `false` when the list could not grow (the walk stops).
    fn push_held(&mut self, items: &mut Vec<(RefName, Strong)>, name: RefName, value: &Bound<'py, PyAny>) -> bool {
        // SAFETY: `value` is a live object we own a reference to through `Bound`.
        let strong = unsafe { Strong::from_borrowed(value.as_ptr()) };
        self.keep_if_temporary(&strong);
        match items.try_push((name, strong), "the items of an array") {
            Ok(()) => true,
            Err(error) => {
                self.out_of_memory(error);
                false
            }
        }
    }
}
