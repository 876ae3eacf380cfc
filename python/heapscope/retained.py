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
from typing import Any, List, Optional

from heapscope import _core

__all__ = ["RetainedObject", "RetainedTable", "RetainedType", "retained_by_type", "retained_size", "retained_top"]


def _own_code() -> List[Any]:
    return [retained_size.__code__, retained_top.__code__, retained_by_type.__code__]


def _type_name(tp: type) -> str:
    module = getattr(tp, "__module__", None)
    name = getattr(tp, "__qualname__", None) or getattr(tp, "__name__", "?")
    return name if module in (None, "builtins") else f"{module}.{name}"


def _describe(obj: Any) -> str:
    """A short repr, for a table; the type's name when ``repr`` raises an Exception."""
    try:
        return reprlib.repr(obj)[:60]
    except Exception:
        return "<%s>" % _type_name(type(obj))


def _size(n: int) -> str:
    return _core.human_size(n)


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


@dataclass(frozen=True)
class RetainedType:
    """One type of :func:`retained_by_type`."""

    type_name: str
    count: int
    flat: int
    """The flat sizes of all its objects."""
    retained: int
    """Bytes freed if all its objects went away (each object counted once)."""


class RetainedTable(list):  # type: ignore[type-arg]
    """A list of :class:`RetainedObject` or :class:`RetainedType` rows, largest first,
    shown as a table (``str``) and as HTML in Jupyter."""

    def _columns(self) -> List[List[str]]:
        if self._types():
            rows = [["retained", "flat", "count", "type"]]
            rows += [[_size(r.retained), _size(r.flat), str(r.count), r.type_name] for r in self]
        else:
            rows = [["retained", "flat", "root", "type", "object"]]
            rows += [[_size(r.retained), _size(r.flat), r.root or "", r.type_name, _describe(r.obj)] for r in self]
        return rows

    def _types(self) -> bool:
        return bool(self) and isinstance(self[0], RetainedType)

    def __str__(self) -> str:
        rows = self._columns()
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = []
        for r in rows:
            cells = [r[i].rjust(widths[i]) for i in range(3)] + [r[i].ljust(widths[i]) for i in range(3, len(r))]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = self._columns()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:]
        )
        return f"<table class='heapscope-retained'><tr>{head}</tr>{body}</table>"


def retained_size(obj: Any) -> int:
    """The bytes freed if every reference to ``obj`` from outside the objects it
    dominates went away: ``sys.getsizeof(obj)`` plus the flat sizes of every object that
    only ``obj`` keeps alive (each path to it from a root passes through ``obj``).

    Objects shared with anything else (a string two lists hold, a small int the
    interpreter caches, a constant of a function's code) are not counted. One pass over
    the whole heap; the collector runs first (``gc.collect()``).
    """
    gc.collect()
    return _core.retained_size(obj, _own_code())


def retained_top(n: int = 20) -> RetainedTable:
    """The ``n`` objects of the heap that retain the most, largest first, each with its
    retained and flat size and, for a root, the kind of root it is."""
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}")
    gc.collect()
    found = _core.retained_top(n, _own_code())
    return RetainedTable(
        RetainedObject(obj, _type_name(type(obj)), retained, flat, root) for obj, retained, flat, root in found
    )


def retained_by_type(n: int = 20) -> RetainedTable:
    """The ``n`` types whose objects retain the most together, largest first: how many
    objects, their flat sizes, and what deleting all of them would free (an object
    dominated by another of its type is counted once, in that one)."""
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}")
    gc.collect()
    found = _core.retained_by_type(n, _own_code())
    return RetainedTable(RetainedType(_type_name(tp), count, flat, retained) for tp, count, flat, retained in found)
