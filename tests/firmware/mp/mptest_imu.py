# MicroPython tests of the chip models (fakes), the IMU drivers and chip detection.
import imu
import imu_icm42688
import imu_lsm6dsox
import machine
import micropython
from fake_icm42688 import FakeChipError as IcmError
from fake_lsm6dsox import FakeChipError as LsmError
from mp_rig import rig, run_schedule, walk

# --- LSM6DSOX model ----------------------------------------------------------------------------------


def _lsm_stream(model, i2c, wtm_words=0, mode=6):
    # Configure the model by hand: 208 Hz accel + gyro, batched at 208 Hz, given FIFO mode.
    i2c.writeto_mem(0x6A, 0x10, bytes([0x54]))
    i2c.writeto_mem(0x6A, 0x11, bytes([0x5C]))
    i2c.writeto_mem(0x6A, 0x07, bytes([wtm_words & 0xFF, wtm_words >> 8]))
    i2c.writeto_mem(0x6A, 0x09, bytes([0x55]))
    i2c.writeto_mem(0x6A, 0x0A, bytes([mode]))


def _status(i2c):
    s = i2c.readfrom_mem(0x6A, 0x3A, 2)
    return s[0] | ((s[1] & 3) << 8), s[1]


def test_lsm_model_who_am_i_and_reset():
    clock, i2c, m = rig("lsm")
    assert i2c.scan() == [0x6A]
    assert i2c.readfrom_mem(0x6A, 0x0F, 1)[0] == 0x6C
    assert i2c.readfrom_mem(0x6A, 0x12, 1)[0] == 0x04  # CTRL3_C: IF_INC set after reset
    i2c.writeto_mem(0x6A, 0x10, bytes([0x54]))
    i2c.writeto_mem(0x6A, 0x12, bytes([0x05]))  # SW_RESET
    assert i2c.readfrom_mem(0x6A, 0x10, 1)[0] == 0 and i2c.readfrom_mem(0x6A, 0x12, 1)[0] == 0x04
    try:
        i2c.readfrom_mem(0x6B, 0x0F, 1)
    except OSError as e:
        assert e.errno == machine.ENODEV
    else:
        raise AssertionError("no device at 0x6B")


def test_lsm_model_checks_config_writes():
    clock, i2c, m = rig("lsm")
    for reg, val in ((0x11, 0x5E), (0x11, 0x5A), (0x10, 0xC0), (0x0A, 0x02), (0x0F, 0x00), (0x08, 0x80)):
        try:
            i2c.writeto_mem(0x6A, reg, bytes([val]))
        except LsmError:
            continue
        raise AssertionError("accepted 0x%02X -> 0x%02X" % (val, reg))
    i2c.writeto_mem(0x6A, 0x10, bytes([0x54]))  # valid: stored
    assert i2c.readfrom_mem(0x6A, 0x10, 1)[0] == 0x54
    i2c.writeto_mem(0x6A, 0x10, bytes([0x44]))  # 104 Hz accel with 208 Hz gyro: fine until batched
    try:
        _lsm_stream_mismatch(i2c)
    except LsmError:
        pass
    else:
        raise AssertionError("accepted mismatched accel/gyro rates for the FIFO")


def _lsm_stream_mismatch(i2c):
    i2c.writeto_mem(0x6A, 0x11, bytes([0x5C]))
    i2c.writeto_mem(0x6A, 0x09, bytes([0x55]))
    i2c.writeto_mem(0x6A, 0x0A, bytes([6]))


