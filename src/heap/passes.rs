//! The objects of the process as pympler's `muppy.get_objects()` sees them: every object
//! the garbage collector tracks (frames excepted), plus the untracked objects those
//! refer to directly (strings, numbers, untracked dicts and tuples, static types), each
//! once; or, for the complete census ([`Census::Complete`]), every untracked object
//! reachable from a tracked one through any chain of untracked ones (the strings in an
//! untracked dict in a tracked list), each once.
//!
//! One pass, in two phases. First, with the collector paused, the tracked objects are
//! read from the collector's lists ([`TrackedObjects`]) and each one's `tp_traverse`
//! gives its referents; all of them borrowed, filtered (untracked, not seen before, not
//! excluded) and handed to a [`HeapVisitor`], which accounts most objects without Python
//! code ([`HeapVisitor::quick`]). No Python code runs in this phase, so the borrowed
//! pointers stay valid; the objects that need some are taken strongly and, in the
//! second phase, handed to [`HeapVisitor::slow`]. The pass never recurses.

use crate::ffi::{self, prefetch, Borrowed, RawObj, RawType, Strong};
use crate::grow::{Grow, OutOfMemory, TryPush};
use crate::heap::quiet_warnings::quietly;
use crate::visited::VisitedSet;
use ahash::{AHashMap, AHashSet};
use pyo3::exceptions::{PyException, PyReferenceError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyString};
#[cfg(not(Py_GIL_DISABLED))]
use std::ffi::c_int;

/// What a pass does with each object it finds.
pub trait HeapVisitor {
    /// Accounts `obj` if that needs no Python code; `false` to have it held strongly
    /// and handed to [`slow`](Self::slow).
    ///
    /// # Safety
    /// `obj` must be alive; implementations must not run Python code.
    unsafe fn quick(&mut self, obj: RawObj, tracked: bool) -> bool;

    /// Accounts `obj`, possibly running Python code.
    fn slow(&mut self, py: Python<'_>, obj: &Strong, tracked: bool) -> PyResult<()>;
}

/// Which objects a pass leaves out.
#[derive(Default, Clone)]
pub struct Exclusions {
    /// Objects of these types, found tracked or as referents.
    pub types: Vec<usize>,
    /// These objects (by address, held alive by the caller for the pass).
    pub objects: AHashSet<usize>,
}

impl Exclusions {
    /// # Safety
    /// `obj` must be alive.
    #[inline(always)]
    unsafe fn excludes(&self, obj: RawObj) -> bool {
        if !self.types.is_empty() {
            // SAFETY: the caller guarantees `obj` is alive.
            let tp = unsafe { ffi::type_of(obj) } as usize;
            if self.types.contains(&tp) {
                return true;
            }
        }
        !self.objects.is_empty() && self.objects.contains(&ffi::address(obj))
    }
}

/// Options of one pass.
#[derive(Clone)]
pub struct ScanOptions {
    /// Count an untracked object once however many objects refer to it (pympler's
    /// `remove_dups`); without it, once per reference.
    pub dedup: bool,
    /// Leave frames out (pympler's `get_objects`; its `ObjectTracker` keeps them).
    pub skip_frames: bool,
    pub exclusions: Exclusions,
    pub census: Census,
}

/// How far a pass goes from the tracked objects into the untracked ones.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Census {
    /// The untracked objects a tracked object refers to directly (pympler's
    /// `get_objects()`): what the collector stopped tracking one step further (the
    /// strings of an untracked dict) is not seen.
    Referents,
    /// Every untracked object reachable from a tracked one through untracked ones.
    /// Needs `dedup`: each object is counted once.
    Complete,
}

impl Census {
    /// The referents of `obj` this census follows, borrowed, appended to `refs`: what
    /// `tp_traverse` reports, and for the complete census the keys of dicts as well.
    ///
    /// # Safety
    /// `obj` must be alive.
    #[inline]
    unsafe fn traverse(self, obj: RawObj, refs: &mut Vec<RawObj>) -> Result<(), OutOfMemory> {
        // SAFETY: forwarded caller guarantee.
        unsafe {
            match self {
                Census::Referents => ffi::traverse_borrowed(obj, refs),
                Census::Complete => ffi::traverse_borrowed_with_keys(obj, refs),
            }
        }
    }
}

