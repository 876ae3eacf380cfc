"""Memory of the whole process, as the operating system sees it: a drop-in replacement
for ``pympler.process``.

``ProcessMemoryInfo()`` reads the current figures; ``update()`` reads them again::

    >>> from heapscope.process import ProcessMemoryInfo
    >>> info = ProcessMemoryInfo()
    >>> info.rss, info.vsz                         # doctest: +SKIP
    (41402368, 277532672)

On Linux, Rust reads ``/proc/self/stat`` (``vsz``, ``rss``, major ``pagefaults``) and
``/proc/self/status`` (``data_segment``, ``code_segment``, ``shared_segment``,
``stack_segment``, and the ``Vm*`` lines as ``os_specific``), all in bytes.

Elsewhere (or when ``/proc`` cannot be read) the fallback is ``resource.getrusage``: it
gives the *peak* resident size as ``rss`` and nothing else (``vsz`` and the segments are
0). Without ``resource`` (Windows), ``available`` is ``False`` and every figure is 0.
pympler asks ``ps`` in a subprocess in that case; heapscope does not start processes.

``memory_breakdown()`` (not in pympler) splits the resident set into Python objects,
free space in pymalloc's arenas, memory mapped from files and the rest (native
allocations, the interpreter, C extensions), with tracemalloc's total beside them::

    >>> from heapscope.process import memory_breakdown
    >>> print(memory_breakdown())                  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, TextIO, Tuple

from heapscope import _core
from heapscope._html import pretty_size
from heapscope._own import own_type

__all__ = [
    "MemoryBreakdown",
    "MemoryPart",
    "ProcessMemoryInfo",
    "ThreadInfo",
    "get_current_thread_id",
    "get_current_threads",
    "is_available",
    "memory_breakdown",
]

try:
    PAGESIZE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, TypeError, AttributeError, OSError):
    PAGESIZE = 4096

try:
    from resource import RUSAGE_SELF, getrusage

    def _resource_rss() -> int:
        peak = getrusage(RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere

except ImportError:  # pragma: no cover - Windows
    pass


class ProcessMemoryInfo:
    """Process-level memory figures in bytes: virtual size ``vsz``, resident set size
    ``rss``, major ``pagefaults`` and, on Linux, the ``data_segment``, ``code_segment``,
    ``shared_segment`` (shared libraries' code) and ``stack_segment`` sizes.
    ``os_specific`` lists ``(description, human-readable size)`` pairs from
    ``/proc/self/status``. ``available`` says whether the figures are real."""

    pagesize = PAGESIZE

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.rss = 0
        self.vsz = 0
        self.pagefaults = 0
        self.os_specific: List[Tuple[str, str]] = []
        self.data_segment = 0
        self.code_segment = 0
        self.shared_segment = 0
        self.stack_segment = 0
        self.available = self.update()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} vsz={self.vsz} rss={self.rss}>"

    def update(self) -> bool:
        """Reads the figures again; ``True`` when they are real on this platform."""
        try:
            figures = _core.proc_memory(self.pagesize)
        except OSError:
            return self._update_fallback()
        for name in ("vsz", "rss", "pagefaults", "data_segment", "code_segment", "shared_segment", "stack_segment"):
            setattr(self, name, figures[name])
        # pympler appends to this list on every update; heapscope replaces it.
        self.os_specific = [(label, pretty_size(size)) for label, size in figures["os_specific"]]
        return True

    def _update_fallback(self) -> bool:
        if "_resource_rss" not in globals():
            return False
        self.rss = _resource_rss()
        return True

    def __sub__(self, other: "ProcessMemoryInfo") -> Iterable[Tuple[str, int]]:
        return [
            ("Resident set size (delta)", self.rss - other.rss),
            ("Virtual size (delta)", self.vsz - other.vsz),
        ]


class _ProcessMemoryInfoProc(ProcessMemoryInfo):
    """pympler's name for the ``/proc`` reader: the same figures as
    ``ProcessMemoryInfo`` (which reads ``/proc/self/stat`` and ``status`` on Linux)."""


class _ProcessMemoryInfoPS(ProcessMemoryInfo):
    """pympler's ``ps`` reader: ``rss`` and ``vsz`` from ``ps -o rss=,vsz=`` in a
    subprocess, for comparison with ``/proc``. Only this class starts a process, and only
    when it is created or updated; ``available`` is ``False`` without a working ``ps``."""

    def update(self) -> bool:
        """Asks ``ps`` again; ``True`` when it answered."""
        import subprocess

        try:
            answer = subprocess.run(
                ["ps", "-o", "rss=,vsz=", "-p", str(self.pid)],
                capture_output=True, text=True, timeout=10, check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return False
        fields = answer.stdout.split()
        if answer.returncode != 0 or len(fields) < 2:
            return False
        try:
            self.rss, self.vsz = (int(fields[-2]) * 1024, int(fields[-1]) * 1024)
        except ValueError:
            return False
        return True


def is_available() -> bool:
    """Whether process memory figures can be read on this platform."""
    return ProcessMemoryInfo().available  # read once (pympler reads twice)


class ThreadInfo:
    """A thread's ``ident``, ``name`` and ``daemon`` flag."""

    def __init__(self, thread: threading.Thread) -> None:
        self.ident = thread.ident
        self.name = thread.name
        self.daemon = thread.daemon


def get_current_threads() -> Iterable[ThreadInfo]:
    """A ``ThreadInfo`` per live thread."""
    return (ThreadInfo(thread) for thread in threading.enumerate())


def get_current_thread_id() -> int:
    """The identifier of the calling thread."""
    return threading.get_ident()


# --- where the resident memory goes ------------------------------------------------------

#: What each part means and what to do about it, one line each.
_MEANINGS = {
    "python_objects": (
        "objects the garbage collector reaches, sized as summarize_heap() sizes them (with the buffers "
        "their __sizeof__ reports, such as numpy arrays' data); %memtop or summary.print_() names the "
        "types, heapscope.why(obj) says what keeps one alive"
    ),
    "pymalloc_free": (
        "free space in pymalloc's arenas: memory Python keeps for future small objects (512 bytes or "
        "less); an arena is returned only when all its blocks are free, so many long-lived small "
        "objects among freed ones (fragmentation) keep it high; new objects reuse it"
    ),
    "file_backed": (
        "resident pages that map files: the interpreter's and extensions' code, shared libraries, "
        "mmap'ed files and shared memory; the system can drop clean pages when memory is short, so "
        "this matters less than the rest"
    ),
    "remainder": (
        "the rest: native allocations (C extensions' buffers that __sizeof__ does not report, "
        "caches, thread stacks), the interpreter's own data, and memory malloc keeps after it is "
        "freed; a native profiler (memray --native, heaptrack) says who allocated it"
    ),
    "tracemalloc": (
        "memory allocated through Python's allocators since tracemalloc.start(), as "
        "tracemalloc.get_traced_memory() gives it; it overlaps the parts above and is not added; "
        "tracemalloc.take_snapshot().statistics('lineno') says which lines allocated it"
    ),
}

_LABELS = {
    "python_objects": "Python objects",
    "pymalloc_free": "free in pymalloc arenas",
    "file_backed": "mapped from files",
    "remainder": "native and interpreter",
    "tracemalloc": "traced by tracemalloc",
}

#: The parts that add up to the resident set, in the order shown; tracemalloc comes last.
_ADDED = ("python_objects", "pymalloc_free", "file_backed", "remainder")


class MemoryPart(NamedTuple):
    """One part of a ``MemoryBreakdown``: ``key`` (the field name), ``label``, ``size`` in
    bytes (``None`` when it could not be measured here), ``added`` (whether it is one of
    the parts that add up to the RSS; tracemalloc's total overlaps them and is not),
    ``meaning`` (one line: what it is and what to do) and ``note`` (how it was measured,
    or why it is unknown; ``""`` when there is nothing to add)."""

    key: str
    label: str
    size: Optional[int]
    added: bool
    meaning: str
    note: str


@own_type
@dataclass(frozen=True)
class MemoryBreakdown:
    """Where the resident memory of the process goes, in bytes; a figure is ``None`` when
    it cannot be measured on this system (its note says why), never 0 in its place.

    ``python_objects + pymalloc_free + file_backed + remainder`` is ``rss``: the
    remainder is what the other parts leave (native allocations, the interpreter, C
    extensions), never negative; when the other parts add up to more than the RSS,
    ``overlap`` says by how much and the remainder is 0. ``tracemalloc`` (the traced
    total, ``None`` when tracemalloc is not running) overlaps the other parts and is
    shown beside them. ``parts()`` (or iterating) gives each part with its meaning and
    note; ``str()`` and ``print_()`` give a table, ``_repr_html_()`` the same in HTML."""

    rss: Optional[int]
    python_objects: int
    pymalloc_free: Optional[int]
    file_backed: Optional[int]
    remainder: Optional[int]
    tracemalloc: Optional[int]
    overlap: int = 0
    source: str = ""
    notes: Dict[str, str] = field(default_factory=dict)

    def parts(self) -> List[MemoryPart]:
        """The parts that add up to the RSS, in order, then tracemalloc's total."""
        return [
            MemoryPart(key, _LABELS[key], getattr(self, key), key in _ADDED, _MEANINGS[key], self.notes.get(key, ""))
            for key in (*_ADDED, "tracemalloc")
        ]

    def __iter__(self) -> Iterator[MemoryPart]:
        return iter(self.parts())

    @property
    def total(self) -> int:
        """The sum of the measured parts that add up to the RSS."""
        return sum(part.size or 0 for part in self.parts() if part.added)

    def _size_text(self, part: MemoryPart) -> Tuple[str, str]:
        if part.size is None:
            return ("not running" if part.key == "tracemalloc" else "unknown"), ""
        share = f"{100 * part.size / self.rss:5.1f} %" if self.rss else ""
        return pretty_size(part.size), share

    def __str__(self) -> str:
        rss = pretty_size(self.rss) if self.rss is not None else "unknown"
        where = f" (from {self.source})" if self.source else ""
        lines = [f"process memory: resident set {rss}{where}"]
        for part in self.parts():
            size, share = self._size_text(part)
            if not part.added:
                share = "not added"
            lines.append(f"  {part.label:<24} {size:>11}  {share:>9}")
            lines.append(f"      {part.meaning}")
            if part.note:
                lines.append(f"      ({part.note})")
        if "rss" in self.notes:
            lines.append(f"  ({self.notes['rss']})")
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))  # IPython's terminal shows the table, not the dataclass fields

    def print_(self, file: Optional[TextIO] = None) -> None:
        """Print the table (to ``file``, default ``sys.stdout``)."""
        print(self, file=file)

    def _repr_html_(self) -> str:
        from heapscope._html import CAPTION, MUTED, NAME_CELL, NUMBER_CELL, _esc

        rss = pretty_size(self.rss) if self.rss is not None else "unknown"
        cell = NUMBER_CELL
        out = [
            '<table class="heapscope-breakdown" style="font-family:monospace;font-size:13px;border-collapse:collapse">',
            f"<caption {CAPTION}><b>process memory</b>: resident set {_esc(rss)}"
            + (f" (from {_esc(self.source)})" if self.source else "")
            + "</caption>",
        ]
        for part in self.parts():
            size, share = self._size_text(part)
            explanation = _esc(part.meaning) + (f"<br><i>{_esc(part.note)}</i>" if part.note else "")
            out.append(
                f"<tr><td {NAME_CELL}>{_esc(part.label)}</td><td {cell}>{_esc(size)}</td>"
                f"<td {cell}>{_esc(share if part.added else 'not added')}</td>"
                f'<td style="padding:1px 8px;text-align:left;color:{MUTED};font-size:12px">{explanation}</td></tr>'
            )
        if "rss" in self.notes:
            out.append(
                f'<tr><td colspan="4" style="padding:1px 8px;text-align:left;color:{MUTED}">'
                f'<i>{_esc(self.notes["rss"])}</i></td></tr>'
            )
        out.append("</table>")
        return "".join(out)


