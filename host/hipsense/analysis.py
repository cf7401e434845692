"""The one route from a recording to its numbers: :func:`analyse`.

recording (sensor or body frame) -> alignment -> per gap-free segment: activity bouts -> contacts
(running bouts) -> sides -> per-step metrics (the registry, :mod:`hipsense.metrics`) -> summary.
Each arrow is one algorithm class in :mod:`hipsense.gait`. Every command, the store, batch, export,
live and the demo call :func:`analyse` (or :func:`analyse_file`, which reads the file first); nothing
else calls the detectors.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from hipsense import metrics
from hipsense.allocator import keep_freed_memory
from hipsense.errors import HipsenseError
from hipsense.formats.load import load_recording
from hipsense.gait.alignment import AlignmentError, MountingAligner
from hipsense.gait.bouts import ActivityBoutDetector
from hipsense.gait.events import RunningContactDetector
from hipsense.gait.metrics import DOUBT_NOTES, GAP_NOTE, StepContext, typical_step, typical_steps
from hipsense.gait.sides import SideDetector
from hipsense.gait.summary import SessionSummary, summarize
from hipsense.gait.walking import WalkingContactDetector
from hipsense.gait.windows import FrameRows, RotatedRows, Rows, RowSlice, Window, plan_windows
from hipsense.recording import DataQuality, Recording

#: Bump when a change to any algorithm can change the numbers (stored with derived data).
# 0.2.0: analysed per gap-free segment on the recording's own clock. 0.3.0: running toe-off from the
# late-stance pause, walking bouts at turns and stops, walking toe-off, drift without sides. 0.4.0:
# walking steps from the step-evidence score, float32 channels, long segments over windows. 0.5.0:
# running and walking bout edges on the movement, pelvic rotation as the yaw's range, verdicts from 5 steps a side and
# floors at the measured errors, a 1 ms clock's repeated stamps read. 0.5.1: the summary states the unclassified time.
# 0.5.2: a step's pause limit is its own activity's typical step (walk recoveries between fast runs).
ALGORITHM_VERSION = "0.5.2"


class NotRunningError(HipsenseError):
    """The recording holds no running or walking that the analysis could measure."""


@dataclass
class SessionResult:
    """Everything the analysis found in one recording (contract between the analysis and its users).

    ``body`` is the recording in the body frame (``t_s`` on the recording's clock), built from the
    recording's samples on first use (``rows`` reads it window by window without building it: a 10 h
    session's body frame is 420 MB); ``bouts`` has one row per activity bout (``start``/``end`` rows of
    ``body``, ``start_s``/``end_s`` on the clock, ``segment``); ``steps`` is the step table (columns from
    :mod:`hipsense.metrics`); ``quality`` the recording's :class:`~hipsense.recording.DataQuality`
    completed by the analysis; ``summary`` the session summary.
    """

    source: str
    sampling_rate_hz: float
    duration_s: float
    recorded_s: float
    input_frame: Literal["sensor", "body"]
    rows: Rows = field(repr=False, compare=False)
    bouts: pd.DataFrame
    steps: pd.DataFrame
    quality: DataQuality
    alignment: dict[str, Any] = field(default_factory=dict)
    algorithm_version: str = ALGORITHM_VERSION
    start_time_unix: float | None = None
    summary: SessionSummary | None = None
    notes: list[str] = field(default_factory=list)

    @cached_property
    def body(self) -> pd.DataFrame:
        """The whole recording in the body frame (built once, on first use)."""
        return self.rows.rows(0, len(self.rows))

    @property
    def running_time_s(self) -> float:
        return self.time_in("run")

    @property
    def walking_time_s(self) -> float:
        return self.time_in("walk")

    @property
    def unclassified_time_s(self) -> float:
        return self.time_in("unknown")

    def time_in(self, activity: str) -> float:
        """Seconds of the recording in bouts of ``activity`` (``"run"``, ``"walk"``, ``"stand"``...)."""
        return float(self.bouts.loc[self.bouts["activity"] == activity, "duration_s"].sum())

    @property
    def gap_s(self) -> float:
        return max(self.duration_s - self.recorded_s, 0.0)


#: Old name, kept for notebooks written against 0.1.
SessionAnalysis = SessionResult


def _align(recording: Recording, mounting: str | np.ndarray | None, source: str):
    """The body-frame rows, the alignment's description and (when it found them) its bouts."""
    data, fs = recording.data, recording.sample_rate_hz
    if recording.frame == "body":
        return FrameRows(data), {"method": "input already in the body frame", "confidence": 1.0}, None
    try:
        aligner = MountingAligner(mounting=mounting).estimate(data, sampling_rate_hz=fs)
    except AlignmentError as e:
        raise AlignmentError(f"{source}: {e}") from None
    alignment = {
        "r_body_from_sensor": aligner.r_body_from_sensor_.round(6).tolist(),
        "confidence": round(float(aligner.confidence_), 3),
        **aligner.diagnostics_,
    }
    return RotatedRows(data, aligner.r_body_from_sensor_), alignment, aligner.bouts_


