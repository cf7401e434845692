"""What the IMU chip does to the true signals: errors, ranges, counts, clock and lost samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hipsense.conventions import ACC_LSB_MG, DEFAULT_SAMPLE_RATE_HZ, GYR_LSB_MDPS, G

INT16_MIN, INT16_MAX = -32768, 32767


@dataclass(frozen=True)
class SensorModel:
    """The IMU and its sampling.

    Errors are applied in the sensor frame as ``out = (1 + scale_error) * true + bias + noise``, then
    clipped at full scale, rounded to counts and stored as int16; the SI values are ``counts * scale``.

    Parameters
    ----------
    sample_rate_hz
        Nominal output data rate (what the device file header says).
    clock_error_pct
        How far the device's clock is off: the true rate is ``sample_rate_hz * (1 + clock_error_pct /
        100)``. Sample ``k`` is taken at true time ``k / true_rate`` but time-stamped ``k / nominal``.
    acc_range_g, gyr_range_dps
        Full-scale ranges (keys of :data:`~hipsense.conventions.ACC_LSB_MG` / ``GYR_LSB_MDPS``).
    acc_noise_ms2, gyr_noise_dps
        White noise, standard deviation per sample (a little above what the LSM6DSOX datasheet noise
        densities give over the output bandwidth at 208 Hz).
    acc_bias_ms2, gyr_bias_dps
        Constant bias per sensor axis; ``None`` draws one per axis from a normal distribution with
        ``acc_bias_sd_ms2`` / ``gyr_bias_sd_dps`` (datasheet zero-g / zero-rate offsets are of the
        order of +-20 mg and +-1 deg/s).
    acc_scale_error, gyr_scale_error
        Fractional sensitivity error per axis; ``None`` draws from ``scale_error_sd``.
    drops_per_min
        Expected number of gaps (runs of lost samples, e.g. FIFO overflows) per minute, at random
        times, each 1 to ``drop_max_samples`` samples long.
    drops
        Explicit gaps: ``(first_sample_index, n_samples)`` pairs.
    accel_only
        Record the 3 accelerometer channels only.
    """

    sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ
    clock_error_pct: float = 0.0
    acc_range_g: int = 16
    gyr_range_dps: int = 2000
    acc_noise_ms2: float = 0.02
    gyr_noise_dps: float = 0.1
    acc_bias_ms2: tuple[float, float, float] | None = None
    gyr_bias_dps: tuple[float, float, float] | None = None
    acc_bias_sd_ms2: float = 0.05
    gyr_bias_sd_dps: float = 0.3
    acc_scale_error: tuple[float, float, float] | None = None
    gyr_scale_error: tuple[float, float, float] | None = None
    scale_error_sd: float = 0.003
    drops_per_min: float = 0.0
    drop_max_samples: int = 16
    drops: tuple[tuple[int, int], ...] = field(default_factory=tuple)
    accel_only: bool = False

    @classmethod
    def ideal(cls, **overrides) -> SensorModel:
        """No noise, bias or scale error (counts and clipping stay): for tests of the physics."""
        zeros = (0.0, 0.0, 0.0)
        base: dict[str, Any] = {
            "acc_noise_ms2": 0.0,
            "gyr_noise_dps": 0.0,
            "acc_bias_ms2": zeros,
            "gyr_bias_dps": zeros,
            "acc_scale_error": zeros,
            "gyr_scale_error": zeros,
        }
        base.update(overrides)
        return cls(**base)

    @property
    def true_sample_rate_hz(self) -> float:
        return self.sample_rate_hz * (1.0 + self.clock_error_pct / 100.0)

    @property
    def acc_scale_ms2(self) -> float:
        """m/s^2 per count."""
        if self.acc_range_g not in ACC_LSB_MG:
            raise ValueError(f"acc_range_g must be one of {sorted(ACC_LSB_MG)}, not {self.acc_range_g}")
        return ACC_LSB_MG[self.acc_range_g] * 1e-3 * G

    @property
    def gyr_scale_dps(self) -> float:
        """deg/s per count."""
        if self.gyr_range_dps not in GYR_LSB_MDPS:
            raise ValueError(f"gyr_range_dps must be one of {sorted(GYR_LSB_MDPS)}, not {self.gyr_range_dps}")
        return GYR_LSB_MDPS[self.gyr_range_dps] * 1e-3


@dataclass(frozen=True)
class SensorErrors:
    """The errors actually applied to one run (drawn or given), per sensor axis."""

    acc_bias_ms2: np.ndarray
    gyr_bias_dps: np.ndarray
    acc_scale_error: np.ndarray
    gyr_scale_error: np.ndarray


def draw_errors(model: SensorModel, rng: np.random.Generator) -> SensorErrors:
    """Fix the bias and scale errors of one run (drawn from ``rng`` where the model leaves them open)."""

    def pick(given, sd):
        drawn = rng.normal(0.0, sd, 3)  # always drawn, so one choice does not shift the others
        return np.asarray(given, dtype=float) if given is not None else drawn

    return SensorErrors(
        acc_bias_ms2=pick(model.acc_bias_ms2, model.acc_bias_sd_ms2),
        gyr_bias_dps=pick(model.gyr_bias_dps, model.gyr_bias_sd_dps),
        acc_scale_error=pick(model.acc_scale_error, model.scale_error_sd),
        gyr_scale_error=pick(model.gyr_scale_error, model.scale_error_sd),
    )


def quantise(values: np.ndarray, scale: float, full_scale: float) -> np.ndarray:
    """Clip at +-``full_scale`` and round to int16 counts of ``scale`` (also clipped to int16)."""
    lo = max(INT16_MIN, -round(full_scale / scale))
    hi = min(INT16_MAX, round(full_scale / scale))
    counts = np.rint(np.clip(values, -full_scale, full_scale) / scale)
    return np.clip(counts, lo, hi).astype(np.int16)


def measure(
    acc_sensor_ms2: np.ndarray,
    gyr_sensor_dps: np.ndarray,
    model: SensorModel,
    errors: SensorErrors,
    rng: np.random.Generator,
) -> np.ndarray:
    """Counts ``(n, 6)`` (or ``(n, 3)`` accelerometer only) from true sensor-frame signals."""
    n = len(acc_sensor_ms2)
    acc = (1.0 + errors.acc_scale_error) * acc_sensor_ms2 + errors.acc_bias_ms2
    if model.acc_noise_ms2 > 0:
        acc = acc + rng.normal(0.0, model.acc_noise_ms2, (n, 3))
    counts = [quantise(acc, model.acc_scale_ms2, model.acc_range_g * G)]
    if not model.accel_only:
        gyr = (1.0 + errors.gyr_scale_error) * gyr_sensor_dps + errors.gyr_bias_dps
        if model.gyr_noise_dps > 0:
            gyr = gyr + rng.normal(0.0, model.gyr_noise_dps, (n, 3))
        counts.append(quantise(gyr, model.gyr_scale_dps, float(model.gyr_range_dps)))
    return np.hstack(counts)


def kept_samples(n: int, model: SensorModel, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of the samples that reach the file (``False`` where a gap dropped them)."""
    keep = np.ones(n, dtype=bool)
    minutes = n / model.true_sample_rate_hz / 60.0
    n_random = rng.poisson(model.drops_per_min * minutes) if model.drops_per_min > 0 else 0
    starts = rng.integers(1, max(n - 1, 2), n_random)
    lengths = rng.integers(1, model.drop_max_samples + 1, n_random)
    gaps = [*zip(starts.tolist(), lengths.tolist(), strict=True), *model.drops]
    for start, length in gaps:
        keep[max(0, int(start)) : max(0, int(start) + int(length))] = False
    return keep
