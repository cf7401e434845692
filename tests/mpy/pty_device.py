"""A simulated clip on a pseudo-terminal: the firmware's sync code on MicroPython (tests/mpy/bridge.mjs)
serving the pty's master end, so host code opens the slave end with real pyserial.

    with PtyDevice({0x1: path_to_session_file}) as dev:
        ... SerialTransport.open(dev.port) ...
    dev.stdout  # what the MicroPython side printed (its counters at the end)

With ``live=counts`` (an ``(n, 6)`` int16 array of IMU counts) the simulated clip is recording session
0xAA: a feeder hands the counts to ``live.LiveTap`` and the real ``log.SessionWriter`` (header fields
``writer_args``) in batches of 16, ``speed`` times faster than 208 Hz, so ``hipsense live`` has
something to stream. ``extra_files`` are ``(host path, device path)`` pairs put on the clip's
filesystem before it starts (a ``/sync_keys.json`` of its own, say).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np

from hipsense.sync import protocol as P
from hipsense.sync.client import Client
from hipsense.sync.serial_transport import SerialTransport
from tests.mpy.bridge import Bridge

_CODE = """
import asyncio
import bridge_io, link_usb, pairing, sync

async def main():
    server = sync.SyncServer(
        "/sessions", ("HS-PTY", "1.0.0", "LSM6DSOX"), status=lambda: (3900, 80, 10000),
        recorder=recorder, clock=StillClock(), max_chunk={max_chunk}, live=tap,
        pairing=pairing.Pairing("/sync_keys.json"))
    link = link_usb.UsbLink(bridge_io.Reader(), bridge_io.Writer(), max_reply={max_chunk} + 17)
    await server.serve(link)
    print("@@served", server.requests, server.errors, link.bad_frames)

await asyncio.create_task(main())
"""


def device_list(port: str) -> list[P.SessionEntry]:
    """The sessions the clip on ``port`` lists (first LIST page), asked over a connection of its own."""

    async def go() -> list[P.SessionEntry]:
        client = Client(await SerialTransport.open(port), timeout_s=5)
        try:
            _, entries = await client.request(P.Type.LIST, P.list_request(0), P.list_body)
            return entries
        finally:
            await client.close()

    return asyncio.run(go())


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
        extra_files: tuple[tuple[Path, str], ...] = (),
    ):
        master, self._slave = os.openpty()
        self.port = os.ttyname(self._slave)
        self.bridge = Bridge(
            _CODE.format(max_chunk=max_chunk),
            master,
            sessions=sessions,
            modules=(),
            recording=recording,
            live=live,
            speed=speed,
            writer_args=writer_args,
            extra_files=extra_files,
        )
        os.close(master)  # node holds it now
        self.stdout = self.stderr = ""

    def close(self) -> None:
        """Hang up the pty (the firmware's link sees the end of its stream) and collect the output."""
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1
        self.stdout, self.stderr = self.bridge.finish()

    def __enter__(self) -> PtyDevice:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
