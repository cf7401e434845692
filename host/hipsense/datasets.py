"""Loaders for the public recordings in ``../shared/data`` that the analysis is developed and tested on.

The recordings are not part of hipsense and are never copied into it: :func:`shared_data_dir` finds
them next to the repository (``<repo>/../shared/data``) or where ``HIPSENSE_SHARED_DATA`` points, and
returns ``None`` when they are absent (a user's fresh checkout), so tests can skip cleanly.

``running-sacral-accel`` (Alcantara et al. 2022, PeerJ 10:e12752, doi:10.7717/peerj.12752,
Apache-2.0): six treadmill running trials of one runner with a sacral accelerometer (vertical and
anterior-posterior, in g, 500 Hz) and the vertical ground reaction force of an instrumented treadmill
(body weights, sample-aligned). What we checked about it before use:

- **Axis signs** were not documented, so we set them from the physics. Vertical: the reading averages
  +1.15 to +1.22 g over whole trials and sits at 0 g in flight (free fall), so it is up-positive and
  maps to ``acc_is`` unchanged. Anterior-posterior: within 40 ms after every contact it drops by
  1.3-2.1 g (median per trial; minima -1.9 to -3.2 g), the braking of the body; braking is a backward
  force, so the axis is forward-positive and maps to ``acc_pa`` unchanged. ``tests/host/test_events.py``
  checks both.
- **Processing in the published signals**: the vertical acceleration never reads below 0 g; 15-21 % of
  samples are exactly 0 (flight clipped at zero); all channels look low-passed (little content above
  30 Hz). The anterior-posterior channel reads -0.3 to -1 g in flight, where free fall should read
  about 0, so it carries an offset of unknown origin. The vertical mean (1.15-1.22 g, 1.00-1.03 BW for the
  force) suggests a gain or alignment difference of up to 20 %. The detector is built not to depend on
  any of these (see docs/validation.md).
- **Reference contacts**: the force never reads exactly 0 in flight. Its flight baseline is
  0.002-0.010 BW (median per trial) with a robust SD of 0.005-0.017 BW, but the treadmill rings just
  before some contacts (trial06 up to 0.054 BW), so a plain 0.05 BW threshold finds spurious
  "contacts" a few ms long. We use 0.05 BW with hysteresis: a contact is a run above 0.05 BW that
  reaches 0.5 BW somewhere, and its crossing times are linearly interpolated between samples. See
  :func:`reference_contacts`.

``running-sacral-accel-slopes`` (same study, licence and format): 13 trials of the same runner on a
treadmill inclined by +5 degrees (6 trials) or -5 degrees (7 trials), 2.5-4.17 m/s, 5 s each, all
rearfoot strikes; the force is the component normal to the belt. The same checks hold (vertical mean
+1.05 to +1.26 g, 0 g in flight); the reference rule is the same. ``running_sacral_trials("slopes")``
lists them, ``("all")`` both sets; the loaders below find a trial in either set by its name.

``walking-l5-ipol`` (Voisard et al. 2023, IPOL article 497, AGPL-3.0): 110 walking trials of 19 healthy
adults, an Xsens MTw at L5 (100 Hz); stand, walk 10 m, U-turn, walk back, stop; reference footsteps
from foot-worn sensors, checked by hand. What we checked before use:

- **Lost packets.** In 79 of 110 files ``PacketCounter`` jumps (up to 20 % of a file, 5 % overall).
  The reference sample indices follow the counter, not the rows, so :func:`read_walking_sensor` places
  each row at its counter value and interpolates the missing samples linearly.
- **Footsteps** (``LeftFootEvents``/``RightFootEvents``, ``[start, end]``) are each foot's **swing**:
  38 % of the stride, 12 % gap to the other foot (double support), and the vertical acceleration at L5
  peaks 30-50 ms after a footstep's end. So the end of a footstep is that foot's initial contact.
- Only contacts inside ``TrialBoundaries`` are scored; ``UTurnBoundaries`` marks the turn.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from hipsense.conventions import SENSOR_COLUMNS, G
from hipsense.errors import InputFileError
from hipsense.gait.alignment import MountingAligner
from hipsense.gait.body_frame import to_body_frame
from hipsense.gait.filters import segment_argext

#: Environment variable that overrides where the shared recordings are.
SHARED_DATA_ENV = "HIPSENSE_SHARED_DATA"
RUNNING_SACRAL = "running-sacral-accel"
RUNNING_SACRAL_RATE_HZ = 500.0
#: The same runner, sensor and format on a treadmill inclined by +5 or -5 degrees.
RUNNING_SACRAL_SLOPES = "running-sacral-accel-slopes"
WALKING_L5 = "walking-l5-ipol"
WALKING_L5_RATE_HZ = 100.0
#: Contact threshold on the vertical ground reaction force, body weights (37.7 N for this runner).
CONTACT_THRESHOLD_BW = 0.05
#: A run above the threshold is a contact only if the force reaches this somewhere in it.
CONTACT_CONFIRM_BW = 0.5


def shared_data_dir() -> Path | None:
    """The shared recordings folder, or ``None`` when it is absent.

    ``HIPSENSE_SHARED_DATA`` wins when set; otherwise ``<repo>/../shared/data`` relative to this
    package's source tree (``<repo>/host/hipsense/datasets.py``).
    """
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        p = Path(env).expanduser()
        return p if p.is_dir() else None
    repo = Path(__file__).resolve().parents[2]
    p = repo.parent / "shared" / "data"
    return p if p.is_dir() else None


def dataset_dir(name: str) -> Path | None:
    """One shared dataset's folder (:data:`RUNNING_SACRAL`, :data:`RUNNING_SACRAL_SLOPES`,
    :data:`WALKING_L5`), or ``None`` when absent."""
    root = shared_data_dir()
    if root is None or not (root / name).is_dir():
        return None
    return root / name


def _running_dir(name: str = RUNNING_SACRAL) -> Path:
    root = shared_data_dir()
    if root is None:
        raise InputFileError(
            Path("../shared/data"), f"shared recordings not found; set {SHARED_DATA_ENV} to their folder"
        )
    folder = root / name
    if not folder.is_dir():
        raise InputFileError(folder, f"folder of the {name} recordings not found")
    return folder


def _read_trials(name: str) -> pd.DataFrame:
    path = _running_dir(name) / "trials.csv"
    if not path.is_file():
        raise InputFileError(path, "trials.csv not found")
    trials = pd.read_csv(path)
    missing = {"file", "speed_mps", "slope_deg"} - set(trials.columns)
    if missing:
        raise InputFileError(path, f"missing columns {', '.join(sorted(missing))}", offset=1, where="line")
    trials.insert(0, "trial", trials["file"].str.replace(r"\.csv$", "", regex=True))
    trials["dataset"] = name
    return trials


def running_sacral_trials(which: Literal["level", "slopes", "all"] = "level") -> pd.DataFrame:
    """The trials listed in ``trials.csv``: ``trial`` (file stem, e.g. ``trial01_2.50mps``), ``file``,
    ``speed_mps``, ``slope_deg`` (+ uphill), the foot-strike percentages and ``dataset`` (folder name),
    one row per trial.

    ``which``: ``"level"`` (:data:`RUNNING_SACRAL`, 6 trials), ``"slopes"``
    (:data:`RUNNING_SACRAL_SLOPES`, 13 trials at +5 and -5 degrees) or ``"all"`` (both; the slopes set
    is skipped when absent).
    """
    if which == "level":
        return _read_trials(RUNNING_SACRAL)
    if which == "slopes":
        return _read_trials(RUNNING_SACRAL_SLOPES)
    if which != "all":
        raise ValueError(f"which must be 'level', 'slopes' or 'all', got {which!r}")
    parts = [_read_trials(RUNNING_SACRAL)]
    if dataset_dir(RUNNING_SACRAL_SLOPES) is not None:
        parts.append(_read_trials(RUNNING_SACRAL_SLOPES))
    return pd.concat(parts, ignore_index=True)


def _trial_file(trial: str | int) -> Path:
    trials = running_sacral_trials("all")
    if isinstance(trial, (int, np.integer)):
        key = f"trial{int(trial):02d}"
    else:
        key = str(trial).removesuffix(".csv")
    hit = trials[(trials["trial"] == key) | trials["trial"].str.startswith(key + "_")]
    if len(hit) != 1:
        raise InputFileError(
            _running_dir() / "trials.csv",
            f"no single trial matches {trial!r}; known: {', '.join(trials['trial'])}",
        )
    return _running_dir(hit["dataset"].iloc[0]) / hit["file"].iloc[0]


def read_running_sacral_csv(trial: str | int) -> pd.DataFrame:
    """One trial's CSV as recorded: ``t_s``, ``acc_v_g``, ``acc_ap_g``, ``grf_v_bw``.

    ``trial`` is the number (``1``), the stem (``"trial01"`` or ``"trial01_2.50mps"``) or the file name.
    """
    path = _trial_file(trial)
    df = pd.read_csv(path)
    missing = {"t_s", "acc_v_g", "acc_ap_g", "grf_v_bw"} - set(df.columns)
    if missing:
        raise InputFileError(path, f"missing columns {', '.join(sorted(missing))}", offset=1, where="line")
    return df


def reference_contacts(
    grf_bw: np.ndarray,
    sampling_rate_hz: float,
    *,
    threshold_bw: float = CONTACT_THRESHOLD_BW,
    confirm_bw: float = CONTACT_CONFIRM_BW,
) -> pd.DataFrame:
    """Foot contacts from a vertical ground reaction force in body weights.

    A contact is a run of samples above ``threshold_bw`` in which the force reaches ``confirm_bw``
    (hysteresis: treadmill ringing in flight never does). ``ic_s``/``to_s`` are the threshold crossings
    interpolated linearly between samples; ``ic`` is the first sample above the threshold and ``to`` the
    first sample below it again (contact = ``[ic, to)``). A contact that is already on at the first
    sample has no IC, one still on at the last sample has no TO (NaN/NA); ``complete`` is true when both
    are inside the recording.
    """
    f = np.asarray(grf_bw, dtype=float)
    fs = float(sampling_rate_hz)
    n = len(f)
    on = np.concatenate(([False], f > threshold_bw, [False])).astype(np.int8)
    starts = np.flatnonzero(np.diff(on) == 1)
    ends = np.flatnonzero(np.diff(on) == -1)
    top = segment_argext(f, starts, ends, largest=True)
    keep = f[top] >= confirm_bw
    starts, ends = starts[keep], ends[keep]
    has_ic = starts > 0
    has_to = ends < n

    def crossing(i: np.ndarray) -> np.ndarray:
        # the threshold lies between f[i-1] and f[i]
        lo, hi = f[i - 1], f[i]
        return (i - 1 + (threshold_bw - lo) / (hi - lo)) / fs

    ic_s = np.full(len(starts), np.nan)
    to_s = np.full(len(starts), np.nan)
    ic_s[has_ic] = crossing(starts[has_ic])
    to_s[has_to] = crossing(ends[has_to])
    ic = pd.array(starts, dtype="Int64")
    to = pd.array(ends, dtype="Int64")
    ic[~has_ic] = pd.NA
    to[~has_to] = pd.NA
    return pd.DataFrame(
        {
            "ic": ic,
            "to": to,
            "ic_s": ic_s,
            "to_s": to_s,
            "contact_time_s": to_s - ic_s,
            "complete": has_ic & has_to,
        },
        index=pd.RangeIndex(len(starts), name="contact_id"),
    )


def load_running_sacral(
    trial: str | int, *, threshold_bw: float = CONTACT_THRESHOLD_BW
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One trial in hipsense's body frame, and its reference contacts.

    Returns ``(data, contacts)``: ``data`` has ``t_s``, ``acc_is`` and ``acc_pa`` in m/s^2 (500 Hz;
    signs as documented in this module), ``contacts`` is :func:`reference_contacts` of the force.
    """
    raw = read_running_sacral_csv(trial)
    data = pd.DataFrame(
        {
            "t_s": raw["t_s"].to_numpy(dtype=float),
            "acc_is": raw["acc_v_g"].to_numpy(dtype=float) * G,  # up-positive as recorded
            "acc_pa": raw["acc_ap_g"].to_numpy(dtype=float) * G,  # forward-positive as recorded
        }
    )
    contacts = reference_contacts(
        raw["grf_v_bw"].to_numpy(), RUNNING_SACRAL_RATE_HZ, threshold_bw=threshold_bw
    )
    return data, contacts


