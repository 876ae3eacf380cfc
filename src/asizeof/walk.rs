//! The object-graph walk behind `asizeof`.
//!
//! A depth-first walk with an explicit stack (never recursion: a list nested a million
//! levels deep only grows a heap-allocated `Vec`). Children are produced lazily by a
//! cursor per frame, in the order pympler visits them, and an object is marked seen when
//! it is reached, so the first path that reaches a shared object gets its size, exactly
//! as in pympler (this matters for `limit` and for `asized` trees).
//!
//! Memory safety: every frame owns a strong reference to its object. A child is read as a
//! [`Borrowed`] from its parent (see `cursors`) and used at once; before anything that can run
//! Python code (a foreign `__sizeof__`, `getattr`, `repr`, classifying a new type) the
//! child is upgraded to a strong reference, and cursors re-read their container after
//! every step, so a container mutated by that code is still read within bounds.

use crate::asizeof::cursors::{
    container_start, hold_all, name_parts, prefetch_children, prefetch_header, prefetch_interior, push_container,
    Cursor, DictExtra, Held, InstanceStage, RefName, PREFETCH_AHEAD,
};
use crate::asizeof::flat::{foreign_sizeof, leaf_size};
use crate::asizeof::ledger::{Ledger, Mark};
use crate::asizeof::rules::{Refs, Rule, RuleCache, PER_OBJECT};
use crate::ffi::{self, prefetch, Borrowed, InstanceAttrs, RawObj, Strong};
use crate::grow::{self, OutOfMemory, TryPush};
use crate::heap::edges as names;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

mod inline_values;
mod libraries;
mod python_refs;
mod referents;

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

impl Default for Options {
    /// The options of a default `Asizer()` (`heapscope.asizeof.DEFAULTS`).
    fn default() -> Options {
        Options {
            align_mask: 7,
            code: false,
            ignored: true,
            limit: u32::MAX,
            detail: 0,
            stats: 0,
            above: 1024,
            clip: 80,
        }
    }
}

/// One node of an `asized` tree, in pre-order.
pub struct Node {
    pub parent: Option<u32>,
    pub name: Py<PyAny>,
    pub size: u64,
    pub flat: u64,
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
/// `Frame::rule_id` of an instance's virtual `__dict__` (its inline values).
const INLINE_VALUES: u32 = u32::MAX - 1;

/// Result of reaching an object.
enum Entered {
    /// Sized completely: its total size.
    Done(u64),
    /// A frame was pushed; its size arrives when the frame is popped.
    Pushed,
    /// A foreign `__sizeof__` raised an error that is not an `Exception` (kept in
    /// `Walker::pending`): the walk stops.
    Stopped,
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
    /// An error that is not an `Exception` (`KeyboardInterrupt`, `SystemExit`, ...),
    /// raised by a foreign `__sizeof__`: it stops the walk and is returned by the call.
    pending: Option<PyErr>,
    /// When to look for a pending Ctrl-C next.
    poll: ffi::SignalPoll,
    /// Whether instances' inline values are read in the instance's frame, their memory
    /// in its flat size, rather than as a virtual `__dict__`: only the total counts.
    inline_in_place: bool,
}

impl<'a, 'py> Walker<'a, 'py> {
    pub fn new(py: Python<'py>, ledger: &'a mut Ledger, options: Options, rules: RuleCache) -> Self {
        let leaf_fast = options.stats == 0 && !ledger.has_excluded_types();
        Walker {
            py,
            ledger,
            options,
            rules,
            stack: Vec::new(),
            nodes: None,
            leaf_fast,
            pending: None,
            poll: ffi::SignalPoll::default(),
            inline_in_place: false,
        }
    }

