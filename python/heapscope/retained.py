"""Retained sizes: what deleting an object would free.

The whole heap (every object of the complete census) is read as a graph once per call,
its roots named (modules, frame locals, exceptions threads handle, objects held from
C), and its dominator tree computed exactly. The retained size of an object is its flat
size plus the flat sizes of every object it dominates: the objects every path from a
root to passes through it, which would be freed with it.
"""

from __future__ import annotations

import gc
import html
import reprlib
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

from heapscope import _core, _progress
from heapscope._why import Chain, Step

__all__ = ["RetainedObject", "RetainedTable", "RetainedType", "retained_by_type", "retained_size", "retained_top"]


def _own_code() -> List[Any]:
    return [retained_size.__code__, retained_top.__code__, retained_by_type.__code__]


def _type_name(tp: type) -> str:
    module = getattr(tp, "__module__", None)
    name = str(getattr(tp, "__qualname__", None) or getattr(tp, "__name__", "?"))
    return name if module in (None, "builtins") else f"{module}.{name}"


def _describe(obj: Any) -> str:
    """A short repr, for a table; the type's name when ``repr`` raises an Exception."""
    try:
        return reprlib.repr(obj)[:60]
    except Exception:
        return "<%s>" % _type_name(type(obj))


def _size(n: int) -> str:
    return _core.human_size(n)


#: The longest path shown in a table cell; the rest is cut out of its middle.
_PATH_CLIP = 100


def _chain(found: Any) -> Chain:
    """A :class:`~heapscope._why.Chain` from the core's ``(root label, steps)``."""
    label, steps = found
    return Chain(label, [Step(*step) for step in steps])


def _clip(text: str, limit: int = _PATH_CLIP) -> str:
    if len(text) <= limit:
        return text
    half = (limit - 3) // 2
    return text[:half] + "..." + text[len(text) - half :]


def _deep(n: Optional[int]) -> str:
    return "" if n is None else _size(n)


@dataclass(frozen=True)
class RetainedObject:
    """One object of :func:`retained_top`."""

    obj: Any
    type_name: str
    retained: int
    """Bytes freed if the object went away (its flat size included)."""
    flat: int
    """``sys.getsizeof(obj)``."""
    root: Optional[str]
    """The kind of root the object is (``"module"``, ``"frame locals"``, ``"thread
    exception"``, ``"held from C"``, ``"unreachable"``), or None."""
    deep: Optional[int] = None
    """``asizeof(obj)`` with its defaults (None when not asked for)."""
    path: Optional[Chain] = None
    """What keeps it alive: the chain of its immediate dominators from a root, named as
    :func:`heapscope.why` names steps (``…`` where a dominator does not refer to the next
    one itself)."""


@dataclass(frozen=True)
class RetainedType:
    """One type of :func:`retained_by_type`."""

    type_name: str
    count: int
    flat: int
    """The flat sizes of all its objects."""
    retained: int
    """Bytes freed if all its objects went away (each object counted once)."""
    deep: Optional[int] = None
    """The combined ``asizeof`` of its objects not dominated by another of the type
    (None when not asked for)."""
    path: Optional[Chain] = None
    """The dominator chain of its object retaining the most (see
    :attr:`RetainedObject.path`)."""


