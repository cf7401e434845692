"""Finding a CSV's header: its line (below a preamble), its separator and its columns' frame
(:func:`hipsense.formats.csv_input.read_imu_csv`; docs/csv-input.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hipsense.conventions import BODY_ACC, BODY_GYR, SENSOR_ACC, SENSOR_GYR, TIME_COLUMN
from hipsense.formats.csv_iso_clock import ISO_CLOCK
from hipsense.formats.csv_lines import open_quote
from hipsense.formats.csv_trailer import ROWS_END, trailing_comments
from hipsense.formats.csv_units import units_row
from hipsense.formats.csv_values import MISSING_CELLS, CsvInputError, read_names
from hipsense.iso_time import ISO_STAMP
from hipsense.time_units import GIVEN_RATE_HZ, ISO

#: Most columns a header may name. pandas' cost grows faster than the width (4,096: 0.45 s, 20,000:
#: 2.7 s, 2,000,000 separators in a 2 MB file: 524 s and 6.6 GB); a logger's export has tens.
MAX_COLUMNS = 4096
#: Lines searched for the header when the file has a preamble.
HEADER_SEARCH_LINES = 50
#: A preamble line stating the rate: Xsens MT Manager's ``// Update Rate: 100.0Hz``, and the like
#: (``Acquisition frequency: 100 Hz``, ``# sampling rate = 208 Hz``, Gulf Coast Data Concepts'
#: ``;SampleRate, 100,Hz`` or, ``;``-separated, ``;SampleRate;100;Hz``, ActiLife's ``... ActiGraph
#: GT3X+ ... date format M/d/yyyy at 100 Hz ...``).
_STATED_RATE = re.compile(
    # "actigraph ... at": a bounded gap (ActiLife's is about 60 characters); ".*" backtracked over the
    # whole line once per "actigraph" in it (a 160 KB preamble line of them took 19 s)
    r"(?:update rate|acquisition frequency|sampl(?:e|ing) ?(?:rate|frequency)|actigraph\b.{0,160}?\bat)"
    r"\s*[:=,;]?\s*([0-9]+(?:[.,][0-9]+)?)\s*[,;]?\s*hz\b",
    re.IGNORECASE,
)


#: A stated rate is looked for in the first characters of each preamble line only (bounded work on a
#: hostile line of megabytes).
_RATE_SEARCH_CHARS = 512


def stated_rate(path: Path, preamble: list[str]) -> tuple[float, str] | None:
    """The rate (Hz) the preamble above the header states and where (``"line 2 states 100 Hz"``), or
    ``None``; a stated rate that is no sampling rate (0 Hz, beyond 10 kHz) is refused with its line."""
    for i, line in enumerate(preamble):
        found = _STATED_RATE.search(line, 0, _RATE_SEARCH_CHARS)
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


#: Excel's first line naming the separator (``sep=;``; Shimmer Consensys quotes it, ``"sep=<TAB>"``).
_SEP_LINE = re.compile(r'\s*"?sep=([^"])"?\s*', re.IGNORECASE)


def stated_separator(lines: list[str]) -> str | None:
    """The separator a ``sep=`` first line states, or ``None``."""
    found = _SEP_LINE.fullmatch(lines[0]) if lines else None
    return found.group(1) if found else None


def header_separator(lines: list[str], header: int) -> str:
    """The separator of the header line ``lines[header]``, the one a ``sep=`` first line states if the
    header holds it."""
    return separator(lines[header], stated_separator(lines))


def separator(line: str, stated: str | None = None) -> str:
    """The header line's separator: ``stated`` (a ``sep=`` line's) when the line holds it; else a comma,
    or a semicolon or tab when it has no comma (spreadsheet exports in locales whose decimal mark is the
    comma, which the reader then accepts too); a leading comment mark (a ``;Headers`` tag cell) is no
    separator."""
    if stated and stated in line:
        return stated
    line = line.lstrip()
    line = line[1:] if line[:1] in COMMENT_MARKS else line
    if "," not in line:
        for sep in (";", "\t"):
            if sep in line:
                return sep
    return ","


def column_names(line: str, rename: dict[str, str], stated: str | None = None) -> set[str]:
    sep = separator(line, stated)
    return {rename.get(n, n) for n in (c.strip().strip("\"'") for c in line.split(sep))}


def _xyz(name: str) -> dict[str, str]:
    return {f"acc_{a}": name.format(a=a, A=a.upper()) for a in "xyz"}


#: Named column maps for ``--columns``: Xsens MT Manager's export names (its clock ``SampleTimeFine``;
#: ``xsens,t_s=PacketCounter`` when that is not exported; its ``Gyr_*`` are in rad/s: give the unit), and
#: the accelerometer files of other loggers (docs/csv-input.md, "Other loggers' exports"): MbientLab
#: MetaBase (in g), phyphox, Sensor Logger (``TotalAcceleration.csv``), ActiGraph ActiLife raw (in g).
COLUMN_PRESETS: dict[str, dict[str, str]] = {
    "xsens": {
        TIME_COLUMN: "SampleTimeFine",
        "acc_x": "Acc_X",
        "acc_y": "Acc_Y",
        "acc_z": "Acc_Z",
        "gyr_x": "Gyr_X",
        "gyr_y": "Gyr_Y",
        "gyr_z": "Gyr_Z",
    },
    "metawear": {TIME_COLUMN: "epoch (ms)", **_xyz("{a}-axis (g)")},
    "phyphox": {TIME_COLUMN: "Time (s)", **_xyz("Acceleration {a} (m/s^2)")},
    "sensorlogger": {TIME_COLUMN: "seconds_elapsed", **_xyz("{a}")},
    "actigraph": _xyz("Accelerometer {A}"),
}
#: What each preset's logger needs besides the names (suggested with them: docs/csv-input.md).
PRESET_OPTIONS = {"xsens": "--gyr-unit rad/s", "metawear": "--acc-unit g", "actigraph": "--acc-unit g"}


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
    stated = stated_separator(lines)
    for i, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        names = column_names(line, rename, stated)
        if set(SENSOR_ACC) <= names or "acc_is" in names:
            return i
    shown = " | ".join(repr(s if len(s) <= 60 else s[:57] + "...") for s in lines[:3])
    raise CsvInputError(
        path,
        "no acceleration columns: need acc_x, acc_y, acc_z (sensor frame) or at least acc_is (body frame) "
        f"in a header within the first {HEADER_SEARCH_LINES} lines (map other names with --columns; skip a "
        f"preamble with --skip-rows N){_rate_only(lines[:HEADER_SEARCH_LINES])}"
        f"{_preset_hint(lines[:HEADER_SEARCH_LINES], stated)}; the file starts: {shown}",
    )


def _preset_hint(lines: list[str], stated: str | None) -> str:
    """The options to try when a header names a preset's accelerometer columns (an Xsens export read
    without ``--columns xsens``), its time column too when the preset's is not there."""
    for line in lines:
        names = column_names(line, {}, stated)
        for preset, mapping in COLUMN_PRESETS.items():
            if not all(v in names for k, v in mapping.items() if k.startswith("acc_")):
                continue
            given = preset
            if TIME_COLUMN in mapping and mapping[TIME_COLUMN] not in names:
                first = line.split(separator(line, stated))[0].strip().strip("\"'")
                given += f",{TIME_COLUMN}={first}"
            extra = f" {PRESET_OPTIONS[preset]}" if preset in PRESET_OPTIONS else ""
            return f"; its header has the {preset} preset's names: try --columns {given}{extra}"
    return ""