/// Whether the instances of a type are frames for pympler's `isframe` test.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FrameTest {
    No,
    Yes,
    /// Only `isinstance` in Python can tell (the type controls `__class__`).
    AskPython,
}

struct Interned {
    class_name: Py<PyString>,
    getattribute_name: Py<PyString>,
    object_class: Py<PyAny>,
    frame_type: Py<PyAny>,
    get_objects: Py<PyAny>,
    get_threshold: Py<PyAny>,
}

static INTERNED: PyOnceLock<Interned> = PyOnceLock::new();

fn interned(py: Python<'_>) -> PyResult<&'static Interned> {
    INTERNED.get_or_try_init(py, || {
        let class_name = PyString::intern(py, "__class__");
        // SAFETY: `object` is the static, ready base type; the result is borrowed from
        // its dict (never NULL: `object.__class__` always exists) and taken strongly.
        let object_class = unsafe {
            let found = ffi::type_lookup(ffi::object_type(), class_name.as_ptr());
            Bound::from_borrowed_ptr(py, found)
        };
        Ok(Interned {
            class_name: class_name.unbind(),
            getattribute_name: PyString::intern(py, "__getattribute__").unbind(),
            object_class: object_class.unbind(),
            frame_type: py.import(crate::pystr!(py, "types")?)?.getattr(crate::pystr!(py, "FrameType")?)?.unbind(),
            get_objects: py.import(crate::pystr!(py, "gc")?)?.getattr(crate::pystr!(py, "get_objects")?)?.unbind(),
            get_threshold: py.import(crate::pystr!(py, "gc")?)?.getattr(crate::pystr!(py, "get_threshold")?)?.unbind(),
        })
    })
}

/// Every object the collector tracks, in the order `gc.get_objects()` lists them
/// (youngest generation first, each in list order), read one at a time.
///
/// Read straight from the collector's lists where their layout checks out, so that no
/// Python list of a million references is built, filled and freed; else taken from
/// `gc.get_objects()`. Read directly, the objects are borrowed and the lists must not
/// change: between [`take`](Self::take) and the last [`next`](Self::next), no Python
/// code may run and the collector must be paused (see [`GcPause`]).
pub struct TrackedObjects {
    source: Source,
}

enum Source {
    /// The collector's lists: where the reading is, and the links found ahead of it
    /// (their headers already asked for, so that following the chain does not wait for
    /// memory at each step).
    #[cfg(not(Py_GIL_DISABLED))]
    Lists { heads: [usize; 3], generation: usize, last_found: usize, ahead: std::collections::VecDeque<usize> },
    /// A `gc.get_objects()` list, which holds its objects.
    List { list: Strong, index: usize },
}

/// How many links of the collector's lists are followed ahead of the object returned.
#[cfg(not(Py_GIL_DISABLED))]
const LINKS_AHEAD: usize = 4;

impl TrackedObjects {
    /// Starts reading the tracked objects. May run Python code.
    pub fn take(py: Python<'_>) -> PyResult<TrackedObjects> {
        #[cfg(not(Py_GIL_DISABLED))]
        if let Some(heads) = Self::generation_heads(py)? {
            let ahead = std::collections::VecDeque::with_capacity(LINKS_AHEAD + 1);
            return Ok(TrackedObjects { source: Source::Lists { heads, generation: 0, last_found: heads[0], ahead } });
        }
        let list = interned(py)?.get_objects.bind(py).call0()?.cast_into::<PyList>()?;
        // SAFETY: `list` is alive; the handle takes its own reference.
        let list = unsafe { Strong::from_borrowed(list.as_ptr()) };
        Ok(TrackedObjects { source: Source::List { list, index: 0 } })
    }

    #[cfg(not(Py_GIL_DISABLED))]
    fn generation_heads(py: Python<'_>) -> PyResult<Option<[usize; 3]>> {
        let thresholds: (c_int, c_int, c_int) = interned(py)?.get_threshold.bind(py).call0()?.extract()?;
        // A new list: tracked at once, at the end of the youngest generation.
        let probe = ffi::new_list(py, Vec::new())?;
        // SAFETY: `probe` was tracked just now and no Python code ran since.
        let heads = unsafe { ffi::generation_heads(probe.as_ptr(), [thresholds.0, thresholds.1, thresholds.2]) };
        // Freeing an empty list runs no Python code; it only unlinks it.
        drop(probe);
        Ok(heads)
    }

    /// The next tracked object, borrowed (see the type's rules).
    #[inline]
    pub fn next(&mut self) -> Option<RawObj> {
        match &mut self.source {
            Source::List { list, index } => {
                // SAFETY: the list is held; `list_item` bounds-checks.
                let item = unsafe { ffi::list_item(list.as_ptr(), *index) }?;
                *index += 1;
                Some(item)
            }
            #[cfg(not(Py_GIL_DISABLED))]
            Source::Lists { heads, generation, last_found, ahead } => {
                while ahead.len() <= LINKS_AHEAD && *generation < heads.len() {
                    // SAFETY: `last_found` is a head or an object's header found since
                    // `take`, and the lists have not changed since (the type's rules).
                    let link = unsafe { ffi::next_gc_link(*last_found) };
                    if link == heads[*generation] {
                        *generation += 1;
                        if let Some(&head) = heads.get(*generation) {
                            *last_found = head;
                        }
                        continue;
                    }
                    prefetch((link as *mut u8).cast());
                    ahead.push_back(link);
                    *last_found = link;
                }
                ahead.pop_front().map(ffi::object_of_gc_link)
            }
        }
    }
}

/// One pass over the heap.
pub struct Scan<'py> {
    py: Python<'py>,
    options: ScanOptions,
    interned: &'static Interned,
    frame_tests: AHashMap<usize, (Strong, FrameTest)>,
    seen: VisitedSet,
    /// Direct-mapped cache of `frame_tests`: (type address, test).
    frame_recent: [(usize, FrameTest); FRAME_CACHE],
    /// Objects that need Python code, accounted once every tracked object was read:
    /// (object, whether the collector tracks it).
    deferred: Vec<(Strong, bool)>,
    /// Tracked objects only Python can say are not frames.
    ask_frames: Vec<Strong>,
    /// The first buffer that could not grow: the pass stops with `MemoryError`.
    failed: Option<OutOfMemory>,
    /// When to look for a pending Ctrl-C next.
    poll: ffi::SignalPoll,
    /// Untracked containers found but not traversed yet ([`Census::Complete`]), borrowed.
    untracked: Vec<RawObj>,
    /// The referents of the untracked container being traversed.
    untracked_refs: Vec<RawObj>,
}

