# Running-motion detection: auto-start a session when the wearer runs (docs/firmware.md, "Auto-start
# on running").
#
# One job: tell running from everything else in the accelerometer, with integers only.
#
# StepDetector: running at the sacrum shows, once per step, a stance that loads the pelvis well above
# body weight (|a| peaks at about 2-3.5 g; walking stays near 1.2-1.5 g) followed by a flight phase
# (|a| near 0 g; walking never leaves the ground, so |a| stays near 1 g), at 140-200 steps/min, very
# regularly. A step is a landing: after a flight (|a| below FLIGHT_MG, 0.8 g) |a| rises above
# THRESHOLD_MG (1.8 g); it is timed where |a| first passed EDGE_MG (1.2 g) on that rise. Timing the
# take-off (the fall to flight) scattered on the real treadmill recordings (running-sacral-accel: 11
# and 19 samples at 52 Hz, alternating, where the force plate says 15), and timing the 1.8 g crossing
# scattered in the simulator (the impact transient crosses it on some steps, the main peak ~100 ms
# later on others); the loading edge keeps the force plate's rhythm in both (docs/firmware.md). A step
# STEP_MIN..STEP_MAX samples after the previous one (130-215 steps/min, rounded outward) extends the chain of
# consecutive steps when its interval is within 1/JITTER_DIV of the previous one, else it starts a new
# chain. A step sooner than that (vibration) or a pause longer than that breaks the chain. running()
# is True once the chain holds `steps` steps (START_STEPS: 24, about 8.5 s at 170 steps/min) and has
# not paused since.
# Per sample: three shifts, three products, a few comparisons; no allocation, no floats. |a|^2 is
# compared with squared thresholds on counts shifted down to about 128 per g, so every value stays a
# small int (under 2^24) whatever the range.
#
# Watcher: while no session is recording, runs the IMU through its own driver at WATCH_HZ (52 Hz,
# +-16 g: the peaks never clip, and the 26 Hz bandwidth keeps the ~100-ms stance peak) and reads its
# FIFO every period_ms (1 s; the FIFO holds 4.9 s at 52 Hz, 2.56 s on the ICM-42688-P at its nearest
# rate, 50 Hz), feeding the detector. On running it powers that driver down and calls start(). After
# a session ends (or a start was refused) it waits until it has seen REARM_QUIET_MS without a running
# step before it may start again, so stopping a session by hand while still jogging does not start a
# new one at once.
import asyncio
import time

from micropython import const

THRESHOLD_MG = const(1800)
FLIGHT_MG = const(800)
EDGE_MG = const(1200)
MIN_SPM = const(130)
MAX_SPM = const(215)
JITTER_DIV = const(4)  # consecutive step intervals may differ by a quarter
START_STEPS = const(24)
WATCH_HZ = const(52)
WATCH_PERIOD_MS = const(1000)
REARM_QUIET_MS = const(60000)
RETRY_MS = const(10000)  # after the watch driver failed to start (no chip answering)
_FAR = const(1 << 28)  # "long ago", in samples