def test_lsm_model_fifo_watermark_rate_and_words():
    src = walk(400)
    clock, i2c, m = rig("lsm", src)
    _lsm_stream(m, i2c, wtm_words=40)
    clock.advance_ms(50)  # 6667/32 Hz: 10.4 samples -> 10 samples, 20 words
    level, s2 = _status(i2c)
    assert level == 20 and not s2 & 0x80, (level, s2)
    clock.advance_ms(50)
    level, s2 = _status(i2c)
    assert level == 40 and s2 & 0x80, (level, s2)  # FIFO_WTM_IA at 40 words
    raw = bytearray(14)
    i2c.readfrom_mem_into(0x6A, 0x78, raw)  # two words in one burst (0x7E wraps to 0x78)
    assert raw[0] >> 3 == 1 and raw[7] >> 3 == 2  # gyro word, then accel word
    assert (raw[0] >> 1) & 3 == (raw[7] >> 1) & 3 == 0  # same TAG_CNT slot
    acc = [raw[8 + 2 * i] | (raw[9 + 2 * i] << 8) for i in range(3)]
    assert acc == [v & 0xFFFF for v in src[0:3]]
    assert _status(i2c)[0] == 38


def test_lsm_model_overflow_continuous_and_fifo_mode():
    src = walk(2000)
    clock, i2c, m = rig("lsm", src)
    _lsm_stream(m, i2c)
    clock.advance_ms(2000)  # 416 samples = 832 words into a 512-word FIFO
    level, s2 = _status(i2c)
    assert level == 512 and s2 & 0x40 and s2 & 0x08, (level, s2)  # FIFO_OVR_IA, FIFO_OVR_LATCHED
    assert not _status(i2c)[1] & 0x08  # latched bit cleared by reading FIFO_STATUS2
    raw = bytearray(7)
    i2c.readfrom_mem_into(0x6A, 0x78, raw)
    assert m.overwritten == 832 - 512 and raw[0] >> 3 == 1  # oldest words gone: starts with a later slot
    # FIFO mode: stops when full, nothing overwritten.
    clock2, i2c2, m2 = rig("lsm", src)
    _lsm_stream(m2, i2c2, mode=1)
    clock2.advance_ms(2000)
    assert _status(i2c2) == (512, 0x40 | 0x20 | 0x02) and m2.overwritten == 0


def test_lsm_model_int1_follows_watermark():
    pin = machine.Pin(4, machine.Pin.IN)
    edges = []
    pin.irq(lambda p: edges.append(p.value()), machine.Pin.IRQ_RISING)
    clock, i2c, m = rig("lsm", walk(100), int1=pin)
    i2c.writeto_mem(0x6A, 0x0D, bytes([0x08]))  # INT1_FIFO_TH
    _lsm_stream(m, i2c, wtm_words=20)
    clock.advance_ms(30)
    m.update()
    assert pin.value() == 0
    clock.advance_ms(30)
    m.update()
    assert pin.value() == 1 and edges == [1]


# --- ICM-42688-P model -------------------------------------------------------------------------------


def _icm_stream(i2c, little=True, rec=True, wm=0, stream=True):
    i2c.writeto_mem(0x68, 0x4C, bytes([(0x40 if rec else 0) | (0 if little else 0x30)]))
    i2c.writeto_mem(0x68, 0x4F, bytes([0x07]))
    i2c.writeto_mem(0x68, 0x50, bytes([0x07]))
    i2c.writeto_mem(0x68, 0x54, bytes([0x09]))
    i2c.writeto_mem(0x68, 0x5F, bytes([0x0F]))
    i2c.writeto_mem(0x68, 0x60, bytes([wm & 0xFF, wm >> 8]))
    i2c.writeto_mem(0x68, 0x4E, bytes([0x0F]))
    i2c.writeto_mem(0x68, 0x16, bytes([0x40 if stream else 0x80]))


