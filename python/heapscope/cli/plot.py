"""``python -m heapscope plot TIMELINE.json [-o OUT.html|OUT.svg]``: draw a saved timeline.

Reads a timeline saved by ``run --timeline`` or ``Timeline.save`` and writes its chart:
an interactive, self-contained HTML page (the default, ``TIMELINE.html``) or an SVG
image, chosen by the extension of ``-o``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from heapscope.cli import UsageError
from heapscope.cli._common import plain
from heapscope.cli._timeline import check_chart_path, write_chart


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "plot",
        help="draw the chart of a saved memory timeline (HTML or SVG)",
        description=plain(__doc__.split("\n\n", 1)[1].strip()),
    )
    parser.add_argument("timeline", metavar="TIMELINE", help="a timeline saved as JSON")
    parser.add_argument("-o", "--output", metavar="OUT", help="the chart to write: .html (default) or .svg")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from heapscope.timeline import TimelineError, load_timeline

    output = args.output or os.path.splitext(args.timeline)[0] + ".html"
    check_chart_path(output)
    try:
        timeline = load_timeline(args.timeline)
    except OSError as exc:
        raise UsageError(f"cannot read {args.timeline!r}: {exc.strerror or exc}") from None
    except TimelineError as exc:
        raise UsageError(str(exc)) from None
    write_chart(timeline, output)
    print(f"chart written to {output}")
    return 0
