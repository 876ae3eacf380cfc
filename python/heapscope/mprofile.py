"""Memory per code point, pympler-compatible (``pympler.mprofile``).

``MProfiler`` installs a ``sys.setprofile`` hook; on every profiled event (``call``,
``return``, ``c_call``, ...) it measures the whole heap and records, per code point
``(file, function, line)``, how often the point was seen and the smallest and largest
heap size seen there::

    from heapscope.mprofile import MProfiler
    p = MProfiler(events=("call", "return"))
    p.run("build_index()")
    for (file, function, line), (calls, low, high, _) in p.memories.items():
        ...

The heap size is the total flat size (``sys.getsizeof``) of the objects
``muppy.get_objects()`` would list, as pympler measures it, but summed in one pass in
Rust over the gc heap without building the list and without a ``gc.collect()`` on every
event (pympler collects and re-walks the heap in Python each time). Unreachable objects
not yet collected are therefore counted until the collector runs. Still, every event
costs one pass over the heap: restrict ``codepoints`` or ``events`` on large programs.

Differences from pympler: ``run`` executes a string or code object in the caller's
namespace (pympler executes it inside its own module), and also accepts a callable.
"""

from __future__ import annotations

import sys
import time
from types import CodeType, FrameType
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from heapscope import _core, _progress

__all__ = ["MProfiler"]

Codepoint = Tuple[str, str, int]


def _heap_size() -> int:
    """Total flat size of the gc heap as ``muppy.get_size(muppy.get_objects())``
    counts it (pympler's census, so that the figures match pympler's profiler), without
    a ``gc.collect()``. The profiler keeps no ``Summary``, so the (costly) search for
    heapscope's own summaries is skipped."""
    return _core.summarize_heap(ignore_self=False, census="pympler").total_size


class MProfiler:
    """Records the heap size at code points while a command runs.

    ``codepoints`` -- code points to measure; each is a ``(file, function, line)``
    tuple in which ``None`` (or a shorter tuple) matches anything; ``None`` measures
    every code point. ``events`` -- the ``sys.setprofile`` events to measure on
    (``"call"``, ``"return"``, ``"c_call"``, ``"c_return"``, ``"c_exception"``);
    ``None`` measures on all of them.

    ``memories`` maps each measured code point to ``[calls, min, max, 0]``: the number
    of events seen there and the smallest and largest heap size in bytes (the last
    entry is unused, kept for pympler's list shape).
    """

    def __init__(self, codepoints: Optional[Iterable[Sequence[Any]]] = None, events: Optional[Iterable[str]] = None) -> None:
        self.memories: Dict[Codepoint, List[int]] = {}
        self.codepoints = None if codepoints is None else [tuple(cp) for cp in codepoints]
        self.events = None if events is None else frozenset(events)
        # The progress display of the current `run` (None: none), the number of events
        # measured in it and when the display is next updated.
        self._shown: Optional[_progress.Display] = None
        self._measured = 0
        self._next_report = 0.0

    def codepoint_included(self, codepoint: Sequence[Any]) -> bool:
        """Whether ``codepoint`` matches one of the configured code points."""
        if self.codepoints is None:
            return True
        for wanted in self.codepoints:
            if all(w is None or w == got for w, got in zip(wanted, codepoint)):
                return True
        return False

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        """The ``sys.setprofile`` hook: measures the heap at matching events."""
        if self.events is not None and event not in self.events:
            return
        code = frame.f_code
        point = (code.co_filename, code.co_name, frame.f_lineno)
        if not self.codepoint_included(point):
            return
        size = _heap_size()
        if self._shown is not None:
            self._measured += 1
            now = time.monotonic()
            if now >= self._next_report:
                self._next_report = now + 0.25
                self._shown(self._measured, None)
        seen = self.memories.get(point)
        if seen is None:
            self.memories[point] = [1, size, size, 0]
            return
        seen[0] += 1
        if size < seen[1]:
            seen[1] = size
        if size > seen[2]:
            seen[2] = size

    def run(self, cmd: Union[str, CodeType, Callable[[], Any]], *, progress: bool = True) -> "MProfiler":
        """Run ``cmd`` (source, code object, or callable without arguments) under
        the profiler; a string or code is executed in the caller's namespace.
        Returns the profiler. A run longer than two seconds shows the number of
        events measured and the time elapsed on a terminal, unless ``progress=False``.
        Ctrl-C stops the run with ``KeyboardInterrupt``, the previous profile hook
        restored."""
        caller = sys._getframe(1)
        previous = sys.getprofile()
        with _progress.display("MProfiler.run", progress, unit="events") as shown:
            self._shown, self._measured = shown, 0
            self._next_report = time.monotonic() + (shown.delay if shown is not None else 0.0)
            sys.setprofile(self.profile)
            try:
                if callable(cmd):
                    cmd()
                else:
                    exec(cmd, caller.f_globals, caller.f_locals)
            finally:
                sys.setprofile(previous)
                self._shown = None
        del caller
        return self
