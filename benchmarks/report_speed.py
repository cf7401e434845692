"""How long the HTML session report takes to draw and how large the file is, for a 10-minute and a 1-hour run.

Simulates each run with the demo's settings, writes it as a device file and analyses it (timed apart,
as `hipsense report FILE` does both), then renders the report: the three matplotlib figures as inline
SVG plus the page. Prints the best of ``--repeat`` renders, the analysis time and the file size.

Usage: ``.venv/bin/python benchmarks/report_speed.py [--minutes 10 60] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))

import matplotlib  # noqa: E402

from hipsense.report.html import render_session, write_report  # noqa: E402
from hipsense.report.sources import from_file  # noqa: E402
from hipsense.sim import demo_config, simulate_run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[10, 60], help="run lengths (default: 10 60)")
    ap.add_argument("--repeat", type=int, default=3, help="renders per run; the best is reported")
    args = ap.parse_args()
    print(
        f"date: {datetime.date.today()}  machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, matplotlib {matplotlib.__version__}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            cfg = demo_config()
            cfg.duration_s = 60 * minutes
            path = Path(tmp) / f"run-{minutes:g}min.hsn"
            simulate_run(cfg).write_device_file(path)

            t0 = time.perf_counter()
            session = from_file(path)
            analysis_s = time.perf_counter() - t0

            render = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                out = write_report(render_session(session), Path(tmp) / "report.html")
                render.append(time.perf_counter() - t0)
            print(
                f"{minutes:g}-min run ({session.summary['steps']} steps): report {min(render):.2f} s "
                f"(best of {args.repeat}), analysis before it {analysis_s:.2f} s, "
                f"file {out.stat().st_size / 1e3:.0f} kB"
            )


if __name__ == "__main__":
    main()
