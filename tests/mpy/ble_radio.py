"""A simulated clip over BLE: the firmware's BLE peripheral (firmware/link_ble.py) on MicroPython with the
fake aioble radio, and a fake :class:`bleak.BleakClient` that forwards to it (tests/mpy/ble_central.py),
so the host's real BleakTransport and sync engine run unchanged.

    with BleDevice({0x5: path}, mtu=247) as dev:
        BleakTransport.open(dev.address, client_factory=dev.client)

The clip holds the keys of ``key`` (an :class:`~hipsense.sync.auth.HostKey`: as after ``hipsense pair``,
whose key the host test keeps in its KeyRing) and its pairing window is open when ``window`` (as for
the minute after ``hipsense pair``); the fake radio bonds a new central only while it is open.

``dev.notify_fault`` (a callable taking the notification bytes and returning the list of byte strings
to deliver: [] drops, two copies duplicate, a changed copy flips bits) and ``dev.cut_after`` (cut the
link after this many notifications) inject faults on the air.
"""

from __future__ import annotations

import asyncio
import json
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bleak.exc import BleakError

from hipsense.sync.auth import HostKey
from tests.mpy.bridge import Bridge

_CODE = """
import asyncio, ble_central, pairing, sync
keys = pairing.Pairing("/sync_keys.json")
if {window}:
    keys.open()
server = sync.SyncServer("/sessions", ("HS-BLE", "1.0.0", "LSM6DSOX"), status=lambda: (3900, 77, 9000),
                         recorder=recorder, clock=StillClock(), max_chunk={max_chunk}, live=tap, pairing=keys)
await asyncio.create_task(ble_central.main(server, "hipsense-BLE", keys))
"""


class BleDevice:
    address = "F0:0D:00:00:00:01"

    def __init__(
        self,
        sessions: dict[int, Path],
        *,
        mtu: int = 247,
        max_chunk: int = 4096,
        live: np.ndarray | None = None,
        speed: float = 1.0,
        writer_args: dict | None = None,
        key: HostKey | None = None,
        window: bool = True,
    ):
        self.mtu = mtu
        self.notify_fault: Callable[[bytes], list[bytes]] | None = None
        self.cut_after: int | None = None
        self.notifications = 0  # on the air, device to host
        self.notified_bytes = 0
        self.writes = 0  # host to device
        self.written_bytes = 0
        #: what pair() does: "ok", "refuse" (BleakError) or "unsupported" (NotImplementedError, as on macOS)
        self.pairing = "ok"
        self._keys_dir = tempfile.TemporaryDirectory()
        extra: tuple[tuple[Path, str], ...] = ()
        if key is not None:  # the clip's key store as `hipsense pair` leaves it
            keys_file = Path(self._keys_dir.name) / "sync_keys.json"
            keys_file.write_text(
                json.dumps({"clip": key.clip_id.hex(), "keys": [[key.key_id.hex(), key.key.hex()]]})
            )
            extra = ((keys_file, "/sync_keys.json"),)
        self._ours, theirs = socket.socketpair()
        self.bridge = Bridge(
            _CODE.format(max_chunk=max_chunk, window=window),
            theirs.fileno(),
            sessions=sessions,
            modules=("ble_central.py",),
            live=live,
            speed=speed,
            writer_args=writer_args,
            extra_files=extra,
        )
        theirs.close()
        self._client: FakeBleakClient | None = None
        self._values: list[bytes] = []
        self._value_ready = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read_lines, daemon=True)
        self._thread.start()
        self.stdout = self.stderr = ""
        # The clip is up (MicroPython loaded, BleSync advertising) before any host code connects, so a
        # busy machine's slow start is not taken for a silent clip.
        if not self._ready.wait(60):
            self.close()
            raise RuntimeError(f"the simulated clip did not start: {self.stderr[-2000:]}")

    # -- the radio ----------------------------------------------------------------------------------

    def send(self, line: str) -> None:
        self._ours.sendall(line.encode() + b"\n")

    def _read_lines(self) -> None:
        buf = b""
        while True:
            try:
                data = self._ours.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            *lines, buf = buf.split(b"\n")
            for line in lines:
                self._dispatch(line)

    def _dispatch(self, line: bytes) -> None:
        kind, _, arg = line.partition(b" ")
        if kind == b"READY":
            self._ready.set()
        elif kind == b"V":
            self._values.append(bytes.fromhex(arg.decode()))
            self._value_ready.set()
        elif kind == b"N" and self._client is not None:
            self._client.notified(bytes.fromhex(arg.decode()))

    def read_value(self, uuid: str) -> bytes:
        self._value_ready.clear()
        self.send(f"R {uuid}")
        if not self._value_ready.wait(10):
            raise TimeoutError("no value from the simulated clip")
        return self._values.pop(0)

    def client(
        self, address: str, disconnected_callback=None, timeout: float = 20.0, **_kw
    ) -> FakeBleakClient:
        """What the host code gets instead of ``BleakClient(address, ...)``."""
        self._client = FakeBleakClient(self, address, disconnected_callback)
        return self._client

    def close(self) -> None:
        # shutdown first: close() alone would wait for the reader thread's recv (no EOF for the clip)
        try:
            self._ours.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._ours.close()
        self.stdout, self.stderr = self.bridge.finish()
        self._keys_dir.cleanup()

    def __enter__(self) -> BleDevice:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FakeBleakClient:
    """The part of :class:`bleak.BleakClient` the host uses, carried to the simulated clip."""

    def __init__(self, radio: BleDevice, address: str, disconnected_callback):
        self.radio = radio
        self.address = address
        self._gone = disconnected_callback
        self._callback = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.is_connected = False

    @property
    def mtu_size(self) -> int:
        return self.radio.mtu

    async def connect(self, **_kw) -> None:
        self._loop = asyncio.get_running_loop()
        self.radio.send(f"C {self.radio.mtu}")
        self.is_connected = True

    async def pair(self, *_a, **_kw) -> None:
        if self.radio.pairing == "refuse":
            raise BleakError("Authentication Failed")
        if self.radio.pairing == "unsupported":
            raise NotImplementedError("pairing is handled by the operating system")
        self.radio.send("P")

    async def start_notify(self, uuid: str, callback) -> None:
        self._callback = callback

    async def write_gatt_char(self, uuid: str, data: bytes, response: bool | None = None) -> None:
        if not self.is_connected:
            raise OSError("not connected")
        if len(data) > self.radio.mtu - 3:
            raise ValueError("write longer than MTU - 3")
        self.radio.writes += 1
        self.radio.written_bytes += len(data)
        self.radio.send("W " + bytes(data).hex())

    async def read_gatt_char(self, uuid: str, **_kw) -> bytearray:
        return bytearray(await asyncio.to_thread(self.radio.read_value, uuid))

    async def disconnect(self) -> None:
        if self.is_connected:
            self.is_connected = False
            self.radio.send("D")

    def notified(self, data: bytes) -> None:
        # Called on the radio thread: apply faults, then hand over to the event loop.
        if not self.is_connected or self._loop is None:
            return
        radio = self.radio
        radio.notifications += 1
        radio.notified_bytes += len(data)
        if radio.cut_after is not None and radio.notifications >= radio.cut_after:
            radio.cut_after = None
            self.is_connected = False
            radio.send("D")
            if self._gone:
                self._loop.call_soon_threadsafe(self._gone, self)
            return
        for piece in radio.notify_fault(data) if radio.notify_fault else [data]:
            self._loop.call_soon_threadsafe(self._callback, None, bytearray(piece))
