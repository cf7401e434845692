"""The HTML report: one self-contained file for a session (this module) or for a runner's last weeks
(:mod:`hipsense.report.trends_page`).

:func:`render_session` renders a session summary (``SessionSummary.to_dict()``) with its step table and
returns the page as a string; :func:`write_report` writes either page. docs/report.md describes what
each part shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hipsense import metrics as registry
from hipsense.errors import HipsenseError
from hipsense.report import figures
from hipsense.report.alternate import alternate_section
from hipsense.report.page import (
    Cell,
    Progress,
    card,
    card_row,
    draw,
    esc,
    figure,
    flags_section,
    page,
    section,
    table,
)
from hipsense.report.sources import ReportSession
from hipsense.report.watch import watch_section
from hipsense.report.wording import (
    IMPACT_LOAD_UNIT,
    UNKNOWN_SIDES_REASON,
    asymmetry_keys,
    duration,
    judged,
    number,
    quality_notes,
    sides_known,
    sides_unknown_sentence,
    unclassified_sentence,
    verdict_words,
    walking_only,
)

#: Metrics whose left/right asymmetry is followed over weeks (others join when a flag names them).
#: How a larger value reads in words.
_LARGER = {"step_time_s": "longer", "contact_time_s": "longer", "flight_time_s": "longer"}


def _value(metric: str, v: float | None, unit: bool = True) -> str:
    _, u, scale, fmt = registry.labels()[metric]
    return number(None if v is None else v * scale, fmt + (f" {u}" if unit else ""))


# -- session view --------------------------------------------------------------------------------------


def _headline(summary: dict[str, Any], steps: pd.DataFrame) -> str:
    def median(col: str) -> float | None:
        v = steps[col].to_numpy(dtype=float) if col in steps and len(steps) else np.array([])
        return float(np.nanmedian(v)) if np.isfinite(v).any() else None

    ct, imp = median("contact_time_s"), median("impact_g")
    cadence = summary.get("cadence_spm")
    cards = [
        card("running time", duration(summary.get("running_time_s")), f"of {duration(summary.get('duration_s'))} recorded"),
        card("steps", f"{summary.get('steps', 0):,}", "running steps, both feet"),
        card("cadence", f"{cadence:.0f} <small>steps/min</small>" if cadence else "-", "median"),
        card("contact time", f"{ct * 1000:.0f} <small>ms</small>" if ct else "-", "median foot on the ground"),
        card("impact", f"{imp:.2f} <small>g</small>" if imp else "-", "median peak per step"),
        card("impact load", f"{summary.get('impact_load_g', 0):,.0f} <small>{IMPACT_LOAD_UNIT}</small>", "sum of every step's impact"),
    ]  # fmt: skip
    return card_row(cards) + _unclassified(summary)


def _unclassified(summary: dict[str, Any]) -> str:
    """The time in no figure, said under the headline (nothing when there is none)."""
    sentence = unclassified_sentence(summary.get("unclassified_time_s"))
    return f'<p class="note">{esc(sentence)}</p>' if sentence else ""


def _side_sentence(s: dict[str, Any]) -> str:
    """One asymmetry the summary judged larger than noise, in plain words."""
    metric = s["metric"]
    label = registry.labels()[metric][0]
    both = f"{_value(metric, s['left'])} left, {_value(metric, s['right'])} right"
    if metric in registry.noise_floors("difference"):
        side = "left" if s["difference"] > 0 else "right"
        other = "right" if side == "left" else "left"
        text = f"{label.capitalize()} is {abs(s['difference']):.1f} deg larger in {side}-foot steps ({both})"
        if metric == "pelvic_drop_deg":
            text += f": the {other} hip sinks further while you stand on the {side} foot"
        return text + "."
    side = "left" if s["asymmetry_pct"] > 0 else "right"
    larger = _LARGER.get(metric, "higher")
    return f"{label.capitalize()} is {abs(s['asymmetry_pct']):.1f} % {larger} on the {side} ({both})."


def _sides_section(summary: dict[str, Any], svg: str) -> str:
    sides = [judged(s) for s in summary.get("sides", [])]  # a stored old verdict of too few steps: none
    differs = [s for s in sides if s.get("larger_than_noise")]
    if differs:
        points = "".join(f"<li>{esc(_side_sentence(s))}</li>" for s in differs)
        lead = f"<p>Differences between your left and right larger than the measurement's noise:</p><ul class='points'>{points}</ul>"
    elif any(s.get("larger_than_noise") is False for s in sides):
        lead = "<p>Left and right were even, within what the measurement can tell apart.</p>"
    else:  # nothing was judged: "even" would claim what the data cannot say
        notes = sorted({s.get("note") or "not measured" for s in sides})
        lead = f"<p>Left and right were not compared: {esc('; '.join(notes))}.</p>"
    rows: list[list[Cell]] = []
    for s in sides:
        label, unit, _, _ = registry.labels()[s["metric"]]
        if s.get("asymmetry_pct") is None:
            why = verdict_words(s) if s.get("note") else "not measured"
            rows.append([f"{esc(label)} ({unit})", "-", "-", "-", "-", ("noise", why)])
            continue
        est, lo_key, hi_key, u = asymmetry_keys(s["metric"])
        asym = f"{s[est]:+.1f} {u}"
        lo, hi = s.get(lo_key), s.get(hi_key)
        ci = f"{lo:+.1f} to {hi:+.1f} {u}" if lo is not None and hi is not None else "-"
        verdict = ("differs" if s.get("larger_than_noise") else "noise", verdict_words(s))
        rows.append(
            [
                f"{esc(label)} ({unit})",
                ("l", _value(s["metric"], s["left"], unit=False)),
                ("r", _value(s["metric"], s["right"], unit=False)),
                asym,
                ci,
                verdict,
            ]
        )
    return section(
        "sides",
        "Left versus right",
        lead
        + figure(
            svg,
            "Each dot is the asymmetry of one metric, its bar the 95 % confidence interval (a block "
            "bootstrap over the run's steps). The grey band is the measurement's noise floor: a difference "
            "counts only when its interval excludes zero and it lies outside the band. Grey dots are within noise.",
        )
        + table(["metric", "left", "right", "asymmetry", "95 % CI", ""], rows)
        + '<p class="note">Left and right are medians over the steps on that foot. Asymmetry = 100 x '
        "(left - right) / mean of both, in %; for angles, left minus right in degrees. Pelvic drop is how far "
        "the hip on the swinging side sinks while the other foot is on the ground.</p>",
    )


def _drift_sentence(summary: dict[str, Any]) -> str:
    parts = []
    for metric in registry.drift_names():
        d = summary.get("drift", {}).get(metric) or {}
        if d.get("change") is None:
            continue
        label, unit, scale, fmt = registry.labels()[metric]
        change = ("+" if d["change"] >= 0 else "") + fmt.format(d["change"] * scale)
        parts.append(
            f"{label} {fmt.format(d['early'] * scale)} \u2192 {fmt.format(d['late'] * scale)} {unit} ({change})"
        )
    if not parts:
        return ""
    return "<p>From the first to the last fifth of the run: " + esc("; ".join(parts)) + ".</p>"


def _quality(summary: dict[str, Any], known: bool | None = None) -> str:
    known = sides_known(summary)[0] if known is None else known
    notes = "; ".join(quality_notes(summary.get("quality", {}), known=known))
    return section(
        "quality",
        "Data quality",
        f"<p>{esc(notes[:1].upper() + notes[1:])}.</p>"
        f'<p class="note">Analysis version {esc(summary.get("algorithm_version", "?"))}.</p>',
    )


def _walk_sections(summary: dict[str, Any]) -> tuple[str, bool]:
    """A recording without running: its walking headline and per-side medians (the registry's sided
    metrics that hold for walking), and whether any side was known."""
    walking = summary.get("walking") or {}
    cadence = walking.get("cadence_spm")
    cards = [
        card("walking time", duration(summary.get("walking_time_s")), f"of {duration(summary.get('duration_s'))} recorded"),
        card("steps", f"{walking.get('steps', 0):,}", "walking steps, both feet"),
        card("cadence", f"{cadence:.0f} <small>steps/min</small>" if cadence else "-", "median"),
    ]  # fmt: skip
    rows: list[list[Cell]] = []
    for m in registry.sided("walk"):
        left, right = walking.get(f"{m.name}_left"), walking.get(f"{m.name}_right")
        if left is not None or right is not None:
            rows.append(
                [
                    f"{esc(m.label)} ({m.display_unit})",
                    ("l", _value(m.name, left, unit=False)),
                    ("r", _value(m.name, right, unit=False)),
                ]
            )
    lead = "<p>No running in this recording: it is reported as walking.</p>"
    if rows:
        body = table(["metric", "left", "right"], rows) + (
            '<p class="note">Medians over the walking steps on each foot (at least 3 needed).</p>'
        )
    else:
        body = f'<p class="warn">{esc(sides_unknown_sentence(UNKNOWN_SIDES_REASON))}</p>'
    return card_row(cards) + _unclassified(summary) + section(
        "walking", "Walking, per side", lead + body
    ), bool(rows)


def render_session(session: ReportSession, *, progress: Progress | None = None) -> str:
    """The session view: headline numbers, flags, left versus right, the run over time, distributions."""
    summary, steps = session.summary, session.steps
    if walking_only(summary):
        walked, known = _walk_sections(summary)
        body = (
            walked
            + flags_section(summary.get("flags", []), "No flags for this walk.")
            + _quality(summary, known)
        )
        return page(session.title, "session report", session.details, body, sides_shown=known)
    known, why = sides_known(summary)
    todo = [
        ("along the run", lambda: figures.along_run(steps, by_side=known)),
        ("distributions", lambda: figures.distributions(steps, by_side=known)),
    ]
    if known:
        todo.insert(0, ("left versus right", lambda: figures.side_comparison(summary.get("sides", []))))
    svgs = draw(todo, progress)
    along_svg, dist_svg = svgs[-2:]
    per = "for each foot" if known else "over all steps"
    body = (
        _headline(summary, steps)
        + flags_section(summary.get("flags", []), "No flags for this run.")
        + (_sides_section(summary, svgs[0]) if known else alternate_section(why, steps))
        + section(
            "along",
            "Along the run",
            _drift_sentence(summary)
            + figure(
                along_svg,
                f"Median per time bin {per}; the shaded band holds the middle half of the steps. "
                "Pelvic drop or contact time creeping up late in a run is a common sign of fatigue.",
            ),
        )
        + section(
            "distributions",
            "Step by step",
            figure(
                dist_svg,
                f"How contact times and impacts spread over the steps {'of each foot' if known else 'together'}; "
                "dashed lines are the medians.",
            ),
        )
        + watch_section(steps, by_side=known)  # linked to the runner's watch (report/watch.py)
        + _quality(summary)
    )
    return page(session.title, "session report", session.details, body, sides_shown=known)


def write_report(html: str, out: str | Path) -> Path:
    """Write the page; a folder that does not exist is an error, not silently created."""
    out = Path(out)
    if not out.parent.is_dir():
        raise HipsenseError(f"{out}: the folder {out.parent} does not exist")
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as e:
        raise HipsenseError(f"{out}: cannot write the report ({e.strerror or e})") from None
    return out
