"""What changed in the heap between two moments: a drop-in replacement for
``pympler.tracker``.

``SummaryTracker`` answers "what grew?" with a table of the types whose number of
objects or total size changed since the last look::

    >>> from heapscope import tracker
    >>> tr = tracker.SummaryTracker()
    >>> leak = [object() for _ in range(1000)]
    >>> tr.print_diff()                                          # doctest: +SKIP
      types |   # objects |   total size
    ======= | =========== | ============
     object |        1000 |     15.62 KB
       list |           1 |      8.65 KB

Summaries are taken in one pass in Rust (``summary.summarize_heap``) and kept in Rust
memory, so with ``ignore_self`` (the default) the tracker's own summaries never show up
in a diff: a diff taken twice in a row with nothing allocated in between is empty (in
pympler the tracker's lists and ints leak into its own diffs). ``ObjectTracker`` keeps
the objects themselves and lists those that appeared or disappeared.
"""

from __future__ import annotations

import inspect
import sys
from typing import IO, Any, Dict, Hashable, List, Optional, Sequence, Tuple, Union

from heapscope import _core, _own, _progress, muppy, summary

__all__ = ["ObjectTracker", "SummaryTracker"]

Rows = Union[Sequence[Sequence[Any]], "_core.Summary"]


def _diff(left: Rows, right: Rows) -> List[List[Any]]:
    if isinstance(left, _core.Summary) and isinstance(right, _core.Summary):
        return left.diff(right).rows()
    return summary.get_diff(left, right)


class SummaryTracker:
    """Takes summaries of the heap and diffs them.

    The first summary is taken when the tracker is made; every ``diff()`` takes a new
    one and compares it with the previous. Summaries are ``summary.Summary`` objects:
    they iterate as pympler's rows, and can be saved and loaded (``Summary.save``,
    ``summary.load``) to diff them in another process.

    With ``ignore_self`` (default) the tracker's summaries, the tracker and its
    ``summaries`` dict are left out of every summary it takes. Every summary starts
    with a full ``gc.collect()``, as pympler's, so that unreachable objects are not
    counted, repeated while a collection still untracks objects it left tracked the
    time before (see ``docs/differences.md``); ``collect=False`` skips it (about twice
    as fast on a large heap, but cyclic garbage the collector has not freed yet then
    counts as alive, and diffs may show the collector's late untracking). A summary
    that takes over two seconds shows its progress on a terminal, unless
    ``progress=False``.
    """

    def __init__(self, ignore_self: bool = True, *, collect: bool = True, progress: bool = True) -> None:
        self.summaries: Dict[Hashable, "_core.Summary"] = {}
        self.ignore_self = ignore_self
        self.collect = collect
        self.progress = progress
        # Every attribute the diffs set exists before the first summary: an attribute
        # name is held by its code object alone (which no census can traverse) until it
        # becomes a key of the instance's dict, where the complete census sees it
        # (`str 1` in the first diff, on versions where instance dicts are real dicts).
        self.s1: Optional["_core.Summary"] = None
        self.s0: "_core.Summary" = None  # type: ignore[assignment]  # set just below
        self.s0 = self.create_summary()

    def create_summary(self) -> "_core.Summary":
        """A summary of every object of the process now (after a ``gc.collect()``, repeated
        until the collector has nothing left to untrack)."""
        summary._settle(self.collect)
        shown = _progress.make("SummaryTracker", self.progress)
        try:
            if not self.ignore_self:
                return _core.summarize_heap(overrides=summary._overrides(), ignore_self=False, progress=shown)
            return _core.summarize_heap(
                overrides=summary._overrides(),
                ignore_self=True,
                exclude=(self, self.summaries),
                own_types=_own.own_types(),
                progress=shown,
            )
        finally:
            _progress.close(shown)

    def diff(self, summary1: Optional[Rows] = None, summary2: Optional[Rows] = None) -> List[List[Any]]:
        """The rows that changed, as ``[type, count change, size change]`` lists.

        With no argument: from the previous summary to a new one (which becomes the
        previous). With ``summary1``: from it to a new summary. With both: between them.
        """
        if summary2 is None:
            self.s1 = self.create_summary()
            res = _diff(self.s0 if summary1 is None else summary1, self.s1)
            self.s0 = self.s1
        else:
            if summary1 is None:
                raise ValueError("You cannot provide summary2 without summary1.")
            res = _diff(summary1, summary2)
        return summary._sweep(res)

    def print_diff(
        self,
        summary1: Optional[Rows] = None,
        summary2: Optional[Rows] = None,
        file: Optional[IO[str]] = None,
    ) -> None:
        """Print ``diff(summary1, summary2)`` as a table to ``file`` (default stdout)."""
        # Positional: a call with keywords makes a bound method object on 3.9, alive
        # while the summary is taken (`method 1` in the first diff printed).
        summary.print_(self.diff(summary1, summary2), file=file)

    def format_diff(self, summary1: Optional[Rows] = None, summary2: Optional[Rows] = None) -> Any:
        """``diff(summary1, summary2)`` as the lines of a table (an iterator)."""
        return summary.format_(self.diff(summary1, summary2))

    def store_summary(self, key: Hashable) -> None:
        """Take a summary and keep it in ``self.summaries[key]``."""
        self.summaries[key] = self.create_summary()


class ObjectTracker:
    """Lists the objects that appeared and disappeared since the last look.

    Keeps strong references to every object of the process from one look to the next,
    so nothing seen can be freed in between: use it to find what keeps being created in
    a state that should be stable.
    """

    def __init__(self) -> None:
        self.o0 = self._get_objects(ignore=(inspect.currentframe(),))

    def _get_objects(self, ignore: Tuple[Any, ...] = ()) -> List[Any]:
        """Every object of the process (no ``gc.collect()``, frames included), without
        ``ignore``, this tracker and its lists."""
        ignore = ignore + (inspect.currentframe(), self)
        for name in ("o0", "o1"):
            if hasattr(self, name):
                ignore += (getattr(self, name),)
        res = _core.heap_objects(skip_frames=False, exclude=ignore)
        del ignore
        return res

    def get_diff(self, ignore: Tuple[Any, ...] = ()) -> Dict[str, List[Any]]:
        """``{'+': objects new since the last look, '-': objects gone}``, leaving out
        ``ignore``."""
        self.o1 = self._get_objects(ignore + (inspect.currentframe(),))
        diff = muppy.get_diff(self.o0, self.o1)
        self.o0 = self.o1
        return diff

    def print_diff(self, ignore: Tuple[Any, ...] = (), file: Optional[IO[str]] = None) -> None:
        """Print summaries of the objects added and removed since the last look."""
        out = sys.stdout if file is None else file
        for line in self.format_diff(ignore + (inspect.currentframe(),)):
            print(line, file=out)

    def format_diff(self, ignore: Tuple[Any, ...] = ()) -> List[str]:
        """The lines ``print_diff`` prints."""
        lines = []
        diff = self.get_diff(ignore + (inspect.currentframe(),))
        lines.append("Added objects:")
        lines.extend(summary.format_(summary.summarize(diff["+"])))
        lines.append("Removed objects:")
        lines.extend(summary.format_(summary.summarize(diff["-"])))
        return lines
