# Clock-locked playback for the chip models (runs on MicroPython): the world moves while the chip idles.
#
# ClockLocked is a mixin for FakeLSM6DSOX and FakeICM42688 (TimeLockedLSM6DSOX, TimeLockedICM42688):
# it replaces the models' "one source sample per chip sample" (_next) by "the source around the
# chip's sample time". The source is a recording of the world at source_rate = (num, den) samples per
# microsecond of the FakeClock; a sample the chip produces at time t is the mean of the source samples
# since the chip's previous sample time (a crude anti-aliasing filter when the chip runs slower than
# the source: a 52 Hz chip on a 208 Hz source averages 4), whether or not the chip streamed before.
# A chip at the source's rate reads it one to one.
#
# The model provides: samples, n_source, t0 (us when streaming started), produced (samples made since),
# and calls _next(num, den) for each sample it makes, its rate being num/den samples per microsecond.


class ClockLocked:
    def _lock(self, source_rate):
        self.source_rate = source_rate
        self._mean = [0] * 6

    def _next(self, num, den):
        # The chip's next sample (number `produced` since t0): (index of the last source sample it
        # covers, values, offset of its 6 channels in values), or None when the source has run out.
        ns, ds = self.source_rate
        k = self.produced
        base = self.t0 * num
        d = num * ds
        hi = (base + (k + 1) * den) * ns // d  # the source sample at the chip's sample time
        if hi >= self.n_source:
            return None
        lo = (base + k * den) * ns // d + 1  # the first after the chip's previous sample time
        if lo > hi:
            lo = hi
        s = self.samples
        m = self._mean
        n = hi - lo + 1
        for c in range(6):
            t = 0
            for i in range(lo, hi + 1):
                t += s[i * 6 + c]
            m[c] = t // n
        return hi, m, 0
