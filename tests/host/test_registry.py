"""A metric added to the registry appears in every output that lists metrics (issue 13: one place)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from hipsense import metrics as registry
from hipsense.analysis import analyse_file
from hipsense.export import schema
from hipsense.library import import_files
from hipsense.report.terminal import print_summary
from hipsense.sim import scenarios, simulate_run
from hipsense.store import Store
from hipsense.trends.build import baseline_columns
from hipsense.trends.terminal import gait_rows

DUMMY = registry.Metric(
    "dummy_ms",
    "ms",
    "a made-up metric: 7 ms times the step's side sign plus 20",
    lambda ctx: 20.0 + 7.0 * ctx.sign,
    label="dummy",
    display_unit="ms",
    display_format="{:.1f}",
    sided=True,
    noise_floor=1.0,
    drift=True,
    flag=True,
    trend=True,
)


@pytest.fixture
def with_dummy(monkeypatch):
    entries = list(registry.REGISTRY)
    entries.insert(len(entries) - 1, DUMMY)  # before `quality`, which closes the step table
    monkeypatch.setattr(registry, "REGISTRY", entries)


@pytest.fixture(scope="module")
def session_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("registry") / "run.hsn"
    simulate_run(scenarios.steady_run(duration_s=40, seed=3)).write_device_file(path)
    return path


def test_a_registered_metric_reaches_every_output(with_dummy, session_file, tmp_path):
    result = analyse_file(session_file)
    # the step table
    assert "dummy_ms" in result.steps.columns
    left = result.steps["side"] == "L"
    np.testing.assert_allclose(result.steps.loc[left, "dummy_ms"], 27.0)
    # the summary: per side, asymmetry judged, drift
    summary = result.summary
    side = summary.side("dummy_ms")
    assert side.left == pytest.approx(27.0) and side.right == pytest.approx(13.0)
    assert "dummy_ms" in summary.drift
    # the terminal table
    out = io.StringIO()
    print_summary(summary, console=Console(file=out, width=150))
    assert "dummy (ms)" in out.getvalue()
    # the store's steps table
    with Store(tmp_path / "store") as store:
        (added,) = import_files(store, [session_file]).added
        assert added.status == "ok"
        columns = {r[1] for r in store.db.execute("PRAGMA table_info(steps)")}
        assert "dummy_ms" in columns
        assert store.steps(added.session_id)["dummy_ms"].notna().all()
    # the export schema and the data dictionary
    assert "dummy_ms" in schema.STEPS.names and "dummy_ms" in schema.BATCH_STEPS.names
    assert {"dummy_ms_left", "dummy_ms_asymmetry_pct", "dummy_ms_drift_change"} <= set(schema.SESSIONS.names)
    assert "a made-up metric" in schema.data_dictionary_markdown()
    # the trend tables and the flag inputs
    assert "dummy_ms_ai" in baseline_columns()
    assert "dummy_ms_ai" in [row[0] for row in gait_rows()]
    assert DUMMY in registry.flaggable()


def test_without_the_dummy_nothing_lists_it(session_file):
    """The check above can fail: the same outputs do not name a metric that is not registered."""
    assert "dummy_ms" not in registry.step_columns()
    assert "dummy_ms" not in schema.STEPS.names
    assert "dummy_ms_ai" not in baseline_columns()
