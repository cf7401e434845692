"""Any input file -> :class:`~hipsense.recording.Recording`: the one place that picks the adapter."""

from __future__ import annotations

from pathlib import Path

from hipsense.errors import InputFileError
from hipsense.formats.csv_input import read_imu_csv
from hipsense.formats.device_file import is_session_file
from hipsense.formats.session_input import read_session_recording
from hipsense.recording import Recording


def load_recording(path: str | Path, **csv_options) -> Recording:
    """A clip's session file (by its magic or a ``.hsn`` name) or a CSV, as a :class:`Recording`.

    ``csv_options`` are :func:`~hipsense.formats.csv_input.read_imu_csv`'s keyword arguments.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file" if not path.exists() else "not a file")
    if is_session_file(path):
        return read_session_recording(path)
    return read_imu_csv(path, **csv_options)


__all__ = ["load_recording"]
