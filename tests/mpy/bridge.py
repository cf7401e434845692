"""Start tests/mpy/bridge.mjs: MicroPython (with the firmware, the fakes and the given modules) running
``code`` with a file descriptor as its byte link. Shared by pty_device.py (USB over a pty) and
ble_radio.py (BLE through a socket pair).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tests.mpy.harness import ROOT, make_job, unavailable_reason

BRIDGE_JS = ROOT / "tests" / "mpy" / "bridge.mjs"

#: The live recording's header fields (tests/mpy/live_feed.py): LSM6DSOX at 208 Hz, 16 g, 2000 dps.
WRITER_ARGS = {
    "sample_rate_mhz": 208000,
    "odr_mhz": 208000,
    "acc_range_g": 16,
    "acc_scale_ng": 488000,
    "gyr_range_dps": 2000,
    "gyr_scale_ndps": 70000000,
}


def writer_args_for(run) -> dict:
    """The header fields of a simulated run (hipsense.sim) for the live recording's writer."""
    return {
        "sample_rate_mhz": int(round(run.sample_rate_hz * 1000)),
        "odr_mhz": int(round(run.sample_rate_hz * 1000)),
        "acc_range_g": int(run.acc_range_g),
        "acc_scale_ng": int(round(run.acc_scale_ms2 / 9.80665 * 1e9)),
        "gyr_range_dps": int(run.gyr_range_dps),
        "gyr_scale_ndps": int(round(run.gyr_scale_dps * 1e9)),
    }


#: MicroPython lines that define ``recorder`` and ``tap`` (a live recording when ``live`` is given).
RECORDER = """
from fake_sync import FakeRecorder, StillClock
import live_feed
recorder = FakeRecorder()
recorder.current = {recording}
tap = live_feed.start_recording(recorder, {writer_args}, {speed}) if {live} else None
"""


class Bridge:
    """The node process; :meth:`finish` collects its output once its link has been closed."""

    def __init__(
        self,
        code: str,
        fd: int,
        *,
        sessions: dict[int, Path],
        modules: tuple[str, ...],
        recording: int = -1,
        live: np.ndarray | None = None,
        speed: float = 1.0,
        writer_args: dict | None = None,
        extra_files: tuple[tuple[Path, str], ...] = (),
        control: bool = False,
    ):
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self._tmp = tempfile.TemporaryDirectory()
        files: list[tuple[Path | str, str]] = [
            (ROOT / "tests" / "mpy" / n, f"/tests/{n}") for n in ("bridge_io.py", "live_feed.py", *modules)
        ]
        files += [(p, f"/sessions/{sid:08x}.hsn") for sid, p in sessions.items()]
        files += list(extra_files)
        if live is not None:
            counts = Path(self._tmp.name) / "counts.bin"
            counts.write_bytes(np.ascontiguousarray(live, dtype="<i2").tobytes())
            files.append((counts, "/live/counts.bin"))
        prelude = "import os\ntry:\n    os.mkdir('/sessions')\nexcept OSError:\n    pass\n"
        recorder = RECORDER.format(
            recording=recording, writer_args=writer_args or WRITER_ARGS, speed=speed, live=live is not None
        )
        job = make_job(prelude + recorder + code, files=files, sys_path=["/tests"], heapsize=32 * 1024 * 1024)
        job_path = Path(self._tmp.name) / "job.json"
        job_path.write_text(json.dumps(job))
        self.proc = subprocess.Popen(
            ["node", str(BRIDGE_JS), str(job_path), str(fd)],
            pass_fds=[fd],
            stdin=subprocess.PIPE if control else None,  # control lines (bridge.mjs hostio.control)
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def control(self, line: str) -> None:
        """Send one control line to the code (``await hostio.control()`` on the MicroPython side)."""
        assert self.proc.stdin is not None, "Bridge(control=True) takes control lines"
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self) -> tuple[str, str]:
        """(stdout, stderr) of the process, killed if it does not end within 20 s of its link closing."""
        try:
            out = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out = self.proc.communicate()
        self._tmp.cleanup()
        return out
