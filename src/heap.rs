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
    #[inline]
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
    /// Referents of the current object, borrowed, then filtered.
    refs: Vec<RawObj>,
    /// Referents taken strongly for the slow path.
    held: Vec<Strong>,
}

impl<'py> Scan<'py> {
    pub fn new(py: Python<'py>, options: ScanOptions) -> PyResult<Scan<'py>> {
        Ok(Scan {
            py,
            options,
            interned: interned(py)?,
            frame_tests: AHashMap::new(),
            seen: VisitedSet::default(),
            refs: Vec::with_capacity(64),
            held: Vec::new(),
        })
    }

    /// Visits every object pympler's `get_objects()` would return, given the list of
    /// tracked objects (`gc.get_objects()`): each tracked object unless it is a frame or
    /// excluded, and the untracked objects they refer to (before the object itself).
    pub fn run<V: HeapVisitor>(&mut self, tracked: &Bound<'py, PyList>, visitor: &mut V) -> PyResult<()> {
        let list = tracked.as_ptr();
        let mut index = 0usize;
        // SAFETY (loop): the list is held by the caller and re-read at every step, so
        // its items are alive when read; each is taken strongly before use.
        while let Some(item) = unsafe { cpython::list_item(list, index) } {
            index += 1;
            if let Some(ahead) = unsafe { cpython::list_item(list, index + 4) } {
                prefetch(ahead);
            }
            // SAFETY: an item of the live list.
            let obj = unsafe { Strong::from_borrowed(item) };
            if self.options.exclusions.excludes(obj.as_ptr()) || (self.options.skip_frames && self.is_frame(&obj)?) {
                continue;
            }
            self.untracked_referents(&obj, visitor)?;
            // SAFETY: `obj` is held strongly.
            if !unsafe { visitor.quick(obj.as_ptr(), true) } {
                visitor.slow(self.py, &obj, true)?;
            }
        }
        Ok(())
    }

    /// Hands the untracked referents of `obj` not seen before to `visitor`.
    fn untracked_referents<V: HeapVisitor>(&mut self, obj: &Strong, visitor: &mut V) -> PyResult<()> {
        self.refs.clear();
        // SAFETY: `obj` is held strongly. The referents are borrowed: until the loop
        // below is done, no Python code runs (filtering and `quick` run none).
        unsafe { cpython::traverse_borrowed(obj.as_ptr(), &mut self.refs) };
        self.held.clear();
        for &child in &self.refs {
            // SAFETY: `child` is a referent of the held `obj` and no Python code ran since
            // the traversal.
            unsafe {
                if cpython::is_gc_tracked(child) || self.options.exclusions.excludes(child) {
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
        for child in std::mem::take(&mut self.held) {
            visitor.slow(self.py, &child, false)?;
        }
        Ok(())
    }

    /// pympler's `isframe(obj)`, which also leaves out objects whose `__class__` lookup
    /// raises `ReferenceError` (proxies of dead objects).
    fn is_frame(&mut self, obj: &Strong) -> PyResult<bool> {
        // SAFETY: `obj` is held strongly.
        let tp = unsafe { cpython::type_of(obj.as_ptr()) };
        let test = match self.frame_tests.get(&(tp as usize)) {
            Some((_, test)) => *test,
            None => {
                let test = self.frame_test(tp);
                // SAFETY: `tp` is the live type of a held object; kept alive by the map.
                let type_ref = unsafe { Strong::from_borrowed(tp.cast()) };
                self.frame_tests.insert(tp as usize, (type_ref, test));
                test
            }
        };
        match test {
            FrameTest::No => Ok(false),
            FrameTest::Yes => Ok(true),
            FrameTest::AskPython => {
                // SAFETY: `obj` is held strongly.
                let bound = unsafe { Bound::from_borrowed_ptr(self.py, obj.as_ptr()) };
                match bound.is_instance(self.interned.frame_type.bind(self.py)) {
                    Ok(is_frame) => Ok(is_frame),
                    Err(err) if err.is_instance_of::<PyReferenceError>(self.py) => Ok(true),
                    // pympler would stop with the error; an object that cannot say
                    // what it is counts as not a frame.
                    Err(_) => Ok(false),
                }
            }
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
fn prefetch(obj: RawObj) {
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