def _rate_only(lines: list[str]) -> str:
    """A hint when a header names angular rates and no acceleration: a logger that writes each sensor to
    its own file (MetaBase, phyphox, Sensor Logger)."""
    for line in lines:
        low = line.lower()
        if re.search(r"deg/s|rad/s|\bdps\b|gyr", low) and not re.search(r"acc|\(g\)|m/\(?s", low):
            return (
                ": it holds only angular rate (a logger that writes the accelerometer and the gyroscope to "
                "separate files?): give the accelerometer's file, the gyroscope is optional"
            )
    return ""


#: A preamble's comment marks; one that begins a header line marks a tag, not a column
#: (Gulf Coast Data Concepts' ``;Headers, time,Ax,Ay,Az``).
COMMENT_MARKS = (";", "#")


@dataclass
class Layout:
    """How the rows below a header are read: their columns' names, the file line of the first row, the
    pandas options that differ from a plain header row, and what was found (notes)."""

    names: list[str]
    first_line: int
    read: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    time_unit: str | None = None  # the one a units row gives the time column


def _cells(line: str, sep: str, most: int) -> list[str]:
    return [c.strip().strip("\"'") for c in line.split(sep, most)[:most]]


def _unique(names: list[str]) -> list[str]:
    """The names with a repeat renamed as pandas renames one (``acc_z.1``): pandas refuses repeats."""
    out: list[str] = []
    for name in names:
        new, k = name, 0
        while new in out:
            k += 1
            new = f"{name}.{k}"
        out.append(new)
    return out


def _rows_above(path: Path, lines: list[str], header: int, sep: str) -> int:
    """The rows pandas counts above the header line ``header`` (its ``skiprows``): a preamble's quoted
    cell holding a line break is one row over several lines. A quote still open at the header (which
    pandas would read as part of that cell) is refused with the line that opens it."""
    rows, opened = header, None  # opened: the line whose quote is still open
    for n, line in enumerate(lines[:header]):
        if opened is not None:
            rows -= 1  # the rest of the row above
            if not open_quote(line, sep, quoted=True):
                opened = None
        elif '"' in line and open_quote(line, sep):
            opened = n
    if opened is not None:
        raise CsvInputError(
            path,
            "a quoted cell above the header runs on into it: close its quote or remove it",
            line=opened + 1,
        )
    return rows


