# Sync frames over USB serial: COBS-encoded, each followed by a 0x00 delimiter (docs/sync-protocol.md).
#
# UsbLink(reader, writer, max_frame=sync.MAX_REQUEST, max_reply=..., idle_ms=5000)
#   reader  has `async readinto(buf) -> n` (asyncio.StreamReader(sys.stdin.buffer) on the board)
#   writer  has `write(buf)` and `async drain()` (asyncio.StreamWriter(sys.stdout.buffer))
# recv() -> length of the next good frame in self.frame (-1 when the reader ends); send(buf, n).
# While frames arrive, Ctrl-C (0x03, which can occur in any frame) must not interrupt the firmware:
# the first good frame disables it (micropython.kbd_intr(-1)); idle_ms without a frame restores it, so
# a developer can still reach the REPL. The host's first frame contains no 0x03 byte.
import asyncio

import micropython
import protocol as P
from micropython import const

_CHUNK = const(256)


class UsbLink:
    secure = True  # a cable is physical access

    def __init__(self, reader, writer, max_frame=64, max_reply=4096 + 17, idle_ms=5000):
        self.reader = reader
        self.writer = writer
        self.idle_ms = idle_ms
        self.frame = bytearray(max_frame)
        self._raw = bytearray(P.cobs_max(max_frame))
        self._rn = 0
        self._skip = False  # dropping an over-long frame until its delimiter
        self._in = bytearray(_CHUNK)
        self._inv = memoryview(self._in)
        self._pos = 0
        self._end = 0
        self._tx = bytearray(P.cobs_max(max_reply) + 1)
        self._txv = memoryview(self._tx)
        self.quiet = False  # Ctrl-C disabled
        self.bad_frames = 0

    async def recv(self):
        while True:
            if self._pos >= self._end:
                if not await self._fill():
                    self._restore()
                    return -1
                continue
            z = self._in.find(b"\x00", self._pos, self._end)
            stop = self._end if z < 0 else z
            k = stop - self._pos
            if not self._skip:
                if self._rn + k > len(self._raw):
                    self._skip = True
                else:
                    self._raw[self._rn : self._rn + k] = self._inv[self._pos : stop]
                    self._rn += k
            self._pos = stop
            if z < 0:
                continue
            self._pos += 1  # the delimiter
            n = -1 if self._skip or self._rn == 0 else P.cobs_decode(self._raw, self._rn, self.frame)
            skipped = self._skip or self._rn
            self._rn = 0
            self._skip = False
            if n >= P.OVERHEAD:
                if not self.quiet:
                    micropython.kbd_intr(-1)
                    self.quiet = True
                return n
            if skipped:
                self.bad_frames += 1  # too long, malformed or too short: the host times out and retries

    async def _fill(self):
        # Read what is there; after idle_ms without bytes give Ctrl-C back. False at end of stream.
        while True:
            try:
                if self.quiet:
                    k = await asyncio.wait_for_ms(self.reader.readinto(self._inv), self.idle_ms)
                else:
                    k = await self.reader.readinto(self._inv)
            except asyncio.TimeoutError:
                self._restore()
                continue
            if not k:
                return False
            self._pos = 0
            self._end = k
            return True

    def _restore(self):
        if self.quiet:
            micropython.kbd_intr(3)
            self.quiet = False

    async def send(self, buf, n):
        m = P.cobs_encode(buf, n, self._tx)
        self._tx[m] = 0
        self.writer.write(self._txv[0 : m + 1])
        await self.writer.drain()