class StepDetector:
    """Running steps in 6-channel int16 batches (acc x, y, z first) from a driver of imu.py.

    rate_mhz: the samples' rate; acc_scale_ng: the accelerometer scale (driver attributes).
    steps: consecutive running steps that make running() True.
    """

    def __init__(
        self, rate_mhz, acc_scale_ng, *, steps=START_STEPS, threshold_mg=THRESHOLD_MG, flight_mg=FLIGHT_MG
    ):
        cpg = 1000000000 // acc_scale_ng  # counts per g (2049 at +-16 g)
        shift = 0
        while (cpg >> shift) > 128:
            shift += 1
        self._shift = shift
        thr = threshold_mg * cpg // (1000 << shift)
        flight = flight_mg * cpg // (1000 << shift)
        edge = EDGE_MG * cpg // (1000 << shift)
        self._thr2 = thr * thr
        self._flight2 = flight * flight
        self._edge2 = edge * edge
        self.rate_mhz = rate_mhz
        self.step_min = rate_mhz * 60 // (MAX_SPM * 1000)
        self.step_max = (rate_mhz * 60 + MIN_SPM * 1000 - 1) // (MIN_SPM * 1000)
        self.steps_needed = steps
        self.reset()

    def reset(self):
        self.index = 0  # samples seen (plus samples lost)
        self.steps = 0  # running steps in the current chain
        self.peaks = 0  # rises above the threshold (stances, jolts)
        self.landings = 0  # rises above the threshold after a flight (step candidates)
        self.last_step = 0  # index of the last running step (a landing at a running interval)
        self._armed = False  # |a| fell to flight and has not risen above the threshold since
        self._mark = -1  # index where |a| passed EDGE_MG since the flight (-1: not yet)
        self._loaded = False  # |a| is above the threshold (a rise is counted once)
        self._last = -_FAR  # index of the last landing
        self._gap = 0  # interval before the last step of the chain

    def running(self):
        # The chain is long enough and still going (no pause longer than a step since its last step).
        return self.steps >= self.steps_needed and self.index - self._last <= self.step_max

    def quiet_ms(self):
        """Time since the last running step (since reset() when none), ms of samples."""
        return (self.index - self.last_step) * 1000000 // self.rate_mhz

    def feed(self, buf, n, lost=0):
        """Samples buf[0 : 6 n] (after ``lost`` missing ones); returns running()."""
        idx = self.index + lost
        sh = self._shift
        thr2 = self._thr2
        flight2 = self._flight2
        edge2 = self._edge2
        loaded = self._loaded
        armed = self._armed
        mark = self._mark
        o = 0
        end = 6 * n
        while o < end:
            x = buf[o] >> sh
            y = buf[o + 1] >> sh
            z = buf[o + 2] >> sh
            m = x * x + y * y + z * z
            if m > thr2:
                if not loaded:
                    loaded = True
                    self.peaks += 1
                    if armed:
                        self._step(mark if mark >= 0 else idx)
                        armed = False
            elif m < flight2:
                loaded = False
                armed = True
                mark = -1
            else:
                loaded = False
                if armed and mark < 0 and m > edge2:
                    mark = idx
            idx += 1
            o += 6
        self._loaded = loaded
        self._armed = armed
        self._mark = mark
        self.index = idx
        return self.running()

    def _step(self, idx):
        # A landing after a flight, a few times a second: the next step of a run?
        self.landings += 1
        gap = idx - self._last
        self._last = idx
        if gap < self.step_min or gap > self.step_max:
            self.steps = 0  # too soon (vibration) or too late (a pause): the chain starts again here
            return
        self.last_step = idx
        prev = self._gap
        self._gap = gap
        if self.steps and abs(gap - prev) * JITTER_DIV <= prev:
            self.steps += 1
        else:
            self.steps = 1  # the first interval of a new chain


class Watcher:
    """Watches for running while the device is idle; calls start() when it sees it.

    make_driver(): a driver of imu.py (at WATCH_HZ, +-16 g; not started), made on first use.
    idle(): True while nothing else uses the IMU (no session recording). start(): starts a session.
    clock, sleep_ms: the ms clock and what to await (tests pass fakes).
    """

    def __init__(
        self,
        make_driver,
        idle,
        start,
        *,
        clock=None,
        sleep_ms=None,
        period_ms=WATCH_PERIOD_MS,
        steps=START_STEPS,
    ):
        self._make = make_driver
        self._idle = idle
        self._start = start
        self._clock = clock if clock is not None else time.ticks_ms
        self._sleep = sleep_ms if sleep_ms is not None else asyncio.sleep_ms
        self.period_ms = period_ms
        self.steps = steps
        self.imu = None
        self.det = None
        self.buf = None
        self.on = False  # our driver is streaming
        self.hold = False  # wait for REARM_QUIET_MS without running before starting again
        self.started = 0  # sessions this watcher started
        self.errors = 0
        self.detected_ms = 0  # clock when running was last detected

    def _begin(self):
        # Our driver on, detector fresh; False when the chip does not answer.
        drv = self.imu
        det = self.det
        try:
            if drv is None or det is None:
                drv = self._make()
                det = StepDetector(drv.rate_mhz, drv.acc_scale_ng, steps=self.steps)
                self.buf = drv.new_buffer()
                self.imu = drv
                self.det = det
            drv.start()
        except OSError:
            self.errors += 1
            return False
        det.reset()
        self.on = True
        return True

    def poll(self):
        """Drain our driver into the detector; True when running was seen (and may start a session)."""
        drv = self.imu
        det = self.det
        buf = self.buf
        if drv is None or det is None:
            return False
        while True:
            try:
                n = drv.read(buf)
            except OSError:
                self.errors += 1
                return False
            det.feed(buf, n, drv.lost)
            if not drv.more:
                break
        if self.hold:
            if det.quiet_ms() >= REARM_QUIET_MS:
                self.hold = False
                det.steps = 0  # the next start needs a whole new chain of steps
            return False
        return det.running()

    async def run(self):
        while True:
            if not self._idle():
                self.on = False  # a session took the chip (its start() reset it): ours is gone
                self.hold = True  # and once it ends, running must pause before the next auto-start
                await self._sleep(self.period_ms)
                continue
            if not self.on and not self._begin():
                await self._sleep(RETRY_MS)
                continue
            await self._sleep(self.period_ms)
            if not self._idle():
                continue
            if self.poll():
                self.detected_ms = self._clock()
                self.on = False
                drv = self.imu
                try:
                    if drv is not None:
                        drv.stop()
                except OSError:
                    pass
                self.hold = True  # also when the start is refused (battery low): no retry every step
                if self._start():
                    self.started += 1
