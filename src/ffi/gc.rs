//! The collector's side of an object: traversal (`tp_traverse`), tracked or not, dead
//! referents left in free lists, and the collector's generation lists read in place.

use super::*;
use crate::grow::{Grow, OutOfMemory, TryPush};

/// Whether a pointer handed to a `tp_traverse` visitor is a dead object: one with no
/// references left, which a module still lists in a free list of its own.
///
/// CPython 3.12.0-3.12.4 `_asyncio` traverses its free list of future iterators
/// (python/cpython#122695); taking a reference to one of those and dropping it frees it
/// a second time, and the next `gc.collect()` loops forever. Live objects always have a
/// reference count of at least one, so visitors skip anything at zero.
///
/// # Safety
/// `child` must point to memory a `tp_traverse` visitor received.
#[inline]
pub unsafe fn is_dead_referent(child: RawObj) -> bool {
    // SAFETY: free-listed objects keep their memory (that is what a free list is), so the
    // header of anything a traversal reports can be read.
    unsafe { ffi::Py_REFCNT(child) <= 0 }
}

/// Objects visited by the type's `tp_traverse` (what `gc.get_referents` returns), as
/// strong references; `Err` when the list cannot grow.
///
/// # Safety
/// `obj` must be alive.
pub unsafe fn traverse_referents(obj: RawObj) -> Result<Vec<Strong>, OutOfMemory> {
    unsafe extern "C" fn visit(child: RawObj, arg: *mut c_void) -> c_int {
        // SAFETY: `arg` is the Vec passed below, alive for the traverse call; `child` is
        // an object the traversed object holds, alive unless it sits in a free list.
        unsafe {
            if !is_dead_referent(child) {
                let out = &mut *arg.cast::<Vec<Strong>>();
                if out.grow(1, REFERENTS).is_err() {
                    // A non-zero result stops the traversal.
                    return -1;
                }
                out.push(Strong::from_borrowed(child));
            }
        }
        0
    }
    let mut out: Vec<Strong> = Vec::new();
    // SAFETY: `obj` is alive; traversal only reads it and runs no Python code. Only
    // objects the collector manages are traversed (`PyObject_IS_GC` also asks
    // `tp_is_gc`, false for static types, whose traversal is not valid).
    unsafe {
        let tp = type_of(obj);
        if ffi::PyObject_IS_GC(obj) != 0 {
            if let Some(traverse) = (*tp).tp_traverse {
                if traverse(obj, visit, (&mut out as *mut Vec<Strong>).cast()) != 0 {
                    return Err(OutOfMemory(REFERENTS));
                }
            }
        }
    }
    Ok(out)
}

/// What the traversals' lists are called in a `MemoryError`.
const REFERENTS: &str = "the list of an object's referents";

/// Whether `obj` takes part in garbage collection (`gc.is_tracked` aside): its type has
/// the GC flag and, for types that decide per object (type objects), the object says so.
/// Only such objects may be traversed: `tp_traverse` of a static type is a fatal error.
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_gc_object(obj: RawObj) -> bool {
    // `PyObject_IS_GC` inlined: it is asked of every referent in a heap pass, and the
    // call through the library costs more than the test.
    // SAFETY: `obj` is alive; only its type (and, through `tp_is_gc`, the object) is read.
    unsafe {
        let tp = type_of(obj);
        has_gc(tp) && (*tp).tp_is_gc.map_or(true, |is_gc| is_gc(obj) != 0)
    }
}

