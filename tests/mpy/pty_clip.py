"""A whole clip on a pseudo-terminal: firmware/main.py on MicroPython (tests/mpy/clip_main.py) with a
fake LSM6DSOX lying still in a pose on the wall clock, so host code talks to it with real pyserial.

    with PtyClip(mount="ok", rate_ppm=0) as clip:
        ... hipsense device check --port clip.port ...
        clip.pose("upright")  # the simulated user turns the clip
    clip.stdout  # what the firmware printed

Unlike tests/mpy/pty_device.py (the sync server alone, with a scripted recorder), this is the boot
wiring: the real Recorder, sampler, session writer, live tap and guard behind START, LIVE_START and
SELFTEST.
"""

from __future__ import annotations

import json
import os

from tests.mpy.bridge import Bridge

_CODE = """
import clip_main
await asyncio.create_task(clip_main.run({config!r}, {mount!r}, {rate_ppm}, {battery_uv}, {free_bytes}, {ble}))
"""


class PtyClip:
    """The bridge process running main() and the pty; ``port`` is the slave's path for pyserial."""

    def __init__(
        self,
        *,
        mount: str = "ok",
        rate_ppm: int = 0,
        battery_mv: int = 4000,
        free_bytes: int = 10_000_000,
        ble: bool = True,
        config: dict | None = None,
    ):
        master, self._slave = os.openpty()
        self.port = os.ttyname(self._slave)
        code = "import asyncio\n" + _CODE.format(
            config=json.dumps(config or {"device_name": "HS-CHECK"}),
            mount=mount,
            rate_ppm=int(rate_ppm),
            battery_uv=int(battery_mv) * 500,  # the board's 1:2 divider (main.py, guard.Battery)
            free_bytes=int(free_bytes),
            ble=bool(ble),
        )
        self.bridge = Bridge(code, master, sessions={}, modules=("clip_main.py",), control=True)
        os.close(master)  # node holds it now
        self.stdout = self.stderr = ""

    def pose(self, name: str) -> None:
        """Put the simulated clip in pose ``name`` (fake_pose.POSES)."""
        self.bridge.control(f"pose {name}")

    def close(self) -> None:
        """Hang up the pty, end main() and collect the output."""
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1
            # finish() closes the control channel (stdin): main() sees its end and returns.
            self.stdout, self.stderr = self.bridge.finish()

    def __enter__(self) -> PtyClip:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
