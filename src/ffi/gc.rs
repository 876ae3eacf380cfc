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
#[derive(Clone, Copy)]
#[repr(C)]
struct GcLinks {
    next: usize,
    prev: usize,
}

/// The low bits of both links carry the collector's flags.
#[cfg(not(Py_GIL_DISABLED))]
const GC_LINK_FLAGS: usize = 3;
/// `struct gc_generation` { `PyGC_Head head; int threshold; int count;` }: three in a
/// row in the interpreter's `_gc_runtime_state` on every version (3.14.0's incremental
/// collector names them `young` and `old[2]`, in the same place).
#[cfg(not(Py_GIL_DISABLED))]
const GENERATION_BYTES: usize = GC_HEAD + 8;
#[cfg(not(Py_GIL_DISABLED))]
const GENERATIONS: usize = 3;
/// How far past the generations the `generation0` pointer (to the first head) is
/// looked for: right after them up to 3.13, at the end of the collector's state from
/// 3.14 on (after the permanent generation, the statistics and the counters).
#[cfg(not(Py_GIL_DISABLED))]
const GENERATION0_SEARCH_BYTES: usize = 320;

/// Reads a `PyGC_Head` whatever its address's alignment: the heads inside the
/// interpreter's state are only 4-aligned on some builds (CPython declares the struct
/// with a 4-byte minimum alignment from 3.13.x on).
///
/// # Safety
/// `link` must be the address of a live `PyGC_Head`.
#[cfg(not(Py_GIL_DISABLED))]
#[inline(always)]
unsafe fn read_links(link: usize) -> GcLinks {
    // SAFETY: see the caller requirements; an unaligned read is valid at any address.
    unsafe { std::ptr::read_unaligned(link as *const GcLinks) }
}

/// The heads of the collector's three generation lists (youngest first), found through
/// `probe` and checked against `thresholds` (`gc.get_threshold()`); `None` when the
/// interpreter's state is not laid out as expected or the layout is turned off
/// ([`Layout::GcLists`]), so that callers fall back to `gc.get_objects()`.
///
/// # Safety
/// `probe` must be a live object that was tracked just now (a new list): CPython links
/// a newly tracked object at the end of the youngest generation, so the next link of its
/// header is that generation's head.
#[cfg(not(Py_GIL_DISABLED))]
pub unsafe fn generation_heads(probe: RawObj, thresholds: [c_int; GENERATIONS]) -> Option<[usize; GENERATIONS]> {
    if !layout_or_fallback(Layout::GcLists) {
        return None;
    }
    // SAFETY: forwarded caller guarantee.
    unsafe { generation_heads_unchecked(probe, thresholds) }
}

