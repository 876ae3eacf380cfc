"""Summaries of objects by type: a drop-in replacement for ``pympler.summary``.

A *summary* is a list of rows ``[type, number of objects, total size]``, one per type
name, where the size is the objects' flat size as ``sys.getsizeof`` reports it (not what
they reference; on 3.9 and 3.10 without the look-up cache a code object gets on its
1024th call, see ``docs/differences.md``)::

    >>> from heapscope import muppy, summary
    >>> rows = summary.summarize([1, 2, "three", [4]])
    >>> sorted(row[0] for row in rows)
    ['int', 'list', 'str']
    >>> summary.print_(rows)                                    # doctest: +SKIP
      types |   # objects |   total size
    ======= | =========== | ============
       list |           1 |     64     B
        int |           2 |     56     B
        str |           1 |     54     B

Type names are pympler's: ``str(type(obj))`` with ``<class '...'>`` unwrapped (``dict``,
``mymod.Foo``), except functions (``function (name)``), modules (``module(name)``) and
frames (``frame (codename: name)``). Add a function to ``representations`` (as in
pympler) to name a type's objects your own way.

The aggregation runs in Rust. ``summarize_heap()`` summarizes every object of the
process (what ``summarize(muppy.get_objects())`` does) in one pass, without building
the list of objects, and returns a :class:`Summary`: rows kept in Rust memory, which
can be saved to JSON (``Summary.save``), loaded in another process (``load``) and
diffed. A ``Summary`` iterates as pympler's rows, so it can be passed to every function
here.
"""

from __future__ import annotations

import re
import sys
import types
from typing import IO, Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, TypeVar, Union

from heapscope import _core, _own, _progress
from heapscope.exceptions import SnapshotError

__all__ = [
    "Summary",
    "SnapshotError",
    "format_",
    "get_diff",
    "load",
    "print_",
    "representations",
    "summarize",
    "summarize_heap",
]

Summary = _core.Summary

Row = List[Any]
Rows = Union[Sequence[Sequence[Any]], "_core.Summary"]
_AnyRow = TypeVar("_AnyRow", bound=Sequence[Any])

#: How objects of a type are named in summaries: ``{type: [function, ...]}``; the first
#: function is used (pympler's verbosity level 1). The defaults are pympler's.
representations: Dict[type, List[Callable[[Any], str]]] = {}


def _init_representations() -> None:
    representations[types.FrameType] = [
        lambda f: "frame (codename: %s)" % (f.f_code.co_name),
        lambda f: "frame (codename: %s, codeline: %s)" % (f.f_code.co_name, f.f_code.co_firstlineno),
        lambda f: "frame (codename: %s, filename: %s, codeline: %s)"
        % (f.f_code.co_name, f.f_code.co_filename, f.f_code.co_firstlineno),
    ]
    representations[dict] = [lambda d: str(type(d)), lambda d: "dict, len=%s" % len(d)]
    representations[types.FunctionType] = [
        lambda f: "function (%s)" % f.__name__,
        lambda f: "function (%s.%s)" % (f.__module__, f.__name__),
    ]
    representations[list] = [lambda l: str(type(l)), lambda l: "list, len=%s" % len(l)]  # noqa: E741
    representations[types.ModuleType] = [
        lambda m: "module(%s)"
        % getattr(m, "__name__", getattr(m, "__file__", "nameless, id: %d" % id(m)))
    ]
    representations[set] = [lambda s: str(type(s)), lambda s: "set, len=%s" % len(s)]


_init_representations()
# The functions heapscope applies natively; any other first entry is called per object.
_NATIVE = {t: reps[0] for t, reps in representations.items()}


def _overrides() -> Optional[Dict[type, Callable[[Any], str]]]:
    """``{type: function}`` for the entries of ``representations`` that differ from the
    defaults, or None."""
    found = None
    for t, reps in representations.items():
        if reps and reps[0] is not _NATIVE.get(t):
            if found is None:
                found = {}
            found[t] = reps[0]
    return found


# Rust caches filled on first use are filled here, at import: the table of builtin types
# behind flat sizes imports `weakref`, `struct`, `array`, `re` and `os` and compiles the
# expressions that name its types. Filled during a tracker's first summary instead, that
# work would leave its garbage and its newly tracked tuples to the next collection, and
# the second summary would show them as negative rows (pympler's `tuple -189`,
# `code -12`, `str -82` on CPython 3.11).
_core.summarize(())

# `_clear_internal_caches` from 3.13 on, where `_clear_type_cache` is deprecated.
_clear_type_cache = getattr(sys, "_clear_internal_caches", None) or sys._clear_type_cache

# Whether a census has run in this process (see `_settle`).
_censused = False

