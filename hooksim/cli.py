"""The ``hooksim`` command line. Each command group lives in :mod:`hooksim.commands`.

Errors are one clear line on stderr (a traceback only with ``--debug``). Exit codes: 0 ok,
1 a negative answer (e.g. an invalid signature), 2 bad usage, bad config or unreadable input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from hooksim.commands import command_modules
from hooksim.errors import UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its one-line shape
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command``, only the parsers of the module that registers it."""
    parser = _Parser(
        prog="hooksim",
        description="A local stand-in for Toast's webhooks: a dispatcher that plays the platform, "
        "a receiver to point it at, and signing tools.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for module in command_modules(command):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(next((a for a in argv if not a.startswith("-")), None))
    args = parser.parse_args(argv)
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()   # a closed pipe shows here, inside the handler below
        return code
    except BrokenPipeError:
        # `hooksim ... | head` stopped reading: stop quietly, as other command-line tools do.
        # Python would flush stdout again at exit and complain: point it at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141   # 128 + SIGPIPE, what a shell reports for a tool killed by the pipe
    except UsageError as exc:
        if args.debug:
            raise
        print(f"hooksim: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
