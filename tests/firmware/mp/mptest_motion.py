# MicroPython tests of firmware/motion.py's StepDetector on synthetic signals (mp_motion.py): running
# is detected after START_STEPS regular steps; walking, stillness, jolts, jumps, a car ride and
# vibration are not.
import array

import micropython
import motion
from mp_motion import G, bump, car, join, jump, steps, still

RATE = 52
RATE_MHZ = 52000
SCALE_16G = 488000  # ng per count at +-16 g


def _detector(**kw):
    return motion.StepDetector(RATE_MHZ, SCALE_16G, **kw)


def _first_running(det, a, chunk=52):
    """Feed a in chunks; the sample index when running() first turned True, or -1."""
    n = len(a) // 6
    buf = array.array("h", bytes(12 * chunk))
    i = 0
    while i < n:
        k = min(chunk, n - i)
        buf[0 : 6 * k] = a[6 * i : 6 * (i + k)]
        if det.feed(buf, k):
            return det.index
        i += k
    return -1


def test_intervals_and_threshold_in_counts():
    det = _detector()
    assert det.step_min == 14 and det.step_max == 24  # 215 and 130 steps/min at 52 Hz
    det208 = motion.StepDetector(208343, SCALE_16G)
    assert det208.step_min == 58 and det208.step_max == 97


def test_running_is_detected_after_the_configured_steps():
    for spm in (140, 170, 200):
        for peak in (2200, 3200):
            det = _detector()
            a = join(still(RATE, 5), steps(RATE, 30, spm, peak, seed=spm))
            at = _first_running(det, a)
            assert at > 0, (spm, peak, det.peaks, det.steps)
            t_run = (at - 5 * RATE) / RATE  # seconds of running before detection
            # 24 intervals after the first peak: 24 x 60 / spm s, +- a step, + the chunk (1 s)
            expect = 24 * 60 / spm
            assert expect - 0.5 < t_run < expect + 60 / spm + 1.1, (spm, peak, t_run)
            assert det.quiet_ms() < 1000


def test_fewer_steps_do_not_start():
    det = _detector()
    assert _first_running(det, join(still(RATE, 5), steps(RATE, 7.5, 170, 3000), still(RATE, 20))) == -1
    assert 18 <= det.peaks <= 23 and det.steps < 24
    # The pause broke the chain: 3 s more running (8 steps) do not make it up to 24.
    assert _first_running(det, steps(RATE, 3, 170, 3000, seed=5)) == -1 and det.steps < 10


def test_a_pause_restarts_the_count():
    # 7 s running, 2 s standing (at a traffic light), 7 s running: never 24 consecutive steps.
    det = _detector()
    a = join(steps(RATE, 7, 170, 3000, seed=2), still(RATE, 2), steps(RATE, 7, 170, 3000, seed=3))
    assert _first_running(det, a) == -1
    # ... until the run goes on long enough.
    assert _first_running(det, steps(RATE, 5, 170, 3000, seed=4)) > 0


def test_walking_does_not_start():
    for spm, peak in ((100, 1250), (120, 1400), (135, 1600)):
        det = _detector()
        assert _first_running(det, steps(RATE, 60, spm, peak, contact_frac=1.0, floor_mg=750)) == -1
        assert det.peaks == 0 and det.quiet_ms() >= 59000, (spm, det.peaks)


def test_stillness_does_not_start():
    det = _detector()
    assert _first_running(det, still(RATE, 120)) == -1 and det.peaks == 0
    assert 119000 <= det.quiet_ms() <= 120000


def test_a_single_jolt_or_jump_does_not_start():
    det = _detector()
    a = bump(still(RATE, 20), RATE, 5, 4000)  # set down hard
    a = jump(a, RATE, 12)
    # Three rises (the set-down, the jump's push-off, its landing); only the landing follows a flight,
    # and one landing is not a step interval.
    assert _first_running(det, a) == -1 and det.steps == 0
    assert (det.peaks, det.landings) == (3, 1), (det.peaks, det.landings)


def test_jumps_at_random_intervals_do_not_start():
    a = still(RATE, 60)
    t = 1.0
    k = 0
    while t < 57:
        a = jump(a, RATE, t, 0.2)
        t += 0.45 + (0.0, 0.2, 0.5, 0.1, 0.3, 1.0, 0.05)[k % 7]
        k += 1
    det = _detector()
    assert _first_running(det, a) == -1 and det.landings > 50, det.landings


def test_a_car_ride_does_not_start():
    for seed in (3, 4, 5):
        det = _detector()
        assert _first_running(det, car(RATE, 120, seed)) == -1
        assert det.landings > 20, det.landings  # pot-holes looked like stances, but not like steps


def test_vibration_above_the_threshold_does_not_start():
    # A machine shaking the clip at 6 Hz with 2.4 g peaks: peaks come too soon to be steps.
    det = _detector()
    assert _first_running(det, steps(RATE, 60, 360, 2400, contact_frac=0.5, floor_mg=300)) == -1
    assert det.landings > 100


def test_other_ranges_and_lost_samples():
    # +-4 g: 8197 counts per g; the same running in those counts is detected.
    run = steps(RATE, 20, 170, 2600)
    a4 = array.array("h", [max(-32768, min(32767, v * 4)) for v in run])
    assert _first_running(motion.StepDetector(RATE_MHZ, 122000), a4) > 0
    # A gap (FIFO overflow) moves the sample index on: the step interval across it is too long.
    det = _detector()
    run = steps(RATE, 6, 170, 3000)
    det.feed(run, len(run) // 6)
    peaks = det.peaks
    assert det.steps >= 10
    det.feed(run, len(run) // 6, 200)
    assert det.index == 2 * (len(run) // 6) + 200 and det.peaks > peaks and det.steps < 20


def test_feed_allocates_nothing():
    det = _detector()
    a = steps(RATE, 10, 170, 3000)
    buf = array.array("h", a[0 : 6 * 64])
    det.feed(buf, 64)
    micropython.heap_lock()
    try:
        for _ in range(8):
            det.feed(buf, 64)
    finally:
        micropython.heap_unlock()
    assert det.index == 9 * 64


def test_thresholds_are_1_8_g_and_0_8_g():
    # A rise to 1.75 g never counts; to 1.85 g it does; it is a landing when |a| fell below 0.8 g
    # (a flight) since the last rise, and 0.85 g is no flight.
    det = _detector()
    lo = array.array("h", [0, 0, int(1.75 * G), 0, 0, 0, 0, 0, int(0.5 * G), 0, 0, 0])
    hi = array.array("h", [0, 0, int(1.85 * G), 0, 0, 0, 0, 0, int(0.85 * G), 0, 0, 0])
    det.feed(hi, 2)
    assert det.peaks == 1 and det.landings == 0  # no flight before it
    det.feed(lo, 2)
    assert det.peaks == 1 and det.landings == 0
    det.feed(hi, 2)
    assert det.peaks == 2 and det.landings == 1
    det.feed(hi, 2)
    assert det.peaks == 3 and det.landings == 1
