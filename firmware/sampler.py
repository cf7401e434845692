# Sampler: IMU FIFO -> session writer, on asyncio (docs/firmware.md).
#
# One job: keep the IMU FIFO from overflowing and hand every batch to log.SessionWriter with its time
# and any loss. Every drain_ms (or when the IMU's INT1 watermark wakes it) it reads the FIFO in
# batches (imu.read() until the FIFO is empty) and appends them: append(buf, n, t_ms) for continuous
# data, append(buf, n, t_ms, FLAG_OVERFLOW, lost) when the driver found samples missing before the
# batch (a FIFO overflow: the file counts them; nothing is dropped silently). t_ms is
# ticks_diff(now, start) at the FIFO read, so it stays valid for 2**29 ms (6.2 days) on the ESP32.
#
# Why data survive GC pauses and flash stalls: nothing here runs between the chip and its FIFO. The
# FIFO holds imu.fifo_samples (LSM6DSOX: 256 samples = 1.23 s at 208 Hz; ICM-42688-P: 128 = 0.64 s
# at 200 Hz). A drain leaves it nearly empty, so the firmware may stall for fifo_samples / rate minus
# drain_ms (1.07 s and 0.56 s with the defaults) without losing a sample. The longest stalls of the
# firmware itself are bounded the same way: a drain that finished a block (encode + flash write, the
# longest step of the hot path) reads the FIFO again at once, and gc.collect() runs right after a
# drain that did not, every gc_ms, so a full collection of a large heap (tens to a few hundred ms on
# an ESP32 with PSRAM) starts with the FIFO empty and costs no data. The automatic collection, which
# could strike at any allocation, then rarely has a reason to run: the hot path allocates nothing
# per sample (the driver, the writer's append and this loop use preallocated buffers; a finished
# block allocates a few small objects). Numbers and sources: docs/firmware.md.
import asyncio
import gc
import time

import log


class Sampler:
    """Drains ``imu`` (a driver of imu.py) into ``writer`` (log.SessionWriter).

    clock: ms clock (time.ticks_ms; tests pass a fake); sleep_ms: what to await between drains
    (asyncio.sleep_ms); drain_ms: drain period (default: half the watermark time); gc_ms: period of
    the explicit gc.collect() after a drain (0: never); wake: optional object with an awaitable
    wait() that returns when INT1 rose (asyncio.ThreadSafeFlag set from a Pin.irq), with drain_ms as a
    time-out. tap: optional live.LiveTap that sees every batch after the writer (live streaming).
    steps: optional motion.StepDetector fed every batch (auto-stop after a stretch without running).
    """

    def __init__(
        self,
        imu,
        writer,
        *,
        clock=None,
        sleep_ms=None,
        drain_ms=0,
        gc_ms=1000,
        wake=None,
        tap=None,
        steps=None,
    ):
        self.imu = imu
        self.writer = writer
        self.tap = tap
        self.steps = steps
        self.buf = imu.new_buffer()
        self._clock = clock if clock is not None else time.ticks_ms
        self._sleep = sleep_ms if sleep_ms is not None else asyncio.sleep_ms
        # Awaited (with 0) between the writer's work steps: lets other tasks run. Kept apart from
        # _sleep so a test that replaces _sleep to count or stretch drain periods sees only those.
        self._yield = self._sleep
        if not drain_ms:
            drain_ms = imu.watermark * 500000 // imu.odr_mhz
            if drain_ms < 10:
                drain_ms = 10
        self.drain_ms = drain_ms
        self.gc_ms = gc_ms
        self.wake = wake
        self.running = False
        self.t0 = 0
        self._last = 0
        self._last_gc = 0
        # Counters (docs/firmware.md): what a status screen or the sync protocol may report.
        self.drains = 0
        self.samples = 0
        self.gaps = 0
        self.lost = 0
        self.max_interval_ms = 0  # longest time between two drains (how close the FIFO came to full)
        self.gc_runs = 0
        self.bus_errors = 0
        self.work_steps = 0  # writer work() steps run between drains
        self._wrote = False
        # Reads per drain: a full FIFO twice over; a chip that keeps saying "more" cannot hold the
        # loop (the next drain goes on).
        self._max_reads = 2 * (imu.fifo_samples // imu.max_batch + 2)

    def start(self):
        # Start the IMU; t_ms 0 is now.
        self.imu.start()
        now = self._clock()
        self.t0 = now
        self._last = now
        self._last_gc = now
        self.running = True

    def t_ms(self):
        return time.ticks_diff(self._clock(), self.t0)

    def drain(self):
        # Everything the FIFO holds now, into the writer; returns the samples read.
        imu = self.imu
        w = self.writer
        tap = self.tap
        steps = self.steps
        buf = self.buf
        clock = self._clock
        now = clock()
        dt = time.ticks_diff(now, self._last)
        if dt > self.max_interval_ms:
            self.max_interval_ms = dt
        self._last = now
        total = 0
        blocks = w.data_blocks
        again = True
        reads = self._max_reads
        while reads:
            reads -= 1
            t = time.ticks_diff(clock(), self.t0)
            try:
                n = imu.read(buf)
            except OSError:
                # A failed bus transfer: try again next period. Samples it cost show up as a gap
                # (or an overflow) at the next good read.
                self.bus_errors += 1
                break
            lost = imu.lost
            if lost:
                w.append(buf, n, t, log.FLAG_OVERFLOW if imu.overflow else 0, lost)
                self.gaps += 1
                self.lost += lost
            elif n:
                w.append(buf, n, t)
            if steps is not None:
                steps.feed(buf, n, lost)
            if tap is not None and tap.link is not None:
                tap.copy(buf, n, w.next_index - n)
            total += n
            if not imu.more:
                if again and w.data_blocks != blocks:
                    # A block was encoded and written meanwhile: read what arrived during it now
                    # rather than one drain period later.
                    again = False
                    continue
                break
        self.drains += 1
        self.samples += total
        self._wrote = w.data_blocks != blocks
        return total

    def collect_garbage(self):
        # gc.collect() now if gc_ms passed since the last one: call right after a drain. Not after a
        # drain that wrote a block (its encode and flash write already used some FIFO headroom).
        if self._wrote:
            return
        if self.gc_ms and time.ticks_diff(self._clock(), self._last_gc) >= self.gc_ms:
            gc.collect()
            self.gc_runs += 1
            self._last_gc = self._clock()

    async def run(self):
        """Start the IMU and drain it until stop(); the last drain runs after stop()."""
        if not self.running:
            self.start()
        while self.running:
            if self.wake is not None:
                try:
                    await asyncio.wait_for_ms(self.wake.wait(), 2 * self.drain_ms)
                except asyncio.TimeoutError:
                    pass
            else:
                await self._sleep(self.drain_ms)
            self.drain()
            await self.pump()
            self.collect_garbage()
        self.drain()

    async def pump(self):
        """The writer's queued work (frame analysis, block encoding, CRC, write) in short steps.

        Yields to asyncio between steps, so no step holds the loop longer than one frame's analysis.
        After a step that wrote a block (its flash write may have stalled) the FIFO is read again at
        once; those samples are encoded after the next drain.
        """
        w = self.writer
        blocks = w.data_blocks
        while w.work():
            self.work_steps += 1
            await self._yield(0)
        if w.data_blocks != blocks:
            self.drain()
            self._wrote = True

    def stop(self):
        # Ends run() after one more drain.
        self.running = False

    def close(self, reason=log.REASON_USER_STOP):
        """Final drain, IMU off, end block written (the caller closes the file)."""
        self.running = False
        self.drain()
        self.imu.stop()
        self.writer.close(reason, self.t_ms())
