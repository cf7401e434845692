"""One set of ISO 8601 rules for every reader of dates: ``--since`` / ``--start-time``
(cli.common), a ``--start-times`` file's lines (csv_dates) and a ``t_s`` column of date-times
(time_units.iso_seconds). Until 2026-12 the first two used ``datetime.fromisoformat`` and the column
pandas' parser: a week date dated a run from the command line and was refused in a column, ``2026-10``
the reverse, and nanoseconds were cut to microseconds on one route only."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from hipsense.cli import main
from hipsense.cli.common import since_from
from hipsense.errors import HipsenseError
from hipsense.formats.csv_dates import read_start_time_lines
from hipsense.formats.csv_values import CsvInputError
from hipsense.iso_time import iso_text, iso_timestamp
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV
from hipsense.time_units import iso_seconds

#: Text -> the UTC time every reader takes it for.
READ = {
    "2026-10-25T02:30:00+05:30": "2026-10-24T21:00:00Z",
    "2026-10-25T02:30:00-00:00": "2026-10-25T02:30:00Z",
    "2026-10-25T02:30:00+0530": "2026-10-24T21:00:00Z",
    "2026-10-25T02:30:00+05": "2026-10-24T21:30:00Z",
    "2026-10-25T02:30:00 +05:30": "2026-10-24T21:00:00Z",
    "2026-10-25T02:30:00Z": "2026-10-25T02:30:00Z",
    "2026-10-25T02:30": "2026-10-25T02:30:00Z",  # no offset: UTC, on every route
    "2026-10-25 02:30": "2026-10-25T02:30:00Z",  # a space for the T
    " 2026-10-25T02:30 ": "2026-10-25T02:30:00Z",  # spaces around: ignored
    "2026-10-25T02:30:00.5": "2026-10-25T02:30:00.5Z",
    "2026-10-25T02:30:00,5": "2026-10-25T02:30:00.5Z",  # a decimal comma
    "2026-10-25T02:30:00.1234567Z": "2026-10-25T02:30:00.123457Z",  # fromisoformat cut it to .123456
    "2026-10-25": "2026-10-25T00:00:00Z",  # a date alone: midnight UTC
}
#: Text no reader takes: other ISO 8601 forms, impossible dates, junk.
REFUSED = [
    "20261025T023000",  # basic format (fromisoformat took it)
    "2026-W43-1",  # a week date (fromisoformat took it)
    "2026-10-25_02:30",  # another separator (fromisoformat took it)
    "2026-10-25t02:30",  # a lower-case t (fromisoformat took it)
    "2026-10",  # a month (pandas took it as the 1st)
    "2026",  # a year (pandas took it as 1 January)
    "2026-10-25T02",  # an hour alone (both took it)
    "2026-02-30",
    "2026-10-25T24:00",
    "2026-10-25T02:30:60",
    "2026-10-25T02:30:00z",
    "March 1 2026",
    "junk",
    "",
]


def _since(text: str) -> pd.Timestamp:
    return since_from(argparse.Namespace(since=text))


def _start_times(tmp_path, text: str) -> float:
    path = tmp_path / "times.csv"
    path.write_text(f'file,start\nrun.csv,"{text}"\n')
    return read_start_time_lines(path)[0].unix


@pytest.mark.parametrize("text", sorted(READ))
def test_every_route_reads_an_iso_time_alike(tmp_path, text):
    want = READ[text]
    assert iso_text(_since(text).timestamp()) == want
    assert iso_text(_start_times(tmp_path, text)) == want
    assert iso_text(float(iso_seconds([text])[0])) == want


def test_nanoseconds_are_kept_where_a_timestamp_holds_them():
    assert iso_timestamp("2026-10-25T02:30:00.123456789Z").nanosecond == 789
    assert _since("2026-10-25T02:30:00.123456789+01:00") == pd.Timestamp("2026-10-25T01:30:00.123456789Z")


@pytest.mark.parametrize("text", REFUSED)
def test_every_route_refuses_what_is_no_iso_date(tmp_path, text):
    if text:  # an empty --since is no --since
        with pytest.raises(
            HipsenseError, match=r"^--since: .* is not a date \(use YYYY-MM-DD or YYYY-MM-DDTHH:MM\)$"
        ):
            _since(text)
    # a first line that is no time is a header: the second line is read
    path = tmp_path / "times.csv"
    path.write_text(f'run.csv,2026-10-25T02:30Z\nrun2.csv,"{text}"\n')
    with pytest.raises(CsvInputError, match="at line 2: .* is not an ISO time"):
        read_start_time_lines(path)
    assert np.isnan(iso_seconds([text])[0])


def test_a_start_time_on_the_command_line_follows_the_same_rules(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    path = tmp_path / "run.csv"
    simulate_run(scenarios.steady_run(duration_s=8, seed=1)).data.to_csv(path, index=False)
    assert main(["import", str(path), "--start-time", "2026-W43-1"]) != 0  # fromisoformat took it
    assert (
        "--start-time: '2026-W43-1' is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        in capsys.readouterr().err
    )
    assert main(["import", str(path), "--start-time", "2026-10-25 02:30:00,5+05:30"]) == 0
    capsys.readouterr()
    assert main(["sessions", "--json"]) == 0
    assert '"2026-10-24T21:00:00.500' in capsys.readouterr().out