@dataclass
class _Segment:
    """One gap-free stretch's bouts and steps in time order (indices relative to the segment)."""

    offset: int
    length: int
    bouts: pd.DataFrame
    windows: list[Window]
    ic: np.ndarray
    to: np.ndarray
    bout_of: np.ndarray
    activity: np.ndarray


def _segment_steps(
    rows: Rows, bouts: pd.DataFrame, fs: float, offset: int, windows: list[Window]
) -> _Segment:
    """Running contacts in running bouts, walking contacts and toe-offs in walking bouts, window by
    window (each contact from the window whose core holds it)."""
    starts, kinds = bouts["start"].to_numpy(), bouts["activity"].to_numpy()
    running = bool((kinds == "run").any())
    walking = bool((kinds == "walk").any()) and len(rows) >= WALKING_MIN_SAMPLES_S * fs
    ic_parts, to_parts, act_parts = [], [], []

    def keep(w: Window, sample: np.ndarray, ic: np.ndarray, to: np.ndarray, kind: str) -> None:
        own = w.owns(sample + w.lo)
        ic, to = ic[own] + w.lo, to[own] + w.lo
        gait = kinds[np.searchsorted(starts, ic, side="right") - 1] == kind
        ic_parts.append(ic[gait])
        to_parts.append(to[gait])
        act_parts.append(np.full(gait.sum(), kind))

    for w in windows if running or walking else []:
        body = rows.rows(w.lo, w.hi)
        if running:
            events = RunningContactDetector().detect(body, sampling_rate_hz=fs).events_
            events = events[events["ic"].notna()]
            sample = events["ic"].to_numpy(dtype=np.int64)
            keep(w, sample, events["ic_s"].to_numpy() * fs, events["to_s"].to_numpy() * fs, "run")
        if walking:
            found = WalkingContactDetector().detect(body, sampling_rate_hz=fs).events_
            sample = found["ic"].to_numpy(dtype=np.int64)
            keep(w, sample, sample.astype(float), found["to"].to_numpy(dtype=float), "walk")
    ic = np.concatenate(ic_parts) if ic_parts else np.zeros(0)
    order = np.argsort(ic, kind="stable")
    ic = ic[order]
    to = np.concatenate(to_parts)[order] if to_parts else np.zeros(0)
    activity = np.concatenate(act_parts)[order] if act_parts else np.zeros(0, dtype="<U4")
    bout_of = np.searchsorted(starts, ic, side="right") - 1
    return _Segment(offset, len(rows), bouts, windows, ic, to, bout_of, activity)


def _step_tables(rows: Rows, p: _Segment, sides: SideDetector, bout: np.ndarray, fs: float, t0: float):
    """The segment's step table, window by window: each window's context holds the steps whose contact
    it holds (neighbours included), and gives the rows of the steps its core owns."""
    sample = np.round(p.ic).astype(np.int64)
    typical = typical_step(p.ic, bout, fs)
    by_activity = typical_steps(p.ic, bout, fs, p.activity)  # walking is not judged on running's steps
    for w in p.windows:
        inside = (sample >= w.lo) & (sample < w.hi)
        if not w.owns(sample[inside]).any():
            continue
        ctx = StepContext(
            rows.rows(w.lo, w.hi),
            p.ic[inside] - w.lo,
            p.to[inside] - w.lo,
            sides.sides_[inside],
            bout[inside],
            sampling_rate_hz=fs,
            side_inferred=sides.inferred_[inside],
            time_offset_s=t0 + w.lo / fs,
            activity=p.activity[inside],
            segment_step_s=typical,
            activity_step_s=by_activity,
        )
        table = metrics.step_table(ctx)
        yield table[w.owns(sample[inside])]


