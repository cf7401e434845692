# Sync frames over BLE (docs/sync-protocol.md): a GATT peripheral with aioble.
#
# Services
#   hipsense sync   SERVICE_UUID: control (write / write without response: the host's byte stream),
#                   data (notify: the device's byte stream), status (read: the STATUS reply body)
#   Battery         0x180F: Battery Level 0x2A19 (read)
#   Device Info     0x180A: Manufacturer 0x2A29, Model 0x2A24, Serial 0x2A25, Firmware 0x2A26 (read)
# Both directions carry the same COBS-framed stream as USB serial, cut into writes and notifications of
# at most MTU - 3 bytes. Security (docs/security.md): a link counts as secure when it is encrypted and
# bonded (LE Secure Connections, "Just Works": the clip has no display or keys), and the server then
# also wants the host's proof of a key given over USB (AUTH). New bonds are made only while the
# pairing window (pairing.Pairing) is open: BleSync turns the stack's bonding on when it opens and off
# when it closes, so a central pairing outside it gets an encrypted link without a bond, which is
# refused everything but INFO and a minimal STATUS. Existing bonds reconnect at any time.
#
# BleSync(server, name, battery_pct=None, model="hipsense clip", serial="", pairing=None)
#   await run()   advertise, serve one central at a time, advertise again when it leaves
import asyncio

import aioble
import bluetooth
import protocol as P
from framing import FramedLink
from micropython import const

SERVICE_UUID = bluetooth.UUID("f5a20001-3b6c-4e8a-9a61-2d4c7e5b9c10")
CONTROL_UUID = bluetooth.UUID("f5a20002-3b6c-4e8a-9a61-2d4c7e5b9c10")
DATA_UUID = bluetooth.UUID("f5a20003-3b6c-4e8a-9a61-2d4c7e5b9c10")
STATUS_UUID = bluetooth.UUID("f5a20004-3b6c-4e8a-9a61-2d4c7e5b9c10")
BATTERY_SERVICE = bluetooth.UUID(0x180F)
BATTERY_LEVEL = bluetooth.UUID(0x2A19)
DEVICE_INFO = bluetooth.UUID(0x180A)
MANUFACTURER = bluetooth.UUID(0x2A29)
MODEL = bluetooth.UUID(0x2A24)
SERIAL = bluetooth.UUID(0x2A25)
FIRMWARE = bluetooth.UUID(0x2A26)

ADV_INTERVAL_US = const(250_000)
APPEARANCE = const(0x0540)  # generic sensor
PREFERRED_MTU = const(247)
# Pacing: after BURST notifications yield PACE_MS so the stack's buffers drain; a notification the
# stack refuses (OSError, out of buffers) is retried after RETRY_MS, up to RETRIES times.
BURST = const(4)
PACE_MS = const(2)
RETRY_MS = const(10)
RETRIES = const(50)


class _ControlReader:
    # The host's writes to the control characteristic, as a byte stream.
    def __init__(self, control, connection):
        self.control = control
        self.connection = connection
        self._data = b""
        self._pos = 0

    async def readinto(self, buf):
        while self._pos >= len(self._data):
            conn, data = await self.control.written()
            if conn is self.connection:
                self._data = data
                self._pos = 0
        n = min(len(buf), len(self._data) - self._pos)
        buf[0:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


class _NotifyWriter:
    # The device's byte stream as notifications of at most MTU - 3 bytes, paced.
    def __init__(self, data, connection):
        self.data = data
        self.connection = connection
        self._buf = b""
        self.notifications = 0
        self.refused = 0

    def write(self, buf):
        self._buf = buf

    async def drain(self):
        buf = self._buf
        self._buf = b""
        step = (self.connection.mtu or 23) - 3
        sent = 0
        for i in range(0, len(buf), step):
            tries = 0
            while True:
                try:
                    self.data.notify(self.connection, buf[i : i + step])
                    break
                except OSError:
                    self.refused += 1
                    tries += 1
                    if tries > RETRIES:
                        raise
                    await asyncio.sleep_ms(RETRY_MS)
            self.notifications += 1
            sent += 1
            if sent % BURST == 0:
                await asyncio.sleep_ms(PACE_MS)


class BleLink(FramedLink):
    def __init__(self, control, data, connection, max_reply=4096 + 17):
        FramedLink.__init__(
            self, _ControlReader(control, connection), _NotifyWriter(data, connection), max_reply=max_reply
        )
        self.connection = connection
        self.secure = False

    def on_frame(self):
        # Pairing may complete at any time during the connection: look again for every frame.
        self.secure = bool(self.connection.encrypted and self.connection.bonded)


class BleSync:
    def __init__(self, server, name, battery_pct=None, model="hipsense clip", serial="", pairing=None):
        self.server = server
        self.pairing = pairing
        if pairing is not None:
            pairing.listeners.append(self.bonding)
        self.name = name
        self.battery_pct = battery_pct
        sync = aioble.Service(SERVICE_UUID)
        self.control = aioble.Characteristic(
            sync, CONTROL_UUID, write=True, write_no_response=True, capture=True
        )
        self.data = aioble.Characteristic(sync, DATA_UUID, notify=True)
        self.status = aioble.Characteristic(sync, STATUS_UUID, read=True)
        battery = aioble.Service(BATTERY_SERVICE)
        self.battery = aioble.Characteristic(battery, BATTERY_LEVEL, read=True)
        info = aioble.Service(DEVICE_INFO)
        dev_id, fw, _ = server.info
        for uuid, value in (
            (MANUFACTURER, b"hipsense"),
            (MODEL, model),
            (SERIAL, serial or dev_id),
            (FIRMWARE, fw),
        ):
            aioble.Characteristic(info, uuid, read=True, initial=value)
        aioble.register_services(sync, battery, info)
        self.links = 0

    def bonding(self, allowed):
        # Whether the stack may make new bonds (the pairing window); bonds it holds are kept either way.
        aioble.config(bond=bool(allowed))

    def refresh(self):
        # The readable values: the minimal STATUS reply body (readable unencrypted) and battery level.
        n = self.server.handle_status()
        self.status.write(bytes(self.server.out[P.HEAD_SIZE : n - P.CRC_SIZE]))
        if self.battery_pct is not None:
            self.battery.write(bytes((self.battery_pct(),)))

    async def serve_connection(self, connection):
        # Serve one connected central until it disconnects.
        self.links += 1
        self.refresh()
        link = BleLink(self.control, self.data, connection, len(self.server.out))  # its longest reply
        task = asyncio.create_task(self.server.serve(link))
        await connection.disconnected(timeout_ms=None)
        task.cancel()
        return link

    async def run(self):
        aioble.config(mtu=PREFERRED_MTU)
        if self.pairing is not None:
            self.bonding(self.pairing.is_open())
        while True:
            connection = await aioble.advertise(
                ADV_INTERVAL_US, name=self.name, services=[SERVICE_UUID], appearance=APPEARANCE
            )
            await self.serve_connection(connection)
