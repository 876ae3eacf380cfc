"""heapscope's own result types, left out of its heap views.

A result kept at the prompt (IPython's ``Out``, ``_``) would otherwise show in the next
``%memtop`` or tracker diff as heapscope's objects. ``summary.summarize_heap(ignore_self=
True)`` skips the instances of the types registered here, and the untracked objects
(strings, ints) reached only through them; the result types keep their figures in
``__slots__`` of such plain values, so that nothing of them is left to count.
"""

from __future__ import annotations

from typing import List, Tuple, TypeVar

__all__ = ["own_type", "own_types"]

_T = TypeVar("_T", bound=type)
_TYPES: List[type] = []


def own_type(cls: _T) -> _T:
    """Class decorator: heapscope's heap views leave out the instances of ``cls``."""
    if cls not in _TYPES:
        _TYPES.append(cls)
    return cls


def own_types() -> Tuple[type, ...]:
    """The registered types, in the order they were registered."""
    return tuple(_TYPES)
