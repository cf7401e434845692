# MicroPython tests of firmware/live.py: the tap writes through, streams numbered packets, records gaps.
import array
import asyncio
import struct

import live
import protocol as P
from fake_sync import CountingWriter, FrameLink


def _batch(start, n):
    a = array.array("h", bytes(12 * n))
    for i in range(n):
        for c in range(6):
            a[i * 6 + c] = ((start + i) * 6 + c) % 30000
    return a


def _packets(link):
    out = []
    for f in link.frames:
        head = P.check(bytearray(f), len(f))
        assert head is not None and head[0] == P.LIVE
        first, n, flags = struct.unpack_from("<IBB", f, P.HEAD_SIZE)
        vals = struct.unpack_from("<%dh" % (6 * n), f, P.HEAD_SIZE + 6)
        out.append((head[1], first, n, flags, vals))
    return out


async def test_packets_are_numbered_contiguous_and_exact():
    await asyncio.create_task(_contiguous())


async def _contiguous():
    w = CountingWriter()
    tap = live.LiveTap(w, capacity=64, per_packet=16)
    link = FrameLink()
    tap.start(link)
    idx = 0
    for _ in range(20):
        tap.append(_batch(idx, 10), 10, 0)
        idx += 10
        await asyncio.sleep_ms(1)
    await asyncio.sleep_ms(150)  # the tail goes out after the wait
    tap.stop()
    assert w.got == 200  # the writer got every sample
    pk = _packets(link)
    assert [p[0] for p in pk] == list(range(len(pk)))
    expect = 0
    for _seq, first, n, flags, vals in pk:
        assert first == expect and flags == 0
        assert vals[0] == (first * 6) % 30000
        expect += n
    assert expect == 200


async def test_a_slow_link_drops_oldest_and_says_so():
    await asyncio.create_task(_slow())


async def _slow():
    w = CountingWriter()
    tap = live.LiveTap(w, capacity=32, per_packet=16)
    link = FrameLink(slow_ms=30)
    tap.start(link)
    idx = 0
    for _ in range(40):
        tap.append(_batch(idx, 8), 8, 0)  # recording never waits for the link
        idx += 8
        await asyncio.sleep_ms(2)
    tap.append(_batch(idx + 5, 4), 4, 0, 0, 5)  # an IMU gap of 5 samples
    await asyncio.sleep_ms(400)
    tap.stop()
    pk = _packets(link)
    assert tap.dropped > 0 and any(p[3] & live.LIVE_DROPPED for p in pk)
    # every packet's samples are the real samples at its indices; a jump always carries the flag
    prev_end = None
    for _seq, first, n, flags, vals in pk:
        assert vals[0] == (first * 6) % 30000 and vals[-1] == ((first + n) * 6 - 1) % 30000
        if prev_end is not None and first != prev_end:
            assert flags & live.LIVE_DROPPED, (first, prev_end)
        prev_end = first + n
    assert w.got == 324
