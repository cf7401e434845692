"""Commands on one recording: demo, analyze, info, simulate."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from hipsense.cli.common import (
    AddCommand,
    add_analysis_options,
    add_csv_options,
    add_json_option,
    add_start_time_option,
    console,
    csv_options_from,
    print_json,
    status,
)
from hipsense.outputs import check_output_file, check_output_folder


def _cmd_demo(args: argparse.Namespace) -> int:
    from hipsense.demo import run_demo

    out = check_output_folder(args.out, "--out")
    assert out is not None
    run_demo(out, console=console)
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from hipsense import metrics as registry
    from hipsense.analysis import analyse_file
    from hipsense.report.machine import dumps, summary_record
    from hipsense.report.terminal import print_summary

    # Every output is checked before the analysis runs: a typo must not cost a long wait.
    steps_out = check_output_file(args.steps_out, "--steps-out")
    summary_out = check_output_file(args.summary_out, "--summary-out")
    options = csv_options_from(args)
    with status(f"Analysing {args.input}..."):
        analysis = analyse_file(args.input, args.mounting, first_side=args.first_side, **options)
    summary = analysis.summary
    assert summary is not None
    if args.json:
        summary.flags = [f.to_dict() for f in _within_run_flags(summary, show=False)]
    else:
        for note in analysis.notes:
            console.print(f"[dim]note: {note}[/]")
        print_summary(summary, console=console, steps=analysis.steps)
        summary.flags = [f.to_dict() for f in _within_run_flags(summary)]
    written = []
    if steps_out:
        registry.rounded(analysis.steps).to_csv(steps_out, index=False)
        written.append(f"wrote {len(analysis.steps)} steps to [bold]{steps_out}[/]")
    if summary_out:
        summary_out.write_text(dumps(summary.to_dict()) + "\n")
        written.append(f"wrote the summary to [bold]{summary_out}[/]")
    if args.json:
        return print_json(summary_record(summary.to_dict(), analysis.steps))
    for line in written:
        console.print(line, highlight=False)
    return 0


def _within_run_flags(summary, *, show: bool = True) -> list:
    """What one run can show on its own (its form degrading within the run), printed when there is any."""
    from hipsense.trends.flags import within_run_flags
    from hipsense.trends.terminal import print_flags

    flags = within_run_flags(summary.to_dict())
    if flags and show:
        print_flags(flags, console=console)
    return flags


def _cmd_info(args: argparse.Namespace) -> int:
    from hipsense.formats.device_file import is_session_file, read_device_file
    from hipsense.report.terminal import print_session_info

    if Path(args.file).is_file() and not is_session_file(Path(args.file)):
        return _csv_info(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # print_session_info lists every warning of the file
        session = read_device_file(args.file)
    if args.json:
        from hipsense.report.machine import info_record

        return print_json(info_record(session))
    print_session_info(session, console=console)
    return 0


def _csv_info(args: argparse.Namespace) -> int:
    """`hipsense info` of a CSV: its clock, segments, gaps and filled holes, as the analysis reads it."""
    from hipsense.formats.load import load_recording
    from hipsense.report.terminal import print_recording_info

    info = load_recording(args.file, **csv_options_from(args)).describe()
    if args.json:
        return print_json(info)
    print_recording_info(info, console=console)
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from hipsense.sim import demo_config, simulate_run

    overrides = {"duration_s": args.duration, "speed_mps": args.speed, "seed": args.seed}
    cfg = demo_config()
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    out = check_output_file(args.out, "OUT")
    check_output_file(args.truth_out, "--truth-out")
    assert out is not None
    run = simulate_run(cfg)
    if out.suffix.lower() == ".csv":
        run.write_csv(out)
    else:
        run.write_device_file(out)
    console.print(f"wrote {len(run.truth)} simulated steps ({len(run.data)} samples) to [bold]{out}[/]")
    if args.truth_out:
        run.truth.to_csv(args.truth_out, index=False)
        console.print(f"wrote the ground truth per step to [bold]{args.truth_out}[/]")
    return 0


def register(add: AddCommand) -> None:
    p = add(
        "demo",
        _cmd_demo,
        "simulate a 10-minute run, record it as the clip would and analyse it",
        "Simulates a 10-minute run with a known left/right asymmetry, writes it as a device session file "
        "(the clip's own format), decodes it again and prints what hipsense can say about it. Everything "
        "it makes goes into the output folder.",
    )
    p.add_argument(
        "--out", default="hipsense-demo", metavar="DIR", help="output folder (default: %(default)s)"
    )
    p = add(
        "analyze",
        _cmd_analyze,
        "analyse a recording: steps, sides, contact times, impacts, pelvic drop, asymmetry",
        "Analyses a device session file or a CSV and prints the run's summary: left versus right with "
        "confidence intervals, drift within the run and data quality. A CSV has a header row, t_s in "
        "seconds (or give --sample-rate) and sensor-frame acc_x,acc_y,acc_z[,gyr_x,gyr_y,gyr_z] or "
        "body-frame acc_is[,acc_ml,acc_pa,gyr_is,gyr_ml,gyr_pa] columns.",
    )
    p.add_argument("input", type=Path, metavar="INPUT", help="device session file (.hsn) or CSV")
    p.add_argument("--steps-out", metavar="CSV", help="write the per-step table here")
    p.add_argument("--summary-out", metavar="JSON", help="write the session summary here")
    add_json_option(p, "the session summary")
    add_csv_options(p)
    add_start_time_option(p)
    add_analysis_options(p)
    p = add(
        "info",
        _cmd_info,
        "show what a device session file or a CSV holds",
        "Decodes a device session file and prints its header, its length and every gap, FIFO overflow, "
        "corrupt block or torn tail found in it. For a CSV: its measured rate, the gaps that split it "
        "and the holes that were filled, read as `hipsense analyze` reads it (same CSV options).",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="device session file (.hsn) or CSV")
    add_csv_options(p)
    add_json_option(p, "the header and what the decoder found")
    p = add(
        "simulate",
        _cmd_simulate,
        "write a simulated run as a device file or CSV, with its ground truth",
        "Simulates a run with the demo's settings (a known asymmetry and pelvic drop) and writes it as a "
        "device session file, or as CSV when OUT ends in .csv (sensor frame, m/s^2 and deg/s).",
    )
    p.add_argument("out", metavar="OUT", help="output file: .hsn for a device file, .csv for CSV")
    p.add_argument("--duration", type=float, metavar="S", help="duration in seconds (default: 600)")
    p.add_argument("--speed", type=float, metavar="M_PER_S", help="running speed in m/s (default: 3.3)")
    p.add_argument("--seed", type=int, help="random seed (default: fixed, so runs repeat)")
    p.add_argument("--truth-out", metavar="CSV", help="also write the per-step ground truth here")