/// What the list of untracked containers still to traverse is called in a `MemoryError`.
const UNTRACKED: &str = "the list of untracked containers to traverse";

/// How many tracked objects are traversed ahead of the one being accounted.
const DEPTH: usize = 8;
const FRAME_CACHE: usize = 64;
/// What the lists of objects put aside are called in a `MemoryError`.
const DEFERRED: &str = "the list of objects put aside for Python code";

/// A tracked object read ahead, with its referents (all borrowed).
struct Ahead {
    obj: RawObj,
    frame: FrameTest,
    refs: Vec<RawObj>,
}

/// Traverses `obj` into `refs` and starts loading each referent's header.
///
/// # Safety
/// `obj` must be alive.
#[inline]
unsafe fn traverse_prefetching(
    obj: RawObj,
    frame: FrameTest,
    census: Census,
    refs: &mut Vec<RawObj>,
) -> Result<(), OutOfMemory> {
    refs.clear();
    if frame != FrameTest::No {
        return Ok(());
    }
    // SAFETY: see the caller requirements.
    unsafe { census.traverse(obj, refs) }?;
    for &child in refs.iter() {
        prefetch(child);
        // The collector's header, read to tell whether it is tracked, is in the line
        // before when the object starts a cache line.
        prefetch(child.cast::<u8>().wrapping_sub(ffi::GC_HEAD).cast());
    }
    Ok(())
}

