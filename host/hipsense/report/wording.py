"""Phrases the terminal and the HTML report share, so both say the same thing the same way."""

from __future__ import annotations

import math
from typing import Any

from hipsense import metrics as registry
from hipsense.gait.verdict import too_few_steps


def number(value: Any, fmt: str = "{:.1f}") -> str:
    """``value`` formatted with ``fmt``; ``-`` when it is unknown (None, NaN or infinite)."""
    if value is None or not math.isfinite(value):
        return "-"
    return fmt.format(value)


def asymmetry_keys(metric: str) -> tuple[str, str, str, str]:
    """Where a summary's ``sides`` entry has a metric's asymmetry: (estimate, ci low, ci high, unit).

    Angles use left minus right in degrees, because an index of two small angles says little
    (docs/metrics.md); the others use the asymmetry index in %.
    """
    if metric in registry.noise_floors("difference"):
        return "difference", "diff_ci_low", "diff_ci_high", "deg"
    return "asymmetry_pct", "ci_low_pct", "ci_high_pct", "%"


#: The unit of an impact load: a sum of one impact peak (g) per step.
IMPACT_LOAD_UNIT = "g x steps"


def duration(seconds: float | None) -> str:
    """A duration with its units spelled out (``45 s``, ``9 min 05 s``, ``1 h 02 min``); ``-`` when
    unknown. "0:30" alone leaves a reader guessing between minutes and seconds."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    if h:
        return f"{h} h {m:02d} min"
    return f"{m} min {s:02d} s" if m else f"{s} s"


#: Shortest unclassified time worth a sentence: the activity windows' own resolution (1 s).
UNCLASSIFIED_MIN_S = 1.0


def unclassified_sentence(seconds: float | None) -> str:
    """Why part of a recording is in no figure: movement judged neither running, walking nor standing
    (the summary's ``unclassified_time_s``); "" under :data:`UNCLASSIFIED_MIN_S` or when not known."""
    if seconds is None or not seconds >= UNCLASSIFIED_MIN_S:
        return ""
    return (
        f"{duration(seconds)} of movement was neither clearly running nor walking (a very slow jog, a "
        "shuffle, stairs, the clip handled): its steps are in none of these figures."
    )


def quality_notes(quality: dict[str, Any], *, known: bool = True) -> list[str]:
    """A session's data quality (the summary's ``quality``) as short phrases; ``known``: whether its
    sides are known (:func:`sides_known`), so the phrase never claims a source for unknown sides."""
    q = quality
    source = q.get("side_source")
    parts = [
        f"alignment confidence {q.get('alignment_confidence', 0):.2f}",
        f"sides from {source}"
        if known and source not in UNKNOWN_SIDE_SOURCES | {None}
        else "sides not known",
    ]
    if q.get("missing_samples"):
        parts.append(_missing(q["missing_samples"], q.get("gaps", [])))
    if q.get("clipped_share") and math.isfinite(q["clipped_share"]):
        parts.append(f"{100 * q['clipped_share']:.2f} % of samples at full scale")
    parts.append(f"{100 * q.get('doubtful_step_share', 0):.1f} % of steps with a doubtful value")
    return parts


def _missing(missing: int, gaps: list) -> str:
    """Samples the clock says were lost, and how many of them lie in gaps (the rest were short holes,
    filled by interpolation): "124 samples missing in 0 gaps" read as a contradiction."""
    in_gaps = sum(int(g[2]) for g in gaps)
    if not gaps:
        return f"{missing} samples missing (short holes, filled)"
    held = f"{len(gaps)} gap" + ("s" if len(gaps) > 1 else "")
    return (
        f"{missing} samples missing ({in_gaps} in {held}, {missing - in_gaps} in short holes, filled)"
        if missing > in_gaps
        else f"{missing} samples missing in {held}"
    )


# -- sides: shown only when they are known ----------------------------------------------------------

#: Share of a session's running steps that must have a confident side before any left/right figure
#: is shown: below it, a median "per foot" would rest on a minority of the steps, and those steps are
#: the ones whose bouts the side detector trusted (gait/sides.py), not a fair sample of the run.
#: Measured (benchmarks/alternate_noise.py): the real recordings give 100 % (motion capture, 76 of 76
#: right; walking, 99.9 % right) or 0 % (accelerometer only), none in between, so the data neither
#: support nor contradict 0.8 and it stays a judgement (docs/metrics.md, "Sides").
MIN_SIDED_SHARE = 0.8

#: ``side_source`` values that mean no step's foot is known.
UNKNOWN_SIDE_SOURCES = frozenset({"unknown", "alternation", ""})

#: How a reader learns which foot is which (one sentence for every output). It names a command that
#: takes the option: only `analyze` and `report FILE` do; the store keeps no analysis options.
HOW_TO_KNOW_SIDES = (
    "Which foot is which needs the gyroscope; for a recording without one, "
    "`hipsense analyze FILE --first-side L` (or R) states the first step's foot."
)

#: The alignment's advice for a recording whose mounting could not be found (gait/alignment.py), and
#: what the store's commands say instead: a stored session's mounting cannot be given, a file's can.
MOUNTING_ADVICE = "give the mounting explicitly"
MOUNTING_COMMAND = (
    "`hipsense analyze FILE --mounting back` (or another of its --mounting choices) states how the clip "
    "was worn"
)


def stored_error(message: str) -> str:
    """A stored session's analysis error as the store's commands print it: advice to "give" an option
    becomes the command that takes it (import, reanalyze and a stored session's report take none)."""
    return message.replace(MOUNTING_ADVICE, MOUNTING_COMMAND)


def sided_share(summary: dict[str, Any]) -> float | None:
    """Share of the running steps whose side is known, from the summary's per-side step counts (None
    when the summary does not count them)."""
    steps = summary.get("steps") or 0
    counted = [
        (s.get("n_left") or 0) + (s.get("n_right") or 0)
        for s in summary.get("sides") or []
        if "n_left" in s or "n_right" in s
    ]
    if not counted:
        return None
    return min(max(counted) / steps, 1.0) if steps else 0.0


def walking_only(summary: dict[str, Any]) -> bool:
    """A recording without running steps but with walking ones: reported as a walk."""
    return not summary.get("steps") and bool((summary.get("walking") or {}).get("steps"))


#: Why left and right are not compared when no step has a side.
UNKNOWN_SIDES_REASON = "which foot made each step is not known in this recording"


def sides_known(summary: dict[str, Any]) -> tuple[bool, str]:
    """Whether a summary's left/right figures may be shown, and if not, why (one plain phrase).

    Unknown when the side detector had no side signal (``side_source`` unknown or alternation) or when
    fewer than :data:`MIN_SIDED_SHARE` of the running steps have a confident side. A summary that says
    neither (made by hand or by the simulator's histories) is taken as it is.
    """
    quality = summary.get("quality") or {}
    share = sided_share(summary)
    if ("side_source" in quality and quality["side_source"] in UNKNOWN_SIDE_SOURCES) or share == 0.0:
        return False, UNKNOWN_SIDES_REASON
    if share is not None and share < MIN_SIDED_SHARE:
        return False, (
            f"only {100 * share:.0f} % of the steps have a confident side (at least "
            f"{100 * MIN_SIDED_SHARE:.0f} % are needed to compare left and right)"
        )
    return True, ""


def sides_unknown_sentence(reason: str) -> str:
    """The plain sentence every output gives instead of a left/right comparison."""
    return (
        f"Left and right are not compared: {reason}. Alternate steps are compared instead, without "
        f"saying which foot is which. {HOW_TO_KNOW_SIDES}"
    )


def without_sides(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary as every output may show it: when its sides are not known, each left/right figure
    (the walking steps' per-foot medians too) is empty (None) and no asymmetry is judged
    (``larger_than_noise`` None, ``note`` the reason); otherwise the summary with every metric of too
    few steps a side unjudged (:func:`judged`)."""
    known, why = sides_known(summary)
    if known or walking_only(summary):  # a walk's sides are its walking steps' (no running to compare)
        sides = summary.get("sides") or []
        if all(s == judged(s) for s in sides):
            return summary
        return {**summary, "sides": [judged(s) for s in sides]}
    out = dict(summary)
    out["sides"] = [
        {
            **{k: v if k in ("metric", "n_left", "n_right") else None for k, v in s.items()},
            "note": why,
        }
        for s in summary.get("sides") or []
    ]
    if summary.get("walking"):  # the walking steps' per-foot medians too: one rule for the session
        out["walking"] = {
            k: None if k.endswith(("_left", "_right")) else v for k, v in summary["walking"].items()
        }
    return out


#: The verdict's words where a metric has fewer steps a side than a verdict needs (gait/verdict.py).
TOO_FEW_WORDS = "too few steps to compare"


def judged(side: dict[str, Any]) -> dict[str, Any]:
    """One ``sides`` entry with no verdict (``larger_than_noise`` None, ``note`` why) when it has fewer
    steps a side than a verdict needs: a stored summary may have been judged by an older rule, and a
    False there reads as "within noise" (red-team p13 F1)."""
    few = too_few_steps(side.get("n_left"), side.get("n_right"))
    if not few or (side.get("larger_than_noise") is None and side.get("note")):
        return side
    return {**side, "larger_than_noise": None, "note": few}


def verdict_words(side: dict[str, Any]) -> str:
    """The left/right verdict of one ``sides`` entry: "differs", "within noise", or why it was not
    judged ("too few steps to compare", "not measured")."""
    if side.get("larger_than_noise") is None:
        note = side.get("note") or ""
        return TOO_FEW_WORDS if note.startswith(TOO_FEW_WORDS) else "not compared"
    return "differs" if side["larger_than_noise"] else "within noise"


#: The alternate-step verdicts, in words of their own: "differs" and "within noise" are the left/right
#: verdict's, and no output whose sides are unknown may read like one (tests/host/test_report.py).
ALTERNATE_DIFFER = "sets differ"
ALTERNATE_NOISE = "within the noise"


def alternate_verdict(row: dict[str, Any]) -> str:
    """The verdict of one alternate-step comparison (:func:`hipsense.report.alternate.alternate_steps`):
    :data:`ALTERNATE_DIFFER` when its interval excludes 0 and it exceeds the noise floor."""
    if row.get("larger_than_noise") is None:  # fewer steps a set than a verdict needs
        return TOO_FEW_WORDS
    return ALTERNATE_DIFFER if row.get("larger_than_noise") else ALTERNATE_NOISE


def alternate_apart(row: dict[str, Any]) -> str:
    """How far apart the two sets are, as judged: ``12.3 %`` (index) or ``0.4 deg`` (angles)."""
    if row.get("judged_on") == "difference" or row.get("difference_pct") is None:
        metric = registry.get(row["metric"])
        return f"{metric.display(row['difference'])} {metric.display_unit}"
    return f"{row['difference_pct']:.1f} %"


def alternate_interval(row: dict[str, Any]) -> str:
    """The 95 % interval of the judged difference, in its unit (``-`` when the bootstrap could not tell)."""
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "-"
    if row.get("judged_on") == "difference":
        metric = registry.get(row["metric"])
        return f"{metric.display(lo)} to {metric.display(hi)} {metric.display_unit}"
    return f"{lo:.1f} to {hi:.1f} %"


#: How the alternate-step verdict is judged, in one sentence for every output.
ALTERNATE_RULE = (
    f"'{ALTERNATE_DIFFER}' when the 95 % confidence interval of the difference (a block bootstrap over "
    "the run's steps) excludes 0 and the difference exceeds the measurement's noise floor."
)


def alternate_sentence(row: dict[str, Any]) -> str:
    """One alternate-step comparison (:func:`hipsense.report.alternate.alternate_steps`) in words."""
    metric = registry.get(row["metric"])
    a = metric.display(row["median_a"])
    b = metric.display(row["median_b"])
    return (
        f"{metric.label.capitalize()}: {a} and {b} {metric.display_unit} on alternate steps, "
        f"{alternate_apart(row)} apart (95 % interval {alternate_interval(row)}): {alternate_verdict(row)}."
    )


#: Why trends leave a walk (no running steps, walking ones) out of every left/right figure and flag:
#: not its sides, which its gyroscope may well tell, but that it has no running to compare.
WALKING_ONLY_REASON = "it has no running steps (walking only)"


def skipped_sentence(n: int, walks: int = 0) -> str:
    """Trends and flags: how many sessions the left/right rows, figures and flags left out, and why;
    ``walks`` of the ``n`` are left out for having no running steps, the others for unknown sides."""
    parts = []
    if n - walks > 0:
        parts.append(
            f"{n - walks} session(s) left out of every left/right figure and flag: which foot is which is "
            f"not known in them (alternate steps are in each one's own report). {HOW_TO_KNOW_SIDES}"
        )
    if walks > 0:
        parts.append(
            f"{walks} session(s) left out of every left/right figure and flag: they have no running steps "
            "(walking only)."
        )
    return " ".join(parts)


#: How far after the computer's clock a session may start before it is said to be dated in the future
#: (a day: time zones and a clock a few hours off are no mistake worth a warning).
FUTURE_SLACK_S = 24 * 3600


def future_sentence(session_id: int, name: str | None, start: Any) -> str:
    """One line for a session dated after today (``start`` a UTC timestamp): what to check and how to
    remove it. Import accepts dates up to 2100 (docs/store.md), so a wrong clock or --start-time would
    otherwise take over trends unnoticed."""
    return (
        f"session {session_id}{f' ({name})' if name else ''} is dated {start:%Y-%m-%d %H:%M} UTC, after today: check --start-time "
        f"or the file's clock; `hipsense forget {session_id}` removes it"
    )
