"""Memory over time: the process's resident memory sampled often, and which types of
objects it was made of, sampled less often.

    import heapscope

    with heapscope.Timeline(interval=0.1) as timeline:
        load()
        timeline.mark("transform")
        transform()
    timeline.save("run.json")          # heapscope.load_timeline("run.json")
    timeline.plot("run.html")          # or run.svg

A Rust thread reads ``/proc/self/statm`` every ``interval`` seconds; it never takes the
GIL and creates no Python object, so the program runs on undisturbed. Whole-heap type
summaries (``summary.summarize_heap(collect=False)``, the top types kept) need the GIL, so
they run on the main thread: one at the start, one at the end, and in between whenever
the sampler thread finds one due, queued as a pending call that the interpreter runs
between two bytecodes, where it runs signal handlers. Each summary is timed, and the next
waits until the summaries so far, it and the last one fit in ``share`` (5 %) of the run,
and at least ``19 x`` the latest one's time (and ``min_gap`` seconds). The function that
was running is recorded with each summary. ``overhead`` gives what the timeline cost.
"""

from __future__ import annotations

import atexit
import html
import json
import math
import os
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Tuple, Union

from heapscope import _core

__all__ = ["Timeline", "TimelineError", "TypeSample", "load_timeline", "mark"]

#: The format name and version written in every timeline file.
FORMAT = "heapscope-timeline"
VERSION = 1
#: Types kept per summary (by size), and what the chart shows.
TYPES_PER_SUMMARY = 20
#: Summaries kept: past this, every other one is dropped.
MAX_SUMMARIES = 1000
#: Marks kept: past this, ``mark()`` raises.
MAX_MARKS = 10_000
#: The largest timeline file ``load_timeline`` reads.
MAX_FILE_BYTES = 64 << 20
#: The share of the run's time the summaries take by default, the first and last included.
SUMMARY_SHARE = 0.05
#: The largest share a timeline's summaries may be given.
MAX_SUMMARY_SHARE = 0.5
#: Phases listed by ``report()``.
REPORTED_PHASES = 20
#: Longest name stored (types, functions, marks).
MAX_NAME = 1000

PathLike = Union[str, "os.PathLike[str]"]


#: The timelines running now, for ``mark()``.
_running: List["Timeline"] = []


def mark(name: str) -> None:
    """Starts a phase called ``name`` in every running timeline (those of ``with
    Timeline():`` blocks and of ``python -m heapscope run --timeline``); does nothing when
    none runs, so a script can mark its phases whether it is measured or not."""
    for timeline in list(_running):
        timeline.mark(name)


class TimelineError(ValueError):
    """A timeline file that cannot be read: not JSON, too large, of another format or
    version, or inconsistent."""


class TypeSample:
    """One whole-heap summary of a timeline: ``at`` (seconds since the start),
    ``function`` (what the main thread was running), ``types``, the largest types as
    ``(name, count, size)`` tuples, largest first, and ``took`` (the seconds it took)."""

    __slots__ = ("at", "function", "types", "took")

    def __init__(self, at: float, function: str, types: List[Tuple[str, int, int]], took: float = 0.0) -> None:
        self.at = at
        self.function = function
        self.types = types
        self.took = took

    def size_of(self, name: str) -> int:
        """The bytes of type ``name`` in this summary (0 when not among the kept types)."""
        for type_name, _count, size in self.types:
            if type_name == name:
                return size
        return 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TypeSample):
            return NotImplemented
        return (self.at, self.function, self.types, self.took) == (other.at, other.function, other.types, other.took)

    def __repr__(self) -> str:
        top = ", ".join(f"{name}={size}" for name, _, size in self.types[:3])
        return f"TypeSample(at={self.at:.3f}, function={self.function!r}, {top})"


def _page_size() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4096


def _running_function(frame: Any) -> str:
    """``qualname (file:line)`` of the first frame outside this module."""
    here = __file__
    while frame is not None and frame.f_code.co_filename == here:
        frame = frame.f_back
    if frame is None:
        return "?"
    code = frame.f_code
    name = getattr(code, "co_qualname", code.co_name)
    return f"{name} ({os.path.basename(code.co_filename)}:{frame.f_lineno})"[:MAX_NAME]