def test_icm_model_who_am_i_banks_and_reset():
    clock, i2c, m = rig("icm")
    assert i2c.readfrom_mem(0x68, 0x75, 1)[0] == 0x47
    assert i2c.readfrom_mem(0x68, 0x4C, 1)[0] == 0x30  # INTF_CONFIG0 reset: big endian, bytes
    i2c.writeto_mem(0x68, 0x76, bytes([1]))
    assert i2c.readfrom_mem(0x68, 0x75, 1)[0] != 0x47  # bank 1
    i2c.writeto_mem(0x68, 0x76, bytes([0]))
    i2c.writeto_mem(0x68, 0x4F, bytes([0x27]))
    i2c.writeto_mem(0x68, 0x11, bytes([0x01]))  # soft reset
    assert i2c.readfrom_mem(0x68, 0x4F, 1)[0] == 0x06


def test_icm_model_checks_config_writes():
    clock, i2c, m = rig("icm")
    for reg, val in ((0x50, 0x00), (0x50, 0x87), (0x16, 0x41), (0x5F, 0x13), (0x54, 0x05), (0x2D, 0)):
        try:
            i2c.writeto_mem(0x68, reg, bytes([val]))
        except IcmError:
            continue
        raise AssertionError("accepted 0x%02X -> 0x%02X" % (val, reg))


def test_icm_model_fifo_count_endianness_watermark():
    src = walk(300)
    clock, i2c, m = rig("icm", src)
    _icm_stream(i2c, little=True, rec=True, wm=10)
    clock.advance_ms(45)  # 200 Hz: 9 packets
    st = i2c.readfrom_mem(0x68, 0x2D, 3)
    assert st[1] | (st[2] << 8) == 9 and not st[0] & 0x04
    clock.advance_ms(5)
    st = i2c.readfrom_mem(0x68, 0x2D, 3)
    assert st[1] | (st[2] << 8) == 10 and st[0] & 0x04  # FIFO_THS
    pk = i2c.readfrom_mem(0x68, 0x30, 32)  # two packets in one burst
    assert pk[0] == 0x68 and pk[16] == 0x68
    ax = pk[1] | (pk[2] << 8)
    assert ax == src[0] & 0xFFFF
    t0 = pk[14] | (pk[15] << 8)
    t1 = pk[30] | (pk[31] << 8)
    assert ((t1 - t0) & 0xFFFF) * 16 in (4992, 5008)  # 5 ms apart at 16 us resolution
    # Big endian, count in bytes.
    clock2, i2c2, m2 = rig("icm", src)
    _icm_stream(i2c2, little=False, rec=False)
    clock2.advance_ms(50)
    st = i2c2.readfrom_mem(0x68, 0x2D, 3)
    assert (st[1] << 8) | st[2] == 160
    pk = i2c2.readfrom_mem(0x68, 0x30, 16)
    assert (pk[1] << 8) | pk[2] == src[0] & 0xFFFF


def test_icm_model_overflow_flag_and_lost_counter():
    src = walk(1000)
    for stream, drop in ((True, "oldest"), (True, "newest"), (False, "oldest")):
        clock, i2c, m = rig("icm", src, stream_drop=drop)
        _icm_stream(i2c, stream=stream)
        clock.advance_ms(1000)  # 200 packets into a 128-packet FIFO
        st = i2c.readfrom_mem(0x68, 0x2D, 3)
        assert st[1] | (st[2] << 8) == 128 and st[0] & 0x02
        assert not i2c.readfrom_mem(0x68, 0x2D, 1)[0] & 0x02  # read to clear
        lost = i2c.readfrom_mem(0x68, 0x6C, 2)
        assert lost[0] | (lost[1] << 8) == 72
        first = i2c.readfrom_mem(0x68, 0x30, 16)
        ax = first[1] | (first[2] << 8)
        expect = src[72 * 6] if stream and drop == "oldest" else src[0]
        assert ax == expect & 0xFFFF, (stream, drop)
        i2c.writeto_mem(0x68, 0x4B, bytes([0x02]))  # FIFO_FLUSH
        st = i2c.readfrom_mem(0x68, 0x2D, 3)
        assert st[1] | (st[2] << 8) == 0 and i2c.readfrom_mem(0x68, 0x6C, 1)[0] == 0


