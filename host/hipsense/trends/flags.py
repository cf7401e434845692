"""Overuse flags: load spikes and climbs, asymmetry drifting from baseline, pelvic drop rising, fatigue.

Each rule is a function of the per-session table (:mod:`hipsense.trends.sessions`, with baselines) and
the daily load table; :class:`OveruseFlagger` holds every threshold with its source. docs/flags.md
explains each rule, its parameters and how often it fires on simulated histories.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from hipsense import metrics as registry
from hipsense.load.training import week_of
from hipsense.trends.load_flags import ACWR_ALERT as ACWR_ALERT
from hipsense.trends.load_flags import figures as _numbers
from hipsense.trends.load_flags import load_flags
from hipsense.trends.load_flags import weekly_loads as weekly_loads
from hipsense.trends.model import Flag
from hipsense.trends.sessions import asymmetry_column, session_row

REF_ASYMMETRY = (
    "Personal baseline: median of the previous 12 sessions, band of 3 run-to-run spreads (docs/flags.md); "
    "the session's own 95 % interval (block bootstrap, docs/metrics.md) must exclude the baseline too."
)
REF_DROP = (
    "Bramah et al. 2018 (Am J Sports Med 46(12):3023, doi:10.1177/0363546518793657): injured runners "
    "showed more contralateral pelvic drop than uninjured ones; change judged against the personal baseline."
)
REF_FATIGUE = (
    "Apte et al. 2021 (Front Physiol 12:646042, doi:10.3389/fphys.2021.646042): across 68 studies, contact "
    "time tended to lengthen as runners tired."
)

ADVICE_ASYMMETRY = (
    "Often this has an everyday cause (shoes, a camber, a niggle). If it stays, runners commonly have "
    "their running looked at by a physiotherapist or coach for a gait assessment."
)
ADVICE_DROP = (
    "Runners commonly add hip strength work (side planks, side-lying leg raises, single-leg squats) and, "
    "if it keeps growing, have a professional gait assessment."
)
ADVICE_FATIGUE = (
    "Runners commonly shorten long runs for a while, add rest days, or add hip strength work so their "
    "form holds up late in a run."
)


def _date(x: Any) -> dt.date:
    return pd.Timestamp(x).date()


def _against_baseline(r: pd.Series, col: str) -> tuple[str, dict[str, float]]:
    """Severity and figures of one session's value judged against its baseline band.

    Alert when the value is at least twice as far from the baseline as the band's edge.
    """
    base, edge = r[f"{col}_base"], r[f"{col}_base_hi"] - r[f"{col}_base"]
    severity = "alert" if abs(r[col] - base) >= 2 * edge else "watch"
    return severity, _numbers(
        value=r[col],
        ci_low=r[f"{col}_lo"],
        ci_high=r[f"{col}_hi"],
        baseline=base,
        band_low=r[f"{col}_base_lo"],
        band_high=r[f"{col}_base_hi"],
    )


def sides_unknown(sessions: pd.DataFrame) -> np.ndarray:
    """True for the sessions of a session table whose sides are not known (their reason is in
    ``sides_unknown``; tables without that column have all sides known)."""
    if "sides_unknown" not in sessions:
        return np.zeros(len(sessions), dtype=bool)
    return (sessions["sides_unknown"].fillna("").astype(str) != "").to_numpy()


class OveruseFlagger:
    """Turn a runner's per-session table and daily loads into flags.

    Parameters
    ----------
    spike_watch_pct, spike_alert_pct
        A calendar week whose load exceeds the mean of the four weeks before by this much (percent) is
        a load spike (watch / alert). 30 % is the progression Nielsen et al. (2014) associated with
        distance-related injuries; the watch level is our choice, set below it so that a 30 % jump is
        still seen through the day-to-day spread of a steady plan (benchmarks/flags.py).
    acwr_alert
        Exponentially weighted acute:chronic ratio (7/28 days) at or above which a week is a load spike
        (alert) whatever its weekly total (Gabbett 2016; Williams et al. 2017).
    climb_pct, climb_weeks
        A sustained climb: this many calendar weeks in a row each more than ``climb_pct`` above the one
        before (the coaching "10 % rule").
    persist
        Sessions in a row that must be beyond the baseline band (and their own interval) before an
        asymmetry or pelvic-drop flag is raised: one unusual run is not a trend.
    trend_weeks
        Pelvic drop must also rise across this many recent calendar weeks (least-squares slope of the
        weekly means > 0).
    fatigue_drop_deg, fatigue_contact_pct
        A run "degrades within itself" when its pelvic drop grows by at least this much from the first
        to the last fifth, or its contact time by this many percent.
    fatigue_runs, fatigue_window
        ... in at least ``fatigue_runs`` of the last ``fatigue_window`` runs for a history flag.

    Attributes
    ----------
    flags_
        The flags raised, oldest first.
    skipped_
        ``(session_id, reason)`` for each session the asymmetry and pelvic-drop rules left out because
        its sides are not known (column ``sides_unknown`` of the session table, report/wording.py).

    Notes
    -----
    Data requirements: the per-session table of :func:`hipsense.trends.build.add_baselines` (sessions in
    time order, with their baselines) and the daily load table of :func:`hipsense.load.training.load_table`.
    The rules, their sources and their measured false-alarm and detection rates are in docs/flags.md. No
    rule predicts injury; each reports a change in the runner's own terms.

    References
    ----------
    Nielsen R.O. et al. (2014) J Orthop Sports Phys Ther 44(10):739-747. doi:10.2519/jospt.2014.5164
    Gabbett T.J. (2016) Br J Sports Med 50(5):273-280. doi:10.1136/bjsports-2015-095788
    Williams S. et al. (2017) Br J Sports Med 51(3):209-210. doi:10.1136/bjsports-2016-096589
    Buist I. et al. (2008) Am J Sports Med 36(1):33-39. doi:10.1177/0363546507307505
    Bramah C. et al. (2018) Am J Sports Med 46(12):3023-3031. doi:10.1177/0363546518793657
    Apte S. et al. (2021) Front Physiol 12:646042. doi:10.3389/fphys.2021.646042
    """

    def __init__(
        self,
        *,
        spike_watch_pct: float = 20.0,
        spike_alert_pct: float = 30.0,
        acwr_alert: float = ACWR_ALERT,
        climb_pct: float = 10.0,
        climb_weeks: int = 3,
        persist: int = 2,
        trend_weeks: int = 3,
        fatigue_drop_deg: float = 1.0,
        fatigue_contact_pct: float = 4.0,
        fatigue_runs: int = 3,
        fatigue_window: int = 5,
    ):
        self.spike_watch_pct = spike_watch_pct
        self.spike_alert_pct = spike_alert_pct
        self.acwr_alert = acwr_alert
        self.climb_pct = climb_pct
        self.climb_weeks = climb_weeks
        self.persist = persist
        self.trend_weeks = trend_weeks
        self.fatigue_drop_deg = fatigue_drop_deg
        self.fatigue_contact_pct = fatigue_contact_pct
        self.fatigue_runs = fatigue_runs
        self.fatigue_window = fatigue_window

    def detect(self, sessions: pd.DataFrame, daily: pd.DataFrame, *, runner: str) -> OveruseFlagger:
        """Flags over a history: ``sessions`` with baseline columns, ``daily`` the load table."""
        flags: list[Flag] = []
        unknown = sides_unknown(sessions)
        self.skipped_ = [
            (int(i), str(why))
            for i, why in zip(
                sessions.loc[unknown, "session_id"], sessions.loc[unknown, "sides_unknown"], strict=True
            )
        ]
        if len(sessions):
            # Left/right rules judge only sessions whose sides are known: the others are skipped (not
            # counted as "back to usual"), so they neither raise nor break a run of unusual sessions.
            sided = sessions[~unknown].reset_index(drop=True)
            flags += load_flags(
                sessions, daily, runner, watch_pct=self.spike_watch_pct, alert_pct=self.spike_alert_pct,
                acwr_alert=self.acwr_alert, climb_pct=self.climb_pct, climb_weeks=self.climb_weeks,
            )  # fmt: skip
            flags += self._asymmetry_flags(sided, runner)
            flags += self._drop_flags(sided, runner)
            flags += self._fatigue_flags(sessions, runner)
        flags.sort(key=lambda f: (f.period_end, f.session_id or 0, f.kind))
        self.flags_ = flags
        return self

    # -- gait against the personal baseline --------------------------------------------------------

    def _beyond(self, s: pd.DataFrame, col: str, lo_col: str, hi_col: str) -> tuple[np.ndarray, np.ndarray]:
        """Sessions outside the baseline band whose own 95 % interval also excludes the baseline.

        Returns (direction: +1 above, -1 below, 0 neither; the session's value minus the baseline).
        """
        v, base = s[col].to_numpy(float), s[f"{col}_base"].to_numpy(float)
        lo, hi = s[f"{col}_base_lo"].to_numpy(float), s[f"{col}_base_hi"].to_numpy(float)
        ci_lo, ci_hi = s[lo_col].to_numpy(float), s[hi_col].to_numpy(float)
        with np.errstate(invalid="ignore"):
            up = (v > hi) & (ci_lo > base)
            down = (v < lo) & (ci_hi < base)
        return np.where(up, 1, np.where(down, -1, 0)), v - base

    def _episodes(self, direction: np.ndarray):
        """Indices where a run of ``persist`` same-direction sessions is first reached (one per run)."""
        out, run, prev = [], 0, 0
        for i, d in enumerate(direction):
            run = run + 1 if d != 0 and d == prev else (1 if d != 0 else 0)
            prev = d
            if run == self.persist:
                out.append(i)
        return out

    def _asymmetry_flags(self, s: pd.DataFrame, runner: str) -> list[Flag]:
        flags = []
        for entry in registry.flaggable():
            metric = entry.name
            col = asymmetry_column(metric)
            if f"{col}_base" not in s:
                continue
            direction, _ = self._beyond(s, col, f"{col}_lo", f"{col}_hi")
            angle = col.endswith("_diff")
            unit = " deg" if angle else " points"
            for i in self._episodes(direction):
                r = s.iloc[i]
                first = s.iloc[i - self.persist + 1]
                side = "left" if r[col] > 0 else "right"
                what = "left minus right" if angle else "asymmetry index"
                severity, numbers = _against_baseline(r, col)
                flags.append(
                    Flag(
                        "asymmetry_drift",
                        severity,
                        runner,
                        _date(first["start"]),
                        _date(r["start"]),
                        f"Your {entry.label} {what} has been {r[col]:+.1f}{unit} (larger on the {side}) in "
                        f"your last {self.persist} runs, against your usual {r[f'{col}_base']:+.1f}{unit} "
                        f"(band {r[f'{col}_base_lo']:+.1f} to {r[f'{col}_base_hi']:+.1f}).",
                        ADVICE_ASYMMETRY,
                        numbers,
                        REF_ASYMMETRY,
                        metric,
                        int(r["session_id"]),
                    )
                )
        return flags

    def _drop_flags(self, s: pd.DataFrame, runner: str) -> list[Flag]:
        flags = []
        m = "pelvic_drop_deg"
        days = s["start"].dt.tz_convert(None).dt.normalize()
        weeks = week_of(days)
        for side, stance in (("L", "left"), ("R", "right")):
            col = f"{m}_{side}"
            if f"{col}_base" not in s:
                continue
            direction, delta = self._beyond(s, col, f"{col}_lo", f"{col}_hi")
            direction = np.where(direction > 0, 1, 0)  # rising only
            for i in self._episodes(direction):
                r = s.iloc[i]
                day = days.iloc[i]
                # The sessions of the last trend_weeks calendar weeks up to this one, by week.
                recent = (days >= weeks.iloc[i] - pd.Timedelta(weeks=self.trend_weeks - 1)) & (days <= day)
                means = s.loc[recent, col].groupby(weeks[recent]).mean()
                if len(means) < 2:
                    continue
                x = (means.index - means.index[0]).days / 7.0
                slope = float(np.polyfit(x, means.to_numpy(float), 1)[0])
                if slope <= 0:
                    continue
                base = r[f"{col}_base"]
                severity, numbers = _against_baseline(r, col)
                flags.append(
                    Flag(
                        "drop_rising",
                        severity,
                        runner,
                        means.index[0].date(),
                        day.date(),
                        f"Your pelvic drop in {stance}-foot stance was {r[col]:.1f} deg in your last run, "
                        f"{delta[i]:+.1f} deg above your usual {base:.1f} deg, and has risen about "
                        f"{slope:.1f} deg a week over the last {len(means)} weeks.",
                        ADVICE_DROP,
                        {**numbers, **_numbers(change_deg=delta[i], slope_deg_per_week=slope)},
                        REF_DROP,
                        m,
                        int(r["session_id"]),
                    )
                )
        return flags

    # -- within runs -------------------------------------------------------------------------------

    def degrading(self, drop_change: float, contact_change: float, contact_early: float) -> bool:
        """Whether one run's drift block shows its form degrading (drop or contact time growing)."""
        contact_pct = (
            100.0 * contact_change / contact_early if contact_early and contact_early > 0 else np.nan
        )
        return bool(
            (np.isfinite(drop_change) and drop_change >= self.fatigue_drop_deg)
            or (np.isfinite(contact_pct) and contact_pct >= self.fatigue_contact_pct)
        )

    def _fatigue_flags(self, s: pd.DataFrame, runner: str) -> list[Flag]:
        bad = np.array(
            [
                self.degrading(d, c, e)
                for d, c, e in zip(
                    s["drift_pelvic_drop_deg"],
                    s["drift_contact_time_s"],
                    s["drift_contact_time_s_early"],
                    strict=True,
                )
            ]
        )
        flags, active = [], False
        for i in range(len(s)):
            window = bad[max(0, i - self.fatigue_window + 1) : i + 1]
            hit = bool(bad[i]) and window.sum() >= self.fatigue_runs
            if hit and not active:
                recent = s.iloc[max(0, i - self.fatigue_window + 1) : i + 1]
                r = s.iloc[i]
                flags.append(
                    Flag(
                        "within_run_fatigue",
                        "watch",
                        runner,
                        _date(recent["start"].iloc[0]),
                        _date(r["start"]),
                        f"In {int(window.sum())} of your last {len(window)} runs your form changed late in the "
                        f"run: pelvic drop {recent['drift_pelvic_drop_deg'].median():+.1f} deg and contact "
                        f"time {1000 * recent['drift_contact_time_s'].median():+.0f} ms from the first to the "
                        "last fifth (medians).",
                        ADVICE_FATIGUE,
                        _numbers(
                            runs_degrading=window.sum(),
                            runs=len(window),
                            drop_change_deg=r["drift_pelvic_drop_deg"],
                            contact_change_ms=1000 * float(r["drift_contact_time_s"]),
                            drop_threshold_deg=self.fatigue_drop_deg,
                            contact_threshold_pct=self.fatigue_contact_pct,
                        ),
                        REF_FATIGUE,
                        "pelvic_drop_deg",
                        int(r["session_id"]),
                    )
                )
            active = hit or (active and bool(bad[i]))
        return flags


def within_run_flags(
    summary: dict[str, Any],
    *,
    runner: str = "",
    day: dt.date | None = None,
    flagger: OveruseFlagger | None = None,
) -> list[Flag]:
    """The flag one session can raise on its own: its form degrading within the run (severity info).

    Dated ``day``, else the clip's start time in the summary's quality block, else today.
    """
    flagger = flagger or OveruseFlagger()
    if day is None:
        start = summary.get("quality", {}).get("start_time_unix")
        day = dt.datetime.fromtimestamp(start, dt.timezone.utc).date() if start else dt.date.today()
    r = session_row(0, dt.datetime.combine(day, dt.time()), summary)
    d, c, e = r["drift_pelvic_drop_deg"], r["drift_contact_time_s"], r["drift_contact_time_s_early"]
    if not flagger.degrading(d, c, e):
        return []
    parts = []
    if np.isfinite(d):
        parts.append(f"pelvic drop {d:+.1f} deg")
    if np.isfinite(c):
        parts.append(f"contact time {1000 * c:+.0f} ms ({100 * c / e:+.1f} %)")
    return [
        Flag(
            "within_run_fatigue",
            "info",
            runner,
            day,
            day,
            "From the first to the last fifth of this run: " + ", ".join(parts) + ".",
            ADVICE_FATIGUE,
            _numbers(
                drop_change_deg=d,
                contact_change_ms=1000 * float(c),
                drop_threshold_deg=flagger.fatigue_drop_deg,
                contact_threshold_pct=flagger.fatigue_contact_pct,
            ),
            REF_FATIGUE,
            "pelvic_drop_deg",
            None,
        )
    ]
