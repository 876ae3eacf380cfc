"""IPython magics: ``%load_ext heapscope`` registers them.

* ``%asizeof [--detail N [--top K]] EXPR`` -- the deep size of EXPR in human units (with
  ``--detail``, the size tree ``asizeof.asized(obj, detail=N)``, each node with its K
  largest referents, default 15, and at most 500 nodes);
* ``%memtop [N]`` -- the N types (default 10) taking the most memory in the heap, and
  where the process memory goes (``process.memory_breakdown()``): Python objects,
  free space in pymalloc's arenas, memory mapped from files, native and the rest;
  ``%memtop --retained [N]``: the N objects retaining the most (``retained_top``);
* ``%retained EXPR`` -- what deleting EXPR would free (``retained_size``), with its
  deep size beside it;
* ``%%memdiff [--top N]`` -- runs the cell and shows the type-summary diff it caused
  (after ``gc.collect()`` before and after);
* ``%%memtimeline [--interval S] [-o PATH]`` -- runs the cell inside a
  ``heapscope.Timeline`` and shows its chart (``-o`` also saves it: ``.json``, ``.html``
  or ``.svg``).

Results render as HTML tables and trees in Jupyter and as text in a terminal. Unknown
options raise IPython's ``UsageError`` naming the option and the accepted ones.
"""

from __future__ import annotations

import re
import shlex
import sys
import time
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from heapscope import _html, _treeview
from heapscope._own import own_type

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["load_ipython_extension", "DeepSize", "SizeTree", "MemTop", "RetainedSize", "RetainedTop", "MemTimeline"]


def _usage_error(message: str) -> Exception:
    from IPython.core.error import UsageError

    return UsageError(message)


def _parse(
    magic: str, line: str, options: Dict[str, str], max_args: int, flags: Tuple[str, ...] = ()
) -> Tuple[Dict[str, int], List[str]]:
    """Split ``line`` into integer ``options`` (``{"--top": "N"}``), ``flags`` (1 when
    given) and the rest; the rest starts at the first word that is not an option or
    after ``--``."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    found: Dict[str, int] = {}
    rest_at = len(words)
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            rest_at = i + 1
            break
        if not word.startswith("-") or word.lstrip("-").isdigit():
            rest_at = i
            break
        name, _, value = word.partition("=")
        if name in flags:
            if value:
                raise _usage_error(f"%{magic}: option {name} takes no value")
            found[name] = 1
            i += 1
            continue
        if name not in options:
            accepted = ", ".join([*(f"{k} {v}" for k, v in options.items()), *flags]) or "none"
            raise _usage_error(f"%{magic}: unknown option {name!r} (accepted: {accepted})")
        if not value:
            i += 1
            if i >= len(words):
                raise _usage_error(f"%{magic}: option {name} needs a value {options[name]}")
            value = words[i]
        found[name] = _positive(magic, value, name)
        i += 1
    rest = words[rest_at:]
    if max_args >= 0 and len(rest) > max_args:
        raise _usage_error(f"%{magic}: unexpected argument {rest[max_args]!r}")
    return found, rest


def _positive(magic: str, text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise _usage_error(f"%{magic}: {what} must be a whole number of at least 1, got {text!r}")
    return value


_LEADING_OPTIONS = re.compile(r"^\s*(?:--(?:detail|top)(?:=\S+|\s+\S+)\s*)*(?:--(?:\s+|$))?")


def _expression(line: str) -> str:
    """The text after the options, as typed (quotes kept)."""
    return _LEADING_OPTIONS.sub("", line, count=1).strip()


def _evaluate(magic: str, expr: str, namespace: Dict[str, Any]) -> Any:
    """``expr`` evaluated in the user's namespace; a typo is a one-line ``UsageError``,
    while an error raised by the user's own code keeps its traceback."""
    try:
        return eval(expr, namespace)  # noqa: S307 - the user's expression
    except SyntaxError as exc:
        raise _usage_error(f"%{magic}: not an expression: {expr!r} ({exc.msg})") from None
    except NameError as exc:
        raise _usage_error(f"%{magic}: {exc}: define it first or check its spelling") from None


# The results below keep plain figures and text in __slots__ and are heapscope's own
# types (`_own`): held by `Out` or `_`, they neither keep the measured objects alive nor
# show in the next heap view.