# --- detection ---------------------------------------------------------------------------------------


def test_probe_finds_each_chip_at_each_address():
    for chip, addr, cls in (
        ("lsm", 0x6A, imu_lsm6dsox.LSM6DSOX),
        ("lsm", 0x6B, imu_lsm6dsox.LSM6DSOX),
        ("icm", 0x68, imu_icm42688.ICM42688),
        ("icm", 0x69, imu_icm42688.ICM42688),
    ):
        clock, i2c, m = rig(chip, addr=addr)
        d = imu.probe(i2c, clock=clock.ticks_ms)
        assert isinstance(d, cls) and d.addr == addr, (chip, addr)
        assert not m.writes  # probing only reads


def test_probe_without_imu_fails_clearly():
    i2c = machine.I2C(0)
    try:
        imu.probe(i2c)
    except imu.IMUError as e:
        msg = str(e)
    else:
        raise AssertionError("no error without a chip")
    for part in (
        "no supported IMU",
        "LSM6DSOX at 0x6A",
        "0x6B",
        "ICM-42688-P at 0x68",
        "0x69",
        "found nothing",
    ):
        assert part in msg, msg
    # Something else answering at 0x6A (an LSM6DS3: WHO_AM_I 0x69) is named with its identity.
    clock, i2c, m = rig("lsm")
    m.regs[0x0F] = 0x69
    try:
        imu.probe(i2c)
    except imu.IMUError as e:
        msg = str(e)
    else:
        raise AssertionError("accepted a wrong WHO_AM_I")
    assert "= 0x69, expected 0x6C" in msg and "I2C scan found 0x6A" in msg, msg


# --- drivers -----------------------------------------------------------------------------------------


def test_lsm_driver_configures_the_chip():
    clock, i2c, m = rig("lsm", walk(10), freq_fine=-12)
    d = imu_lsm6dsox.LSM6DSOX(i2c, 0x6A, clock=clock.ticks_ms)
    assert not m.writes  # nothing touches the bus before start()
    d.start()
    r = m.regs
    assert (r[0x10], r[0x11], r[0x09], r[0x0A] & 7, r[0x12]) == (0x54, 0x5C, 0x55, 6, 0x44)
    assert r[0x07] | ((r[0x08] & 1) << 8) == 2 * d.watermark and r[0x0D] == 0x08
    assert m.streaming and not m.errors
    assert (d.odr_mhz, d.acc_range_g, d.acc_scale_ng, d.gyr_range_dps, d.gyr_scale_ndps) == (
        208000,
        16,
        488000,
        2000,
        70000000,
    )
    assert d.rate_mhz == 6667000 * (2000 - 36) // (2000 * 32)  # INTERNAL_FREQ_FINE correction
    d.stop()
    assert not m.streaming and r[0x10] == 0 and r[0x11] == 0


def test_icm_driver_configures_the_chip():
    clock, i2c, m = rig("icm", walk(10))
    d = imu_icm42688.ICM42688(i2c, 0x68, clock=clock.ticks_ms, acc_range_g=8, gyr_range_dps=1000)
    d.start()
    r = m.regs
    assert (r[0x4F], r[0x50], r[0x4C], r[0x5F], r[0x4E], r[0x16]) == (0x27, 0x27, 0x40, 0x2F, 0x0F, 0x40)
    assert r[0x54] & 0x0F == 0x09 and r[0x60] == d.watermark and r[0x65] == 0x06
    assert m.streaming and not m.errors
    assert (d.odr_mhz, d.acc_scale_ng, d.gyr_scale_ndps) == (200000, 244141, 30487805)
    try:
        imu_icm42688.ICM42688(i2c, 0x68, acc_range_g=3)
    except ValueError as e:
        assert "acc_range_g" in str(e)
    else:
        raise AssertionError("accepted a range the chip lacks")


