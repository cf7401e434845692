"""Pelvic rotation per step against motion capture (``running-pelvis-mocap``) and the simulator.

1. **Reference.** The pelvis's yaw from the four pelvis markers of Fukuchi et al. (2017), subject 1 at
   2.5 m/s, built the way the trial's README builds the body frame and its obliquity (markers low-passed
   at 15 Hz, ``ml`` from left to right ASIS, ``is`` perpendicular to ``ml`` and to the PSIS-to-ASIS
   direction, turned by the file's ``body_from_anatomical``; intrinsic is-ml-pa Cardan angles in the
   lab): the yaw is the first angle, positive when the right hip is ahead (docs/conventions.md). The
   same code gives the third angle, the obliquity, and its drop matches the truth file's ``drop_deg``
   (printed), so the frame is the one the virtual IMU was derived from.
2. **Definitions**, each applied to the optical yaw and to the IMU's (the integrated ``gyr_is``,
   ``gait.metrics.integrated_angle``): *before*, the step table's old value, the change from a contact
   to the next, signed so the swing side moving forward is positive; *now*
   (:func:`hipsense.gait.pelvis.pelvic_rotation_deg`), the yaw's range from a contact to the next;
   and the range over a stride (two steps, what gait studies report), for reference.
3. **Contacts.** From the treadmill's contacts (the method alone, body-frame file) and from the
   detected ones (``analyse_file`` on the sensor-frame file, what a runner gets; matched within 60 ms).
   Per step: bias and SD of IMU minus optical, correlation; per side: medians.
4. **A real gyroscope's errors** the virtual IMU lacks: a 2 deg/s bias, white noise of 0.1 deg/s
   rms at 208 Hz, and a bias that wanders by 1 deg/s over the trial, added to ``gyr_is``.
5. **Simulator** (2.5 m/s, 60 s, seed 1, through the device file like ``benchmarks/accuracy.py``): the
   true yaw is known, so the true value of each step is the same definition on it.

Run: ``python benchmarks/rotation.py``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import butter, filtfilt
from scipy.spatial.transform import Rotation

from hipsense.analysis import analyse, analyse_file
from hipsense.datasets import dataset_dir
from hipsense.formats.load import load_recording
from hipsense.gait.metrics import integrated_angle
from hipsense.gait.pelvis import pelvic_drop_deg, pelvic_rotation_deg
from hipsense.gait.scoring import match_nearest
from hipsense.sim import scenarios, simulate_run

MOCAP = "running-pelvis-mocap"
MARKER_HZ = 150.0
#: The derived files start this far into the marker file (README, ``t0_in_source_s``).
T0_S = 0.3
PELVIS = ("R.ASIS", "L.ASIS", "R.PSIS", "L.PSIS")
GRID = np.linspace(0.0, 1.0, 11)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1)[:, None]


def optical_angles(folder: Path) -> pd.DataFrame:
    """``t_s`` (the derived files' clock), ``yaw_deg`` and ``obliquity_deg`` of the marker pelvis."""
    markers = pd.read_csv(folder / "RBDS001runT25markers.txt", sep="\t")
    meta = json.loads((folder / "s01_v25_meta.json").read_text())
    b, a = butter(4, 15.0, fs=MARKER_HZ)  # as the README's derivation: 4th order, forwards and backwards
    pos = {}
    for name in PELVIS:
        xyz = markers[[name + "X", name + "Y", name + "Z"]].interpolate().to_numpy(float)
        pos[name] = filtfilt(b, a, xyz[:, [1, 2, 0]], axis=0)  # lab X fwd, Y up, Z right -> up, right, fwd
    ml = _unit(pos["R.ASIS"] - pos["L.ASIS"])
    forward = (pos["R.ASIS"] + pos["L.ASIS"] - pos["R.PSIS"] - pos["L.PSIS"]) / 2
    up = _unit(np.cross(ml, forward))
    anatomical = np.stack([up, ml, np.cross(up, ml)], axis=2)  # columns: the axes in the lab
    body = anatomical @ np.array(meta["body_from_anatomical"]["matrix_columns_body_axes_in_anat"])
    yaw, _, obliquity = Rotation.from_matrix(body).as_euler("XYZ", degrees=True).T
    t = np.arange(len(markers)) / MARKER_HZ - T0_S
    return pd.DataFrame({"t_s": t, "yaw_deg": yaw, "obliquity_deg": obliquity})


def step_ranges(ic_s: np.ndarray, fs: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample ranges ``[ceil(IC), floor(next IC))`` on a grid at ``fs``; the last contact has none."""
    ic = np.asarray(ic_s, float)[:-1] * fs
    nxt = np.asarray(ic_s, float)[1:] * fs
    start = np.clip(np.ceil(ic - 1e-6).astype(np.int64), 0, n - 1)
    return start, np.clip(np.floor(nxt).astype(np.int64), start + 1, n)


def definitions(yaw: np.ndarray, start: np.ndarray, end: np.ndarray, sides: np.ndarray) -> dict:
    """Each definition per step (NaN for the last, which has no stride)."""
    sign = np.select([sides == "L", sides == "R"], [1.0, -1.0], np.nan)
    last = np.minimum(end, len(yaw) - 1)
    stride = pelvic_rotation_deg(yaw, start[:-1], end[1:], np.full(len(start) - 1, "L"))
    return {
        "before: contact-to-contact change": sign * (yaw[last] - yaw[start]),
        "now: range over the step": pelvic_rotation_deg(yaw, start, end, sides),
        "range over the stride": np.r_[stride, np.nan],
    }


def agreement(imu: np.ndarray, opt: np.ndarray, sides: np.ndarray) -> dict:
    """Per step bias, SD and r of IMU minus optical; per side medians of both."""
    ok = np.isfinite(imu) & np.isfinite(opt)
    d = imu[ok] - opt[ok]
    out = {"bias": float(d.mean()), "sd": float(d.std(ddof=1)), "n": int(ok.sum())}
    out["r"] = float(np.corrcoef(imu[ok], opt[ok])[0, 1])
    for s in "LR":
        m = ok & (sides == s)
        out[f"imu_{s}"], out[f"opt_{s}"] = float(np.median(imu[m])), float(np.median(opt[m]))
    return out


def _gyro_errors(gyr: np.ndarray, fs: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    wander = np.linspace(0.0, 1.0, len(gyr))
    return gyr + 2.0 + wander + rng.normal(0.0, 0.1, len(gyr))


def mocap_figures(folder: Path) -> dict:
    """Every mocap figure (a dict, printed by :func:`main`; the tests read it too)."""
    truth = pd.read_csv(folder / "s01_v25_truth.csv")
    body = pd.read_csv(folder / "s01_v25_body.csv")
    fs = 208.0  # the derived files' rate (meta ``fs``): their t_s is rounded to 5 decimals
    opt = optical_angles(folder)
    t = body["t_s"].to_numpy()
    yaw_opt = np.interp(t, opt["t_s"], opt["yaw_deg"])
    obliquity = np.interp(t, opt["t_s"], opt["obliquity_deg"])
    start, end = step_ranges(truth["ic_s"].to_numpy(), fs, len(t))
    sides = truth["side"].to_numpy()[:-1]
    out: dict = {"n_ref": len(truth)}
    drop = pelvic_drop_deg(obliquity, start, end, sides)
    out["drop_check"] = float(np.max(np.abs(drop - truth["drop_deg"].to_numpy()[:-1])))
    yaw_imu = integrated_angle(body["gyr_is"].to_numpy(), fs)
    hp = integrated_angle(np.gradient(yaw_opt, 1 / fs), fs)  # the optical yaw filtered as the IMU's
    out["yaw_r_raw"] = float(np.corrcoef(yaw_imu, yaw_opt)[0, 1])
    out["yaw_r_hp"] = float(np.corrcoef(yaw_imu, hp)[0, 1])
    out["yaw_rms_hp"] = float(np.sqrt(np.mean((yaw_imu - hp) ** 2)))
    ref = definitions(yaw_opt, start, end, sides)
    out["reference"] = {
        k: agreement(v, ref[k], sides) for k, v in definitions(yaw_imu, start, end, sides).items()
    }
    noisy = integrated_angle(_gyro_errors(body["gyr_is"].to_numpy(), fs), fs)
    out["gyro_errors"] = {
        k: agreement(v, ref[k], sides) for k, v in definitions(noisy, start, end, sides).items()
    }
    out["cycles"] = {}
    for s in "LR":
        idx = np.flatnonzero(sides == s)
        for name, yaw in (("mocap", yaw_opt - yaw_opt.mean()), ("IMU", yaw_imu)):
            at = start[idx, None] + GRID[None, :] * (end[idx] - start[idx])[:, None]
            out["cycles"][f"{s} {name}"] = np.interp(at, np.arange(len(yaw)), yaw).mean(axis=0)
    out["detected"] = {}
    ic_ref = truth["ic_s"].to_numpy()
    for fname in ("s01_v25.csv", "s01_v25_body.csv"):
        steps = analyse_file(folder / fname).steps
        i_ref, i_det = match_nearest(ic_ref[:-1], steps["ic_s"].to_numpy(), 0.060)
        imu = steps["pelvic_rotation_deg"].to_numpy(float)[i_det]
        out["detected"][fname] = agreement(imu, ref["now: range over the step"][i_ref], sides[i_ref])
    # The old value from the detected contacts, on the body-frame gyroscope (the step table's before)
    start_d, end_d = step_ranges(steps["ic_s"].to_numpy(), fs, len(t))
    before = definitions(yaw_imu, start_d, end_d, steps["side"].to_numpy()[:-1])
    key = "before: contact-to-contact change"
    i_ref, i_det = match_nearest(ic_ref[:-1], steps["ic_s"].to_numpy()[:-1], 0.060)
    out["detected_before"] = agreement(before[key][i_det], ref[key][i_ref], sides[i_ref])
    return out


def simulator_figures(seed: int = 1) -> dict:
    """The analysis's value against the true yaw's range over each true step (simulator)."""
    run = simulate_run(scenarios.steady_run(duration_s=60, speed_mps=2.5, seed=seed))
    truth = run.truth[run.truth["activity"] == "run"].reset_index(drop=True)
    true_yaw = run.body["rotation_deg"].to_numpy()
    rows = truth["ic_row"].to_numpy()
    nxt = np.r_[rows[1:], len(true_yaw)]
    same = np.r_[truth["bout"].to_numpy()[1:] == truth["bout"].to_numpy()[:-1], False]
    true_now = np.where(
        same, pelvic_rotation_deg(true_yaw, rows, np.maximum(nxt, rows + 1), truth["side"].to_numpy()), np.nan
    )
    with tempfile.TemporaryDirectory() as tmp:
        res = analyse(load_recording(run.write_device_file(Path(tmp) / "s.hsn")), n_boot=50)
    steps = res.steps[res.steps["activity"] == "run"]
    i_ref, i_det = match_nearest(truth["ic_s"].to_numpy(), steps["ic_s"].to_numpy(), 0.040)
    est = steps["pelvic_rotation_deg"].to_numpy(float)[i_det]
    out = agreement(est, true_now[i_ref], truth["side"].to_numpy()[i_ref])
    out["truth_column"] = float(np.nanmedian(truth["pelvic_rotation_deg"]))
    out["matched"] = len(i_ref)
    return out


def _line(label: str, a: dict) -> str:
    return (
        f"  {label:36s} L IMU {a['imu_L']:5.2f} / optical {a['opt_L']:5.2f}   R {a['imu_R']:5.2f} / "
        f"{a['opt_R']:5.2f}   per step bias {a['bias']:+.2f}, SD {a['sd']:.2f}, r {a['r']:.2f} (n={a['n']})"
    )


def print_mocap(f: dict) -> None:
    """The motion-capture figures as ``main`` prints them."""
    print(f"# {MOCAP}: pelvic rotation, IMU against the markers' yaw ({f['n_ref']} reference contacts)\n")
    print(f"frame check: optical drop - truth drop_deg at most {f['drop_check']:.3f} deg")
    print(
        f"yaw over the trial: r {f['yaw_r_raw']:.3f} raw; against the optical yaw high-passed as the IMU's "
        f"r {f['yaw_r_hp']:.3f}, rms difference {f['yaw_rms_hp']:.2f} deg"
    )
    print("\n## Reference contacts (body-frame file): the definitions alone")
    for k, a in f["reference"].items():
        print(_line(k, a))
    print("\n## Reference contacts, gyroscope with bias 2 deg/s, wander 1 deg/s, noise 0.1 deg/s rms")
    for k, a in f["gyro_errors"].items():
        print(_line(k, a))
    print("\n## Detected contacts (analyse_file), the step table's pelvic_rotation_deg, matched at 60 ms")
    for k, a in f["detected"].items():
        print(_line(f"now, {k}", a))
    print(_line("before, s01_v25_body.csv", f["detected_before"]))
    print("\n## Mean yaw over a step, 0 = contact .. 1 = next contact (deg, the trial's mean removed)")
    print("u              " + " ".join(f"{u:5.1f}" for u in GRID))
    for k, v in f["cycles"].items():
        print(f"{k:14s} " + " ".join(f"{x:5.1f}" for x in v))


def main() -> int:
    s = simulator_figures()
    folder = dataset_dir(MOCAP)
    if folder is not None:
        print_mocap(mocap_figures(folder))
    else:
        print(f"../shared/data/{MOCAP} is absent: simulator only (set HIPSENSE_SHARED_DATA)")
    print("\n## Simulator, 2.5 m/s, 60 s: the step table against the true yaw's range per step")
    # every true step turns 12 deg, so a correlation says nothing here
    print(_line("range over the step", s).replace("optical", "true").split(", r ")[0] + f" (n={s['n']})")
    print(f"  truth file's pelvic_rotation_deg median {s['truth_column']:.2f}; {s['matched']} steps matched")
    return 0


if __name__ == "__main__":
    sys.exit(main())
