"""Memory of the first stages of a long session: the recording, the mounting estimate, the bouts.

For a device file (default: ``benchmarks/long_session.py``'s cached 10 h session, which it makes when
absent), each stage runs in a fresh process and prints its peak RSS (``VmHWM``):

* ``imports``: the package's analysis route imported, nothing read;
* ``recording``: :func:`hipsense.formats.load.load_recording` (decode, time grid, the Recording), and
  the RSS the Recording leaves (``after``);
* ``alignment``: :class:`~hipsense.gait.alignment.MountingAligner` ``.estimate`` on the recording's
  first segment; the peak is reset (``/proc/self/clear_refs``) once the recording is loaded, so it is
  the stage's own;
* ``bouts``: :class:`~hipsense.gait.bouts.ActivityBoutDetector` on a float64 vertical of the whole
  segment (as the analysis calls it per segment when a session has gaps), its own peak likewise.

CPU seconds (``time.process_time``) of each stage alone. Run it with ``PYTHONPATH`` set to a
``git worktree`` of an older commit's ``host/`` to compare. Prints one table; docs/validation.md
"Speed" keeps the figures.

    .venv/bin/python benchmarks/recording_memory.py [FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(ROOT / "host"))


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0
    raise SystemExit(f"no {key} in /proc/self/status (Linux only)")


def _reset_peak() -> bool:
    """Start VmHWM afresh from the current RSS (Linux 4.0+); False when not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _child(stage: str, path: str) -> None:
    import warnings

    import numpy as np
    import pandas as pd

    import hipsense.analysis  # noqa: F401  (the route's imports, as analyse_file has them)
    from hipsense.conventions import SENSOR_ACC
    from hipsense.formats.load import load_recording
    from hipsense.gait.alignment import MountingAligner
    from hipsense.gait.bouts import ActivityBoutDetector

    warnings.simplefilter("ignore")
    out: dict = {"stage": stage}
    if stage == "imports":
        out["peak_mb"] = _status("VmHWM")
        print(json.dumps(out))
        return
    t0 = time.process_time()
    rec = load_recording(path)
    out["cpu_s"] = time.process_time() - t0
    a, b = (int(x) for x in rec.segments[0])
    data = rec.data.iloc[a:b]
    fs = rec.sample_rate_hz
    if stage == "recording":
        out["peak_mb"], out["after_mb"] = _status("VmHWM"), _status("VmRSS")
        out["samples"] = len(rec.data)
    elif stage == "alignment":
        _own_peak(out, lambda: MountingAligner().estimate(data, sampling_rate_hz=fs))
    elif stage == "bouts":
        cols = [data[c].to_numpy() for c in SENSOR_ACC]
        mean = np.array([c.mean(dtype=np.float64) for c in cols])
        up = mean / np.linalg.norm(mean)
        vertical = sum(c.astype(np.float64) * u for c, u in zip(cols, up, strict=True))
        del rec, data, cols
        frame = pd.DataFrame({"acc_is": vertical}, copy=False)
        _own_peak(out, lambda: ActivityBoutDetector().detect(frame, sampling_rate_hz=fs))
    print(json.dumps(out))


def _own_peak(out: dict, work: Callable[[], object]) -> None:
    """Run ``work`` with the peak RSS reset first: its RSS before, its own peak and its CPU seconds."""
    out["before_mb"] = _status("VmRSS")
    out["reset"] = _reset_peak()
    t0 = time.process_time()
    work()
    out["cpu_s"] = time.process_time() - t0
    out["peak_mb"] = _status("VmHWM")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", nargs="?", default=None, help="a device file (default: the cached 10 h session)")
    ap.add_argument("--child", nargs=2, metavar=("STAGE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from long_session import prepare, run_child

    path = args.file
    if path is None:
        path = str(prepare(Path(tempfile.gettempdir()) / "hipsense-long-session", ["10h"])["10h"])
    print(
        f"{path} ({Path(path).stat().st_size / 1e6:.1f} MB); peak RSS of each stage in a fresh process, MiB"
    )
    print(f"{'stage':<11}{'peak':>7}{'before':>8}{'above':>7}{'after':>7}{'CPU s':>7}  samples")
    for stage in ("imports", "recording", "alignment", "bouts"):
        r = run_child(__file__, stage, path)
        before = r.get("before_mb")
        above = r["peak_mb"] - before if before is not None and r.get("reset") else None
        print(
            f"{stage:<11}{r['peak_mb']:7.0f}"
            + (f"{before:8.0f}" if before is not None else " " * 8)
            + (f"{above:7.0f}" if above is not None else " " * 7)
            + (f"{r['after_mb']:7.0f}" if "after_mb" in r else " " * 7)
            + (f"{r['cpu_s']:7.2f}" if "cpu_s" in r else " " * 7)
            + (f"  {r['samples']}" if "samples" in r else "")
        )


if __name__ == "__main__":
    main()
