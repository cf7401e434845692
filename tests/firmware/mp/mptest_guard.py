# MicroPython tests of firmware/guard.py (end to end with the host decoder: test_guard_e2e.py).
import guard
import log
import machine
from fake_clock import FakeClock
from fake_fs import Volume


class SeqADC:
    # read_uv() returns the values in turn (the last one repeats).
    def __init__(self, values):
        self.values = values
        self.i = 0

    def read_uv(self):
        v = self.values[min(self.i, len(self.values) - 1)]
        self.i += 1
        return v


def test_battery_averages_with_divider():
    bat = guard.Battery(SeqADC([1_800_000, 1_900_000, 1_700_000, 1_800_000]), divider_milli=2000, samples=4)
    assert bat.read_mv() == 3600
    bat = guard.Battery(SeqADC([1_000_000]), divider_milli=3200, samples=3)  # 1 M / 470 k style
    assert bat.read_mv() == 3200


def test_battery_low_needs_confirmation_and_hysteresis():
    adc = machine.ADC(machine.Pin(2))
    bat = guard.Battery(adc, low_mv=3450, warn_mv=3600, hysteresis_mv=100, confirm=3, samples=2)

    def at(mv):
        adc.uv = mv * 500
        return bat.poll()

    assert at(3800) == guard.OK
    assert at(3550) == guard.WARN
    assert at(3400) == guard.WARN  # one low reading (a load spike) is not enough
    assert at(3460) == guard.WARN  # and the count restarts
    assert at(3400) == guard.WARN and at(3400) == guard.WARN
    assert bat.ok_to_start()
    assert at(3440) == guard.LOW
    assert not bat.ok_to_start()
    assert at(3500) == guard.LOW  # recovering under no load: not above low + hysteresis yet
    assert at(3560) == guard.WARN and bat.ok_to_start()
    assert at(3650) == guard.WARN  # warning clears only above 3600 + 100
    assert at(3710) == guard.OK


class _Sampler:
    # What Guard needs from a sampler.
    def __init__(self, writer):
        self.writer = writer
        self.running = True

    def stop(self):
        self.running = False


class _Writer:
    def __init__(self):
        self.bytes_written = 0
        self.block_size = 2048
        self.closed = False


def test_free_space_estimated_between_statvfs_calls():
    vol = Volume(200_000)
    clock = FakeClock()
    w = _Writer()
    g = guard.Guard(
        _Sampler(w),
        guard.SafeFile(None, 2048),
        free_bytes=vol.free_bytes,
        statvfs_ms=30_000,
        clock=clock.ticks_ms,
    )
    assert g.reserve_bytes == 8 * 2048 + 8192
    assert g.check() == 0 and vol.statvfs_calls == 1 and g.free == 200_000
    for _ in range(20):
        clock.advance_ms(1000)
        w.bytes_written += 2048
        vol.used += 2048
        assert g.check() == 0
    assert vol.statvfs_calls == 1 and g.free == 200_000 - 20 * 2048 and not g.storage_low
    clock.advance_ms(10_000)
    vol.used += 80_000  # another file grew: seen at the next statvfs
    assert g.check() == 0 and vol.statvfs_calls == 2 and g.free == 79_040 and g.storage_low
    blocks = 0
    while True:
        blocks += 1
        w.bytes_written += 2048
        vol.used += 2048
        if g.check():
            break
    # Closes at the first block that leaves less than the reserve, measured again before closing.
    assert blocks == (79_040 - g.reserve_bytes) // 2048 + 1 and vol.statvfs_calls == 3
    assert g.free < g.reserve_bytes <= g.free + 2048


def test_no_free_space_function_no_check():
    g = guard.Guard(_Sampler(_Writer()), guard.SafeFile(None, 2048))
    assert g.check() == 0 and g.free == -1


class _FailingFile:
    def __init__(self, errno):
        self.errno = errno
        self.data = bytearray()

    def write(self, b):
        if self.errno:
            raise OSError(self.errno)
        self.data += b

    def flush(self):
        pass

    def seek(self, pos):
        self.data = self.data[:pos]


def test_safefile_other_errors_propagate():
    sf = guard.SafeFile(_FailingFile(5), 256)
    try:
        sf.write(bytearray(256))
    except OSError as e:
        assert e.args[0] == 5
    else:
        raise AssertionError("EIO swallowed")
    assert not sf.full


def test_safefile_counts_blocks_and_writes_end_block():
    f = _FailingFile(0)
    sf = guard.SafeFile(f, 256)
    w = log.SessionWriter(sf, 5, 3, 104000, 16, 488000, block_size=256, block_max_samples=40)
    import array

    a = array.array("h", range(300))
    w.append(a, 100, 10)
    w.flush()
    assert sf.data_blocks == w.data_blocks and sf.samples == w.samples == 100
    assert sf.next_index == 100 and sf.next_seq == w.seq and sf.pos == len(f.data)
    f.errno = guard.ENOSPC
    w.append(a, 60, 20)
    while w.work():  # as the sampler does after a drain: 40 samples make a block: ENOSPC, dropped
        pass
    assert sf.full and sf.samples == 100
    f.errno = 0
    blk = bytearray(256)
    assert sf.write_end(blk, log.REASON_STORAGE_FULL)
    # The same end block close() would have written after those 100 samples.
    f2 = _FailingFile(0)
    w2 = log.SessionWriter(f2, 5, 3, 104000, 16, 488000, block_size=256, block_max_samples=40)
    w2.append(a, 100, 10)
    w2.close(log.REASON_STORAGE_FULL, sf.last_t)
    assert bytes(f.data) == bytes(f2.data)
