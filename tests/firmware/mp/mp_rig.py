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


# -- stall trials (test_lsm6dsox_stalls.py, test_icm42688_stalls.py) --------------------------------


class OnTheBus:
    # The chip behind a 400 kHz I2C bus: a transfer takes its time (9 bits a byte; start, address and
    # register before the chip answers, then the data), and the chip keeps producing meanwhile.
    def __init__(self, chip, clock):
        self.chip = chip
        self.clock = clock

    def read_into(self, reg, buf):
        self.clock.advance_us(68)
        self.chip.read_into(reg, buf)
        self.clock.advance_us(len(buf) * 45 // 2)

    def write(self, reg, data):
        self.clock.advance_us(45)
        self.chip.write(reg, data)
        self.clock.advance_us(len(data) * 45 // 2)


def hold_after_status(clock, i2c, case, status_reg, data_reg, at_clock=True):
    """The rig's interrupt: once armed (``st[1] = True``), it holds the driver ``case["irq_ms"]`` right
    after its status read (``status_reg``): at the driver's next clock read when ``at_clock``, else (or
    for a driver that reads no clock in between) right before its first ``data_reg`` burst. Sets
    ``i2c.before``; returns ``(st, ticks_ms)``, ``st[0]`` saying the last transfer was the status read
    and ``ticks_ms`` the clock to give the driver."""
    st = [False, False]

    def hold():
        clock.advance_ms(case["irq_ms"])
        st[1] = False

    def before(bus, addr, reg, n, write):
        if reg == data_reg and st[0] and st[1]:
            hold()
        st[0] = reg == status_reg

    def ticks_ms():
        if at_clock and st[0] and st[1]:
            hold()
        return clock.ticks_ms()

    i2c.before = before
    return st, ticks_ms


def same(src, buf, i, j):
    # Sample i of buf equals source sample j.
    if not 0 <= j < len(src) // 6:
        return False
    for c in range(6):
        if buf[i * 6 + c] != src[j * 6 + c]:
            return False
    return True


def true_index(src, buf, i, guess, radius):
    # The source index whose six channels equal sample i of buf, searched outwards from guess.
    for d in range(radius):
        for g in (guess + d, guess - d):
            if same(src, buf, i, g):
                return g
    return -(10**6)  # not in the source at all


def stall_trial(d, chip, clock, case, src, st, radius):
    """Drains every case["drain_ms"], a stall of case["stall_ms"] after case["pre"] of them (or between
    two reads of one drain, case["mid_drain"], after case.get("mid_ms", drain_ms)), then 8 more; every
    delivered sample compared with src at the index the driver gives it. ``st[1]`` arms the rig's
    interrupt for the stall's drain."""
    d.start()
    buf = d.new_buffer()
    pre = case["pre"]
    steps = [case["drain_ms"]] * pre + [case["stall_ms"]] + [case["drain_ms"]] * 8
    nxt = 0
    errors = []
    got = []
    unflagged = 0
    for s, ms in enumerate(steps):
        clock.advance_ms(case.get("mid_ms", case["drain_ms"]) if case["mid_drain"] and s == pre else ms)
        st[1] = s == pre and case["irq_ms"] > 0
        reads = 0
        while True:
            n = d.read(buf)
            reads += 1
            nxt += d.lost
            if d.lost and not d.overflow:
                unflagged += 1
            # A read has no gap inside (the driver's contract, checked here too): its first and last
            # samples in place mean all are; otherwise every one is checked.
            every = n and not (same(src, buf, 0, nxt) and same(src, buf, n - 1, nxt + n - 1))
            for i in range(n) if every else ():
                if not same(src, buf, i, nxt + i):
                    g = true_index(src, buf, i, nxt + i, radius)
                    errors.append([nxt + i - g, s, reads, d.lost])
                    nxt = g - i
                got.append(nxt + i)
            if n and not every:
                got.extend(range(nxt, nxt + n))
            nxt += n
            if case["mid_drain"] and s == pre and reads == 1:
                clock.advance_ms(
                    case["stall_ms"]
                )  # the stall lands between two reads of one drain (a GC in append)
            if not d.more:
                break
    end = got[-1]  # (samples still in the FIFO at the end are not lost)
    truth = [i for i in chip.lost_indices() if i < end]
    missing = sorted(set(range(end)) - set(got))
    return {
        "errors": errors,
        "lost": d.lost_total,
        "truth": len(truth),
        "missing_is_truth": missing == truth,
        "overflows": d.overflows,
        "unflagged": unflagged,
        "chip_errors": chip.errors,
    }
