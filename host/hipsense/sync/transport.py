"""The link the sync logic talks through: frames in, frames out. It knows nothing of pyserial or bleak.

Both links carry the same byte stream (COBS-encoded frames, each followed by 0x00), so a transport
only moves bytes; :class:`StreamTransport` does the framing for all of them.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod

from hipsense.sync.errors import LinkLost
from hipsense.sync.protocol import Deframer, Frame, wire


class Transport(ABC):
    """A connected link to one device."""

    #: what to call the link in messages, e.g. the serial port
    name: str = "device"
    #: time.monotonic() when bytes last arrived (a long reply in progress keeps requests waiting)
    last_rx: float = 0.0
    #: a cable (USB): the clip trusts it without a key proof (docs/security.md)
    physical: bool = False
    #: the peer's radio address as this computer sees it ("" for a cable): a paired clip's is pinned
    peer: str = ""

    @abstractmethod
    async def send(self, frame: bytes) -> None:
        """Send one frame (its bytes before link framing)."""

    @abstractmethod
    async def recv(self) -> Frame:
        """The next valid frame; raises :class:`LinkLost` when the link drops."""

    @abstractmethod
    async def close(self) -> None:
        """Let go of the link (idempotent)."""

    @property
    @abstractmethod
    def bad_frames(self) -> int:
        """Frames dropped because they did not decode (COBS, length or CRC)."""


class StreamTransport(Transport):
    """Framing over a byte stream. Subclasses call :meth:`received` / :meth:`lost` and write bytes."""

    def __init__(self) -> None:
        self._deframer = Deframer()
        self._frames: asyncio.Queue[Frame | None] = asyncio.Queue()
        self._lost: str | None = None
        self._sent = False

    @abstractmethod
    async def write(self, data: bytes) -> None:
        """Put bytes on the link."""

    async def send(self, frame: bytes) -> None:
        if self._lost:
            raise LinkLost(self._lost)
        # A leading delimiter ends whatever partial frame the device may hold from before.
        await self.write(wire(frame) if self._sent else b"\x00" + wire(frame))
        self._sent = True

    def received(self, data: bytes) -> None:
        """Bytes arrived (call on the event loop)."""
        self.last_rx = time.monotonic()
        for frame in self._deframer.feed(data):
            self._frames.put_nowait(frame)

    def lost(self, why: str) -> None:
        """The link dropped (call on the event loop)."""
        self._lost = why
        self._frames.put_nowait(None)

    async def recv(self) -> Frame:
        frame = await self._frames.get()
        if frame is None:
            self._frames.put_nowait(None)  # every later recv() fails too
            raise LinkLost(self._lost or f"lost the link to {self.name}")
        return frame

    @property
    def bad_frames(self) -> int:
        return self._deframer.bad
