"""``python -m heapscope memory [SCRIPT [ARGS...]]``: where the process memory goes.

Prints the resident set of the process split into Python objects (the total of a whole
heap summary), free space in pymalloc's arenas, memory mapped from files and the rest
(native allocations, the interpreter, C extensions), with tracemalloc's total beside
them, each with a line on what it means. With SCRIPT, runs it first (as ``__main__``,
with ARGS) and measures once it ends, its globals still alive; the exit code is then
the script's. Without, it measures a bare interpreter with heapscope loaded: the
baseline any program starts from.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, Optional

from heapscope import process
from heapscope.cli._common import plain, run_script


def add_parser(commands: Any) -> None:
    """Add the ``memory`` subcommand to ``commands``."""
    parser = commands.add_parser(
        "memory",
        help="print where the process memory goes (Python objects, allocator, files, native)",
        description=plain(__doc__.split("\n\n", 1)[1].strip()),
    )
    parser.add_argument("script", metavar="SCRIPT", nargs="?", help="a Python script to run first")
    parser.add_argument("args", metavar="ARGS", nargs=argparse.REMAINDER, help="arguments passed to the script")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Run the script if one is given, then print the breakdown; the script's exit code."""
    status = 0
    namespace: Optional[Dict[str, Any]] = None
    if args.script is not None:
        status, namespace = run_script(args.script, args.args)
        if namespace is None:
            return status
        sys.stdout.flush()
    breakdown = process.memory_breakdown()
    del namespace
    if args.script is not None:
        print(f"heapscope: memory of the process at the end of {args.script}")
    print(breakdown)
    return status
