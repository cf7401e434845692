"""Typed errors. Every error a user can cause names the file and what is wrong with it."""

from __future__ import annotations

from pathlib import Path


class HipsenseError(Exception):
    """Base class of all errors hipsense raises on purpose; the CLI prints these as one line."""


class InputFileError(HipsenseError):
    """A file given to hipsense cannot be used as it is.

    Parameters
    ----------
    path
        The file.
    problem
        What is wrong, in words a user can act on.
    offset
        Byte offset (binary files) or line number (text files) where the problem is, when known.
    """

    def __init__(
        self, path: str | Path, problem: str, *, offset: int | None = None, where: str = "byte offset"
    ):
        self.path = Path(path)
        self.problem = problem
        self.offset = offset
        at = f" at {where} {offset}" if offset is not None else ""
        super().__init__(f"{self.path}{at}: {problem}")


class SessionFileError(InputFileError):
    """A device session file is not readable (unknown magic or version, empty, no whole block)."""
