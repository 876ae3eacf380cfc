//! The cursors over a container's referents: what a walk frame remembers between two
//! children, and reading the next child in pympler's order. Also the helpers that read
//! builtin containers directly (their flat size and items) and prefetch what a walk
//! reads next.
//!
//! Children are [`Held`]: borrowed from their container (a [`Borrowed`] whose lifetime
//! is the container's) until something must keep them, before Python code runs.

use crate::asizeof::ledger::Ledger;
use crate::asizeof::rules::{Refs, RuleCache, Slot};
use crate::ffi::{self, prefetch, Borrowed, InstanceAttrs, RawObj, Strong};
use crate::grow::{OutOfMemory, TryPush};
use crate::heap::edges as names;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// How a child is named in an `asized` tree.
pub(super) enum RefName {
    /// Named after the object itself (`__name__` or its repr).
    Unnamed,
    Static(&'static str),
    Str(Py<PyString>),
    /// A dict key: `[K] key`.
    Key(Strong),
    /// A dict value: `[V] key: repr(value)`.
    Value(Strong),
    /// Where an instance keeps its attributes without a dict (3.11+): the child is the
    /// instance itself, walked as a virtual `__dict__` (see `Walker::enter_inline_values`),
    /// so that trees have pympler's shape whether or not the dict was ever made.
    InlineValues,
}

/// A child as read from its parent: borrowed (for as long as the parent is alive and
/// unchanged) until something needs it held.
pub(super) enum Held<'a> {
    Borrowed(Borrowed<'a>),
    Owned(Strong),
}

impl<'a> Held<'a> {
    /// A child read from a container that is alive and unchanged for `'a`.
    ///
    /// # Safety
    /// `ptr` must be non-null and alive for `'a` (see [`Borrowed::from_raw`]).
    #[inline(always)]
    unsafe fn borrowed(ptr: RawObj) -> Held<'a> {
        // SAFETY: forwarded caller guarantee.
        Held::Borrowed(unsafe { Borrowed::from_raw(ptr) })
    }

