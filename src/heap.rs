//! The objects of the process as pympler's `muppy.get_objects()` sees them: every object
//! the garbage collector tracks (frames excepted), plus the untracked objects those
//! refer to directly (strings, numbers, untracked dicts and tuples, static types), each
//! once.
//!
//! One pass: `gc.get_objects()` gives the tracked objects as strong references; each
//! one's `tp_traverse` gives its referents as borrowed pointers, which are filtered
//! (untracked, not seen before, not excluded) before any Python code can run and handed
//! to a [`HeapVisitor`]. A visitor accounts most objects without Python code
//! ([`HeapVisitor::quick`]); the others are taken strongly first and handed to
//! [`HeapVisitor::slow`], which may run Python code. The pass never recurses and keeps
//! no borrowed pointer across Python code.

use crate::cpython::{self, RawObj, RawType, Strong};
use crate::visited::VisitedSet;
use ahash::{AHashMap, AHashSet};
use pyo3::exceptions::PyReferenceError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyString};

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
#[derive(Default)]
pub struct Exclusions {
    /// Objects of these types, found tracked or as referents.
    pub types: Vec<usize>,
    /// These objects (by address, held alive by the caller for the pass).
    pub objects: AHashSet<usize>,
}

impl Exclusions {
    #[inline(always)]
    fn excludes(&self, obj: RawObj) -> bool {
        if !self.types.is_empty() {
            // SAFETY: callers pass live objects.
            let tp = unsafe { cpython::type_of(obj) } as usize;
            if self.types.contains(&tp) {
                return true;
            }
        }
        !self.objects.is_empty() && self.objects.contains(&cpython::address(obj))
    }
}

/// Options of one pass.
pub struct ScanOptions {
    /// Count an untracked object once however many objects refer to it (pympler's
    /// `remove_dups`); without it, once per reference.
    pub dedup: bool,
    /// Leave frames out (pympler's `get_objects`; its `ObjectTracker` keeps them).
    pub skip_frames: bool,
    pub exclusions: Exclusions,
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
    object_class: Py<PyAny>,
    frame_type: Py<PyAny>,
    get_objects: Py<PyAny>,
}

static INTERNED: PyOnceLock<Interned> = PyOnceLock::new();

fn interned(py: Python<'_>) -> PyResult<&'static Interned> {
    INTERNED.get_or_try_init(py, || {
        let class_name = PyString::intern(py, "__class__");
        // SAFETY: `object` is the static, ready base type; the result is borrowed from
        // its dict (never NULL: `object.__class__` always exists) and taken strongly.
        let object_class = unsafe {
            let found = cpython::type_lookup(std::ptr::addr_of_mut!(ffi::PyBaseObject_Type), class_name.as_ptr());
            Bound::from_borrowed_ptr(py, found)
        };
        Ok(Interned {
            class_name: class_name.unbind(),
            object_class: object_class.unbind(),
            frame_type: py.import("types")?.getattr("FrameType")?.unbind(),
            get_objects: py.import("gc")?.getattr("get_objects")?.unbind(),
        })
    })
}

/// `gc.get_objects()`: a new list of every tracked object, which it leaves out itself.
pub fn tracked_objects<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
    Ok(interned(py)?.get_objects.bind(py).call0()?.cast_into::<PyList>()?)
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
    /// Referents taken strongly for the slow path.
    held: Vec<Strong>,
}

/// How many tracked objects are traversed ahead of the one being accounted.
const DEPTH: usize = 8;
const FRAME_CACHE: usize = 64;

/// A tracked object read ahead, with its referents (all borrowed).
struct Ahead {
    index: usize,
    obj: RawObj,
    frame: FrameTest,
    refs: Vec<RawObj>,
}