class Timeline:
    """Memory over time, as a context manager (or ``start()`` / ``stop()``).

    ``interval`` is the seconds between two readings of the resident memory (from 0.001
    to 3600; the default 0.1). ``summaries=False`` takes no type summaries (RSS only).
    Summaries in between the first and the last are taken only when the timeline was
    started on the main thread. ``min_gap`` is the least time between two summaries.
    ``share`` is the part of the run the summaries may take, the first and the last
    included (0.05; at most 0.5): a larger one gives more summaries on a short run.

    After ``stop()``: ``times`` and ``rss`` (the samples), ``summaries`` (a list of
    :class:`TypeSample`), ``marks`` (``(seconds, name)``), ``duration``, ``overhead``;
    ``save(path)``, ``plot(path)``, ``to_html()``, ``to_svg()``.
    """

    def __init__(
        self, interval: float = 0.1, summaries: bool = True, min_gap: float = 0.5, share: float = SUMMARY_SHARE
    ) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)):
            raise TypeError(f"interval must be a number of seconds, not {type(interval).__name__}")
        if isinstance(share, bool) or not isinstance(share, (int, float)):
            raise TypeError(f"share must be a fraction of the run, not {type(share).__name__}")
        if not 0 < share <= MAX_SUMMARY_SHARE:
            raise ValueError(f"share must be above 0 and at most {MAX_SUMMARY_SHARE} (of the run), not {share}")
        self.interval = float(interval)
        # None in a timeline loaded from a file, which has nothing left to sample.
        self._sampler: Optional[_core.RssSampler] = _core.RssSampler(
            self.interval, _page_size(), share=float(share), min_gap=float(min_gap)
        )
        self._with_summaries = bool(summaries)
        self.summaries: List[TypeSample] = []
        self.marks: List[Tuple[float, str]] = []
        self.times: List[float] = []
        self.rss: List[int] = []
        self.duration = 0.0
        self.title = ""
        self._overhead: Dict[str, Any] = {}
        self._state = "new"  # "running", "stopped"; loaded timelines are "stopped"
        self._busy = False
        self._taken = 0  # summaries taken (some may have been thinned out since)

    def _live_sampler(self) -> "_core.RssSampler":
        if self._sampler is None:
            raise RuntimeError("this timeline was loaded from a file and does not sample; create a new Timeline")
        return self._sampler

    # -- running -------------------------------------------------------------------
    def start(self) -> "Timeline":
        """Starts sampling (a timeline runs once); returns the timeline."""
        if self._state != "new":
            raise RuntimeError("this timeline has already run; create a new Timeline to sample again")
        self._state = "running"
        on_main = threading.current_thread() is threading.main_thread()
        try:
            if self._with_summaries:
                # Imported here, not with the module (``mark`` alone needs none of it), and
                # before the first summary is timed: the import fills Rust caches.
                from heapscope import summary  # noqa: F401

                self._summarize("start")
            self._live_sampler().start(self._scheduled_summary if (self._with_summaries and on_main) else None)
        except BaseException:
            self._state = "new"
            self.summaries.clear()
            raise
        atexit.register(self.stop)
        _running.append(self)
        return self

    def stop(self) -> "Timeline":
        """Stops sampling, takes the last summary; a no-op when not running."""
        if self._state != "running":
            return self
        self._live_sampler().stop()
        atexit.unregister(self.stop)
        if self in _running:
            _running.remove(self)
        if self._with_summaries:
            self._summarize("end")
        self.duration = self._live_sampler().elapsed()
        self.times, self.rss = self._live_sampler().samples()
        stats = self._live_sampler().stats()
        cost = stats["summary_seconds"] + stats["sampling_seconds"]
        self._overhead = {
            "seconds": cost,
            "fraction": cost / self.duration if self.duration > 0 else 0.0,
            "summary_seconds": stats["summary_seconds"],
            "sampling_seconds": stats["sampling_seconds"],
            "summaries": self._taken,
            "interval": stats["interval"],
            "out_of_memory": bool(stats["out_of_memory"]),
        }
        self._state = "stopped"
        return self

    def snapshot(self) -> "Timeline":
        """A stopped copy of this timeline as it is now, to draw or save while it goes on
        running (a stopped timeline is its own snapshot)."""
        if self._state == "stopped":
            return self
        if self._state != "running":
            raise RuntimeError("this timeline has not started: call start() first")
        sampler = self._live_sampler()
        copy = Timeline.__new__(Timeline)
        copy.__dict__.update(self.__dict__)
        copy._sampler = None
        copy._state = "stopped"
        copy.duration = sampler.elapsed()
        copy.times, copy.rss = sampler.samples()
        copy.summaries = list(self.summaries)
        copy.marks = list(self.marks)
        copy._overhead = {}
        return copy

    def __enter__(self) -> "Timeline":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def mark(self, name: str) -> None:
        """Starts a phase called ``name`` now (shown on the chart). A summary is taken
        too when it keeps the summaries, the last one included, within their share."""
        if not isinstance(name, str):
            raise TypeError(f"a mark's name must be a str, not {type(name).__name__}")
        if self._state != "running":
            raise RuntimeError("mark() is for a running timeline: call it inside `with Timeline():`")
        if len(self.marks) >= MAX_MARKS:
            raise RuntimeError(f"a timeline keeps at most {MAX_MARKS} marks; mark phases, not iterations")
        self.marks.append((self._live_sampler().elapsed(), name[:MAX_NAME]))
        # A summary at the boundary, when the budget allows, shows what the last phase left.
        if self._with_summaries and self._live_sampler().summary_fits():
            self._summarize(None)


    def take_summary(self) -> None:
        """Takes a type summary now, outside the schedule (it counts in the overhead)."""
        if self._state != "running":
            raise RuntimeError("take_summary() is for a running timeline")
        self._summarize(None)

    def _scheduled_summary(self) -> None:
        # Runs as a pending call, between two bytecodes of whatever the main thread runs.
        if self._busy or self._state != "running":
            return
        self._take(sys._getframe(1))

    def _summarize(self, where: Optional[str]) -> None:
        began = time.perf_counter()
        self._take(sys._getframe(2), where)
        self._live_sampler().add_summary_time(time.perf_counter() - began)

    def _take(self, frame: Any, where: Optional[str] = None) -> None:
        from heapscope import summary

        self._busy = True
        try:
            at = self._live_sampler().elapsed()
            function = where or _running_function(frame)
            began = time.perf_counter()
            rows = summary.summarize_heap(collect=False).rows()
            rows.sort(key=lambda row: -row[2])
            types = [(str(name)[:MAX_NAME], int(count), int(size)) for name, count, size in rows[:TYPES_PER_SUMMARY]]
            self.summaries.append(TypeSample(at, function, types, time.perf_counter() - began))
            self._taken += 1
            if len(self.summaries) > MAX_SUMMARIES:
                self.summaries[1:-1] = self.summaries[2:-1:2]
        finally:
            self._busy = False

    # -- results -------------------------------------------------------------------
    @property
    def overhead(self) -> Dict[str, Any]:
        """What the timeline cost: ``seconds`` and ``fraction`` of the run (summaries on
        the main thread plus the sampler thread's reading), ``summaries`` taken,
        ``interval`` (seconds between samples at the end, doubled each time the samples
        were thinned out), ``out_of_memory`` (samples were lost to a refused
        allocation)."""
        return dict(self._overhead)

    def phases(self) -> List[Tuple[str, float, float]]:
        """The marked phases as ``(name, start, end)`` seconds."""
        result = []
        for i, (at, name) in enumerate(self.marks):
            end = self.marks[i + 1][0] if i + 1 < len(self.marks) else self.duration
            result.append((name, at, end))
        return result

    def top_types(self, n: int = 8) -> List[str]:
        """The ``n`` types largest at any summary, largest first."""
        peak: Dict[str, int] = {}
        for sample in self.summaries:
            for name, _count, size in sample.types:
                if size > peak.get(name, -1):
                    peak[name] = size
        return sorted(peak, key=lambda name: -peak[name])[:n]

    def report(self) -> str:
        """A few lines for a terminal: peak memory, phases, the overhead."""
        lines = []
        if self.rss:
            peak = max(range(len(self.rss)), key=self.rss.__getitem__)
            lines.append(
                f"peak RSS {_core.human_size(self.rss[peak])} at {self.times[peak]:.2f} s "
                f"of {self.duration:.2f} s ({len(self.rss)} samples, {len(self.summaries)} type summaries)"
            )
        phases = self.phases()
        for name, start, end in phases[:REPORTED_PHASES]:
            lines.append(f"  phase {name!r}: {start:.2f}-{end:.2f} s, RSS {self._rss_change(start, end)}")
        if len(phases) > REPORTED_PHASES:
            lines.append(f"  ... and {len(phases) - REPORTED_PHASES} more phases (see the chart)")
        if self._overhead:
            lines.append(
                f"timeline overhead: {self._overhead['seconds']:.3f} s, "
                f"{100 * self._overhead['fraction']:.1f} % of the run"
            )
        return "\n".join(lines)

    def _rss_change(self, start: float, end: float) -> str:
        inside = [rss for t, rss in zip(self.times, self.rss) if start <= t <= end]
        if not inside:
            return "not sampled"
        return f"{_core.human_size(inside[0])} -> {_core.human_size(inside[-1])}"

    def to_dict(self) -> Dict[str, Any]:
        """The timeline as the JSON object ``save`` writes."""
        self._require_stopped("saved")
        return {
            "format": FORMAT,
            "version": VERSION,
            "title": self.title,
            "interval": self.interval,
            "duration": self.duration,
            "samples": {"t": list(self.times), "rss": list(self.rss)},
            "summaries": [
                {"t": s.at, "function": s.function, "took": s.took, "types": [list(row) for row in s.types]}
                for s in self.summaries
            ],
            "marks": [{"t": at, "name": name} for at, name in self.marks],
            "overhead": dict(self._overhead),
        }

    def save(self, path: PathLike) -> None:
        """Writes the timeline as JSON (``load_timeline`` reads it back, equal)."""
        text = json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":"))
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)

    def to_svg(self) -> str:
        """The chart as a standalone SVG document."""
        from heapscope import _timeline_chart

        self._require_stopped("drawn")
        return _timeline_chart.svg(self)

    def to_html(self) -> str:
        """The chart as one self-contained HTML page (hover for values; no network)."""
        from heapscope import _timeline_chart

        self._require_stopped("drawn")
        return _timeline_chart.html(self)

    def plot(self, path: PathLike) -> None:
        """Writes the chart to ``path``: ``.html`` or ``.svg`` (by the extension)."""
        from heapscope import _timeline_chart

        self._require_stopped("drawn")
        _timeline_chart.write(self, os.fspath(path))

    def _repr_html_(self) -> str:
        # Jupyter: the chart as SVG in the notebook's theme (a notebook may not run the
        # page's script).
        from heapscope import _timeline_chart

        if self._state != "stopped":
            return f"<pre>{html.escape(repr(self))}</pre>"
        return _timeline_chart.notebook_svg(self)

    def _require_stopped(self, what: str) -> None:
        if self._state != "stopped":
            raise RuntimeError(f"a timeline is {what} once stopped: leave the `with` block or call stop() first")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeline):
            return NotImplemented
        return self._state == other._state == "stopped" and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return (
            f"<Timeline {self._state}, interval={self.interval}s, {len(self.rss)} samples, "
            f"{len(self.summaries)} summaries, {len(self.marks)} marks>"
        )

    # -- loading -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, source: str = "text") -> "Timeline":
        """A stopped timeline from the object ``to_dict`` returns; ``TimelineError`` when
        it is not one."""
        check = _Checker(source)
        check.is_dict(data, "the file")
        found = data.get("format")
        if found != FORMAT:
            raise TimelineError(f"{source} is not a heapscope timeline (format {found!r}, expected {FORMAT!r})")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version != VERSION:
            raise TimelineError(
                f"{source} is a heapscope timeline of format version {version!r}; this heapscope reads "
                f"version {VERSION} (write it again with the heapscope that reads it)"
            )
        interval = check.seconds(data.get("interval"), "interval")
        duration = check.seconds(data.get("duration"), "duration")
        title = check.name(data.get("title", ""), "title")
        samples = data.get("samples")
        check.is_dict(samples, "samples")
        times = check.list_of(samples.get("t"), "samples.t", _core_max_samples())
        rss = check.list_of(samples.get("rss"), "samples.rss", _core_max_samples())
        if len(times) != len(rss):
            raise TimelineError(f"{source} is not a valid timeline: samples.t and samples.rss differ in length")
        times = [check.seconds(t, "a sample time") for t in times]
        rss = [check.count(b, "a sample size") for b in rss]
        summaries = []
        for item in check.list_of(data.get("summaries"), "summaries", MAX_SUMMARIES):
            check.is_dict(item, "a summary")
            rows = []
            for row in check.list_of(item.get("types"), "a summary's types", TYPES_PER_SUMMARY):
                if not isinstance(row, list) or len(row) != 3:
                    raise TimelineError(f"{source} is not a valid timeline: a type row is not [name, count, size]")
                rows.append((check.name(row[0], "a type name"), check.count(row[1], "a count"), check.count(row[2], "a size")))
            summaries.append(
                TypeSample(
                    check.seconds(item.get("t"), "a summary time"),
                    check.name(item.get("function"), "a function"),
                    rows,
                    check.seconds(item.get("took"), "a summary's duration"),
                )
            )
        marks = []
        for item in check.list_of(data.get("marks"), "marks", MAX_MARKS):
            check.is_dict(item, "a mark")
            marks.append((check.seconds(item.get("t"), "a mark time"), check.name(item.get("name"), "a mark name")))
        overhead = data.get("overhead")
        check.is_dict(overhead, "overhead")
        known = {"seconds", "fraction", "summary_seconds", "sampling_seconds", "summaries", "interval", "out_of_memory"}
        if set(overhead) - known:
            raise TimelineError(f"{source} is not a valid timeline: unknown overhead figures {sorted(set(overhead) - known)}")
        for key, value in overhead.items():
            if key == "summaries":
                check.count(value, "overhead.summaries")
            elif key == "out_of_memory":
                if not isinstance(value, bool):
                    raise check.fail("overhead.out_of_memory is not true or false")
            else:
                check.seconds(value, f"overhead.{key}")

        timeline = cls.__new__(cls)
        timeline.interval = interval
        timeline._sampler = None
        timeline._with_summaries = True
        timeline.summaries = summaries
        timeline.marks = marks
        timeline.times = times
        timeline.rss = rss
        timeline.duration = duration
        timeline.title = title
        timeline._overhead = dict(overhead)
        timeline._state = "stopped"
        timeline._busy = False
        timeline._taken = overhead.get("summaries", len(summaries))
        return timeline


