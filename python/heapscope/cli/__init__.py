"""The ``python -m heapscope`` command line: one module per subcommand.

``run SCRIPT [ARGS...]``, ``diff A.json B.json``, ``size MODULE:EXPR`` and
``memory [SCRIPT [ARGS...]]``, ``plot TIMELINE.json``, ``lines SCRIPT``; ``--version``. Bad arguments and unreadable files end
with exit code 2 and a one-line message on stderr; a closed output pipe (``| head``)
ends the command quietly with exit code 141, as a shell reports SIGPIPE.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, NoReturn, Optional

__all__ = ["main", "UsageError"]

USAGE_ERROR = 2
#: The exit code of a command whose output pipe was closed: a shell's for SIGPIPE.
PIPE_CLOSED = 141


class UsageError(Exception):
    """A bad argument or an unreadable file: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one line instead of argparse's usage block
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    from heapscope.cli import diff, lines, memory, plot, run, size

    from heapscope import __version__

    parser = _Parser(prog="python -m heapscope", description="Inspect the memory of Python programs.")
    parser.add_argument("--version", action="version", version=f"heapscope {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for module in (run, diff, size, memory, plot, lines):
        module.add_parser(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()
        return code
    except UsageError as exc:
        print(f"python -m heapscope {args.command}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:
        # The reader went away (`... | head`): nothing more to say, and nothing to say it
        # to. Standard output is pointed at /dev/null so that the interpreter's own flush
        # at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return PIPE_CLOSED