#: The walking detector needs a few steps of context (its envelope window).
WALKING_MIN_SAMPLES_S = 3.0


def analyse(
    recording: Recording,
    *,
    mounting: str | np.ndarray | None = None,
    first_side: Literal["L", "R"] | None = None,
    n_boot: int = 1000,
) -> SessionResult:
    """Run the whole analysis on a recording; raises :class:`NotRunningError` when it finds neither
    running nor walking steps.

    Every gap-free segment is analysed on its own (no filter, bout or step spans a gap); event times
    are on the recording's clock (:meth:`Recording.time_at`). Running and walking steps share the step
    table (its ``activity`` column); the summary keeps them apart. ``first_side`` states the foot of
    the first step where the signals cannot tell (an accelerometer-only recording).

    A long segment is analysed over windows (:mod:`hipsense.gait.windows`: 10 minutes plus 30 s of
    context on each side), so memory is bounded by a window and the recording; the numbers are the
    whole segment's (to floating-point rounding). The body frame is never built whole unless
    ``SessionResult.body`` is asked for, so the recording's samples must not change afterwards.
    """
    keep_freed_memory()  # the windows' temporaries reuse freed pages (allocator.py), whatever the input
    fs = recording.sample_rate_hz
    source = str(recording.source) if recording.source else "<data>"
    quality = replace(recording.quality, gaps=list(recording.quality.gaps))
    body, alignment, whole_bouts = _align(recording, mounting, source)
    quality.alignment_confidence = alignment["confidence"]

    t = recording.times_s
    segments = recording.segments
    parts: list[_Segment] = []
    for a, b in segments:
        seg = RowSlice(body, int(a), int(b))
        if len(segments) == 1 and whole_bouts is not None:
            bouts = whole_bouts
        else:
            vertical = pd.DataFrame({"acc_is": seg.column("acc_is", 0, len(seg))})
            bouts = ActivityBoutDetector().detect(vertical, sampling_rate_hz=fs).bouts_
        parts.append(_segment_steps(seg, bouts, fs, int(a), plan_windows(len(seg), fs)))

    all_bouts = _join_bouts(parts, t)
    if not all_bouts["activity"].isin(["run", "walk"]).any():
        raise NotRunningError(
            f"{source}: no running or walking found "
            f"(activities: {', '.join(sorted(set(all_bouts['activity'])))})"
        )
    n_steps = sum(len(p.ic) for p in parts)
    if n_steps < 4:
        raise NotRunningError(f"{source}: too few running or walking steps found to analyse ({n_steps})")

    tables: list[pd.DataFrame] = []
    sources: list[str] = []
    first_bout = 0
    for p in parts:
        if len(p.ic):
            seg = RowSlice(body, p.offset, p.offset + p.length)
            detector = SideDetector(first_side=first_side if not sources else None)
            # The bouts say each contact's gait, so a slow jog with little flight keeps the running rule.
            sides = detector.detect(
                seg,
                np.round(p.ic).astype(np.int64),
                sampling_rate_hz=fs,
                activity=p.activity,
                windows=p.windows,
            )
            t0 = float(t[p.offset]) if len(t) else 0.0
            table = pd.concat(list(_step_tables(seg, p, sides, first_bout + p.bout_of, fs, t0)))
            tables.append(_mark_filled(table.reset_index(drop=True), recording, p, fs))
            sources.append(sides.source_)
        first_bout += len(p.bouts)
    steps = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    quality.side_source = sources[0] if len(set(sources)) == 1 else ", ".join(sorted(set(sources)))
    notes = list(recording.notes)
    if first_side is not None and sources and sources[0] != "given":
        # said, not silently dropped: the side signal decides each step, the first side given none
        signal = {"acc_ml": "sideways acceleration"}.get(sources[0], sources[0])
        notes.append(f"the first side given ({first_side}) was not used: the {signal} tells each step's side")
    quality.doubtful_step_share = doubtful_share(steps["quality"])
    result = SessionResult(
        source=source,
        sampling_rate_hz=fs,
        duration_s=recording.elapsed_time_s,
        recorded_s=recording.recorded_time_s,
        input_frame=recording.frame,
        rows=body,
        bouts=all_bouts,
        steps=steps,
        quality=quality,
        alignment=alignment,
        start_time_unix=recording.start_time_unix,
        notes=notes,
    )
    result.summary = summarize(
        steps,
        source=source,
        algorithm_version=ALGORITHM_VERSION,
        duration_s=result.duration_s,
        running_time_s=result.running_time_s,
        walking_time_s=result.walking_time_s,
        unclassified_time_s=result.unclassified_time_s,
        quality=quality.to_dict(),
        alignment=alignment,
        n_boot=n_boot,
    )
    return result


