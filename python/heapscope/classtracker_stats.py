"""Presenting, saving and loading ``ClassTracker`` statistics: a drop-in replacement for
``pympler.classtracker_stats``.

``ConsoleStats`` prints per-snapshot class summaries and per-object histories;
``HtmlStats`` writes a self-contained HTML report (inline charts, no scripts, nothing
fetched from the network). Both read a live tracker or a file written by
``dump_stats``::

    >>> from heapscope.classtracker import ClassTracker
    >>> from heapscope.classtracker_stats import ConsoleStats
    >>> tracker = ClassTracker()
    >>> tracker.create_snapshot()
    >>> import io, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "stats.json")
    >>> tracker.stats.dump_stats(path)
    >>> len(ConsoleStats(filename=path).snapshots)
    1

The file is JSON in a versioned format (``docs/classtracker-format.md``). pympler
pickles its statistics, and unpickling an untrusted file can run arbitrary code;
``load_stats`` reads nothing but data and refuses anything else with a ``ValueError``
that gives the reason.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any, Dict, Iterable, List, Optional, Union

from heapscope import _core
from heapscope.asizeof import Asized, _build_tree
from heapscope.classtracker import ClassTracker, Snapshot, TrackedObject, _index_of, _Views

__all__ = ["ConsoleStats", "HtmlStats", "Stats"]

_EMPTY = (b'{"format": "heapscope.classtracker.stats", "version": 1, "names": [], '
          b'"objects": [], "snapshots": []}')

#: The keys ``sort_stats`` accepts, in the order used when none is given.
SORT_KEYS = ("classname", "tsize", "birth", "death", "name", "repr", "size")


def _pp(size: Union[int, float]) -> str:
    """A size in bytes, 12 characters wide: ``' 512     B'``, ``'   1.50 KB'``."""
    value = float(size)
    units = ("B", "KB", "MB", "GB", "TB", "PB", "EB")
    unit = 0
    while value > 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    if unit == 0:
        return f"{int(value):4d}     B"
    return f"{value:7.2f} {units[unit]}"


def _pp_time(seconds: Optional[float]) -> str:
    """``HH:MM:SS.ss``; empty for ``None``."""
    if seconds is None:
        return ""
    hours, rest = divmod(max(seconds, 0.0), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:05.2f}"


def _cut(text: Any, width: int, left: bool = False) -> str:
    """``text`` on one line, shortened to ``width`` with ``...`` (at the start if ``left``)."""
    text = str(text).replace("\n", "|")
    if len(text) <= width:
        return text
    if left:
        return "..." + text[len(text) - width + 3:]
    return text[:width - 3] + "..."


def _format_trace(trace: Iterable[Any]) -> str:
    lines = []
    for file, line, function, source, _ in trace:
        for text in source or ():
            lines.append(f"    {text.strip()}\n")
        lines.append(f"  {file}:{line:4d} in {function}\n")
    return "".join(lines)


class Stats:
    """The statistics of a ``ClassTracker`` (``tracker``) or of a file written by
    ``dump_stats`` (``filename``), printed to ``stream`` (default ``sys.stdout``).

    Attributes: ``index`` (tracked objects by name), ``snapshots``, ``history`` and
    ``sorted`` (the tracked objects in the order of the last ``sort_stats``).
    """

    def __init__(self, tracker: Optional[ClassTracker] = None, filename: Optional[Union[str, "os.PathLike[str]"]] = None,
                 stream: Optional[IO[str]] = None) -> None:
        self.stream = stream or sys.stdout
        self.tracker = tracker
        self.sorted: List[TrackedObject] = []
        if tracker is not None:
            self._core = tracker._core
            self._views = tracker._views
            self.snapshots: List[Snapshot] = tracker.snapshots
        else:
            self._use(_core.TrackerCore.from_json(_EMPTY))
        if filename is not None:
            self.load_stats(filename)

    def _use(self, core: Any) -> None:
        self._core = core
        self._views = _Views(core)
        self.snapshots = [Snapshot._from_core(core, i) for i in range(core.snapshot_count())]
        self.sorted = []

    @property
    def index(self) -> Dict[str, List[TrackedObject]]:
        return _index_of(self._core, self._views)

    @property
    def history(self) -> Dict[str, List[Any]]:
        return dict(self._core.history())

    def _repr_html_(self) -> str:
        """The per-snapshot class figures as HTML tables, for Jupyter."""
        from heapscope import _html

        return _html.stats_html(self)

    @property
    def tracked_classes(self) -> List[str]:
        """The names objects are tracked under, sorted."""
        return self._core.tracked_classes()

    # -- files ----------------------------------------------------------------------------

    def load_stats(self, fdump: Union[str, "os.PathLike[str]", IO[Any]]) -> None:
        """Replace the statistics with those of a file written by ``dump_stats`` (a path
        or a file object open for reading). ``ValueError`` saying why if it is not one."""
        if isinstance(fdump, (str, bytes, os.PathLike)):
            with open(fdump, "rb") as f:
                data = f.read()
        else:
            data = fdump.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"load_stats(): the file gave {type(data).__name__}, not bytes")
        self._use(_core.TrackerCore.from_json(bytes(data)))

    def dump_stats(self, fdump: Union[str, "os.PathLike[str]", IO[Any]], close: bool = True) -> None:
        """Write the statistics as JSON to a path or to a file object open for writing
        (closed afterwards unless ``close=False``). Periodic snapshots keep running: the
        file holds a consistent state however they interleave."""
        data = self._core.to_json()
        if isinstance(fdump, (str, bytes, os.PathLike)):
            with open(fdump, "wb") as f:
                f.write(data)
            return
        try:
            fdump.write(data)
        except TypeError:  # a text file
            fdump.write(data.decode("utf-8"))
        if close:
            fdump.close()

    # -- sorting --------------------------------------------------------------------------

    def sort_stats(self, *args: str) -> "Stats":
        """Sort the tracked objects by these keys, each breaking the ties of the ones
        before: ``'classname'``/``'name'`` (the tracked name), ``'birth'``, ``'death'``
        (objects still alive last), ``'repr'``, ``'size'`` (the largest size recorded)
        and ``'tsize'`` (the size at the snapshot that tracked most). Sizes sort largest
        first, the rest ascending; no key means all of them in that order. Returns self::

            stats.sort_stats('size').reverse_order().print_stats()
        """
        bad = [key for key in args if key not in SORT_KEYS]
        if bad:
            raise ValueError(f"Invalid sort criteria {bad!r}; valid keys are: {', '.join(SORT_KEYS)}")
        order = self._core.sorted_records(list(args))
        generation = self._core.generation
        self.sorted = [self._views.get(i, generation) for i in order]
        return self

    def reverse_order(self) -> "Stats":
        """Reverse the sorted order. Returns self."""
        if not self.sorted:
            self.sort_stats()
        self.sorted.reverse()
        return self

    # -- per-class figures ------------------------------------------------------------------

    def annotate(self) -> None:
        """Compute the per-class figures of every snapshot."""
        for snapshot in self.snapshots:
            self.annotate_snapshot(snapshot)

    def annotate_snapshot(self, snapshot: Snapshot) -> Dict[str, Dict[str, Any]]:
        """The per-class figures of a snapshot (kept in ``snapshot.classes``): for every
        tracked name, ``active`` (instances alive), ``sum`` (their size), ``avg``,
        ``pct`` (of the snapshot's total) and ``merged`` (an ``Asized`` adding up their
        size trees, referents of the same name together)."""
        if snapshot.classes is not None:
            return snapshot.classes
        classes: Dict[str, Dict[str, Any]] = {}
        core = snapshot._core
        if core is not None:
            for name, active, total, average, percent in core.class_rows(snapshot._index):
                merged = _build_tree(core.merged(snapshot._index, name))
                merged.name = None
                classes[name] = {"sum": total, "avg": average, "pct": percent, "active": active, "merged": merged}
        snapshot.classes = classes
        return classes


class ConsoleStats(Stats):
    """``Stats`` printed as text."""

    def _print_refs(self, refs: Iterable[Asized], total: int, prefix: str = "    ", level: int = 1,
                    minsize: int = 0, minpct: float = 0.1) -> None:
        # An explicit stack: (node, prefix, level), children largest first.
        stack = [(ref, prefix, level) for ref in sorted(refs, key=lambda r: r.size)]
        while stack:
            ref, pad, depth = stack.pop()
            if ref.size <= minsize or total <= 0 or ref.size * 100.0 / total <= minpct:
                continue
            self.stream.write(f"{_cut(pad + str(ref.name), 50):<50} {_pp(ref.size):<14} "
                              f"{int(ref.size * 100.0 / total):3d}% [{depth}]\n")
            stack.extend((child, pad + "  ", depth + 1) for child in sorted(ref.refs, key=lambda r: r.size))

    def print_object(self, tobj: TrackedObject) -> None:
        """Print what is known of one tracked object: name, address, repr, creation
        stack, and its size at every snapshot."""
        info = tobj._info()
        obj_id, name, death, text = info[0], info[1], info[4], info[5]
        where = "( free )  " if death is not None else f"0x{obj_id:08x}"
        self.stream.write(f"{_cut(name, 32, left=True):<32} {where} {_cut(text, 35):<35}\n")
        trace = tobj.trace
        if trace:
            self.stream.write(_format_trace(trace))
        for timestamp, size in tobj.snapshots:
            self.stream.write(f"  {_pp_time(timestamp):<30} {_pp(size.size)}\n")
            self._print_refs(size.refs, size.size)
        if death is not None:
            self.stream.write(f"  {_pp_time(death):<30} finalize\n")

    def print_stats(self, clsname: Optional[str] = None, limit: float = 1.0) -> None:
        """Print the tracked objects in sorted order (``sort_stats``), only those whose
        name contains ``clsname`` if given. ``limit`` below 1 prints that fraction of
        all objects; otherwise that many (so by default one, as in pympler)."""
        if not self.sorted:
            self.sort_stats()
        chosen = self.sorted
        if clsname:
            chosen = [tobj for tobj in chosen if clsname in tobj.name]
        if limit < 1.0:
            limit = max(1, int(len(self.sorted) * limit))
        for tobj in chosen[:int(limit)]:
            self.print_object(tobj)

    def print_summary(self) -> None:
        """Print, for each snapshot, every tracked class with its instances alive,
        their total and average size, and their share of the process's memory."""
        classes = self.tracked_classes
        write = self.stream.write
        write("---- SUMMARY " + "-" * 66 + "\n")
        for snapshot in self.snapshots:
            figures = self.annotate_snapshot(snapshot)
            write(f"{_cut(snapshot.label, 35):<35} {'active':>11} {_pp(snapshot.tracked_total):>12} "
                  f"{'average':>12} {'pct':>5}\n")
            for name in classes:
                info = figures.get(name)
                if info is None:
                    continue
                write(f"  {_cut(name, 33):<33} {info['active']:11d} {_pp(info['sum']):>12} "
                      f"{_pp(info['avg']):>12} {int(info['pct']):4d}%\n")
        write("-" * 79 + "\n")


class HtmlStats(Stats):
    """``Stats`` written as an HTML report."""

    def create_html(self, fname: Union[str, "os.PathLike[str]"], title: str = "ClassTracker Statistics",
                    max_instances: int = 1000) -> None:
        """Write the report to ``fname``: one self-contained file with the snapshots, a
        memory-over-time and an instances-alive chart per class, per-snapshot class
        figures, merged referent sizes, and each class's lifetime table (at most
        ``max_instances`` rows per class)."""
        if isinstance(max_instances, bool) or not isinstance(max_instances, int) or max_instances < 0:
            raise ValueError(f"create_html(): max_instances must be an int >= 0, not {max_instances!r}")
        html = self._core.to_html(str(title), max_instances)
        with open(fname, "w", encoding="utf-8") as f:
            f.write(html)
