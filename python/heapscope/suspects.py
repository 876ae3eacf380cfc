"""Leak suspects: what holds a large share of the heap, and where it piles up.

Eclipse MAT's rule, over the dominator tree of the whole heap (see
:mod:`heapscope.retained`): a suspect is one object at the top of the tree (a root, or
an object several roots reach) that retains at least ``threshold`` of the heap, or the
objects of one type at the top of the tree retaining that much together. For each
suspect, the *accumulation point* is found by walking down the tree from the suspect
along the child retaining the most, as long as that child retains more than half of its
parent: the first node whose retained size is spread over its children, typically the
dict or list in which many similar objects pile up::

    >>> print(heapscope.leak_suspects())  # doctest: +SKIP
"""

from __future__ import annotations

import gc
import html
from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, Optional, Sequence, overload

from heapscope import _core, _progress
from heapscope._why import Chain, Step

__all__ = ["AccumulationPoint", "LeakReport", "LeakSuspect", "leak_suspects"]


def _size(n: int) -> str:
    return _core.human_size(n)


@dataclass(frozen=True)
class AccumulationPoint:
    """Where a suspect's memory piles up: the object's type and short description, how
    many objects it dominates directly (``children``), what it retains, the type of the
    children retaining the most together (``child_type``, ``child_count`` of them
    retaining ``child_retained``) and the dominator chain from a root to it
    (``path``)."""

    type_name: str
    description: str
    children: int
    retained: int
    child_type: Optional[str]
    child_count: int
    child_retained: int
    path: Chain


@dataclass(frozen=True)
class LeakSuspect:
    """One suspect: a single object (``single``) or the ``count`` objects of one type
    at the top of the dominator tree, what it retains and its share of the heap, the
    kind of root it is (``root``, for a single root) and its accumulation point."""

    single: bool
    type_name: str
    description: str
    count: int
    retained: int
    share: float
    root: Optional[str]
    accumulation: AccumulationPoint

    def title(self) -> str:
        """One line: what the suspect is and what it retains."""
        if self.single:
            what = f"one {self.type_name} {self.description}"
            if self.root:
                what += f" (root: {self.root})"
        else:
            what = f"{self.count:,} {self.type_name} objects"
        return f"{what} retain{'s' if self.single else ''} {_size(self.retained)} ({self.share:.1%} of the heap)"

    def details(self) -> List[str]:
        """The accumulation point, on a few lines."""
        a = self.accumulation
        lines = [f"accumulation point: {a.type_name} retaining {_size(a.retained)}, {a.children:,} dominated objects"]
        if a.child_type is not None:
            lines.append(f"  of which {a.child_count:,} {a.child_type} objects retain {_size(a.child_retained)}")
        lines.append(f"  path: {a.path}")
        return lines


class LeakReport(Sequence[LeakSuspect]):
    """The suspects found, largest first (a sequence of :class:`LeakSuspect`), with the
    heap's ``total`` bytes, its number of ``objects`` and the ``threshold`` used.
    ``str()`` is a short text report; in Jupyter it is HTML. Holds text and numbers
    only, never the objects."""

    def __init__(self, suspects: List[LeakSuspect], total: int, objects: int, threshold: float) -> None:
        self.suspects = suspects
        self.total = total
        self.objects = objects
        self.threshold = threshold

    @overload
    def __getitem__(self, i: int) -> LeakSuspect: ...

    @overload
    def __getitem__(self, i: slice) -> List[LeakSuspect]: ...

    def __getitem__(self, i: Any) -> Any:
        return self.suspects[i]

    def __len__(self) -> int:
        return len(self.suspects)

    def __iter__(self) -> Iterator[LeakSuspect]:
        return iter(self.suspects)

    def headline(self) -> str:
        found = f"{len(self)} leak suspect{'' if len(self) == 1 else 's'}" if self else "no leak suspect"
        return (
            f"{found} in a heap of {_size(self.total)} ({self.objects:,} objects; "
            f"a suspect retains {self.threshold:.0%} of it or more)"
        )

    def __str__(self) -> str:
        lines = [self.headline()]
        for number, suspect in enumerate(self, 1):
            lines.append("")
            lines.append(f"suspect {number}: {suspect.title()}")
            lines.extend("  " + line for line in suspect.details())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<LeakReport: {self.headline()}>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        esc: Callable[[object], str] = lambda value: html.escape(str(value), quote=True)  # noqa: E731
        items = []
        for suspect in self:
            details = "<br>".join(esc(line).replace("  ", "&nbsp;&nbsp;") for line in suspect.details())
            items.append(f"<li><b>{esc(suspect.title())}</b><br>{details}</li>")
        return (
            '<div class="heapscope-suspects" style="font-family:monospace;font-size:13px;line-height:1.5">'
            f"<b>{esc(self.headline())}</b><ol>{''.join(items)}</ol></div>"
        )


def _chain(found: Any) -> Chain:
    label, steps = found
    return Chain(label, [Step(*step) for step in steps])


def leak_suspects(threshold: float = 0.10, *, progress: bool = True) -> LeakReport:
    """The leak suspects of the heap: objects, or the objects of one type, at the top of
    the dominator tree retaining at least ``threshold`` (a fraction, 0.10 = 10 %) of
    every object's flat size together, largest first (at most 10), each with its
    accumulation point. Module, frame and thread roots are suspects on their own only,
    never grouped by type. The collector runs first (``gc.collect()``); one pass over
    the whole heap.

    A computation longer than two seconds shows its progress on a terminal (steps of
    the walks over objects and references, and the time), unless ``progress=False``.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a fraction of the heap above 0 and at most 1 (0.10 is 10 %), not {threshold!r}")
    gc.collect()
    shown = _progress.make("leak_suspects", progress, unit="steps")
    try:
        found, total, objects = _core.leak_suspects(float(threshold), [leak_suspects.__code__], progress=shown)
    finally:
        _progress.close(shown)
    suspects = []
    for single, type_name, description, count, retained, root, point in found:
        point_type, point_description, children, point_retained, child, path = point
        child_type, child_count, child_retained = child if child is not None else (None, 0, 0)
        accumulation = AccumulationPoint(
            point_type, point_description, children, point_retained, child_type, child_count, child_retained, _chain(path)
        )
        share = retained / total if total else 0.0
        suspects.append(LeakSuspect(single, type_name, description, count, retained, share, root, accumulation))
    return LeakReport(suspects, total, objects, float(threshold))