def _top_types(census: Any, n: int = 3) -> str:
    rows = sorted((tuple(row) for row in census), key=lambda r: -r[2])[:n]
    return ", ".join(f"{name} {pretty_size(size)} ({count:,})" for name, count, size in rows if size > 0)


def _pymalloc_free(notes: Dict[str, str]) -> Optional[int]:
    """Free bytes in pymalloc's arenas, or ``None`` with the reason in ``notes``."""
    import tracemalloc

    try:
        stats = _core.pymalloc_stats()
    except (OSError, ValueError) as exc:
        allocator = f" (PYTHONMALLOC={os.environ['PYTHONMALLOC']})" if os.environ.get("PYTHONMALLOC") else ""
        notes["pymalloc_free"] = f"unknown: {exc}{allocator}; it is counted in the rest"
        return None
    if stats is None:
        if tracemalloc.is_tracing():
            why = "while tracemalloc is running, CPython gives no pymalloc statistics (but with debug hooks, from 3.13 on)"
        elif os.environ.get("PYTHONMALLOC"):
            why = f"pymalloc is not the object allocator (PYTHONMALLOC={os.environ['PYTHONMALLOC']})"
        else:
            why = "this interpreter's object allocator is not pymalloc"
        notes["pymalloc_free"] = f"unknown: {why}; it is counted in the rest"
        return None
    arena_bytes, allocated, free_blocks, empty_pools = stats
    details = [f"{pretty_size(arena_bytes)} of arenas, {pretty_size(allocated)} in use"]
    if free_blocks is not None:
        details.append(f"{pretty_size(free_blocks)} in free blocks of partly used pools")
    if empty_pools is not None:
        details.append(f"{pretty_size(empty_pools)} in empty pools (some never touched, so not resident)")
    notes["pymalloc_free"] = "; ".join(details)
    return arena_bytes - allocated