# -- walking-l5-ipol -------------------------------------------------------------------------------
@dataclass
class WalkingTrial:
    """One trial: body-frame signals on the reference's sample clock and the scored reference ICs."""

    name: str
    body: pd.DataFrame  # t_s, acc_* (m/s^2), gyr_* (deg/s), body frame
    ic: np.ndarray  # reference ICs inside the trial boundaries (sample indices), sorted
    side: np.ndarray  # "L"/"R" per reference IC
    swing_start: np.ndarray  # toe-off before each reference IC (start of the footstep)
    bounds: tuple[int, int]  # TrialBoundaries (clipped to the data)
    uturn: tuple[int, int]  # UTurnBoundaries
    lost_samples: int  # packets interpolated


def walking_dir() -> Path | None:
    """The dataset folder, or ``None`` when the shared recordings are absent."""
    return dataset_dir(WALKING_L5)


def walking_trial_names(folder: Path | None = None) -> list[str]:
    """Trial names (``<subject>-<trial>``) in subject and trial order."""
    folder = folder or walking_dir()
    if folder is None:
        return []
    names = [p.name[: -len("_lb.txt")] for p in folder.glob("*_lb.txt")]
    return sorted(names, key=lambda s: tuple(int(x) for x in s.split("-")))


def read_walking_sensor(path: Path) -> tuple[pd.DataFrame, int]:
    """Sensor-frame signals on the ``PacketCounter`` clock, lost packets interpolated.

    Returns the frame (``t_s``, ``acc_x..z`` m/s^2, ``gyr_x..z`` deg/s; row ``i`` is counter value
    ``i``) and the number of interpolated samples.
    """
    raw = np.loadtxt(path, skiprows=2)
    counter = raw[:, 0].astype(np.int64)
    step = np.diff(counter)
    step[step < 0] += 65536  # 16-bit counter wrap (not seen in these files)
    counter = counter[0] + np.r_[0, np.cumsum(step)]
    grid = np.arange(counter[-1] + 1)
    values = np.column_stack([np.interp(grid, counter, raw[:, j]) for j in range(1, 7)])
    values[:, 3:] = np.degrees(values[:, 3:])  # rad/s -> deg/s
    frame = pd.DataFrame(values, columns=list(SENSOR_COLUMNS))
    frame.insert(0, "t_s", grid / WALKING_L5_RATE_HZ)
    return frame, int(len(grid) - len(raw))


