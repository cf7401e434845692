"""Commands that talk to the clip: device deploy, device check, pair, sync, live, devices."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from hipsense.cli import common
from hipsense.cli.common import (
    AddCommand,
    add_owner_option,
    console,
    err_console,
    open_store,
    warn_future,
)

if TYPE_CHECKING:
    from hipsense.store import Store
    from hipsense.sync.auth import KeyRing
    from hipsense.sync.engine import Kept


def key_ring() -> KeyRing:
    """This laptop's keys for its clips: ``<data folder>/keys`` (docs/security.md)."""
    from hipsense.store import default_root
    from hipsense.sync.auth import KeyRing

    return KeyRing(default_root() / "keys")


def keep_in_store(store: Store, runner: str):
    """The sync's ``keep(path)``: import a verified session file into ``store`` (the engine itself
    knows nothing of the store)."""
    from hipsense.library import import_files
    from hipsense.sync.engine import DUPLICATE, STORED, Kept

    def keep(path: Path) -> Kept | str:
        report = import_files(store, [path], runner=runner, refresh_flags=False)
        if report.failed:
            return report.failed[0][1]
        if report.added:
            return Kept(STORED, report.added[0].session_id)
        return Kept(DUPLICATE, report.duplicates[0][2])

    return keep


def _cmd_device_deploy(args: argparse.Namespace) -> int:
    from hipsense.device.deploy import deploy

    files = deploy(args.port)
    console.print(f"copied {len(files)} firmware files to the board")
    return 0


def _cmd_device_check(args: argparse.Namespace) -> int:
    import asyncio

    from rich.table import Table

    from hipsense.device.check import CheckOptions, run_check
    from hipsense.errors import HipsenseError

    def prompt(text: str) -> None:
        if args.yes:
            console.print(f"[bold]{text}[/]", highlight=False)
            return
        try:
            console.input(f"[bold]{text}[/] Press Enter when ready. ")
        except EOFError:  # no terminal to answer: go on, as with --yes
            console.print()

    if not 5 <= args.seconds <= 300:  # NaN fails too
        raise HipsenseError(f"--seconds {args.seconds:g}: give 5 to 300 seconds of lying still")
    options = CheckOptions(rest_s=args.seconds)
    console.print(
        f"Checking the clip over USB: three poses, {args.seconds:g} s lying still first.", highlight=False
    )
    report = asyncio.run(run_check(_connect_usb(args.port), prompt, options))
    table = Table(title=f"hipsense device check: {report.info.device_id if report.info else report.port}")
    table.add_column("check")
    table.add_column("result")
    table.add_column("measured", overflow="fold")
    table.add_column("meaning / what to do", overflow="fold")
    for row in report.rows:
        verdict = (
            "[green]PASS[/]" if row.ok else "[red]FAIL[/]" if row.ok is False else "[yellow]not measured[/]"
        )
        table.add_row(row.name, verdict, row.value, row.detail)
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
    failed = [r.name for r in report.rows if r.ok is False]
    if failed:
        console.print(
            f"[red]{len(failed)} of {len(report.rows)} checks failed[/]: {', '.join(failed)} (docs/device-check.md)"
        )
        return 1
    unmeasured = [r.name for r in report.rows if r.ok is None]
    if unmeasured:
        console.print(f"no check failed; not measured: {', '.join(unmeasured)} (docs/device-check.md)")
    else:
        console.print(f"[green]all {len(report.rows)} checks passed[/]")
    return 0


def _cmd_sync(args: argparse.Namespace) -> int:
    from hipsense.library import refresh
    from hipsense.sync.command import print_report, run_sync
    from hipsense.sync.engine import STORED, SyncOptions

    options = SyncOptions(keep_on_device=args.keep_on_device, set_clock=not args.no_clock)
    connect = _connect(args)
    store = open_store()
    with store:
        report = run_sync(
            connect,
            keep_in_store(store, args.runner),
            store.root / "incoming",
            options,
            console,
            key_ring(),
            quiet=common.QUIET,
        )
        # One judgement of the runner's history for the whole sync, not one per session.
        stored = [s.store_session for s in report.sessions if s.status == STORED and s.store_session]
        if stored:
            refresh(store, [args.runner])
        warn_future(store, stored)  # a clip whose clock ran ahead dated its runs after today
    return print_report(report, console, err_console)


def _cmd_pair(args: argparse.Namespace) -> int:
    import asyncio

    from hipsense.sync.pair import pair_over_usb

    result = asyncio.run(
        pair_over_usb(
            _connect_usb(args.port), key_ring(), forget_others=args.forget_others, replace=args.replace
        )
    )
    console.print(
        f"paired this laptop with the clip [bold]{result.device_id}[/] (key {result.key_id}, "
        f"{result.keys} laptop key(s) on the clip{', the others forgotten' if args.forget_others else ''})",
        highlight=False,
    )
    console.print(
        f"its Bluetooth pairing window is open for {result.window_s} s (the LED shows it): "
        "run hipsense sync --device ADDRESS now to bond over Bluetooth (hipsense devices lists clips)",
        highlight=False,
    )
    return 0


def _connect_usb(port: str | None):
    from hipsense.sync.command import connect_serial

    return connect_serial(port)


def _add_link_options(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--port",
        metavar="PORT",
        help="serial port, e.g. /dev/ttyACM0 or COM3 (default: the clip found on USB)",
    )
    where.add_argument(
        "--device", metavar="ADDRESS", help="use Bluetooth with this clip (see hipsense devices)"
    )


def _connect(args: argparse.Namespace):
    from hipsense.sync.command import connect_ble, connect_serial

    return connect_ble(args.device) if args.device else connect_serial(args.port)


