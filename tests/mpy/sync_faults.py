"""Fault injection for the sync, over the pseudo-terminal against the firmware on MicroPython.

:func:`run_faults` syncs a set of sessions again and again while injecting random faults into the
host's serial transport: bytes dropped, duplicated or bit-flipped in either direction, the link cut
(the port closed under the engine) and the host killed mid-sync (the engine's task cancelled, so a
``.part`` file is left behind). After every round it checks the promise of the sync: each session is
either still on the device or in the store byte-identical, never neither; a session reported
incomplete is still on the device. Used by tests/host/test_sync_faults.py (a short run) and
benchmarks/sync_faults.py (>= 200 faults, prints the counts).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hipsense.cli.clip import keep_in_store
from hipsense.errors import HipsenseError
from hipsense.store import Store
from hipsense.sync.engine import INCOMPLETE, SyncOptions, SyncReport, sync_device
from hipsense.sync.serial_transport import SerialTransport
from tests.mpy.pty_device import PtyDevice, device_list

BYTE_FAULTS = ("drop_in", "dup_in", "flip_in", "drop_out", "dup_out", "flip_out")


@dataclass
class FaultRun:
    faults: Counter = field(default_factory=Counter)
    rounds: int = 0
    cycles: int = 0
    incomplete_reports: int = 0
    stored: int = 0  # sessions that reached a store byte-identical (summed over cycles)
    deleted_unstored: int = 0  # must stay 0
    corrupt_in_store: int = 0  # must stay 0
    reconnects: int = 0
    resends: int = 0


class _Injector:
    """Decides, per chunk of bytes in either direction, whether and which fault happens."""

    def __init__(self, rng: random.Random, budget: int, rate: float, run: FaultRun):
        self.rng = rng
        self.budget = budget
        self.rate = rate
        self.run = run

    def pick(self, kinds: tuple[str, ...]) -> str | None:
        if self.budget <= 0 or self.rng.random() >= self.rate:
            return None
        self.budget -= 1
        kind = self.rng.choice(kinds)
        self.run.faults[kind] += 1
        return kind

    def mangle(self, data: bytes, kind: str) -> bytes:
        if not data:
            return data
        i = self.rng.randrange(len(data))
        j = min(len(data), i + self.rng.randint(1, 40))
        if kind.startswith("drop"):
            return data[:i] + data[j:]
        if kind.startswith("dup"):
            return data[:j] + data[i:j] + data[j:]
        b = bytearray(data)
        b[i] ^= 1 << self.rng.randrange(8)
        return bytes(b)


def _faulty_connect(port: str, inj: _Injector, engine_task: list[asyncio.Task]):
    async def connect() -> SerialTransport:
        t = await SerialTransport.open(port)
        received, write = t.received, t.write

        def faulty_received(data: bytes) -> None:
            kind = inj.pick(("drop_in", "dup_in", "flip_in", "disconnect", "kill"))
            if kind == "disconnect":
                t.lost("fault injection: link cut")
                return
            if kind == "kill":
                engine_task[0].cancel()
                return
            received(inj.mangle(data, kind) if kind else data)

        async def faulty_write(data: bytes) -> None:
            kind = inj.pick(("drop_out", "dup_out", "flip_out"))
            await write(inj.mangle(data, kind) if kind else data)

        t.received = faulty_received  # the reader thread looks the method up on each call
        t.write = faulty_write
        return t

    return connect


def run_faults(
    sessions: dict[int, Path],
    home: Path,
    *,
    faults: int,
    seed: int = 1,
    rate: float = 0.1,
    max_rounds: int = 400,
    max_chunk: int = 1024,
) -> FaultRun:
    """Sync ``sessions`` through ``faults`` random faults; see the module doc.

    A cycle puts the sessions on a fresh simulated device and syncs them into a fresh store under
    ``home`` until the device is empty; cycles repeat until every fault has been injected.
    """
    rng = random.Random(seed)
    run = FaultRun()
    inj = _Injector(rng, faults, rate, run)
    truth = {sid: hashlib.sha256(p.read_bytes()).hexdigest() for sid, p in sessions.items()}
    opts = SyncOptions(chunk=max_chunk, timeout_s=0.25, retries=3, backoff_s=0.02, reconnects=3)
    cycle = 0
    while inj.budget > 0 and run.rounds < max_rounds:
        cycle += 1
        run.cycles = cycle
        with PtyDevice(sessions, max_chunk=max_chunk) as dev, Store(home / f"cycle{cycle}") as store:
            on_device = set(truth)
            while on_device and run.rounds < max_rounds:
                run.rounds += 1
                report = _round(dev.port, inj, store, opts)
                on_device = {e.session_id for e in device_list(dev.port)}
                _check(run, truth, on_device, store, report)
            run.stored += len(set(truth.values()) & set(store.sessions()["sha256"]))
    return run


def _round(port: str, inj: _Injector, store: Store, opts: SyncOptions) -> SyncReport | None:
    task: list[asyncio.Task] = []

    async def one_round() -> SyncReport:
        task.append(asyncio.current_task())
        return await sync_device(
            _faulty_connect(port, inj, task), keep_in_store(store, "default"), store.root / "incoming", opts
        )

    try:
        return asyncio.run(one_round())
    except asyncio.CancelledError:  # the host was "killed": nothing reported
        return None
    except HipsenseError:  # a round may end in a sync error (no reply after every retry, ...)
        return None


def _check(run: FaultRun, truth: dict[int, str], on_device: set[int], store: Store, report) -> None:
    in_store = set(store.sessions()["sha256"])
    for sid, digest in truth.items():
        if sid not in on_device and digest not in in_store:
            run.deleted_unstored += 1
    for sha in in_store:
        if hashlib.sha256(store.raw_path(sha).read_bytes()).hexdigest() != sha:
            run.corrupt_in_store += 1
    if report is not None:
        run.reconnects += report.reconnects
        run.resends += report.resends
        for s in report.sessions:
            if s.status == INCOMPLETE:
                run.incomplete_reports += 1
                if s.session_id not in on_device:
                    run.deleted_unstored += 1