impl<'py> Scan<'py> {
    pub fn new(py: Python<'py>, options: ScanOptions) -> PyResult<Scan<'py>> {
        Ok(Scan {
            py,
            options,
            interned: interned(py)?,
            frame_tests: AHashMap::new(),
            seen: VisitedSet::default(),
            frame_recent: [(0, FrameTest::No); FRAME_CACHE],
            deferred: Vec::new(),
            ask_frames: Vec::new(),
            failed: None,
            poll: ffi::SignalPoll::default(),
            untracked: Vec::new(),
            untracked_refs: Vec::new(),
        })
    }

    /// Visits every object pympler's `get_objects()` would return, given the tracked
    /// objects: each tracked object unless it is a frame or excluded, and the untracked
    /// objects they refer to (before the object itself, unless either needs Python).
    ///
    /// Two phases. The first reads every tracked object and runs no Python code, so
    /// that borrowed pointers (the tracked objects, their referents) stay valid: what
    /// needs Python code (a type seen for the first time, a foreign `__sizeof__`, a
    /// `__class__` to ask) is taken strongly and put aside. The second accounts what was
    /// put aside. The first phase is pipelined: the next [`DEPTH`] tracked objects are
    /// traversed ahead and their referents' headers prefetched, so that the cache
    /// misses of several objects overlap.
    ///
    /// A Ctrl-C stops the first phase (polled without running Python code): once the
    /// borrowed pointers are dropped, the program's SIGINT handler runs and its error is
    /// returned. `Ok(false)` when the handler returned without raising: `visitor` has
    /// seen part of the heap only, and the caller starts a new pass with a new visitor.
    pub fn run<V: HeapVisitor>(&mut self, mut tracked: TrackedObjects, visitor: &mut V) -> PyResult<bool> {
        let mut ahead: std::collections::VecDeque<Ahead> = std::collections::VecDeque::with_capacity(DEPTH);
        let mut buffers: Vec<Vec<RawObj>> = (0..DEPTH).map(|_| Vec::with_capacity(32)).collect();
        let mut interrupted = false;
        while self.failed.is_none() {
            if self.poll.interrupted(self.py) {
                interrupted = true;
                break;
            }
            while ahead.len() < DEPTH {
                let Some(item) = tracked.next() else { break };
                // SAFETY: `item` is alive: no Python code ran since it was read.
                let Some(frame) = (unsafe { self.quick_frame_test(item) }) else { continue };
                let mut refs = buffers.pop().unwrap_or_default();
                // SAFETY: as above.
                if let Err(error) = unsafe { traverse_prefetching(item, frame, self.options.census, &mut refs) } {
                    self.failed.get_or_insert(error);
                }
                ahead.push_back(Ahead { obj: item, frame, refs });
            }
            let Some(current) = ahead.pop_front() else { break };
            // SAFETY: as above, for the object and its referents.
            unsafe { self.visit(current.obj, current.frame, &current.refs, visitor) };
            buffers.push(current.refs);
        }
        drop(ahead);
        drop(tracked);
        self.untracked.clear();
        if let Some(error) = self.failed.take() {
            return Err(error.into());
        }
        if interrupted {
            // Python code may run from here: no borrowed pointer is left.
            self.deferred.clear();
            self.ask_frames.clear();
            ffi::check_signals(self.py)?;
            return Ok(false);
        }
        for (obj, is_tracked) in std::mem::take(&mut self.deferred) {
            self.poll.check(self.py)?;
            visitor.slow(self.py, &obj, is_tracked)?;
        }
        let ask_frames = std::mem::take(&mut self.ask_frames);
        if !ask_frames.is_empty() {
            quietly(self.py, || self.visit_asked(ask_frames, visitor))?;
        }
        Ok(true)
    }

    /// Accounts the tracked objects whose `__class__` only Python can give, unless they
    /// claim to be frames.
    fn visit_asked<V: HeapVisitor>(&mut self, asked: Vec<Strong>, visitor: &mut V) -> PyResult<()> {
        for obj in asked {
            self.poll.check(self.py)?;
            if self.ask_is_frame(&obj)? {
                continue;
            }
            let mut refs = Vec::new();
            // SAFETY: `obj` is held strongly.
            unsafe { self.options.census.traverse(obj.as_ptr(), &mut refs) }?;
            self.visit_held(&obj, &refs, visitor)?;
            if let Some(error) = self.failed.take() {
                return Err(error.into());
            }
        }
        Ok(())
    }

    /// `None` for a tracked object the pass leaves out (excluded, or a frame by its type);
    /// otherwise whether Python must still be asked if it is a frame.
    ///
    /// # Safety
    /// `obj` must be alive.
    #[inline]
    unsafe fn quick_frame_test(&mut self, obj: RawObj) -> Option<FrameTest> {
        // SAFETY: the caller guarantees `obj` is alive.
        if unsafe { self.options.exclusions.excludes(obj) } {
            return None;
        }
        if !self.options.skip_frames {
            return Some(FrameTest::No);
        }
        // SAFETY: `obj` is alive (caller), non-null, and holds its type for this call.
        let tp = unsafe { Borrowed::from_raw(obj) }.type_object();
        // SAFETY: `tp` is an object's type.
        match unsafe { self.frame_test_of(tp) } {
            FrameTest::Yes => None,
            other => Some(other),
        }
    }

    /// Accounts one tracked object and its untracked referents `refs` as far as no
    /// Python code is needed; puts the rest aside.
    ///
    /// # Safety
    /// `obj` and `refs` must be alive (read since the last Python code ran).
    unsafe fn visit<V: HeapVisitor>(&mut self, obj: RawObj, frame: FrameTest, refs: &[RawObj], visitor: &mut V) {
        match frame {
            FrameTest::Yes => return,
            // SAFETY: `obj` is alive (caller).
            FrameTest::AskPython => {
                // SAFETY: `obj` is alive (caller).
                let held = unsafe { Strong::from_borrowed(obj) };
                if let Err(error) = self.ask_frames.try_push(held, DEFERRED) {
                    self.failed.get_or_insert(error);
                }
                return;
            }
            FrameTest::No => {}
        }
        // SAFETY: the referents were read since the last Python code ran (caller).
        unsafe { self.visit_untracked(refs, visitor) };
        if self.options.census == Census::Complete {
            // SAFETY: what was put on the list was read since the last Python code ran.
            unsafe { self.visit_reachable_untracked(visitor) };
        }
        // SAFETY: `obj` is alive (caller).
        unsafe {
            if !visitor.quick(obj, true) {
                self.defer(Strong::from_borrowed(obj), true);
            }
        }
    }

    /// Accounts the untracked objects of `refs` not seen before (or puts them aside), and
    /// for the complete census lists the containers among them, to be traversed.
    ///
    /// # Safety
    /// `refs` must have been reported by traversals since the last Python code ran.
    #[inline]
    unsafe fn visit_untracked<V: HeapVisitor>(&mut self, refs: &[RawObj], visitor: &mut V) {
        for &child in refs {
            // SAFETY: see the requirements.
            unsafe {
                if !self.keeps_referent(child) {
                    continue;
                }
                if !visitor.quick(child, false) {
                    self.defer(Strong::from_borrowed(child), false);
                }
                if self.options.census == Census::Complete && ffi::is_gc_object(child) {
                    if let Err(error) = self.untracked.try_push(child, UNTRACKED) {
                        self.failed.get_or_insert(error);
                    }
                }
            }
        }
    }

    /// Traverses the untracked containers listed by [`visit_untracked`](Self::visit_untracked)
    /// until none is left, accounting what they hold: the complete census. A list, not
    /// recursion, so that a million nested tuples cost no stack.
    ///
    /// # Safety
    /// Every listed container was reached since the last Python code ran.
    unsafe fn visit_reachable_untracked<V: HeapVisitor>(&mut self, visitor: &mut V) {
        let mut refs = std::mem::take(&mut self.untracked_refs);
        while let Some(container) = self.untracked.pop() {
            refs.clear();
            // SAFETY: `container` is alive: it is held by an object reached since the last
            // Python code ran, and nothing has run since (requirements).
            if let Err(error) = unsafe { self.options.census.traverse(container, &mut refs) } {
                self.failed.get_or_insert(error);
                self.untracked.clear();
                break;
            }
            // SAFETY: reported by a traversal just now.
            unsafe { self.visit_untracked(&refs, visitor) };
        }
        self.untracked_refs = refs;
    }

    /// Puts an object aside for the second phase.
    fn defer(&mut self, obj: Strong, is_tracked: bool) {
        if let Err(error) = self.deferred.try_push((obj, is_tracked), DEFERRED) {
            self.failed.get_or_insert(error);
        }
    }

    /// Whether a referent is one of the untracked objects the pass counts, seen now for
    /// the first time (marks it seen).
    ///
    /// # Safety
    /// `child` must be a referent reported by a traversal since the last Python code ran.
    #[inline]
    unsafe fn keeps_referent(&mut self, child: RawObj) -> bool {
        // SAFETY: see the requirements; a dead (free-listed) referent is skipped before
        // anything but its count is read.
        unsafe {
            if ffi::is_dead_referent(child) || ffi::is_gc_tracked(child) || self.options.exclusions.excludes(child) {
                return false;
            }
        }
        if !self.options.dedup {
            return true;
        }
        match self.seen.insert(ffi::address(child)) {
            Ok(new) => new,
            Err(error) => {
                self.failed.get_or_insert(error);
                false
            }
        }
    }

    /// [`visit`](Self::visit) for an object held strongly, traversed just now; may run
    /// Python code.
    fn visit_held<V: HeapVisitor>(&mut self, obj: &Strong, refs: &[RawObj], visitor: &mut V) -> PyResult<()> {
        let mut held = Vec::new();
        for &child in refs {
            // SAFETY: `child` is a referent of the held `obj`, traversed just now.
            unsafe {
                if self.keeps_referent(child) {
                    held.try_push(Strong::from_borrowed(child), DEFERRED)?;
                }
            }
        }
        if self.options.census == Census::Complete {
            // Everything reachable is taken strongly before any Python code runs (in
            // `slow`), since that code could free what the borrowed pointers point to.
            let mut next = 0;
            let mut grandchildren = Vec::new();
            while let Some(container) = held.get(next).map(Strong::as_ptr) {
                next += 1;
                grandchildren.clear();
                // SAFETY: `container` is held strongly; no Python code runs in this loop.
                unsafe { Census::Complete.traverse(container, &mut grandchildren) }?;
                for &child in &grandchildren {
                    // SAFETY: reported by the traversal just now.
                    unsafe {
                        if self.keeps_referent(child) {
                            held.try_push(Strong::from_borrowed(child), DEFERRED)?;
                        }
                    }
                }
            }
        }
        for child in held {
            // SAFETY: `child` is held strongly.
            if !unsafe { visitor.quick(child.as_ptr(), false) } {
                visitor.slow(self.py, &child, false)?;
            }
        }
        // SAFETY: `obj` is held strongly.
        if !unsafe { visitor.quick(obj.as_ptr(), true) } {
            visitor.slow(self.py, obj, true)?;
        }
        Ok(())
    }

    /// How pympler's `isframe(obj)` is answered for the instances of `tp` (cached).
    ///
    /// # Safety
    /// `tp` must be a type object.
    #[inline]
    unsafe fn frame_test_of(&mut self, tp: Borrowed<'_>) -> FrameTest {
        let address = tp.address();
        let slot = (address >> 4) % FRAME_CACHE;
        if self.frame_recent[slot].0 == address {
            return self.frame_recent[slot].1;
        }
        let test = match self.frame_tests.get(&address) {
            Some((_, test)) => *test,
            None => {
                // SAFETY: `tp` is a type (caller).
                let test = unsafe { self.frame_test(tp) };
                // Kept alive by the map, so the address stays this type's.
                self.frame_tests.insert(address, (tp.to_strong(), test));
                test
            }
        };
        self.frame_recent[slot] = (address, test);
        test
    }

    /// pympler's `isframe(obj)` through Python, for types that control `__class__`: true
    /// also when the lookup raises `ReferenceError` (proxies of dead objects). An error
    /// that is not an `Exception` (`KeyboardInterrupt`, ...) stops the pass.
    fn ask_is_frame(&mut self, obj: &Strong) -> PyResult<bool> {
        // SAFETY: `obj` is held strongly.
        let bound = unsafe { Bound::from_borrowed_ptr(self.py, obj.as_ptr()) };
        match bound.is_instance(self.interned.frame_type.bind(self.py)) {
            Ok(is_frame) => Ok(is_frame),
            Err(err) if err.is_instance_of::<PyReferenceError>(self.py) => Ok(true),
            // pympler would stop with any other error; an object that cannot say what it
            // is counts as not a frame.
            Err(err) if err.is_instance_of::<PyException>(self.py) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// # Safety
    /// `tp` must be a type object.
    unsafe fn frame_test(&self, tp: Borrowed<'_>) -> FrameTest {
        let tp: RawType = tp.as_ptr().cast();
        // SAFETY: `tp` is a live type (borrowed); the interned strings are held by the
        // static cache.
        unsafe {
            if ffi::is_frame_subtype(tp) {
                return FrameTest::Yes;
            }
            let interned = self.interned;
            let (class_name, getattribute_name) = (interned.class_name.as_ptr(), interned.getattribute_name.as_ptr());
            if ffi::class_attr_is_plain(tp, class_name, getattribute_name, interned.object_class.as_ptr()) {
                FrameTest::No
            } else {
                FrameTest::AskPython
            }
        }
    }
}

/// Collects objects as strong references, tracked and untracked apart, in the order
/// found.
#[derive(Default)]
pub struct Collect {
    pub tracked: Vec<Strong>,
    pub untracked: Vec<Strong>,
    /// Set when a list could not grow: the caller raises `MemoryError`.
    pub failed: Option<OutOfMemory>,
}

impl HeapVisitor for Collect {
    #[inline]
    unsafe fn quick(&mut self, obj: RawObj, tracked: bool) -> bool {
        // SAFETY: `obj` is alive (trait contract).
        let obj = unsafe { Strong::from_borrowed(obj) };
        let list = if tracked { &mut self.tracked } else { &mut self.untracked };
        if let Err(error) = list.try_push(obj, "the list of the heap's objects") {
            self.failed.get_or_insert(error);
        }
        true
    }

    fn slow(&mut self, _py: Python<'_>, obj: &Strong, tracked: bool) -> PyResult<()> {
        // SAFETY: `obj` is held strongly by the caller.
        unsafe { self.quick(obj.as_ptr(), tracked) };
        Ok(())
    }
}

/// Objects given by the caller, as exclusions: their addresses.
pub fn exclusions_from(types: &[Py<PyAny>], objects: Option<&Bound<'_, PyAny>>) -> PyResult<Exclusions> {
    let mut exclusions =
        Exclusions { types: types.iter().map(|t| t.as_ptr() as usize).collect(), ..Exclusions::default() };
    if let Some(objects) = objects {
        for obj in objects.try_iter()? {
            exclusions.objects.insert(obj?.as_ptr() as usize);
        }
    }
    Ok(exclusions)
}

/// The objects pympler's `muppy.get_objects()` returns, in its order (the untracked
/// referents first, then the tracked objects), without calling `gc.collect()` (the
/// Python caller does). `exclude`: objects to leave out (their untracked referents are
/// not reached through them); `skip_frames=False` keeps frames (pympler's
/// `ObjectTracker`).
#[pyfunction]
#[pyo3(signature = (*, remove_dups = true, skip_frames = true, exclude = None, progress = None))]
pub fn heap_objects<'py>(
    py: Python<'py>,
    remove_dups: bool,
    skip_frames: bool,
    exclude: Option<&Bound<'py, PyAny>>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let _progress = crate::ffi::ProgressScope::enter_pass(progress)?;
    let _pause = GcPause::new(py)?;
    let options = ScanOptions {
        dedup: remove_dups,
        skip_frames,
        exclusions: exclusions_from(&[], exclude)?,
        census: Census::Referents,
    };
    // A new pass after a Ctrl-C whose handler did not raise (see `Scan::run`).
    let mut found = loop {
        let mut scan = Scan::new(py, options.clone())?;
        let tracked = TrackedObjects::take(py)?;
        let mut found = Collect::default();
        if scan.run(tracked, &mut found)? {
            break found;
        }
    };
    if let Some(error) = found.failed {
        return Err(error.into());
    }
    let mut all = found.untracked;
    all.grow(found.tracked.len(), "the list of the heap's objects")?;
    all.append(&mut found.tracked);
    let list = ffi::list_from(all).ok_or_else(|| PyErr::fetch(py))?;
    // SAFETY: `list` is a live list we own; the Bound takes its own reference.
    Ok(unsafe { Bound::from_borrowed_ptr(py, list.as_ptr()) })
}

/// Keeps the cyclic collector from running during a pass (it could untrack objects the
/// pass has already classified as tracked); restores its state when dropped.
pub struct GcPause<'py> {
    py: Python<'py>,
    was_enabled: bool,
}

impl<'py> GcPause<'py> {
    pub fn new(py: Python<'py>) -> PyResult<GcPause<'py>> {
        let gc = py.import(crate::pystr!(py, "gc")?)?;
        let was_enabled = gc.call_method0(crate::pystr!(py, "isenabled")?)?.is_truthy()?;
        if was_enabled {
            gc.call_method0(crate::pystr!(py, "disable")?)?;
        }
        Ok(GcPause { py, was_enabled })
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if self.was_enabled {
            let py = self.py;
            if let Ok(gc) = crate::pystr!(py, "gc").and_then(|name| py.import(name)) {
                // Re-enabling cannot fail; an error here would only come from a broken
                // `gc` module, and there is nobody to report it to.
                let _ = crate::pystr!(py, "enable").and_then(|name| gc.call_method0(name));
            }
        }
    }
}