def _resident(notes: Dict[str, str]) -> Tuple[Optional[int], Optional[int], str]:
    """``(rss, file_backed, source)``; unknown figures are ``None`` with a note."""
    try:
        rss, file_backed, source = _core.resident_memory()
    except OSError as exc:
        try:
            # psutil is optional, and typed only where types-psutil is installed.
            import psutil  # type: ignore[import-not-found, import-untyped, unused-ignore]

            rss, file_backed, source = psutil.Process().memory_info().rss, None, "psutil"
        except Exception:  # noqa: BLE001 - psutil missing or unable to answer: RSS unknown
            notes["rss"] = f"the resident set size is unknown here ({exc}); install psutil to read it"
            notes["file_backed"] = "unknown: only Linux's /proc says which resident pages map files"
            return None, None, ""
        notes["file_backed"] = "unknown: only Linux's /proc says which resident pages map files"
        return rss, None, source
    if file_backed is None:
        notes["file_backed"] = f"unknown: {source} does not split the resident set (Linux 4.5 or later does)"
    return rss, file_backed, source


def memory_breakdown(census: Optional[Any] = None) -> MemoryBreakdown:
    """Where the resident memory of this process goes: a ``MemoryBreakdown`` of the
    Python objects (the total of ``summary.summarize_heap()``), the free space in
    pymalloc's arenas, memory mapped from files and the rest (native allocations, the
    interpreter, C extensions), with tracemalloc's traced total beside them when it is
    running.

    ``census`` is a ``summarize_heap()`` summary just taken, to save a second pass over
    the heap (``%memtop`` passes its own). On Linux the resident set and its file-backed
    part come from ``/proc/self/smaps_rollup`` (else ``/proc/self/status``); elsewhere the
    RSS comes from psutil when it is installed and the file-backed part is unknown.
    pymalloc's statistics are those of ``sys._debugmallocstats()``, read without printing
    them; they are unknown when pymalloc is not the object allocator
    (``PYTHONMALLOC=malloc``) and while tracemalloc is running."""
    import tracemalloc

    from heapscope import summary

    notes: Dict[str, str] = {}
    if census is None:
        census = summary.summarize_heap(label="memory breakdown")
    python_objects = int(census.total_size)
    top = _top_types(census)
    if top:
        notes["python_objects"] = f"largest: {top}"
    del census

    traced: Optional[int] = None
    if tracemalloc.is_tracing():
        traced, peak = tracemalloc.get_traced_memory()
        notes["tracemalloc"] = f"peak {pretty_size(peak)} since it started"
    else:
        notes["tracemalloc"] = "tracemalloc.start() (or PYTHONTRACEMALLOC=1) to trace where memory is allocated"

    pymalloc_free = _pymalloc_free(notes)
    rss, file_backed, source = _resident(notes)  # last: everything above is resident by now

    remainder: Optional[int] = None
    overlap = 0
    if rss is None:
        notes["remainder"] = "unknown without the resident set size"
    else:
        counted = python_objects + (pymalloc_free or 0) + (file_backed or 0)
        remainder = max(rss - counted, 0)
        overlap = max(counted - rss, 0)
        unknown = [_LABELS[key] for key, value in (("pymalloc_free", pymalloc_free), ("file_backed", file_backed))
                   if value is None]
        if overlap:
            notes["remainder"] = (
                f"0: the parts above add up to {pretty_size(overlap)} more than the resident set; some "
                "counted memory is not resident (buffers allocated but never written, such as numpy.zeros "
                "arrays, or pages swapped out)"
            )
        elif unknown:
            notes["remainder"] = "includes what could not be measured: " + ", ".join(unknown)
    return MemoryBreakdown(
        rss=rss,
        python_objects=python_objects,
        pymalloc_free=pymalloc_free,
        file_backed=file_backed,
        remainder=remainder,
        tracemalloc=traced,
        overlap=overlap,
        source=source,
        notes=notes,
    )
