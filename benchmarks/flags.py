"""False-alarm and detection rates of the overuse flags on simulated multi-week histories.

Prints: the share of steady histories with any flag (target <= 5 %), the share of histories with a
3-degree pelvic-drop rise or a 30 % one-week load spike in which the matching flag is raised in time
(target >= 90 %), the detection delays, and a check of the distance estimate against the simulator.

How the histories are made (docs/flags.md, "How the flags were measured"): each history is planned with
hipsense.sim.history (random run days, run lengths, moved runs; weeks of 2-4 runs). Simulating every
run at signal level would take hours, so each planned run takes the summary of a signal-level simulated
and analysed 2-minute session from a pool at its pelvic-drop level (0.5-degree grid, used in a shuffled
order so no session repeats before the pool is used up); each pool session was drawn with the runner's
day-to-day variation (drop +-0.3 deg, asymmetries +-1 %, speed +-3 %). Its running time, steps and
impact load are scaled to the planned length; its confidence intervals stay those of 2 minutes (wider
than a real run's, so the interval test is harder to pass, not easier).

    .venv/bin/python benchmarks/flags.py [--histories 120] [--pool 40] [--seed 0]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import os
import time
import warnings
from collections import Counter

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from rich.progress import Progress  # noqa: E402

from hipsense.analysis import analyse  # noqa: E402
from hipsense.recording import Recording  # noqa: E402
from hipsense.sim import scenarios, simulate_run  # noqa: E402
from hipsense.sim.history import Changes, PlannedSession, RunnerProfile, plan_history  # noqa: E402
from hipsense.trends.build import trends_from_records  # noqa: E402
from hipsense.trends.sessions import distance_km  # noqa: E402

POOL_S = 120.0
BASE_DROP = 4.0
LEVELS = np.arange(BASE_DROP, BASE_DROP + 3.01, 0.5)
WEEKS = 12
SPIKE_WEEK, RISE_WEEK = 6, 8
#: Weekly patterns: run days and planned minutes (scaled per runner).
PATTERNS = (
    ((1, 3, 6), (40.0, 45.0, 70.0)),
    ((0, 2, 5), (35.0, 40.0, 60.0)),
    ((1, 3, 5, 6), (35.0, 40.0, 30.0, 65.0)),
    ((2, 6), (45.0, 75.0)),
)
DAY_TO_DAY = RunnerProfile()  # its run-to-run spreads are the pool's


def analysed_summary(cfg) -> dict:
    run = simulate_run(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = Recording(run.data, "sensor", run.sample_rate_hz, None)
        return analyse(rec).summary.to_dict()


def build_pool(n_base: int, n_other: int, seed: int) -> dict[float, list[dict]]:
    """Signal-level simulated and analysed 2-minute sessions per left-stance drop level."""
    rng = np.random.default_rng(seed)
    p = DAY_TO_DAY
    pool: dict[float, list[dict]] = {}
    total = n_base + n_other * (len(LEVELS) - 1)
    with Progress() as bar:
        task = bar.add_task("simulating and analysing the session pool", total=total)
        for level in LEVELS:
            pool[float(level)] = []
            for _ in range(n_base if level == BASE_DROP else n_other):
                s = PlannedSession(
                    start=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc),
                    week=0,
                    duration_s=POOL_S,
                    speed_mps=p.speed_mps * (1 + p.speed_sd_pct / 100 * rng.standard_normal()),
                    drop_left_deg=float(level + p.drop_sd_deg * rng.standard_normal()),
                    drop_right_deg=float(BASE_DROP + p.drop_sd_deg * rng.standard_normal()),
                    contact_time_pct=p.asymmetry_sd_pct * rng.standard_normal(),
                    impact_pct=p.asymmetry_sd_pct * rng.standard_normal(),
                    fatigue_drop_deg=p.fatigue_drop_deg,
                    fatigue_contact_pct=p.fatigue_contact_pct,
                    seed=int(rng.integers(2**31)),
                )
                pool[float(level)].append(analysed_summary(s.run_config()))
                bar.advance(task)
    return pool


def history(pool, rng: np.random.Generator, changes: Changes):
    """(records, plan) of one random runner's history, summaries drawn from the pool."""
    days, minutes = PATTERNS[rng.integers(len(PATTERNS))]
    scale = rng.uniform(0.6, 1.6)
    profile = dataclasses.replace(
        DAY_TO_DAY, run_days=days, minutes=tuple(m * scale for m in minutes), drop_sd_deg=0.0
    )
    plan = plan_history(profile, WEEKS, changes=changes, seed=int(rng.integers(2**31)))
    # Each level's pool in a shuffled order, reused only once all of it has been used: drawing the same
    # session twice in a row would make two "runs" identical, which no two real runs are.
    order = {level: iter(()) for level in pool}
    records = []
    for i, p in enumerate(plan):
        level = float(np.clip(np.round(p.drop_left_deg * 2) / 2, LEVELS[0], LEVELS[-1]))
        pick = next(order[level], None)
        if pick is None:
            order[level] = iter(rng.permutation(len(pool[level])))
            pick = next(order[level])
        summary = copy.deepcopy(pool[level][pick])
        k = p.duration_s / POOL_S
        summary["running_time_s"] *= k
        summary["steps"] = int(round(summary["steps"] * k))
        summary["impact_load_g"] *= k
        records.append((i + 1, p.start, summary))
    return records, plan


