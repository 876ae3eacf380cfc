"""Memory line by line: ``@heapscope.profile`` and ``python -m heapscope lines``.

    import heapscope

    @heapscope.profile
    def build():
        data = [bytes(1000) for _ in range(100_000)]
        return data

    build()
    heapscope.lines.print_stats()     # also printed at exit

For each line of the decorated functions: the resident memory after it ran (the largest
seen), the increment while it ran (summed over its runs), how many times it ran, its
text, and under lines that grew memory by 1 MiB or more, the types that grew most.

The lines are followed with ``sys.monitoring`` on Python 3.12+ (``LINE`` events are
switched on for the decorated functions' code only, so the rest of the program runs at
full speed) and before 3.12 with a trace function in C form (``PyEval_SetTrace``, in
Rust, installed during the decorated calls only, which switches line events off in the
frames of other code at their first event). Every event goes to a Rust recorder, which reads
``/proc/self/statm`` again only when 20 microseconds have passed since its last reading
(and at each call's start and end): a line that allocates much runs for a while, so a
reading follows it at once; the growth of quick lines is attributed at the next reading.
A type summary of the heap (``summarize_heap(collect=False)``, with the objects the
running function's locals hold) is taken at the first
call and after each line that a reading shows grew by 1 MiB or more (the first five
always, then while summaries take under 10 % of the profiled time); the types that grew
between the summary before and that one are attributed to the line.
"""

from __future__ import annotations

import atexit
import functools
import linecache
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from heapscope import _core

__all__ = ["profile", "print_stats", "format_stats", "LineStats", "clear"]

F = TypeVar("F", bound=Callable[..., Any])

#: A line that grows memory by this much gets a type summary.
GROWTH_THRESHOLD = 1 << 20
#: Type summaries always taken for that many lines, then only within the budget.
FREE_SUMMARIES = 5
SUMMARY_SHARE = 0.10
#: Types listed under a line.
TYPES_PER_LINE = 3
MIB = float(1 << 20)


class LineStats:
    """One line of a decorated function: ``filename``, ``line``, ``occurrences``,
    ``increment`` and ``mem_after`` (bytes), ``text`` and ``grew`` (``[(type, bytes)]``,
    the types that grew most)."""

    __slots__ = ("filename", "line", "occurrences", "increment", "mem_after", "text", "grew")

    def __init__(self, filename: str, line: int, occurrences: int, increment: int, mem_after: int,
                 grew: List[Tuple[str, int]]) -> None:
        self.filename = filename
        self.line = line
        self.occurrences = occurrences
        self.increment = increment
        self.mem_after = mem_after
        self.text = linecache.getline(filename, line).rstrip("\n")
        self.grew = grew

    def __repr__(self) -> str:
        return f"LineStats({os.path.basename(self.filename)}:{self.line}, +{self.increment} B x{self.occurrences})"


def _page_size() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4096


class _Profiler:
    """The one recorder of the process and how its events reach it."""

    def __init__(self) -> None:
        self.recorder = _core.LineRecorder(_page_size(), growth_threshold=GROWTH_THRESHOLD)
        self.recorder.set_local_tracer(self.recorder.trace)
        self.recorder.set_on_growth(self._on_growth)
        self.functions: List[Any] = []  # the decorated functions' code objects, in order
        self.growth: Dict[Tuple[Any, int], Dict[str, int]] = {}
        self.baseline: Any = None
        self.summary_seconds = 0.0
        self.summaries = 0
        self.first_call: Optional[float] = None
        self.depth = 0
        self.saved_trace: Any = None
        self.tool: Optional[int] = None
        self.printed_at_exit = False
        self.use_monitoring = sys.version_info >= (3, 12)

    def watch(self, code: Any) -> None:
        self.recorder.watch(code)
        self.functions.append(code)
        if self.use_monitoring:
            monitoring = sys.monitoring  # type: ignore[attr-defined]
            if self.tool is None:
                for tool in (monitoring.PROFILER_ID, 3, 4):
                    if monitoring.get_tool(tool) is None:
                        monitoring.use_tool_id(tool, "heapscope")
                        self.tool = tool
                        break
                else:
                    raise RuntimeError("heapscope.profile: every sys.monitoring tool id it can use is taken")
                # A bound method is called with the fast calling convention (no tuple).
                monitoring.register_callback(self.tool, monitoring.events.LINE, self.recorder.line_event)
            monitoring.set_local_events(self.tool, code, monitoring.events.LINE)

    def enter(self) -> None:
        if self.first_call is None:
            self.first_call = time.perf_counter()
            self._take_baseline()
        if self.depth == 0 and not self.use_monitoring:
            self.saved_trace = sys.gettrace()
            self.recorder.install_c_tracer()
        self.depth += 1
        self.recorder.begin()

    def leave(self) -> None:
        self.recorder.end()
        self.depth -= 1
        if self.depth == 0 and not self.use_monitoring:
            sys.settrace(self.saved_trace)
            self.saved_trace = None

    def _take_baseline(self) -> None:
        began = time.perf_counter()
        self.baseline = _sizes_by_type(None)
        self.summary_seconds += time.perf_counter() - began

    def _on_growth(self, code: Any, line: int, grew: int) -> None:
        elapsed = time.perf_counter() - (self.first_call or 0.0)
        if self.summaries >= FREE_SUMMARIES and self.summary_seconds > SUMMARY_SHARE * elapsed:
            return
        began = time.perf_counter()
        frame = sys._getframe(1)
        while frame is not None and frame.f_code is not code:
            frame = frame.f_back  # type: ignore[assignment]
        now = _sizes_by_type(frame)
        before = self.baseline or {}
        self.baseline = now
        per_type = self.growth.setdefault((code, line), {})
        for name, size in now.items():
            change = size - before.get(name, 0)
            if change > 0:
                per_type[name] = per_type.get(name, 0) + change
        self.summaries += 1
        self.summary_seconds += time.perf_counter() - began

    def stats(self) -> List[LineStats]:
        rows = []
        for code, line, occurrences, increment, mem_after in self.recorder.stats():
            grew = sorted(self.growth.get((code, line), {}).items(), key=lambda kv: -kv[1])[:TYPES_PER_LINE]
            rows.append(LineStats(code.co_filename, line, occurrences, increment, mem_after, grew))
        rows.sort(key=lambda row: (row.filename, row.line))
        return rows


