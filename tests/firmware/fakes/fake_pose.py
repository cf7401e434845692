# An LSM6DSOX model lying still in a pose, on the wall clock (runs on MicroPython), for the bring-up
# check over the pty (tests/host/test_device_check.py, tests/mpy/clip_main.py).
#
# PoseLSM6DSOX(clock, pose="face_up", mount=MOUNT_OK, rate_ppm=0, noise_mg=2, gyr_bias_dps=(0.3, -0.2, 0.1))
#   pose   where gravity's reaction (what an accelerometer at rest reads, +1 g "up") points in the
#          clip's frame (hardware/README.md: x up when worn upright, z out of the lid): "face_up"
#          (+z), "upright" (+x), "face_down" (-z); tests change it while the clip runs.
#   mount  how the chip sits in the clip: chip axis i reads sign_i * clip axis perm_i. MOUNT_OK is the
#          documented mounting; MOUNT_TURNED a chip soldered turned by 90 degrees in the board's plane
#          (its x reads the clip's -y), which the check's axis rows must fail.
# Counts follow the full-scale range the driver configured (CTRL1_XL FS bits, CTRL2_G FS bits), so
# 1 g reads as many counts as the driver's scale says; the noise is a fixed-seed LCG (no `random`).
from fake_lsm6dsox import FakeLSM6DSOX

POSES = {"face_up": (0, 0, 1), "upright": (1, 0, 0), "face_down": (0, 0, -1)}
MOUNT_OK = ((0, 1), (1, 1), (2, 1))
MOUNT_TURNED = ((1, -1), (0, 1), (2, 1))
# mg per count by CTRL1_XL FS_XL bits (00 2 g, 01 16 g, 10 4 g, 11 8 g); mdps per count by CTRL2_G FS.
_ACC_MG = {0: 0.061, 1: 0.488, 2: 0.122, 3: 0.244}
_GYR_MDPS = {0: 8.75, 1: 4.375, 2: 17.5, 4: 35.0, 6: 70.0}


class _AllDelivered:
    # The base model records which source samples were read out (a bytearray per source sample); a
    # pose has no finite source, so that bookkeeping is dropped.
    def __getitem__(self, i):
        return 3

    def __setitem__(self, i, v):
        pass


class WallClock:
    # The chip models read clock.us: here microseconds of the interpreter's own monotonic clock.
    def __init__(self):
        import time

        self._time = time
        self._t0 = time.ticks_us()

    @property
    def us(self):
        return self._time.ticks_diff(self._time.ticks_us(), self._t0)


class PoseLSM6DSOX(FakeLSM6DSOX):
    def __init__(
        self, clock, pose="face_up", *, mount=MOUNT_OK, rate_ppm=0, noise_mg=2, gyr_bias_dps=(0.3, -0.2, 0.1)
    ):
        FakeLSM6DSOX.__init__(self, clock, None, rate_ppm=rate_ppm)
        self.delivered = _AllDelivered()
        self.pose = pose
        self.mount = mount
        self.noise_mg = noise_mg
        self.gyr_bias_dps = gyr_bias_dps
        self._seed = 12345
        self._vals = [0] * 6

    def _noise(self):
        # Uniform in [-1, 1): a 31-bit LCG.
        self._seed = (self._seed * 1103515245 + 12345) & 0x7FFFFFFF
        return self._seed / 1073741824.0 - 1.0

    def _next(self, num, den):
        up = POSES[self.pose]
        acc_mg = _ACC_MG[(self.regs[0x10] >> 2) & 3]
        gyr_mdps = _GYR_MDPS.get((self.regs[0x11] >> 1) & 7, 70.0)
        v = self._vals
        for i in range(3):
            axis, sign = self.mount[i]
            g = sign * up[axis] * 1000.0 + self.noise_mg * 1.7 * self._noise()  # uniform: std = 1.7 / 3**0.5
            v[i] = int(g / acc_mg)
            v[3 + i] = int((self.gyr_bias_dps[i] * 1000.0) / gyr_mdps + self._noise())
        return self.src, v, 0
