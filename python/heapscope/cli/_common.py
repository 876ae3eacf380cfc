"""Helpers shared by the subcommands."""

from __future__ import annotations

import builtins
import os
import sys
import tokenize
import traceback
from typing import Any, Callable, Dict, List, Optional, Tuple

from heapscope import summary
from heapscope.cli import UsageError


def positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def load_snapshot(path: str) -> Any:
    """A saved summary, or ``UsageError`` naming the file and what is wrong."""
    if not os.path.isfile(path):
        raise UsageError(f"cannot read {path!r}: no such file")
    try:
        return summary.load(path)
    except (OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"cannot read {path!r}: {first}") from None


#: How ``--sort`` orders the rows of a diff: the largest change either way first
#: (``size``, ``count``), or the largest growth or shrink first.
DIFF_SORTS = ("size", "count", "growth", "shrink")


def add_sort_argument(parser: Any) -> None:
    """The ``--sort`` option of the subcommands that print a diff."""
    parser.add_argument(
        "--sort",
        choices=sorted(DIFF_SORTS),
        default="size",
        help="order of the rows: size or count (largest change either way, the default is size), "
        "growth or shrink (largest growth or shrink first)",
    )


def print_diff(rows: Any, top: int, sort: str = "size") -> None:
    """Print a type-summary diff (a ``Summary`` or ``[type, count, size]`` rows) as
    heapscope's own table, in binary units (KiB, MiB): ``top`` rows in the ``sort``
    order (see ``DIFF_SORTS``) and a line for the rest."""
    changed = [row for row in rows if row[1] or row[2]]
    if not changed:
        print("no change in the type summary")
        return
    diff = summary.Summary.from_rows(changed, kind="diff", label=getattr(rows, "label", None))
    print(diff.format(limit=top, sort=sort).replace("(format(limit=N) shows more)", "(--top N shows more)"))


def plain(text: str) -> str:
    """A docstring as help text: without reST's double backquotes."""
    return text.replace("``", "")


def run_script(
    script: str, argv: List[str], before: Optional[Callable[[], None]] = None
) -> Tuple[int, Optional[Dict[str, Any]]]:
    """Run ``script`` as ``__main__`` with ``argv``: ``(exit status, its globals)``, the
    globals kept alive for what is measured next (``None`` when the script does not
    compile, its error printed). ``before`` is called just before the script starts. The
    script's ``SystemExit`` gives the status; another error is printed and gives 1."""
    if not os.path.isfile(script) or not os.access(script, os.R_OK):
        raise UsageError(f"cannot read script {script!r}")
    try:
        with tokenize.open(script) as fh:
            source = fh.read()
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read script {script!r}: {exc}") from None
    try:
        code = compile(source, script, "exec")
    except (SyntaxError, ValueError):
        traceback.print_exc(limit=0)
        return 1, None
    namespace: Dict[str, Any] = {"__name__": "__main__", "__file__": script, "__builtins__": builtins,
                                 "__package__": None, "__doc__": None, "__spec__": None, "__loader__": None}
    saved_argv, saved_path0 = sys.argv[:], sys.path[0]
    sys.argv = [script, *argv]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    status = 0
    if before is not None:
        before()
    try:
        exec(code, namespace)
    except SystemExit as exc:
        exit_code = exc.code
        status = exit_code if isinstance(exit_code, int) else (0 if exit_code is None else 1)
        if exit_code is not None and not isinstance(exit_code, int):
            print(exit_code, file=sys.stderr)
    except BaseException:  # the script's own error: show it, still report memory
        traceback.print_exc()
        status = 1
    finally:
        sys.argv, sys.path[0] = saved_argv, saved_path0
    return status, namespace