#: The most full collections ``_collect`` runs before a summary.
_COLLECT_ROUNDS = 8


def _settle(collect: bool = True) -> None:
    """Readies the heap for a summary, so that two summaries of an unchanged heap are
    equal: makes what the first repr in this thread makes, runs a first census once per
    process, empties CPython's type attribute cache and, with ``collect``, collects
    until nothing more is left to the next collection (``_collect``)."""
    # The first repr of a non-empty list or dict in a thread makes the thread's state
    # dict and the list in it that guards repr against recursion (`Py_ReprEnter`), and
    # they live as long as the thread: the first `print(tracker.diff())` with a row
    # would show in the next diff as `list 1`, `dict 1`. Made here, before the summary.
    repr([()])
    global _censused
    if not _censused:
        # A census looks attributes up on the type of every object it meets (and runs
        # Python code for a few: a metaclass's `__repr__`, a property `__class__`), and
        # that may do work once per process: on 3.9 the first lookup on
        # `functools._lru_list_elem`, a type CPython readies only then, adds it to
        # `object.__subclasses__()` (`int 1`, `weakref 1` in the next diff). A first
        # census, thrown away, gets that done before any summary.
        _core.summarize_heap(overrides=_overrides(), ignore_self=True)
        _censused = True
    # CPython's type attribute cache keeps a reference to the name of each recent
    # lookup on a class; a name made at run time (enum's `'_%s__in_progress' % cls`)
    # can live on that reference only, listed in the dict of interned strings. The
    # census's own lookups evict such entries, so the name counted by one summary was
    # freed by it and missing from the next (`str -1`, which one depending on the
    # hash seed). Emptied here, that cache frees them before the summary.
    _clear_type_cache()
    if collect:
        _collect()


def _collect() -> None:
    """``gc.collect()`` until a collection changes the collector's lists only by the
    objects it freed.

    A collection also untracks the tuples (and, on some versions, dicts) that can no
    longer be part of a cycle, but only those whose items are untracked already: a
    tuple that the collector's list holds before the tuple inside it (as unmarshalled
    constants are) is untracked one collection later, a level of nesting per
    collection. A summary counts untracked objects only through a tracked object that
    refers to them, so each late untracking would remove rows from the next summary
    although nothing was freed (``tuple -3``, ``code -3``). Collecting until nothing more
    is untracked takes that lazy work ahead of the summary; a heap that did not change
    since the previous collection takes one. The loop runs in Rust, where no other
    thread can allocate between a collection and the count that judges it.
    """
    _core.collect_until_settled(_COLLECT_ROUNDS)


def summarize(objects: Iterable[Any]) -> List[Row]:
    """Summarize objects: a list of rows ``[type, number of objects, total size]``.

    The size is each object's flat size (``sys.getsizeof``, less a code object's look-up
    cache on 3.9 and 3.10). Rows come in the order their
    type is first met; pympler gives no order either. Objects whose ``__sizeof__`` fails
    are counted with their type's basic size (pympler stops with the error).
    """
    return _core.summarize(objects, _overrides())


def summarize_heap(
    collect: bool = True,
    ignore_self: bool = True,
    label: Optional[str] = None,
    census: str = "complete",
    *,
    progress: bool = True,
) -> "_core.Summary":
    """Summary of every object of the process, in one pass in Rust, without building the
    list of objects.

    ``census="complete"`` (default) counts every object reachable from an object the
    garbage collector tracks, through any chain of objects it does not track: the
    strings, bytes and ints inside untracked dicts and tuples are counted, each once.
    ``census="pympler"`` counts what ``summarize(muppy.get_objects())`` counts, as
    pympler does: tracked objects and the untracked objects they refer to directly, so
    the contents of an untracked dict are missed (see ``docs/differences.md``).

    ``collect`` runs ``gc.collect()`` first, as ``muppy.get_objects()`` does, so that
    unreachable objects are not counted (again while a collection still finds objects
    to untrack, so that two summaries of an unchanged heap are equal). With
    ``ignore_self``, heapscope's own results are left out: ``Summary`` objects (which
    hold heapscope's bookkeeping) and the figures the IPython magics return. ``label`` is stored with the summary. Raises ``ValueError`` for any other
    ``census``.

    A pass longer than two seconds shows its progress on a terminal (objects visited,
    and the time), unless ``progress=False``; see the README's "Progress".
    """
    if census not in ("complete", "pympler"):
        raise ValueError(f'census must be "complete" or "pympler", not {census!r}')
    _settle(collect)
    shown = _progress.make("summarize_heap", progress)
    try:
        return _core.summarize_heap(
            overrides=_overrides(), ignore_self=ignore_self, label=label, census=census,
            own_types=_own.own_types(), progress=shown,
        )
    finally:
        _progress.close(shown)


