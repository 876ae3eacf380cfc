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
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Iterable, List, Tuple

from heapscope import _core
from heapscope._html import pretty_size

__all__ = ["ProcessMemoryInfo", "ThreadInfo", "get_current_thread_id", "get_current_threads", "is_available"]

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