@own_type
class DeepSize:
    """The answer of ``%asizeof``: an expression and its deep size in bytes."""

    __slots__ = ("expr", "size")

    def __init__(self, expr: str, size: int) -> None:
        self.expr = expr
        self.size = size

    def __repr__(self) -> str:
        return f"{self.expr}: {_html.pretty_size(self.size)} ({self.size:,} bytes)"

    def _repr_html_(self) -> str:
        return (
            f'<div class="heapscope-asizeof" style="font-family:monospace"><code>{_html._esc(self.expr)}</code>: '
            f"<b>{_html._esc(_html.pretty_size(self.size))}</b> ({self.size:,} bytes)</div>"
        )


class _Rendered:
    """An answer shown as the text (``str``, IPython's terminal) and HTML it was
    rendered to when it was made."""

    __slots__ = ("_text", "_html")
    _text: str
    _html: str

    def __str__(self) -> str:
        return self._text

    # Here, not in the subclasses: IPython's pretty printer takes the __repr__ of the
    # first class in the MRO that defines one over a _repr_pretty_ further up.
    def __repr__(self) -> str:
        return f"<heapscope {self._describe()}>"

    def _describe(self) -> str:
        raise NotImplementedError

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self._text)

    def _repr_html_(self) -> str:
        return self._html


@own_type
class SizeTree(_Rendered):
    """The answer of ``%asizeof --detail N [--top K]``: the expression, its deep and flat
    size in bytes, and its size tree rendered as text (``str``) and HTML, each node with
    its ``top`` largest referents (the tree itself is not kept: it may have a node per
    object reached)."""

    __slots__ = ("expr", "size", "flat", "top")

    def __init__(self, expr: str, tree: Any, top: int) -> None:
        self.expr = expr
        self.size: int = tree.size
        self.flat: int = tree.flat
        self.top = top
        self._text = _treeview.bounded_text(tree, top=top)
        self._html = _html.asized_html(tree, top=top)

    def _describe(self) -> str:
        return f"size tree of {self.expr}: {_html.pretty_size(self.size)} ({self.size:,} bytes)"


@own_type
class RetainedSize:
    """The answer of ``%retained``: an expression, what deleting it would free
    (``retained``, bytes) and its deep size (``deep``, ``asizeof``'s)."""

    __slots__ = ("expr", "retained", "deep")

    def __init__(self, expr: str, retained: int, deep: int) -> None:
        self.expr = expr
        self.retained = retained
        self.deep = deep

    def __repr__(self) -> str:
        return (
            f"{self.expr}: retains {_html.pretty_size(self.retained)} ({self.retained:,} bytes); "
            f"deep size {_html.pretty_size(self.deep)} ({self.deep:,} bytes)"
        )

    def _repr_html_(self) -> str:
        return (
            f'<div class="heapscope-retained" style="font-family:monospace"><code>{_html._esc(self.expr)}</code>: '
            f"retains <b>{_html._esc(_html.pretty_size(self.retained))}</b> ({self.retained:,} bytes); "
            f"deep size {_html._esc(_html.pretty_size(self.deep))} ({self.deep:,} bytes)</div>"
        )


@own_type
class RetainedTop(_Rendered):
    """The answer of ``%memtop --retained N``: the table of ``retained_top(N)`` as text
    (``str``) and HTML, without the objects it names (kept, they would stay alive)."""

    __slots__ = ("rows",)

    def __init__(self, table: Any) -> None:
        self.rows: int = len(table)
        self._text = str(table)
        self._html = table._repr_html_()

    def _describe(self) -> str:
        return f"retained top: {self.rows} objects"


@own_type
class MemTop:
    """The answer of ``%memtop``: ``summary``, the top types (a ``Summary``, which this
    object also behaves as: ``len``, iteration, indexing, ``kind``...), and
    ``breakdown``, the ``process.MemoryBreakdown`` taken from the same heap pass."""

    __slots__ = ("summary", "breakdown")

    def __init__(self, summary: Any, breakdown: Any) -> None:
        self.summary = summary
        self.breakdown = breakdown

    def __len__(self) -> int:
        return len(self.summary)

    def __iter__(self) -> Any:
        return iter(self.summary)

    def __getitem__(self, index: Any) -> Any:
        return self.summary[index]

    def __getattr__(self, name: str) -> Any:
        if name in ("summary", "breakdown"):  # not set yet (copy, unpickling)
            raise AttributeError(name)
        return getattr(self.summary, name)

    def __str__(self) -> str:
        return f"{self.summary}\n\n{self.breakdown}"

    def __repr__(self) -> str:
        return f"{self.summary!r}\n\n{self.breakdown}"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        return f"{self.summary._repr_html_()}<br>{self.breakdown._repr_html_()}"