/// Calls `each` with every object the type's `tp_traverse` visits from `obj` (what
/// `gc.get_referents` returns), as *borrowed* pointers. They stay valid only until
/// Python code runs or `obj` changes: `each` must not run Python code, and callers that
/// keep a pointer past the walk take a strong reference first. Does nothing for objects
/// that are not [`is_gc_object`]. Dead objects may be among them (see
/// [`is_dead_referent`]): the visitor reads no object header, so that the caller can do
/// so when it has to (and when the header was prefetched); any referent that is kept,
/// referenced or traversed must be checked first.
///
/// # Safety
/// `obj` must be alive.
pub unsafe fn for_each_referent<F: FnMut(RawObj)>(obj: RawObj, each: &mut F) {
    unsafe extern "C" fn visit<F: FnMut(RawObj)>(child: RawObj, arg: *mut c_void) -> c_int {
        // SAFETY: `arg` is the closure passed below, borrowed for the traverse call only;
        // `child` is an object `obj` holds (never NULL: `Py_VISIT` skips NULLs).
        unsafe { (*arg.cast::<F>())(child) };
        0
    }
    // SAFETY: `obj` is alive and a GC object, so its type has a `tp_traverse` that may be
    // called on it; traversal only reads it and runs no Python code. The visitor cannot
    // outlive the call: it is a plain function and the closure is borrowed for the call.
    unsafe {
        if !is_gc_object(obj) {
            return;
        }
        if let Some(traverse) = (*type_of(obj)).tp_traverse {
            traverse(obj, visit::<F>, (each as *mut F).cast());
        }
    }
}

// ---------------------------------------------------------------------------------------
// heap enumeration (used by `heap`, `flat` and `summary`)

/// Whether the garbage collector tracks `obj` (`gc.is_tracked(obj)`).
///
/// # Safety
/// `obj` must be alive.
#[inline]
pub unsafe fn is_gc_tracked(obj: RawObj) -> bool {
    // `PyObject_GC_IsTracked` inlined, for the same reason as `is_gc_object`.
    #[cfg(not(Py_GIL_DISABLED))]
    // SAFETY: `obj` is alive. Only a GC object has a `PyGC_Head`, which CPython places
    // right before the object; its `_gc_next` is non-zero exactly while it is tracked.
    unsafe {
        is_gc_object(obj) && (*obj.cast::<GcLinks>().sub(1)).next != 0
    }
    #[cfg(Py_GIL_DISABLED)]
    // SAFETY: `obj` is alive; the call only reads its type and GC bits.
    unsafe {
        ffi::PyObject_GC_IsTracked(obj) != 0
    }
}

// ---------------------------------------------------------------------------------------
// the collector's lists (used by `heap`)

/// `PyGC_Head`: the links of the collector's doubly linked, circular lists; every
/// tracked object sits in exactly one, with this header right before it.
#[cfg(not(Py_GIL_DISABLED))]
#[repr(C)]
struct GcLinks {
    next: usize,
    prev: usize,
}

/// The low bits of both links carry the collector's flags.
#[cfg(not(Py_GIL_DISABLED))]
const GC_LINK_FLAGS: usize = 3;
/// `struct gc_generation` { `PyGC_Head head; int threshold; int count;` }, three in a row
/// in the interpreter's `_gc_runtime_state` (3.9 to 3.13), followed by the
/// `generation0` pointer to the first one's head.
#[cfg(not(Py_GIL_DISABLED))]
const GENERATION_BYTES: usize = GC_HEAD + 8;
#[cfg(not(Py_GIL_DISABLED))]
const GENERATIONS: usize = 3;