class RetainedTable(list):  # type: ignore[type-arg]
    """A list of :class:`RetainedObject` or :class:`RetainedType` rows, largest first,
    shown as a table (``str``) and as HTML in Jupyter."""

    def _columns(self) -> List[List[str]]:
        path: Callable[[Any], str] = lambda r: "" if r.path is None else _clip(str(r.path))  # noqa: E731
        if self._types():
            rows = [["retained", "flat", "deep", "count", "type", "largest kept alive by"]]
            rows += [
                [_size(r.retained), _size(r.flat), _deep(r.deep), str(r.count), r.type_name, path(r)] for r in self
            ]
        else:
            rows = [["retained", "flat", "deep", "root", "type", "object", "kept alive by"]]
            rows += [
                [_size(r.retained), _size(r.flat), _deep(r.deep), r.root or "", r.type_name, _describe(r.obj), path(r)]
                for r in self
            ]
        return rows

    def _types(self) -> bool:
        return bool(self) and isinstance(self[0], RetainedType)

    def __str__(self) -> str:
        rows = self._columns()
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = []
        for r in rows:
            cells = [r[i].rjust(widths[i]) for i in range(4)] + [r[i].ljust(widths[i]) for i in range(4, len(r))]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)

    def _numeric_columns(self) -> int:
        """How many leading columns hold figures (right-aligned): the sizes, and the
        count of a table of types (a table of objects has the kind of root there)."""
        return 4 if self._types() else 3

    def _repr_html_(self) -> str:
        from heapscope._html import NAME_CELL, NUMBER_CELL

        rows = self._columns()
        numeric = self._numeric_columns()

        def cells(tag: str, row: List[str]) -> str:
            return "".join(
                f"<{tag} {NUMBER_CELL if i < numeric else NAME_CELL}>{html.escape(c)}</{tag}>" for i, c in enumerate(row)
            )

        body = "".join(f"<tr>{cells('td', r)}</tr>" for r in rows[1:])
        return (
            '<table class="heapscope-retained" style="font-family:monospace;font-size:13px;border-collapse:collapse">'
            f"<tr>{cells('th', rows[0])}</tr>{body}</table>"
        )


def retained_size(obj: Any, *, progress: bool = True) -> int:
    """The bytes freed if every reference to ``obj`` from outside the objects it
    dominates went away: ``sys.getsizeof(obj)`` plus the flat sizes of every object that
    only ``obj`` keeps alive (each path to it from a root passes through ``obj``).

    Objects shared with anything else (a string two lists hold, a small int the
    interpreter caches, a constant of a function's code) are not counted. One pass over
    the whole heap, without running the collector: garbage it has not freed yet (cycles
    no root reaches) keeps nothing alive in the answer, as if it had run.

    A computation longer than two seconds shows its progress on a terminal (steps of
    the walks over objects and references, and the time), unless ``progress=False``.
    """
    shown = _progress.make("retained_size", progress, unit="steps")
    try:
        return _core.retained_size(obj, _own_code(), progress=shown)
    finally:
        _progress.close(shown)


def _check_n(n: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int, 0 or more, not {n!r}")


def retained_top(n: int = 20, *, deep: bool = True, progress: bool = True) -> RetainedTable:
    """The ``n`` objects of the heap that retain the most, largest first, each with its
    retained and flat size, its deep size (``asizeof``'s, unless ``deep=False``: each
    costs a walk of what the object reaches), the kind of root it is (for a root) and
    the chain of dominators from a root that keeps it alive (``path``).

    A computation longer than two seconds shows its progress on a terminal (steps of
    the walks over objects and references, and the time), unless ``progress=False``.

    >>> print(heapscope.retained_top(3))  # doctest: +SKIP
    """
    _check_n(n)
    gc.collect()
    shown = _progress.make("retained_top", progress, unit="steps")
    try:
        found = _core.retained_top(n, bool(deep), _own_code(), progress=shown)
    finally:
        _progress.close(shown)
    return RetainedTable(
        RetainedObject(obj, _type_name(type(obj)), retained, flat, root, deep_size, _chain(path))
        for obj, retained, flat, root, deep_size, path in found
    )


def retained_by_type(n: int = 20, *, deep: bool = True, progress: bool = True) -> RetainedTable:
    """The ``n`` types whose objects retain the most together, largest first: how many
    objects, their flat sizes, what deleting all of them would free (an object
    dominated by another of its type is counted once, in that one), their combined deep
    size (unless ``deep=False``) and the dominator chain of the one retaining the most.

    A computation longer than two seconds shows its progress on a terminal (steps of
    the walks over objects and references, and the time), unless ``progress=False``.
    """
    _check_n(n)
    gc.collect()
    shown = _progress.make("retained_by_type", progress, unit="steps")
    try:
        found = _core.retained_by_type(n, bool(deep), _own_code(), progress=shown)
    finally:
        _progress.close(shown)
    return RetainedTable(
        RetainedType(_type_name(tp), count, flat, retained, deep_size, _chain(path))
        for tp, count, flat, retained, deep_size, path in found
    )
