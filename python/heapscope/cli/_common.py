"""Helpers shared by the subcommands."""

from __future__ import annotations

import os
from typing import Any

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


def print_diff(rows: Any, top: int) -> None:
    """Print the type-summary diff rows, largest size change first, ``top`` rows."""
    rows = [row for row in rows if row[1] or row[2]]
    if not rows:
        print("no change in the type summary")
        return
    summary.print_(rows, limit=top)