def wilson(k: int, n: int) -> str:
    """Wilson score 95 % interval of a proportion, in percent."""
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{100 * (centre - half):.1f}-{100 * (centre + half):.1f} %"


def week_start(plan, week: int) -> dt.date:
    first = min(p.start.date() for p in plan if p.week == 1)
    return first - dt.timedelta(days=first.weekday()) + dt.timedelta(weeks=week - 1)


def realised_increase(records, begin: dt.date) -> float:
    """The spike week's impact load over the mean of the four weeks before, minus 1: a planned +30 %
    week lands anywhere from about +10 % to +45 % once run days move and run lengths vary."""
    weekly: Counter[int] = Counter()
    for _, start, summary in records:
        weekly[(start.date() - begin).days // 7] += summary["impact_load_g"]
    before = np.mean([weekly[w] for w in (-4, -3, -2, -1)])
    return weekly[0] / before - 1


def run(pool, n: int, seed: int):
    rng = np.random.default_rng(seed)
    results = {}
    cases = {
        "steady": Changes(),
        "drop +3 deg": Changes(drop_rise_week=RISE_WEEK, drop_rise_deg=3.0, drop_rise_weeks=3),
        "load spike +30 %": Changes(load_spike_week=SPIKE_WEEK, load_spike_pct=30.0),
    }
    with Progress() as bar:
        for name, changes in cases.items():
            task = bar.add_task(f"histories: {name}", total=n)
            kinds: Counter[str] = Counter()
            alarmed, detected, delays, early, ratios, realised = 0, 0, [], 0, [], []
            for _ in range(n):
                records, plan = history(pool, rng, changes)
                trends = trends_from_records("bench", records)
                flags, acwr = trends.flags, trends.daily["acwr_ewma"]
                starts = {sid: start.date() for sid, start, _ in records}
                kinds.update(f.kind for f in flags)
                alarmed += bool(flags)
                if name == "steady":
                    ratios.extend(acwr.dropna())
                    bar.advance(task)
                    continue
                kind, week = ("drop_rising", RISE_WEEK) if "drop" in name else ("load_spike", SPIKE_WEEK)
                begin = week_start(plan, week)
                end = begin + dt.timedelta(weeks=4 if kind == "drop_rising" else 1)
                if kind == "load_spike":
                    ratios.append(acwr.loc[str(begin) : str(end - dt.timedelta(days=1))].max())
                early += any(starts[f.session_id] < begin for f in flags if f.session_id)
                hits = [
                    starts[f.session_id]
                    for f in flags
                    if f.kind == kind and begin <= starts[f.session_id] < end
                ]
                if hits:
                    detected += 1
                    delays.append((min(hits) - begin).days)
                if kind == "load_spike":
                    realised.append((realised_increase(records, begin), bool(hits)))
                bar.advance(task)
            results[name] = (alarmed, detected, delays, kinds, early, np.array(ratios), realised)
    return results


def check_distance() -> list[tuple[float, float]]:
    """Estimated over simulated distance at several speeds (1-minute steady runs)."""
    out = []
    for v in (2.5, 3.3, 4.5, 5.5):
        run = simulate_run(scenarios.steady_run(duration_s=60, speed_mps=v, seed=11))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = analyse(Recording(run.data, "sensor", run.sample_rate_hz, None)).summary.to_dict()
        ct = next(m for m in s["sides"] if m["metric"] == "contact_time_s")
        truth_km = run.truth.loc[run.truth["activity"] == "run", "step_length_m"].sum() / 1000
        out.append((v, distance_km(s["running_time_s"], 0.5 * (ct["left"] + ct["right"])) / truth_km))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--histories", type=int, default=120, help="histories per case (default: %(default)s)"
    )
    parser.add_argument(
        "--pool", type=int, default=40, help="pool sessions at the usual drop (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    pool = build_pool(args.pool, max(8, args.pool // 5), args.seed)
    t1 = time.perf_counter()
    results = run(pool, args.histories, args.seed + 1)
    t2 = time.perf_counter()
    n = args.histories
    print(
        f"pool: {sum(map(len, pool.values()))} signal-level sessions of {POOL_S:.0f} s in {t1 - t0:.0f} s; "
        f"{3 * n} histories of {WEEKS} weeks judged in {t2 - t1:.0f} s"
    )
    alarmed, _, _, kinds, _, ratios, _ = results["steady"]
    print(
        f"steady histories with any flag (false alarms): {alarmed}/{n} = {100 * alarmed / n:.1f} % "
        f"(95 % CI {wilson(alarmed, n)})  [target <= 5 %]  flags by kind: {dict(kinds) or 'none'}"
    )
    print(
        "daily EWMA acute:chronic ratio in steady histories, 5th/50th/95th/99th percentile: "
        + "/".join(f"{q:.2f}" for q in np.percentile(ratios, [5, 50, 95, 99]))
    )
    for name in ("drop +3 deg", "load spike +30 %"):
        alarmed, detected, delays, kinds, early, ratios, realised = results[name]
        d = np.array(delays)
        delay = (
            f"median {np.median(d):.0f} d, 90th percentile {np.percentile(d, 90):.0f} d" if len(d) else "-"
        )
        print(
            f"{name}: detected in {detected}/{n} = {100 * detected / n:.1f} % "
            f"(95 % CI {wilson(detected, n)})  [target >= 90 %]  "
            f"delay from the change's first day: {delay}; histories with a flag before the change: "
            f"{early}; flags by kind: {dict(kinds)}"
        )
        if len(ratios):
            print(
                "  highest daily EWMA acute:chronic ratio in the spike week: median "
                f"{np.median(ratios):.2f}, range {ratios.min():.2f}-{ratios.max():.2f}"
            )
        if realised:
            inc = np.array([r for r, _ in realised])
            hit = np.array([h for _, h in realised])
            bands = ((0.3, np.inf, ">= 30 %"), (0.2, 0.3, "20-30 %"), (-np.inf, 0.2, "< 20 %"))
            print(
                "  the spike week's impact load over the four weeks before, as it landed: median "
                f"{100 * np.median(inc):+.0f} %; detected by realised increase: "
                + ", ".join(
                    f"{label} {int(hit[(inc >= lo) & (inc < hi)].sum())}/{int(((inc >= lo) & (inc < hi)).sum())}"
                    for lo, hi, label in bands
                )
                + " (the rule's watch level: +20 %)"
            )
    print(
        "distance estimate / simulated distance: "
        + ", ".join(f"{v} m/s: {r:.2f}" for v, r in check_distance())
    )


if __name__ == "__main__":
    main()
