"""The HTML report: its figures, its page, the trend view and the `hipsense report` command.

The page is checked as text here; tests/host/test_report_browser.py renders it in a real browser.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import warnings
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from hipsense.cli import main
from hipsense.errors import HipsenseError
from hipsense.report import figures
from hipsense.report.html import render_session
from hipsense.report.sources import from_file
from hipsense.report.trends_page import render_trends
from tests.host.report_data import short_run_file, synthetic_trends


@pytest.fixture(scope="module")
def run_file(tmp_path_factory) -> Path:
    return short_run_file(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def session(run_file):
    return from_file(run_file)


@pytest.fixture(scope="module")
def session_html(session) -> str:
    return render_session(session)


def _labelled(fig: Figure) -> None:
    """Every visible plot has a title and a y label, and an x label (its own or a shared one's)."""
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes
    for ax in axes:
        assert ax.get_title(loc="left") or ax.get_title(), f"an axes without a title in {fig}"
        assert ax.get_ylabel(), f"{ax.get_title(loc='left')!r} has no y label"
        siblings = ax.get_shared_x_axes().get_siblings(ax)
        assert any(a.get_xlabel() for a in siblings), f"{ax.get_title(loc='left')!r} has no x label"


def test_session_figures_have_titles_axis_labels_and_consistent_side_colours(session):
    sides = figures.side_comparison(session.summary["sides"])
    along = figures.along_run(session.steps)
    dist = figures.distributions(session.steps)
    for fig in (sides, along, dist):
        _labelled(fig)
    assert "(ms)" in dist.axes[0].get_xlabel() and "(g)" in dist.axes[1].get_xlabel()
    assert {ax.get_ylabel() for ax in along.axes} == {
        "pelvic drop (deg)",
        "contact time (ms)",
        "impact (g)",
    }, "one panel per drift metric of the registry, with its unit"
    # Left is blue and right vermillion in every figure.
    for ax in along.axes:
        colours = {line.get_label(): line.get_color() for line in ax.get_lines()}
        assert colours["left foot on the ground"] == figures.LEFT
        assert colours["right foot on the ground"] == figures.RIGHT
    hist = {
        p.get_label(): p.get_edgecolor()[:3]
        for p in dist.axes[0].patches
        if p.get_label() in ("left", "right")
    }
    assert np.allclose(hist["left"], _rgb(figures.LEFT)) and np.allclose(hist["right"], _rgb(figures.RIGHT))
    # The simulated run's right contact is longer: its dot sits on the "right larger" side, in right's colour.
    rel = sides.axes[0]
    contact_row = [t.get_text() for t in rel.get_yticklabels()].index("contact time")
    dots = [line for line in rel.get_lines() if line.get_marker() == "o"]
    dot = next(d for d in dots if d.get_ydata()[0] == rel.get_yticks()[contact_row])
    assert dot.get_xdata()[0] < 0 and dot.get_color() == figures.RIGHT


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))


def test_trend_figures_have_titles_and_axis_labels_and_shade_what_flags_cover():
    t = synthetic_trends()
    flags = [f.to_dict() for f in t.flags]
    sessions = t.sessions.assign(start=t.sessions["start"].dt.tz_convert(None))
    load = figures.training_load(t.daily, flags)
    asym = figures.asymmetry_trend(sessions, ["contact_time_s", "impact_g", "braking_g"], flags)
    drop = figures.pelvic_drop_trend(sessions, flags)
    for fig in (load, asym, drop):
        _labelled(fig)
    assert "(thousand g x steps)" in load.axes[0].get_ylabel() and "(deg)" in drop.axes[0].get_ylabel()

    def shaded(ax) -> bool:
        return any(p.get_label() == "flagged period" for p in ax.patches)

    # The load spike shades the load plot; the braking drift only braking's plot; the drop flag the drop plot.
    assert shaded(load.axes[0]) and not shaded(load.axes[1])
    assert [shaded(ax) for ax in asym.axes[:3]] == [False, False, True]
    assert shaded(drop.axes[0])
    # A flag reaching back before the period shown does not widen the plot.
    late = sessions[sessions["start"] >= "2026-10-01"]
    ax = figures.pelvic_drop_trend(late, flags).axes[0]
    assert ax.get_xlim()[0] > mdates.date2num(pd.Timestamp("2026-09-25"))


