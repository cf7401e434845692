"""Alternate steps when the sides are not known: one verdict (interval and noise floor, as for left and
right), the same in the terminal, the HTML report and ``--json``, and no left/right wording (issue 15)."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from hipsense import metrics as registry
from hipsense.gait.summary import summarize
from hipsense.report.alternate import MIN_STEPS, alternate_steps, compare_sets
from hipsense.report.html import render_session
from hipsense.report.machine import dumps, summary_record
from hipsense.report.sources import ReportSession
from hipsense.report.terminal import print_summary
from hipsense.report.wording import ALTERNATE_DIFFER, ALTERNATE_NOISE, alternate_verdict

#: Words that present a left/right comparison (as tests/host/test_report.py) and the feet by name.
LR_WORDS = (
    "Left versus right",
    "within noise",
    "differs",
    "were even",
    "left larger",
    "right larger",
    "left foot",
    "right foot",
)

N_STEPS = 240
STEP_S = 0.34


def hand_built_steps(n: int = N_STEPS, *, sides: bool = False, seed: int = 3) -> pd.DataFrame:
    """A running step table with known differences between alternate steps (every other step):

    - impact: 3.0 g against 2.4 g (22 %, far beyond the 1.5-point floor): the sets differ;
    - contact time: 250 against 251 ms with 0.2 ms of scatter (0.4 %, an interval that excludes 0,
      under the floor): within the noise;
    - pelvic drop: 5.0 against 4.0 deg (1 deg, beyond the 0.3 deg floor): the sets differ;
    - braking: the same on both sets, with scatter: within the noise;
    - loading rate: only 2 values in one set: left out.
    """
    rng = np.random.default_rng(seed)
    parity = np.arange(n) % 2
    ic = 10.0 + STEP_S * np.arange(n)
    noise = rng.normal(size=(6, n))
    step_time = np.full(n, STEP_S) + 0.002 * noise[0]
    contact = np.where(parity == 0, 0.250, 0.251) + 0.0002 * noise[1]
    loading = np.full(n, np.nan)
    loading[[0, 1, 3]] = 80.0  # set a: 0 -> 1 value; set b: 1, 3 -> 2 values
    steps = pd.DataFrame(
        {
            "bout": 0,
            "activity": "run",
            "side": np.where(parity == 0, "L", "R") if sides else "",
            "ic_s": ic,
            "to_s": ic + contact,
            "step_time_s": step_time,
            "contact_time_s": contact,
            "flight_time_s": step_time - contact,
            "cadence_spm": 60.0 / step_time,
            "impact_g": np.where(parity == 0, 3.0, 2.4) + 0.05 * noise[2],
            "loading_rate_g_per_s": loading,
            "braking_g": 1.5 + 0.1 * noise[3],
            "pelvic_drop_deg": np.where(parity == 0, 5.0, 4.0) + 0.1 * noise[4],
            "pelvic_rotation_deg": 8.0 + 0.5 * noise[5],
            "vertical_oscillation_cm": 7.0 + 0.2 * rng.normal(size=n),
            "quality": "",
        }
    )
    for column in registry.step_columns():  # anything else the registry lists: not measured
        if column not in steps:
            steps[column] = np.nan
    return steps


def _summary(steps: pd.DataFrame, side_source: str = "unknown", n_boot: int = 200) -> object:
    duration = float(steps["ic_s"].iloc[-1] + STEP_S)
    return summarize(
        steps,
        source="hand-built",
        algorithm_version="test",
        duration_s=duration,
        running_time_s=duration - 10.0,
        quality={"side_source": side_source, "alignment_confidence": 1.0, "doubtful_step_share": 0.0},
        alignment={},
        n_boot=n_boot,
    )


@pytest.fixture(scope="module")
def unknown() -> tuple[object, pd.DataFrame, dict[str, dict]]:
    steps = hand_built_steps()
    return _summary(steps), steps, {r["metric"]: r for r in alternate_steps(steps)}


def test_a_large_difference_differs_one_under_the_floor_does_not(unknown):
    _, _, rows = unknown
    assert rows["impact_g"]["larger_than_noise"] and rows["pelvic_drop_deg"]["larger_than_noise"]
    assert rows["impact_g"]["estimate"] == pytest.approx(100 * 0.6 / 2.7, abs=1.0)
    assert rows["pelvic_drop_deg"]["judged_on"] == "difference"
    assert rows["pelvic_drop_deg"]["estimate"] == pytest.approx(1.0, abs=0.1)
    assert rows["pelvic_drop_deg"]["difference_pct"] is None  # angles: no index
    # Contact time: the interval excludes 0 (a real 1 ms), but 0.4 % is under the 1.5-point floor.
    ct = rows["contact_time_s"]
    assert ct["ci_low"] > 0 and ct["estimate"] < registry.get("contact_time_s").noise_floor
    assert not ct["larger_than_noise"]
    # Braking: no difference at all; its interval holds 0.
    br = rows["braking_g"]
    assert br["ci_low"] <= 0 <= br["ci_high"] and not br["larger_than_noise"]
    for (
        r
    ) in rows.values():  # no sign: the estimate is the size of the difference, its interval turned with it
        assert r["estimate"] >= 0 and r["ci_low"] <= r["estimate"] <= r["ci_high"]


def test_a_metric_with_too_few_steps_in_a_set_is_left_out(unknown):
    _, steps, rows = unknown
    assert "loading_rate_g_per_s" not in rows
    x = steps["loading_rate_g_per_s"].to_numpy()
    assert np.isfinite(x[1::2]).sum() == MIN_STEPS - 1  # the other set is short of the minimum


def test_which_set_comes_first_does_not_change_the_verdict(unknown):
    _, steps, rows = unknown
    shifted = alternate_steps(steps.iloc[1:].reset_index(drop=True))  # the sets swap places
    for r in shifted:
        assert r["larger_than_noise"] == rows[r["metric"]]["larger_than_noise"]
        assert r["estimate"] == pytest.approx(rows[r["metric"]]["estimate"], rel=0.1, abs=0.05)


def test_the_rule_is_the_left_right_verdicts_rule():
    """With sides that are the alternate sets, the summary's left/right verdicts and the alternate ones agree."""
    sided = hand_built_steps(sides=True)
    summary = _summary(sided, side_source="gyroscope", n_boot=1000)
    lr = {s.metric: s.larger_than_noise for s in summary.sides if s.asymmetry_pct is not None}
    alt = {r["metric"]: r["larger_than_noise"] for r in alternate_steps(sided.assign(side=""))}
    assert alt and lr == alt


