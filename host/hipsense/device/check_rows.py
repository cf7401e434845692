"""The rows of ``hipsense device check`` (docs/device-check.md): what each measures and when it passes.

Pure functions of what the clip reported (INFO, STATUS, SELFTEST, the session header, live samples);
the protocol steps are in :mod:`hipsense.device.check`. Every number from the clip is bounded here
before it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipsense.device.check_rate import RateFit, fit_rate
from hipsense.formats.device_file import SessionHeader
from hipsense.sync import protocol as P

G = 9.80665
#: the real output rate may differ this much from the header's (ppm) before the rate row fails
RATE_TOLERANCE_PPM = 30_000
#: the rate row says the stream ran late (s) beyond this: more than the sampler's FIFO batches and USB frames
LATE_S = 0.02
#: accelerometer magnitude at rest (g) and the most noise (mg rms per axis) of a clip lying still
REST_G = (0.95, 1.05)
REST_ACC_NOISE_MG = 20.0
#: gyroscope zero-rate offset (deg/s) and noise (deg/s rms) at rest
REST_GYR_BIAS_DPS = 5.0
REST_GYR_NOISE_DPS = 1.0
#: an axis "reads 1 g" when its mean is at least this (the clip tilted by up to about 35 degrees)
AXIS_MIN_G = 0.8
#: the flash must take the recording's bytes many times over (KiB/s), and hold this much (KiB, about an
#: hour of running at 3.27 MB per hour, docs/firmware.md)
FLASH_MIN_KIB_S = 64.0
FLASH_MIN_FREE_KIB = 3300
#: battery: a cell below this (mV) needs charging before a run; above MAX_MV the reading is not a LiPo
BATTERY_LOW_MV = 3600
BATTERY_MAX_MV = 4400
#: the most samples kept (10 minutes at 833 Hz): the clip decides how fast they come, not how many
MAX_SAMPLES = 500_000
#: the most packets timed (about 30 minutes of 16-sample packets at 833 Hz; a flood of tiny ones stops here)
MAX_PACKETS = 100_000
#: a live packet may jump this far ahead (s of samples); further is a damaged or hostile packet
MAX_JUMP_S = 60

AXES = "xyz"
#: The poses of the check: (name, what the user is asked, chip axis reading +1 g or -1 g, sign).
#: From hardware/README.md: chip x up when the clip is worn upright; z out of the lid (the face with
#: the arrow), so the lid up on a table reads z = +1 g and the lid down reads z = -1 g.
POSES = (
    ("face up", "Lay the clip still on a table, face up (the lid with the arrow on top).", 2, +1),
    ("upright", "Stand the clip upright as it is worn: arrow up, USB end down. Hold it still.", 0, +1),
    ("face down", "Lay the clip face down on the table (the lid on the table). Keep it still.", 2, -1),
)


@dataclass
class Row:
    """One line of the check: ``ok`` True (pass), False (fail) or None (not measured)."""

    name: str
    ok: bool | None
    value: str
    detail: str = ""


# -- the live samples ------------------------------------------------------------------------------


class LiveSamples:
    """Live packets as they arrive: laptop arrival time, end sample index and counts (bounded)."""

    def __init__(self, first_index: int, channels: int, rate_hz: float):
        self.channels = channels
        self.rate_hz = rate_hz
        self.last = first_index - 1
        self.arrival: list[float] = []  # per accepted packet
        self.end_index: list[int] = []  # per accepted packet: index after its last sample
        self.counts: list[np.ndarray] = []
        self.kept = 0
        self.packets = 0
        self.bad_packets = 0
        self.dropped_marks = 0
        self.ignored = 0

    def add(self, t: float, frame: P.Frame) -> None:
        try:
            pkt = P.live_packet(frame, self.channels)
        except P.FrameError:
            self.bad_packets += 1
            return
        n = len(pkt.counts)
        if not n or pkt.first_index <= self.last:  # empty or a duplicate
            return
        if pkt.first_index > self.last + 1 + MAX_JUMP_S * self.rate_hz:
            self.bad_packets += 1
            return
        if self.packets >= MAX_PACKETS or self.kept + n > MAX_SAMPLES:
            self.ignored += 1  # enough: later packets are neither timed nor kept (arrival and counts align)
            return
        self.packets += 1
        self.dropped_marks += pkt.dropped_before
        self.last = pkt.first_index + n - 1
        self.arrival.append(t)
        self.end_index.append(pkt.first_index + n)
        self.counts.append(pkt.counts.astype(np.float64))
        self.kept += n

    def window(self, t0: float, t1: float) -> np.ndarray:
        """Counts of the packets that arrived between laptop times ``t0`` and ``t1``: ``(n, channels)``."""
        parts = [c for t, c in zip(self.arrival, self.counts, strict=True) if t0 <= t < t1]
        return np.concatenate(parts) if parts else np.zeros((0, self.channels))


# -- rows --------------------------------------------------------------------------------------------


def _fmt_axes(v: np.ndarray, fmt: str) -> str:
    return " ".join(f"{a} {format(x, fmt)}" for a, x in zip(AXES, v, strict=True))


def rest_rows(counts: np.ndarray, header: SessionHeader) -> list[Row]:
    """Accelerometer magnitude and noise, gyroscope bias and noise, of the clip lying still."""
    if len(counts) < max(20, header.sample_rate_hz):
        return [
            Row("accelerometer at rest", None, "too few samples", "the stream stopped; run the check again"),
            Row("gyroscope at rest", None, "too few samples", ""),
        ]
    acc = counts[:, :3] * header.acc_scale_ms2 / G
    mean, std_mg = acc.mean(axis=0), acc.std(axis=0) * 1000
    mag = float(np.linalg.norm(mean))
    moved = bool(np.max(std_mg) > REST_ACC_NOISE_MG)
    acc_ok = REST_G[0] <= mag <= REST_G[1] and not moved
    if moved:
        hint = f"noise above {REST_ACC_NOISE_MG:g} mg: the clip moved, or the IMU is loose; lay it on a table"
    elif not acc_ok:
        hint = (
            f"|a| should be 1 g ({REST_G[0]:g}..{REST_G[1]:g}): the range setting and the scale in the "
            "header disagree, or the chip is faulty"
        )
    else:
        hint = "1 g, quiet"
    rows = [
        Row(
            "accelerometer at rest", acc_ok, f"|a| {mag:.3f} g, noise {_fmt_axes(std_mg, '.1f')} mg rms", hint
        )
    ]
    if counts.shape[1] < 6:
        rows.append(
            Row(
                "gyroscope at rest",
                False,
                "no gyroscope",
                "the clip records 3 channels: a 6-axis IMU is needed",
            )
        )
        return rows
    gyr = counts[:, 3:6] * header.gyr_scale_dps
    bias, noise = gyr.mean(axis=0), gyr.std(axis=0)
    gyr_ok = bool(np.max(np.abs(bias)) <= REST_GYR_BIAS_DPS and np.max(noise) <= REST_GYR_NOISE_DPS)
    rows.append(
        Row(
            "gyroscope at rest",
            gyr_ok,
            f"bias {_fmt_axes(bias, '+.2f')} deg/s, noise {_fmt_axes(noise, '.2f')} deg/s rms",
            "zero-rate offset small (the analysis removes it)"
            if gyr_ok
            else f"offset above {REST_GYR_BIAS_DPS:g} deg/s or noise above {REST_GYR_NOISE_DPS:g} deg/s: "
            "the clip moved, or the gyroscope is faulty",
        )
    )
    return rows


def axis_row(pose: str, counts: np.ndarray, header: SessionHeader, axis: int, sign: int) -> Row:
    """Which chip axis reads gravity in ``pose``, against the one hardware/README.md says."""
    want = f"{'+' if sign > 0 else '-'}{AXES[axis]}"
    name = f"axes: {pose}"
    if len(counts) < 10:
        return Row(name, None, "too few samples", "the stream stopped; run the check again")
    mean = counts[:, :3].mean(axis=0) * header.acc_scale_ms2 / G
    top = int(np.argmax(np.abs(mean)))
    got = f"{'+' if mean[top] > 0 else '-'}{AXES[top]}"
    ok = top == axis and np.sign(mean[top]) == sign and abs(mean[top]) >= AXIS_MIN_G
    value = f"{_fmt_axes(mean, '+.2f')} g"
    if ok:
        detail = f"{want} reads 1 g, as hardware/README.md says"
    elif abs(mean[top]) < AXIS_MIN_G:
        detail = f"expected {want} = 1 g; no axis reads 1 g: hold the clip square in the pose and run again"
    else:
        detail = (
            f"expected {want} = 1 g, but {got} reads it: the IMU sits turned in the clip "
            "(hardware/README.md, axes as mounted); fix the mounting"
        )
    return Row(name, bool(ok), value, detail)


def identity_rows(info: P.DeviceInfo, header: SessionHeader) -> list[Row]:
    """The IMU the clip found and the ranges it records at."""
    model = header.sensor_model or info.sensor_model
    same = not info.sensor_model or info.sensor_model == header.sensor_model
    known = any(m in model.upper() for m in ("LSM6DSOX", "ICM42688", "ICM-42688"))
    rows = [
        Row(
            "IMU",
            bool(model) and same and known,
            f"{model or 'none'} (firmware {info.firmware_version or '?'}, clip {info.device_id or '?'})",
            "found at boot"
            if bool(model) and same and known
            else "no supported IMU answered (check the I2C wiring, hardware/wiring.md)"
            if not model
            else f"INFO says {info.sensor_model!r}, the recording {header.sensor_model!r}"
            if not same
            else "not a supported IMU (LSM6DSOX or ICM-42688-P)",
        )
    ]
    # The scale must match the range: 32768 counts of it span the range or a little more (the
    # LSM6DSOX's 70 mdps per count at +-2000 deg/s spans 2294 deg/s).
    acc_fs = header.acc_scale_ms2 * 32768 / G
    gyr_fs = header.gyr_scale_dps * 32768
    consistent = 0.95 <= acc_fs / header.acc_range_g <= 1.2 and 0.95 <= gyr_fs / header.gyr_range_dps <= 1.2
    wide = header.acc_range_g >= 8 and header.gyr_range_dps >= 1000 and header.channels == 6
    rows.append(
        Row(
            "range settings",
            consistent and wide,
            f"+-{header.acc_range_g} g, +-{header.gyr_range_dps} deg/s, {header.sample_rate_hz:g} Hz, "
            f"{header.channels} channels",
            "as recorded in every session header"
            if consistent and wide
            else "the scale factors do not match the ranges: firmware and chip disagree (hipsense device deploy)"
            if not consistent
            else "running needs at least +-8 g, +-1000 deg/s and the gyroscope (config.json: acc_range_g, "
            "gyr_range_dps; docs/firmware.md)",
        )
    )
    return rows


def rate_row(samples: LiveSamples, nominal_hz: float) -> tuple[Row, RateFit | None]:
    """The output-rate row and the fit behind it when measured.

    PASS when the rate is within :data:`RATE_TOLERANCE_PPM` of the header's even at the far end of
    its stated bound, FAIL when it is outside even at the near end, else "not measured": the stream
    fell too far behind to tell (a busy laptop).
    """
    fit = fit_rate(np.asarray(samples.arrival), np.asarray(samples.end_index), nominal_hz)
    lost = f"; {samples.dropped_marks} gaps where the clip dropped samples" if samples.dropped_marks else ""
    if fit is None:
        why = "fewer than 5 s of samples arrived, or none at a steady rate near the header's"
        return Row("output rate", None, "not measured", why + lost), None
    value = (
        f"{fit.hz:.3f} Hz, {fit.ppm:+.0f} ppm (+-{fit.bound_ppm:.0f}) against the header's {nominal_hz:g} Hz"
    )
    late = (
        f"; packets arrived up to {fit.behind_s * 1000:.0f} ms late for a second or more (a busy laptop): "
        "the +- is widened for it"
        if fit.behind_s > LATE_S and fit.bound_ppm > 2 * fit.se_ppm
        else ""
    )
    if abs(fit.ppm) + fit.bound_ppm <= RATE_TOLERANCE_PPM:
        ok: bool | None = True
        detail = "the analysis measures this error from the block timestamps and corrects it"
    elif abs(fit.ppm) - fit.bound_ppm > RATE_TOLERANCE_PPM:
        ok = False
        detail = (
            f"more than {RATE_TOLERANCE_PPM / 1e4:g} % off: a wrong output-rate setting or a faulty clock "
            "(hipsense device deploy; else the IMU)"
        )
    else:
        ok = None
        detail = (
            f"too uncertain to tell whether it is within {RATE_TOLERANCE_PPM / 1e4:g} %: close other programs "
            "and run the check again, or give it more --seconds"
        )
        value = "not measured: " + value
    return Row("output rate", ok, value, detail + late + lost), fit


def flash_row(status: P.DeviceStatus, test: P.SelfTest | None, why: str) -> Row:
    free = f"{status.free_kib / 1024:.1f} MiB free (about {status.free_kib / FLASH_MIN_FREE_KIB:.0f} h of running)"
    if test is None:
        return Row("flash", None, free, why)
    if test.write_us and test.bytes_written:
        speed = test.bytes_written / 1024 / (test.write_us / 1e6)
        timed = f"write {speed:,.0f} KiB/s, read {test.bytes_written / 1024 / max(test.read_us, 1) * 1e6:,.0f} KiB/s"
    else:  # the clip's clock did not see it take any time
        speed = float("inf")
        timed = f"{test.bytes_written // 1024} KiB written in under the clip's clock tick"
    ok = test.verified and speed >= FLASH_MIN_KIB_S and status.free_kib >= FLASH_MIN_FREE_KIB
    if not test.verified:
        detail = "the bytes read back differ from those written: the flash or its file system is faulty"
    elif speed < FLASH_MIN_KIB_S:
        detail = f"slower than {FLASH_MIN_KIB_S:g} KiB/s: the sampler may fall behind (FIFO overflows)"
    elif status.free_kib < FLASH_MIN_FREE_KIB:
        detail = "less than an hour of room: sync the clip (hipsense sync) or check the partition size"
    else:
        detail = "written, read back identical and deleted"
    return Row("flash", ok, f"{timed}; {free}", detail)


def battery_row(status: P.DeviceStatus) -> Row:
    mv, pct = status.battery_mv, status.battery_pct
    if mv == 0:
        return Row(
            "battery", False, "no reading", "the battery divider is not wired (hardware/wiring.md, VBAT)"
        )
    if mv > BATTERY_MAX_MV or pct > 100:
        return Row(
            "battery", False, f"{mv} mV, {pct} %", "not a LiPo reading: check the divider ratio (config.json)"
        )
    ok = mv >= BATTERY_LOW_MV
    return Row(
        "battery",
        ok,
        f"{mv / 1000:.2f} V, {pct} %",
        "charged enough for a run" if ok else "low: charge it before a run",
    )


def ble_row(status: P.DeviceStatus, test: P.SelfTest | None) -> Row:
    window = "; pairing window open" if status.pairing else ""
    if test is None:
        return Row(
            "Bluetooth",
            None,
            "state not known" + window,
            "needs firmware with SELFTEST (hipsense device deploy)",
        )
    keys = min(test.keys, 255)
    paired = f"{keys} laptop(s) paired" if keys else "no laptop paired yet (hipsense pair)"
    if not test.ble_on:
        return Row("Bluetooth", False, "off" + window, "the clip does not advertise: firmware without BLE?")
    return Row(
        "Bluetooth", True, f"advertising when idle; {paired}{window}", "hipsense devices lists the clip"
    )