    /// Sizes one top-level object; with `tree`, also builds its `asized` nodes. `Err`
    /// when a foreign `__sizeof__` raised an error that is not an `Exception`; what was
    /// seen until then stays seen, and the total is not changed.
    pub fn size_top(&mut self, obj: &Bound<'py, PyAny>, tree: bool) -> PyResult<u64> {
        // Callers size many top-level objects in a row (a class-tracker snapshot, every
        // object of the heap): signal handlers may run between two.
        if self.poll.due() {
            ffi::check_signals(self.py)?;
        }
        self.nodes = tree.then(Vec::new);
        self.inline_in_place = !tree && self.options.limit == u32::MAX && self.options.stats == 0;
        if !tree && self.leaf_fast && self.options.limit == u32::MAX {
            if let Some((flat, _)) = container_start(obj.into()) {
                let address = ffi::address(obj.as_ptr());
                if self.seen_before(address, 0) {
                    self.take_pending()?;
                    return Ok(0);
                }
                if let Some(size) = self.size_unordered(obj, flat) {
                    self.take_pending()?;
                    self.ledger.total = self.ledger.total.saturating_add(size);
                    return Ok(size);
                }
                // A dict with a split table (an instance's `__dict__`), whose layout
                // the ordered walk knows: unmark it for that walk.
                self.ledger.visited.remove(address);
            }
        }
        let held = Held::Owned(Borrowed::from(obj).to_strong());
        let size = match self.enter(held, 0, RefName::Unnamed, None, 0) {
            Entered::Done(size) => size,
            Entered::Pushed => self.run(),
            Entered::Stopped => 0,
        };
        self.take_pending()?;
        Ok(size)
    }

