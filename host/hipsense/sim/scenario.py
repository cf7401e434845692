"""Public entry point: :func:`simulate_run` turns a :class:`RunConfig` into a :class:`SimulatedRun`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hipsense import __version__
from hipsense.conventions import BODY_ACC, BODY_GYR, SENSOR_ACC, SENSOR_GYR, TIME_COLUMN, G, body_to_sensor
from hipsense.sim.body import evaluate
from hipsense.sim.config import RunConfig
from hipsense.sim.gait import Timeline, build_timeline
from hipsense.sim.sensor import SensorErrors, draw_errors, kept_samples, measure

#: Window after initial contact in which the running impact peak is looked for (s).
IMPACT_WINDOW_S = 0.06
#: Walking has no impact transient: its loading peak is looked for in this fraction of the step.
WALK_IMPACT_WINDOW_FRAC = 0.4


@dataclass
class SimulatedRun:
    """A simulated session: what the clip records, plus the truth behind it.

    Attributes
    ----------
    config
        The configuration it was made from.
    data
        What the device records, in SI units in the sensor frame: ``t_s`` (device time,
        ``sample_index / sample_rate_hz``), ``acc_x, acc_y, acc_z`` m/s^2 [, ``gyr_x, gyr_y, gyr_z``
        deg/s], exactly ``counts * scale``.
    counts
        ``int16`` array ``(n, 6)`` or ``(n, 3)``: what the device stores.
    sample_index
        ``int64`` device sample number of each row; jumps where samples were dropped.
    body
        Noiseless pelvis truth at the same rows: ``t_s``, ``t_true_s`` (physical time), body-frame
        ``acc_is acc_ml acc_pa`` (m/s^2, specific force) and ``gyr_is gyr_ml gyr_pa`` (deg/s), the angles
        ``obliquity_deg``, ``rotation_deg``, ``pitch_deg`` (right-hand rule about ``ml``: positive =
        posterior tilt), ``heading_deg``, the step row in ``truth`` (``step``, -1 outside steps),
        ``in_contact`` and ``speed_mps``.
    truth
        One row per complete step: ``step``, ``bout``, ``activity``, ``side``, ``ic_s``/``to_s`` (true
        seconds), ``ic_index``/``to_index`` (device sample numbers, as in ``sample_index``),
        ``ic_row``/``to_row`` (first row of ``data`` at or after the event), ``step_time_s``,
        ``contact_time_s``, ``flight_time_s``, ``double_support_s``, ``cadence_spm``, ``speed_mps``,
        ``step_length_m``, ``impact_g``, ``pelvic_drop_deg``, ``drop_peak_s``, ``pelvic_rotation_deg``.
    bouts
        ``start_s``, ``end_s`` (true seconds), ``activity`` (stand / walk / run), ``speed_mps``.
    sample_rate_hz, true_sample_rate_hz
        Nominal (header) and actual output rate.
    r_body_from_sensor
        Mounting rotation, ``body = R @ sensor``.
    acc_scale_ms2, gyr_scale_dps, acc_range_g, gyr_range_dps
        Scale factors (per count) and full-scale ranges.
    channels
        Names of the recorded columns, in ``counts`` order.
    sensor_errors
        Bias and scale errors actually applied (sensor frame).
    """

    config: RunConfig
    data: pd.DataFrame
    counts: np.ndarray
    sample_index: np.ndarray
    body: pd.DataFrame
    truth: pd.DataFrame
    bouts: pd.DataFrame
    sample_rate_hz: float
    true_sample_rate_hz: float
    r_body_from_sensor: np.ndarray
    acc_scale_ms2: float
    gyr_scale_dps: float
    acc_range_g: int
    gyr_range_dps: int
    channels: tuple[str, ...]
    sensor_errors: SensorErrors

    @property
    def duration_s(self) -> float:
        """True session length in seconds."""
        return float(self.bouts["end_s"].iloc[-1]) if len(self.bouts) else 0.0

    def losing(self, *lost: tuple[float, int]) -> SimulatedRun:
        """The run as a device that lost samples records it: each ``(where, count)`` removes ``count``
        samples from ``where`` (a share of the run, 0-1). A few samples make a hole the reader fills, a
        few seconds a gap. ``data``, ``body``, ``counts`` and ``sample_index`` lose the rows; ``truth``
        keeps its device sample numbers (``ic_index``), while its ``*_row`` columns refer to the full run.
        """
        keep = np.ones(len(self.sample_index), dtype=bool)
        for share, count in lost:
            at = int(share * len(keep))
            keep[at : at + int(count)] = False
        return dataclasses.replace(
            self,
            data=self.data[keep].reset_index(drop=True),
            body=self.body[keep].reset_index(drop=True),
            counts=self.counts[keep],
            sample_index=self.sample_index[keep],
        )

    def write_csv(self, path: str | Path) -> Path:
        """Write ``t_s`` and the sensor columns (SI units, header row); values round-trip exactly."""
        path = Path(path)
        self.data.to_csv(path, index=False)
        return path

    def write_device_file(
        self,
        path: str | Path,
        *,
        device_id: str = "hipsense-sim",
        session_id: int | None = None,
        start_time_unix: int = 1_735_689_600,
        mark_overflows: bool = True,
        **kwargs,
    ) -> Path:
        """Write the counts as the clip's own session file (:mod:`hipsense.formats.device_file`).

        The header carries the nominal rate, ranges and scales, and the mounting hint when it is one
        the format names (else ``"unknown"``). Block times are the true times of the samples in ms:
        the microcontroller's clock is taken as exact and the IMU's rate as the one that is off, so a
        reader can recover the true rate from them. With ``mark_overflows`` every gap in
        ``sample_index`` is recorded as an IMU FIFO overflow that lost those samples.
        ``session_id`` defaults to the seed; other keyword arguments go to ``write_device_file``.
        """
        from hipsense.formats import device_file  # lazy: the simulator does not need it otherwise

        hint = self.config.mounting.hint()
        header = device_file.SessionHeader(
            device_id=device_id,
            firmware_version=f"sim-{__version__}",
            sensor_model="LSM6DSOX-sim",
            session_id=int(session_id if session_id is not None else (self.config.seed or 0)) % 2**32,
            sample_rate_hz=float(self.sample_rate_hz),
            channels=len(self.channels),
            acc_range_g=int(self.acc_range_g),
            gyr_range_dps=int(self.gyr_range_dps) if len(self.channels) == 6 else 0,
            acc_scale_ms2=float(self.acc_scale_ms2),
            gyr_scale_dps=float(self.gyr_scale_dps) if len(self.channels) == 6 else 0.0,
            mounting=hint if hint in device_file.MOUNTINGS.values() else "unknown",
            start_time_unix=int(start_time_unix),
        )
        idx = self.sample_index
        kwargs.setdefault("block_time_ms", np.floor(idx / self.true_sample_rate_hz * 1000.0).astype(np.int64))
        if mark_overflows and len(idx) > 1:
            jumps = np.flatnonzero(np.diff(idx) > 1)
            lost = {int(idx[j + 1]): int(idx[j + 1] - idx[j] - 1) for j in jumps}
            if len(idx) and idx[0] > 0:
                lost[int(idx[0])] = int(idx[0])
            kwargs.setdefault("overflow_lost", lost)
        path = Path(path)
        device_file.write_device_file(path, header, self.counts, sample_index=idx, **kwargs)
        return path


def simulate_run(config: RunConfig | None = None, /, **overrides) -> SimulatedRun:
    """Simulate one session.

    ``simulate_run(cfg)``, ``simulate_run(duration_s=120, speed_mps=4.0)`` or
    ``simulate_run(cfg, seed=3)`` (fields of :class:`RunConfig` replaced).
    """
    if config is None:
        cfg = RunConfig(**overrides)
    else:
        cfg = dataclasses.replace(config, **overrides) if overrides else config
    sensor = cfg.sensor
    seeds = np.random.SeedSequence(cfg.seed).spawn(4)
    gait_rng, error_rng, noise_rng, drop_rng = (np.random.default_rng(s) for s in seeds)

    tl = build_timeline(cfg, gait_rng)
    fs, fs_true = float(sensor.sample_rate_hz), float(sensor.true_sample_rate_hz)
    n = int(np.ceil(tl.total_s * fs_true - 1e-9))
    t_true = np.arange(n) / fs_true
    ev = evaluate(tl, t_true, wobble=cfg.mounting)

    r = cfg.mounting.matrix()
    acc_body_measured = ev["acc"] + ev["wobble"] if "wobble" in ev else ev["acc"]
    acc_s = body_to_sensor(acc_body_measured, r)
    gyr_s = body_to_sensor(ev["gyr"], r)
    errors = draw_errors(sensor, error_rng)
    counts_all = measure(acc_s, gyr_s, sensor, errors, noise_rng)
    keep = kept_samples(n, sensor, drop_rng)
    sample_index = np.flatnonzero(keep).astype(np.int64)
    counts = counts_all[keep]

    channels = SENSOR_ACC if sensor.accel_only else SENSOR_ACC + SENSOR_GYR
    scales = np.array([sensor.acc_scale_ms2] * 3 + ([] if sensor.accel_only else [sensor.gyr_scale_dps] * 3))
    data = pd.DataFrame(counts.astype(np.float64) * scales, columns=list(channels))
    data.insert(0, TIME_COLUMN, sample_index / fs)

    body = pd.DataFrame({TIME_COLUMN: sample_index / fs, "t_true_s": t_true[keep]})
    for j, name in enumerate(BODY_ACC):
        body[name] = ev["acc"][keep, j]
    for j, name in enumerate(BODY_GYR):
        body[name] = ev["gyr"][keep, j]
    for name in ("obliquity_deg", "rotation_deg", "pitch_deg", "heading_deg", "speed_mps", "in_contact"):
        body[name] = ev[name][keep]
    body["step"] = ev["step"][keep].astype(np.int64)

    truth = _truth(tl, fs_true, sample_index)
    # Steps that did not end inside the recording are not in the truth table: no step row for them.
    body.loc[~np.isin(body["step"].to_numpy(), truth["step"].to_numpy()), "step"] = -1

    return SimulatedRun(
        config=cfg,
        data=data,
        counts=counts,
        sample_index=sample_index,
        body=body,
        truth=truth,
        bouts=tl.bouts_frame(),
        sample_rate_hz=fs,
        true_sample_rate_hz=fs_true,
        r_body_from_sensor=r,
        acc_scale_ms2=sensor.acc_scale_ms2,
        gyr_scale_dps=sensor.gyr_scale_dps,
        acc_range_g=sensor.acc_range_g,
        gyr_range_dps=sensor.gyr_range_dps,
        channels=tuple(channels),
        sensor_errors=errors,
    )


def _impact_truth(tl: Timeline, steps: np.ndarray) -> np.ndarray:
    """Peak body-frame ``acc_is`` (g) early in each step, of the continuous model (to ~0.05 ms)."""
    if len(steps) == 0:
        return np.zeros(0)
    n_pts = 61
    x = np.linspace(0.0, 1.0, n_pts)
    window = np.where(
        tl.is_run[steps],
        np.minimum(IMPACT_WINDOW_S, tl.contact_time[steps]),
        WALK_IMPACT_WINDOW_FRAC * tl.step_time[steps],
    )
    tt = tl.ic[steps, None] + window[:, None] * x[None, :]
    acc_is = evaluate(tl, tt.ravel())["acc"][:, 0].reshape(tt.shape)
    # Refine around the coarse maximum: +-1 grid step at 1/20 of it.
    dt = window / (n_pts - 1)
    best = tt[np.arange(len(steps)), acc_is.argmax(axis=1)]
    lo = np.maximum(best - dt, tl.ic[steps])
    hi = np.minimum(best + dt, tl.ic[steps] + window)
    fine = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, 41)[None, :]
    acc_fine = evaluate(tl, fine.ravel())["acc"][:, 0].reshape(fine.shape)
    return np.maximum(acc_is.max(axis=1), acc_fine.max(axis=1)) / G


def _truth(tl: Timeline, fs_true: float, sample_index: np.ndarray) -> pd.DataFrame:
    steps = np.flatnonzero(tl.complete)
    ic = tl.ic[steps]
    T = tl.step_time[steps]
    Tc = tl.contact_time[steps]
    to = ic + Tc
    ic_index = np.rint(ic * fs_true).astype(np.int64)
    to_index = np.rint(to * fs_true).astype(np.int64)
    side = np.where(tl.side[steps] > 0, "L", "R")
    return pd.DataFrame(
        {
            "step": steps.astype(np.int64),
            "bout": tl.bout[steps],
            "activity": np.where(tl.is_run[steps], "run", "walk"),
            "side": side,
            "ic_s": ic,
            "to_s": to,
            "ic_index": ic_index,
            "to_index": to_index,
            "ic_row": np.searchsorted(sample_index, ic_index).astype(np.int64),
            "to_row": np.searchsorted(sample_index, to_index).astype(np.int64),
            "step_time_s": T,
            "contact_time_s": Tc,
            "flight_time_s": np.maximum(T - Tc, 0.0),
            "double_support_s": np.maximum(Tc - T, 0.0),
            "cadence_spm": 60.0 / T,
            "speed_mps": tl.speed[steps],
            "step_length_m": tl.speed[steps] * T,
            "impact_g": _impact_truth(tl, steps),
            "pelvic_drop_deg": tl.drop_deg[steps],
            "drop_peak_s": tl.drop_peak_s[steps],
            "pelvic_rotation_deg": tl.side[steps] * (tl.rot_end_deg[steps] - tl.rot_start_deg[steps]),
        }
    )
