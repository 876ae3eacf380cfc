"""``python -m heapscope run --timeline``: the script's memory over time.

Runs the script inside a :class:`heapscope.Timeline`, prints the peak, the phases the
script marked (``heapscope.timeline.mark("name")``) and what the timeline cost, saves
the timeline as JSON and, with ``--plot``, draws the chart.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, List, Optional

from heapscope.cli import UsageError
from heapscope.cli._common import run_script

CHART_EXTENSIONS = (".html", ".htm", ".svg")


def check_chart_path(path: str) -> None:
    """A ``UsageError`` unless ``path`` names a chart heapscope can write, in a folder
    that exists."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".png":
        raise UsageError(f"cannot write {path!r}: PNG is not supported; write .svg or .html instead")
    if ext not in CHART_EXTENSIONS:
        raise UsageError(f"cannot write a chart to {path!r}: the name must end in .html or .svg")
    check_folder(path)


def check_folder(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {path!r}: no such folder")


def default_output(script: str) -> str:
    """Where the timeline is saved without ``-o``: ``SCRIPT-timeline.json`` here."""
    return os.path.splitext(os.path.basename(script))[0] + "-timeline.json"


def write_chart(timeline: Any, path: str) -> None:
    try:
        timeline.plot(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path!r}: {exc.strerror or exc}") from None


def run_with_timeline(args: argparse.Namespace) -> int:
    from heapscope.timeline import SUMMARY_SHARE, Timeline

    script = args.script
    output = args.output or default_output(script)
    check_folder(output)
    if args.plot:
        check_chart_path(args.plot)
    share = SUMMARY_SHARE if args.summary_share is None else args.summary_share
    try:
        timeline = Timeline(interval=args.interval, share=share)
    except ValueError as exc:
        option = "--summary-share" if str(exc).startswith("share") else "--interval"
        raise UsageError(f"{option}: {exc}") from None
    timeline.title = f"python -m heapscope run --timeline {os.path.basename(script)}"
    started: List[Optional[Any]] = []
    try:
        status, namespace = run_script(script, args.args, before=lambda: started.append(timeline.start()))
    finally:
        timeline.stop()
    sys.stdout.flush()
    del namespace
    if not started:
        return status
    print(f"heapscope: memory over time of {script}")
    print(timeline.report())
    try:
        timeline.save(output)
    except OSError as exc:
        raise UsageError(f"cannot write {output!r}: {exc.strerror or exc}") from None
    print(f"timeline saved to {output}")
    if args.plot:
        write_chart(timeline, args.plot)
        print(f"chart written to {args.plot}")
    return status
