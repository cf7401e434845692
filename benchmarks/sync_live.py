"""Live streaming over the simulated BLE link: sustained sample rate and packet loss at MTU 23 and 247.

The firmware (live.LiveTap in front of the real log.SessionWriter, sync.SyncServer, link_ble) runs on
MicroPython with the fake aioble radio (tests/mpy/ble_radio.py; the fake stack holds 4 notifications
and the air carries 4 per ms, no radio timing); a simulated run is fed at its real rate (208 Hz), and
the host's stream_live receives over its real BleakTransport. Printed per MTU: samples received per
second of streaming, packets, packets lost on the link, samples the clip dropped because the link fell
behind, and the cadence the live figures showed.

Usage: ``.venv/bin/python benchmarks/sync_live.py [--seconds 20]``
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

from hipsense.sim import simulate_run  # noqa: E402
from hipsense.sync.auth import HostKey, KeyRing  # noqa: E402
from hipsense.sync.ble_transport import BleakTransport  # noqa: E402
from hipsense.sync.live import stream_live  # noqa: E402
from tests.mpy.ble_radio import BleDevice  # noqa: E402
from tests.mpy.bridge import writer_args_for  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    run = simulate_run(duration_s=args.seconds + 30, seed=4)
    print(f"simulated run at {run.sample_rate_hz:g} Hz, 6 channels, streamed for {args.seconds:g} s per MTU")
    keys_dir = tempfile.TemporaryDirectory()
    ring = KeyRing(Path(keys_dir.name))  # as after `hipsense pair`: the clip holds this laptop's key
    key = HostKey.new(ring.laptop_id(), bytes(range(8)), "HS-BLE")
    ring.save(key)
    for mtu in (247, 23):
        with BleDevice({}, mtu=mtu, live=run.counts, writer_args=writer_args_for(run), key=key) as dev:
            t0 = time.perf_counter()
            stream = asyncio.run(
                stream_live(
                    lambda: BleakTransport.open(dev.address, client_factory=dev.client),
                    args.seconds,
                    keys=ring,
                )
            )
            wall = time.perf_counter() - t0
        n = len(stream.sample_index)
        sent = stream.packets + stream.lost_packets
        m = stream.metrics()
        cadence = "-" if m["cadence_spm"] is None else f"{m['cadence_spm']:.0f} steps/min"
        print(
            f"MTU {mtu}: {n} samples in {wall:.1f} s = {n / wall:.0f} samples/s sustained "
            f"({n / args.seconds:.0f}/s over the streaming time); packets {stream.packets}, lost on the link "
            f"{stream.lost_packets} ({100 * stream.lost_packets / max(sent, 1):.1f} %), samples dropped by the "
            f"clip {stream.missing_samples}; {dev.notifications} notifications; live cadence {cadence}"
        )


if __name__ == "__main__":
    main()
