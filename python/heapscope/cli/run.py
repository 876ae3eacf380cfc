"""``python -m heapscope run SCRIPT [ARGS...]``: run a script, print what it left behind.

Takes a type summary of the whole heap (after a ``gc.collect()``) before the script
starts and after it ends (also when it raises or calls ``sys.exit``), and prints the
difference, the largest growth first. ``--json PATH`` saves the end snapshot to
PATH and the start snapshot next to it (``out.json`` → ``out.start.json``), for
``python -m heapscope diff``. ``--suspects`` also prints the leak suspects of the
heap as the script left it (see ``heapscope.leak_suspects``), its globals still
alive. With ``--timeline``, records the script's memory over time instead
(``--interval``, ``-o TIMELINE.json``, ``--plot CHART.html|.svg``). The exit code is
the script's.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, List

from heapscope import summary
from heapscope.cli import UsageError
from heapscope.cli._common import add_sort_argument, plain, positive_int, print_diff, run_script
from heapscope.cli._timeline import run_with_timeline


def start_path(path: str) -> str:
    """Where ``--json PATH`` saves the start snapshot."""
    root, ext = os.path.splitext(path)
    return f"{root}.start{ext or '.json'}"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="run a script and print the type-summary diff between its start and end",
        description=plain(__doc__.split("\n\n", 1)[1].strip()),
    )
    parser.add_argument("script", metavar="SCRIPT", help="the Python script to run")
    parser.add_argument("args", metavar="ARGS", nargs=argparse.REMAINDER, help="arguments passed to the script")
    parser.add_argument("--top", metavar="N", type=positive_int, default=15, help="rows to print (default 15)")
    add_sort_argument(parser)
    parser.add_argument("--json", metavar="PATH", help="save the end snapshot to PATH, the start one to PATH.start.json")
    parser.add_argument(
        "--suspects",
        action="store_true",
        help="also print the leak suspects (objects or types retaining 10%% of the heap or more) at the end",
    )
    parser.add_argument("--timeline", action="store_true", help="record memory over time instead of a diff")
    parser.add_argument("--interval", metavar="S", type=float, default=0.1, help="seconds between samples (0.1)")
    parser.add_argument(
        "--summary-share",
        metavar="F",
        type=float,
        help="with --timeline: the part of the run type summaries may take (0.05, at most 0.5)",
    )
    parser.add_argument("--plot", metavar="CHART", help="with --timeline: draw the chart (.html or .svg)")
    parser.add_argument("-o", "--output", metavar="PATH", help="with --timeline: where to save it (JSON)")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    script = args.script
    if not args.timeline and (args.plot or args.output or args.summary_share is not None):
        raise UsageError("--plot, -o and --summary-share go with --timeline")
    if args.timeline and args.suspects:
        raise UsageError("--suspects goes with the type-summary diff, not with --timeline: run the script twice")
    if args.timeline:
        return run_with_timeline(args)
    if not os.path.isfile(script) or not os.access(script, os.R_OK):
        raise UsageError(f"cannot read script {script!r}")
    if args.json:
        folder = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(folder):
            raise UsageError(f"cannot write {args.json!r}: no such folder")

    starts: List[Any] = []  # the start snapshot, taken once the script's argv is in place
    status, namespace = run_script(script, args.args, before=lambda: starts.append(summary.summarize_heap(label="start")))
    if namespace is None:
        return status
    end = summary.summarize_heap(label="end")
    start = starts[0]
    report = None
    if args.suspects:
        from heapscope.suspects import leak_suspects

        report = leak_suspects()

    sys.stdout.flush()
    del namespace
    print(f"heapscope: type-summary diff of {script} (end minus start)")
    print_diff(start.diff(end), args.top, args.sort)
    if args.json:
        try:
            start.save(start_path(args.json))
            end.save(args.json)
        except OSError as exc:
            raise UsageError(f"cannot write {args.json!r}: {exc.strerror or exc}") from None
        print(f"snapshots saved to {start_path(args.json)} and {args.json}")
    if report is not None:
        print()
        print(f"heapscope: {report}")
    return status
