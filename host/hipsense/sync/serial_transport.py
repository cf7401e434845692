"""The USB serial link (pyserial). A reader thread hands bytes to the event loop.

The thread hands over at most :data:`READS_IN_FLIGHT` reads of at most :data:`READ_MAX` bytes that the
loop has not yet taken; beyond that it stops reading, so a device that sends faster than the host
can deframe (a flood of tiny bad frames) is held back by the port's own buffer instead of piling up
callbacks in the host's memory.
"""

from __future__ import annotations

import asyncio
import errno
import threading

import serial
from serial.tools import list_ports

from hipsense.sync.errors import DeviceNotFound, PortBusy
from hipsense.sync.transport import StreamTransport

#: USB vendor id of Espressif's built-in USB serial (ESP32-S3 without a USB-UART chip).
ESPRESSIF_VID = 0x303A

#: bytes per read of the port, and reads handed to the event loop but not yet taken by it (4 MiB)
READ_MAX = 65536
READS_IN_FLIGHT = 64


def find_port() -> str:
    """The serial port of the one clip plugged in; :class:`DeviceNotFound` when there is none or several."""
    ports = [p.device for p in list_ports.comports() if p.vid == ESPRESSIF_VID]
    if not ports:
        raise DeviceNotFound("no clip found on USB (is it plugged in and switched on?); or give --port PORT")
    if len(ports) > 1:
        raise DeviceNotFound(f"several clips found on USB ({', '.join(ports)}): choose one with --port")
    return ports[0]


def open_serial(port: str, baudrate: int = 115200) -> serial.Serial:
    """Open ``port`` for this process only, with a clear error when it is missing or busy."""
    try:
        return serial.Serial(port, baudrate, timeout=0.05, write_timeout=5, exclusive=True)
    except serial.SerialException as e:
        code = getattr(e, "errno", None)
        text = str(e)
        if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "FileNotFoundError" in text:
            raise DeviceNotFound(f"no serial port {port} (is the clip plugged in?)") from None
        # pyserial says "Could not exclusively lock port" (POSIX) or "PermissionError" (Windows: in use).
        if (
            code in (errno.EBUSY, errno.EACCES, errno.EAGAIN)
            or "exclusively lock" in text
            or "PermissionError" in text
        ):
            raise PortBusy(
                f"serial port {port} is busy: another program has it open (close mpremote, screen or a "
                "serial monitor) or you lack permission to use it"
            ) from None
        raise DeviceNotFound(f"cannot open serial port {port}: {text}") from None


class SerialTransport(StreamTransport):
    """Frames over a serial port; construct with :meth:`open` inside the event loop."""

    physical = True  # the USB cable

    def __init__(self, ser: serial.Serial, loop: asyncio.AbstractEventLoop):
        super().__init__()
        self.ser = ser
        self.name = ser.port or "serial port"
        self._loop = loop
        self._stop = threading.Event()
        self._room = threading.Semaphore(READS_IN_FLIGHT)
        self._thread = threading.Thread(target=self._read_loop, name=f"serial {self.name}", daemon=True)
        self._thread.start()

    @classmethod
    async def open(cls, port: str) -> SerialTransport:
        return cls(open_serial(port), asyncio.get_running_loop())

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            if not self._room.acquire(timeout=0.05):
                continue  # the loop is behind: leave the bytes in the port until it catches up
            try:
                data = self.ser.read(min(READ_MAX, max(1, self.ser.in_waiting)))
            except (serial.SerialException, OSError, TypeError) as e:
                if not self._stop.is_set():
                    self._loop.call_soon_threadsafe(self.lost, f"lost the link to {self.name}: {e}")
                return
            if data:
                self._loop.call_soon_threadsafe(self._take, data)
            else:
                self._room.release()

    def _take(self, data: bytes) -> None:
        self._room.release()
        self.received(data)

    async def write(self, data: bytes) -> None:
        try:
            await asyncio.to_thread(self.ser.write, data)
        except (serial.SerialException, OSError) as e:
            self.lost(f"lost the link to {self.name}: {e}")

    async def close(self) -> None:
        self._stop.set()
        try:
            await asyncio.to_thread(self._thread.join, 1.0)
        finally:  # even when cancelled meanwhile (a second Ctrl-C): never leave the port locked
            self.ser.close()