    #[inline(always)]
    pub(super) fn obj(&self) -> Borrowed<'_> {
        match self {
            Held::Borrowed(obj) => *obj,
            Held::Owned(strong) => strong.borrow(),
        }
    }

    #[inline(always)]
    pub(super) fn ptr(&self) -> RawObj {
        self.obj().as_ptr()
    }

    /// Upgrades to a strong reference (before running Python code) and returns it.
    #[inline]
    pub(super) fn hold(&mut self) -> &Strong {
        if let Held::Borrowed(obj) = *self {
            *self = Held::Owned(obj.to_strong());
        }
        match self {
            Held::Owned(strong) => strong,
            Held::Borrowed(_) => unreachable!("upgraded above"),
        }
    }

    pub(super) fn into_strong(mut self) -> Strong {
        self.hold();
        match self {
            Held::Owned(strong) => strong,
            Held::Borrowed(_) => unreachable!("upgraded above"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum InstanceStage {
    Storage,
    /// Inline values read in the instance's own frame (see `Cursor::Instance`).
    Values,
    Class,
    Slots,
}

/// Where a frame is in producing its object's children. Kept small (frames are pushed
/// for every container): rarely needed state is boxed.
pub(super) enum Cursor {
    List(usize),
    Tuple(usize),
    Set(usize),
    Dict {
        pos: isize,
        value_next: bool,
        extra: Option<Box<DictExtra>>,
    },
    /// An instance: its attribute storage, `__class__`, then its `__slots__`. Inline
    /// values are a virtual `__dict__` child of their own ([`RefName::InlineValues`]),
    /// except `in_place`: when only the total counts (no tree, `limit` or statistics)
    /// they are read in this frame, which saves a frame per instance.
    Instance {
        stage: InstanceStage,
        index: usize,
        value_next: bool,
        in_place: bool,
    },
    /// An instance's inline values, walked as its virtual `__dict__`: key `index`, then
    /// (`value_next`) its value.
    InlineValues {
        index: usize,
        value_next: bool,
    },
    NamedTuple {
        stage: u8,
        index: usize,
    },
    /// A numpy array read from its struct: its `base` (index 0), then an object array's
    /// items.
    NumpyArray(usize),
    /// Children computed up front (rules that read attributes through Python).
    Items(Box<ItemsCursor>),
}

/// Dict cursor state needed only sometimes.
#[derive(Default)]
pub(super) struct DictExtra {
    /// The dict iterated when it is not the frame's object (a module's, a proxy's).
    dict: Option<Strong>,
    /// The current key, to name its value in an `asized` tree.
    key: Option<Strong>,
    /// The value of the current entry of a split table, held until it is produced.
    pending: Option<Strong>,
}

impl DictExtra {
    pub(super) fn over(dict: Strong) -> Option<Box<DictExtra>> {
        Some(Box::new(DictExtra { dict: Some(dict), ..DictExtra::default() }))
    }
}

pub(super) struct ItemsCursor {
    items: Vec<(RefName, Strong)>,
    index: usize,
}

impl Cursor {
    /// The kind of referents a builtin-container cursor walks.
    pub(super) fn refs(&self) -> Refs {
        match self {
            Cursor::List(_) => Refs::List,
            Cursor::Tuple(_) => Refs::Tuple,
            Cursor::Dict { .. } => Refs::Dict,
            _ => Refs::None,
        }
    }

    pub(super) fn items(items: Vec<(RefName, Strong)>) -> Cursor {
        Cursor::Items(Box::new(ItemsCursor { items, index: 0 }))
    }

    /// The next child of `obj`, the object the cursor was made for, or `None` when it has
    /// no more. Children named below the `detail` level (`named` false) are `Unnamed`.
    /// Where Python code reads a child (a `__slots__` getter, a `__dict__` property), an
    /// `Exception` it raises skips that child; any other error is put in `error`, and
    /// `None` returned.
    ///
    /// # Safety
    /// `obj` must be of the type the cursor's rule (`rule_id`) was made for. A borrowed
    /// child lives as long as its container is unchanged: it must be used, or held,
    /// before any Python code runs.
    #[inline(always)]
    pub(super) unsafe fn next<'c>(
        &mut self,
        py: Python<'_>,
        obj: Borrowed<'c>,
        named: bool,
        rule_id: u32,
        rules: &RuleCache,
        error: &mut Option<PyErr>,
    ) -> Option<(Held<'c>, RefName)> {
        let ptr = obj.as_ptr();
        // SAFETY: `ptr` is alive (borrowed) and of the type the cursor was made for (this
        // covers the whole match); every cursor re-reads its container, so each item is
        // read within bounds and is alive while the container is unchanged.
        unsafe {
            match self {
                Cursor::List(i) => {
                    let item = ffi::list_item(ptr, *i)?;
                    *i += 1;
                    if let Some(ahead) = ffi::list_item(ptr, *i + PREFETCH_AHEAD) {
                        prefetch(ahead);
                    }
                    if let Some(next) = ffi::list_item(ptr, *i) {
                        prefetch_interior(next);
                    }
                    Some((Held::borrowed(item), RefName::Unnamed))
                }
                Cursor::Tuple(i) => {
                    let item = ffi::tuple_item(ptr, *i)?;
                    *i += 1;
                    if let Some(ahead) = ffi::tuple_item(ptr, *i + PREFETCH_AHEAD) {
                        prefetch(ahead);
                    }
                    Some((Held::borrowed(item), RefName::Unnamed))
                }
                Cursor::Set(pos) => Some((Held::borrowed(ffi::set_next(ptr, pos)?), RefName::Unnamed)),
                Cursor::NumpyArray(i) => {
                    *i += 1;
                    if *i == 1 {
                        return Some((Held::borrowed(ffi::array_base(ptr)), RefName::Static("base")));
                    }
                    if ffi::array_kind(ptr) != b'O' {
                        return None;
                    }
                    Some((Held::borrowed(ffi::array_object_item(ptr, *i - 2)?), RefName::Unnamed))
                }
                Cursor::Dict { pos, value_next, extra } => {
                    if let Some(extra) = extra.as_mut() {
                        if let Some(value) = extra.pending.take() {
                            let name = extra.key.take().map_or(RefName::Unnamed, RefName::Value);
                            return Some((Held::Owned(value), name));
                        }
                    }
                    let dict_ptr = extra.as_ref().and_then(|e| e.dict.as_ref()).map_or(ptr, Strong::as_ptr);
                    // `pos` counts entries of a combined table, whose value is read in
                    // place after its key (re-read: the key's walk may have run Python
                    // code). Once a split table is met, PyDict_Next takes over, its
                    // positions stored as `-1 - pos`, and the value is held meanwhile.
                    if *pos >= 0 {
                        if *value_next {
                            *value_next = false;
                            let mut at = *pos as usize - 1;
                            if let Ok(Some((_, value))) = ffi::dict_entry(dict_ptr, &mut at) {
                                *pos = at as isize;
                                // The first values' headers were prefetched when the frame
                                // was made; keep loading one further ahead.
                                let mut far = at + 2 * PREFETCH_AHEAD;
                                if let Ok(Some((_, later))) = ffi::dict_entry(dict_ptr, &mut far) {
                                    prefetch(later);
                                }
                                let key = extra.as_mut().and_then(|e| e.key.take());
                                return Some((Held::borrowed(value), key.map_or(RefName::Unnamed, RefName::Value)));
                            }
                        }
                        let mut index = *pos as usize;
                        match ffi::dict_entry(dict_ptr, &mut index) {
                            Ok(entry) => {
                                let (entry_key, _) = entry?;
                                *pos = index as isize;
                                *value_next = true;
                                let name = name_key(named, Borrowed::from_raw(entry_key), extra);
                                return Some((Held::borrowed(entry_key), name));
                            }
                            Err(()) => *pos = -1,
                        }
                    }
                    let mut next = -1 - *pos;
                    let (entry_key, value) = ffi::dict_next(dict_ptr, &mut next)?;
                    *pos = -1 - next;
                    extra.get_or_insert_with(Box::default).pending = Some(Strong::from_borrowed(value));
                    let name = name_key(named, Borrowed::from_raw(entry_key), extra);
                    Some((Held::borrowed(entry_key), name))
                }
                Cursor::Instance { stage, index, value_next, in_place } => loop {
                    match *stage {
                        InstanceStage::Storage => {
                            *stage = InstanceStage::Class;
                            match ffi::instance_attrs(ptr) {
                                InstanceAttrs::Dict(dict) => {
                                    return Some((Held::borrowed(dict), RefName::Static("__dict__")));
                                }
                                InstanceAttrs::Unreadable => {
                                    if let Some(dict) = instance_dict(py, obj, error) {
                                        return Some((dict, RefName::Static("__dict__")));
                                    }
                                    if error.is_some() {
                                        return None;
                                    }
                                }
                                InstanceAttrs::Values { .. } if *in_place => *stage = InstanceStage::Values,
                                InstanceAttrs::Values { .. } => {
                                    return Some((Held::Borrowed(obj), RefName::InlineValues))
                                }
                                InstanceAttrs::Nothing => {}
                            }
                        }
                        InstanceStage::Values => match next_inline_attr(ptr, index, value_next, named) {
                            Some(child) => return Some(child),
                            None => {
                                *stage = InstanceStage::Class;
                                *index = 0;
                            }
                        },
                        InstanceStage::Class => {
                            *stage = InstanceStage::Slots;
                            return Some((Held::Borrowed(obj.type_object()), RefName::Static("__class__")));
                        }
                        InstanceStage::Slots => {
                            let slots = rules.slots(rule_id).clone();
                            return next_slot(py, obj, &slots, index, error);
                        }
                    }
                },
                Cursor::InlineValues { index, value_next } => next_inline_attr(ptr, index, value_next, named),
                Cursor::NamedTuple { stage, index } => loop {
                    match *stage {
                        0 => {
                            *stage = 1;
                            return Some((Held::Borrowed(obj.type_object()), RefName::Static("__class__")));
                        }
                        1 => {
                            let slots = rules.slots(rule_id).clone();
                            if let Some(child) = next_slot(py, obj, &slots, index, error) {
                                return Some(child);
                            }
                            if error.is_some() {
                                return None;
                            }
                            *stage = 2;
                            *index = 0;
                        }
                        _ => {
                            let item = ffi::tuple_item(ptr, *index)?;
                            *index += 1;
                            return Some((Held::borrowed(item), RefName::Unnamed));
                        }
                    }
                },
                Cursor::Items(cursor) => {
                    let (name, obj) = cursor.items.get_mut(cursor.index)?;
                    cursor.index += 1;
                    let name = std::mem::replace(name, RefName::Unnamed);
                    Some((Held::Owned(obj.clone()), name))
                }
            }
        }
    }
}

/// An instance's `__dict__` asked of the interpreter (which makes it if need be), for
/// attribute storage this build cannot read in place; `None` when the instance has none
/// or the lookup raised an error: an `Exception` is dropped, any other is put in `error`.
///
/// # Safety
/// `obj` must be alive.
unsafe fn instance_dict<'c>(py: Python<'_>, obj: Borrowed<'c>, error: &mut Option<PyErr>) -> Option<Held<'c>> {
    // SAFETY: `obj` is alive (borrowed from its frame).
    let bound = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
    match crate::pystr!(py, "__dict__").and_then(|name| bound.getattr(name)) {
        Ok(dict) => Some(Held::Owned(Borrowed::from(&dict).to_strong())),
        Err(raised) => {
            keep_unless_exception(py, raised, error);
            None
        }
    }
}

/// Drops an `Exception`; keeps any other error (the first one) in `error`.
fn keep_unless_exception(py: Python<'_>, raised: PyErr, error: &mut Option<PyErr>) {
    if !raised.is_instance_of::<pyo3::exceptions::PyException>(py) {
        error.get_or_insert(raised);
    }
}

/// [`prefetch`] of the fields the unordered walk reads (type, size, a dict's or list's
/// table pointer: the first 48 bytes), which straddle two cache lines for objects that
/// start in the second half of a line.
#[inline(always)]
pub(super) fn prefetch_header(obj: RawObj) {
    prefetch(obj);
    prefetch(obj.cast::<u8>().wrapping_add(40).cast());
}

/// Flat size and cursor of an exact `list`, `tuple` or `dict` (GC-tracked, no managed
/// dict: the pre-header is the GC header); `None` for anything else.
#[inline(always)]
pub(super) fn container_start(obj: Borrowed<'_>) -> Option<(usize, Cursor)> {
    let tp = obj.type_ptr();
    let ptr = obj.as_ptr();
    // SAFETY: `obj` is alive (borrowed); each formula is applied to its exact type only.
    let (size, cursor) = unsafe {
        if ffi::is_list_type(tp) {
            (ffi::list_sizeof(ptr)?, Cursor::List(0))
        } else if ffi::is_dict_type(tp) {
            (ffi::dict_sizeof(ptr)?, Cursor::Dict { pos: 0, value_next: false, extra: None })
        } else if ffi::is_tuple_type(tp) {
            (ffi::object_sizeof(ptr), Cursor::Tuple(0))
        } else {
            return None;
        }
    };
    Some((size + ffi::GC_HEAD, cursor))
}

/// A strong reference to each object of a pipeline of borrowed pointers (with their
/// depths), for Python code to run while they stay alive; `Err` when the list cannot
/// grow.
///
/// # Safety
/// Every pointer must be alive (no Python code ran since it was read).
#[cold]
pub(super) unsafe fn hold_all<'a>(
    pipeline: impl Iterator<Item = &'a (RawObj, u32)> + Clone,
) -> Result<Vec<Strong>, OutOfMemory> {
    let mut held = crate::grow::vec_with_capacity(pipeline.clone().count(), "the list of objects to size")?;
    // SAFETY: alive (requirements).
    held.extend(pipeline.map(|&(obj, _)| unsafe { Strong::from_borrowed(obj) }));
    Ok(held)
}

/// For an exact list, tuple or dict with a combined table: pushes its referents (in
/// reverse, so that they are taken in order) and returns its flat size, looking at the
/// type once. A dict key seen before is counted as a repeat instead of being pushed.
/// `Ok(None)`, pushing nothing, for anything else (a dict with a split table among
/// them); `Err` when the work list (or the set of repeats) cannot grow.
///
/// The work list holds borrowed pointers whose liveness depends on no Python code
/// running until it is drained, which no lifetime expresses: hence raw pointers.
///
/// # Safety
/// `obj` must be alive, and no Python code may run while the pushed pointers are used.
#[inline(always)]
pub(super) unsafe fn push_container(
    obj: RawObj,
    depth: u32,
    work: &mut Vec<(RawObj, u32)>,
    ledger: &mut Ledger,
) -> Result<Option<usize>, OutOfMemory> {
    const WHAT: &str = "the list of objects to size";
    // The first refusal is kept and the rest of the container skipped.
    let mut failed: Option<OutOfMemory> = None;
    let mut push = |item: RawObj, failed: &mut Option<OutOfMemory>| {
        if failed.is_none() {
            if let Err(error) = work.try_push((item, depth), WHAT) {
                *failed = Some(error);
            }
        }
    };
    // SAFETY: `obj` is alive; each layout is read for its exact type only, and no
    // Python code runs.
    let size = unsafe {
        let tp = ffi::type_of(obj);
        if ffi::is_dict_type(tp) {
            let Some(size) = ffi::dict_sizeof(obj) else { return Ok(None) };
            if !ffi::dict_entries_rev(obj, |key, value| {
                push(value, &mut failed);
                // Keys are often shared (the same str in many dicts): one seen before
                // is a repeat now rather than after a trip through the pipeline.
                let address = ffi::address(key);
                if ledger.visited.contains(address) {
                    if let Err(error) = ledger.repeat(address) {
                        failed.get_or_insert(error);
                    }
                } else {
                    push(key, &mut failed);
                }
            }) {
                return Ok(None);
            }
            size
        } else if ffi::is_list_type(tp) {
            let Some(size) = ffi::list_sizeof(obj) else { return Ok(None) };
            ffi::list_items_rev(obj, |item| push(item, &mut failed));
            size
        } else if ffi::is_tuple_type(tp) {
            ffi::tuple_items_rev(obj, |item| push(item, &mut failed));
            ffi::object_sizeof(obj)
        } else {
            return Ok(None);
        }
    };
    match failed {
        Some(error) => Err(error),
        None => Ok(Some(size + ffi::GC_HEAD)),
    }
}

/// How many items ahead a list or tuple cursor prefetches.
pub(super) const PREFETCH_AHEAD: usize = 8;

/// Starts loading the first children of a new frame all at once, so their cache misses
/// overlap instead of following one another.
///
/// # Safety
/// `obj` must match `refs` (be of a type whose rule has these referents).
#[inline]
pub(super) unsafe fn prefetch_children(obj: Borrowed<'_>, refs: Refs) {
    let ptr = obj.as_ptr();
    // SAFETY: `ptr` is alive (borrowed) and matches `refs`; only reads the container.
    unsafe {
        match refs {
            Refs::List => (0..PREFETCH_AHEAD).map_while(|i| ffi::list_item(ptr, i)).for_each(prefetch),
            Refs::Tuple => (0..PREFETCH_AHEAD).map_while(|i| ffi::tuple_item(ptr, i)).for_each(prefetch),
            Refs::Instance => {
                if let InstanceAttrs::Values { values, count, .. } = ffi::instance_attrs(ptr) {
                    (0..count.min(2 * PREFETCH_AHEAD)).for_each(|i| prefetch(ffi::value_at(values, i)));
                }
            }
            Refs::Dict => {
                let mut index = 0;
                for _ in 0..2 * PREFETCH_AHEAD {
                    let Ok(Some((_, value))) = ffi::dict_entry(ptr, &mut index) else { break };
                    prefetch(value);
                }
            }
            _ => {}
        }
    }
}

/// For an object whose header is (most likely) cached already, starts loading the
/// tables it points to: a dict's keys, a list's item array (at most four cache lines,
/// from the line the table starts in).
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub(super) unsafe fn prefetch_interior(obj: RawObj) {
    // SAFETY: `obj` is alive; only pointers stored in it are read.
    let Some((table, bytes)) = (unsafe { ffi::interior_table(obj) }) else { return };
    let first = (table as usize) & !63;
    let last = (table as usize).wrapping_add(bytes.min(256));
    let mut line = first;
    while line < last {
        prefetch(line as RawObj);
        line += 64;
    }
}

/// The next of an instance's inline attributes at or after `index`: its key, then
/// (`value_next`) its value; `None` past the last.
///
/// # Safety
/// `ptr` must be alive; the child is borrowed from it (see [`Cursor::next`]).
#[inline(always)]
unsafe fn next_inline_attr<'c>(
    ptr: RawObj,
    index: &mut usize,
    value_next: &mut bool,
    named: bool,
) -> Option<(Held<'c>, RefName)> {
    loop {
        // SAFETY: `ptr` is alive (caller); the attribute is read afresh.
        let (key, value) = match unsafe { ffi::inline_attr(ptr, *index) } {
            ffi::InlineAttr::End => return None,
            ffi::InlineAttr::Unset => {
                *index += 1;
                continue;
            }
            ffi::InlineAttr::Set { key, value } => (key, value),
        };
        // SAFETY: the key is a live str held by the instance's type.
        let key_name = || named.then(|| unsafe { Strong::from_borrowed(key) });
        if *value_next {
            *index += 1;
            *value_next = false;
            // SAFETY: the value was just read from the live instance.
            return Some((unsafe { Held::borrowed(value) }, key_name().map_or(RefName::Unnamed, RefName::Value)));
        }
        *value_next = true;
        // SAFETY: as above.
        return Some((unsafe { Held::borrowed(key) }, key_name().map_or(RefName::Unnamed, RefName::Key)));
    }
}

