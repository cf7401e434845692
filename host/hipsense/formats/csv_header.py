"""Finding a CSV's header: its line (below a preamble), its separator and its columns' frame
(:func:`hipsense.formats.csv_input.read_imu_csv`; docs/csv-input.md).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from hipsense.conventions import BODY_ACC, BODY_GYR, SENSOR_ACC, SENSOR_GYR, TIME_COLUMN
from hipsense.formats.csv_values import CsvInputError
from hipsense.time_units import GIVEN_RATE_HZ

#: Lines searched for the header when the file has a preamble.
HEADER_SEARCH_LINES = 50
#: A preamble line stating the rate: Xsens MT Manager's ``// Update Rate: 100.0Hz``, and the like
#: (``Acquisition frequency: 100 Hz``, ``# sampling rate = 208 Hz``).
_STATED_RATE = re.compile(
    r"(?:update rate|acquisition frequency|sampl(?:e|ing) (?:rate|frequency))\s*[:=]?\s*"
    r"([0-9]+(?:[.,][0-9]+)?)\s*hz\b",
    re.IGNORECASE,
)


def stated_rate(path: Path, preamble: list[str]) -> tuple[float, str] | None:
    """The rate (Hz) the preamble above the header states and where (``"line 2 states 100 Hz"``), or
    ``None``; a stated rate that is no sampling rate (0 Hz, beyond 10 kHz) is refused with its line."""
    for i, line in enumerate(preamble):
        found = _STATED_RATE.search(line)
        if found:
            rate = float(found.group(1).replace(",", "."))
            if not GIVEN_RATE_HZ[0] <= rate <= GIVEN_RATE_HZ[1]:  # 0.01 Hz reached the analysis
                raise CsvInputError(path, f"it states a rate of {rate:g} Hz: not a sampling rate", line=i + 1)
            return rate, f"line {i + 1} states {rate:g} Hz"
    return None


def choose_frame(path: Path, present: set[str]) -> tuple[Literal["sensor", "body"], list[str]] | None:
    if set(SENSOR_ACC) <= present:
        gyro = [c for c in SENSOR_GYR if c in present]
        if gyro and len(gyro) != 3:
            missing = ", ".join(c for c in SENSOR_GYR if c not in present)
            raise CsvInputError(
                path, f"gyroscope columns incomplete: {missing} missing (give all three or none)"
            )
        return "sensor", [*SENSOR_ACC, *gyro]
    if "acc_is" in present:
        return "body", [c for c in BODY_ACC + BODY_GYR if c in present]
    return None


def separator(line: str) -> str:
    """The header line's separator: a comma, or a semicolon or tab when it has no comma (spreadsheet
    exports in locales whose decimal mark is the comma, which the reader then accepts too)."""
    if "," not in line:
        for sep in (";", "\t"):
            if sep in line:
                return sep
    return ","


def column_names(line: str, rename: dict[str, str]) -> set[str]:
    sep = separator(line)
    return {rename.get(n, n) for n in (c.strip().strip("\"'") for c in line.split(sep))}


#: Named column maps for ``--columns``: Xsens MT Manager's export names (its clock ``SampleTimeFine``;
#: ``xsens,t_s=PacketCounter`` when that is not exported). Its ``Gyr_*`` are in rad/s: give the unit.
COLUMN_PRESETS: dict[str, dict[str, str]] = {
    "xsens": {
        TIME_COLUMN: "SampleTimeFine",
        "acc_x": "Acc_X",
        "acc_y": "Acc_Y",
        "acc_z": "Acc_Z",
        "gyr_x": "Gyr_X",
        "gyr_y": "Gyr_Y",
        "gyr_z": "Gyr_Z",
    }
}


def parse_column_map(text: str) -> dict[str, str]:
    """Parse ``"acc_is=acc_v_g,acc_pa=acc_ap_g"`` into ``{"acc_is": "acc_v_g", "acc_pa": "acc_ap_g"}``.

    A preset's name (:data:`COLUMN_PRESETS`, ``"xsens"``) stands for its whole map; items after it
    override it (``"xsens,t_s=PacketCounter"``)."""
    mapping: dict[str, str] = {}
    known = set(SENSOR_ACC + SENSOR_GYR + BODY_ACC + BODY_GYR + (TIME_COLUMN,))
    for item in filter(None, (part.strip() for part in text.split(","))):
        if item.lower() in COLUMN_PRESETS:
            mapping.update(COLUMN_PRESETS[item.lower()])
            continue
        ours, sep, theirs = item.partition("=")
        ours, theirs = ours.strip(), theirs.strip()
        if not sep or not ours or not theirs:
            raise ValueError(
                f"column mapping {item!r} is not of the form our_name=file_name "
                f"(or a preset: {', '.join(COLUMN_PRESETS)})"
            )
        if ours not in known:
            raise ValueError(f"column mapping {item!r}: {ours!r} is not one of {', '.join(sorted(known))}")
        mapping[ours] = theirs
    return mapping


def find_header(path: Path, lines: list[str], rename: dict[str, str], skip_rows: int | None) -> int:
    """Number of lines before the header: ``skip_rows``, or the first of the first lines that names
    the acceleration columns (a preamble above it is skipped)."""
    if skip_rows is not None:
        if not 0 <= skip_rows < len(lines):
            raise CsvInputError(path, f"--skip-rows {skip_rows}: the file has only {len(lines)} lines")
        return skip_rows
    for i, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        names = column_names(line, rename)
        if set(SENSOR_ACC) <= names or "acc_is" in names:
            return i
    shown = " | ".join(repr(s if len(s) <= 60 else s[:57] + "...") for s in lines[:3])
    raise CsvInputError(
        path,
        "no acceleration columns: need acc_x, acc_y, acc_z (sensor frame) or at least acc_is (body frame) "
        f"in a header within the first {HEADER_SEARCH_LINES} lines (map other names with --columns; skip a "
        f"preamble with --skip-rows N); the file starts: {shown}",
    )


def head_lines(path: Path, need: int) -> list[str]:
    """The first ``need`` lines (at most 16 MiB of them), refusing binary content."""
    lines: list[bytes] = []
    budget = 16 << 20
    with open(path, "rb") as fh:
        while len(lines) < need and budget > 0:
            line = fh.readline(budget)
            if not line:
                break
            budget -= len(line)
            lines.append(line)
    head = b"".join(lines)
    if b"\x00" in head[:65536]:
        raise CsvInputError(
            path, "binary content: neither a hipsense session file (those start with HSNS) nor a text CSV"
        )
    # not UTF-8 (a Latin-1 preamble's degree sign): shown replaced, never a reason to refuse the file;
    # lines end where pandas ends them (splitlines also split at a form feed or U+2028: off by one)
    text = re.split(r"\r\n|\r|\n", head.decode("utf-8-sig", errors="replace"))
    return text[:-1] if text[-1] == "" else text


__all__ = [
    "COLUMN_PRESETS",
    "HEADER_SEARCH_LINES",
    "choose_frame",
    "column_names",
    "find_header",
    "head_lines",
    "parse_column_map",
    "separator",
    "stated_rate",
]
