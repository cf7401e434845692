# Test doubles for firmware/sync.py and the links (run on MicroPython): a unix clock that stands
# still, a recorder that only tracks its state, in-memory byte streams with the interface of
# MicroPython's asyncio streams, the host's side of the wire (frames in, frames out), and what a
# live.LiveTap needs around it (a writer that only counts, a link that keeps the frames sent).
import asyncio

import protocol as P


class StillClock:
    # unix seconds, 0 until set; does not advance (so replies are the same every run).
    def __init__(self, unix=0):
        self.unix = unix

    def get(self):
        return self.unix

    def set(self, unix):
        self.unix = unix


class FakeRecorder:
    def __init__(self, next_session=0x2B):
        self.next_session = next_session
        self.current = -1

    def active(self):
        return self.current

    def start(self):
        self.current = self.next_session
        return self.current

    def stop(self):
        sid, self.current = self.current, -1
        return sid


class MemoryReader:
    # Bytes fed by the test; readinto returns at most `piece` bytes at a time (a slow link), 0 at EOF.
    def __init__(self, data=b"", piece=64):
        self.data = bytearray(data)
        self.piece = piece
        self.eof = False
        self.event = asyncio.Event()

    def feed(self, data):
        self.data.extend(data)
        self.event.set()

    def close(self):
        self.eof = True
        self.event.set()

    async def readinto(self, buf):
        while not self.data:
            if self.eof:
                return 0
            self.event.clear()
            await self.event.wait()
        n = min(len(buf), len(self.data), self.piece)
        buf[0:n] = self.data[0:n]
        self.data = self.data[n:]
        return n


class MemoryWriter:
    def __init__(self):
        self.data = bytearray()

    def write(self, buf):
        self.data.extend(buf)

    async def drain(self):
        await asyncio.sleep_ms(0)


class CountingWriter:
    # What live.LiveTap needs of log.SessionWriter: channels, next_index, append (which only counts).
    channels = 6

    def __init__(self, next_index=0):
        self.next_index = next_index
        self.got = 0

    def append(self, samples, n, t_ms, flags=0, lost=0):
        self.next_index += lost + n
        self.got += n


class FrameLink:
    # A sync link that keeps every frame sent (bytes), taking slow_ms for each.
    def __init__(self, slow_ms=0):
        self.frames = []
        self.slow_ms = slow_ms

    async def send(self, buf, n):
        self.frames.append(bytes(buf[:n]))
        await asyncio.sleep_ms(self.slow_ms)


def wire(ftype, req, body=b""):
    # One frame as it goes on the link: COBS(frame) + 0x00.
    frame = bytearray(P.OVERHEAD + len(body))
    frame[P.HEAD_SIZE : P.HEAD_SIZE + len(body)] = body
    n = P.seal(frame, ftype, req, len(body))
    out = bytearray(P.cobs_max(n))
    m = P.cobs_encode(frame, n, out)
    return bytes(out[:m]) + b"\x00"


def decode_frames(stream):
    # Every complete frame in a byte stream from the device: [(type, req_id, body)]; a bad one fails.
    got = []
    for enc in bytes(stream).split(b"\x00")[:-1]:
        if not enc:
            continue
        raw = bytearray(len(enc))
        n = P.cobs_decode(bytearray(enc), len(enc), raw)
        head = P.check(raw, n)
        assert head is not None, enc
        ftype, req, length = head
        got.append((ftype, req, bytes(raw[P.HEAD_SIZE : P.HEAD_SIZE + length])))
    return got
