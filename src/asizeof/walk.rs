//! The object-graph walk behind `asizeof`.
//!
//! A depth-first walk with an explicit stack (never recursion: a list nested a million
//! levels deep only grows a heap-allocated `Vec`). Children are produced lazily by a
//! cursor per frame, in the order pympler visits them, and an object is marked seen when
//! it is reached, so the first path that reaches a shared object gets its size, exactly
//! as in pympler (this matters for `limit` and for `asized` trees).
//!
//! Memory safety: every frame owns a strong reference to its object. A child is read as a
//! borrowed pointer from its parent and used at once; before anything that can run
//! Python code (a foreign `__sizeof__`, `getattr`, `repr`, classifying a new type) the
//! child is upgraded to a strong reference, and cursors re-read their container after
//! every step, so a container mutated by that code is still read within bounds.

use crate::asizeof::flat::{foreign_sizeof, leaf_size};
use crate::asizeof::ledger::{Ledger, Mark, ProfileKey};
use crate::asizeof::names;
use crate::asizeof::rules::{AttrSpec, Refs, Rule, RuleCache, Slot, PER_OBJECT};
use crate::ffi::{self, prefetch, InstanceAttrs, RawObj, Strong};
use pyo3::ffi as pyffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Sizing options of one call (pympler's keyword options).
#[derive(Clone, Copy)]
pub struct Options {
    /// `align - 1`; 0 when sizes are not aligned.
    pub align_mask: usize,
    pub code: bool,
    pub ignored: bool,
    /// Deepest level whose referents are followed; `u32::MAX` for no limit.
    pub limit: u32,
    /// Levels of named referents kept in `asized` trees.
    pub detail: u32,
    pub stats: u32,
    pub above: u64,
    /// Longest repr used in node names (0: unclipped).
    pub clip: usize,
}

/// One node of an `asized` tree, in pre-order.
pub struct Node {
    pub parent: Option<u32>,
    pub name: Py<PyAny>,
    pub size: u64,
    pub flat: u64,
}

/// How a child is named in an `asized` tree.
enum RefName {
    /// Named after the object itself (`__name__` or its repr).
    Unnamed,
    Static(&'static str),
    Str(Py<PyString>),
    /// A dict key: `[K] key`.
    Key(Strong),
    /// A dict value: `[V] key: repr(value)`.
    Value(Strong),
}

/// A child as read from its parent: borrowed until something needs it held.
enum Held {
    Borrowed(RawObj),
    Owned(Strong),
}

impl Held {
    #[inline]
    fn ptr(&self) -> RawObj {
        match self {
            Held::Borrowed(ptr) => *ptr,
            Held::Owned(strong) => strong.as_ptr(),
        }
    }

    /// Upgrades to a strong reference (before running Python code) and returns it.
    #[inline]
    fn hold(&mut self) -> &Strong {
        if let Held::Borrowed(ptr) = *self {
            // SAFETY: a borrowed child is used before any Python code runs after it was
            // read from its (strongly held) parent, so it is still alive.
            *self = Held::Owned(unsafe { Strong::from_borrowed(ptr) });
        }
        match self {
            Held::Owned(strong) => strong,
            Held::Borrowed(_) => unreachable!("upgraded above"),
        }
    }

    fn into_strong(mut self) -> Strong {
        self.hold();
        match self {
            Held::Owned(strong) => strong,
            Held::Borrowed(_) => unreachable!("upgraded above"),
        }
    }
}

/// Where a frame is in producing its object's children. Kept small (frames are pushed
/// for every container): rarely needed state is boxed.
enum Cursor {
    List(usize),
    Tuple(usize),
    Set(usize),
    Dict {
        pos: isize,
        value_next: bool,
        extra: Option<Box<DictExtra>>,
    },
    Instance {
        stage: InstanceStage,
        index: usize,
        value_next: bool,
    },
    NamedTuple {
        stage: u8,
        index: usize,
    },
    /// Children computed up front (rules that read attributes through Python).
    Items(Box<ItemsCursor>),
}

/// Dict cursor state needed only sometimes.
#[derive(Default)]
struct DictExtra {
    /// The dict iterated when it is not the frame's object (a module's, a proxy's).
    dict: Option<Strong>,
    /// The current key, to name its value in an `asized` tree.
    key: Option<Strong>,
    /// The value of the current entry of a split table, held until it is produced.
    pending: Option<Strong>,
}

impl DictExtra {
    fn over(dict: Strong) -> Option<Box<DictExtra>> {
        Some(Box::new(DictExtra { dict: Some(dict), ..DictExtra::default() }))
    }
}

struct ItemsCursor {
    items: Vec<(RefName, Strong)>,
    index: usize,
}

impl Cursor {
    /// The kind of referents a builtin-container cursor walks.
    fn refs(&self) -> Refs {
        match self {
            Cursor::List(_) => Refs::List,
            Cursor::Tuple(_) => Refs::Tuple,
            Cursor::Dict { .. } => Refs::Dict,
            _ => Refs::None,
        }
    }

    fn items(items: Vec<(RefName, Strong)>) -> Cursor {
        Cursor::Items(Box::new(ItemsCursor { items, index: 0 }))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum InstanceStage {
    Storage,
    Values,
    Class,
    Slots,
}

struct Frame {
    obj: Strong,
    /// The rule's id, for its `__slots__`.
    rule_id: u32,
    cursor: Cursor,
    depth: u32,
    /// Index of this object's node in the tree, or `u32::MAX`.
    node: u32,
    /// Whether children are named (the frame is above the `detail` level).
    named: bool,
    flat: u64,
    total: u64,
}

const NO_NODE: u32 = u32::MAX;
/// `Frame::rule_id` of frames whose cursor needs no rule (builtin containers).
const NO_RULE: u32 = u32::MAX;

/// Result of reaching an object.
enum Entered {
    /// Sized completely: its total size.
    Done(u64),
    /// A frame was pushed; its size arrives when the frame is popped.
    Pushed,
}

/// One sizing call over a [`Ledger`], which keeps what was seen across calls.
pub struct Walker<'a, 'py> {
    py: Python<'py>,
    ledger: &'a mut Ledger,
    options: Options,
    rules: RuleCache,
    stack: Vec<Frame>,
    /// Tree nodes of the current top-level object, when building an `asized` tree.
    pub nodes: Option<Vec<Node>>,
    /// Whether leaf builtins can be sized inline: no statistics, no excluded types.
    leaf_fast: bool,
}

impl<'a, 'py> Walker<'a, 'py> {
    pub fn new(py: Python<'py>, ledger: &'a mut Ledger, options: Options, rules: RuleCache) -> Self {
        let leaf_fast = options.stats == 0 && !ledger.has_excluded_types();
        Walker { py, ledger, options, rules, stack: Vec::new(), nodes: None, leaf_fast }
    }

    /// Sizes one top-level object; with `tree`, also builds its `asized` nodes.
    pub fn size_top(&mut self, obj: &Bound<'py, PyAny>, tree: bool) -> u64 {
        self.nodes = tree.then(Vec::new);
        if !tree && self.leaf_fast && self.options.limit == u32::MAX {
            // SAFETY: `obj` is a live object held by the caller for the whole call.
            if let Some((flat, _)) = unsafe { container_start(obj.as_ptr()) } {
                let address = ffi::address(obj.as_ptr());
                if self.seen_before(address, 0) {
                    return 0;
                }
                if let Some(size) = self.size_unordered(obj, flat) {
                    self.ledger.total += size;
                    return size;
                }
                // A dict with a split table (an instance's `__dict__`), whose layout
                // the ordered walk knows: unmark it for that walk.
                self.ledger.visited.remove(address);
            }
        }
        // SAFETY: `obj` is a live object held by the caller for the whole call.
        let held = Held::Owned(unsafe { Strong::from_borrowed(obj.as_ptr()) });
        match self.enter(held, 0, RefName::Unnamed, None, 0) {
            Entered::Done(size) => size,
            Entered::Pushed => self.run(),
        }
    }

    /// Total size of a builtin container `root` (already marked seen, of flat size
    /// `root_flat`) and everything it reaches, when no option depends on the order in
    /// which objects are reached (no `limit`, tree or statistics): every reachable
    /// object is counted once whatever the path, so the walk is free to keep many
    /// memory loads in flight. Objects are taken from a work list through a two-stage
    /// pipeline: their header is prefetched; once it has arrived, leaves are sized and
    /// the tables of containers prefetched; then containers are sized and their
    /// referents pushed on the work list. Leaves and builtin containers are handled here;
    /// anything that may run Python code is held and sized afterwards by the ordered
    /// walk, once no borrowed pointer remains.
    /// `None`, having done nothing, when `root` is a dict with a split table.
    fn size_unordered(&mut self, root: &Bound<'py, PyAny>, root_flat: usize) -> Option<u64> {
        const STAGE: usize = 16;
        // Borrowed pointers with their depth. No Python code runs until the list and
        // the pipeline are drained, so the containers holding them cannot change.
        let mut work: Vec<(RawObj, u32)> = Vec::new();
        // SAFETY: `root` is held by the caller.
        unsafe { push_container(root.as_ptr(), 1, &mut work, self.ledger) }?;
        let mut total = self.align(root_flat);
        let mut headers: std::collections::VecDeque<(RawObj, u32)> =
            std::collections::VecDeque::with_capacity(STAGE + 1);
        let mut tables: std::collections::VecDeque<(RawObj, u32)> =
            std::collections::VecDeque::with_capacity(STAGE + 1);
        let mut deferred: Vec<(Strong, u32)> = Vec::new();
        self.ledger.depth = self.ledger.depth.max(1);
        loop {
            // Children seen before (shared subtrees; shared dict keys are caught when
            // their dict is read) are counted as repeats before they take a place in
            // the pipeline; the others are marked seen then, so that a second path to
            // one still in flight is a repeat like any later one.
            while let Some(next) = work.pop() {
                if self.seen_before(ffi::address(next.0), next.1) {
                    continue;
                }
                prefetch_header(next.0);
                headers.push_back(next);
                break;
            }
            if headers.len() > STAGE || (work.is_empty() && !headers.is_empty()) {
                let next = headers.pop_front().expect("checked non-empty");
                // SAFETY: a borrowed child of a live, unchanged container, whose header
                // has (most likely) arrived: leaves are sized now, containers wait
                // for their tables.
                unsafe {
                    if let Some(size) = leaf_size(next.0).or_else(|| self.bytes_size(next.0, next.1)) {
                        total += self.align(size);
                    } else {
                        prefetch_interior(next.0);
                        tables.push_back(next);
                    }
                }
            }
            let ready = tables.len() > STAGE || (work.is_empty() && headers.is_empty());
            let Some((obj, depth)) = (if ready { tables.pop_front() } else { None }) else {
                if work.is_empty() && headers.is_empty() && tables.is_empty() {
                    break;
                }
                continue;
            };
            // SAFETY: as above: `obj` is alive until Python code runs, and none does here.
            unsafe {
                match push_container(obj, depth + 1, &mut work, self.ledger) {
                    Some(flat) => {
                        total += self.align(flat);
                        self.ledger.depth = self.ledger.depth.max(depth + 1);
                    }
                    None => deferred.push((Strong::from_borrowed(obj), depth)),
                }
            }
        }
        drop(work);
        for (i, (obj, depth)) in deferred.iter().enumerate() {
            if let Some((ahead, _)) = deferred.get(i + PREFETCH_AHEAD) {
                prefetch(ahead.as_ptr());
            }
            let obj = obj.clone();
            let depth = *depth;
            total += match self.enter_new(Held::Owned(obj), depth, RefName::Unnamed, None, root.as_ptr() as usize) {
                Entered::Done(size) => size,
                Entered::Pushed => self.run(),
            };
        }
        Some(total)
    }

    /// The flat size of an exact `bytes` object, which pympler sizes as an instance: its
    /// class is reached too (and skipped, being a class), so it is marked seen here.
    ///
    /// # Safety
    /// `obj` must be alive.
    #[inline(always)]
    unsafe fn bytes_size(&mut self, obj: RawObj, depth: u32) -> Option<usize> {
        let bytes_type = std::ptr::addr_of_mut!(pyffi::PyBytes_Type);
        // SAFETY: `obj` is alive.
        if unsafe { ffi::type_of(obj) } != bytes_type {
            return None;
        }
        if depth < self.options.limit {
            self.seen_before(bytes_type as usize, depth + 1);
            self.ledger.depth = self.ledger.depth.max(depth + 1);
        }
        // SAFETY: `obj` is an exact bytes object.
        Some(unsafe { ffi::object_sizeof(obj) })
    }

    /// Another encounter of a top-level object given twice in one call.
    pub fn again(&mut self, obj: RawObj) {
        self.ledger.again(obj);
    }

    /// Flat size of `obj` (aligned), as `asizeof` would count it; marks nothing seen.
    pub fn flat_of(&mut self, obj: &Bound<'py, PyAny>) -> u64 {
        // SAFETY: `obj` is alive for the call.
        let mut held = Held::Owned(unsafe { Strong::from_borrowed(obj.as_ptr()) });
        let rule = self.rules.classify(self.py, held.hold());
        let flat = self.flat_size(&mut held, &rule);
        self.align(flat)
    }

    /// `sys.getsizeof(obj)`, from heapscope's formulas.
    pub fn getsizeof(&mut self, obj: &Bound<'py, PyAny>) -> u64 {
        // SAFETY: `obj` is alive for the call.
        let mut held = Held::Owned(unsafe { Strong::from_borrowed(obj.as_ptr()) });
        let rule = self.rules.classify(self.py, held.hold());
        let rule = Rule { refs: Refs::None, ..rule };
        self.flat_size(&mut held, &rule) as u64
    }

    /// The referents `asizeof` follows from `obj`, with their names (`None` for items).
    pub fn named_referents(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<Vec<(Py<PyAny>, Bound<'py, PyAny>)>> {
        // SAFETY: `obj` is alive for the call.
        let strong = unsafe { Strong::from_borrowed(obj.as_ptr()) };
        let rule = self.rules.classify(self.py, &strong);
        let cursor = self.cursor_for(&strong, &rule);
        self.stack.push(Frame {
            obj: strong,
            rule_id: rule.id,
            cursor,
            depth: 0,
            node: NO_NODE,
            named: true,
            flat: 0,
            total: 0,
        });
        let mut out = Vec::new();
        while let Some((held, name)) = self.next_child() {
            let child = held.into_strong();
            let name = match name {
                RefName::Unnamed => self.py.None(),
                other => names::ref_name(self.py, &child, name_parts(&other), self.options.clip),
            };
            // SAFETY: `child` is held strongly.
            out.push((name, unsafe { Bound::from_borrowed_ptr(self.py, child.as_ptr()) }));
        }
        self.stack.pop();
        Ok(out)
    }

    fn run(&mut self) -> u64 {
        loop {
            let Some(child) = self.next_child() else {
                let frame = self.stack.pop().expect("run() is only called with a frame on the stack");
                let parent_id = self.stack.last().map_or(0, |f| f.obj.as_ptr() as usize);
                let size =
                    self.finish(Held::Owned(frame.obj), frame.total, frame.flat, frame.node, frame.depth, parent_id);
                match self.stack.last_mut() {
                    Some(parent) => parent.total += size,
                    None => return size,
                }
                continue;
            };
            let (held, name) = child;
            let top = self.stack.last().expect("a child comes from the top frame");
            let (depth, node, parent_id) = (top.depth + 1, top.node, top.obj.as_ptr() as usize);
            let entered = if node == NO_NODE {
                // No tree node to record: a child seen before adds nothing.
                if self.seen_before(ffi::address(held.ptr()), depth) {
                    continue;
                }
                if self.leaf_fast {
                    // SAFETY: `held` was just read from its strongly held parent.
                    if let Some(size) = unsafe { leaf_size(held.ptr()).or_else(|| self.bytes_size(held.ptr(), depth)) }
                    {
                        let size = self.align(size);
                        if let Some(parent) = self.stack.last_mut() {
                            parent.total += size;
                        }
                        continue;
                    }
                    if depth < self.options.limit {
                        // SAFETY: as above.
                        if let Some((flat, cursor)) = unsafe { container_start(held.ptr()) } {
                            // SAFETY: as above.
                            unsafe { prefetch_children(held.ptr(), cursor.refs()) };
                            let flat = self.align(flat);
                            let obj = held.into_strong();
                            self.ledger.depth = self.ledger.depth.max(depth + 1);
                            self.stack.push(Frame {
                                obj,
                                rule_id: NO_RULE,
                                cursor,
                                depth,
                                node: NO_NODE,
                                named: false,
                                flat,
                                total: flat,
                            });
                            continue;
                        }
                    }
                }
                self.enter_new(held, depth, name, None, parent_id)
            } else {
                self.enter(held, depth, name, Some(node), parent_id)
            };
            if let Entered::Done(size) = entered {
                if let Some(parent) = self.stack.last_mut() {
                    parent.total += size;
                }
            }
        }
    }

    /// Whether the object at `address`, reached at `depth`, is skipped as seen before
    /// (or excluded); otherwise it is marked seen now. pympler's rules: an object counts
    /// the first time it is reached, an excluded object never, and an object given at
    /// the top level is not counted where it is referenced.
    #[inline(always)]
    fn seen_before(&mut self, address: usize, depth: u32) -> bool {
        if !self.ledger.visited.insert(address) {
            self.ledger.repeat(address);
            return true;
        }
        if !self.ledger.may_be_marked(address) {
            return false;
        }
        // Marked objects are rare; undo the insert for those that are not sized here.
        match self.ledger.marks.get(&address) {
            Some(Mark::Excluded) => {
                self.ledger.visited.remove(address);
                true
            }
            Some(Mark::RefOnly) if depth > 0 => {
                self.ledger.visited.remove(address);
                true
            }
            Some(Mark::RefOnly) => {
                self.ledger.marks.remove(&address);
                false
            }
            None => false,
        }
    }

    /// Reaches `held` at `depth`: the seen rules, then [`enter_new`](Self::enter_new).
    fn enter(
        &mut self,
        mut held: Held,
        depth: u32,
        name: RefName,
        parent_node: Option<u32>,
        parent_id: usize,
    ) -> Entered {
        if self.seen_before(ffi::address(held.ptr()), depth) {
            let node = self.new_node(&mut held, name, parent_node, depth);
            return Entered::Done(self.finish_zero(node, depth));
        }
        self.enter_new(held, depth, name, parent_node, parent_id)
    }

    /// Sizes an object reached for the first time: type exclusion, the rule's flat size,
    /// then either a frame for its referents or its final size.
    fn enter_new(
        &mut self,
        mut held: Held,
        depth: u32,
        name: RefName,
        parent_node: Option<u32>,
        parent_id: usize,
    ) -> Entered {
        let node = self.new_node(&mut held, name, parent_node, depth);

        if self.ledger.is_type_excluded(held.ptr()) {
            self.ledger.count_excluded(held.ptr());
            return Entered::Done(self.finish_zero(node, depth));
        }
        // SAFETY: `held` is alive (see `Held::hold`), so is its type.
        let tp = unsafe { ffi::type_of(held.ptr()) };
        let rule = match self.rules.cached(tp) {
            Some(rule) => rule,
            None => {
                let strong = held.hold().clone();
                self.rules.classify(self.py, &strong)
            }
        };
        if !self.counted(&rule, &mut held) {
            return Entered::Done(self.finish_zero(node, depth));
        }
        let flat = self.flat_size(&mut held, &rule);
        let flat = self.align(flat);
        if self.options.stats > 1 {
            let key = ProfileKey::of(held.ptr());
            let strong = held.hold().clone();
            self.ledger.profile(key, strong, flat);
        }
        let follow = rule.refs != Refs::None && depth < self.options.limit && !(depth > 0 && rule.is_module);
        if !follow {
            return Entered::Done(self.finish(held, flat, flat, node.unwrap_or(NO_NODE), depth, parent_id));
        }
        let named = self.nodes.is_some() && depth < self.options.detail;
        let obj = held.into_strong();
        let cursor = self.cursor_for(&obj, &rule);
        self.ledger.depth = self.ledger.depth.max(depth + 1);
        self.stack.push(Frame {
            obj,
            rule_id: rule.id,
            cursor,
            depth,
            node: node.unwrap_or(NO_NODE),
            named,
            flat,
            total: flat,
        });
        Entered::Pushed
    }

    /// Whether the rule's objects are sized with the current options.
    #[inline]
    fn counted(&mut self, rule: &Rule, held: &mut Held) -> bool {
        if rule.code_only && !self.options.code {
            return false;
        }
        if !self.options.ignored {
            return true;
        }
        if rule.ignored {
            return false;
        }
        if rule.is_class {
            let class = held.hold().clone();
            // SAFETY: `class` is held strongly for the call.
            let class = unsafe { Bound::from_borrowed_ptr(self.py, class.as_ptr()) };
            return !crate::asizeof::rules::is_ignored_class(&class);
        }
        true
    }

    #[inline]
    fn align(&self, size: usize) -> u64 {
        let mask = self.options.align_mask;
        ((size + mask) & !mask) as u64
    }

    /// What `sys.getsizeof` reports, plus instance values kept outside the object.
    #[inline]
    fn flat_size(&mut self, held: &mut Held, rule: &Rule) -> usize {
        let ptr = held.ptr();
        // SAFETY: `ptr` is alive; each formula matches the type's `__sizeof__`, which the
        // registry identified by its descriptor.
        let core = unsafe { rule.flat.sizeof(ptr) };
        let core = match core {
            Some(size) => size,
            None => self.call_sizeof(held),
        };
        let ptr = held.ptr();
        let pre_header = if rule.pre_header == PER_OBJECT {
            // SAFETY: `ptr` is alive (held strongly if Python code ran above).
            unsafe { ffi::pre_header(ptr) }
        } else {
            rule.pre_header as usize
        };
        let mut size = core + pre_header;
        if rule.refs == Refs::Instance {
            // SAFETY: as above; reads the instance's attribute storage only.
            if let InstanceAttrs::Values { bytes, .. } = unsafe { ffi::instance_attrs(ptr) } {
                size += bytes;
            }
        }
        size
    }

    /// Calls the type's `__sizeof__` like `sys.getsizeof`; a failure, a non-int or a
    /// negative result counts the basic size and is recorded as missed.
    fn call_sizeof(&mut self, held: &mut Held) -> usize {
        let obj = held.hold().clone();
        foreign_sizeof(self.py, &obj, self.rules.registry(), &mut self.ledger.missed)
    }

    /// The cursor over `obj`'s referents. Inlined for the common containers, whose
    /// cursor is a few words built in registers.
    #[inline(always)]
    fn cursor_for(&mut self, obj: &Strong, rule: &Rule) -> Cursor {
        let ptr = obj.as_ptr();
        // SAFETY: `ptr` is held strongly and of the type the rule was made for.
        unsafe { prefetch_children(ptr, rule.refs) };
        match rule.refs {
            Refs::List => Cursor::List(0),
            Refs::Tuple => Cursor::Tuple(0),
            Refs::Set => Cursor::Set(0),
            Refs::Dict => Cursor::Dict { pos: 0, value_next: false, extra: None },
            Refs::Instance => Cursor::Instance { stage: InstanceStage::Storage, index: 0, value_next: false },
            Refs::NamedTuple => Cursor::NamedTuple { stage: 0, index: 0 },
            _ => self.slow_cursor_for(obj, rule),
        }
    }

    /// Cursors that need the C API or Python to find the referents.
    #[inline(never)]
    fn slow_cursor_for(&mut self, obj: &Strong, rule: &Rule) -> Cursor {
        let ptr = obj.as_ptr();
        match rule.refs {
            Refs::Module => {
                // SAFETY: `ptr` is a live module; its dict is borrowed and taken strongly.
                let dict = unsafe { pyffi::PyModule_GetDict(ptr) };
                if dict.is_null() {
                    return Cursor::items(Vec::new());
                }
                // SAFETY: the module holds its dict.
                Cursor::Dict {
                    pos: 0,
                    value_next: false,
                    extra: DictExtra::over(unsafe { Strong::from_borrowed(dict) }),
                }
            }
            Refs::MappingProxy => {
                // SAFETY: a mappingproxy stores its mapping right after the object header.
                let mapping = unsafe { *ptr.cast::<RawObj>().add(2) };
                // SAFETY: the proxy holds its mapping alive.
                if !mapping.is_null() && unsafe { pyffi::PyDict_Check(mapping) } != 0 {
                    // SAFETY: as above.
                    let dict = unsafe { Strong::from_borrowed(mapping) };
                    Cursor::Dict { pos: 0, value_next: false, extra: DictExtra::over(dict) }
                } else {
                    Cursor::items(self.dict_like_items(obj))
                }
            }
            Refs::DictLike => Cursor::items(self.dict_like_items(obj)),
            Refs::Traverse => {
                // SAFETY: `ptr` is alive; traversal runs no Python code.
                let items = unsafe { ffi::traverse_referents(ptr) };
                Cursor::items(items.into_iter().map(|o| (RefName::Static("iteref"), o)).collect())
            }
            Refs::WeakRef => {
                // pympler sizes what calling the reference returns (None once dead).
                // SAFETY: `ptr` is a live weak reference; calling it runs no user code.
                let target = unsafe { Strong::from_owned(pyffi::PyObject_CallNoArgs(ptr)) };
                if target.is_none() {
                    // SAFETY: the failed call left an exception set; discard it.
                    unsafe { pyffi::PyErr_Clear() };
                }
                Cursor::items(target.into_iter().map(|t| (RefName::Unnamed, t)).collect())
            }
            Refs::Attrs(spec) => Cursor::items(self.attr_items(obj, spec)),
            Refs::None | Refs::List | Refs::Tuple | Refs::Set | Refs::Dict | Refs::Instance | Refs::NamedTuple => {
                Cursor::items(Vec::new())
            }
        }
    }

    /// Keeps temporaries that Python code handed back (their only owner is the walk), so
    /// their address cannot be reused by another object while the ledger remembers it.
    fn keep_if_temporary(&mut self, obj: &Strong) {
        if obj.refcount() == 1 {
            self.ledger.keepalive.push(obj.clone());
        }
    }

    fn attr_items(&mut self, obj: &Strong, spec: &'static AttrSpec) -> Vec<(RefName, Strong)> {
        let py = self.py;
        // SAFETY: `obj` is held strongly.
        let bound = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
        let target = match spec.via {
            Some(via) => match bound.getattr(via) {
                Ok(target) => target,
                Err(_) => return Vec::new(),
            },
            None => bound,
        };
        let mut items = Vec::new();
        let mut push = |walker: &mut Self, name: RefName, value: Bound<'py, PyAny>| {
            // SAFETY: `value` is a live object we own a reference to through `Bound`.
            let strong = unsafe { Strong::from_borrowed(value.as_ptr()) };
            drop(value);
            walker.keep_if_temporary(&strong);
            items.push((name, strong));
        };
        for name in spec.names {
            if let Ok(value) = target.getattr(*name) {
                push(self, RefName::Static(name), value);
            }
        }
        if let Some(prefix) = spec.prefix {
            // `dir()` is sorted; names are matched with Python's string functions (see
            // `rules::str_equals`).
            let attrs: Vec<Bound<'py, PyString>> = target
                .dir()
                .map(|names| names.iter().filter_map(|n| n.cast_into::<PyString>().ok()).collect())
                .unwrap_or_default();
            for attr in attrs {
                if !crate::asizeof::rules::str_starts_with(&attr, prefix)
                    || spec.exclude.iter().any(|excluded| PyAnyMethods::eq(attr.as_any(), *excluded).unwrap_or(false))
                {
                    continue;
                }
                if let Ok(value) = target.getattr(&attr) {
                    push(self, RefName::Str(attr.unbind()), value);
                }
            }
        }
        items
    }

    /// Keys and values of a mapping that is not a dict, through its `items()`.
    fn dict_like_items(&mut self, obj: &Strong) -> Vec<(RefName, Strong)> {
        let py = self.py;
        // SAFETY: `obj` is held strongly.
        let bound = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
        let mut items = Vec::new();
        let Ok(pairs) = bound.call_method0("items").and_then(|i| i.try_iter()) else {
            return items;
        };
        for pair in pairs.flatten() {
            let Ok((key, value)) = pair.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>() else { continue };
            // SAFETY: `key` and `value` are live objects held by the Bound handles.
            let (key, value) = unsafe { (Strong::from_borrowed(key.as_ptr()), Strong::from_borrowed(value.as_ptr())) };
            items.push((RefName::Key(key.clone()), key.clone()));
            items.push((RefName::Value(key), value));
        }
        items
    }

    /// The next child of the top frame, or `None` when it has no more.
    #[inline(always)]
    fn next_child(&mut self) -> Option<(Held, RefName)> {
        let py = self.py;
        let frame = self.stack.last_mut()?;
        let ptr = frame.obj.as_ptr();
        let named = frame.named;
        // SAFETY: `ptr` is the frame's strongly held object, of the type its rule was
        // made for (this covers the whole match); every cursor re-reads its container.
        unsafe {
            match &mut frame.cursor {
                Cursor::List(i) => {
                    let item = ffi::list_item(ptr, *i)?;
                    *i += 1;
                    if let Some(ahead) = ffi::list_item(ptr, *i + PREFETCH_AHEAD) {
                        prefetch(ahead);
                    }
                    if let Some(next) = ffi::list_item(ptr, *i) {
                        prefetch_interior(next);
                    }
                    Some((Held::Borrowed(item), RefName::Unnamed))
                }
                Cursor::Tuple(i) => {
                    let item = ffi::tuple_item(ptr, *i)?;
                    *i += 1;
                    if let Some(ahead) = ffi::tuple_item(ptr, *i + PREFETCH_AHEAD) {
                        prefetch(ahead);
                    }
                    Some((Held::Borrowed(item), RefName::Unnamed))
                }
                Cursor::Set(pos) => Some((Held::Borrowed(ffi::set_next(ptr, pos)?), RefName::Unnamed)),
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
                                return Some((Held::Borrowed(value), key.map_or(RefName::Unnamed, RefName::Value)));
                            }
                        }
                        let mut index = *pos as usize;
                        match ffi::dict_entry(dict_ptr, &mut index) {
                            Ok(entry) => {
                                let (entry_key, _) = entry?;
                                *pos = index as isize;
                                *value_next = true;
                                let name = name_key(named, entry_key, extra);
                                return Some((Held::Borrowed(entry_key), name));
                            }
                            Err(()) => *pos = -1,
                        }
                    }
                    let mut next = -1 - *pos;
                    let (entry_key, value) = ffi::dict_next(dict_ptr, &mut next)?;
                    *pos = -1 - next;
                    extra.get_or_insert_with(Box::default).pending = Some(Strong::from_borrowed(value));
                    let name = name_key(named, entry_key, extra);
                    Some((Held::Borrowed(entry_key), name))
                }
                Cursor::Instance { stage, index, value_next } => loop {
                    match *stage {
                        InstanceStage::Storage => match ffi::instance_attrs(ptr) {
                            InstanceAttrs::Dict(dict) => {
                                *stage = InstanceStage::Class;
                                return Some((Held::Borrowed(dict), RefName::Static("__dict__")));
                            }
                            InstanceAttrs::Values { .. } => *stage = InstanceStage::Values,
                            InstanceAttrs::Nothing => *stage = InstanceStage::Class,
                        },
                        InstanceStage::Values => {
                            let InstanceAttrs::Values { values, count, .. } = ffi::instance_attrs(ptr) else {
                                *stage = InstanceStage::Class;
                                continue;
                            };
                            if *index >= count {
                                *stage = InstanceStage::Class;
                                continue;
                            }
                            let value = ffi::value_at(values, *index);
                            let key = ffi::shared_key(ffi::type_of(ptr), *index);
                            let (Some(key), false) = (key, value.is_null()) else {
                                *index += 1;
                                *value_next = false;
                                continue;
                            };
                            let key_name = || named.then(|| Strong::from_borrowed(key));
                            if *value_next {
                                *index += 1;
                                *value_next = false;
                                let name = key_name().map_or(RefName::Unnamed, RefName::Value);
                                return Some((Held::Borrowed(value), name));
                            }
                            *value_next = true;
                            return Some((Held::Borrowed(key), key_name().map_or(RefName::Unnamed, RefName::Key)));
                        }
                        InstanceStage::Class => {
                            *stage = InstanceStage::Slots;
                            let class = ffi::type_of(ptr).cast();
                            return Some((Held::Borrowed(class), RefName::Static("__class__")));
                        }
                        InstanceStage::Slots => {
                            let slots = self.rules.slots(frame.rule_id).clone();
                            return next_slot(py, ptr, &slots, index);
                        }
                    }
                },
                Cursor::NamedTuple { stage, index } => loop {
                    match *stage {
                        0 => {
                            *stage = 1;
                            let class = ffi::type_of(ptr).cast();
                            return Some((Held::Borrowed(class), RefName::Static("__class__")));
                        }
                        1 => {
                            let slots = self.rules.slots(frame.rule_id).clone();
                            if let Some(child) = next_slot(py, ptr, &slots, index) {
                                return Some(child);
                            }
                            *stage = 2;
                            *index = 0;
                        }
                        _ => {
                            let item = ffi::tuple_item(ptr, *index)?;
                            *index += 1;
                            return Some((Held::Borrowed(item), RefName::Unnamed));
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

    /// Creates the tree node for a reached object when building an `asized` tree.
    #[inline]
    fn new_node(&mut self, held: &mut Held, name: RefName, parent: Option<u32>, depth: u32) -> Option<u32> {
        let nodes = self.nodes.as_ref()?;
        if depth > self.options.detail {
            return None;
        }
        let index = nodes.len() as u32;
        let obj = held.hold().clone();
        let name = names::ref_name(self.py, &obj, name_parts(&name), self.options.clip);
        self.nodes.as_mut()?.push(Node { parent, name, size: 0, flat: 0 });
        Some(index)
    }

    fn finish_zero(&mut self, node: Option<u32>, depth: u32) -> u64 {
        let _ = depth;
        if let (Some(node), Some(nodes)) = (node, self.nodes.as_mut()) {
            nodes[node as usize].size = 0;
            nodes[node as usize].flat = 0;
        }
        0
    }

    /// Completes a sized object: its tree node, ranking, and the grand total.
    #[inline]
    fn finish(&mut self, held: Held, size: u64, flat: u64, node: u32, depth: u32, parent_id: usize) -> u64 {
        if node != NO_NODE {
            if let Some(nodes) = self.nodes.as_mut() {
                nodes[node as usize].size = size;
                nodes[node as usize].flat = flat;
            }
        }
        if self.options.stats > 0 && self.options.above > 0 && size > self.options.above {
            let obj = held.into_strong();
            self.ledger.rank(obj, size, depth, parent_id);
        }
        if depth == 0 {
            self.ledger.total += size;
        }
        size
    }
}

/// [`prefetch`] of the fields the unordered walk reads (type, size, a dict's or list's
/// table pointer: the first 48 bytes), which straddle two cache lines for objects that
/// start in the second half of a line.
#[inline(always)]
fn prefetch_header(obj: RawObj) {
    prefetch(obj);
    prefetch(obj.cast::<u8>().wrapping_add(40).cast());
}

/// Flat size and cursor of an exact `list`, `tuple` or `dict` (GC-tracked, no managed
/// dict: the pre-header is the GC header); `None` for anything else.
///
/// # Safety
/// `obj` must be alive.
#[inline(always)]
unsafe fn container_start(obj: RawObj) -> Option<(usize, Cursor)> {
    // SAFETY: `obj` is alive; each formula is applied to its exact type only.
    unsafe {
        let tp = ffi::type_of(obj);
        let (size, cursor) = if tp == std::ptr::addr_of_mut!(pyffi::PyList_Type) {
            (ffi::list_sizeof(obj), Cursor::List(0))
        } else if tp == std::ptr::addr_of_mut!(pyffi::PyDict_Type) {
            (ffi::dict_sizeof(obj), Cursor::Dict { pos: 0, value_next: false, extra: None })
        } else if tp == std::ptr::addr_of_mut!(pyffi::PyTuple_Type) {
            (ffi::object_sizeof(obj), Cursor::Tuple(0))
        } else {
            return None;
        };
        Some((size + ffi::GC_HEAD, cursor))
    }
}

/// For an exact list, tuple or dict with a combined table: pushes its referents (in
/// reverse, so that they are taken in order) and returns its flat size, looking at the
/// type once. A dict key seen before is counted as a repeat instead of being pushed.
/// `None`, pushing nothing, for anything else (a dict with a split table among them).
///
/// # Safety
/// `obj` must be alive.
#[inline(always)]
unsafe fn push_container(obj: RawObj, depth: u32, work: &mut Vec<(RawObj, u32)>, ledger: &mut Ledger) -> Option<usize> {
    // SAFETY: `obj` is alive; each layout is read for its exact type only, and no
    // Python code runs.
    unsafe {
        let tp = ffi::type_of(obj);
        let size = if tp == std::ptr::addr_of_mut!(pyffi::PyDict_Type) {
            if !ffi::dict_entries_rev(obj, |key, value| {
                work.push((value, depth));
                // Keys are often shared (the same str in many dicts): one seen before
                // is a repeat now rather than after a trip through the pipeline.
                let address = ffi::address(key);
                if ledger.visited.contains(address) {
                    ledger.repeat(address);
                } else {
                    work.push((key, depth));
                }
            }) {
                return None;
            }
            ffi::dict_sizeof(obj)
        } else if tp == std::ptr::addr_of_mut!(pyffi::PyList_Type) {
            let items = (*obj.cast::<pyffi::PyListObject>()).ob_item;
            for i in (0..pyffi::PyList_GET_SIZE(obj) as usize).rev() {
                let item = *items.add(i);
                if !item.is_null() {
                    work.push((item, depth));
                }
            }
            ffi::list_sizeof(obj)
        } else if tp == std::ptr::addr_of_mut!(pyffi::PyTuple_Type) {
            for i in (0..pyffi::PyTuple_GET_SIZE(obj) as usize).rev() {
                let item = pyffi::PyTuple_GET_ITEM(obj, i as isize);
                if !item.is_null() {
                    work.push((item, depth));
                }
            }
            ffi::object_sizeof(obj)
        } else {
            return None;
        };
        Some(size + ffi::GC_HEAD)
    }
}

/// How many items ahead a list or tuple cursor prefetches.
const PREFETCH_AHEAD: usize = 8;

/// Starts loading the first children of a new frame all at once, so their cache misses
/// overlap instead of following one another.
///
/// # Safety
/// `ptr` must be alive and match `refs`.
unsafe fn prefetch_children(ptr: RawObj, refs: Refs) {
    // SAFETY: see the caller requirements; only reads the container.
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

/// Bytes before the first entry of a small dict's keys table (header and index array),
/// and per entry: 3.11+ tables with only str keys store (key, value) pairs after a
/// 32-byte header; older ones (hash, key, value) after a larger header.
#[cfg(Py_3_11)]
const KEYS_HEAD_ESTIMATE: usize = 40;
#[cfg(Py_3_11)]
const ENTRY_ESTIMATE: usize = 16;
#[cfg(not(Py_3_11))]
const KEYS_HEAD_ESTIMATE: usize = 48;
#[cfg(not(Py_3_11))]
const ENTRY_ESTIMATE: usize = 24;

/// For a list item whose header is (most likely) cached already, starts loading the
/// tables it points to: a dict's keys, a list's item array.
///
/// # Safety
/// `obj` must be alive.
#[inline]
unsafe fn prefetch_interior(obj: RawObj) {
    // SAFETY: `obj` is alive; only pointers stored in it are read.
    unsafe {
        // The bytes about to be read: a dict's keys header, indices and used entries
        // (estimated from its item count), a list's used item pointers; at most four
        // cache lines, from the line the table starts in.
        let (table, bytes): (*mut u8, usize) = if pyffi::PyDict_CheckExact(obj) != 0 {
            let dict = obj.cast::<pyffi::PyDictObject>();
            ((*dict).ma_keys.cast(), KEYS_HEAD_ESTIMATE + (*dict).ma_used as usize * ENTRY_ESTIMATE)
        } else if pyffi::PyList_CheckExact(obj) != 0 {
            ((*obj.cast::<pyffi::PyListObject>()).ob_item.cast(), pyffi::PyList_GET_SIZE(obj) as usize * 8)
        } else {
            return;
        };
        let first = (table as usize) & !63;
        let last = (table as usize).wrapping_add(bytes.min(256));
        let mut line = first;
        while line < last {
            prefetch(line as RawObj);
            line += 64;
        }
    }
}

/// The name of a dict key in an `asized` tree (kept to name its value too), or
/// `Unnamed` below the detail level.
///
/// # Safety
/// `key` must be alive.
unsafe fn name_key(named: bool, key: RawObj, extra: &mut Option<Box<DictExtra>>) -> RefName {
    if !named {
        return RefName::Unnamed;
    }
    // SAFETY: see the caller requirements.
    let key = unsafe { Strong::from_borrowed(key) };
    extra.get_or_insert_with(Box::default).key = Some(key.clone());
    RefName::Key(key)
}

/// The parts a node name is made of (see `names::ref_name`).
fn name_parts(name: &RefName) -> names::NamePart<'_> {
    match name {
        RefName::Unnamed => names::NamePart::Object,
        RefName::Static(text) => names::NamePart::Text(text),
        RefName::Str(text) => names::NamePart::PyText(text),
        RefName::Key(key) => names::NamePart::Key(key),
        RefName::Value(key) => names::NamePart::Value(key),
    }
}

/// The next set `__slots__` value at or after `index`.
///
/// # Safety
/// `ptr` must be a live instance of the type the slots were computed for.
unsafe fn next_slot(py: Python<'_>, ptr: RawObj, slots: &[Slot], index: &mut usize) -> Option<(Held, RefName)> {
    while let Some(slot) = slots.get(*index) {
        *index += 1;
        let name = RefName::Str(slot.name().clone_ref(py));
        match slot {
            Slot::Member { offset, .. } => {
                // SAFETY: the offset comes from a member descriptor of this type's MRO.
                let value = unsafe { ffi::slot_value(ptr, *offset) };
                if !value.is_null() {
                    return Some((Held::Borrowed(value), name));
                }
            }
            Slot::Attr { name: attr } => {
                // SAFETY: `ptr` is alive (held by its frame).
                let obj = unsafe { Bound::from_borrowed_ptr(py, ptr) };
                if let Ok(value) = obj.getattr(attr.bind(py)) {
                    // SAFETY: `value` is alive, owned by the Bound handle.
                    let strong = unsafe { Strong::from_borrowed(value.as_ptr()) };
                    return Some((Held::Owned(strong), name));
                }
            }
        }
    }
    None
}
