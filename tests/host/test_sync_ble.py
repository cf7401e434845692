"""The host's BleakTransport and sync engine against the firmware's BLE peripheral on MicroPython.

Only BleakClient is replaced (tests/mpy/ble_radio.py forwards its calls to the fake aioble radio the
firmware serves); MTU 23 and 247, notifications dropped, duplicated, reordered and bit-flipped, links
cut mid-transfer, pairing refused or left to the operating system. The laptop proves the key
``hipsense pair`` gave the clip (docs/security.md); without a bond (pairing window closed), without a
key or with a wrong one it gets nothing. ``hipsense devices`` with a fake scanner (no radio here).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from pathlib import Path

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from hipsense.cli.clip import keep_in_store
from hipsense.store import Store
from hipsense.sync import ble_transport as B
from hipsense.sync.auth import HostKey, KeyRing, NotPaired
from hipsense.sync.engine import STORED, SyncOptions, sync_device
from tests.mpy.ble_radio import BleDevice
from tests.mpy.harness import unavailable_reason

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
SESSIONS = {0x01: VECTORS / "three_axis_accel.session", 0x2A: VECTORS / "six_axis_gap_overflow.session"}
needs_mp = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


CLIP_ID = bytes.fromhex("c11bc11bc11bc11b")


@pytest.fixture
def key(tmp_path) -> HostKey:
    """The key `hipsense pair` left on this laptop (its KeyRing under tmp_path/home/keys) and the clip."""
    ring = KeyRing(tmp_path / "home" / "keys")
    key = HostKey.new(ring.laptop_id(), CLIP_ID, "HS-BLE")
    ring.save(key)
    return key


def _sync(dev: BleDevice, home: Path, **opts):
    with Store(home) as store:
        report = asyncio.run(
            sync_device(
                lambda: B.BleakTransport.open(dev.address, client_factory=dev.client),
                keep_in_store(store, "default"),
                home / "incoming",
                SyncOptions(**opts),
                keys=KeyRing(home / "keys"),
            )
        )
        stored = {sha: store.raw_path(sha).read_bytes() for sha in store.sessions()["sha256"]}
    return report, stored


def _check_all_stored(report, stored):
    assert [s.status for s in report.sessions] == [STORED] * len(SESSIONS)
    assert all(s.deleted for s in report.sessions), report.sessions
    for path in SESSIONS.values():
        data = path.read_bytes()
        assert stored[hashlib.sha256(data).hexdigest()] == data


@needs_mp
@pytest.mark.parametrize("mtu", [23, 247])
def test_sync_over_ble(tmp_path, mtu, key):
    with BleDevice(SESSIONS, mtu=mtu, key=key) as dev:
        report, stored = _sync(dev, tmp_path / "home")

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
def test_faults_on_the_air_and_a_cut_link(tmp_path, mtu, key):
    counts: dict = {}
    with BleDevice(SESSIONS, mtu=mtu, max_chunk=1024, key=key) as dev:
        # About one reply in six is damaged, whatever the MTU (a reply is ~1040 / (MTU - 3) notifications).
        dev.notify_fault = _air_faults(random.Random(mtu), 0.15 * (mtu - 3) / 1040, counts)
        dev.cut_after = 40  # the link drops mid-transfer: the engine reconnects and goes on
        report, stored = _sync(dev, tmp_path / "home", timeout_s=0.5, backoff_s=0.02)
    print(f"\nMTU {mtu}: air faults {counts}, reconnects {report.reconnects}, resends {report.resends}")
    assert sum(counts.values()) >= 3 and report.reconnects >= 1
    _check_all_stored(report, stored)


@needs_mp
def test_pairing_refused_is_a_one_line_error(tmp_path, key):
    with BleDevice(SESSIONS, key=key) as dev:
        dev.pairing = "refuse"
        with pytest.raises(B.PairingRefused, match="pairing with the clip .* was refused"):
            _sync(dev, tmp_path / "home")


def _nothing_synced(dev: BleDevice, home: Path, match: str) -> None:
    with pytest.raises(NotPaired, match=match):
        _sync(dev, home)
    with Store(home) as store:
        assert store.sessions().empty
    assert not (home / "incoming").exists() or not list((home / "incoming").iterdir())


@needs_mp
def test_unpaired_link_gets_no_data_and_deletes_nothing(tmp_path, key):
    # As on macOS when the OS did not pair: no encryption, no bond; the clip answers INFO only.
    with BleDevice(SESSIONS, key=key) as dev:
        dev.pairing = "unsupported"
        _nothing_synced(dev, tmp_path / "home", "not encrypted and bonded")


@needs_mp
def test_no_bond_outside_the_pairing_window(tmp_path, key):
    # The laptop holds the right key, but its Bluetooth pairing came after the clip's window closed:
    # the link is encrypted without a bond, and the clip refuses it.
    with BleDevice(SESSIONS, key=key, window=False) as dev:
        _nothing_synced(dev, tmp_path / "home", "not encrypted and bonded")


@needs_mp
def test_a_laptop_without_the_key_gets_nothing(tmp_path, key):
    # Bonded in the window (anyone in range could have done that), but never paired over USB.
    with BleDevice(SESSIONS, key=key) as dev:
        _nothing_synced(dev, tmp_path / "other-laptop", "holds no key for the clip HS-BLE")


@needs_mp
def test_a_wrong_key_gets_nothing(tmp_path, key):
    ring = KeyRing(tmp_path / "forger" / "keys")
    ring.save(HostKey.new(key.key_id, CLIP_ID, "HS-BLE"))  # the clip id is public, the key is not
    with BleDevice(SESSIONS, key=key) as dev:
        _nothing_synced(dev, tmp_path / "forger", "did not accept this laptop's key")


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
