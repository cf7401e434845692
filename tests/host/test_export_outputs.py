"""Where `hipsense export` writes: never over an existing file, never into a folder that does not exist
(red-team p13 F3, F4), each refused in one line before anything is written."""

from __future__ import annotations

import pytest

from hipsense.cli import main
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV

JAN1 = 1_735_689_600  # 2025-01-01 00:00 UTC


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One simulated run imported through the CLI (session 1)."""
    home = tmp_path_factory.mktemp("home")
    run = simulate_run(scenarios.steady_run(duration_s=20, seed=7))
    path = run.write_device_file(home.parent / "run.hsn", start_time_unix=JAN1)
    mp = pytest.MonkeyPatch()
    mp.setenv(HOME_ENV, str(home))
    assert main(["import", "-q", str(path)]) == 0
    yield home
    mp.undo()


def _one_line(capsys, why: str) -> None:
    err = capsys.readouterr().err
    assert why in err and err.count("\n") == 1 and "Traceback" not in err, err


def test_fit_export_never_replaces_a_file(home, tmp_path, capsys):
    watch = tmp_path / "watch.fit"  # the watch's own FIT the runner just linked
    watch.write_bytes(b"precious")
    assert main(["export", "--format", "fit", "1", "--out", str(watch)]) == 2
    _one_line(capsys, "exists; choose a new file name")
    assert watch.read_bytes() == b"precious"
    dangling = tmp_path / "link.fit"  # a link to nowhere is not written through either
    dangling.symlink_to(tmp_path / "elsewhere.fit")
    assert main(["export", "--format", "fit", "1", "--out", str(dangling)]) == 2
    _one_line(capsys, "exists")
    assert not (tmp_path / "elsewhere.fit").exists()
    new = tmp_path / "new.fit"
    assert main(["export", "--format", "fit", "1", "--out", str(new)]) == 0  # a new file is written
    assert new.stat().st_size > 100


@pytest.mark.parametrize("what", [["--what", "sessions"], ["--format", "fit", "1"]])
def test_export_refuses_a_missing_folder_like_fit_and_report(home, tmp_path, capsys, what):
    out = tmp_path / "typo" / "deeper" / ("x.fit" if "fit" in what else "x")
    assert main(["export", "-q", "--out", str(out), *what]) == 2
    _one_line(capsys, f"the folder {out.parent} does not exist")
    assert not (tmp_path / "typo").exists()
