"""Commands that talk to the clip: device deploy, sync, live, devices."""

from __future__ import annotations

import argparse
from pathlib import Path

from hipsense.cli.common import (
    AddCommand,
    add_owner_option,
    console,
    err_console,
    open_store,
)


def _cmd_device_deploy(args: argparse.Namespace) -> int:
    from hipsense.device.deploy import deploy

    files = deploy(args.port)
    console.print(f"copied {len(files)} firmware files to the board")
    return 0


def _cmd_sync(args: argparse.Namespace) -> int:
    from hipsense.sync.command import print_report, run_sync
    from hipsense.sync.engine import SyncOptions

    options = SyncOptions(keep_on_device=args.keep_on_device, set_clock=not args.no_clock, runner=args.runner)
    connect = _connect(args)
    store = open_store()
    with store:
        report = run_sync(connect, store, options, console)
    return print_report(report, console, err_console)


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
    return run_live(_connect(args), args.seconds, out, console)


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
        "that hipsense analyze and import read like any other; the clip's own recording is unaffected.",
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
