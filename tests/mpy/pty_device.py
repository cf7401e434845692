"""A simulated clip on a pseudo-terminal: the firmware's sync code on MicroPython (tests/mpy/bridge.mjs)
serving the pty's master end, so host code opens the slave end with real pyserial.

    with PtyDevice({0x1: path_to_session_file}) as dev:
        ... SerialTransport.open(dev.port) ...
    dev.stdout  # what the MicroPython side printed (its counters at the end)

With ``live=counts`` (an ``(n, 6)`` int16 array of IMU counts) the simulated clip is recording session
0xAA: a feeder hands the counts to ``live.LiveTap`` and the real ``log.SessionWriter`` (header fields
``writer_args``) in batches of 16, ``speed`` times faster than 208 Hz, so ``hipsense live`` has
something to stream.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tests.mpy.harness import FAKES, FIRMWARE, ROOT, unavailable_reason

BRIDGE = ROOT / "tests" / "mpy" / "bridge.mjs"

_CODE = """
import array, asyncio
import bridge_io, link_usb, live, log, sync
from fake_sync import FakeRecorder, StillClock

async def start_recording(recorder):
    f = open("/sessions/000000aa.hsn", "wb")
    w = log.SessionWriter(f, 0xAA, 6, device_id="HS-PTY", sensor_model="LSM6DSOX", start_time_unix=1790000000,
                          **{writer_args})
    tap = live.LiveTap(w)
    recorder.current = 0xAA
    counts = array.array("h", open("/live/counts.bin", "rb").read())
    asyncio.create_task(feed(tap, counts))
    return tap

async def feed(tap, counts):
    n = len(counts) // 6
    i = 0
    t = 0
    while i < n:
        k = min(16, n - i)
        tap.append(counts[i * 6 : (i + k) * 6], k, t)
        i += k
        t += k * 1000 // 208
        await asyncio.sleep_ms({period_ms})

async def main():
    recorder = FakeRecorder()
    recorder.current = {recording}
    tap = None
    if {live}:
        tap = await start_recording(recorder)
    server = sync.SyncServer(
        "/sessions", ("HS-PTY", "1.0.0", "LSM6DSOX"), status=lambda: (3900, 80, 10000),
        recorder=recorder, clock=StillClock(), max_chunk={max_chunk}, live=tap)
    link = link_usb.UsbLink(bridge_io.Reader(), bridge_io.Writer(), max_reply={max_chunk} + 17)
    await server.serve(link)
    print("@@served", server.requests, server.errors, link.bad_frames)

await asyncio.create_task(main())
"""


#: The recording's header fields: LSM6DSOX at 208 Hz, 16 g, 2000 dps.
_WRITER_ARGS = {
    "sample_rate_mhz": 208000,
    "odr_mhz": 208000,
    "acc_range_g": 16,
    "acc_scale_ng": 488000,
    "gyr_range_dps": 2000,
    "gyr_scale_ndps": 70000000,
}


class PtyDevice:
    """The bridge process and the pty; ``port`` is the slave's path for pyserial."""

    def __init__(
        self,
        sessions: dict[int, Path],
        *,
        max_chunk: int = 4096,
        recording: int = -1,
        live: np.ndarray | None = None,
        speed: float = 1.0,
        writer_args: dict | None = None,
    ):
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self._tmp = tempfile.TemporaryDirectory()
        extra = []
        if live is not None:
            counts = Path(self._tmp.name) / "counts.bin"
            counts.write_bytes(np.ascontiguousarray(live, dtype="<i2").tobytes())
            extra = [[str(counts), "/live/counts.bin"]]
        self._master, self._slave = os.openpty()
        self.port = os.ttyname(self._slave)
        job = {
            "mounts": [[str(FIRMWARE), "/fw"], [str(FAKES), "/fakes"]],
            "files": [[str(ROOT / "tests" / "mpy" / "bridge_io.py"), "/tests/bridge_io.py"]]
            + [[str(p), f"/sessions/{sid:08x}.hsn"] for sid, p in sessions.items()]
            + extra,
            "sys_path": ["/tests", "/fakes", "/fw"],
            "code": _CODE.format(
                max_chunk=max_chunk,
                recording=recording,
                live=live is not None,
                period_ms=int(16 / 208 * 1000 / speed),
                writer_args=writer_args or _WRITER_ARGS,
            ),
            "heapsize": 32 * 1024 * 1024,
        }
        if not sessions:
            job["code"] = (
                "import os\ntry:\n    os.mkdir('/sessions')\nexcept OSError:\n    pass\n" + job["code"]
            )
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(job, fh)
        self._job = Path(fh.name)
        self.proc = subprocess.Popen(
            ["node", str(BRIDGE), str(self._job), str(self._master)],
            pass_fds=[self._master],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(self._master)  # node holds it now
        self.stdout = self.stderr = ""

    def close(self) -> None:
        """Hang up the pty (the firmware's link sees the end of its stream) and collect the output."""
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1
        try:
            self.stdout, self.stderr = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.stdout, self.stderr = self.proc.communicate()
        self._job.unlink(missing_ok=True)
        self._tmp.cleanup()

    def __enter__(self) -> PtyDevice:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
