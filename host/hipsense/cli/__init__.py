"""The ``hipsense`` command line: one module per group of commands, each registering its own."""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.markup import escape

from hipsense import __version__
from hipsense.cli import care, clip, common, history, recordings, research, watch
from hipsense.cli.common import err_console
from hipsense.errors import HipsenseError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hipsense",
        description=(
            "Open pelvis-IMU running analysis: sync the clip's runs and turn them into stride asymmetry, "
            "impact loading and hip-drop trends. Not a medical device: flags inform, they never diagnose."
        ),
        epilog="Start with `hipsense demo`. `hipsense COMMAND --help` explains each command.",
    )
    parser.add_argument("--version", action="version", version=f"hipsense {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str, description: str):
        p = sub.add_parser(name, help=help_, description=description)
        p.set_defaults(func=func)
        p.add_argument(
            "-q",
            "--quiet",
            action="store_true",
            help="no progress bars or spinners (results and errors only)",
        )
        return p

    for group in (recordings, history, care, research, clip, watch):
        group.register(add)
    watch.extend_import(sub)  # import --fit WATCH.fit
    return parser


@contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """hipsense's own warnings (a torn tail, a corrupt block) as one ``warning: ...`` line on stderr,
    like its errors, instead of Python's two lines with a source location; others as Python shows them."""
    show = warnings.showwarning

    def one_line(message, category, filename, lineno, file=None, line=None):
        if category.__module__.startswith("hipsense."):
            err_console.print(f"[yellow]warning:[/] {escape(str(message))}", highlight=False)
        else:
            show(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.showwarning = one_line
        yield


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    common.QUIET = bool(getattr(args, "quiet", False))
    try:
        with _warnings_as_lines():
            return args.func(args)
    except HipsenseError as e:
        err_console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False)
        return 2
    except BrokenPipeError:  # `hipsense ... | head`: the reader left; nothing more to say
        return 0
    except OSError as e:  # a file the command had to write or read, refused by the system: one line
        where = f"{e.filename}: " if e.filename else ""
        err_console.print(f"[bold red]error:[/] {escape(where + (e.strerror or str(e)))}", highlight=False)
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130


__all__ = ["build_parser", "main"]
