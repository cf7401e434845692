# MicroPython tests of firmware/sampler.py with the fake chips; the host decodes in test_sampler_e2e.py.
import asyncio
import binascii
import io
import struct

import imu
import log
import machine
import micropython
import sampler
from mp_rig import rig, walk


def _blocks(data, bs=2048):
    # (type, flags, first_index, t_ms, n, lost) of every block; checks magic and CRC.
    res = []
    for o in range(bs, len(data), bs):
        blk = data[o : o + bs]
        assert blk[:4] == b"HSBK" and struct.unpack_from("<I", blk, bs - 4)[0] == binascii.crc32(
            blk[: bs - 4]
        )
        f = struct.unpack_from("<4sBBHIIIIHHI", blk, 0)
        res.append((f[2], f[3], f[6], f[7], f[8], f[10]))
    return res


def _setup(chip, n, **kw):
    src = walk(n)
    clock, i2c, m = rig(chip, src, **kw)
    d = imu.probe(i2c, clock=clock.ticks_ms)
    f = io.BytesIO()
    w = log.SessionWriter(f, **imu.writer_args(d, session_id=7))
    return src, clock, i2c, m, d, f, w


async def _run(s, clock, m, stalls=None):
    # Run the sampler on fake time until the source is used up; stalls: {sleep number: extra ms}.
    count = [0]

    async def sleep(ms):
        count[0] += 1
        if m.exhausted and m.level() == 0:
            s.stop()
        await clock.sleep_ms(ms + (stalls or {}).get(count[0], 0))

    s._sleep = sleep
    await s.run()
    s.close()


async def test_sampler_writes_every_sample_with_batch_times():
    for chip in ("lsm", "icm"):
        src, clock, i2c, m, d, f, w = _setup(chip, 1500)
        s = sampler.Sampler(d, w, clock=clock.ticks_ms)
        await _run(s, clock, m)
        blocks = _blocks(f.getvalue())
        data = [b for b in blocks if b[0] == log.BLOCK_DATA]
        assert blocks[-1][0] == log.BLOCK_END and sum(b[4] for b in data) == 1500 == s.samples
        assert all(b[1] == 0 and b[5] == 0 for b in data), chip  # no gap, no overflow
        # Block times: the FIFO read that delivered the block's first sample, ms since start, at most
        # one drain period after the sample was produced.
        for b in data:
            t_sample = b[2] * 1000000 // d.rate_mhz
            assert t_sample <= b[3] <= t_sample + s.drain_ms + 5, (chip, b)
        assert s.gaps == 0 and s.max_interval_ms == s.drain_ms


async def test_stall_shorter_than_the_fifo_loses_nothing():
    # 1.05 s (LSM, 1.23 s FIFO) and 0.5 s (ICM, 0.64 s FIFO) stalls on top of the drain period.
    for chip, stall in (("lsm", 1050 - 153), ("icm", 500 - 80)):
        src, clock, i2c, m, d, f, w = _setup(chip, 2000)
        s = sampler.Sampler(d, w, clock=clock.ticks_ms)
        await _run(s, clock, m, {3: stall, 7: stall, 8: stall})
        assert s.gaps == 0 and s.samples == 2000 and m.lost_indices() == [], chip
        assert s.max_interval_ms >= stall


async def test_long_stall_is_counted_as_overflow():
    for chip in ("lsm", "icm"):
        src, clock, i2c, m, d, f, w = _setup(chip, 3000)
        s = sampler.Sampler(d, w, clock=clock.ticks_ms)
        await _run(s, clock, m, {4: 2500})
        truth = len(m.lost_indices())
        assert truth > 200 and s.lost == truth and s.gaps == 1, (chip, truth, s.lost)
        data = [b for b in _blocks(f.getvalue()) if b[0] == log.BLOCK_DATA]
        ovf = [b for b in data if b[1] & log.FLAG_OVERFLOW]
        assert len(ovf) == 1 and ovf[0][1] == log.FLAG_OVERFLOW | log.FLAG_GAP and ovf[0][5] == truth
        assert sum(b[4] for b in data) == 3000 - truth