/// Traverses `obj` into `refs` and starts loading each referent's header.
///
/// # Safety
/// `obj` must be alive.
#[inline]
unsafe fn traverse_prefetching(obj: RawObj, frame: FrameTest, refs: &mut Vec<RawObj>) {
    refs.clear();
    if frame == FrameTest::Yes {
        return;
    }
    // SAFETY: see the caller requirements.
    unsafe { cpython::traverse_borrowed(obj, refs) };
    for &child in refs.iter() {
        prefetch(child);
    }
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
            held: Vec::new(),
        })
    }

    /// Visits every object pympler's `get_objects()` would return, given the list of
    /// tracked objects (`gc.get_objects()`): each tracked object unless it is a frame or
    /// excluded, and the untracked objects they refer to (before the object itself).
    ///
    /// The pass is pipelined: the next [`DEPTH`] tracked objects are traversed ahead and
    /// their referents' headers prefetched, so the cache misses of several objects
    /// overlap. Everything read ahead is borrowed; whenever Python code has run (a slow
    /// path), the objects ahead are read again from the list and traversed again.
    pub fn run<V: HeapVisitor>(&mut self, tracked: &Bound<'py, PyList>, visitor: &mut V) -> PyResult<()> {
        let list = tracked.as_ptr();
        let mut next = 0usize;
        let mut ahead: std::collections::VecDeque<Ahead> = std::collections::VecDeque::with_capacity(DEPTH);
        let mut buffers: Vec<Vec<RawObj>> = (0..DEPTH).map(|_| Vec::with_capacity(32)).collect();
        loop {
            // Read ahead: no Python code runs here, so borrowed pointers stay valid.
            while ahead.len() < DEPTH {
                // SAFETY: the list is held by the caller; `list_item` bounds-checks.
                let Some(item) = (unsafe { cpython::list_item(list, next) }) else { break };
                next += 1;
                let Some(frame) = self.quick_frame_test(item) else { continue };
                let mut refs = buffers.pop().unwrap_or_default();
                // SAFETY: `item` is alive (held by the list, no Python code since read).
                unsafe { traverse_prefetching(item, frame, &mut refs) };
                ahead.push_back(Ahead { index: next - 1, obj: item, frame, refs });
            }
            let Some(current) = ahead.pop_front() else { break };
            let ran_python = self.visit(current.obj, current.frame, &current.refs, visitor)?;
            buffers.push(current.refs);
            if ran_python {
                // Python code may have changed anything read ahead: read it again.
                for pending in ahead.iter_mut() {
                    // SAFETY: as above.
                    match unsafe { cpython::list_item(list, pending.index) } {
                        Some(item) => {
                            pending.obj = item;
                            pending.refs.clear();
                            pending.frame = self.quick_frame_test(item).unwrap_or(FrameTest::Yes);
                            // SAFETY: as above.
                            unsafe { traverse_prefetching(item, pending.frame, &mut pending.refs) };
                        }
                        None => pending.frame = FrameTest::Yes,
                    }
                }
            }
        }
        Ok(())
    }

    /// `None` for a tracked object the pass leaves out (excluded, or a frame by its type);
    /// otherwise whether Python must still be asked if it is a frame.
    #[inline]
    fn quick_frame_test(&mut self, obj: RawObj) -> Option<FrameTest> {
        if self.options.exclusions.excludes(obj) {
            return None;
        }
        if !self.options.skip_frames {
            return Some(FrameTest::No);
        }
        // SAFETY: `obj` is alive (caller).
        let tp = unsafe { cpython::type_of(obj) };
        match self.frame_test_of(tp) {
            FrameTest::Yes => None,
            other => Some(other),
        }
    }

    /// Accounts one tracked object and its untracked referents `refs` (borrowed, read
    /// since the last Python code ran). Returns whether Python code ran.
    fn visit<V: HeapVisitor>(&mut self, obj: RawObj, frame: FrameTest, refs: &[RawObj], visitor: &mut V) -> PyResult<bool> {
        if frame == FrameTest::Yes {
            return Ok(false);
        }
        if frame == FrameTest::AskPython {
            // SAFETY: `obj` is alive (no Python code since it was read from the list).
            let held = unsafe { Strong::from_borrowed(obj) };
            if self.ask_is_frame(&held) {
                return Ok(true);
            }
            // The referents may have changed: traverse again, now that `obj` is held.
            let mut fresh = Vec::new();
            // SAFETY: `held` is alive.
            unsafe { cpython::traverse_borrowed(held.as_ptr(), &mut fresh) };
            self.visit_held(&held, &fresh, visitor)?;
            return Ok(true);
        }
        self.held.clear();
        for &child in refs {
            // SAFETY: `child` is a referent of `obj`, read since the last Python code ran.
            unsafe {
                if cpython::is_dead_referent(child)
                    || cpython::is_gc_tracked(child)
                    || self.options.exclusions.excludes(child)
                {
                    continue;
                }
                if self.options.dedup && !self.seen.insert(cpython::address(child)) {
                    continue;
                }
                if !visitor.quick(child, false) {
                    self.held.push(Strong::from_borrowed(child));
                }
            }
        }
        if self.held.is_empty() {
            // SAFETY: as above: no Python code ran since `obj` was read.
            if unsafe { visitor.quick(obj, true) } {
                return Ok(false);
            }
        }
        // Python code will run: hold `obj` first.
        // SAFETY: as above.
        let obj = unsafe { Strong::from_borrowed(obj) };
        for child in std::mem::take(&mut self.held) {
            visitor.slow(self.py, &child, false)?;
        }
        // SAFETY: `obj` is held strongly.
        if !unsafe { visitor.quick(obj.as_ptr(), true) } {
            visitor.slow(self.py, &obj, true)?;
        }
        Ok(true)
    }

    /// [`visit`](Self::visit) for an object held strongly, after Python code ran.
    fn visit_held<V: HeapVisitor>(&mut self, obj: &Strong, refs: &[RawObj], visitor: &mut V) -> PyResult<()> {
        let mut held = Vec::new();
        for &child in refs {
            // SAFETY: `child` is a referent of the held `obj`, traversed just now.
            unsafe {
                if cpython::is_dead_referent(child)
                    || cpython::is_gc_tracked(child)
                    || self.options.exclusions.excludes(child)
                {
                    continue;
                }
                if self.options.dedup && !self.seen.insert(cpython::address(child)) {
                    continue;
                }
                if !visitor.quick(child, false) {
                    held.push(Strong::from_borrowed(child));
                }
            }
        }
        for child in held {
            visitor.slow(self.py, &child, false)?;
        }
        // SAFETY: `obj` is held strongly.
        if !unsafe { visitor.quick(obj.as_ptr(), true) } {
            visitor.slow(self.py, obj, true)?;
        }
        Ok(())
    }

    /// How pympler's `isframe(obj)` is answered for the instances of `tp` (cached).
    #[inline]
    fn frame_test_of(&mut self, tp: RawType) -> FrameTest {
        let slot = (tp as usize >> 4) % FRAME_CACHE;
        if self.frame_recent[slot].0 == tp as usize {
            return self.frame_recent[slot].1;
        }
        let test = match self.frame_tests.get(&(tp as usize)) {
            Some((_, test)) => *test,
            None => {
                let test = self.frame_test(tp);
                // SAFETY: `tp` is the live type of a live object; kept alive by the map.
                let type_ref = unsafe { Strong::from_borrowed(tp.cast()) };
                self.frame_tests.insert(tp as usize, (type_ref, test));
                test
            }
        };
        self.frame_recent[slot] = (tp as usize, test);
        test
    }

    /// pympler's `isframe(obj)` through Python, for types that control `__class__`: true
    /// also when the lookup raises `ReferenceError` (proxies of dead objects).
    fn ask_is_frame(&mut self, obj: &Strong) -> bool {
        // SAFETY: `obj` is held strongly.
        let bound = unsafe { Bound::from_borrowed_ptr(self.py, obj.as_ptr()) };
        match bound.is_instance(self.interned.frame_type.bind(self.py)) {
            Ok(is_frame) => is_frame,
            Err(err) => err.is_instance_of::<PyReferenceError>(self.py),
            // pympler would stop with any other error; an object that cannot say what it
            // is counts as not a frame.
        }
    }

    fn frame_test(&self, tp: RawType) -> FrameTest {
        // SAFETY: `tp` is a live type; the frame type is static.
        unsafe {
            if ffi::PyType_IsSubtype(tp, std::ptr::addr_of_mut!(ffi::PyFrame_Type)) != 0 {
                return FrameTest::Yes;
            }
            let interned = self.interned;
            if cpython::class_attr_is_plain(tp, interned.class_name.as_ptr(), interned.object_class.as_ptr()) {
                FrameTest::No
            } else {
                FrameTest::AskPython
            }
        }
    }
}

