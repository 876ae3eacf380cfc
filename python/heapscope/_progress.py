"""Progress displays of long calls.

A call that may take long (``asizeof`` of a large structure, ``MProfiler.run``) opens
a display with ``display(label, progress)`` and passes it to the core, which calls it
with ``(done, total)`` (``total`` is ``None`` when unknown) at the points where it
checks for Ctrl-C: first two seconds after the start (the display's ``delay``), then at
most every quarter of a second. The display is a ``tqdm.auto`` bar when tqdm is
installed (imported at the first report, so that short calls never pay for it), else
one line on stderr rewritten in place; there is none when ``progress`` is false, or
when stderr is not a terminal and the code does not run in a notebook kernel.

A heap pass (``summarize_heap``, a tracker's summaries, ``muppy.get_objects``, the
retained-size views) walks the collector's lists, where no Python code may run: its
display, when it is a line on a terminal (stderr is file descriptor 2 and a terminal),
has a ``line`` (the text before the count), and the core writes that line itself, from
Rust, at every report of the call. Where there is no such line (a notebook, whose output
needs Python code), a heap pass reports only from its parts that can run Python code: for
the retained-size views, everything after the collector's lists are read (the heap graph
holds every object it numbers).

``HEAPSCOPE_PROGRESS_FORCE`` (private, for heapscope's own tests; read at import):
when set to ``plain``, the plain display is used whatever stderr is, with no delay.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import time
from typing import Any, Callable, Iterator, Optional, TypeVar

from heapscope._own import own_type

__all__ = ["display", "run", "close", "Display"]

T = TypeVar("T")

# Read once: the display is chosen at every sizing call, which must stay cheap.
_FORCED_PLAIN = os.environ.get("HEAPSCOPE_PROGRESS_FORCE") == "plain"

DELAY = 2.0


class Display:
    """A progress display called with ``(done, total)``; ``close()`` ends it."""

    delay = DELAY

    def __init__(self, label: str, unit: str) -> None:
        self.label = label
        self.unit = unit
        self.start = time.monotonic()
        # The text a heap pass writes itself before the count (see the module's
        # docstring); None where the display is not a line on file descriptor 2.
        self.line: Optional[str] = None

    def __call__(self, done: int, total: Optional[int] = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


@own_type
class _Plain(Display):
    """One line on stderr, rewritten with a carriage return, ended by a newline."""

    def __init__(self, label: str, unit: str) -> None:
        super().__init__(label, unit)
        self.shown = False

    def __call__(self, done: int, total: Optional[int] = None) -> None:
        of = "" if total is None else f" / {total:,}"
        elapsed = time.monotonic() - self.start
        sys.stderr.write(f"\rheapscope: {self.label} {done:,}{of} {self.unit}, {elapsed:.1f} s")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.shown = False


@own_type
class _Tqdm(Display):
    """A ``tqdm.auto`` bar, made at the first report; the plain line where tqdm cannot
    be imported."""

    def __init__(self, label: str, unit: str) -> None:
        super().__init__(label, unit)
        self.bar: Any = None
        self.plain: Optional[_Plain] = None

    def __call__(self, done: int, total: Optional[int] = None) -> None:
        if self.plain is not None:
            self.plain(done, total)
            return
        if self.bar is None:
            try:
                # Imported by name: tqdm is optional, and its types are not needed here.
                tqdm = importlib.import_module("tqdm.auto").tqdm
            except Exception:
                self.plain = _Plain(self.label, self.unit)
                self.plain.start = self.start
                self.plain(done, total)
                return
            self.bar = tqdm(desc=f"heapscope: {self.label}", unit=f" {self.unit}", unit_scale=True,
                            total=total, leave=False, file=sys.stderr)
            # The time before the first report belongs to the call too.
            self.bar.start_t = self.start
        if total is not None and self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.plain is not None:
            self.plain.close()
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _in_notebook() -> bool:
    """Whether the code runs in an IPython kernel (a notebook, qtconsole)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except Exception:
        return False


def _stderr_is_descriptor_2() -> bool:
    try:
        return bool(sys.stderr.fileno() == 2)
    except Exception:
        return False


def make(label: str, progress: bool = True, unit: str = "objects") -> Optional[Display]:
    """The display for a call, or ``None`` for none."""
    if not progress:
        return None
    if _FORCED_PLAIN:
        plain = _Plain(label, unit)
        plain.delay = 0.0
        plain.line = f"heapscope: {label}"
        return plain
    if sys.stderr is None:
        return None
    if _stderr_is_terminal():
        shown = _Tqdm(label, unit)
        if _stderr_is_descriptor_2():
            shown.line = f"heapscope: {label}"
        return shown
    if _in_notebook():
        return _Tqdm(label, unit)
    return None


def close(shown: Optional[Display]) -> None:
    """Ends ``shown``, the display of ``make(...)`` (``None``: nothing to end).

    Heap passes use ``make`` and ``close`` in a ``try``/``finally`` rather than
    ``display()``: the context manager and its generator would be alive during the
    pass, and counted by it, where a display is one of heapscope's own types."""
    if shown is not None:
        shown.close()


def run(label: str, progress: bool, call: Callable[[Optional[Display]], T], unit: str = "objects") -> T:
    """``call(display)`` with the display of ``make(...)``, closed when it returns or
    raises: the cheap form of ``display()`` for calls that are usually short."""
    shown = make(label, progress, unit)
    if shown is None:
        return call(None)
    try:
        return call(shown)
    finally:
        shown.close()


@contextlib.contextmanager
def display(label: str, progress: bool = True, unit: str = "objects") -> Iterator[Optional[Display]]:
    """``make(...)``, closed when the block ends (however it ends)."""
    shown = make(label, progress, unit)
    try:
        yield shown
    finally:
        if shown is not None:
            shown.close()
