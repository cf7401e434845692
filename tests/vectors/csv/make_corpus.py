"""Write the foreign-CSV corpus: small files in other loggers' conventions (tests/host/test_csv_corpus.py).

Imports nothing from hipsense: the files are what other loggers write, not what our code expects, and
their expected outcomes are written by hand in the test. Deterministic; run from anywhere::

    python tests/vectors/csv/make_corpus.py          # rewrites the .csv files beside this script

The signal is a plain running-like pattern: vertical acceleration 1 g + 0.4 g sin(2 pi 2.8 t) (in
m/s^2 unless a file says g), small sideways and forward parts, yaw rate 60 deg/s sin(2 pi 1.4 t).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
G = 9.80665


def signal(t: np.ndarray) -> dict[str, np.ndarray]:
    w = 2 * np.pi * 2.8 * t
    return {
        "acc_x": 0.8 * np.sin(w / 2),
        "acc_y": 1.2 * np.cos(w),
        "acc_z": G + 0.4 * G * np.sin(w),
        "gyr_x": 20.0 * np.sin(w / 2 + 1.0),
        "gyr_y": 10.0 * np.cos(w),
        "gyr_z": 60.0 * np.sin(w / 2),
    }


def table(
    t_text: list[str],
    t: np.ndarray,
    cols: tuple[str, ...] = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"),
    *,
    sep: str = ",",
    decimal: str = ".",
    header: tuple[str, ...] | None = None,
    scale: dict[str, float] | None = None,
    cells: dict[tuple[int, str], str] | None = None,
) -> str:
    """CSV text: a header and one row per time, values with 3 decimals, some cells overridden."""
    sig = signal(t)
    names = header or ("t_s", *cols)
    lines = [sep.join(names)]
    for i, stamp in enumerate(t_text):
        row = [stamp.replace(".", decimal)]
        for c in cols:
            text = (cells or {}).get((i, c))
            if text is None:
                text = f"{sig[c][i] * (scale or {}).get(c, 1.0):.3f}"
            row.append(text.replace(".", decimal))
        lines.append(sep.join(row))
    return "\n".join(lines) + "\n"


def fmt(values: np.ndarray, spec: str) -> list[str]:
    return [format(v, spec) for v in values]


def corpus() -> dict[str, str]:
    rng = np.random.default_rng(2026)
    files: dict[str, str] = {}
    n100 = np.arange(600)
    t100 = n100 / 100.0
    acc = ("acc_x", "acc_y", "acc_z")

    files["exact_100hz.csv"] = table(fmt(t100, ".2f"), t100)
    # 208 Hz written with 5 decimals, as spreadsheets and many loggers do
    t208 = np.arange(832) / 208.0
    files["rounded_208hz.csv"] = table(fmt(t208, ".5f"), t208, acc)
    # +-1 ms of stamp jitter (USB / BLE arrival times)
    tj = t100 + rng.uniform(-0.001, 0.001, len(t100))
    files["jitter_1ms.csv"] = table(fmt(tj, ".4f"), t100)
    # three rows dropped by the logger: rows 100, 101 and 350
    keep = np.setdiff1d(n100, [100, 101, 350])
    files["dropped_rows.csv"] = table(fmt(t100[keep], ".2f"), t100[keep])
    # 4 s, a 2 s pause, 3 s
    tg = np.r_[np.arange(400), np.arange(600, 900)] / 100.0
    files["gap_2s.csv"] = table(fmt(tg, ".2f"), tg, acc)
    # milliseconds since the start
    files["clock_ms.csv"] = table(fmt(t100 * 1000, ".0f"), t100, acc)
    # UNIX milliseconds (2026-01-01T00:00:00Z) and UNIX microseconds (2026-01-01T00:00:01.5Z)
    files["unix_ms.csv"] = table(fmt(1_767_225_600_000 + n100 * 10, "d"), t100, acc)
    files["unix_us.csv"] = table(fmt(1_767_225_601_500_000 + n100 * 10_000, "d"), t100, acc)
    # a logger's preamble above the header
    preamble = "# Exported by OpenLogger 3.2\n# device: IMU-7, firmware 1.4.2\nsubject,S01\nrate,100 Hz\n\n"
    files["preamble.csv"] = preamble + table(fmt(t100, ".2f"), t100)
    # a spreadsheet in a comma-decimal locale: semicolons and decimal commas, acceleration in g
    files["semicolon_decimal_comma.csv"] = table(
        fmt(t100, ".2f"), t100, acc, sep=";", decimal=",", scale={c: 1 / G for c in acc}
    )
    # empty and NaN cells: row 50 acc_x empty, row 51 gyr_z "NaN", row 200 acc_y "nan"
    files["nan_cells.csv"] = table(
        fmt(t100, ".2f"), t100, cells={(50, "acc_x"): "", (51, "gyr_z"): "NaN", (200, "acc_y"): "nan"}
    )
    # rows 300-329 (0.3 s) empty in every column but the time
    files["nan_run.csv"] = table(
        fmt(t100, ".2f"), t100, acc, cells={(i, c): "" for i in range(300, 330) for c in acc}
    )
    # the other loggers' errors
    files["gyro_rad_s.csv"] = table(
        fmt(t100, ".2f"), t100, scale={c: np.pi / 180 for c in ("gyr_x", "gyr_y", "gyr_z")}
    )
    files["huge_value.csv"] = table(fmt(t100, ".2f"), t100, cells={(123, "gyr_y"): "1e300"})
    files["acc_huge.csv"] = table(fmt(t100, ".2f"), t100, acc, cells={(7, "acc_z"): "1e300"})
    files["gyro_x1e6.csv"] = table(
        fmt(t100, ".2f"), t100, scale={c: 1e6 for c in ("gyr_x", "gyr_y", "gyr_z")}
    )
    files["year_10000.csv"] = table(fmt(253_402_300_800 + t100, ".2f"), t100, acc)
    files["ambiguous_step.csv"] = table(fmt(n100 * 0.25, ".2f"), t100, acc)
    files["time_repeats.csv"] = table(fmt(np.r_[t100[:80], t100[79:599]], ".2f"), t100, acc)
    files["unknown_header.csv"] = "Logger X export\n" + table(
        fmt(t100, ".2f"), t100, acc, header=("time", "ax", "ay", "az")
    )
    return files


def main(out: Path = HERE) -> None:
    for name, text in corpus().items():
        (out / name).write_text(text, encoding="utf-8", newline="\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