def test_drivers_read_batches_in_few_bus_reads():
    for chip in ("lsm", "icm"):
        src = walk(600)
        clock, i2c, m = rig(chip, src)
        d = imu.probe(i2c, clock=clock.ticks_ms, max_batch=64)
        d.start()
        buf = d.new_buffer()
        clock.advance_ms(150)  # ~31 (lsm) / 30 (icm) samples
        before = i2c.transactions
        n = d.read(buf)
        per_read = i2c.transactions - before
        assert 29 <= n <= 31 and not d.more and d.lost == 0, (chip, n)
        assert per_read <= 7, (chip, per_read)  # status + a few power-of-two bursts, never per sample
        for i in range(n * 6):
            assert buf[i] == src[i], (chip, i)
        clock.advance_ms(600)  # more than one batch waiting
        n1 = d.read(buf)
        assert n1 == 64 and d.more, (chip, n1)


def test_driver_read_allocates_nothing():
    for chip in ("lsm", "icm"):
        clock, i2c, m = rig(chip, walk(800))
        d = imu.probe(i2c, clock=clock.ticks_ms)
        d.start()
        buf = d.new_buffer()
        clock.advance_ms(100)
        d.read(buf)
        clock.advance_ms(250)
        m.update()  # the model's own bookkeeping allocates; the driver must not
        micropython.heap_lock()
        try:
            n = d.read(buf)
            n += d.read(buf)
        finally:
            micropython.heap_unlock()
        assert n > 40, (chip, n)


def test_lsm_driver_counts_overflow_losses_exactly():
    # Stalls of 1.3 .. 9 s overflow the 256-sample FIFO; the loss is found to the sample (every sample
    # is checked against the source at the index the driver gives it), with the chip's rate 0.3 %
    # below nominal (FREQ_FINE) plus an extra 0.03 % error the driver does not know about.
    src = walk(6000)
    clock, i2c, m = rig("lsm", src, freq_fine=-2, rate_ppm=300, start_ms=-1000)
    d = imu_lsm6dsox.LSM6DSOX(i2c, clock=clock.ticks_ms, max_batch=48)
    d.start()
    steps = [120] * 5 + [1300] + [120] * 3 + [2500] + [37] * 9 + [9000] + [150] * 4 + [1400]
    got, gaps = run_schedule(d, clock, m, src, steps)
    truth = m.lost_indices()
    assert len(gaps) == 4 and all(g[2] for g in gaps), gaps
    assert sum(g[1] for g in gaps) == len(truth) == d.lost_total, (gaps, len(truth))
    missing = set(range(m.src)) - set(got)
    assert sorted(missing) == truth
    assert d.overflows == 4


def test_lsm_driver_stall_shorter_than_fifo_loses_nothing():
    src = walk(3000)
    clock, i2c, m = rig("lsm", src)
    d = imu_lsm6dsox.LSM6DSOX(i2c, clock=clock.ticks_ms)
    d.start()
    got, gaps = run_schedule(d, clock, m, src, [100, 1200, 100, 1150, 1220])
    assert gaps == [] and got == list(range(3000)) and d.overflows == 0


def test_icm_driver_counts_overflow_losses_exactly_either_drop_policy():
    # Gaps below and above the 1.048576 s timestamp wrap, with the oldest or the newest packets
    # dropped by the full FIFO: every delivered sample sits at its source index.
    src = walk(8000)
    for drop in ("oldest", "newest"):
        clock, i2c, m = rig("icm", src, stream_drop=drop, rate_ppm=-300, invalid_first=4, start_ms=-3000)
        d = imu_icm42688.ICM42688(i2c, clock=clock.ticks_ms, max_batch=40)
        d.start()
        steps = [80] * 4 + [700] + [80] * 3 + [3000] + [60] * 5 + [1400] + [80] * 5 + [6000] + [100] * 3
        got, gaps = run_schedule(d, clock, m, src, steps)
        truth = m.lost_indices()
        assert sum(g[1] for g in gaps) == len(truth), (drop, gaps, len(truth))
        assert sorted(set(range(m.src)) - set(got)) == truth, drop
        assert len(gaps) == 4 and all(g[2] for g in gaps), (drop, gaps)
        assert got[0] == 0  # the 4 invalid start-up packets took no index


