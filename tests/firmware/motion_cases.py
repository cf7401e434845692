"""Run firmware/motion.py's StepDetector over many recordings in one MicroPython process.

Shared by the tests on simulated (test_motion_e2e.py) and real (test_motion_real.py) recordings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.mpy.harness import run_micropython

_DETECT = """
import array, motion
data = open("/in/cases.bin", "rb").read()
out = []
o = 0
for n in CASES:
    a = array.array("h", data[o : o + 12 * n])
    o += 12 * n
    det = motion.StepDetector(RATE_MHZ, ACC_SCALE_NG)
    buf = array.array("h", bytes(12 * PER_FEED))
    at = -1
    longest = 0
    i = 0
    while i < n:
        k = min(PER_FEED, n - i)
        buf[0 : 6 * k] = a[6 * i : 6 * (i + k)]
        if det.feed(buf, k) and at < 0:
            at = det.index
        longest = max(longest, det.steps)
        i += k
    out.append([at, longest, det.landings])
print("@@DETECT", out)
"""


@dataclass
class Detection:
    at: int  # sample index (after the feed) at which running() first held, -1 never
    longest: int  # the longest chain of steps seen (after any feed)
    landings: int  # landings after a flight (step candidates)


def detect(
    tmp_path: Path, cases: list[np.ndarray], rate_mhz: int, per_feed: int, acc_scale_ng: int = 488000
) -> list[Detection]:
    """Each case (n x 6 int16 counts) fed ``per_feed`` samples at a time to a new detector."""
    raw = tmp_path / "cases.bin"
    np.concatenate(cases).astype("<i2").tofile(raw)
    head = {"CASES": [len(c) for c in cases], "RATE_MHZ": rate_mhz, "ACC_SCALE_NG": acc_scale_ng}
    head["PER_FEED"] = per_feed
    script = "".join(f"{k} = {json.dumps(v)}\n" for k, v in head.items()) + _DETECT
    res = run_micropython(script, files=[(raw, "/in/cases.bin")])
    line = next(x for x in res.stdout.splitlines() if x.startswith("@@DETECT"))
    return [Detection(*x) for x in json.loads(line.split(" ", 1)[1])]