/// [`generation_heads`] without the layout switch (the check at import calls this).
///
/// # Safety
/// As for [`generation_heads`].
#[cfg(not(Py_GIL_DISABLED))]
pub(super) unsafe fn generation_heads_unchecked(
    probe: RawObj,
    thresholds: [c_int; GENERATIONS],
) -> Option<[usize; GENERATIONS]> {
    // SAFETY: `probe` is tracked, so its header (aligned: objects are) and both
    // neighbours in the list are live collector links. Its next link is a
    // `gc_generation` inside the interpreter's collector state, which is embedded in
    // the (much larger) interpreter state: the generations after it and the words
    // searched below lie inside that state on every version this is compiled for. All
    // reads there are unaligned reads, and the checks below confirm the layout before
    // anything is used.
    unsafe {
        let links = probe.cast::<GcLinks>().sub(1);
        let head0 = (*links).next & !GC_LINK_FLAGS;
        if head0 == 0 || (read_links(head0).prev & !GC_LINK_FLAGS) != links as usize {
            return None;
        }
        // The interpreter's own pointer to the first head, in a pointer-aligned word.
        let search_from = (head0 + GENERATIONS * GENERATION_BYTES).next_multiple_of(PTR);
        let found = (search_from..search_from + GENERATION0_SEARCH_BYTES)
            .step_by(PTR)
            .any(|word| std::ptr::read_unaligned(word as *const usize) == head0);
        if !found {
            return None;
        }
        let mut heads = [0usize; GENERATIONS];
        for (i, head) in heads.iter_mut().enumerate() {
            *head = head0 + i * GENERATION_BYTES;
            let threshold = std::ptr::read_unaligned((*head + GC_HEAD) as *const c_int);
            let links = read_links(*head);
            let first = links.next & !GC_LINK_FLAGS;
            let last = links.prev & !GC_LINK_FLAGS;
            if threshold != thresholds[i]
                || first == 0
                || last == 0
                || (read_links(first).prev & !GC_LINK_FLAGS) != *head
                || (read_links(last).next & !GC_LINK_FLAGS) != *head
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
    unsafe { read_links(link).next & !GC_LINK_FLAGS }
}

/// The object whose header is `link` (not a generation head).
#[cfg(not(Py_GIL_DISABLED))]
#[inline]
pub fn object_of_gc_link(link: usize) -> RawObj {
    (link + GC_HEAD) as RawObj
}

/// [`traverse_borrowed`], plus the keys of a dict: `tp_traverse` leaves out the keys of
/// tables that hold only str keys (strings cannot make cycles), yet the dict keeps them
/// alive, so a census that means to count everything reachable asks for them too.
/// A key may then be reported twice (tables with other keys visit their keys).
///
/// # Safety
/// `obj` must be alive.
pub unsafe fn traverse_borrowed_with_keys(obj: RawObj, out: &mut Vec<RawObj>) -> Result<(), OutOfMemory> {
    // SAFETY: forwarded caller guarantee.
    unsafe { traverse_borrowed(obj, out) }?;
    // SAFETY: `obj` is alive; `PyDict_Check` reads its type's flags only.
    if unsafe { ffi::PyDict_Check(obj) } != 0 {
        let mut pos = 0;
        // SAFETY: `obj` is a live dict; no Python code runs while its entries are read.
        while let Some((key, _)) = unsafe { dict_next(obj, &mut pos) } {
            out.try_push(key, REFERENTS)?;
        }
    }
    Ok(())
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

#[cfg(all(test, not(Py_GIL_DISABLED)))]
mod tests {
    use super::*;

    /// A fake collector state: three generation heads starting `misalign` bytes past an
    /// 8-aligned address, the `generation0` pointer `generation0_at` bytes after the
    /// first head, and one tracked "object" (a header and a word) at the end of the
    /// youngest list. Returns the buffer and the probe's address.
    fn fake_state(misalign: usize, generation0_at: usize, thresholds: [c_int; 3]) -> (Vec<u64>, usize) {
        let mut words = vec![0u64; 128];
        let base = words.as_mut_ptr() as usize;
        let head0 = base + 8 + misalign;
        let probe_links = base + 96 * 8;
        let write = |at: usize, value: usize| {
            assert!(at >= base && at + 8 <= base + 128 * 8);
            // SAFETY: the address lies inside `words` (just checked).
            unsafe { std::ptr::write_unaligned(at as *mut usize, value) };
        };
        for (i, threshold) in thresholds.iter().enumerate() {
            let head = head0 + i * GENERATION_BYTES;
            let (next, prev) = if i == 0 { (probe_links, probe_links) } else { (head, head) };
            write(head, next);
            write(head + PTR, prev);
            // SAFETY: inside `words`, as above.
            unsafe { std::ptr::write_unaligned((head + GC_HEAD) as *mut c_int, *threshold) };
        }
        write(head0 + generation0_at, head0);
        write(probe_links, head0);
        write(probe_links + PTR, head0);
        (words, probe_links + GC_HEAD)
    }

    #[test]
    fn heads_are_found_when_aligned_and_when_only_four_aligned() {
        // 3.9-3.12: aligned, `generation0` right after the heads; 3.13.x with 4-aligned
        // heads: padded to the next pointer; 3.14+: further on, past other fields.
        for (misalign, generation0_at) in [(0, 72), (4, 76), (0, 72 + 184), (4, 76 + 200)] {
            let (words, probe) = fake_state(misalign, generation0_at, [2000, 10, 10]);
            // SAFETY: the fake state is laid out as the function expects.
            let heads = unsafe { generation_heads_unchecked(probe as RawObj, [2000, 10, 10]) };
            let head0 = words.as_ptr() as usize + 8 + misalign;
            assert_eq!(heads, Some([head0, head0 + GENERATION_BYTES, head0 + 2 * GENERATION_BYTES]));
            // SAFETY: `head0` is a head of the fake state.
            let first = unsafe { next_gc_link(head0) };
            assert_eq!(object_of_gc_link(first) as usize, probe);
            // SAFETY: as above.
            assert_eq!(unsafe { next_gc_link(head0 + GENERATION_BYTES) }, head0 + GENERATION_BYTES);
        }
    }

    #[test]
    fn a_state_that_does_not_check_out_is_refused() {
        let (_words, probe) = fake_state(4, 76, [2000, 10, 10]);
        // SAFETY: as above; the thresholds asked for differ from those stored.
        assert_eq!(unsafe { generation_heads_unchecked(probe as RawObj, [700, 10, 10]) }, None);
        let (_words, probe) = fake_state(0, 72 + GENERATION0_SEARCH_BYTES + 64, [2000, 10, 10]);
        // SAFETY: as above; no `generation0` pointer within the searched bytes.
        assert_eq!(unsafe { generation_heads_unchecked(probe as RawObj, [2000, 10, 10]) }, None);
    }
}
