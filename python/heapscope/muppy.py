"""The objects of the process: a drop-in replacement for ``pympler.muppy``.

``get_objects()`` returns every object the garbage collector tracks (frames excepted)
plus the objects they refer to directly that it does not track (strings, numbers,
dicts and tuples of such), each once, after a ``gc.collect()``: the same list as
pympler's, built in one pass in Rust::

    >>> from heapscope import muppy, summary
    >>> objects = muppy.get_objects()
    >>> len(objects) > 1000
    True
    >>> summary.print_(summary.summarize(objects))              # doctest: +SKIP

Objects only referenced from frames (local variables of running functions) are not
found, as in pympler. Sizes are flat sizes (``sys.getsizeof``). To summarize the whole
heap without building the list at all, use ``summary.summarize_heap()``.
"""

from __future__ import annotations

import gc
import inspect
import sys
from typing import IO, Any, Callable, Dict, List, Optional

from heapscope import _core, _progress, summary

__all__ = [
    "filter",
    "get_diff",
    "get_objects",
    "get_referents",
    "get_size",
    "get_usage",
    "print_summary",
    "sort",
]

_Py_TPFLAGS_HAVE_GC = 1 << 14


def ignore_object(obj: Any) -> bool:
    """Whether ``get_objects`` leaves ``obj`` out: frames, and proxies of dead objects."""
    try:
        return inspect.isframe(obj)
    except ReferenceError:
        return True


def get_objects(remove_dups: bool = True, include_frames: bool = False, *, progress: bool = True) -> List[Any]:
    """All objects of the process, except frames.

    Runs ``gc.collect()``, then lists every tracked object and the untracked objects
    they refer to (those first, as pympler does). With ``remove_dups=False`` an untracked
    object appears once per reference to it. With ``include_frames`` the frames of the
    callers of the caller are appended (the caller's own frame is left out, to avoid a
    reference cycle through the list). A pass longer than two seconds shows its progress
    on a terminal, unless ``progress=False``.
    """
    gc.collect()
    shown = _progress.make("get_objects", progress)
    try:
        res = _core.heap_objects(remove_dups=remove_dups, progress=shown)
    finally:
        _progress.close(shown)
    if include_frames:
        for frame_info in inspect.stack()[2:]:
            res.append(frame_info[0])
    return res


def get_size(objects: List[Any]) -> int:
    """The total flat size (``sys.getsizeof``) of the objects."""
    return _core.total_flat_size(objects)


def get_diff(left: List[Any], right: List[Any]) -> Dict[str, List[Any]]:
    """The objects only in ``right`` (``'+'``) and only in ``left`` (``'-'``), by identity."""
    plus, minus = _core.identity_diff(left, right)
    return {"+": plus, "-": minus}


def sort(objects: List[Any]) -> List[Any]:
    """The objects sorted by flat size, smallest first (stable)."""
    sizes = _core.flat_sizes(objects)
    order = sorted(range(len(sizes)), key=sizes.__getitem__)
    objects = list(objects)
    return [objects[i] for i in order]


def filter(objects: List[Any], Type: Optional[type] = None, min: int = -1, max: int = -1) -> List[Any]:  # noqa: A001
    """The objects of type ``Type`` (if given) with a flat size above ``min`` and below
    ``max`` (each when above -1)."""
    if min > max and max > -1:
        raise ValueError("minimum must be smaller than maximum")
    # Bounds past 64 bits (pympler takes any int) mean the same as the largest one: no
    # object is that large. Below -1, a bound is not set, as at -1.
    return _core.filter_objects(objects, Type, _bound(min), _bound(max))


def _bound(value: int) -> int:
    return -1 if value < -1 else value if value <= sys.maxsize else sys.maxsize


def get_referents(object: Any, level: int = 1) -> List[Any]:  # noqa: A002
    """The objects ``object`` refers to (``gc.get_referents``), and with ``level`` > 1
    theirs too, down to ``level`` levels, each once.

    Unlike pympler's (which follows every level once ``level`` > 1 and never ends on a
    reference cycle), this stops at ``level`` and terminates on cycles. Dead objects that
    a module's traversal still reports from a free list are left out (on CPython
    3.12.0-3.12.4 ``gc.get_referents`` of the ``_asyncio`` module returns some, and
    touching them corrupts the heap).
    """
    res = _core.referents(object)
    seen = {id(o) for o in res}
    frontier = res
    for _ in range(level - 1):
        if not frontier:  # nothing new at the last level: no deeper one either
            break
        found = []
        for o in frontier:
            for ref in _core.referents(o):
                if id(ref) not in seen:
                    seen.add(id(ref))
                    found.append(ref)
        res.extend(found)
        frontier = found
    return _remove_duplicates(res)


def _is_containerobject(o: Any) -> bool:
    """Whether the objects of ``type(o)`` can be tracked by the garbage collector."""
    return bool(getattr(type(o), "__flags__", 0) & _Py_TPFLAGS_HAVE_GC)


def _remove_duplicates(objects: List[Any]) -> List[Any]:
    """The objects without repeats (by identity), in order."""
    seen = set()
    result = []
    for item in objects:
        marker = id(item)
        if marker in seen:
            continue
        seen.add(marker)
        result.append(item)
    return result


def get_usage(function: Callable[..., Any], *args: Any) -> Optional[List[List[Any]]]:
    """What calling ``function(*args)`` leaves behind: the summary diff of the heap
    before and after a call, or None if nothing changed.

    The function is called twice and only the second call is measured, so that
    one-time initialisation (imports, caches) does not count. heapscope's own
    bookkeeping never shows up, so no calibration run is needed. Objects the function
    returns are dropped before the second summary.
    """
    function(*args)
    before = summary.summarize_heap()
    function(*args)
    after = summary.summarize_heap()
    rows = summary._sweep(summary.get_diff(before, after))
    return rows or None


#: pympler's name.
_get_usage = get_usage


def print_summary(file: Optional[IO[str]] = None) -> None:
    """Print a summary of every object of the process (see ``summary.print_``)."""
    summary.print_(summary.summarize_heap(ignore_self=False), file=file)