/// The heads of the collector's three generation lists (youngest first), found through
/// `probe` and checked against `thresholds` (`gc.get_threshold()`); `None` when the
/// interpreter's state is not laid out as expected, so that callers fall back to
/// `gc.get_objects()`.
///
/// # Safety
/// `probe` must be a live object that was tracked just now (a new list): CPython links
/// a newly tracked object at the end of the youngest generation, so the next link of its
/// header is that generation's head.
#[cfg(not(Py_GIL_DISABLED))]
pub unsafe fn generation_heads(probe: RawObj, thresholds: [c_int; GENERATIONS]) -> Option<[usize; GENERATIONS]> {
    // SAFETY: `probe` is tracked, so its header and both neighbours in the list are live
    // collector links; the head is a `gc_generation` inside the interpreter's collector
    // state, so the generations after it and the `generation0` pointer that follows them
    // are readable on every version this is compiled for (the checks below confirm it).
    unsafe {
        let links = probe.cast::<GcLinks>().sub(1);
        let head0 = (*links).next & !GC_LINK_FLAGS;
        if head0 == 0 || ((*(head0 as *const GcLinks)).prev & !GC_LINK_FLAGS) != links as usize {
            return None;
        }
        let generation0 = *((head0 + GENERATIONS * GENERATION_BYTES) as *const usize);
        if generation0 != head0 {
            return None;
        }
        let mut heads = [0usize; GENERATIONS];
        for (i, head) in heads.iter_mut().enumerate() {
            *head = head0 + i * GENERATION_BYTES;
            let threshold = *((*head + GC_HEAD) as *const c_int);
            let links = *head as *const GcLinks;
            let first = ((*links).next & !GC_LINK_FLAGS) as *const GcLinks;
            let last = ((*links).prev & !GC_LINK_FLAGS) as *const GcLinks;
            if threshold != thresholds[i]
                || first.is_null()
                || last.is_null()
                || ((*first).prev & !GC_LINK_FLAGS) != *head
                || ((*last).next & !GC_LINK_FLAGS) != *head
            {
                return None;
            }
        }
        Some(heads)
    }
}

/// The link after `link` in its collector list: the header of the next tracked object,
/// or the list's head.
///
/// # Safety
/// `link` must be a generation head from [`generation_heads`] or the header of an
/// object in its list, with no Python code run since the head was found (nothing else
/// changes the lists while the collector is paused).
#[cfg(not(Py_GIL_DISABLED))]
#[inline]
pub unsafe fn next_gc_link(link: usize) -> usize {
    // SAFETY: see the caller requirements: `link` points to a live `PyGC_Head`.
    unsafe { (*(link as *const GcLinks)).next & !GC_LINK_FLAGS }
}

/// The object whose header is `link` (not a generation head).
#[cfg(not(Py_GIL_DISABLED))]
#[inline]
pub fn object_of_gc_link(link: usize) -> RawObj {
    (link + GC_HEAD) as RawObj
}

/// Appends the objects visited by the type's `tp_traverse` (what `gc.get_referents`
/// returns) to `out`, as *borrowed* pointers. They stay valid only until Python code
/// runs or `obj` is changed; callers take strong references before either can happen.
/// `Err` when `out` cannot grow (it then holds the referents visited until then).
/// As with [`for_each_referent`], dead objects may be among them and must be skipped
/// before use (see [`is_dead_referent`]), and objects that are not [`is_gc_object`]
/// (static types among them) are not traversed.
///
/// # Safety
/// `obj` must be alive.
pub unsafe fn traverse_borrowed(obj: RawObj, out: &mut Vec<RawObj>) -> Result<(), OutOfMemory> {
    unsafe extern "C" fn visit(child: RawObj, arg: *mut c_void) -> c_int {
        // SAFETY: `arg` is the Vec passed below, alive for the traverse call.
        let out = unsafe { &mut *arg.cast::<Vec<RawObj>>() };
        match out.try_push(child, REFERENTS) {
            Ok(()) => 0,
            // A non-zero result stops the traversal.
            Err(_) => -1,
        }
    }
    // SAFETY: `obj` is alive; traversal only reads it and runs no Python code. Only
    // objects the collector manages are traversed: the type's GC flag is not enough,
    // since `type` has it while static types (`int`) must not be traversed. The
    // visitor cannot outlive this call: it is a plain function and `out` is borrowed
    // for the call only.
    unsafe {
        if is_gc_object(obj) {
            let tp = type_of(obj);
            if let Some(traverse) = (*tp).tp_traverse {
                if traverse(obj, visit, (out as *mut Vec<RawObj>).cast()) != 0 {
                    return Err(OutOfMemory(REFERENTS));
                }
            }
        }
    }
    Ok(())
}
