"""Sync protocol efficiency and speed: prints what it measures (docs/sync-protocol.md, "Measured").

1. BLE at MTU 247 and 23 (the firmware's BLE peripheral on MicroPython with the fake aioble radio, the
   host's real BleakTransport and sync engine; tests/mpy/ble_radio.py): one simulated session is
   synced and the link bytes are counted at the ATT layer: every notification and every write costs
   its payload plus the 3-byte ATT header. Efficiency = session bytes / ATT bytes (both directions).
   Requests and round trips are counted by the host client.
2. USB over a pseudo-terminal (real pyserial, the firmware's USB link on MicroPython;
   tests/mpy/pty_device.py): the wall time of the same session, download (from the first READ to
   the verified file) and the whole sync (with the store's import and analysis).

MicroPython here is the WebAssembly port (roughly 2-7x faster than an ESP32-S3 on this code, see
docs/firmware.md), and the simulated links have no radio timing: the wall times say how fast the
protocol and both sides' code are, not how fast a real BLE link is.

Usage: ``.venv/bin/python benchmarks/sync_link.py [--minutes 60]``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hipsense.cli.clip import keep_in_store  # noqa: E402
from hipsense.sim import simulate_run  # noqa: E402
from hipsense.store import Store  # noqa: E402
from hipsense.sync import client as client_module  # noqa: E402
from hipsense.sync.auth import HostKey, KeyRing  # noqa: E402
from hipsense.sync.ble_transport import BleakTransport  # noqa: E402
from hipsense.sync.engine import SyncOptions, sync_device  # noqa: E402
from hipsense.sync.serial_transport import SerialTransport  # noqa: E402
from tests.mpy.ble_radio import BleDevice  # noqa: E402
from tests.mpy.pty_device import PtyDevice  # noqa: E402


class Timing:
    """Progress hooks: when the download of each session started and ended."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.ended: float | None = None

    def start(self, sid: int, size: int, done: int) -> None:
        self.started = time.perf_counter()

    def advance(self, sid: int, done: int) -> None:
        self.ended = time.perf_counter()

    def finish(self, sid: int, status: str) -> None:
        pass


def count_requests():
    """Wrap Client.request to count requests by type (a READ window of 4 overlaps 4 round trips)."""
    counts: dict[str, int] = {}
    original = client_module.Client.request

    async def request(self, ftype, *a, **kw):
        counts[ftype.name] = counts.get(ftype.name, 0) + 1
        return await original(self, ftype, *a, **kw)

    client_module.Client.request = request
    return counts, lambda: setattr(client_module.Client, "request", original)


def ble(session: Path, mtu: int, home: Path) -> None:
    size = session.stat().st_size
    counts, restore = count_requests()
    timing = Timing()
    try:
        ring = KeyRing(home / "keys")  # as after `hipsense pair`: the clip holds this laptop's key
        key = HostKey.new(ring.laptop_id(), bytes(range(8)), "HS-BLE")
        ring.save(key)
        with BleDevice({1: session}, mtu=mtu, key=key) as dev, Store(home) as store:
            t0 = time.perf_counter()
            report = asyncio.run(
                sync_device(
                    lambda: BleakTransport.open(dev.address, client_factory=dev.client),
                    keep_in_store(store, "default"),
                    home / "incoming",
                    SyncOptions(),
                    timing,
                    ring,
                )
            )
            wall = time.perf_counter() - t0
    finally:
        restore()
    assert report.sessions[0].status == "stored", report.sessions[0]
    att = dev.notified_bytes + 3 * dev.notifications + dev.written_bytes + 3 * dev.writes
    reads = counts.get("READ", 0)
    print(
        f"BLE MTU {mtu}: {size} session bytes in {dev.notifications} notifications "
        f"({dev.notified_bytes} B) and {dev.writes} writes ({dev.written_bytes} B); "
        f"ATT bytes {att}; efficiency {100 * size / att:.1f} % (notifications only: "
        f"{100 * size / (dev.notified_bytes + 3 * dev.notifications):.1f} %)"
    )
    print(
        f"  requests {sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); "
        f"round trips with a window of 4 READs: about {sum(counts.values()) - reads + -(-reads // 4)}; "
        f"download {timing.ended - timing.started:.1f} s, whole sync {wall:.1f} s (simulated radio)"
    )


def pty(session: Path, home: Path) -> None:
    size = session.stat().st_size
    timing = Timing()
    with PtyDevice({1: session}) as dev, Store(home) as store:
        t0 = time.perf_counter()
        report = asyncio.run(
            sync_device(
                lambda: SerialTransport.open(dev.port),
                keep_in_store(store, "default"),
                home / "incoming",
                SyncOptions(),
                timing,
            )
        )
        wall = time.perf_counter() - t0
    assert report.sessions[0].status == "stored", report.sessions[0]
    download = timing.ended - timing.started
    print(
        f"USB over a pty: {size} bytes downloaded and verified in {download:.1f} s "
        f"({size / download / 1e3:.0f} kB/s); whole sync incl. the store's import and analysis {wall:.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60, help="length of the simulated session (default 60)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        session = Path(tmp) / "run.hsn"
        simulate_run(duration_s=args.minutes * 60, seed=3).write_device_file(session, session_id=1)
        print(f"session: {args.minutes:g} min simulated running, {session.stat().st_size} bytes")
        for mtu in (247, 23):
            ble(session, mtu, Path(tmp) / f"ble{mtu}")
        pty(session, Path(tmp) / "pty")


if __name__ == "__main__":
    main()