/// The name of a dict key in an `asized` tree (kept to name its value too), or
/// `Unnamed` below the detail level.
#[inline]
fn name_key(named: bool, key: Borrowed<'_>, extra: &mut Option<Box<DictExtra>>) -> RefName {
    if !named {
        return RefName::Unnamed;
    }
    let key = key.to_strong();
    extra.get_or_insert_with(Box::default).key = Some(key.clone());
    RefName::Key(key)
}

/// The parts a node name is made of (see `heap::edges::ref_name`).
pub(super) fn name_parts(name: &RefName) -> names::NamePart<'_> {
    match name {
        RefName::Unnamed => names::NamePart::Object,
        RefName::Static(text) => names::NamePart::Text(text),
        RefName::Str(text) => names::NamePart::PyText(text),
        RefName::Key(key) => names::NamePart::Key(key),
        RefName::Value(key) => names::NamePart::Value(key),
        RefName::InlineValues => names::NamePart::Text("__dict__"),
    }
}

/// The next set `__slots__` value at or after `index`. A getter that raises an
/// `Exception` skips its slot; any other error is put in `error` and ends the slots.
///
/// # Safety
/// `obj` must be an instance of the type the slots were computed for.
unsafe fn next_slot<'c>(
    py: Python<'_>,
    obj: Borrowed<'c>,
    slots: &[Slot],
    index: &mut usize,
    error: &mut Option<PyErr>,
) -> Option<(Held<'c>, RefName)> {
    while let Some(slot) = slots.get(*index) {
        *index += 1;
        let name = RefName::Str(slot.name().clone_ref(py));
        match slot {
            Slot::Member { offset, .. } => {
                // SAFETY: the offset comes from a member descriptor made for this type
                // or a base, and lies within the instance (`object_member_offset`); a
                // set slot holds its value, alive while `obj` is unchanged.
                let value = unsafe { ffi::slot_value(obj.as_ptr(), *offset) };
                if !value.is_null() {
                    // SAFETY: as above; `value` is not NULL.
                    return Some((unsafe { Held::borrowed(value) }, name));
                }
            }
            Slot::Attr { name: attr } => {
                // SAFETY: `obj` is alive (borrowed from its frame).
                let bound = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
                match bound.getattr(attr.bind(py)) {
                    Ok(value) => return Some((Held::Owned(Borrowed::from(&value).to_strong()), name)),
                    Err(raised) => {
                        keep_unless_exception(py, raised, error);
                        if error.is_some() {
                            return None;
                        }
                    }
                }
            }
        }
    }
    None
}
