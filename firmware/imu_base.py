# IMU driver interface and the helpers the drivers share (docs/firmware.md).
#
# The drivers import this module and nothing else of the firmware; imu.py (probe, writer_args, SPIBus)
# imports the drivers. Keeping the shared part here keeps the import graph free of cycles
# (tests/firmware/test_firmware_imports.py).
#
# Every IMU driver (imu_lsm6dsox.py, imu_icm42688.py) is a class with this interface; the sampler and
# the session writer know nothing else about the chip.
#
#   Class attributes
#     MODEL           str, as the session header's sensor_model ("LSM6DSOX", "ICM-42688-P")
#     ADDRESSES       I2C addresses the chip can answer on (SDO/SA0 low, high)
#     WHO_AM_I_REG    register holding the identity byte, WHO_AM_I its value
#   Construction: Driver(bus, addr, *, odr_hz=208, acc_range_g=16, gyr_range_dps=2000, max_batch=64,
#                 watermark=..., clock=time.ticks_ms). bus: machine.I2C, or SPIBus below. Nothing
#                 touches the bus before start(). clock: the ms clock the driver times the FIFO with
#                 (tests pass a fake clock).
#   Attributes after construction (integers, as the session header stores them)
#     channels        6 (acc x, y, z, gyr x, y, z, in this order in every sample)
#     odr_mhz         output data rate actually configured (the chip's nearest to odr_hz), mHz
#     rate_mhz        best estimate of the real output rate (datasheet correction where the chip has
#                     one), mHz; used to estimate how many samples a FIFO overflow lost
#     acc_range_g, gyr_range_dps, acc_scale_ng, gyr_scale_ndps
#     fifo_samples    samples the hardware FIFO holds (the stall the sampler can absorb)
#     max_batch       most samples one read() returns
#     watermark       FIFO watermark, samples (INT1 goes high at it)
#   Methods
#     start()         reset, configure, flush and start the FIFO; raises IMUError on a bad answer
#     stop()          FIFO to bypass, sensors powered down
#     new_buffer()    array('h') big enough for read(): (max_batch + 1) * channels values, allocate once
#     read(out) -> n  drain up to max_batch samples from the FIFO in a few burst reads into out
#                     (interleaved int16 counts, sample i channel c at out[i * 6 + c]); allocates nothing.
#                     After the call:
#       lost          samples missing right before out[0] (0: none). The driver locates every gap and
#                     splits reads at gaps, so a read never has a gap inside it.
#       overflow      True when that gap was a FIFO overflow (else it was an invalid/dropped record)
#       more          True when the FIFO held more than this read took: call read() again now
#     Counters: samples, overflows, lost_total, reads (bus burst reads), dropped (incomplete records)
#
# Hot-path rules for drivers: registers are const(); every buffer and memoryview is made in __init__;
# read() does integer arithmetic only (no floats, no f-strings, no allocation per sample or per read).


class IMUError(OSError):
    """No supported IMU answered, or the chip answered something unexpected."""


def nearest(table, value):
    # The (value, code) row of table whose value is nearest to value (ties: the first).
    best = table[0]
    for row in table:
        if abs(row[0] - value) < abs(best[0] - value):
            best = row
    return best


def pick(table, value, what):
    # The code for an exact value of table, or ValueError listing the allowed values.
    for row in table:
        if row[0] == value:
            return row
    raise ValueError("%s must be one of %s, not %r" % (what, [r[0] for r in table], value))


def burst_views(buf, unit, count):
    # Memoryviews of buf[0 : unit * 2**k] for 2**k <= count: a read of any n records is a few burst
    # reads of power-of-two sizes into the start of buf, with no allocation at read time.
    mv = memoryview(buf)
    views = []
    k = 1
    while k <= count:
        views.append(mv[0 : unit * k])
        k <<= 1
    return views
