"""The acute:chronic ratio across years without runs, in a real store (red-team case D10): undefined,
printed as "-", never a number made of float residues (0.29, 0.00)."""

from __future__ import annotations

import pytest

from hipsense.cli import common as cli_common
from hipsense.cli import main
from hipsense.store import HOME_ENV, Store
from hipsense.trends.build import build_trends

ACC = ["--acc-unit", "g", "--columns", "acc_is=acc_v_g,acc_pa=acc_ap_g"]


@pytest.mark.shared_data
def test_years_without_runs_give_no_ratio(shared_data, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(home))
    monkeypatch.setattr(cli_common.console, "width", 120)
    trials = sorted((shared_data / "running-sacral-accel").glob("trial0*.csv"))[:2]
    for path, start in zip(trials, ("2020-01-06T07:00", "2026-05-07T07:00"), strict=True):
        assert main(["import", "-q", *ACC, "--start-time", start, str(path)]) == 0
    with Store(home) as store:
        daily = build_trends(store, "default").daily
    gap = daily.loc["2020-02-03":"2026-05-06", "acwr_ewma"]  # 28 days after the first run, up to the second
    assert len(gap) > 2000 and gap.isna().all()
    assert daily.loc["2026-05-07":"2026-05-13", "acwr_ewma"].isna().all()  # the return week: no base
    capsys.readouterr()
    assert main(["trends", "--weeks", "4"]) == 0
    rows = [ln.split() for ln in capsys.readouterr().out.splitlines() if ln.strip().startswith("2026-04")]
    assert len(rows) == 3 and all(row[-1] == "-" for row in rows)  # the empty weeks before the run
