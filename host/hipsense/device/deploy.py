"""Copy the firmware to a board with mpremote (``hipsense device deploy [--port PORT]``).

mpremote is MicroPython's own tool (``pip install mpremote``); it is not a dependency of hipsense.
One mpremote call copies every ``firmware/*.py`` to the board's root (``mpremote connect PORT fs cp
FILE... :``) so the board is reset once.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from hipsense.errors import HipsenseError

FIRMWARE_DIR = Path(__file__).resolve().parents[3] / "firmware"


class DeployError(HipsenseError):
    """mpremote is missing, no board answered, or the copy failed."""


def firmware_files(firmware_dir: Path = FIRMWARE_DIR) -> list[Path]:
    """The firmware modules to copy (``*.py`` in ``firmware_dir``, sorted)."""
    files = sorted(p for p in Path(firmware_dir).glob("*.py") if p.is_file())
    if not files:
        raise DeployError(f"{firmware_dir}: no firmware files (*.py) to copy")
    return files


def deploy_command(
    files: Sequence[Path], *, port: str | None = None, mpremote: str = "mpremote"
) -> list[str]:
    """The mpremote command line that copies ``files`` to the board's root.

    port: a serial device (``/dev/ttyACM0``, ``COM3``) or an mpremote shortcut (``a0``); None lets
    mpremote pick the first board it finds (``connect auto``).
    """
    return [mpremote, "connect", port or "auto", "fs", "cp", *map(str, files), ":"]


def deploy(port: str | None = None, *, firmware_dir: Path = FIRMWARE_DIR, timeout: float = 120) -> list[Path]:
    """Copy every firmware module to the board; returns the files copied. Raises DeployError."""
    exe = shutil.which("mpremote")
    if exe is None:
        raise DeployError(
            "mpremote not found: install it with `pip install mpremote` (MicroPython's board tool)"
        )
    files = firmware_files(firmware_dir)
    cmd = deploy_command(files, port=port, mpremote=exe)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise DeployError(
            f"mpremote did not finish within {timeout:g} s (board busy? press reset and retry)"
        ) from e
    if proc.returncode != 0:
        out = (proc.stderr or proc.stdout).strip()
        low = out.lower()
        where = f" on {port}" if port else ""
        if (
            "no device found" in low
            or "failed to access" in low
            or "could not" in low
            or "no such file" in low
        ):
            raise DeployError(
                f"no MicroPython board found{where}: connect it by USB (or give --port); mpremote said: {out}"
            )
        raise DeployError(f"mpremote failed{where} (exit {proc.returncode}): {out}")
    return files
