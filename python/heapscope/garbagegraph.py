"""Graphs of garbage: the reference cycles the garbage collector finds, a drop-in
replacement for ``pympler.garbagegraph``.

    >>> from heapscope.garbagegraph import GarbageGraph, start_debug_garbage, end_debug_garbage
    >>> start_debug_garbage()                  # collect now, then stop automatic collection
    >>> cycle = []; cycle.append(cycle); del cycle
    >>> graph = GarbageGraph(reduce=True)      # collects, keeping what it found in gc.garbage
    >>> graph.print_stats()                    # doctest: +SKIP
    >>> end_debug_garbage()

``GarbageGraph(collectable=True)`` sets ``gc.DEBUG_SAVEALL`` and collects, so every
object found in a cycle is kept in ``gc.garbage`` and drawn; with ``collectable=False``
only objects the collector could not free are. Like pympler, it leaves
``gc.DEBUG_SAVEALL`` set and the objects in ``gc.garbage``: call ``end_debug_garbage()``
and clear ``gc.garbage`` when done.
"""

from __future__ import annotations

import gc
import sys
from typing import Optional, TextIO

from heapscope._html import pretty_size
from heapscope.refgraph import ReferenceGraph, _clip

__all__ = ["GarbageGraph", "start_debug_garbage", "end_debug_garbage"]


class GarbageGraph(ReferenceGraph):
    """A ``ReferenceGraph`` of the objects the garbage collector finds in cycles."""

    def __init__(self, reduce: bool = False, collectable: bool = True) -> None:
        gc.set_debug(gc.DEBUG_SAVEALL if collectable else 0)
        gc.collect()
        super().__init__(gc.garbage, reduce)

    def print_stats(self, stream: Optional[TextIO] = None) -> None:
        """Writes one line per garbage object (largest first) and a total."""
        stream = stream or sys.stdout
        self.metadata.sort(key=lambda md: -md.size)
        stream.write(f"{'id':<10} {'size':>8} {'type':<12} {'representation':<46}\n")
        for md in self.metadata:
            stream.write(f"0x{md.id:08x} {md.size:8d} {_clip(md.type, 12):<12} {_clip(md.str, 46):<46}\n")
        stream.write(
            f"Garbage: {self.count:8d} collected objects ({self.num_in_cycles} in cycles): "
            f"{pretty_size(self.total_size):>12}\n"
        )


def start_debug_garbage() -> None:
    """Collects garbage now, then turns automatic collection off, so that the cycles
    made next stay until a ``GarbageGraph`` looks at them."""
    gc.collect()
    gc.disable()


def end_debug_garbage() -> None:
    """Turns automatic collection back on and the collector's debug flags off."""
    gc.set_debug(0)
    gc.enable()
