"""A simulated clip on a pseudo-terminal: the firmware's sync code on MicroPython (tests/mpy/bridge.mjs)
serving the pty's master end, so host code opens the slave end with real pyserial.

    with PtyDevice({0x1: path_to_session_file}) as dev:
        ... SerialTransport.open(dev.port) ...
    dev.stdout  # what the MicroPython side printed (its counters at the end)
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from tests.mpy.harness import FAKES, FIRMWARE, ROOT, unavailable_reason

BRIDGE = ROOT / "tests" / "mpy" / "bridge.mjs"

_CODE = """
import asyncio
import bridge_io, link_usb, sync
from fake_sync import FakeRecorder, StillClock

async def main():
    recorder = FakeRecorder()
    recorder.current = {recording}
    server = sync.SyncServer(
        "/sessions", ("HS-PTY", "1.0.0", "LSM6DSOX"), status=lambda: (3900, 80, 10000),
        recorder=recorder, clock=StillClock(), max_chunk={max_chunk})
    link = link_usb.UsbLink(bridge_io.Reader(), bridge_io.Writer(), max_reply={max_chunk} + 17)
    await server.serve(link)
    print("@@served", server.requests, server.errors, link.bad_frames)

await asyncio.create_task(main())
"""


class PtyDevice:
    """The bridge process and the pty; ``port`` is the slave's path for pyserial."""

    def __init__(self, sessions: dict[int, Path], *, max_chunk: int = 4096, recording: int = -1):
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self._master, self._slave = os.openpty()
        self.port = os.ttyname(self._slave)
        job = {
            "mounts": [[str(FIRMWARE), "/fw"], [str(FAKES), "/fakes"]],
            "files": [[str(ROOT / "tests" / "mpy" / "bridge_io.py"), "/tests/bridge_io.py"]]
            + [[str(p), f"/sessions/{sid:08x}.hsn"] for sid, p in sessions.items()],
            "sys_path": ["/tests", "/fakes", "/fw"],
            "code": _CODE.format(max_chunk=max_chunk, recording=recording),
            "heapsize": 32 * 1024 * 1024,
        }
        if not sessions:
            job["code"] = "import os\nos.mkdir('/sessions')\n" + job["code"]
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

    def __enter__(self) -> PtyDevice:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