class MemTimeline:
    """The answer of ``%%memtimeline``: ``timeline``, the cell's ``heapscope.Timeline``;
    shown as its chart in Jupyter and as its report in a terminal."""

    def __init__(self, timeline: Any) -> None:
        self.timeline = timeline

    def __repr__(self) -> str:
        return str(self.timeline.report())

    def _repr_html_(self) -> str:
        return str(self.timeline._repr_html_())


def _timeline_options(line: str) -> Tuple[float, str]:
    """``--interval S`` and ``-o PATH`` of ``%%memtimeline``."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    interval, output = 0.1, ""
    while words:
        word = words.pop(0)
        name, _, value = word.partition("=")
        if name not in ("--interval", "-o"):
            raise _usage_error(f"%%memtimeline: unknown option {name!r} (accepted: --interval S, -o PATH)")
        if not value:
            if not words:
                raise _usage_error(f"%%memtimeline: option {name} needs a value")
            value = words.pop(0)
        if name == "-o":
            output = value
            continue
        try:
            interval = float(value)
        except ValueError:
            raise _usage_error(f"%%memtimeline: --interval needs seconds, not {value!r}") from None
    if output and not output.lower().endswith((".json", ".html", ".htm", ".svg")):
        raise _usage_error(f"%%memtimeline: -o {output!r}: the name must end in .json, .html or .svg")
    return interval, output


def _top(summary_: Any, n: int, label: str) -> Any:
    from heapscope import _core

    rows = sorted((list(row) for row in summary_), key=lambda r: -abs(r[2]))[:n]
    return _core.Summary.from_rows(rows, kind=summary_.kind, label=label)


def _book_ahead(shell: Any, cell: str) -> None:
    """Makes before the first summary the records IPython keeps of a cell it runs, so
    that an empty cell's diff is empty.

    ``run_cell`` keeps the cell's source for tracebacks (a ``linecache`` entry: a
    tuple, a list and a str per line, plus its file name in the compiler's map) and its
    ``ExecutionResult`` as ``last_execution_result``. Cached here under the name
    ``run_cell`` gives it (from the same source and execution count), the entry is only
    replaced by an equal one; the previous cell's result is let go here, and the
    cell's own by ``_forget_result``, since the cell that runs the magic replaces it
    when it ends. Anything IPython does not offer here is left to ``run_cell``.
    """
    try:
        transformed = shell.transform_cell(cell)
        # Twice: the first caching of a name makes `linecache.cache`'s key, which every
        # later caching keeps, putting a new equal name string into the entry only. Cached
        # once, the key and the entry would share one string before the cell and hold two
        # after it (`str 1` in a complete census, which sees dict keys).
        for _ in range(2):
            shell.compile.cache(transformed, shell.execution_count, raw_code=cell)
    except Exception:
        pass
    _forget_result(shell)
    _let_output_drain()


def _let_output_drain() -> None:
    """Waits for the output of earlier cells to be sent, in a Jupyter kernel.

    ipykernel's ``sys.stdout`` and ``sys.stderr`` send what is printed from a thread of
    their own, ``flush_interval`` seconds (0.2) after the first write, through a timer
    of that thread's event loop; a flush sends at once but leaves the timer to expire.
    Expiring during the cell, the timer and what it holds (a ``TimerHandle``, a
    ``functools.partial``, a ``Context``...) would show as negative rows. Elsewhere
    (a terminal, a script) this returns at once.
    """
    interval = 0.0
    for stream in (sys.stdout, sys.stderr):
        wait = getattr(stream, "flush_interval", None)
        if isinstance(wait, (int, float)) and hasattr(stream, "pub_thread"):
            try:
                stream.flush()
            except Exception:
                pass
            interval = max(interval, float(wait))
    if interval > 0:
        # A little longer than the interval: the timer runs in the other thread.
        time.sleep(min(interval, 1.0) + 0.05)


def _forget_result(shell: Any) -> None:
    try:
        shell.last_execution_result = None
    except Exception:
        pass


def _magics_class() -> Any:
    from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

    @own_type
    @magics_class
    class HeapscopeMagics(Magics):
        shell: InteractiveShell  # IPython sets it before any magic runs

        @line_magic
        def asizeof(self, line: str) -> Any:
            """%asizeof [--detail N [--top K]] EXPR: deep size of EXPR (or its size tree)."""
            from heapscope import asizeof as _asizeof

            options, rest = _parse("asizeof", line, {"--detail": "N", "--top": "K"}, -1)
            expr = _expression(line)
            if not rest or not expr:
                raise _usage_error("%asizeof: give an expression, e.g. %asizeof my_list")
            if "--top" in options and "--detail" not in options:
                raise _usage_error("%asizeof: --top K chooses the referents shown per node of a tree: give --detail N too")
            obj = _evaluate("asizeof", expr, self.shell.user_ns)
            if "--detail" in options:
                tree = _asizeof.asized(obj, detail=options["--detail"])
                del obj
                return SizeTree(expr, tree, options.get("--top", _treeview.TOP))
            return DeepSize(expr, _asizeof.asizeof(obj))

        @line_magic
        def memtop(self, line: str) -> Any:
            """%memtop [--retained] [N]: the N types (default 10) taking the most memory, and
            where the process memory goes (Python objects, allocator, files, native);
            with --retained, the N objects retaining the most."""
            from heapscope import process, summary

            options, rest = _parse("memtop", line, {}, 1, flags=("--retained",))
            n = _positive("memtop", rest[0], "N") if rest else 10
            if "--retained" in options:
                from heapscope.retained import retained_top

                return RetainedTop(retained_top(n))
            census = summary.summarize_heap()
            top = _top(census, n, f"top {n} types")
            return MemTop(top, process.memory_breakdown(census=census))

        @line_magic
        def retained(self, line: str) -> Any:
            """%retained EXPR: what deleting EXPR would free, and its deep size."""
            from heapscope.asizeof import asizeof as deep_size
            from heapscope.retained import retained_size

            _parse("retained", line, {}, -1)
            expr = line.strip()
            if not expr:
                raise _usage_error("%retained: give an expression, e.g. %retained my_cache")
            obj = _evaluate("retained", expr, self.shell.user_ns)
            return RetainedSize(expr, retained_size(obj), deep_size(obj))

        @cell_magic
        def memdiff(self, line: str, cell: str) -> Any:
            """%%memdiff [--top N]: run the cell, show the type-summary diff it caused."""
            from heapscope import summary

            options, _ = _parse("memdiff", line, {"--top": "N"}, 0)
            _book_ahead(self.shell, cell)
            before = summary.summarize_heap(label="before")
            # IPython leaves run_cell unannotated.
            result = self.shell.run_cell(cell)  # type: ignore[no-untyped-call]
            failed = result.error_in_exec is not None or result.error_before_exec is not None
            del result
            _forget_result(self.shell)
            after = summary.summarize_heap(label="after")
            diff = before.diff(after)
            del before, after
            top = options.get("--top", 15)
            if failed:
                print("%%memdiff: the cell raised; the diff is up to the error")
            return _top(diff, top, f"memory change of the cell (top {top})")

        @cell_magic
        def memtimeline(self, line: str, cell: str) -> Any:
            """%%memtimeline [--interval S] [-o PATH]: run the cell, chart its memory over time."""
            from heapscope.timeline import Timeline

            interval, output = _timeline_options(line)
            try:
                timeline = Timeline(interval=interval)
            except ValueError as exc:
                raise _usage_error(f"%%memtimeline: {exc}") from None
            timeline.title = "%%memtimeline"
            with timeline:
                result = self.shell.run_cell(cell)  # type: ignore[no-untyped-call]  # IPython leaves it unannotated
            if result.error_in_exec is not None or result.error_before_exec is not None:
                print("%%memtimeline: the cell raised; the timeline is up to the error")
            del result
            if output.lower().endswith(".json"):
                timeline.save(output)
            elif output:
                timeline.plot(output)
            return MemTimeline(timeline)

    return HeapscopeMagics


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics with ``ipython`` (called by ``%load_ext heapscope``)."""
    ipython.register_magics(_magics_class())