def test_compare_sets_judges_a_same_foot_split_as_noise():
    """Two sets drawn from one distribution (what benchmarks/alternate_noise.py calls the same foot)."""
    rng = np.random.default_rng(7)
    values = 2.5 + 0.2 * rng.normal(size=300)
    row = compare_sets(values, np.arange(300) % 2 == 0, registry.get("impact_g"))
    assert row is not None and not row["larger_than_noise"] and row["ci_low"] <= 0
    assert compare_sets(values[:5], np.arange(5) % 2 == 0, registry.get("impact_g")) is None


def _terminal(summary, steps) -> str:
    console = Console(width=160, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    print_summary(summary, console=console, steps=steps)
    return console.export_text()


def _visible(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def test_terminal_html_and_json_show_the_same_verdicts(unknown):
    summary, steps, rows = unknown
    text = _terminal(summary, steps)
    page = render_session(ReportSession(summary.to_dict(), steps, "hand-built"))
    record = json.loads(dumps(summary_record(summary.to_dict(), steps)))
    by_json = {r["metric"]: r for r in record["alternate_steps"]}
    assert set(by_json) == set(rows)
    html_rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    for name, r in rows.items():
        verdict = alternate_verdict(r)
        assert verdict == (ALTERNATE_DIFFER if r["larger_than_noise"] else ALTERNATE_NOISE)
        label = registry.get(name).label
        line = next(ln for ln in text.splitlines() if f"│ {label} (" in ln)
        assert verdict in line, (name, line)
        cells = next(row for row in html_rows if f"{label} (" in row)
        assert verdict in _visible(cells), (name, cells)
        assert by_json[name]["verdict"] == verdict
        assert by_json[name]["larger_than_noise"] == r["larger_than_noise"]
        assert by_json[name]["ci_low"] == pytest.approx(r["ci_low"], abs=1e-4)
    # The sentences above the table name the metrics whose sets differ, and only those.
    seen = _visible(page)
    for name, r in rows.items():
        assert (f"{registry.get(name).label.capitalize()}:" in seen) == r["larger_than_noise"]


def test_no_left_right_wording_when_the_sides_are_unknown(unknown):
    summary, steps, _ = unknown
    text = _terminal(summary, steps)
    seen = _visible(render_session(ReportSession(summary.to_dict(), steps, "hand-built")))
    record = summary_record(summary.to_dict(), steps)
    json_text = " ".join(str(v) for r in record["alternate_steps"] for v in r.values())
    for out in (text, seen, json_text):
        assert "Alternate steps" in out or "sets differ" in out
        assert not any(w in out for w in LR_WORDS), [w for w in LR_WORDS if w in out]
    assert all("left" not in k and "right" not in k for r in record["alternate_steps"] for k in r)
    assert record["sides_known"] is False and not any(
        record[k] for k in record if k.endswith("_larger_than_noise")
    )


def test_every_metric_within_the_noise_reads_as_alike():
    steps = hand_built_steps()
    for name in ("impact_g", "pelvic_drop_deg"):  # take the differences away
        x = steps[name].to_numpy(copy=True)
        steps[name] = x.mean() + (x - np.where(np.arange(len(x)) % 2 == 0, x[::2].mean(), x[1::2].mean()))
    rows = alternate_steps(steps)
    assert rows and not any(r["larger_than_noise"] for r in rows)
    page = render_session(ReportSession(_summary(steps).to_dict(), steps, "even"))
    assert "were alike" in _visible(page) and "larger than the measurement's noise" not in page
    verdicts = [_visible(row) for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)]
    assert sum(ALTERNATE_NOISE in v for v in verdicts) == len(rows)
    assert not any(ALTERNATE_DIFFER in v for v in verdicts)


@pytest.mark.shared_data
def test_real_mocap_without_gyroscope_alternate_verdicts_are_the_markers_left_right(shared_data, tmp_path):
    """The motion-capture trial logged without a gyroscope (sides unknown): each metric's alternate
    verdict is the left/right verdict of the same steps grouped by the markers' sides (one foot per set
    here: one bout, no missed contact). docs/validation.md "Alternate steps"."""
    import warnings

    from hipsense.analysis import analyse_file
    from hipsense.gait.scoring import match_nearest

    folder = shared_data / "running-pelvis-mocap"
    if not folder.is_dir():
        pytest.skip("running-pelvis-mocap is absent")
    data = pd.read_csv(folder / "s01_v25.csv")
    path = tmp_path / "acc_only.csv"
    data.drop(columns=[c for c in data if c.startswith("gyr")]).to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyse_file(path)
    assert result.summary.quality["side_source"] == "unknown"
    rows = {r["metric"]: r for r in alternate_steps(result.steps)}
    truth = pd.read_csv(folder / "s01_v25_truth.csv")
    steps = result.steps[result.steps["activity"] == "run"].reset_index(drop=True)
    i_ref, i_det = match_nearest(truth["ic_s"].to_numpy(), steps["ic_s"].to_numpy(), 0.060)
    is_left = truth["side"].to_numpy()[i_ref] == "L"
    assert len(rows) >= 6
    for name, r in rows.items():
        x = steps[name].to_numpy(dtype=float)[i_det]
        ok = np.isfinite(x)
        lr = compare_sets(x[ok], is_left[ok], registry.get(name))
        assert lr is not None and lr["larger_than_noise"] == r["larger_than_noise"], name
    # This runner's impact really alternates (left/right 6.9 % by the markers' sides): the sets differ.
    assert rows["impact_g"]["larger_than_noise"]