class _Refs(HTMLParser):
    """Collects every tag name, every id, and every attribute that could make the browser fetch."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k == "id":
                self.ids.append(v)
            if k in ("src", "href", "xlink:href", "srcset", "action", "data"):
                self.refs.append(v or "")


def test_session_page_is_self_contained_with_its_sections_and_the_medical_disclaimer(session_html):
    p = _Refs()
    p.feed(session_html)
    assert "script" not in p.tags and "link" not in p.tags and "img" not in p.tags
    assert all(r.startswith("#") for r in p.refs), [r for r in p.refs if not r.startswith("#")]
    assert all(u.startswith("#") for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", session_html))
    assert "@import" not in session_html
    # Three inline figures whose ids do not collide, so each one's clip paths stay its own.
    assert p.tags.count("svg") == 3
    assert len(p.ids) == len(set(p.ids)) > 3
    for heading in ("Flags", "Left versus right", "Along the run", "Step by step", "Data quality"):
        assert f"<h2>{heading}</h2>" in session_html
    assert "not a medical device" in session_html and "do not diagnose" in session_html
    # Figure text stays text (titles and axis labels can be read and searched).
    for text in ("Contact time per step", "contact time (ms)", "asymmetry index (%)", "impact (g)"):
        assert text in session_html


def test_session_page_states_the_injected_asymmetry_in_plain_words(session, session_html):
    # The simulator makes the right contact longer and the right impact higher, and the drop larger in
    # left stance; the summary judges these larger than noise, so the page says so in words.
    by_metric = {s["metric"]: s for s in session.summary["sides"]}
    assert by_metric["contact_time_s"]["larger_than_noise"]
    assert re.search(r"Contact time is \d+\.\d % longer on the right", session_html)
    assert re.search(r"Impact is \d+\.\d % higher on the right", session_html)
    assert "the right hip sinks further while you stand on the left foot" in session_html
    assert "No flags for this run." in session_html


def test_session_flags_are_shown_with_sentence_numbers_advice_and_reference(session):
    flag = synthetic_trends().flags[0].to_dict()
    flagged = type(session)({**session.summary, "flags": [flag]}, session.steps, session.title)
    html = render_session(flagged)
    assert "Load spike" in html and 'class="badge alert"' in html
    assert "usual &lt;week&gt;." in html  # text from data is escaped, never markup
    assert "acwr <b>1.62</b>" in html and "threshold <b>1.5</b>" in html
    assert flag["advice"] in html and "doi:10.1136/bjsports-2015-095788" in html
    assert "2026-09-21 to 2026-09-27" in html


def test_trend_page_shows_the_last_whole_weeks_and_the_flags_in_them():
    t = synthetic_trends()  # runs from Mon 3 Aug to Sat 10 Oct 2026
    html = render_trends(t, 8)
    assert "period: 17 Aug 2026 to 10 Oct 2026" in html  # 8 calendar weeks, Monday first
    assert html.count("<tr>") - 1 == int((t.sessions["start"] >= "2026-08-17").sum())
    for kind in ("Load spike", "Pelvic drop rising", "Asymmetry drifting from your baseline"):
        assert kind in html
    assert "Braking: left versus right" in html  # a metric a flag is about joins the usual ones
    assert "Training load per week" in html and "Pelvic drop over the weeks" in html

    short = render_trends(t, 2)
    assert "period: 28 Sep 2026 to 10 Oct 2026" in short
    assert "Load spike" not in short  # its period ended before the window
    assert "Pelvic drop rising" in short


def test_trend_page_of_a_first_run_without_baseline_or_ratio_still_renders():
    t = synthetic_trends(weeks=1)
    t.sessions = t.sessions.iloc[:1]
    t.daily = t.daily.iloc[:1]
    t.flags = []
    assert t.sessions.filter(like="_base").isna().all().all()  # eight runs make a baseline
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. numpy's all-NaN warnings
        html = render_trends(t, 3)
    assert "your baseline range" not in html and "Contact time: left versus right" in html
    assert "needs 4 weeks of data" in html  # no acute:chronic ratio yet
    assert "no acute:chronic ratio yet: it needs 28 days" in html  # the empty panel says why
    assert "personal baseline" not in html  # no caption names a baseline that is not drawn
    assert html.count("<tr>") - 1 == 1


def test_trend_captions_name_the_baseline_where_it_is_drawn_and_axes_span_the_period():
    t = synthetic_trends()
    html = render_trends(t, 6)
    assert html.count("The green line and band are your personal baseline") == 2  # asymmetry, drop
    from hipsense.report.trends_page import _window

    first, last, _, sessions = _window(t, 6)
    fig = figures.pelvic_drop_trend(sessions, period=(first, last))
    lo, hi = (mdates.num2date(x).replace(tzinfo=None) for x in fig.axes[0].get_xlim())
    assert lo == first and hi == last + pd.Timedelta(days=1)
    assert f"{first:%d %b %Y} to {last:%d %b %Y}" in html  # the header names the same days


def test_trend_page_errors_are_clear():
    t = synthetic_trends()
    with pytest.raises(HipsenseError, match="at least 1"):
        render_trends(t, 0)
    t.sessions = t.sessions.iloc[:0]
    with pytest.raises(HipsenseError, match="no dated analysed sessions"):
        render_trends(t, 4)


# -- the command ---------------------------------------------------------------------------------------


def test_report_of_a_recording_file(run_file, tmp_path, capsys):
    out = tmp_path / "run.html"
    assert main(["report", str(run_file), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    html = out.read_text()
    assert "<h1>Run short-run.hsn</h1>" in html and html.count("<svg") == 3


@pytest.fixture
def store_with_run(run_file, tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("HIPSENSE_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(run_file), "--runner", "anna"]) == 0
    return home


def test_report_of_stored_sessions_by_id_and_latest(store_with_run, tmp_path, capsys):
    assert main(["report", "1"]) == 0
    by_id = (tmp_path / "hipsense-session-1.html").read_text()  # the default name, in this folder
    assert "runner: anna" in by_id and "session: #1" in by_id
    assert main(["report", "--latest", "--out", "latest.html"]) == 0
    assert main(["report", "--runner", "anna", "--out", "anna.html"]) == 0
    for name in ("latest.html", "anna.html"):
        assert "session: #1" in (tmp_path / name).read_text()
    capsys.readouterr()

    assert main(["report", "99"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no session 99 in the store") and "\n" not in err
    assert main(["report", "--runner", "bob"]) == 2
    err = capsys.readouterr().err
    assert "no runner 'bob'" in err and "(runners: anna)" in err
    assert main(["report", "missing.hsn"]) == 2
    assert "missing.hsn: no such file" in capsys.readouterr().err
    assert main(["report", "1", "--out", str(tmp_path / "nowhere" / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_trend_report_from_the_command_line(store_with_run, tmp_path, capsys):
    assert main(["report", "--weeks", "4", "--out", "trends.html"]) == 0
    assert "Training load per week" in (tmp_path / "trends.html").read_text()


def test_open_hands_the_report_to_the_users_browser(run_file, tmp_path):
    # webbrowser honours $BROWSER: a command that records the address it was given stands in for one.
    seen = tmp_path / "opened.txt"
    env = {
        **os.environ,
        "BROWSER": f"{sys.executable} -c \"import sys; open('{seen}', 'w').write(sys.argv[1])\" %s",
    }
    out = tmp_path / "r.html"
    cmd = [sys.executable, "-m", "hipsense.cli", "report", str(run_file), "--out", str(out), "--open"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for _ in range(100):  # the browser command is started, not waited for
        if seen.exists() and seen.read_text():
            break
        time.sleep(0.1)
    assert seen.read_text() == out.resolve().as_uri()


def test_demo_ends_with_the_report(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    report = tmp_path / "report.html"
    assert f"The run's report: {report}" in capsys.readouterr().out
    html = report.read_text()
    assert "Demo: a simulated 10-minute run" in html and html.count("<svg") == 3


# -- sides not known: no output presents a left/right asymmetry (issue 15) ---------------------------

#: Words that present a left/right comparison in any of the outputs.
LR_WORDS = ("Left versus right", "within noise", "differs", "were even", "left larger", "right larger")


def _visible(page: str) -> str:
    """What a reader of the page sees: the text without styles and markup (figure text kept)."""
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


@pytest.fixture(scope="module")
def acc_only(tmp_path_factory):
    """A 60-second simulated run with a 10 % impact difference, logged without a gyroscope (CSV)."""
    from hipsense.analysis import analyse_file
    from hipsense.sim import demo_config, simulate_run

    cfg = demo_config()
    cfg.duration_s = 60
    path = tmp_path_factory.mktemp("acc") / "acc-only.csv"
    run = simulate_run(cfg)
    run.write_csv(path)
    data = pd.read_csv(path)
    data.drop(columns=[c for c in data if c.startswith("gyr")]).to_csv(path, index=False)
    result = analyse_file(path)
    return path, result


def test_sides_unknown_is_decided_in_one_place(acc_only):
    from hipsense.report.wording import MIN_SIDED_SHARE, sides_known, without_sides

    _, result = acc_only
    summary = result.summary.to_dict()
    known, why = sides_known(summary)
    assert not known and why
    assert all(
        s["asymmetry_pct"] is None and not s["larger_than_noise"] for s in without_sides(summary)["sides"]
    )
    # Low confidence: a gyroscope summary with too few sided steps counts as unknown too.
    low = {**summary, "quality": {**summary["quality"], "side_source": "gyroscope"}}
    n = int(summary["steps"] * MIN_SIDED_SHARE) - 2
    low["sides"] = [
        {**s, "n_left": n // 2, "n_right": n // 2, "asymmetry_pct": 12.0} for s in summary["sides"]
    ]
    assert not sides_known(low)[0] and "confident side" in sides_known(low)[1]
    assert all(s["asymmetry_pct"] is None for s in without_sides(low)["sides"])
    ok = {
        **low,
        "sides": [
            {**s, "n_left": summary["steps"] // 2, "n_right": summary["steps"] // 2} for s in low["sides"]
        ],
    }
    assert sides_known(ok)[0] and without_sides(ok) is ok


def test_alternate_steps_find_the_injected_impact_difference(acc_only):
    from hipsense.report.alternate import alternate_steps

    _, result = acc_only
    rows = {r["metric"]: r for r in alternate_steps(result.steps)}
    assert 5 < rows["impact_g"]["difference_pct"] < 15  # the demo injects +10 % on the right
    assert rows["step_time_s"]["difference_pct"] < 2
    assert all("left" not in k and "right" not in k for r in rows.values() for k in r)


def test_terminal_summary_of_unknown_sides(acc_only):
    from rich.console import Console

    from hipsense.report.terminal import print_summary

    _, result = acc_only
    console = Console(width=100, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    print_summary(result.summary, console=console, steps=result.steps)
    text = console.export_text()
    assert "Left and right are not compared" in text and "Alternate steps" in text and "gyroscope" in text
    assert not any(w in text for w in LR_WORDS) and "sides not known" in text


def test_html_report_of_unknown_sides(acc_only):
    from hipsense.report.sources import ReportSession

    _, result = acc_only
    page = render_session(ReportSession(result.summary.to_dict(), result.steps, "acc-only"))
    seen = _visible(page)
    assert "Left and right are not compared" in seen and "Alternate steps" in seen
    assert not any(w in seen for w in LR_WORDS)
    assert "left foot on the ground" not in seen and "all steps" in seen  # figures pool the steps
    assert "left is shown in blue" not in seen  # no colour legend for feet nothing is coloured by


def test_json_summary_of_unknown_sides(acc_only):
    import json

    from hipsense.report.machine import dumps, summary_record

    _, result = acc_only
    record = json.loads(dumps(summary_record(result.summary.to_dict(), result.steps)))
    assert record["sides_known"] is False and "gyroscope" in record["sides_note"]
    sided = [
        k
        for k in record
        if k.endswith(("_asymmetry_pct", "_difference", "_left", "_right")) and "_n_" not in k
    ]
    assert sided and all(record[k] is None for k in sided)
    assert not any(record[k] for k in record if k.endswith("_larger_than_noise"))
    assert {r["metric"] for r in record["alternate_steps"]} >= {"impact_g", "contact_time_s"}


def test_trend_report_skips_sessions_of_unknown_sides():
    trends = synthetic_trends()
    s = trends.sessions
    late = s.index[-6:]
    s["sides_unknown"] = ""
    s.loc[late, "sides_unknown"] = "which foot made each step is not known in this recording"
    for col in [c for c in s if c.endswith(("_ai", "_ai_lo", "_ai_hi"))]:
        s.loc[late, col] = np.nan
    seen = _visible(render_trends(trends, 4))
    assert "6 session(s) left out of every left/right figure and flag" in seen


def test_csv_export_of_summaries_with_unknown_sides(acc_only, tmp_path, monkeypatch):
    from hipsense.export.export import export_store, read_table
    from hipsense.store import HOME_ENV, Store

    path, _ = acc_only
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["import", str(path), "--start-time", "2026-11-02", "-q"]) == 0
    with Store(create=False) as store:
        out = export_store(store, tmp_path / "out", fmt="csv", what=("sessions",)).out
    sessions = read_table(out, "sessions")
    sided = [
        c
        for c in sessions
        if c.endswith(("_asymmetry_pct", "_difference", "_left", "_right")) and "_n_" not in c
    ]
    assert sided and sessions[sided].isna().all().all()
    assert not sessions[[c for c in sessions if c.endswith("_larger_than_noise")]].fillna(False).any().any()
    assert "differs" not in (out / "sessions.csv").read_text()


def test_a_walking_only_session_is_reported_as_a_walk_with_its_sides(tmp_path):
    """A walk has no running figures: the page says so, shows the walking steps per side (the sides
    are known from the gyroscope), and says neither 'not known' nor '0 running steps'."""
    from hipsense.sim import RunConfig, Segment, simulate_run

    run = simulate_run(RunConfig(segments=(Segment("walk", 40.0),), seed=3))
    session = from_file(run.write_device_file(tmp_path / "walk.hsn"))
    assert session.title == "Walk walk.hsn"
    html = render_session(session)
    assert "Walking, per side" in html and "reported as walking" in html
    assert "pelvic drop (deg)" in html and "step time (ms)" in html
    assert "running steps" not in html and "not known" not in html and "impact load" not in html
    assert "sides from gyroscope" in html and "left is shown in blue" in html
