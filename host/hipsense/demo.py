"""``hipsense demo``: a simulated run through the whole chain, from the clip's file to the summary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rich.console import Console

from hipsense.analysis import analyse
from hipsense.formats.device_file import read_device_file
from hipsense.formats.session_input import recording_from_session
from hipsense.report.terminal import print_session_info, print_summary
from hipsense.sim import demo_config, simulate_run


def run_demo(out: Path, *, console: Console) -> Path:
    """Simulate, record, decode, analyse; write everything into ``out`` and return it."""
    out.mkdir(parents=True, exist_ok=True)
    cfg = demo_config()
    with console.status("Simulating a 10-minute run with a known left/right asymmetry..."):
        run = simulate_run(cfg)
        device_file = out / "demo-run.hsn"
        run.write_device_file(device_file)
        run.truth.to_csv(out / "truth.csv", index=False)
    console.print(
        f"[green]recorded[/] {device_file} ({device_file.stat().st_size / 1e6:.2f} MB, the clip's own format)"
    )

    with console.status("Decoding the device file..."):
        session = read_device_file(device_file)
    identical = np.array_equal(session.counts, run.counts) and np.array_equal(
        session.sample_index, run.sample_index
    )
    raw_mb = run.counts.nbytes / 1e6
    console.print(
        f"[green]decoded[/] {len(session.sample_index)} samples, "
        + ("identical to what was recorded" if identical else "[red]NOT identical to what was recorded[/]")
        + f" (compression {raw_mb / (device_file.stat().st_size / 1e6):.2f}x)"
    )
    print_session_info(session, console=console)

    with console.status("Analysing: alignment, bouts, steps, sides, metrics..."):
        analysis = analyse(recording_from_session(session))
        summary = analysis.summary
        assert summary is not None
    analysis.steps.to_csv(out / "steps.csv", index=False)
    (out / "summary.json").write_text(json.dumps(summary.to_dict(), indent=2))
    print_summary(summary, console=console)

    left, right = cfg.asymmetry.left, cfg.asymmetry.right
    console.print(
        "\n[bold]What the simulator injected[/] (so you can check the numbers above): right contact time "
        f"{100 * (right.contact_time_factor / left.contact_time_factor - 1):+.0f} %, right impact "
        f"{100 * (right.impact_factor / left.impact_factor - 1):+.0f} %, pelvic drop {left.drop_deg:g} deg in "
        f"left stance and {right.drop_deg:g} deg in right stance, growing by "
        f"{cfg.fatigue.drop_increase_deg:g} deg over the run."
    )
    with console.status("Drawing the report..."):
        title = f"Demo: a simulated {(cfg.duration_s or 0) / 60:g}-minute run"
        report = _write_report(out, title, summary.to_dict(), analysis.steps, device_file.name)
    console.print(f"\nWrote {out}/: demo-run.hsn, truth.csv, steps.csv, summary.json, {report.name}")
    console.print(
        f"[bold]The run's report:[/] {report} (open it in a web browser)", highlight=False, soft_wrap=True
    )
    if not identical:
        raise SystemExit("the decoded samples differ from the recorded ones")
    return out


def _write_report(out: Path, title: str, summary: dict, steps, source: str) -> Path:
    """The session's HTML report (docs/report.md), as `hipsense report` writes it."""
    from hipsense.report.html import render_session, write_report
    from hipsense.report.sources import ReportSession

    session = ReportSession(summary, steps, title, [("file", source)])
    return write_report(render_session(session), out / "report.html")