    /// The error that stopped the walk, if any (the stack is emptied then).
    fn take_pending(&mut self) -> PyResult<()> {
        match self.pending.take() {
            Some(error) => {
                self.stack.clear();
                self.nodes = None;
                Err(error)
            }
            None => Ok(()),
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
        // With Python's own SIGINT handler, which only raises, a Ctrl-C ends the call:
        // nothing in the pipeline needs keeping then. Asked only where the walk may be
        // long, and before any pointer is borrowed (the question runs Python code).
        let handler_raises = root.len().unwrap_or(0) >= 4096 && ffi::sigint_handler_is_default(self.py);
        // SAFETY: `root` is held by the caller.
        match unsafe { push_container(root.as_ptr(), 1, &mut work, self.ledger) } {
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(error) => {
                self.out_of_memory(error);
                return Some(0);
            }
        }
        let mut total = self.align(root_flat);
        let mut headers: std::collections::VecDeque<(RawObj, u32)> =
            std::collections::VecDeque::with_capacity(STAGE + 1);
        let mut tables: std::collections::VecDeque<(RawObj, u32)> =
            std::collections::VecDeque::with_capacity(STAGE + 1);
        // Objects sized after the pipeline, by the ordered walk: (object, depth, whether
        // it is marked seen already).
        let mut deferred: Vec<(Strong, u32, bool)> = Vec::new();
        let mut kept: Vec<Strong> = Vec::new();
        self.ledger.depth = self.ledger.depth.max(1);
        loop {
            // A progress report wakes the loop too: only a pending SIGINT stops it.
            if self.poll.woken(self.py) {
                if !ffi::interrupt_pending(self.py) {
                    // A report: every object in the pipeline is held, then it goes on where
                    // it was. Those held for the last report are let go of after: whatever
                    // that runs, every pointer in the pipeline is held by `now`.
                    // SAFETY: no Python code ran since these were read from live containers.
                    let now = match unsafe { hold_all(work.iter().chain(&headers).chain(&tables)) } {
                        Ok(now) => now,
                        Err(error) => {
                            self.out_of_memory(error);
                            return Some(total);
                        }
                    };
                    drop(std::mem::replace(&mut kept, now));
                    if let Err(error) = ffi::check_signals(self.py) {
                        self.pending.get_or_insert(error);
                        return Some(total);
                    }
                    continue;
                }
                if handler_raises {
                    // The borrowed pointers are dropped unused: the handler raises.
                    work.clear();
                    headers.clear();
                    tables.clear();
                    deferred.clear();
                    if let Err(error) = ffi::check_signals(self.py) {
                        self.pending.get_or_insert(error);
                        return Some(total);
                    }
                    // Only if a finalizer run by a collection replaced the handler: the
                    // pipeline is gone, so the call stops as the default handler would.
                    self.pending.get_or_insert(pyo3::exceptions::PyKeyboardInterrupt::new_err(()));
                    return Some(total);
                }
                // Ctrl-C: every object still in the pipeline is held and left to the
                // ordered walk, so that the signal's handler may run (its error stops the
                // walk; if it returns, the walk goes on, with the same total).
                let in_flight = headers.drain(..).chain(tables.drain(..)).map(|(obj, depth)| (obj, depth, true));
                let unseen = work.drain(..).map(|(obj, depth)| (obj, depth, false));
                for (obj, depth, seen) in in_flight.chain(unseen) {
                    // SAFETY: no Python code ran since these were read from live containers.
                    let held = unsafe { Strong::from_borrowed(obj) };
                    if let Err(error) = deferred.try_push((held, depth, seen), "the list of objects to size") {
                        self.out_of_memory(error);
                        return Some(total);
                    }
                }
                if let Err(error) = ffi::check_signals(self.py) {
                    self.pending.get_or_insert(error);
                    return Some(total);
                }
                break;
            }
            // Children seen before (shared subtrees; shared dict keys are caught when
            // their dict is read) are counted as repeats before they take a place in
            // the pipeline; the others are marked seen then, so that a second path to
            // one still in flight is a repeat like any later one.
            while let Some(next) = work.pop() {
                if self.seen_before(ffi::address(next.0), next.1) {
                    if self.pending.is_some() {
                        // The caller returns the error.
                        return Some(total);
                    }
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
                    let size = leaf_size(next.0)
                        .or_else(|| self.bytes_size(next.0, next.1))
                        .or_else(|| self.array_in_pass(next.0, next.1, &mut work));
                    if let Some(size) = size {
                        total = total.saturating_add(self.align(size));
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
                let deferred_held = match push_container(obj, depth + 1, &mut work, self.ledger) {
                    Ok(Some(flat)) => {
                        total = total.saturating_add(self.align(flat));
                        self.ledger.depth = self.ledger.depth.max(depth + 1);
                        Ok(())
                    }
                    Ok(None) => {
                        deferred.try_push((Strong::from_borrowed(obj), depth, true), "the list of objects to size")
                    }
                    Err(error) => Err(error),
                };
                if let Err(error) = deferred_held {
                    // The caller returns the error.
                    self.out_of_memory(error);
                    return Some(total);
                }
            }
        }
        drop(work);
        drop(kept);
        for (i, (obj, depth, seen)) in deferred.iter().enumerate() {
            if self.poll.due() {
                if let Err(error) = ffi::check_signals(self.py) {
                    self.pending.get_or_insert(error);
                    return Some(total);
                }
            }
            if let Some((ahead, _, _)) = deferred.get(i + PREFETCH_AHEAD) {
                prefetch(ahead.as_ptr());
            }
            let held = Held::Owned(obj.clone());
            let (depth, parent) = (*depth, root.as_ptr() as usize);
            let entered = if *seen {
                self.enter_new(held, depth, RefName::Unnamed, None, parent)
            } else {
                self.enter(held, depth, RefName::Unnamed, None, parent)
            };
            let size = match entered {
                Entered::Done(size) => size,
                Entered::Pushed => self.run(),
                // The caller returns the error.
                Entered::Stopped => return Some(total),
            };
            total = total.saturating_add(size);
            if self.pending.is_some() {
                return Some(total);
            }
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
        let bytes_type = ffi::bytes_type();
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
    pub fn again(&mut self, obj: RawObj) -> PyResult<()> {
        Ok(self.ledger.again(obj)?)
    }

    /// Flat size of `obj` (aligned), as `asizeof` would count it; marks nothing seen.
    pub fn flat_of(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<u64> {
        // pympler's flat size: inline values are their virtual `__dict__`'s.
        self.inline_in_place = false;
        let mut held = Held::Owned(Borrowed::from(obj).to_strong());
        let rule = self.rules.classify(self.py, held.hold())?;
        let flat = self.flat_size(&mut held, &rule);
        self.take_pending()?;
        Ok(self.align(flat.unwrap_or(0)))
    }

    /// `sys.getsizeof(obj)`, from heapscope's formulas.
    pub fn getsizeof(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<u64> {
        let mut held = Held::Owned(Borrowed::from(obj).to_strong());
        let rule = self.rules.classify(self.py, held.hold())?;
        let rule = Rule { refs: Refs::None, ..rule };
        let flat = self.flat_size(&mut held, &rule);
        self.take_pending()?;
        Ok(flat.unwrap_or(0) as u64)
    }

    fn run(&mut self) -> u64 {
        loop {
            // No borrowed pointer is held between two children: signal handlers may run.
            if self.poll.due() {
                if let Err(error) = ffi::check_signals(self.py) {
                    self.pending.get_or_insert(error);
                    self.stack.clear();
                    return 0;
                }
            }
            // SAFETY: the child is used, or held, before any Python code runs (below, and
            // in `enter`/`enter_new`, which hold it before classifying, naming or sizing
            // it through Python).
            let Some(child) = (unsafe { self.next_child() }) else {
                if self.pending.is_some() {
                    // Reading the frame's next child raised: the caller takes the error.
                    self.stack.clear();
                    return 0;
                }
                let frame = self.stack.pop().expect("run() is only called with a frame on the stack");
                let parent_id = self.stack.last().map_or(0, |f| f.obj.as_ptr() as usize);
                let size = if frame.rule_id == INLINE_VALUES {
                    self.finish_inline_values(frame.total, frame.flat, frame.node)
                } else {
                    self.finish(Held::Owned(frame.obj), frame.total, frame.flat, frame.node, frame.depth, parent_id)
                };
                match self.stack.last_mut() {
                    Some(parent) => parent.total = parent.total.saturating_add(size),
                    None => return size,
                }
                continue;
            };
            let (held, name) = child;
            let top = self.stack.last().expect("a child comes from the top frame");
            let (depth, node, parent_id) = (top.depth + 1, top.node, top.obj.as_ptr() as usize);
            let entered = if let RefName::InlineValues = name {
                self.enter_inline_values(depth, node)
            } else if node == NO_NODE {
                // No tree node to record: a child seen before adds nothing.
                if self.seen_before(ffi::address(held.ptr()), depth) {
                    if self.pending.is_some() {
                        self.stack.clear();
                        return 0;
                    }
                    continue;
                }
                if self.leaf_fast {
                    // SAFETY: `held` was just read from its strongly held parent.
                    if let Some(size) = unsafe { leaf_size(held.ptr()).or_else(|| self.bytes_size(held.ptr(), depth)) }
                    {
                        let size = self.align(size);
                        if let Some(parent) = self.stack.last_mut() {
                            parent.total = parent.total.saturating_add(size);
                        }
                        continue;
                    }
                    if depth < self.options.limit {
                        if let Some((flat, cursor)) = container_start(held.obj()) {
                            // SAFETY: the cursor was made for the object's exact type.
                            unsafe { prefetch_children(held.obj(), cursor.refs()) };
                            let flat = self.align(flat);
                            let obj = held.into_strong();
                            self.ledger.depth = self.ledger.depth.max(depth + 1);
                            let frame = Frame {
                                obj,
                                rule_id: NO_RULE,
                                cursor,
                                depth,
                                node: NO_NODE,
                                named: false,
                                flat,
                                total: flat,
                            };
                            if let Entered::Stopped = self.push_frame(frame) {
                                self.stack.clear();
                                return 0;
                            }
                            continue;
                        }
                    }
                }
                self.enter_new(held, depth, name, None, parent_id)
            } else {
                self.enter(held, depth, name, Some(node), parent_id)
            };
            match entered {
                Entered::Done(size) => {
                    if let Some(parent) = self.stack.last_mut() {
                        parent.total = parent.total.saturating_add(size);
                    }
                }
                Entered::Pushed => {}
                // The top-level caller takes the error.
                Entered::Stopped => {
                    self.stack.clear();
                    return 0;
                }
            }
        }
    }

    /// Whether the object at `address`, reached at `depth`, is skipped as seen before
    /// (or excluded); otherwise it is marked seen now. pympler's rules: an object counts
    /// the first time it is reached, an excluded object never, and an object given at
    /// the top level is not counted where it is referenced.
    #[inline(always)]
    /// When the visited set cannot grow, the `MemoryError` is kept in `pending` and the
    /// object is skipped: callers stop the walk when `pending` is set.
    fn seen_before(&mut self, address: usize, depth: u32) -> bool {
        match self.ledger.visited.insert(address) {
            Ok(true) => {}
            Ok(false) => {
                if let Err(error) = self.ledger.repeat(address) {
                    self.out_of_memory(error);
                }
                return true;
            }
            Err(error) => {
                self.out_of_memory(error);
                return true;
            }
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
        mut held: Held<'_>,
        depth: u32,
        name: RefName,
        parent_node: Option<u32>,
        parent_id: usize,
    ) -> Entered {
        if self.seen_before(ffi::address(held.ptr()), depth) {
            if self.pending.is_some() {
                return Entered::Stopped;
            }
            let node = self.new_node(&mut held, name, parent_node, depth);
            if self.pending.is_some() {
                return Entered::Stopped;
            }
            return Entered::Done(self.finish_zero(node, depth));
        }
        self.enter_new(held, depth, name, parent_node, parent_id)
    }

    /// Sizes an object reached for the first time: type exclusion, the rule's flat size,
    /// then either a frame for its referents or its final size.
    fn enter_new(
        &mut self,
        mut held: Held<'_>,
        depth: u32,
        name: RefName,
        parent_node: Option<u32>,
        parent_id: usize,
    ) -> Entered {
        let node = self.new_node(&mut held, name, parent_node, depth);
        if self.pending.is_some() {
            return Entered::Stopped;
        }
        if self.ledger.is_type_excluded(held.obj()) {
            self.ledger.count_excluded(held.obj());
            return Entered::Done(self.finish_zero(node, depth));
        }
        let tp = held.obj().type_ptr();
        let rule = match self.rules.cached(tp) {
            Some(rule) => rule,
            None => {
                let strong = held.hold().clone();
                match self.rules.classify(self.py, &strong) {
                    Ok(rule) => rule,
                    Err(error) => {
                        self.pending.get_or_insert(error);
                        return Entered::Stopped;
                    }
                }
            }
        };
        if !self.counted(&rule, &mut held) {
            if self.pending.is_some() {
                return Entered::Stopped;
            }
            return Entered::Done(self.finish_zero(node, depth));
        }
        if rule.library != 0 {
            return self.enter_library(held, rule.library - 1, &rule, depth, node, parent_id);
        }
        // An object a footprint made for the tree counts what it reaches, not itself.
        let part = self.ledger.take_part(ffi::address(held.ptr()));
        let Some(flat) = self.flat_size(&mut held, &rule) else {
            return Entered::Stopped;
        };
        let flat = if part { 0 } else { self.align(flat) };
        if self.options.stats > 1 {
            let strong = held.hold().clone();
            self.ledger.profile(strong, flat);
        }
        let follow = rule.refs != Refs::None && depth < self.options.limit && !(depth > 0 && rule.is_module);
        if !follow {
            return Entered::Done(self.finish(held, flat, flat, node.unwrap_or(NO_NODE), depth, parent_id));
        }
        let obj = held.into_strong();
        let Some(cursor) = self.cursor_for(&obj, &rule) else {
            return Entered::Stopped;
        };
        self.push_object_frame(obj, &rule, cursor, depth, node, flat)
    }

    /// Pushes the frame of an object of flat size `flat` whose referents `cursor` reads.
    fn push_object_frame(
        &mut self,
        obj: Strong,
        rule: &Rule,
        cursor: Cursor,
        depth: u32,
        node: Option<u32>,
        flat: u64,
    ) -> Entered {
        self.ledger.depth = self.ledger.depth.max(depth + 1);
        let named = self.nodes.is_some() && depth < self.options.detail;
        self.push_frame(Frame {
            obj,
            rule_id: rule.id,
            cursor,
            depth,
            node: node.unwrap_or(NO_NODE),
            named,
            flat,
            total: flat,
        })
    }

    /// Whether the rule's objects are sized with the current options (`false`, the error
    /// kept in `pending`, when asking a class for its module raised one that is not an
    /// `Exception`).
    #[inline]
    fn counted(&mut self, rule: &Rule, held: &mut Held<'_>) -> bool {
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
            return match crate::asizeof::rules::is_ignored_class(&class) {
                Ok(ignored) => !ignored,
                Err(error) => {
                    self.pending.get_or_insert(error);
                    false
                }
            };
        }
        true
    }

    #[inline]
    fn align(&self, size: usize) -> u64 {
        align_up(size as u64, self.options.align_mask as u64)
    }

    /// What `sys.getsizeof` reports (inline instance values are the flat size of the
    /// instance's virtual `__dict__`, see `enter_inline_values`, or, read in place, part
    /// of the instance's); `None` when a foreign `__sizeof__` stopped the walk (see
    /// `pending`).
    #[inline]
    fn flat_size(&mut self, held: &mut Held<'_>, rule: &Rule) -> Option<usize> {
        let ptr = held.ptr();
        // SAFETY: `ptr` is alive; each formula matches the type's `__sizeof__`, which the
        // registry identified by its descriptor.
        let core = unsafe { rule.flat.sizeof(ptr) };
        let core = match core {
            Some(size) => size,
            None => self.call_sizeof(held)?,
        };
        let size = core.saturating_add(self.pre_header(held.ptr(), rule));
        if self.inline_in_place && rule.refs == Refs::Instance {
            // SAFETY: as above; reads the instance's attribute storage only.
            if let InstanceAttrs::Values { bytes, .. } = unsafe { ffi::instance_attrs(held.ptr()) } {
                return Some(size.saturating_add(bytes));
            }
        }
        Some(size)
    }

    /// What `sys.getsizeof` adds to `__sizeof__` for `ptr`, alive and of the rule's type.
    #[inline]
    fn pre_header(&self, ptr: RawObj, rule: &Rule) -> usize {
        if rule.pre_header == PER_OBJECT {
            // SAFETY: `ptr` is alive (caller).
            unsafe { ffi::pre_header(ptr) }
        } else {
            rule.pre_header as usize
        }
    }

    /// Calls the type's `__sizeof__` like `sys.getsizeof`; an `Exception`, a non-int or
    /// a negative result counts the basic size and is recorded as missed. `None`, the
    /// error kept in `pending`, for any other error.
    fn call_sizeof(&mut self, held: &mut Held<'_>) -> Option<usize> {
        let obj = held.hold().clone();
        match foreign_sizeof(self.py, &obj, self.rules.registry(), &mut self.ledger.missed) {
            Ok(size) => Some(size),
            Err(error) => {
                self.pending = Some(error);
                None
            }
        }
    }

    /// The cursor over `obj`'s referents. Inlined for the common containers, whose
    /// cursor is a few words built in registers. `None` when Python code run to find
    /// the referents raised an error that is not an `Exception` (kept in `pending`).
    #[inline(always)]
    fn cursor_for(&mut self, obj: &Strong, rule: &Rule) -> Option<Cursor> {
        // SAFETY: `obj` is of the type the rule was made for.
        unsafe { prefetch_children(obj.borrow(), rule.refs) };
        Some(match rule.refs {
            Refs::List => Cursor::List(0),
            Refs::Tuple => Cursor::Tuple(0),
            Refs::Set if ffi::layout_or_fallback(ffi::Layout::Set) => Cursor::Set(0),
            Refs::Dict => Cursor::Dict { pos: 0, value_next: false, extra: None },
            Refs::Instance => Cursor::Instance {
                stage: InstanceStage::Storage,
                index: 0,
                value_next: false,
                in_place: self.inline_in_place,
            },
            Refs::NamedTuple => Cursor::NamedTuple { stage: 0, index: 0 },
            _ => return self.slow_cursor_for(obj, rule),
        })
    }

    /// Cursors that need the C API or Python to find the referents.
    #[inline(never)]
    fn slow_cursor_for(&mut self, obj: &Strong, rule: &Rule) -> Option<Cursor> {
        let cursor = self.slow_cursor(obj, rule);
        self.pending.is_none().then_some(cursor)
    }

    fn slow_cursor(&mut self, obj: &Strong, rule: &Rule) -> Cursor {
        match rule.refs {
            Refs::Module => {
                // SAFETY: the rule is made for modules only.
                let Some(dict) = (unsafe { ffi::module_dict(obj.borrow()) }) else {
                    return Cursor::items(Vec::new());
                };
                Cursor::Dict { pos: 0, value_next: false, extra: DictExtra::over(dict.to_strong()) }
            }
            Refs::MappingProxy => {
                // SAFETY: the rule is made for `types.MappingProxyType` only.
                match unsafe { ffi::mappingproxy_dict(obj.borrow()) } {
                    Some(dict) => Cursor::Dict { pos: 0, value_next: false, extra: DictExtra::over(dict.to_strong()) },
                    None => Cursor::items(self.dict_like_items(obj)),
                }
            }
            Refs::DictLike => Cursor::items(self.dict_like_items(obj)),
            Refs::Traverse => {
                // SAFETY: `obj` is held strongly; traversal runs no Python code.
                match unsafe { ffi::traverse_referents(obj.as_ptr()) } {
                    Ok(items) => match grow::collect_exact(
                        items.into_iter().map(|o| (RefName::Static("iteref"), o)),
                        "the referents of an object",
                    ) {
                        Ok(items) => Cursor::items(items),
                        Err(error) => {
                            self.out_of_memory(error);
                            Cursor::items(Vec::new())
                        }
                    },
                    Err(error) => {
                        self.out_of_memory(error);
                        Cursor::items(Vec::new())
                    }
                }
            }
            Refs::WeakRef => {
                // pympler sizes what calling the reference returns (None once dead).
                // SAFETY: `obj` is a weak reference (the rule's type); calling it runs no
                // user code.
                let target = unsafe { ffi::call_no_args(obj.borrow()) };
                Cursor::items(target.into_iter().map(|t| (RefName::Unnamed, t)).collect())
            }
            Refs::Attrs(spec) => Cursor::items(self.attr_items(obj, spec)),
            Refs::Numpy => Cursor::items(self.numpy_items(obj)),
            Refs::NumpyFields => Cursor::NumpyArray(0),
            Refs::Set => Cursor::items(self.set_items(obj)),
            Refs::None | Refs::List | Refs::Tuple | Refs::Dict | Refs::Instance | Refs::NamedTuple => {
                Cursor::items(Vec::new())
            }
        }
    }

    /// Keeps temporaries that Python code handed back (their only owner is the walk), so
    /// their address cannot be reused by another object while the ledger remembers it.
    fn keep_if_temporary(&mut self, obj: &Strong) {
        if obj.refcount() == 1 {
            if let Err(error) = self.ledger.keepalive.try_push(obj.clone(), "the temporaries kept alive") {
                self.out_of_memory(error);
            }
        }
    }

    /// A buffer of the walk could not grow: the `MemoryError` stops the walk.
    #[cold]
    fn out_of_memory(&mut self, error: OutOfMemory) {
        self.pending.get_or_insert(error.into());
    }

    /// Pushes a frame, or stops the walk when the stack cannot grow.
    #[inline(always)]
    fn push_frame(&mut self, frame: Frame) -> Entered {
        match self.stack.try_push(frame, "the stack of objects being walked") {
            Ok(()) => Entered::Pushed,
            Err(error) => {
                self.out_of_memory(error);
                Entered::Stopped
            }
        }
    }

    /// Whether `error`, raised by Python code the walk ran, is an `Exception`, which is
    /// dropped; any other error is kept in `pending`, to stop the walk.
    fn dropped(&mut self, error: PyErr) -> bool {
        if error.is_instance_of::<PyException>(self.py) {
            return true;
        }
        self.pending.get_or_insert(error);
        false
    }

    /// The next child of the top frame, or `None` when it has no more.
    ///
    /// # Safety
    /// A borrowed child is read from the frame's object (or a dict its cursor holds),
    /// which keeps it alive only while no Python code runs: the caller must use it, or
    /// hold it ([`Held::hold`]), before then. The frames live in `self.stack`, which the
    /// caller mutates meanwhile, so no lifetime can tie the child to its frame.
    #[inline(always)]
    unsafe fn next_child<'c>(&mut self) -> Option<(Held<'c>, RefName)> {
        let frame = self.stack.last_mut()?;
        // SAFETY: the frame's object is held strongly by the frame; the caller keeps
        // the child no longer than that object is alive and unchanged (see above).
        let obj: Borrowed<'c> = unsafe { Borrowed::from_raw(frame.obj.as_ptr()) };
        // SAFETY: the cursor was made by `cursor_for` (or `container_start`) for this
        // object, with the rule `frame.rule_id`.
        unsafe { frame.cursor.next(self.py, obj, frame.named, frame.rule_id, &self.rules, &mut self.pending) }
    }

    /// Creates the tree node for a reached object when building an `asized` tree.
    #[inline]
    fn new_node(&mut self, held: &mut Held<'_>, name: RefName, parent: Option<u32>, depth: u32) -> Option<u32> {
        let nodes = self.nodes.as_ref()?;
        if depth > self.options.detail {
            return None;
        }
        let index = nodes.len() as u32;
        let obj = held.hold().clone();
        let name = match names::ref_name(self.py, &obj, name_parts(&name), self.options.clip) {
            Ok(name) => name,
            Err(error) => {
                // A MemoryError, or not an `Exception`: it stops the walk.
                self.pending.get_or_insert(error);
                return None;
            }
        };
        if let Err(error) = self.nodes.as_mut()?.try_push(Node { parent, name, size: 0, flat: 0 }, "the size tree") {
            self.out_of_memory(error);
            return None;
        }
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
    fn finish(&mut self, held: Held<'_>, size: u64, flat: u64, node: u32, depth: u32, parent_id: usize) -> u64 {
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
            self.ledger.total = self.ledger.total.saturating_add(size);
        }
        size
    }
}
/// The largest `align` accepted: with it, a total can only reach 2**64 after more
/// than 2**32 objects, and every size still rounds up without overflowing.
pub const MAX_ALIGN: u64 = 1 << 32;

/// Whether `align` is an accepted alignment: 0 or 1 (no rounding) or a power of 2 up to
/// [`MAX_ALIGN`]; the error says what is allowed.
pub fn check_align(align: u64) -> Result<u64, String> {
    if align <= 1 || (align.is_power_of_two() && align <= MAX_ALIGN) {
        Ok(align.saturating_sub(1))
    } else {
        Err(format!("align={align} must be 0, 1 or a power of 2 up to 2**32"))
    }
}

/// `size` rounded up to a multiple of `mask + 1` (a power of 2); sizes and totals
/// saturate at 2**64 - 1 rather than wrap, so a lying `__sizeof__` gives the largest
/// size, never a small one.
#[inline]
pub fn align_up(size: u64, mask: u64) -> u64 {
    match size.checked_add(mask) {
        Some(padded) => padded & !mask,
        None => !mask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignments_round_up_without_wrapping() {
        assert_eq!(align_up(1, 7), 8);
        assert_eq!(align_up(16, 7), 16);
        assert_eq!(align_up(5, 0), 5);
        assert_eq!(align_up(u64::MAX, 7), !7);
        assert_eq!(align_up(u64::MAX - 3, 0), u64::MAX - 3);
    }

    #[test]
    fn only_powers_of_two_up_to_the_limit_are_alignments() {
        assert_eq!(check_align(0), Ok(0));
        assert_eq!(check_align(1), Ok(0));
        assert_eq!(check_align(8), Ok(7));
        assert_eq!(check_align(MAX_ALIGN), Ok(MAX_ALIGN - 1));
        assert!(check_align(12).is_err());
        assert!(check_align(1 << 62).unwrap_err().contains("2**32"));
    }
}
