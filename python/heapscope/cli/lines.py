"""``python -m heapscope lines SCRIPT [ARGS...]``: memory line by line.

Runs the script with ``profile`` in its builtins (``heapscope.profile``), so that the
functions it decorates with a bare ``@profile``, as for memory_profiler, or with
``@heapscope.profile``, are recorded line by line; at the end prints, for each of them,
the memory after each line, its increment, how many times it ran and its text, and
under the lines that grew memory by 1 MiB or more, the types that grew most. The exit
code is the script's.
"""

from __future__ import annotations

import argparse
import builtins
from typing import Any

from heapscope.cli._common import plain, run_script


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "lines",
        help="run a script and print the memory of each line of its @profile functions",
        description=plain(__doc__.split("\n\n", 1)[1].strip()),
    )
    parser.add_argument("script", metavar="SCRIPT", help="the Python script to run")
    parser.add_argument("args", metavar="ARGS", nargs=argparse.REMAINDER, help="arguments passed to the script")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from heapscope import lines

    lines.print_at_exit = False
    had = hasattr(builtins, "profile")
    saved = getattr(builtins, "profile", None)
    builtins.profile = lines.profile  # type: ignore[attr-defined]
    try:
        status, namespace = run_script(args.script, args.args)
    finally:
        if had:
            builtins.profile = saved  # type: ignore[attr-defined]
        else:
            del builtins.profile  # type: ignore[attr-defined]
    del namespace
    text = lines.format_stats()
    print(text if text else "heapscope lines: no function decorated with @profile ran")
    return status