def _core_max_samples() -> int:
    # The sampler thins its buffer at this many samples (src/timeline/sampler.rs).
    return 1 << 18


class _Checker:
    """Checks of the values of an untrusted timeline file, each failure a TimelineError."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, detail: str) -> "TimelineError":
        return TimelineError(f"{self.source} is not a valid heapscope timeline: {detail}")

    def is_dict(self, value: Any, what: str) -> None:
        if not isinstance(value, dict):
            raise self.fail(f"{what} is not an object")

    def list_of(self, value: Any, what: str, most: int) -> List[Any]:
        if not isinstance(value, list):
            raise self.fail(f"{what} is not a list")
        if len(value) > most:
            raise self.fail(f"{what} has {len(value)} entries, more than the {most} a timeline keeps")
        return value

    def seconds(self, value: Any, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise self.fail(f"{what} is not a number of seconds ({value!r})")
        return value

    def count(self, value: Any, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 64:
            raise self.fail(f"{what} is not a byte or object count ({value!r})")
        return value

    def name(self, value: Any, what: str) -> str:
        if not isinstance(value, str) or len(value) > MAX_NAME:
            raise self.fail(f"{what} is not a string of at most {MAX_NAME} characters")
        return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a timeline holds")


def loads_timeline(text: Union[str, bytes], source: str = "text") -> Timeline:
    """A timeline from JSON text (see ``load_timeline``)."""
    if len(text) > MAX_FILE_BYTES:
        raise TimelineError(f"{source} is larger than the {MAX_FILE_BYTES >> 20} MiB a timeline file can be")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise TimelineError(f"{source} is not a heapscope timeline: nested too deeply") from None
    except ValueError as exc:
        raise TimelineError(f"{source} is not a heapscope timeline: not valid JSON, or cut short ({exc})") from None
    return Timeline.from_dict(data, source)


def load_timeline(path: PathLike) -> Timeline:
    """Reads a timeline written by ``Timeline.save``.

    Raises ``TimelineError`` (a ``ValueError``) when the file is not a timeline of a
    version this heapscope reads, is inconsistent or larger than 64 MiB, and ``OSError``
    when it cannot be read.
    """
    source = f"file {os.fspath(path)!r}"
    with open(path, "rb") as file:
        data = file.read(MAX_FILE_BYTES + 1)
    return loads_timeline(data, source)

