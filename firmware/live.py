# Live streaming (docs/sync-protocol.md, "Live streaming"): samples go to the session file as always
# and, while a host streams, also out as numbered LIVE frames.
#
# LiveTap(writer=None, capacity=416, per_packet=16, channels=6) watches the session writer:
#   copy(samples, n, first) (called by the sampler after each writer.append, or through append()) copies
#   the batch into a ring buffer (allocated once; at most two slice copies) while streaming; it never
#   waits for the link, so recording never slows down. When the link falls behind, the oldest samples
#   in the ring are dropped and the next packet says so: the host records a gap, never interpolates.
#   append(samples, n, t_ms, flags=0, lost=0) = writer.append() + copy().
#   attach(writer): the next session's writer (one tap lives as long as the device).
#   start(link) / stop(): begin / end streaming over a link (SyncServer calls them for LIVE_START /
#   LIVE_STOP and stops when its link closes).
# A LIVE frame: type LIVE, req_id = packet sequence (u16, wraps), body first_index u32, n u8,
# flags u8 (bit 0: samples were dropped right before this packet), n x channels int16.
import array
import asyncio
import struct

import protocol as P
import uctypes
from micropython import const

LIVE_DROPPED = const(0x01)
_HEAD = const(6)
_WAIT_MS = const(100)


class LiveTap:
    def __init__(self, writer=None, capacity=416, per_packet=16, channels=6):
        self.writer = writer
        self.channels = writer.channels if writer is not None else channels
        self.cap = capacity
        self.per_packet = per_packet
        self.ring = array.array("h", bytes(2 * self.channels * capacity))
        # Samples move in and out as slices, never value by value: in as int16 items, out as the same
        # memory seen as bytes (little-endian on the ESP32 as on the wire). Views made once.
        self._ring_h = memoryview(self.ring)
        self._ring_b = memoryview(
            uctypes.bytearray_at(uctypes.addressof(self.ring), 2 * self.channels * capacity)
        )
        self.out = bytearray(P.OVERHEAD + _HEAD + 2 * self.channels * per_packet)
        self._out = memoryview(self.out)
        self.link = None
        self.wake = asyncio.Event()
        self._reset()

    def _reset(self):
        self.pos = 0  # ring slot of the oldest sample
        self.count = 0
        self.first = 0  # sample index of the oldest sample
        self.gap = False
        self.seq = 0
        self.packets = 0
        self.dropped = 0

    def start(self, link):
        self._reset()
        self.first = self.writer.next_index
        self.link = link
        asyncio.create_task(self._stream(link))

    def stop(self):
        self.link = None
        self.wake.set()

    def attach(self, writer):
        # A new session: the old one's sample indices end here, so its stream ends too.
        self.stop()
        self.writer = writer

    def append(self, samples, n, t_ms, flags=0, lost=0):
        self.writer.append(samples, n, t_ms, flags, lost)
        self.copy(samples, n, self.writer.next_index - n)

    def copy(self, samples, n, first):
        # samples[0:n] were just written with indices first .. first + n - 1.
        if self.link is None or n <= 0:
            return
        if first != self.first + self.count:  # the timeline jumped: what is buffered cannot join it
            self.dropped += self.count
            self.count = 0
            self.gap = True
        cap = self.cap
        skip = 0
        if n > cap:  # more than the ring holds: only the newest cap samples can stay
            skip = n - cap
            self.dropped += self.count + skip
            self.count = 0
            self.gap = True
            first += skip
            n = cap
        if self.count == 0:
            self.first = first
            self.pos = 0
        over = self.count + n - cap
        if over > 0:  # full: the oldest samples make room
            self.pos = (self.pos + over) % cap
            self.first += over
            self.count -= over
            self.dropped += over
            self.gap = True
        C = self.channels
        src = memoryview(samples)
        ring = self._ring_h
        at = (self.pos + self.count) % cap
        a = min(n, cap - at)  # up to the ring's end, the rest from its start
        ring[at * C : (at + a) * C] = src[skip * C : (skip + a) * C]
        if a < n:
            ring[0 : (n - a) * C] = src[(skip + a) * C : (skip + n) * C]
        self.count += n
        if self.count >= self.per_packet:
            self.wake.set()

    async def _stream(self, link):
        size = 2 * self.channels  # bytes per sample
        out = self.out
        while self.link is link:
            if self.count < self.per_packet:
                self.wake.clear()
                try:
                    await asyncio.wait_for_ms(self.wake.wait(), _WAIT_MS)
                except asyncio.TimeoutError:
                    pass
                if self.link is not link or self.count == 0:
                    continue
            n = min(self.count, self.per_packet)
            struct.pack_into("<IBB", out, P.HEAD_SIZE, self.first, n, LIVE_DROPPED if self.gap else 0)
            p = P.HEAD_SIZE + _HEAD
            pos = self.pos
            a = min(n, self.cap - pos)
            self._out[p : p + a * size] = self._ring_b[pos * size : (pos + a) * size]
            p += a * size
            if a < n:
                self._out[p : p + (n - a) * size] = self._ring_b[0 : (n - a) * size]
                p += (n - a) * size
            self.gap = False
            self.pos = (self.pos + n) % self.cap
            self.first += n
            self.count -= n
            m = P.seal(out, P.LIVE, self.seq & 0xFFFF, p - P.HEAD_SIZE)
            self.seq += 1
            self.packets += 1
            try:
                await link.send(out, m)
            except OSError:  # the link went away: stop streaming, keep recording
                self.link = None
