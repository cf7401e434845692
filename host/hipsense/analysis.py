"""The analysis pipeline: a recording in, the step table and everything behind it out.

recording (sensor or body frame) -> alignment -> activity bouts -> contacts (running bouts only)
-> sides -> per-step metrics. Each arrow is one algorithm class in :mod:`hipsense.gait`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from hipsense.conventions import TIME_COLUMN
from hipsense.errors import HipsenseError, InputFileError
from hipsense.formats.csv_input import ImuRecording
from hipsense.gait.alignment import AlignmentError, MountingAligner, to_body_frame
from hipsense.gait.bouts import ActivityBoutDetector
from hipsense.gait.events import RunningContactDetector
from hipsense.gait.metrics import step_metrics
from hipsense.gait.sides import SideDetector

if TYPE_CHECKING:
    from hipsense.gait.summary import SessionSummary

#: Bump when a change to any algorithm can change the numbers (stored with derived data).
ALGORITHM_VERSION = "0.1.1"  # 0.1.1: per-side intervals and the start time in the summary


class NotRunningError(HipsenseError):
    """The recording holds no running that the analysis could measure."""


@dataclass
class SessionAnalysis:
    """Everything the analysis found in one recording."""

    source: str
    sampling_rate_hz: float
    duration_s: float
    input_frame: Literal["sensor", "body"]
    body: pd.DataFrame
    bouts: pd.DataFrame
    steps: pd.DataFrame
    alignment: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    algorithm_version: str = ALGORITHM_VERSION

    @property
    def running_time_s(self) -> float:
        run = self.bouts[self.bouts["activity"] == "run"]
        return float(run["duration_s"].sum())


#: The IMU's own clock may run a few per cent off its nominal rate; the blocks' device timestamps (ms)
#: give the real rate once the session is long enough to average out the FIFO read jitter.
MIN_CLOCK_SPAN_S = 60.0
MAX_CLOCK_ERROR = 0.05


def measured_sample_rate(session) -> float | None:
    """The IMU's real output rate from the blocks' first-sample indices against their device times.

    A least-squares line through (time, index) over at least ``MIN_CLOCK_SPAN_S``; ``None`` when the
    session is too short or the fit disagrees with the nominal rate by more than ``MAX_CLOCK_ERROR``
    (a clock that far off is a fault, not drift, and the header's rate is safer).
    """
    table = getattr(session, "block_table", None)
    if table is None or len(table) < 10:
        return None
    t = np.unwrap(table["t_ms"].astype(np.float64), period=2.0**32) / 1000.0
    idx = table["first_index"].astype(np.float64)
    if t[-1] - t[0] < MIN_CLOCK_SPAN_S:
        return None
    slope = float(np.polyfit(t - t[0], idx - idx[0], 1)[0])
    nominal = float(session.header.sample_rate_hz)
    return slope if abs(slope / nominal - 1) <= MAX_CLOCK_ERROR else None


def recording_from_session(session) -> tuple[ImuRecording, dict[str, Any]]:
    """A decoded device session as a uniformly sampled sensor-frame recording, plus data quality.

    Times use the IMU's measured output rate (:func:`measured_sample_rate`) when the session allows
    it, else the header's nominal rate. Missing samples (gaps) are filled by linear interpolation so
    the filters see a uniform grid; the recording's ``filled`` marks them, the gaps are listed in the
    quality report, and the analysis notes every step touching one.
    """
    nominal = float(session.header.sample_rate_hz)
    fs = measured_sample_rate(session) or nominal
    idx = np.asarray(session.sample_index, dtype=np.int64)
    df = session.to_dataframe()
    df[TIME_COLUMN] = idx / fs
    quality: dict[str, Any] = {
        "gaps": [(int(s), int(c)) for s, c in session.report.gaps],
        "missing_samples": int(sum(c for _, c in session.report.gaps)),
        "overflow_lost": int(session.report.overflow_lost),
        "corrupt_blocks": len(session.report.corrupt_blocks),
        "nominal_rate_hz": nominal,
        "sample_rate_hz": round(fs, 4),
        # The clip's clock at the start (unix s), None when it was not set; dates the session's flags.
        "start_time_unix": int(session.header.start_time_unix) or None,
    }
    counts = np.asarray(session.counts)
    quality["clipped_share"] = (
        float(np.mean(np.any(np.abs(counts.astype(np.int32)) >= 32767, axis=1))) if len(counts) else 0.0
    )
    filled = None
    if len(idx) and (np.diff(idx) != 1).any():
        full = np.arange(idx[0], idx[-1] + 1)
        cols = [c for c in df.columns if c != TIME_COLUMN]
        df = pd.DataFrame(
            {TIME_COLUMN: full / fs, **{c: np.interp(full, idx, df[c].to_numpy()) for c in cols}}
        )
        filled = np.ones(len(full), dtype=bool)
        filled[idx - idx[0]] = False
    return ImuRecording(df, "sensor", fs, session.path, filled=filled), quality


def analyze(
    recording: ImuRecording,
    *,
    mounting: str | np.ndarray | None = None,
    quality: dict[str, Any] | None = None,
) -> SessionAnalysis:
    """Run the whole analysis on a recording; raises :class:`NotRunningError` when nothing runs."""
    fs = recording.sample_rate_hz
    data = recording.data
    quality = dict(quality or {})
    alignment: dict[str, Any] = {}
    bouts = None
    source = str(recording.source) if recording.source else "<data>"
    if recording.frame == "sensor":
        try:
            aligner = MountingAligner(mounting=mounting).estimate(data, sampling_rate_hz=fs)
        except AlignmentError as e:
            raise AlignmentError(f"{source}: {e}") from None
        body = to_body_frame(data, aligner.r_body_from_sensor_)
        bouts = aligner.bouts_
        alignment = {
            "r_body_from_sensor": aligner.r_body_from_sensor_.round(6).tolist(),
            "confidence": round(float(aligner.confidence_), 3),
            **aligner.diagnostics_,
        }
    else:
        body = data.copy()
        alignment = {"method": "input already in the body frame", "confidence": 1.0}
    quality["alignment_confidence"] = alignment["confidence"]

    if bouts is None:
        bouts = ActivityBoutDetector().detect(body, sampling_rate_hz=fs).bouts_
    if not (bouts["activity"] == "run").any():
        raise NotRunningError(
            f"{source}: no running found (activities: {', '.join(sorted(set(bouts['activity'])))})"
        )

    events = RunningContactDetector().detect(body, sampling_rate_hz=fs).events_
    events = events[events["ic"].notna()]
    ic = events["ic_s"].to_numpy() * fs
    to = events["to_s"].to_numpy() * fs
    bout_of = np.searchsorted(bouts["start"].to_numpy(), ic, side="right") - 1
    in_run = bouts["activity"].to_numpy()[bout_of] == "run"
    ic, to, bout_of = ic[in_run], to[in_run], bout_of[in_run]
    if len(ic) < 4:
        raise NotRunningError(f"{source}: too few running steps found to analyse ({len(ic)})")

    sides = SideDetector().detect(body, np.round(ic).astype(np.int64), sampling_rate_hz=fs)
    steps = step_metrics(
        body, ic, to, sides.sides_, bout_of, sampling_rate_hz=fs, side_inferred=sides.inferred_
    )
    quality["side_source"] = sides.source_
    if recording.filled is not None:
        start = np.floor(ic).astype(np.int64)
        end = np.minimum(
            start + np.round(np.nan_to_num(steps["step_time_s"].to_numpy(), nan=0.4) * fs).astype(np.int64),
            len(recording.filled),
        )
        c = np.r_[0, np.cumsum(recording.filled)]
        touched = (c[end] - c[start]) > 0
        steps.loc[touched, "quality"] = [
            "; ".join(filter(None, [q, "gap in the data"])) for q in steps.loc[touched, "quality"]
        ]
    quality["doubtful_step_share"] = float((steps["quality"] != "").mean())
    return SessionAnalysis(
        source=source,
        sampling_rate_hz=fs,
        duration_s=len(body) / fs,
        input_frame=recording.frame,
        body=body,
        bouts=bouts,
        steps=steps,
        alignment=alignment,
        quality=quality,
    )


def load_input(path: str | Path, **csv_options) -> tuple[ImuRecording, dict[str, Any]]:
    """A device file or a CSV: device files start with their magic or are named .hsn
    (:func:`~hipsense.formats.device_file.is_session_file`)."""
    from hipsense.formats.csv_input import read_imu_csv
    from hipsense.formats.device_file import is_session_file, read_device_file

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file" if not path.exists() else "not a file")
    if is_session_file(path):
        return recording_from_session(read_device_file(path))
    recording = read_imu_csv(path, **csv_options)
    return recording, csv_quality(recording)


def csv_quality(recording: ImuRecording) -> dict[str, Any]:
    """A CSV's counterpart of a session file's quality block: its start time, when its time column is
    UNIX time (dates the session's flags)."""
    start = recording.start_time_unix
    return {"start_time_unix": int(start)} if start is not None else {}


def analyze_file(
    path: str | Path, mounting: str | None = None, **csv_options
) -> tuple[ImuRecording, SessionAnalysis, SessionSummary]:
    """Load a device file or CSV, analyse it and summarise it: ``(recording, analysis, summary)``.

    CSV options given for a session file are ignored with a warning (its header says it all)."""
    import warnings

    from hipsense.formats.device_file import SessionFileWarning, is_session_file
    from hipsense.gait.summary import summarize

    if csv_options and Path(path).is_file() and is_session_file(Path(path)):
        flags = {"sample_rate_hz": "--sample-rate", "acc_unit": "--acc-unit", "gyr_unit": "--gyr-unit"}
        given = ", ".join(sorted(flags.get(k, f"--{k}") for k in csv_options))
        warnings.warn(
            SessionFileWarning(f"{path}: a session file; the CSV options ({given}) do not apply"),
            stacklevel=2,
        )

    recording, quality = load_input(path, **csv_options)
    analysis = analyze(recording, mounting=mounting, quality=quality)
    return recording, analysis, summarize(analysis)


__all__ = [
    "ALGORITHM_VERSION",
    "NotRunningError",
    "SessionAnalysis",
    "analyze",
    "analyze_file",
    "csv_quality",
    "load_input",
    "recording_from_session",
]
