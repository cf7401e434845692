# COBS-framed sync frames over a byte stream (docs/sync-protocol.md): the part both links share.
#
# FramedLink(reader, writer, max_frame=64, max_reply=4096 + 17)
#   reader  has `async readinto(buf) -> n` (0 at the end of the stream)
#   writer  has `write(buf)` and `async drain()`
# recv() -> length of the next good frame in self.frame (-1 when the reader ends); send(buf, n).
# Buffers are allocated once. Subclasses hook on_frame() (a good frame arrived) and read() (how to wait
# for bytes).
import asyncio

import protocol as P
from micropython import const

_CHUNK = const(256)


class FramedLink:
    secure = True  # encrypted and bonded (a radio link says so per frame)
    physical = False  # a cable: trusted without keys (link_usb)

    def __init__(self, reader, writer, max_frame=64, max_reply=4096 + 17):
        self.reader = reader
        self.writer = writer
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
        self.bad_frames = 0
        self._sending = asyncio.Lock()  # replies and live packets share the link and _tx

    async def read(self, buf):
        return await self.reader.readinto(buf)

    def on_frame(self):
        pass

    async def recv(self):
        while True:
            if self._pos >= self._end:
                k = await self.read(self._inv)
                if not k:
                    return -1
                self._pos = 0
                self._end = k
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
                self.on_frame()
                return n
            if skipped:
                self.bad_frames += 1  # too long, malformed or too short: the host times out and retries

    async def send(self, buf, n):
        async with self._sending:
            m = P.cobs_encode(buf, n, self._tx)
            self._tx[m] = 0
            self.writer.write(self._txv[0 : m + 1])
            await self.writer.drain()
