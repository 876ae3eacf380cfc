"""``python -m heapscope run SCRIPT [ARGS...]``: run a script, print what it left behind.

Takes a type summary of the whole heap (after a ``gc.collect()``) before the script
starts and after it ends (also when it raises or calls ``sys.exit``), and prints the
difference, the largest growth first. ``--json PATH`` saves the end snapshot to
PATH and the start snapshot next to it (``out.json`` → ``out.start.json``), for
``python -m heapscope diff``. The exit code is the script's.
"""

from __future__ import annotations

import argparse
import os
import builtins
import tokenize
import sys
import traceback
from typing import Any

from heapscope import summary
from heapscope.cli import UsageError
from heapscope.cli._common import positive_int, print_diff


def start_path(path: str) -> str:
    """Where ``--json PATH`` saves the start snapshot."""
    root, ext = os.path.splitext(path)
    return f"{root}.start{ext or '.json'}"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="run a script and print the type-summary diff between its start and end",
        description=__doc__.split("\n\n", 1)[1].strip(),
    )
    parser.add_argument("script", metavar="SCRIPT", help="the Python script to run")
    parser.add_argument("args", metavar="ARGS", nargs=argparse.REMAINDER, help="arguments passed to the script")
    parser.add_argument("--top", metavar="N", type=positive_int, default=15, help="rows to print (default 15)")
    parser.add_argument("--json", metavar="PATH", help="save the end snapshot to PATH, the start one to PATH.start.json")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    script = args.script
    if not os.path.isfile(script) or not os.access(script, os.R_OK):
        raise UsageError(f"cannot read script {script!r}")
    if args.json:
        folder = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(folder):
            raise UsageError(f"cannot write {args.json!r}: no such folder")

    try:
        with tokenize.open(script) as fh:
            source = fh.read()
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read script {script!r}: {exc}") from None
    try:
        code = compile(source, script, "exec")
    except (SyntaxError, ValueError):
        traceback.print_exc(limit=0)
        return 1
    # the script's globals stay alive until the end snapshot: they are what it left behind
    namespace = {"__name__": "__main__", "__file__": script, "__builtins__": builtins,
                 "__package__": None, "__doc__": None, "__spec__": None, "__loader__": None}

    saved_argv, saved_path0 = sys.argv[:], sys.path[0]
    sys.argv = [script, *args.args]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    status = 0
    start = summary.summarize_heap(label="start")
    try:
        exec(code, namespace)
    except SystemExit as exc:
        code = exc.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
    except BaseException:  # the script's own error: show it, still report memory
        traceback.print_exc()
        status = 1
    finally:
        sys.argv, sys.path[0] = saved_argv, saved_path0
    end = summary.summarize_heap(label="end")

    sys.stdout.flush()
    del namespace
    print(f"heapscope: type-summary diff of {script} (end minus start)")
    print_diff(start.diff(end), args.top)
    if args.json:
        try:
            start.save(start_path(args.json))
            end.save(args.json)
        except OSError as exc:
            raise UsageError(f"cannot write {args.json!r}: {exc.strerror or exc}") from None
        print(f"snapshots saved to {start_path(args.json)} and {args.json}")
    return status
