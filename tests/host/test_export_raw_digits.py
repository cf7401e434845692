"""Raw samples carry the precision the recording has, not float32's round-off digits (red-team p13 F19)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hipsense.cli import main
from hipsense.export import read_table
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV


def test_a_csv_reads_back_with_its_own_digits(tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    source = simulate_run(scenarios.steady_run(duration_s=20, seed=31)).write_csv(tmp_path / "run.csv")
    typed = pd.read_csv(source)
    typed["acc_x"] = typed["acc_x"].round(5)  # a logger's five decimals, e.g. -4.17771
    typed.loc[0, "acc_x"] = 9.81
    typed.to_csv(source, index=False)
    assert main(["import", "-q", str(source)]) == 0
    out = tmp_path / "x"
    assert main(["export", "-q", "--format", "csv", "--what", "raw", "--out", str(out)]) == 0
    text = (out / "raw" / "session-1.csv").read_text()
    assert "9.81," in text and "9.8100004" not in text
    plain = pd.read_csv(out / "raw" / "session-1.csv")
    np.testing.assert_array_equal(plain["acc_x"].to_numpy(), typed["acc_x"].to_numpy())
    body = plain["acc_is"].to_numpy()  # the body frame, rotated from float32 samples: their digits too
    np.testing.assert_array_equal(body, body.astype(np.float32).astype(str).astype(float))
    pq = tmp_path / "p"
    assert main(["export", "-q", "--what", "raw", "--out", str(pq)]) == 0
    np.testing.assert_array_equal(read_table(pq, "raw")["acc_x"].to_numpy(), typed["acc_x"].to_numpy())