async def test_drain_allocates_nothing_between_blocks():
    src, clock, i2c, m, d, f, w = _setup("lsm", 2000)
    s = sampler.Sampler(d, w, clock=clock.ticks_ms)
    s.start()
    while w.data_blocks == 0:  # past the first block: the writer's buffers are warm
        clock.advance_ms(100)
        s.drain()
        while w.work():
            pass
    n = 0
    steps = 0
    for _ in range(3):
        clock.advance_ms(60)
        m.update()  # the chip model's own arithmetic allocates; the sampler's path must not
        blocks = w.data_blocks
        micropython.heap_lock()
        try:
            n += s.drain()
            # The writer's steps between drains (frame analysis) allocate nothing either.
            while w.count < w.max_samples // 2 and w.work():
                steps += 1
        finally:
            micropython.heap_unlock()
        assert w.data_blocks == blocks
    assert n > 30 and steps > 0


async def _steps_case(chip):
    src, clock, i2c, m, d, f, w = _setup(chip, 2500)
    s = sampler.Sampler(d, w, clock=clock.ticks_ms, gc_ms=0)
    done = [False]
    turns = [0]

    async def other():
        while not done[0]:
            turns[0] += 1
            await asyncio.sleep_ms(0)

    drain = s.drain
    during = []

    def counted_drain():
        blocks = w.data_blocks
        k = drain()
        during.append(w.data_blocks - blocks)
        return k

    s.drain = counted_drain

    async def main():
        await _run(s, clock, m)
        done[0] = True

    await asyncio.gather(main(), other())
    data = [b for b in _blocks(f.getvalue()) if b[0] == log.BLOCK_DATA]
    return data, during, s.work_steps, turns[0]


async def test_work_runs_in_steps_between_drains_and_yields():
    # Sampler.run: drain, then the writer's work() one step at a time with a yield after each, so
    # another task runs between any two steps; no drain ever finishes a block itself.
    for chip in ("lsm", "icm"):
        data, during, steps, turns = await _steps_case(chip)
        assert sum(b[4] for b in data) == 2500 and len(data) >= 4, chip
        # Every block but those close() wrote was finished by work() steps, not inside a drain.
        assert sum(during[:-1]) == 0, (chip, during)
        assert steps > 10 * (len(data) - 1), (chip, steps)
        assert turns >= steps, (chip, turns, steps)


async def test_gc_runs_right_after_drains():
    src, clock, i2c, m, d, f, w = _setup("lsm", 1500)
    s = sampler.Sampler(d, w, clock=clock.ticks_ms, gc_ms=1000)
    await _run(s, clock, m)
    # 1500 samples = 7.2 s of data: one collection per second of sampling.
    assert 6 <= s.gc_runs <= 8, s.gc_runs


async def test_wakes_on_the_watermark_interrupt():
    # INT1 -> Pin.irq -> flag.set(); the sampler waits on the flag (ThreadSafeFlag on the device).
    class Flag:
        def __init__(self):
            self.ev = asyncio.Event()

        def set(self):
            self.ev.set()

        async def wait(self):
            await self.ev.wait()
            self.ev.clear()

    pin = machine.Pin(5, machine.Pin.IN)
    flag = Flag()
    pin.irq(lambda p: flag.set(), machine.Pin.IRQ_RISING)
    src, clock, i2c, m, d, f, w = _setup("icm", 600, int1=pin)
    s = sampler.Sampler(d, w, clock=clock.ticks_ms, wake=flag, gc_ms=0)
    s.start()

    async def world():
        while not (m.exhausted and m.level() == 0):
            clock.advance_ms(5)
            m.update()  # raises INT1 at the watermark
            await asyncio.sleep_ms(0)
        s.stop()
        flag.set()

    await asyncio.gather(s.run(), world())
    s.close()
    assert s.samples == 600 and s.gaps == 0
    # Woken at the watermark (32 samples), not by the time-out: about 600 / 32 drains.
    assert 17 <= s.drains <= 22, s.drains


async def test_bus_error_and_bogus_fifo_count_do_not_stop_sampling():
    # One I2C transfer fails (OSError, as on a NACK); one FIFO count reads as 1000 packets though
    # the FIFO holds a few (the 0x80 "empty" header stops the read). Sampling goes on, nothing lost.
    src, clock, i2c, m, d, f, w = _setup("icm", 1200)
    s = sampler.Sampler(d, w, clock=clock.ticks_ms)
    calls = [0]

    def glitch(bus, addr, reg, n, write):
        calls[0] += 1
        if calls[0] == 40:
            raise OSError(116)  # ETIMEDOUT

    i2c.before = glitch
    real = m._count_units
    bogus = [3]

    def count():
        bogus[0] -= 1
        return 1000 if bogus[0] == 0 else real()

    m._count_units = count
    await _run(s, clock, m)
    assert s.bus_errors == 1 and bogus[0] < 0
    assert s.samples == 1200 and s.gaps == 0 and m.lost_indices() == []
