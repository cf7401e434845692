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


def _exact(first, n, vals):
    # the packet's samples are the ones at its indices, every value
    return list(vals) == [(first * 6 + j) % 30000 for j in range(6 * n)]


def _packets(link):
    out = []
    for f in link.frames:
        head = P.check(bytearray(f), len(f))
        assert head is not None and head[0] == P.LIVE
        first, n, flags = struct.unpack_from("<IBB", f, P.HEAD_SIZE)
        vals = struct.unpack_from("<%dh" % (6 * n), f, P.HEAD_SIZE + 6)
        out.append((head[1], first, n, flags, vals))
    return out


async def _keeping_up(capacity, size, batches):
    # size-sample batches into the ring, the next once the stream has sent what it could (fewer than
    # per_packet left), so with capacity >= 15 + size a link that keeps up must lose nothing, however
    # slow the machine. Every packet must be in order, contiguous and exact.
    w = CountingWriter()
    tap = live.LiveTap(w, capacity=capacity, per_packet=16)
    link = FrameLink()
    tap.start(link)
    for b in range(batches):
        tap.append(_batch(size * b, size), size, 0)
        while tap.count >= 16:
            await asyncio.sleep_ms(0)
    await asyncio.sleep_ms(150)  # the tail goes out after the wait
    tap.stop()
    assert w.got == size * batches  # the writer got every sample
    pk = _packets(link)
    assert tap.dropped == 0 and [p[0] for p in pk] == list(range(len(pk)))
    expect = 0
    for _seq, first, n, flags, vals in pk:
        assert first == expect and flags == 0 and _exact(first, n, vals)
        expect += n
    assert expect == size * batches


async def test_packets_are_numbered_contiguous_and_exact():
    await asyncio.create_task(_keeping_up(64, 10, 20))


async def test_the_ring_wraps_without_losing_or_reordering():
    # 7-sample batches into a 23-sample ring, drained 16 at a time: the copies and the packets cross
    # the ring's end at many offsets.
    await asyncio.create_task(_keeping_up(23, 7, 60))


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
        assert _exact(first, n, vals)
        if prev_end is not None and first != prev_end:
            assert flags & live.LIVE_DROPPED, (first, prev_end)
        prev_end = first + n
    assert w.got == 324


async def test_a_batch_larger_than_the_ring_keeps_its_newest_samples():
    await asyncio.create_task(_big())


async def _big():
    w = CountingWriter()
    tap = live.LiveTap(w, capacity=20, per_packet=16)
    link = FrameLink()
    tap.start(link)
    tap.append(_batch(0, 5), 5, 0)  # buffered, then pushed out by the big batch
    tap.append(_batch(5, 50), 50, 0)  # 50 > 20: samples 5..34 cannot be kept
    await asyncio.sleep_ms(150)
    tap.stop()
    pk = _packets(link)
    assert tap.dropped == 5 + 30
    assert pk[0][1] == 35 and pk[0][3] & live.LIVE_DROPPED
    assert sum(p[2] for p in pk) == 20 and all(_exact(p[1], p[2], p[4]) for p in pk)
