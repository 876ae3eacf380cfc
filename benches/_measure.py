"""Timing and resident-memory helpers for the heapscope benchmarks.

Timing uses ``time.perf_counter_ns``.  Memory figures come from
``/proc/<pid>/status`` (VmRSS, VmHWM) on Linux and from psutil elsewhere.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time

# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------


class Timing:
    """Result of :func:`time_best`: every run's time and the last result."""

    __slots__ = ("times_ns", "result")

    def __init__(self, times_ns, result):
        self.times_ns = times_ns
        self.result = result

    @property
    def best_ns(self) -> int:
        return min(self.times_ns)

    def as_dict(self) -> dict:
        return {"best_ns": self.best_ns, "times_ns": list(self.times_ns)}


def time_best(fn, *args, repeat: int = 1, collect: bool = True,
              disable_gc: bool = False) -> Timing:
    """Call ``fn(*args)`` ``repeat`` times and record each call's wall time.

    ``collect`` runs ``gc.collect()`` before each call (outside the timed
    region) so that leftovers of the previous call are not collected on this
    call's clock.  ``disable_gc`` turns the cyclic collector off during the
    timed call itself.
    """
    times = []
    result = None
    for _ in range(max(1, repeat)):
        if collect:
            gc.collect()
        was_enabled = gc.isenabled()
        if disable_gc:
            gc.disable()
        try:
            t0 = time.perf_counter_ns()
            result = fn(*args)
            t1 = time.perf_counter_ns()
        finally:
            if disable_gc and was_enabled:
                gc.enable()
        times.append(t1 - t0)
    return Timing(times, result)


# --------------------------------------------------------------------------
# resident memory
# --------------------------------------------------------------------------

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def proc_status(pid="self") -> dict:
    """The ``Vm*`` lines of ``/proc/<pid>/status`` in bytes, or {} if absent."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Vm"):
                    key, _, rest = line.partition(b":")
                    parts = rest.split()
                    if len(parts) == 2 and parts[1] == b"kB":
                        out[key.decode()] = int(parts[0]) * 1024
    except OSError:
        return {}
    return out


def rss_bytes(pid=None) -> int | None:
    """Current resident set size of ``pid`` (default: this process)."""
    target = "self" if pid is None else str(pid)
    try:
        with open(f"/proc/{target}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    try:
        return psutil.Process(pid if pid is not None else os.getpid()).memory_info().rss
    except Exception:
        return None


def peak_rss_bytes() -> int | None:
    """This process's resident high-water mark (VmHWM), or None if unknown."""
    hwm = proc_status().get("VmHWM")
    if hwm is not None:
        return hwm
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0).

    Writing ``5`` to ``/proc/self/clear_refs`` resets the peak resident set
    size.  Returns False when that is not possible (not Linux, or not
    writable), or when VmHWM did not come down to about the current RSS.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    st = proc_status()
    hwm, rss = st.get("VmHWM"), st.get("VmRSS")
    if hwm is None or rss is None:
        return False
    return hwm - rss <= 1 << 20


def trim_malloc() -> None:
    """Ask glibc to give free heap memory back to the OS (best effort).

    Done before taking an RSS baseline so that memory freed while building a
    workload is not silently reused by the measured call, which would hide
    part of its allocation.
    """
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        trim = getattr(libc, "malloc_trim", None)
        if trim is not None:
            trim(0)
    except Exception:
        pass


class RssSampler:
    """Sample a process's RSS every ``interval`` seconds in a thread.

    Meant to watch *another* process (``pid``): a sampler thread inside the
    measured process cannot run while an extension holds the GIL for the
    whole call, so it would miss the peak.
    """

    def __init__(self, pid=None, interval: float = 0.001):
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            r = rss_bytes(self.pid)
            if r is not None:
                self.samples += 1
                if r > self.peak:
                    self.peak = r
            time.sleep(self.interval)

    def start(self) -> "RssSampler":
        self._thread.start()
        return self

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        r = rss_bytes(self.pid)
        if r is not None and r > self.peak:
            self.peak = r
        return self.peak


# --------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------


def fmt_int(v) -> str:
    return "-" if v is None else f"{v:,}"


def fmt_ms(ns) -> str:
    return "-" if ns is None else f"{ns / 1e6:,.1f}"


def fmt_float(v, digits: int = 1, suffix: str = "") -> str:
    return "-" if v is None else f"{v:,.{digits}f}{suffix}"


def fmt_mib(b) -> str:
    return "-" if b is None else f"{b / (1 << 20):,.1f} MiB"


def render_table(headers, rows, align=None) -> str:
    """Plain-text table; ``align`` is a string of 'l'/'r' per column."""
    cols = len(headers)
    align = align or "l" + "r" * (cols - 1)
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(str(cell)))

    def line(cells):
        parts = []
        for i, cell in enumerate(cells):
            s = str(cell)
            parts.append(s.ljust(widths[i]) if align[i] == "l" else s.rjust(widths[i]))
        return "  ".join(parts).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in rows)
    return "\n".join(out)