def load(path: Any) -> "_core.Summary":
    """Load a summary saved with ``Summary.save(path)``, by this or another process.

    Raises ``SnapshotError`` (a ``ValueError``) when the file is not a complete summary
    in a format version this heapscope reads.
    """
    return _core.Summary.load(path)


def get_diff(left: Rows, right: Rows) -> List[Row]:
    """The difference of two summaries: ``right - left`` row by row.

    Types on only one side appear with their values (negated for ``left``); types on
    both sides appear even when nothing changed, with zeros (``tracker`` drops those).
    Rows come in ``right``'s order, then those only in ``left``.
    """
    right_by_key = {r[0]: r for r in right}
    left_by_key = {r[0]: r for r in left}
    res: List[Row] = []
    for key, r in right_by_key.items():
        l = left_by_key.get(key)  # noqa: E741
        if l is not None:
            res.append([key, r[1] - l[1], r[2] - l[2]])
        else:
            res.append(list(r))
    for key, l in left_by_key.items():  # noqa: E741
        if key not in right_by_key:
            res.append([key, -l[1], -l[2]])
    return res


_SORTS = ["type", "#", "size"]
_ORDERS = ["ascending", "descending"]


def format_(rows: Rows, limit: int = 15, sort: str = "size", order: str = "descending") -> Iterator[str]:
    """The rows as pympler's table, one line at a time.

    ``limit`` rows at most, sorted by ``'size'``, ``'#'`` or ``'type'``, in ``order``
    ``'ascending'`` or ``'descending'``. Sizes are shown as pympler shows them (``150
    B``, ``1.21 KB``; negative sizes in bytes). As in pympler, ``sort='type'`` keeps the
    rows' order.
    """
    localrows = [list(row) for row in rows]
    if sort not in _SORTS:
        raise ValueError("invalid sort, should be one of" + str(_SORTS))
    if order not in _ORDERS:
        raise ValueError("invalid order, should be one of" + str(_ORDERS))
    column = _SORTS.index(sort)
    if column == 0:
        # pympler sorts by the representation of the type *name*: the same for all.
        key: Callable[[Row], Any] = lambda x: _repr(x[0])  # noqa: E731
    else:
        key = lambda x: x[column]  # noqa: E731
    localrows.sort(key=key, reverse=order == "descending")
    localrows = localrows[0:limit]
    cells = [["types", "# objects", "total size"]]
    cells.extend([str(row[0]), str(row[1]), _core.pretty_size(row[2])] for row in localrows)
    return iter(_core.format_table(cells))


def print_(
    rows: Rows,
    limit: int = 15,
    sort: str = "size",
    order: str = "descending",
    file: Optional[IO[str]] = None,
) -> None:
    """Print the rows as a table (see ``format_``) to ``file`` (default: ``sys.stdout``)."""
    out = sys.stdout if file is None else file
    for line in format_(rows, limit=limit, sort=sort, order=order):
        print(line, file=out)


# Used by _repr, as in pympler.
type_repr = re.compile(r"^<(type|class) '(\S+)'>$")
address = re.compile(r" at 0x[0-9a-f]+")


def _repr(o: Any, verbosity: int = 1) -> str:
    """The name ``summarize`` gives ``o`` (pympler's ``_repr``)."""
    t = type(o)
    if verbosity == 0 or t not in representations:
        res = str(t)
    else:
        verbosity -= 1
        if len(representations[t]) <= verbosity:
            verbosity = len(representations[t]) - 1
        res = representations[t][verbosity](o)
    res = address.sub("", res)
    res = type_repr.sub(r"\2", res)
    return res


def _traverse(summary: Any, function: Callable[..., Any], *args: Any) -> None:
    """Call ``function`` with the summary, each row and each item of each row."""
    function(summary, *args)
    for row in summary:
        function(row, *args)
        for item in row:
            function(item, *args)


def _subtract(summary: List[Row], o: Any) -> List[Row]:
    """Remove object ``o`` from the summary by subtracting its size."""
    found = False
    row: Row = [_repr(o), 1, _core.getsizeof(o)]
    for r in summary:
        if r[0] == row[0]:
            (r[1], r[2]) = (r[1] - row[1], r[2] - row[2])
            found = True
    if not found:
        summary.append([row[0], -row[1], -row[2]])
    return summary


def _sweep(summary: Iterable[_AnyRow]) -> List[_AnyRow]:
    """The rows whose count or size is not zero."""
    return [row for row in summary if row[2] != 0 or row[1] != 0]