@cache
def load_walking_trial(name: str) -> WalkingTrial:
    """Read, align (MountingAligner) and rotate one trial; pick its scored reference ICs."""
    folder = walking_dir()
    if folder is None:
        raise FileNotFoundError(f"{WALKING_L5} is not in the shared data folder")
    sensor, lost = read_walking_sensor(folder / f"{name}_lb.txt")
    meta = json.loads((folder / f"{name}.json").read_text())
    aligner = MountingAligner().estimate(sensor, sampling_rate_hz=WALKING_L5_RATE_HZ)
    body = to_body_frame(sensor, aligner.r_body_from_sensor_)
    n = len(body)
    left = np.asarray(meta["LeftFootEvents"], dtype=np.int64).reshape(-1, 2)
    right = np.asarray(meta["RightFootEvents"], dtype=np.int64).reshape(-1, 2)
    steps = np.r_[left, right]
    side = np.r_[np.full(len(left), "L"), np.full(len(right), "R")]
    order = np.argsort(steps[:, 1], kind="stable")
    steps, side = steps[order], side[order]
    lo, hi = (int(v) for v in meta["TrialBoundaries"])
    hi = min(hi, n - 1)
    keep = (steps[:, 1] >= lo) & (steps[:, 1] <= hi)
    a, b = (int(v) for v in meta["UTurnBoundaries"])
    return WalkingTrial(name, body, steps[keep, 1], side[keep], steps[keep, 0], (lo, hi), (a, b), lost)


def load_walking_trials() -> list[WalkingTrial]:
    return [load_walking_trial(name) for name in walking_trial_names()]