def _join_bouts(parts: list[_Segment], t: np.ndarray) -> pd.DataFrame:
    """All segments' bouts as one table: rows of the whole recording, times on its clock."""
    frames = []
    for i, p in enumerate(parts):
        b = p.bouts.copy()
        t0 = float(t[p.offset]) if len(t) else 0.0
        b["start_s"] = t0 + b["start_s"]
        b["end_s"] = t0 + b["end_s"]
        b["start"] = b["start"] + p.offset
        b["end"] = b["end"] + p.offset
        b["segment"] = i
        frames.append(b)
    bouts = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    bouts["bout"] = np.arange(len(bouts))
    return bouts


def doubtful_share(notes: pd.Series) -> float:
    """Share of steps whose quality note holds one of :data:`DOUBT_NOTES`."""
    if not len(notes):
        return 0.0
    doubt = np.zeros(len(notes), dtype=bool)
    for text in DOUBT_NOTES:
        doubt |= notes.str.contains(text, regex=False).to_numpy(dtype=bool)
    return float(doubt.mean())


def _mark_filled(steps: pd.DataFrame, recording: Recording, part: _Segment, fs: float) -> pd.DataFrame:
    """Note every step that touches a sample filled across a hole."""
    if recording.filled is None:
        return steps
    filled = recording.filled[part.offset :]
    start = np.floor(part.ic).astype(np.int64)
    length = np.round(np.nan_to_num(steps["step_time_s"].to_numpy(), nan=0.4) * fs).astype(np.int64)
    end = np.minimum(start + length, len(filled))
    c = np.r_[0, np.cumsum(filled)]
    touched = (c[end] - c[start]) > 0
    steps.loc[touched, "quality"] = [
        "; ".join(filter(None, [q, GAP_NOTE])) for q in steps.loc[touched, "quality"]
    ]
    return steps


def analyse_file(
    path: str | Path,
    mounting: str | None = None,
    *,
    first_side: Literal["L", "R"] | None = None,
    **csv_options,
) -> SessionResult:
    """Read a device file or CSV (:func:`~hipsense.formats.load.load_recording`) and analyse it.

    CSV options given for a session file are ignored with a warning (its header says it all)."""
    from hipsense.formats.device_file import SessionFileWarning, is_session_file

    if csv_options and Path(path).is_file() and is_session_file(Path(path)):
        flags = {"sample_rate_hz": "--sample-rate", "acc_unit": "--acc-unit", "gyr_unit": "--gyr-unit"}
        given = ", ".join(sorted(flags.get(k, f"--{k.replace('_', '-')}") for k in csv_options))
        warnings.warn(
            SessionFileWarning(f"{path}: a session file; the CSV options ({given}) do not apply"),
            stacklevel=2,
        )
        csv_options = {}
    return analyse(load_recording(path, **csv_options), mounting=mounting, first_side=first_side)


#: The American spelling of the same entry (the CLI command is `hipsense analyze`).
analyze = analyse
analyze_file = analyse_file

__all__ = [
    "ALGORITHM_VERSION",
    "NotRunningError",
    "SessionAnalysis",
    "SessionResult",
    "analyse",
    "analyse_file",
    "analyze",
    "analyze_file",
]