def data_layout(
    path: Path, lines: list[str], header: int, sep: str, rename: dict[str, str], units: dict[str, str]
) -> Layout:
    """The rows' layout below the header line ``header``: a tag cell that names no column (``;Headers,``)
    is dropped; a units row under the names (Shimmer Consensys: ``ms, m/(s^2), deg/s``) is skipped, its
    time unit kept, and refused when it contradicts ``units`` (``{"acc": ..., "gyr": ..., "t_s": ...}``,
    :func:`~hipsense.formats.csv_units.units_row`); a preamble whose lines all
    start with ``;`` or ``#`` makes later lines so marked comments (Gulf Coast's ``;shutdown`` line)."""
    if (width := lines[header].count(sep) + 1) > MAX_COLUMNS:  # before pandas makes a frame that wide
        raise CsvInputError(
            path,
            f"its header has {width:,} columns, more than {MAX_COLUMNS:,}: not a recording's header",
            line=header + 1,
        )
    above = _rows_above(path, lines, header, sep)
    names = read_names(path, above, sep)
    # the header's last line: a quoted name may hold a line break, and pandas reads on to its end
    end, quoted = header, '"' in lines[header] and open_quote(lines[header], sep)
    while quoted and end + 1 < len(lines):
        end += 1
        quoted = open_quote(lines[end], sep, quoted=True)
    below = lines[end + 1] if end + 1 < len(lines) else ""
    layout = Layout(names, end + 2)
    skip = list(range(above))  # pandas' row numbers from here on, not lines
    tag = names[0][:1] if names else ""
    # a mark that is the separator too (';Headers;t_s;...') splits off an empty cell before the tag's
    cut = 2 if sep in COMMENT_MARKS and lines[header].lstrip().startswith(sep) else 1
    # widths without a separator ending the line (one that ends the header's or the rows' alone)
    wide = len(names) - lines[end].endswith(sep)
    if (
        (tag in COMMENT_MARKS or cut == 2)
        and not rename.keys() & names[:cut]
        and len(below.split(sep, len(names) + 1)) - below.endswith(sep) == wide - cut
    ):
        layout.names = names = names[cut:wide]
        layout.read.update(header=None, names=names)
        skip.append(above)
    # a sep= line is the spreadsheet's, not the logger's preamble: it marks no comments
    marks = {
        line.lstrip()[:1] for line in lines[stated_separator(lines) is not None : header] if line.strip()
    }
    mark = marks.pop() if len(marks) == 1 else ""
    if mark in COMMENT_MARKS and mark == sep:  # pandas' comment would end each row at its first cell
        if (cut_at := trailing_comments(path, mark, MISSING_CELLS)) is not None:  # Gulf Coast's ;shutdown
            layout.read[ROWS_END] = cut_at
    elif mark in COMMENT_MARKS:
        layout.read["comment"] = mark
        if "names" not in layout.read and lines[header].startswith(mark):  # else skipped as a comment
            layout.read.update(header=None, names=names)
            skip.append(above)
        elif "names" not in layout.read and mark in lines[header]:  # pandas cuts the names there
            layout.names = names = read_names(path, above, sep, comment=mark)
    if "names" in layout.read:  # names stripped alike ("acc_z", " acc_z") are no longer pandas' own
        layout.read["names"] = _unique(names)
    used = {
        i: rename.get(n, n) for i, n in enumerate(names) if rename.get(n, n)[:4] in ("t_s", "acc_", "gyr_")
    }
    row = _cells(below, sep, len(names))
    said = units_row(path, names, used, row, units, end + 2)
    if said is not None:
        layout.time_unit = said.get(TIME_COLUMN)
        layout.notes.append(
            f"line {end + 2} holds units ({', '.join(dict.fromkeys(row[i][:20] for i in used))}): skipped"
        )
        skip.append(above + 1)
        layout.first_line += 1
    if skip != list(range(header)) or layout.read:  # else the reader's skiprows=header is the same
        layout.read["skiprows"] = skip
    if _iso_times(lines, layout, used, sep):
        if (given := units.get(TIME_COLUMN, "auto")) not in ("auto", "s"):
            raise CsvInputError(
                path,
                f"{TIME_COLUMN} holds ISO 8601 date-times, which are seconds already: leave out --time-unit {given}",
                line=layout.first_line,
            )
        layout.time_unit, layout.read[ISO_CLOCK] = ISO, True  # seconds, whatever their step
    return layout


def _iso_times(lines: list[str], layout: Layout, used: dict[int, str], sep: str) -> bool:
    """Whether the time column's first cell that is not empty or missing, among the rows of ``lines``,
    starts an ISO 8601 date and time (``iso_time.ISO_STAMP``)."""
    at = [i for i, name in used.items() if name == TIME_COLUMN]
    comment = layout.read.get("comment")
    for line in lines[layout.first_line - 1 :] if at else []:
        if comment and line.lstrip().startswith(comment):
            continue
        cells = _cells(line, sep, len(layout.names))
        if at[0] < len(cells) and cells[at[0]].lower() not in MISSING_CELLS:
            return ISO_STAMP.match(cells[at[0]]) is not None
    return False


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
    "COMMENT_MARKS",
    "Layout",
    "data_layout",
    "HEADER_SEARCH_LINES",
    "choose_frame",
    "column_names",
    "find_header",
    "head_lines",
    "header_separator",
    "parse_column_map",
    "separator",
    "stated_separator",
    "stated_rate",
]
