"""The BLE link (bleak): the sync byte stream written to the control characteristic and notified on the
data characteristic, in pieces of at most MTU - 3 bytes (docs/sync-protocol.md, "The BLE link").

Only :class:`bleak.BleakClient` and :class:`bleak.BleakScanner` touch the radio; tests pass a
``client_factory`` that forwards to the firmware running on MicroPython.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.exc import BleakBluetoothNotAvailableError, BleakDeviceNotFoundError, BleakError

from hipsense.sync.errors import DeviceNotFound, SyncError
from hipsense.sync.transport import StreamTransport

SERVICE_UUID = "f5a20001-3b6c-4e8a-9a61-2d4c7e5b9c10"
CONTROL_UUID = "f5a20002-3b6c-4e8a-9a61-2d4c7e5b9c10"
DATA_UUID = "f5a20003-3b6c-4e8a-9a61-2d4c7e5b9c10"
STATUS_UUID = "f5a20004-3b6c-4e8a-9a61-2d4c7e5b9c10"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"


class NoBluetooth(SyncError):
    """The laptop has no usable Bluetooth adapter."""


class PairingRefused(SyncError):
    """The clip or the operating system refused to pair."""


def _no_adapter(e: Exception) -> NoBluetooth:
    return NoBluetooth(
        f"Bluetooth is not available on this computer ({e}); use the USB cable instead: "
        "hipsense sync or hipsense live with --port PORT"
    )


class BleakTransport(StreamTransport):
    """Frames over BLE through a connected ``BleakClient``; construct with :meth:`open`."""

    def __init__(self, client: Any, name: str):
        super().__init__()
        self.client = client
        self.name = name

    @classmethod
    async def open(
        cls, address: str, *, client_factory: Callable[..., Any] = BleakClient, timeout_s: float = 20.0
    ) -> BleakTransport:
        """Connect, pair (bonded, LE Secure Connections; the OS remembers it) and subscribe."""
        holder: list[BleakTransport] = []

        def gone(_client: Any) -> None:
            if holder:
                holder[0].lost(f"lost the Bluetooth link to {address}")

        client = client_factory(address, disconnected_callback=gone, timeout=timeout_s)
        try:
            await client.connect()
        except BleakDeviceNotFoundError:
            raise DeviceNotFound(
                f"no clip {address} in range (is it switched on? `hipsense devices` lists clips)"
            ) from None
        except (
            BleakBluetoothNotAvailableError,
            FileNotFoundError,
        ) as e:  # FileNotFoundError: no D-Bus (Linux)
            raise _no_adapter(e) from None
        except (BleakError, asyncio.TimeoutError, OSError) as e:
            raise DeviceNotFound(f"cannot connect to the clip {address}: {e}") from None
        transport = cls(client, f"clip {address}")
        transport.peer = address
        holder.append(transport)
        try:
            await client.pair()
        except NotImplementedError:
            pass  # macOS pairs by itself when the link needs it
        except BleakError as e:
            await client.disconnect()
            raise PairingRefused(
                f"pairing with the clip {address} was refused ({e}); remove it from the computer's Bluetooth "
                "devices and run sync again"
            ) from None
        await client.start_notify(DATA_UUID, lambda _char, data: transport.received(bytes(data)))
        return transport

    async def write(self, data: bytes) -> None:
        step = max(20, (self.client.mtu_size or 23) - 3)
        try:
            for i in range(0, len(data), step):
                await self.client.write_gatt_char(CONTROL_UUID, data[i : i + step], response=False)
        except (BleakError, OSError) as e:
            self.lost(f"lost the Bluetooth link to {self.name}: {e}")

    async def close(self) -> None:
        try:
            await self.client.disconnect()
        except (BleakError, OSError):
            pass


@dataclass(frozen=True)
class FoundClip:
    address: str
    name: str
    rssi: int


async def scan(timeout_s: float = 5.0, scanner: Any = None) -> list[FoundClip]:
    """Clips advertising the hipsense sync service, strongest signal first (``scanner``: BleakScanner)."""
    scanner = scanner or BleakScanner
    try:
        found = await scanner.discover(timeout=timeout_s, return_adv=True, service_uuids=[SERVICE_UUID])
    except (BleakBluetoothNotAvailableError, OSError) as e:  # no adapter; on Linux also no BlueZ / D-Bus
        raise _no_adapter(e) from None
    except BleakError as e:
        raise NoBluetooth(f"cannot scan for clips: {e}") from None
    clips = [
        FoundClip(dev.address, adv.local_name or dev.name or "?", adv.rssi)
        for dev, adv in found.values()
        if SERVICE_UUID in [u.lower() for u in adv.service_uuids]
    ]
    return sorted(clips, key=lambda c: -c.rssi)