def test_icm_driver_finds_a_loss_of_exactly_one_timestamp_wrap():
    # 338 packets during the stall: 128 kept, 210 lost; (210 + 1) x 5 ms is one wrap + 6.4 ms, so
    # the timestamps show a normal step; the coarse clock count places and sizes the gap.
    src = walk(3000)
    clock, i2c, m = rig("icm", src)
    d = imu_icm42688.ICM42688(i2c, clock=clock.ticks_ms)
    d.start()
    got, gaps = run_schedule(d, clock, m, src, [100, 100, 1690, 100])
    assert gaps == [(40, 210, True)], gaps
    assert sorted(set(range(m.src)) - set(got)) == m.lost_indices()


def test_spi_bus_adapter():
    from fake_clock import FakeClock
    from fake_icm42688 import FakeICM42688
    from fake_lsm6dsox import FakeLSM6DSOX

    src = walk(200)
    for cls in (FakeLSM6DSOX, FakeICM42688):
        clock = FakeClock()
        spi = machine.SPI(1)
        cs = machine.Pin(10, machine.Pin.OUT, value=1)
        m = spi.attach(cs, cls(clock, src))
        bus = imu.SPIBus(spi, cs)
        d = imu.probe(bus, clock=clock.ticks_ms)
        d.start()
        buf = d.new_buffer()
        clock.advance_ms(100)
        n = d.read(buf)
        assert n >= 19 and list(buf[0 : n * 6]) == list(src[0 : n * 6]), (d.MODEL, n)
        assert cs.value() == 1 and not m.errors


def test_clock_locked_models_play_the_source_by_clock_time():
    # fakes/fake_source.py on both models (the motion tests' world): at a quarter of the source's rate
    # each sample is the mean of the 4 source samples since the chip's previous one; after a pause the
    # chip reads the source where the clock is, not where it stopped.
    import array

    from fake_clock import FakeClock
    from fake_icm42688 import TimeLockedICM42688
    from fake_lsm6dsox import TimeLockedLSM6DSOX

    src = array.array("h", bytes(12 * 8000))
    for i in range(8000):
        src[6 * i] = i  # a ramp: a mean of 4 is the index of the last minus 1.5
        src[6 * i + 1] = -i
    chips = (
        (TimeLockedLSM6DSOX, 52, (6667, 32000000)),  # 4 x the 52 Hz setting's real rate (52.085 Hz)
        (TimeLockedICM42688, 50, (1, 5000)),  # 200 Hz; the ICM-42688-P's nearest rate to 52 Hz is 50 Hz
    )
    for cls, hz, rate in chips:
        clock = FakeClock()
        i2c = machine.I2C(0)
        m = i2c.attach(cls is TimeLockedICM42688 and 0x68 or 0x6A, cls(clock, src, rate))
        d = imu.probe(i2c, odr_hz=52, clock=clock.ticks_ms)
        buf = d.new_buffer()
        for start_ms in (0, 6000):  # started at 0 s; stopped at 1 s, started again at 6 s
            clock.us = start_ms * 1000
            d.start()
            clock.advance_ms(1000)
            n = d.read(buf)
            first = start_ms * 1000 * rate[0] // rate[1]  # the source sample at the start
            assert n == hz and not d.more and d.lost == 0, (d.MODEL, n)
            for k in range(n):
                assert buf[6 * k] == first + 4 * k + 2 and buf[6 * k + 1] == -first - 4 * k - 3, (
                    d.MODEL,
                    start_ms,
                    k,
                    buf[6 * k],
                )
            d.stop()
        assert m.errors == []
