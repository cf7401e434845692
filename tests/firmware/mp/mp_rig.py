# Test rig for the IMU drivers and the sampler on MicroPython: fake clock + fake I2C + chip model.
import array

import machine
from fake_clock import FakeClock
from fake_icm42688 import FakeICM42688
from fake_lsm6dsox import FakeLSM6DSOX


def walk(n, seed=1):
    # n samples x 6 channels of a deterministic random walk (int16, interleaved), like IMU data.
    a = array.array("h", bytes(12 * n))
    s = seed
    x = [0, 0, 2000, 0, 0, 0]
    for i in range(n):
        for c in range(6):
            s = (s * 1103515245 + 12345) & 0x7FFFFFFF
            v = x[c] + (s >> 16) % 201 - 100
            if v > 32767 or v < -32768:
                v = x[c]
            x[c] = v
            a[i * 6 + c] = v
    return a


def rig(chip="lsm", samples=None, *, addr=None, start_ms=0, **chip_kw):
    """(clock, i2c, model) with the chip model attached at its default (or given) address."""
    clock = FakeClock(start_ms=start_ms)
    i2c = machine.I2C(0)
    if chip == "lsm":
        model = FakeLSM6DSOX(clock, samples, **chip_kw)
        i2c.attach(0x6A if addr is None else addr, model)
    else:
        model = FakeICM42688(clock, samples, **chip_kw)
        i2c.attach(0x68 if addr is None else addr, model)
    return clock, i2c, model


def drain(drv, buf, got, src, state):
    """Read the FIFO empty; check every sample against the source at its sample index.

    got: list of sample indices delivered; state: [next index, gaps list]. Returns samples read.
    """
    total = 0
    while True:
        n = drv.read(buf)
        if drv.lost:
            state[1].append((state[0], drv.lost, drv.overflow))
            state[0] += drv.lost
        for i in range(n):
            idx = state[0]
            for c in range(6):
                if buf[i * 6 + c] != src[idx * 6 + c]:
                    raise AssertionError(
                        "sample %d channel %d: %d != %d" % (idx, c, buf[i * 6 + c], src[idx * 6 + c])
                    )
            got.append(idx)
            state[0] = idx + 1
        total += n
        if not drv.more:
            return total


def run_schedule(drv, clock, model, src, steps_ms, buf=None):
    """Advance the clock by each step, draining after each; then drain until the source is used up.

    Returns (got, gaps). Every delivered sample is checked against the source at its index, so the
    indices (and therefore every reported loss) are exact.
    """
    if buf is None:
        buf = drv.new_buffer()
    got = []
    state = [0, []]
    for ms in steps_ms:
        clock.advance_ms(ms)
        drain(drv, buf, got, src, state)
    while not model.exhausted or model.level():
        clock.advance_ms(50)
        drain(drv, buf, got, src, state)
    return got, state[1]
