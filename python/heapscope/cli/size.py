"""``python -m heapscope size MODULE:EXPR``: print the size tree of an object.

Imports MODULE (the current folder is on the path), evaluates EXPR in its namespace
(``mymod:CACHE``, ``json:decoder``, ``os:dict(os.environ)``) and prints
``asizeof.asized(obj, detail=N)`` as an indented tree of deep sizes.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from heapscope import asizeof
from heapscope.cli import UsageError
from heapscope.cli._common import plain, positive_int


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "size", help="print the size tree of MODULE:EXPR", description=plain(__doc__.split("\n\n", 1)[1].strip())
    )
    parser.add_argument("target", metavar="MODULE:EXPR", help="a module and an expression evaluated in it")
    parser.add_argument("--detail", metavar="N", type=positive_int, default=1, help="tree depth (default 1)")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    module_name, sep, expr = args.target.partition(":")
    if not sep or not module_name or not expr.strip():
        raise UsageError(f"expected MODULE:EXPR, got {args.target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import module {module_name!r}: {exc}") from None
    try:
        obj = eval(expr, vars(module))  # noqa: S307 - the user's own expression
    except Exception as exc:  # noqa: BLE001 - any error of the user's expression
        raise UsageError(f"cannot evaluate {expr!r} in {module_name}: {type(exc).__name__}: {exc}") from None
    print(asizeof.asized(obj, detail=args.detail).format())
    return 0