def _cmd_live(args: argparse.Namespace) -> int:
    import time

    from hipsense.sync.command import run_live

    out = Path(args.out or time.strftime("live-%Y%m%d-%H%M%S.hsn"))
    return run_live(_connect(args), args.seconds, out, console, key_ring())


def _cmd_devices(args: argparse.Namespace) -> int:
    import asyncio

    from hipsense.sync.ble_transport import scan
    from hipsense.sync.command import print_devices

    with console.status(f"scanning for clips ({args.timeout:g} s)..."):
        clips = asyncio.run(scan(args.timeout))
    return print_devices(clips, console)


def register(add: AddCommand) -> None:
    def device_help(_args: argparse.Namespace) -> int:  # `hipsense device` alone
        device_parser.print_help()
        return 0

    device_parser = p = add(
        "device",
        device_help,
        "work with the clip over USB",
        "Commands that talk to the clip over its USB serial port.",
    )
    device_sub = p.add_subparsers(dest="device_command", metavar="DEVICE_COMMAND")
    deploy_parser = device_sub.add_parser(
        "deploy",
        help="copy the firmware to the board (needs mpremote)",
        description="Copies every firmware/*.py to the board's root with mpremote (pip install "
        "'hipsense[device]'), then resets the board. MicroPython itself is flashed once with esptool; "
        "see hardware/README.md.",
    )
    deploy_parser.add_argument(
        "--port",
        metavar="PORT",
        help="serial port, e.g. /dev/ttyACM0 or COM3 (default: the first board found)",
    )
    deploy_parser.set_defaults(func=_cmd_device_deploy)
    check_parser = device_sub.add_parser(
        "check",
        help="bring-up self-test of a clip over USB: IMU, rate, noise, axes, flash, battery, Bluetooth",
        description="A guided self-test of a clip you just built, over the USB cable: the IMU and its "
        "ranges, its real output rate against this laptop's clock, noise and bias lying still, the axis "
        "directions in three poses (you are asked to lay, stand and turn the clip), a flash write and "
        "read-back, the battery and the Bluetooth state. Prints a pass/fail table; exit code 0 when "
        "nothing failed, 1 otherwise. The check records a short session and deletes it. See "
        "docs/device-check.md.",
    )
    check_parser.add_argument(
        "--port",
        metavar="PORT",
        help="serial port, e.g. /dev/ttyACM0 or COM3 (default: the clip found on USB)",
    )
    check_parser.add_argument(
        "--yes", action="store_true", help="do not wait for Enter at each pose (scripts, tests)"
    )
    check_parser.add_argument(
        "--seconds",
        type=float,
        default=20.0,
        metavar="S",
        help="how long the clip lies still for the rate and noise (default 20; 5..300)",
    )
    check_parser.set_defaults(func=_cmd_device_check)
    p = add(
        "pair",
        _cmd_pair,
        "pair this laptop with the clip over the USB cable (needed once for Bluetooth)",
        "Over the USB cable, gives the clip a new random key of this laptop (kept in the data folder's "
        "keys/, readable by you only) and opens the clip's Bluetooth pairing window for a minute (its LED "
        "shows it). Over Bluetooth the clip then serves only a laptop that proves it holds that key, on an "
        "encrypted, bonded link; new Bluetooth bonds are made only while the window is open (a double "
        "press of the clip's button opens it too). A clip keeps the keys of up to 4 laptops. "
        "See docs/security.md.",
    )
    p.add_argument(
        "--port",
        metavar="PORT",
        help="serial port, e.g. /dev/ttyACM0 or COM3 (default: the clip found on USB)",
    )
    p.add_argument(
        "--forget-others",
        action="store_true",
        help="the clip forgets every other laptop's key (a lost or sold laptop)",
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="pair even when the clip cannot prove it holds the key this laptop paired with it (a reset clip)",
    )
    p = add(
        "sync",
        _cmd_sync,
        "copy new sessions from the clip, verified, into the local store",
        "Downloads every finished session from the clip (USB cable, or Bluetooth with --device), verifies it (CRC of every chunk and of "
        "the whole file), stores it in the local store and only then deletes it on the clip. An "
        "interrupted sync resumes where it stopped. Also sets the clip's clock. Exit code 0 when every "
        "session arrived, 1 when some are incomplete (they stay on the clip). See docs/sync-protocol.md.",
    )
    _add_link_options(p)
    p.add_argument("--keep-on-device", action="store_true", help="do not delete synced sessions on the clip")
    p.add_argument("--no-clock", action="store_true", help="do not set the clip's clock")
    add_owner_option(p)
    p = add(
        "live",
        _cmd_live,
        "stream the clip's IMU live (treadmill, lab) while it keeps recording",
        "Streams the samples of the session the clip is recording (starting a recording if none runs) "
        "and shows cadence, contact time and left/right balance every few seconds. Missing packets are "
        "gaps, never filled in. At the end (--seconds, or Ctrl-C) the stream is saved as a session file "
        "that hipsense analyze and import read like any other; the clip's own recording is unaffected. "
        "A link that drops, or a clip that sends nothing for a few seconds, ends it early: what arrived "
        "is saved, one line says why, and the exit status is 1.",
    )
    _add_link_options(p)
    p.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds (default: at Ctrl-C)")
    p.add_argument("--out", metavar="FILE", help="session file to save (default: live-DATE-TIME.hsn)")
    p = add(
        "devices",
        _cmd_devices,
        "list the clips nearby (Bluetooth scan)",
        "Scans for clips advertising the hipsense sync service and prints their names, addresses and "
        "signal strength, strongest first. Sync one with hipsense sync --device ADDRESS.",
    )
    p.add_argument(
        "--timeout", type=float, default=5.0, metavar="S", help="scan time in seconds (default: 5)"
    )