def _sizes_by_type(frame: Any) -> Dict[str, int]:
    """Bytes by type name in the heap, the objects ``frame``'s local variables hold
    included: a running function's locals are reached from no list of the collector,
    so they are held in a list (which the summary reaches, counting each object once)
    while the summary is taken."""
    from heapscope import summary

    held = _local_values(frame)
    sizes: Dict[str, int] = {}
    for name, _count, size in summary.summarize_heap(collect=False):
        sizes[name] = sizes.get(name, 0) + size
    del held
    return sizes


def _local_values(frame: Any) -> List[Any]:
    if frame is None:
        return []
    local_variables = frame.f_locals
    values = list(local_variables.values())
    if sys.version_info < (3, 13):
        # Before 3.13, f_locals is a copy kept on the frame, which would keep a deleted
        # local alive until the function returns (3.13's is a view).
        local_variables.clear()
    return values


_profiler: Optional[_Profiler] = None


def _the_profiler() -> _Profiler:
    global _profiler
    if _profiler is None:
        _profiler = _Profiler()
    return _profiler


def profile(func: F) -> F:
    """Records the memory of each line of ``func`` (see the module's text); the table
    is printed at exit, or by ``print_stats()``. Works on functions (and methods), not
    on generator or coroutine functions (``TypeError``); the lines of functions they
    call are not broken down, their memory counts in the calling line."""
    import inspect

    code = getattr(func, "__code__", None)
    if code is None:
        raise TypeError(f"heapscope.profile decorates functions, not {type(func).__name__}")
    if inspect.isgeneratorfunction(func) or inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
        # Their lines run after the call has returned, outside what the wrapper brackets.
        raise TypeError(
            f"heapscope.profile cannot follow {func.__qualname__}, a generator or coroutine function; "
            "decorate the function that consumes it instead"
        )
    profiler = _the_profiler()
    profiler.watch(code)
    if not profiler.printed_at_exit:
        profiler.printed_at_exit = True
        atexit.register(_print_at_exit)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        profiler.enter()
        try:
            return func(*args, **kwargs)
        finally:
            profiler.leave()

    wrapper.__heapscope_profiled__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def stats() -> List[LineStats]:
    """The recorded lines of every decorated function, by file and line."""
    return _the_profiler().stats() if _profiler is not None else []


def _mib(value: float) -> str:
    return f"{value / MIB:.3f} MiB"


def _human(value: int) -> str:
    return ("+" if value >= 0 else "") + _core.human_size(value)


def format_stats() -> str:
    """The tables of every decorated function, as ``print_stats`` prints them."""
    if _profiler is None:
        return ""
    by_line = {(row.filename, row.line): row for row in _profiler.stats()}
    out: List[str] = []
    header = f"{'Line #':>6}  {'Mem usage':>12}  {'Increment':>12}  {'Occurrences':>11}   Line Contents"
    for code in _profiler.functions:
        filename = code.co_filename
        source, first = _source_of(code)
        if not source:
            continue
        out.append(f"Filename: {filename}\n")
        out.append(header)
        out.append("=" * len(header))
        for offset, text in enumerate(source):
            number = first + offset
            row = by_line.get((filename, number))
            if row is None:
                out.append(f"{number:>6}  {'':>12}  {'':>12}  {'':>11}   {text}")
                continue
            out.append(
                f"{number:>6}  {_mib(row.mem_after):>12}  {_mib(row.increment):>12}  {row.occurrences:>11}   {text}"
            )
            if row.grew:
                grown = ", ".join(f"{name} {_human(size)}" for name, size in row.grew)
                out.append(f"{'':>6}  {'':>12}  {'':>12}  {'':>11}   ^ grew: {grown}")
        out.append("")
    return "\n".join(out)


def _source_of(code: Any) -> Tuple[List[str], int]:
    import inspect

    try:
        lines, start = inspect.getsourcelines(code)
    except (OSError, TypeError):
        return [], 0
    return [line.rstrip("\n") for line in lines], start


def print_stats(file: Any = None) -> None:
    """Prints the tables (memory_profiler's columns, plus the types that grew)."""
    text = format_stats()
    if text:
        print(text, file=file or sys.stdout)


def clear() -> None:
    """Forgets what was recorded (the decorated functions stay decorated)."""
    if _profiler is not None:
        _profiler.recorder.clear()
        _profiler.growth.clear()


#: Whether the tables are printed at exit (``python -m heapscope lines`` prints them
#: itself, after the script).
print_at_exit = True


def _print_at_exit() -> None:
    if print_at_exit:
        print_stats()
