"""Output paths checked before any work: one line naming the option and the reason, never a traceback
after the analysis has run (every command that writes a file or a folder calls these first)."""

from __future__ import annotations

from pathlib import Path

from hipsense.errors import HipsenseError


def _why(e: OSError) -> str:
    return (e.strerror or str(e)).lower()


def check_output_file(path: str | Path | None, option: str) -> Path | None:
    """``path`` checked as a file to write, before any work: its folder exists and takes a new file,
    it is not a folder, and an existing file can be overwritten. One-line error naming the option."""
    if path is None:
        return None
    out = Path(path)
    if out.is_dir():
        raise HipsenseError(f"{option} {out}: is a folder, not a file")
    folder = out.parent
    if not folder.exists():
        raise HipsenseError(f"{option} {out}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise HipsenseError(f"{option} {out}: {folder} is a file, not a folder")
    try:
        if out.exists():
            with open(out, "ab"):  # opening to append changes nothing, but fails where writing would
                pass
        else:
            with open(out, "xb"):
                pass
            out.unlink()
    except OSError as e:
        raise HipsenseError(f"{option} {out}: cannot write here ({_why(e)})") from None
    return out


def check_output_folder(path: str | Path | None, option: str) -> Path | None:
    """``path`` checked as a new (or empty) folder to write, before any work: not a file, not a folder
    with something in it, and its nearest existing parent takes new entries."""
    if path is None:
        return None
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise HipsenseError(f"{option} {out}: is a file, not a folder; choose a new folder")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise HipsenseError(f"{option} {out}: {parent} is a file, not a folder")
    probe = parent / f".hipsense-write-check-{id(out)}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as e:
        raise HipsenseError(f"{option} {out}: cannot write in {parent} ({_why(e)})") from None
    return out


__all__ = ["check_output_file", "check_output_folder"]
