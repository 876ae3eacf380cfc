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

This module also defines what a tracker recorded, as read from its Rust core:
``TrackedObject``, ``Snapshot`` and ``ProcessMemory``, the same for a live tracker and a
loaded file. ``heapscope.classtracker`` imports them from here (they stay importable
from there too); this module never imports it.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from heapscope import _core
from heapscope.asizeof import Asized, _build_tree
from heapscope.util.stringutils import trunc as _cut

if TYPE_CHECKING:  # heapscope.classtracker imports this module, never the reverse
    from heapscope.classtracker import ClassTracker

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


def _duration(seconds: Optional[float]) -> str:
    """A time for heapscope's own views, readable for runs short and long: ``'12.3 ms'``
    under a second, ``'4.56 s'`` under a minute, then ``'1:02:05'``; empty for ``None``.
    (``_pp_time``, pympler's ``HH:MM:SS.ss``, reads ``00:00:00.00`` for a whole short run.)"""
    if seconds is None:
        return ""
    value = max(float(seconds), 0.0)
    # Compared after rounding, so that 0.99996 s reads "1.00 s", not "1000.0 ms".
    if round(value * 1000.0, 1) < 1000.0:
        return f"{value * 1000.0:.1f} ms"
    if round(value, 2) < 60.0:
        return f"{value:.2f} s"
    hours, rest = divmod(int(round(value)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


def _indented(prefix: str, steps: int, name: Any, width: int) -> str:
    """``_cut(prefix + "  " * steps + str(name), width)``, in time and memory bounded by
    ``width`` and the name, whatever ``steps`` is."""
    indent = len(prefix) + 2 * steps
    text = str(name)
    if indent + len(text) <= width:
        return (prefix + "  " * steps + text).replace("\n", "|")
    # Too long: the first ``width - 3`` characters of the whole line, then "...".
    head = (prefix + "  " * min(steps, width // 2))[:width - 3]
    head += text[:width - 3 - len(head)]
    return head.replace("\n", "|") + "..."


def _format_trace(trace: Iterable[Any]) -> str:
    lines = []
    for file, line, function, source, _ in trace:
        for text in source or ():
            lines.append(f"    {text.strip()}\n")
        lines.append(f"  {file}:{line:4d} in {function}\n")
    return "".join(lines)


#: What ``TrackerCore.record`` tells of a tracked object: ``(id, name, resolution level,
#: birth, death, repr, trace, basic size, watch)``.
_RecordFacts = Tuple[
    int, str, int, float, Optional[float], str, Optional[List[Tuple[str, int, str, Optional[str]]]], int, str
]


def _fallback_process() -> Optional[Tuple[int, int]]:
    """``(rss, vms)`` from psutil where ``/proc`` is not available."""
    try:
        # psutil is optional, and typed only where types-psutil is installed.
        import psutil  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return None
    try:
        info = psutil.Process().memory_info()
    except Exception:
        return None
    return int(info.rss), int(info.vms)



def _check_level(where: str, level: Any) -> int:
    if isinstance(level, bool) or not isinstance(level, int):
        raise TypeError(f"{where}(): resolution_level must be an int >= 0, not {type(level).__name__}")
    if level < 0:
        raise ValueError(f"{where}(): resolution_level must be >= 0, not {level}")
    return level



# -- process memory as a snapshot saw it ----------------------------------------------------

class ProcessMemory:
    """The process's memory when a snapshot was taken, in bytes (the attributes of
    pympler's ``ProcessMemoryInfo``: ``vsz``, ``rss``, ``pagefaults``, the segment
    sizes and ``available``, which is ``False`` where nothing could be read)."""

    def __init__(self, figures: Optional[Sequence[Any]] = None) -> None:
        if figures is None:
            figures = _core.process_memory()
            if not figures[0]:
                fallback = _fallback_process()
                if fallback is not None:
                    figures = (True, fallback[0], fallback[1], 0, 0, 0, 0, 0, 0)
        (available, self.rss, self.vsz, self.data_segment, self.code_segment, self.shared_segment,
         self.stack_segment, self.peak_rss, self.pagefaults) = (int(v) for v in figures)
        self.available = bool(available)

    @property
    def os_specific(self) -> List[Tuple[str, str]]:
        return [("Virtual memory size", _pp(self.vsz)), ("Resident set size", _pp(self.rss)),
                ("Peak resident set size", _pp(self.peak_rss))]

    def __repr__(self) -> str:
        return f"<ProcessMemory vsz={self.vsz} rss={self.rss}>"


class Snapshot:
    """Sizes of the tracked objects and of the process at one instant.

    Attributes: ``timestamp`` (seconds since the tracker's start), ``desc``,
    ``tracked_total`` (combined size of the tracked objects), ``asizeof_total`` (all
    objects, with ``compute_total``, less ``overhead``), ``overhead`` (the tracker's own
    memory), ``system_total`` (a ``ProcessMemory``) and ``classes`` (per-class figures,
    filled in by the statistics classes).
    """

    def __init__(self, timestamp: float, description: str = "") -> None:
        self.tracked_total = 0
        self.asizeof_total = 0
        self.overhead = 0
        self.timestamp = timestamp
        self.system_total = ProcessMemory()
        self.desc = description
        self.classes: Optional[Dict[str, Dict[str, Any]]] = None
        self._core: Any = None
        self._index = -1

    @classmethod
    def _from_core(cls, core: Any, index: int, figures: Optional[Tuple[Any, ...]] = None) -> "Snapshot":
        """The snapshot ``index`` of ``core``, whose ``figures`` (what ``core.snapshot``
        gives) may be known already."""
        timestamp, desc, tracked, total, overhead, process = core.snapshot(index) if figures is None else figures
        snapshot = cls.__new__(cls)
        snapshot.timestamp = timestamp
        snapshot.desc = desc
        snapshot.tracked_total = tracked
        snapshot.asizeof_total = total
        snapshot.overhead = overhead
        snapshot.system_total = ProcessMemory(process)
        snapshot.classes = None
        snapshot._core = core
        snapshot._index = index
        return snapshot

    @property
    def total(self) -> int:
        """The process's virtual size if known, else the best total available."""
        if self.system_total.available:
            return self.system_total.vsz
        return self.asizeof_total or self.tracked_total

    @property
    def label(self) -> str:
        """``description (time)``, or the time alone."""
        if not self.desc:
            return f"{self.timestamp:.3f}s"
        return f"{self.desc} ({self.timestamp:.3f}s)"

    def __repr__(self) -> str:
        return f"<Snapshot {self.label} tracked={self.tracked_total}>"


# -- tracked objects ------------------------------------------------------------------------


class TrackedObject:
    """Lifetime and sizes of one tracked object, read from the tracker.

    ``id``, ``name``, ``birth``, ``death`` (``None`` while alive), ``repr`` (as last seen),
    ``trace`` (frames ``(file, line, function, [source], 0)`` if traced, as
    ``inspect.stack()`` gives them: ``(file, line, function, None, None)`` without source), ``snapshots``
    (``(timestamp, Asized)`` pairs: the basic size at birth, then one per snapshot taken
    while it was alive) and ``ref`` (call it for the object, or ``None`` once dead).

    At ``resolution_level`` 0 a snapshot measures the object's total size only: the
    ``Asized`` of those entries has ``flat`` 0 and no name (pympler fills both in; its
    statistics show neither). At higher levels it is the ``asized`` tree, as pympler's.
    """

    __slots__ = ("__weakref__", "_core", "_generation", "_index")

    def __init__(self, core: _core.TrackerCore, generation: int, index: int) -> None:
        self._core = core
        self._generation = generation
        self._index = index

    def _info(self) -> "_RecordFacts":
        return self._core.record(self._generation, self._index)

    @property
    def id(self) -> int:
        """``id()`` of the object."""
        return self._info()[0]

    @property
    def name(self) -> str:
        """The name it is tracked under."""
        return self._info()[1]

    classname = name

    @property
    def birth(self) -> float:
        """When it was tracked (seconds since start)."""
        return self._info()[3]

    @property
    def death(self) -> Optional[float]:
        """When it died, or ``None``."""
        return self._info()[4]

    @property
    def repr(self) -> str:
        """Its repr at the latest snapshot (at most 128 characters)."""
        return self._info()[5]

    @property
    def watch(self) -> str:
        """How its death is seen: ``'weakref'``, ``'polled'`` or ``'kept'`` (see the module docs)."""
        return self._info()[8]

    @property
    def resolution_level(self) -> int:
        return self._info()[2]

    @property
    def trace(self) -> Optional[List[Tuple[str, int, str, Optional[List[str]], Optional[int]]]]:
        frames = self._info()[6]
        if frames is None:
            return None
        # inspect.stack()'s frames: no context and no index where the source is unknown.
        return [
            (file, line, function, [code], 0) if code else (file, line, function, None, None)
            for file, line, function, code in frames
        ]

    @property
    def snapshots(self) -> List[Tuple[float, Asized]]:
        out = []
        for timestamp, size, flat, rows in self._core.record_sizes(self._generation, self._index):
            out.append((timestamp, _build_tree(rows) if rows else Asized(size, flat)))
        return out

    @property
    def ref(self) -> Callable[[], Any]:
        """A weak reference to the object, or for objects held strongly a callable
        returning it (``None`` once the tracker saw it die)."""
        reference: Optional[Callable[[], Any]] = self._core.record_weakref(self._generation, self._index)
        if reference is not None:
            return reference
        return functools.partial(self._core.record_target, self._generation, self._index)

    @property
    def size(self) -> int:
        """The largest size recorded."""
        return self.get_max_size()

    @property
    def tsize(self) -> int:
        """The size at the snapshot that tracked the most memory."""
        return self._core.record_size_summary(self._generation, self._index)[1]

    def get_max_size(self) -> int:
        """The largest size recorded (its basic size at birth included)."""
        return self._core.record_size_summary(self._generation, self._index)[0]

    def get_size_at_time(self, timestamp: float) -> int:
        """The size recorded by the snapshot taken at ``timestamp``, or 0."""
        return self._core.record_size_at(self._generation, self._index, timestamp)

    def set_resolution_level(self, resolution_level: int) -> None:
        """Size the object down to this many levels of referents from the next snapshot."""
        level = _check_level("set_resolution_level", resolution_level)
        self._core.set_record_level(self._generation, self._index, level)

    def __repr__(self) -> str:
        info = self._info()
        state = "alive" if info[4] is None else f"died at {info[4]:.3f}s"
        return f"<TrackedObject {info[1]} {info[0]:#x} born at {info[3]:.3f}s, {state}>"


class _Views:
    """One ``TrackedObject`` per record, made on first use."""

    def __init__(self, core: Any) -> None:
        self._core = core
        self._lock = threading.Lock()
        self._generation = -1
        self._views: List[TrackedObject] = []

    def get(self, index: int, generation: int) -> TrackedObject:
        with self._lock:
            if generation != self._generation:
                self._generation = generation
                self._views = []
            views = self._views
            while len(views) <= index:
                views.append(TrackedObject(self._core, generation, len(views)))
            return views[index]

    def all(self) -> List[TrackedObject]:
        generation = self._core.generation
        count = self._core.record_count()
        if count == 0:
            return []
        self.get(count - 1, generation)
        return self._views[:count]


def _index_of(core: Any, views: _Views) -> Dict[str, List[TrackedObject]]:
    generation = core.generation
    return {name: [views.get(i, generation) for i in records] for name, records in core.index()}


# -- statistics ------------------------------------------------------------------------------


class Stats:
    """The statistics of a ``ClassTracker`` (``tracker``) or of a file written by
    ``dump_stats`` (``filename``), printed to ``stream`` (default ``sys.stdout``).

    Attributes: ``index`` (tracked objects by name), ``snapshots``, ``history`` and
    ``sorted`` (the tracked objects in the order of the last ``sort_stats``).

    ``str(stats)``, ``print(stats)`` and IPython's terminal show a bounded table per
    snapshot (``format``); ``print_summary`` and ``print_stats`` print pympler's text.
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

    # -- text for the prompt ---------------------------------------------------------------

    def __repr__(self) -> str:
        """One line: the class and how many snapshots and tracked classes."""
        return (f"<{type(self).__name__}: {_plural(len(self.snapshots), 'snapshot')}, "
                f"{_plural(len(self.tracked_classes), 'tracked class', 'tracked classes')}>")

    def __str__(self) -> str:
        """``format()``: a bounded table per snapshot."""
        return self.format()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's terminal shows the table of ``str()``, not the one-line repr."""
        p.text(repr(self) if cycle else str(self))

    def format(self, limit: int = 15, snapshots: int = 5) -> str:
        """The statistics as bounded text, what ``str(stats)`` and IPython show: for each
        of the latest ``snapshots`` snapshots, the ``limit`` classes with the most memory
        (instances alive, total and average size in KiB/MiB, share of the snapshot's
        tracked total), then a line counting the rest. ``print_summary()`` prints every
        row in pympler's format."""
        for what, value in (("limit", limit), ("snapshots", snapshots)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"format(): {what} must be an int >= 0, not {value!r}")
        taken = list(self.snapshots)
        lines = [f"{type(self).__name__}: {_plural(len(taken), 'snapshot')}, "
                 f"{_plural(len(self.tracked_classes), 'tracked class', 'tracked classes')}"]
        if not taken:
            lines.append("  no snapshot taken (create_snapshot() takes one)")
            return "\n".join(lines)
        cut = False
        first = max(len(taken) - snapshots, 0)
        if first:
            lines.append(f"… {_plural(first, 'earlier snapshot')}")
            cut = True
        for number, snapshot in enumerate(taken[first:], first):
            figures = self.annotate_snapshot(snapshot)
            desc = f" {_cut(snapshot.desc, 50)}," if snapshot.desc else ""
            lines.append(f"#{number}{desc} at {_duration(snapshot.timestamp)}: "
                         f"{_core.human_size(snapshot.tracked_total)} tracked")
            if not figures:
                lines.append("  no tracked object alive")
                continue
            # Largest first; a name breaks ties so that the text does not change between calls.
            ranked = sorted(figures.items(), key=lambda item: (-item[1]["sum"], item[0]))
            shown = ranked[:limit]
            names = [_cut(name, 40, left=True) for name, _ in shown]
            width = max([len("class")] + [len(name) for name in names])
            tracked = snapshot.tracked_total
            if shown:
                lines.append(f"  {'class':<{width}} {'alive':>9} {'total':>11} {'average':>11} "
                             f"{'share of tracked':>17}")
            for name, (_, info) in zip(names, shown):
                # As the HTML report shows it: of the tracked total, 0 when nothing was tracked.
                share = f"{info['sum'] * 100.0 / tracked if tracked > 0 else 0.0:.1f}%"
                lines.append(f"  {name:<{width}} {info['active']:>9,} {_core.human_size(info['sum']):>11} "
                             f"{_core.human_size(info['avg']):>11} {share:>17}")
            if len(ranked) > len(shown):
                lines.append(f"  … {_plural(len(ranked) - len(shown), 'more class', 'more classes')}")
                cut = True
        if cut:
            lines.append("(format(limit=..., snapshots=...) shows more; print_summary() shows all)")
        return "\n".join(lines)

    @property
    def tracked_classes(self) -> List[str]:
        """The names objects are tracked under, sorted."""
        return self._core.tracked_classes()

    # -- files ----------------------------------------------------------------------------

    def load_stats(self, fdump: Union[str, "os.PathLike[str]", IO[Any]]) -> None:
        """Replace the statistics with those of a file written by ``dump_stats`` (a path
        or a file object open for reading). ``ValueError`` saying why if it is not one."""
        if isinstance(fdump, (str, bytes, os.PathLike)):
            # Streamed from the file by the core: memory in proportion to its content.
            self._use(_core.TrackerCore.load(os.fsdecode(fdump)))
            return
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
        # An explicit stack of (node, level), children largest first. A node's indent
        # (``prefix`` and two spaces per level below ``level``) is never built in full:
        # only the part that fits in the column is, so a deep tree prints in linear time.
        stack = [(ref, level) for ref in sorted(refs, key=lambda r: r.size)]
        while stack:
            ref, depth = stack.pop()
            if ref.size <= minsize or total <= 0 or ref.size * 100.0 / total <= minpct:
                continue
            label = _indented(prefix, depth - level, ref.name, 50)
            self.stream.write(f"{label:<50} {_pp(ref.size):<14} {int(ref.size * 100.0 / total):3d}% [{depth}]\n")
            stack.extend((child, depth + 1) for child in sorted(ref.refs, key=lambda r: r.size))

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
                    max_instances: Optional[int] = 50, *, layout: str = "pympler") -> None:
        """Write the report to ``fname``: the snapshots, a memory-over-time and an
        instances-alive chart per class, per-snapshot class figures (each class's share
        is of the snapshot's tracked total, as in ``format()``), merged referent sizes,
        and each class's lifetime table, in one file with inline styles and charts (no
        scripts, nothing fetched). Times read as ``_duration`` writes them (``12.3 ms``,
        ``1.50 s``, ``1:02:05``); chart axes tick on round values.

        ``layout="pympler"`` (default) also writes pympler's per-class pages: each
        class's section as a page of its own, ``<name>_files/<Class>.html`` beside
        ``fname`` (``report.html`` gets ``report_files/``), linked from the report;
        ``layout="single"`` writes the one file only.

        ``max_instances`` bounds the rows of each lifetime table (default 50, which keeps
        the report readable and small); the instances left out are counted under the
        table. Pass a larger number for more, or ``None`` for every instance."""
        if max_instances is None:
            max_instances = sys.maxsize
        if isinstance(max_instances, bool) or not isinstance(max_instances, int) or max_instances < 0:
            raise ValueError(f"create_html(): max_instances must be an int >= 0 or None, not {max_instances!r}")
        if layout not in ("pympler", "single"):
            raise ValueError(f'create_html(): layout must be "pympler" or "single", not {layout!r}')
        if layout == "single":
            with open(fname, "w", encoding="utf-8") as f:
                f.write(self._core.to_html(str(title), max_instances))
            return
        path = os.fspath(fname)
        report = os.path.basename(path)
        folder = os.path.splitext(report)[0] + "_files"
        html, pages = self._core.to_html_pages(str(title), max_instances, report, folder)
        pages_dir = os.path.join(os.path.dirname(path), folder)
        os.makedirs(pages_dir, exist_ok=True)
        for page, text in pages:
            with open(os.path.join(pages_dir, page), "w", encoding="utf-8") as f:
                f.write(text)
        with open(path, "w", encoding="utf-8") as f:
            f.write(html)