/// Asks the CPU to start loading an object's header.
#[inline(always)]
pub fn prefetch(obj: RawObj) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(obj.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = obj;
}

/// Collects objects as strong references, tracked and untracked apart, in the order
/// found.
#[derive(Default)]
pub struct Collect {
    pub tracked: Vec<Strong>,
    pub untracked: Vec<Strong>,
}

impl HeapVisitor for Collect {
    #[inline]
    unsafe fn quick(&mut self, obj: RawObj, tracked: bool) -> bool {
        // SAFETY: `obj` is alive (trait contract).
        let obj = unsafe { Strong::from_borrowed(obj) };
        if tracked { self.tracked.push(obj) } else { self.untracked.push(obj) }
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
    let mut exclusions = Exclusions { types: types.iter().map(|t| t.as_ptr() as usize).collect(), ..Exclusions::default() };
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
#[pyo3(signature = (*, remove_dups = true, skip_frames = true, exclude = None))]
pub fn heap_objects<'py>(
    py: Python<'py>,
    remove_dups: bool,
    skip_frames: bool,
    exclude: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let _pause = GcPause::new(py)?;
    let tracked = tracked_objects(py)?;
    let options = ScanOptions { dedup: remove_dups, skip_frames, exclusions: exclusions_from(&[], exclude)? };
    let mut scan = Scan::new(py, options)?;
    let mut found = Collect::default();
    scan.run(&tracked, &mut found)?;
    drop(tracked);
    let mut all = found.untracked;
    all.append(&mut found.tracked);
    let list = cpython::list_from(all).ok_or_else(|| PyErr::fetch(py))?;
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
        let gc = py.import("gc")?;
        let was_enabled = gc.call_method0("isenabled")?.is_truthy()?;
        if was_enabled {
            gc.call_method0("disable")?;
        }
        Ok(GcPause { py, was_enabled })
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if self.was_enabled {
            if let Ok(gc) = self.py.import("gc") {
                // Re-enabling cannot fail; an error here would only come from a broken
                // `gc` module, and there is nobody to report it to.
                let _ = gc.call_method0("enable");
            }
        }
    }
}
