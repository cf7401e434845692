"""The host's BleakTransport and sync engine against the firmware's BLE peripheral on MicroPython.

Only BleakClient is replaced (tests/mpy/ble_radio.py forwards its calls to the fake aioble radio the
firmware serves); MTU 23 and 247, notifications dropped, duplicated, reordered and bit-flipped, links
cut mid-transfer, pairing refused or left to the operating system. ``hipsense devices`` with a fake
scanner (no radio here).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from pathlib import Path

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from hipsense.store import Store
from hipsense.sync import ble_transport as B
from hipsense.sync.engine import INCOMPLETE, STORED, SyncOptions, sync_device
from tests.mpy.ble_radio import BleDevice
from tests.mpy.harness import unavailable_reason

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
SESSIONS = {0x01: VECTORS / "three_axis_accel.session", 0x2A: VECTORS / "six_axis_gap_overflow.session"}
needs_mp = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


def _sync(dev: BleDevice, home: Path, **opts):
    with Store(home) as store:
        report = asyncio.run(
            sync_device(
                lambda: B.BleakTransport.open(dev.address, client_factory=dev.client),
                store,
                SyncOptions(**opts),
            )
        )
        stored = {sha: store.raw_path(sha).read_bytes() for sha in store.sessions()["sha256"]}
    return report, stored


def _check_all_stored(report, stored):
    assert [s.status for s in report.sessions] == [STORED] * len(SESSIONS)
    assert all(s.deleted for s in report.sessions)
    for path in SESSIONS.values():
        data = path.read_bytes()
        assert stored[hashlib.sha256(data).hexdigest()] == data


@needs_mp
@pytest.mark.parametrize("mtu", [23, 247])
def test_sync_over_ble(tmp_path, mtu):
    with BleDevice(SESSIONS, mtu=mtu) as dev:
        report, stored = _sync(dev, tmp_path)

        async def battery():
            client = dev.client(dev.address)
            await client.connect()
            try:
                return await client.read_gatt_char(B.BATTERY_LEVEL_UUID)
            finally:
                await client.disconnect()

        assert asyncio.run(battery()) == bytearray([77])  # the standard Battery Service
    _check_all_stored(report, stored)
    assert report.device.device_id == "HS-BLE"


def _air_faults(rng: random.Random, rate: float, counts: dict):
    held: list[bytes] = []

    def fault(data: bytes) -> list[bytes]:
        out = held[:]
        held.clear()
        if rng.random() >= rate:
            return out + [data]
        kind = rng.choice(["drop", "dup", "reorder", "flip"])
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "drop":
            return out
        if kind == "dup":
            return out + [data, data]
        if kind == "reorder":
            held.append(data)  # delivered after the next one
            return out
        b = bytearray(data)
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return out + [bytes(b)]

    return fault


@needs_mp
@pytest.mark.parametrize("mtu", [23, 247])
def test_faults_on_the_air_and_a_cut_link(tmp_path, mtu):
    counts: dict = {}
    with BleDevice(SESSIONS, mtu=mtu, max_chunk=1024) as dev:
        # About one reply in six is damaged, whatever the MTU (a reply is ~1040 / (MTU - 3) notifications).
        dev.notify_fault = _air_faults(random.Random(mtu), 0.15 * (mtu - 3) / 1040, counts)
        dev.cut_after = 40  # the link drops mid-transfer: the engine reconnects and goes on
        report, stored = _sync(dev, tmp_path, timeout_s=0.5, backoff_s=0.02)
    print(f"\nMTU {mtu}: air faults {counts}, reconnects {report.reconnects}, resends {report.resends}")
    assert sum(counts.values()) >= 3 and report.reconnects >= 1
    _check_all_stored(report, stored)


@needs_mp
def test_pairing_refused_is_a_one_line_error(tmp_path):
    with BleDevice(SESSIONS) as dev:
        dev.pairing = "refuse"
        with pytest.raises(B.PairingRefused, match="pairing with the clip .* was refused"):
            _sync(dev, tmp_path)


@needs_mp
def test_unpaired_link_gets_no_data_and_deletes_nothing(tmp_path):
    # As on macOS when the OS did not pair: the clip refuses READ, the sessions stay.
    with BleDevice(SESSIONS) as dev:
        dev.pairing = "unsupported"
        report, stored = _sync(dev, tmp_path)
    assert [s.status for s in report.sessions] == [INCOMPLETE, INCOMPLETE] and not stored
    assert "not encrypted and bonded" in report.sessions[0].message


class _Scanner:
    def __init__(self, found=None, error=None):
        self.found, self.error = found or {}, error

    async def discover(self, **kw):
        if self.error:
            raise self.error
        return self.found


def _adv(name, rssi, uuids):
    return AdvertisementData(name, {}, {}, uuids, None, rssi, ())


def test_scan_lists_clips_strongest_first_and_reports_no_adapter():
    found = {
        "A": (BLEDevice("A", "far", None), _adv("hipsense-1", -80, [B.SERVICE_UUID])),
        "B": (BLEDevice("B", "near", None), _adv("hipsense-2", -40, [B.SERVICE_UUID.upper()])),
        "C": (BLEDevice("C", "watch", None), _adv("watch", -30, ["0000180d-0000-1000-8000-00805f9b34fb"])),
    }
    clips = asyncio.run(B.scan(1, scanner=_Scanner(found)))
    assert [(c.address, c.name, c.rssi) for c in clips] == [
        ("B", "hipsense-2", -40),
        ("A", "hipsense-1", -80),
    ]
    # the same message for sync, live and devices: it names both commands that take --port
    with pytest.raises(B.NoBluetooth, match="Bluetooth is not available.*sync or hipsense live with --port"):
        asyncio.run(B.scan(1, scanner=_Scanner(error=FileNotFoundError(2, "No such file or directory"))))


def test_devices_command_prints_a_table(monkeypatch, capsys):
    from hipsense.cli import main

    found = {"B": (BLEDevice("B", "near", None), _adv("hipsense-2", -41, [B.SERVICE_UUID]))}
    monkeypatch.setattr(B, "BleakScanner", _Scanner(found))
    assert main(["devices", "--timeout", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "hipsense-2" in out and "-41 dBm" in out and "sync --device" in out
