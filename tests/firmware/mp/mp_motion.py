# Synthetic accelerometer signals for the motion tests (MicroPython): int16 counts at +-16 g (2049
# counts per g), 6 interleaved channels, vertical on z, with a little noise. Deterministic.
import array
import math

G = 2049  # counts per g at +-16 g (0.488 mg per count)


class _Noise:
    def __init__(self, seed):
        self.s = seed

    def next(self, amp):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % (2 * amp + 1) - amp


def _put(a, i, x, y, z, gz=0):
    o = i * 6
    a[o] = max(-32768, min(32767, int(x)))
    a[o + 1] = max(-32768, min(32767, int(y)))
    a[o + 2] = max(-32768, min(32767, int(z)))
    a[o + 5] = gz


def still(rate_hz, seconds, seed=1):
    n = int(rate_hz * seconds)
    a = array.array("h", bytes(12 * n))
    rnd = _Noise(seed)
    for i in range(n):
        _put(a, i, rnd.next(20), rnd.next(20), G + rnd.next(20))
    return a


def steps(rate_hz, seconds, spm, peak_mg, *, contact_frac=0.7, floor_mg=200, jitter_pct=2, seed=1):
    """Gait: per step, |a| rises as a half sine from floor_mg to peak_mg over contact_frac of the step.

    Running: peak 2000-3500 mg, floor about 200 mg (flight), contact_frac 0.7. Walking: peak 1200-1500,
    floor 700-800, contact_frac 1.0. Step times vary by +-jitter_pct.
    """
    n = int(rate_hz * seconds)
    a = array.array("h", bytes(12 * n))
    rnd = _Noise(seed)
    t_step = 60.0 / spm
    next_t = 0.0
    start = 0.0
    T = t_step
    for i in range(n):
        t = i / rate_hz
        if t >= next_t:
            start = next_t
            T = t_step * (1 + rnd.next(jitter_pct * 10) / 1000)
            next_t = start + T
        tau = (t - start) / (T * contact_frac)
        v = floor_mg
        if tau < 1:
            v = floor_mg + (peak_mg - floor_mg) * math.sin(math.pi * tau)
        _put(
            a, i, 0.15 * v * G / 1000 + rnd.next(30), rnd.next(30), v * G / 1000 + rnd.next(30), rnd.next(200)
        )
    return a


def bump(a, rate_hz, at_s, peak_mg, width_ms=60):
    """Add a jolt to a: a half-sine rise of |a| to peak_mg on z at at_s."""
    i0 = int(at_s * rate_hz)
    w = max(1, int(width_ms * rate_hz / 1000))
    for k in range(w):
        i = i0 + k
        if 6 * i + 2 >= len(a):
            break
        z = a[6 * i + 2] + (peak_mg - 1000) * G / 1000 * math.sin(math.pi * (k + 0.5) / w)
        a[6 * i + 2] = max(-32768, min(32767, int(z)))
    return a


def flight(a, rate_hz, at_s, seconds, mg=100):
    """Set |a| to about mg (free fall: a jump, the clip dropped) from at_s for seconds."""
    for i in range(int(at_s * rate_hz), min(len(a) // 6, int((at_s + seconds) * rate_hz))):
        a[6 * i] = 0
        a[6 * i + 1] = 0
        a[6 * i + 2] = mg * G // 1000
    return a


def jump(a, rate_hz, at_s, air_s=0.4):
    """A jump: push-off to 2.5 g, air_s in the air, landing at 4.5 g."""
    bump(a, rate_hz, at_s, 2500, 150)
    flight(a, rate_hz, at_s + 0.15, air_s)
    return bump(a, rate_hz, at_s + 0.15 + air_s, 4500, 60)


def car(rate_hz, seconds, seed=3):
    """Seated in a car: 1 g, 12 Hz road vibration of 0.15 g, and pot-holes at random: up to 2.6 g, then
    a moment of 0.4 g as the seat drops away."""
    a = still(rate_hz, seconds, seed)
    n = len(a) // 6
    for i in range(n):
        a[6 * i + 2] += int(0.15 * G * math.sin(2 * math.pi * 12 * i / rate_hz))
    rnd = _Noise(seed + 7)
    t = 0.5
    while t < seconds - 0.2:
        bump(a, rate_hz, t, 1600 + rnd.next(1000), 40 + rnd.next(30) + 30)
        flight(a, rate_hz, t + 0.12, 0.05, 400)
        t += 0.2 + (rnd.next(900) + 900) / 1000  # 0.2-2 s apart
    return a


def join(*parts):
    out = array.array("h")
    for p in parts:
        out.extend(p)
    return out
