//! An instance's inline values (3.11+) walked as the `__dict__` pympler finds there.
//!
//! Since 3.11 an ordinary instance keeps its attributes in a values array, and a dict
//! object exists only once someone asks for `obj.__dict__`. pympler asks, so its trees
//! always show a `__dict__` node holding the attributes. heapscope never makes the dict:
//! it walks the values as a virtual `__dict__` child of the instance, one level down,
//! whose flat size is the memory the values take. Trees, `limit` and flat sizes then
//! look the same whether or not the dict was ever made. (When only the total counts, the
//! instance's cursor reads the values in place instead: see `Cursor::Instance`.)

use super::{Entered, Frame, Walker, INLINE_VALUES, NO_NODE};
use crate::asizeof::cursors::{Cursor, Held, RefName};
use crate::ffi::{self, InlineAttr, InstanceAttrs, Strong};
use crate::grow::Grow;
use pyo3::prelude::*;

impl<'py> Walker<'_, 'py> {
    /// Reaches the inline values of the top frame's instance at `depth` (one below the
    /// instance), its parent's node being `parent_node`.
    pub(super) fn enter_inline_values(&mut self, depth: u32, parent_node: u32) -> Entered {
        let instance = self.stack.last().expect("a child comes from the top frame").obj.clone();
        // SAFETY: the instance is held by its frame.
        let bytes = match unsafe { ffi::instance_attrs(instance.as_ptr()) } {
            InstanceAttrs::Values { bytes, .. } => bytes,
            _ => 0,
        };
        let flat = self.align(bytes);
        let mut held = Held::Owned(instance.clone());
        let parent = (parent_node != NO_NODE).then_some(parent_node);
        let node = self.new_node(&mut held, RefName::InlineValues, parent, depth).unwrap_or(NO_NODE);
        if self.pending.is_some() {
            return Entered::Stopped;
        }
        if self.options.stats > 1 {
            self.ledger.profile_inline_values(instance.clone(), flat);
        }
        if depth >= self.options.limit {
            return Entered::Done(self.finish_inline_values(flat, flat, node));
        }
        self.ledger.depth = self.ledger.depth.max(depth + 1);
        let named = self.nodes.is_some() && depth < self.options.detail;
        self.push_frame(Frame {
            obj: instance,
            rule_id: INLINE_VALUES,
            cursor: Cursor::InlineValues { index: 0, value_next: false },
            depth,
            node,
            named,
            flat,
            total: flat,
        })
    }

    /// Completes a virtual `__dict__`: its tree node only. It is never ranked (its
    /// object is the instance, ranked on its own) nor a top-level object.
    pub(super) fn finish_inline_values(&mut self, size: u64, flat: u64, node: u32) -> u64 {
        if let (true, Some(nodes)) = (node != NO_NODE, self.nodes.as_mut()) {
            nodes[node as usize].size = size;
            nodes[node as usize].flat = flat;
        }
        size
    }

    /// The instance's inline attributes as `[K] name`, `[V] name: value` pairs, each held.
    pub(super) fn inline_values_items(&mut self, instance: &Strong) -> Option<Vec<(RefName, Strong)>> {
        let mut items = Vec::new();
        for index in 0.. {
            // SAFETY: the instance is held by the caller; the key and value are held at
            // once, and nothing runs in between.
            let (key, value) = match unsafe { ffi::inline_attr(instance.as_ptr(), index) } {
                InlineAttr::End => break,
                InlineAttr::Unset => continue,
                // SAFETY: borrowed from the live instance and its type just now.
                InlineAttr::Set { key, value } => unsafe { (Strong::from_borrowed(key), Strong::from_borrowed(value)) },
            };
            if let Err(error) = items.grow(2, "the attributes of an object") {
                self.out_of_memory(error);
                return None;
            }
            items.push((RefName::Key(key.clone()), key.clone()));
            items.push((RefName::Value(key), value));
        }
        Some(items)
    }

    /// A new dict with the instance's inline attributes, equal to the `__dict__` pympler
    /// would be given (the instance's own is not made). `None`, the error pending, when
    /// the dict cannot be made or grown.
    pub(super) fn inline_values_dict(&mut self, instance: &Strong) -> Option<Strong> {
        // Every attribute is held before the dict is made: making it may collect garbage,
        // which may run finalizers that change the instance.
        let items = self.inline_values_items(instance)?;
        let dict = match ffi::new_dict(self.py) {
            Ok(dict) => dict,
            Err(error) => {
                self.pending.get_or_insert(error);
                return None;
            }
        };
        for pair in items.chunks_exact(2) {
            // SAFETY: both are held strongly by `items`.
            let (key, value) = unsafe {
                (
                    Bound::from_borrowed_ptr(self.py, pair[0].1.as_ptr()),
                    Bound::from_borrowed_ptr(self.py, pair[1].1.as_ptr()),
                )
            };
            if let Err(error) = dict.set_item(key, value) {
                self.pending.get_or_insert(error);
                return None;
            }
        }
        Some(ffi::Borrowed::from(dict.as_any()).to_strong())
    }
}
