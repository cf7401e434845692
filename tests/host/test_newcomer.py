"""A newcomer's first session, scripted (issue 18): the commands of the README and docs, run as a user
runs them (a subprocess of the installed CLI, its own store in HIPSENSE_HOME), with the usual mistakes:
wrong paths, outputs that cannot be written, an empty store, ``--json`` piped to ``python -m json.tool``.

Every command must end without a traceback; every error is one line naming what went wrong; every
``--json`` output parses as strict JSON (no NaN). The recordings are made once for the module (one demo,
one short simulated run, one accelerometer-only CSV) and reused.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

# Text that would present a left/right asymmetry (report/wording.py, report/terminal.py, report/html.py).
LR_WORDS = ("Left versus right", "within noise", "differs", "were even", "asymmetry index")


def _visible(page: str) -> str:
    """The words a reader sees on an HTML page (no styles, no markup; figure titles kept)."""
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


class Newcomer:
    """Runs ``hipsense`` commands in one folder with one store, and keeps what each printed."""

    def __init__(self, home: Path):
        self.home = home
        self.env = {**os.environ, "HIPSENSE_HOME": str(home / "store"), "COLUMNS": "80"}
        self.ran: list[tuple[tuple[str, ...], subprocess.CompletedProcess]] = []

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "-m", "hipsense.cli", *args],
            capture_output=True,
            text=True,
            cwd=self.home,
            env=self.env,
            timeout=600,
        )
        self.ran.append((args, proc))
        both = proc.stdout + proc.stderr
        assert "Traceback" not in both, f"hipsense {' '.join(args)}:\n{both}"
        if ok:
            assert proc.returncode == 0, f"hipsense {' '.join(args)} -> {proc.returncode}:\n{proc.stderr}"
        else:
            assert proc.returncode != 0, f"hipsense {' '.join(args)} should have failed:\n{both}"
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            # One line: "error: ..." (a command's error) or "failed: ..." (one file of many; import, batch).
            assert len(lines) == 1 and lines[0].startswith(("error:", "failed:")), (
                f"hipsense {' '.join(args)}:\n{both}"
            )
        return proc

    def json(self, *args: str):
        """Run with ``--json``; the output must pass ``python -m json.tool`` and hold no NaN."""
        proc = self.run(*args, "--json")
        tool = subprocess.run(
            [sys.executable, "-m", "json.tool"], input=proc.stdout, capture_output=True, text=True
        )
        assert tool.returncode == 0, f"hipsense {' '.join(args)} --json:\n{proc.stdout[:500]}\n{tool.stderr}"

        def no_constants(name: str):
            raise AssertionError(f"hipsense {' '.join(args)} --json holds {name}")

        return json.loads(proc.stdout, parse_constant=no_constants)


def _recordings(home: Path) -> Newcomer:
    u = Newcomer(home)
    # The recordings, made with the CLI as the docs show: the demo, a short run, and an
    # accelerometer-only CSV (a logger without a gyroscope: sides unknown).
    u.run("demo", "--out", "hipsense-demo")
    u.run("simulate", "run.hsn", "--duration", "90", "--seed", "4")
    u.run("simulate", "run.csv", "--duration", "60", "--seed", "5", "--truth-out", "truth.csv")
    csv = pd.read_csv(home / "run.csv")
    csv.drop(columns=[c for c in csv if c.startswith("gyr")]).to_csv(home / "acc-only.csv", index=False)
    (home / "cohort" / "ana").mkdir(parents=True)
    (home / "cohort" / "ana" / "run.hsn").write_bytes((home / "run.hsn").read_bytes())
    (home / "a-file.txt").write_text("not a folder\n")
    return u


def _help_and_version(user: Newcomer) -> None:
    assert "hipsense" in user.run("--help").stdout
    assert user.run("--version").stdout.startswith("hipsense ")
    for command in ("analyze", "import", "report", "export"):  # every command has it: one parser hook
        assert "--quiet" in user.run(command, "--help").stdout


def _the_demo_wrote_its_files(user: Newcomer) -> None:
    demo = user.home / "hipsense-demo"
    assert {"demo-run.hsn", "steps.csv", "summary.json", "report.html"} <= {p.name for p in demo.iterdir()}


def _an_empty_store(user: Newcomer) -> None:
    assert "No sessions stored yet" in user.run("sessions").stdout
    assert user.json("sessions") == []
    assert user.json("trends") == [] and user.json("flags") == []
    user.run("trends")
    user.run("flags")
    user.run("reanalyze")
    user.run("report", ok=False)
    user.run("export", "--out", "nothing", ok=False)


def _one_recording(user: Newcomer) -> None:
    user.run("info", "run.hsn")
    info = user.json("info", "run.hsn")
    assert info["header"]["channels"] == 6 and info["samples"] > 0
    user.run("analyze", "run.hsn", "--steps-out", "steps.csv", "--summary-out", "summary.json")
    json.loads((user.home / "summary.json").read_text())  # strict JSON too
    steps = (user.home / "steps.csv").read_text()
    assert "0000000000" not in steps and "9999999999" not in steps  # no float noise
    summary = user.json("analyze", "run.hsn")
    assert summary["sides_known"] and summary["contact_time_s_asymmetry_pct"] is not None
    user.run("analyze", "run.csv", "--quiet")


def _sides_unknown_say_so_everywhere(user: Newcomer) -> None:
    proc = user.run("analyze", "acc-only.csv")
    assert "Left and right are not compared" in proc.stdout and "Alternate steps" in proc.stdout
    assert not any(w in proc.stdout for w in LR_WORDS)
    summary = user.json("analyze", "acc-only.csv")
    assert summary["sides_known"] is False and summary["alternate_steps"]
    assert all(summary[f"{m}_asymmetry_pct"] is None for m in ("contact_time_s", "impact_g"))
    user.run("report", "acc-only.csv", "--out", "acc-only.html")
    page = _visible((user.home / "acc-only.html").read_text())
    assert "Left and right are not compared" in page and not any(w in page for w in LR_WORDS)


def _wrong_paths_and_unwritable_outputs(user: Newcomer) -> None:
    user.run("info", "missing.hsn", ok=False)
    user.run("analyze", "missing.csv", ok=False)
    user.run("analyze", "run.hsn", "--steps-out", "no-such-folder/steps.csv", ok=False)
    user.run("analyze", "run.hsn", "--summary-out", "cohort", ok=False)
    user.run("analyze", "run.hsn", "--steps-out", "a-file.txt/steps.csv", ok=False)
    user.run("analyze", "run.hsn", "--steps-out", "/proc/hipsense-steps.csv", ok=False)
    user.run("report", "run.hsn", "--out", "no-such-folder/report.html", ok=False)
    user.run("demo", "--out", "a-file.txt", ok=False)
    user.run("simulate", "no-such-folder/x.hsn", ok=False)
    user.run("batch", "cohort", "--out", "a-file.txt", ok=False)


def _a_store_of_runs(user: Newcomer) -> None:
    user.run("import", "hipsense-demo/demo-run.hsn", "run.hsn")
    user.run("import", "acc-only.csv", "--start-time", "2025-01-02T07:30")
    assert "1 duplicates" in user.run("import", "run.hsn").stdout
    user.run("import", "missing.hsn", ok=False)
    user.run("import", "run.hsn", "acc-only.csv", "--start-time", "2025-01-03", ok=False)
    user.run("sessions")
    sessions = user.json("sessions")
    assert len(sessions) == 3 and {"session_id", "runner", "start_time", "steps"} <= set(sessions[0])
    user.run("trends")
    trends = user.json("trends")
    unknown = [s for s in trends[0]["sessions"] if not s["sides_known"]]
    assert len(unknown) == 1 and unknown[0]["contact_time_s_asymmetry_pct"] is None
    proc = user.run("flags")
    assert "left out of every left/right figure and flag" in proc.stdout
    flags = user.json("flags")
    assert all(f["session_id"] != unknown[0]["session_id"] or f["metric"] is None for f in flags)
    user.run("flags", "--since", "March", ok=False)
    user.run("trends", "--weeks", "0", ok=False)
    user.run("reanalyze")


def _reports_and_exports(user: Newcomer) -> None:
    user.run("report", "--out", "latest.html")
    user.run("report", "--weeks", "8", "--out", "weeks.html")
    user.run("report", "999", ok=False)
    user.run("report", "--out", "no-such-folder/r.html", ok=False)
    user.run("export", "--format", "csv", "--out", "study", "--pseudonymize")
    assert (user.home / "study" / "schema.json").is_file()
    user.run("export", "--out", "study", ok=False)  # not empty
    user.run("export", "--out", "a-file.txt", ok=False)
    user.run("export", "--what", "everything", "--out", "x", ok=False)
    user.run("batch", "cohort", "--out", "tables", "--workers", "1")


def test_a_newcomers_session(tmp_path):
    """One session in order (the store fills as it goes), so it runs as one test, on one worker."""
    user = _recordings(tmp_path)
    _help_and_version(user)
    _the_demo_wrote_its_files(user)
    _an_empty_store(user)
    _one_recording(user)
    _sides_unknown_say_so_everywhere(user)
    _wrong_paths_and_unwritable_outputs(user)
    _a_store_of_runs(user)
    _reports_and_exports(user)
    # Each command checked itself (no traceback, one-line errors, strict JSON); about 40 commands at least.
    assert len(user.ran) >= 40


def test_every_doc_is_reachable_from_the_readme():
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    missing = [p.name for p in sorted((root / "docs").glob("*.md")) if f"docs/{p.name}" not in readme]
    assert missing == [], f"docs not linked from README.md: {missing}"
    assert "validation-walking.md" in (root / "docs" / "validation.md").read_text()
