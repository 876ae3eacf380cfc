"""``python -m heapscope diff A.json B.json``: compare two saved snapshots.

Prints the type-summary diff B minus A, the largest change either way first (see
``--sort``). The files are
summaries saved with ``Summary.save`` or ``python -m heapscope run --json``.
"""

from __future__ import annotations

import argparse
from typing import Any

from heapscope.cli._common import add_sort_argument, load_snapshot, plain, positive_int, print_diff


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "diff", help="diff two saved snapshots (B minus A)", description=plain(__doc__.split("\n\n", 1)[1].strip())
    )
    parser.add_argument("earlier", metavar="A.json", help="the earlier snapshot")
    parser.add_argument("later", metavar="B.json", help="the later snapshot")
    parser.add_argument("--top", metavar="N", type=positive_int, default=15, help="rows to print (default 15)")
    add_sort_argument(parser)
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    earlier = load_snapshot(args.earlier)
    later = load_snapshot(args.later)
    print_diff(earlier.diff(later), args.top, args.sort)
    return 0
