"""End to end over a real pseudo-terminal: host sync (real pyserial) against the firmware's own sync
code running on MicroPython (tests/mpy/pty_device.py): list, download, verify, store, delete."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import stat
import zlib
from pathlib import Path

import pytest
import serial

from hipsense.cli import main
from hipsense.cli.clip import keep_in_store
from hipsense.store import Store
from hipsense.sync import protocol as P
from hipsense.sync.engine import INCOMPLETE, RECORDING, STORED, SyncOptions, sync_device
from hipsense.sync.serial_transport import SerialTransport
from tests.mpy.harness import unavailable_reason
from tests.mpy.pty_device import PtyDevice, device_list

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
    pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX"),
]
VECTORS = Path(__file__).resolve().parents[1] / "vectors"


@pytest.fixture(scope="module")
def run_file(tmp_path_factory) -> Path:
    from hipsense.sim import simulate_run

    path = tmp_path_factory.mktemp("sim") / "run.hsn"
    simulate_run(duration_s=40, seed=5).write_device_file(path, session_id=0x10)
    return path


@pytest.fixture
def sessions(run_file) -> dict[int, Path]:
    return {0x10: run_file, 0x2A: VECTORS / "six_axis_gap_overflow.session"}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HIPSENSE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _keep(store: Store):
    """(keep, incoming) of a sync into ``store``, as the CLI wires them."""
    return keep_in_store(store, "default"), store.root / "incoming"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw_files(home: Path) -> dict[str, Path]:
    return {p.name: p for p in (home / "raw").rglob("*") if p.is_file() and not p.name.startswith(".")}


def test_cli_sync_lists_downloads_verifies_stores_and_deletes(sessions, home, capsys):
    with PtyDevice(sessions) as dev:
        assert main(["sync", "--port", dev.port]) == 0
        left = device_list(dev.port)
    out = capsys.readouterr().out
    assert "2 stored, 0 already stored, 0 incomplete" in out, out
    assert "deleted on the clip" in out
    assert left == []  # deleted only after both were stored
    stored = raw_files(home)
    for path in sessions.values():  # byte-identical copies in the store, by content address
        digest = sha(path)
        assert digest[2:] in stored and sha(stored[digest[2:]]) == digest
    assert not list((home / "incoming").iterdir())  # nothing left half-done
    assert stat.S_IMODE((home / "incoming").stat().st_mode) == 0o700
    assert "@@served" in dev.stdout, dev.stderr


def test_a_run_the_clip_dated_after_today_is_warned_about(home, tmp_path, capsys):
    # A clip whose clock ran ahead before a sync set it dates its runs after today: the sync stores
    # them (the raw file is the record) and says so in one line each, as an import does.
    from hipsense.sim import simulate_run

    ahead = tmp_path / "ahead.hsn"
    simulate_run(duration_s=20, seed=6).write_device_file(
        ahead, session_id=0x11, start_time_unix=4_070_908_800
    )
    with PtyDevice({0x11: ahead}) as dev:
        assert main(["sync", "--port", dev.port]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "warning: session 1" in err and "2099-01-01" in err and "after today" in err, err
    assert "hipsense forget 1" in err


def test_keep_on_device_then_duplicates(sessions, home, capsys):
    with PtyDevice(sessions) as dev:
        assert main(["sync", "--port", dev.port, "--keep-on-device"]) == 0
        assert main(["sync", "--port", dev.port]) == 0
        left = device_list(dev.port)
    out = capsys.readouterr().out
    assert "2 stored, 0 already stored" in out and "0 stored, 2 already stored" in out, out
    assert left == []  # the second sync found them stored already, so it deleted them


def test_session_being_recorded_is_left_alone(sessions, home):
    with PtyDevice(sessions, recording=0x2A) as dev:
        with Store(home) as store:
            report = asyncio.run(sync_device(lambda: SerialTransport.open(dev.port), *_keep(store)))
        left = device_list(dev.port)
    status = {s.session_id: s.status for s in report.sessions}
    assert status == {0x10: STORED, 0x2A: RECORDING}
    assert [e.session_id for e in left] == [0x2A] and left[0].recording


@pytest.mark.parametrize("prefix_ok", [True, False], ids=["resumed", "bad-prefix-restarts"])
def test_interrupted_download_resumes_from_the_part_file(sessions, home, prefix_ok):
    # What a host killed mid-write leaves behind: a .part holding a prefix of the session.
    data = sessions[0x10].read_bytes()
    incoming = home / "incoming"
    incoming.mkdir(parents=True)
    part = incoming / "HS-PTY-00000010.hsn.part"
    prefix = bytearray(data[:20000])
    if not prefix_ok:
        prefix[1234] ^= 0x40
    part.write_bytes(prefix)
    starts = []

    class Spy:
        def start(self, sid, size, done):
            starts.append((sid, done))

        def advance(self, sid, done):
            pass

        def finish(self, sid, status):
            pass

    with PtyDevice({0x10: sessions[0x10]}) as dev, Store(home) as store:
        report = asyncio.run(
            sync_device(lambda: SerialTransport.open(dev.port), *_keep(store), progress=Spy())
        )
    assert starts == [(0x10, 20000 if prefix_ok else 0)]
    assert report.sessions[0].status == STORED and report.sessions[0].deleted
    with Store(home) as store:
        assert store.raw_path(hashlib.sha256(data).hexdigest()).read_bytes() == data


def test_port_busy_and_missing_port_are_one_line_errors(home, capsys):
    with PtyDevice({}) as dev:
        holder = serial.Serial(dev.port, exclusive=True)
        try:
            assert main(["sync", "--port", dev.port]) == 2
        finally:
            holder.close()
    assert main(["sync", "--port", str(home / "ttyNOPE")]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert "is busy" in lines[0] and "no serial port" in lines[1], err


def test_unanswered_device_is_reported_incomplete_and_kept(sessions, home):
    # The firmware stops answering READs of one session (its file vanishes mid-download is too
    # rare to stage; a dead link is the same for the host): the session stays and is incomplete.
    with PtyDevice({0x2A: sessions[0x2A]}, max_chunk=1024) as dev, Store(home) as store:
        # A generous silence limit: only the dropped READs may time out, never a slow answer on a busy machine.
        opts = SyncOptions(chunk=1024, timeout_s=1.5, retries=1, reconnects=0)

        async def connect():
            t = await SerialTransport.open(dev.port)
            real_send = t.send

            async def send(frame: bytes) -> None:
                if frame[0] == P.Type.READ and int.from_bytes(frame[9:13], "little") >= 8192:
                    return  # lost on the way
                await real_send(frame)

            t.send = send
            return t

        report = asyncio.run(sync_device(connect, *_keep(store), opts))
        left = device_list(dev.port)
    assert report.sessions[0].status == INCOMPLETE and not report.sessions[0].deleted
    assert [e.session_id for e in left] == [0x2A]
    part = home / "incoming" / "HS-PTY-0000002a.hsn.part"
    assert part.read_bytes() == sessions[0x2A].read_bytes()[:8192]  # kept for the next sync to resume
    assert zlib.crc32(part.read_bytes()) == zlib.crc32(sessions[0x2A].read_bytes()[:8192])


def test_silent_port_is_no_clip(home, capsys):
    # A pty nobody answers on: what a board without the hipsense firmware looks like.
    master, slave = os.openpty()
    try:
        assert main(["sync", "--port", os.ttyname(slave)]) == 2
    finally:
        os.close(master)
        os.close(slave)
    assert "error: no hipsense clip answers on" in capsys.readouterr().err


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 16 KiB file system (tmpfs; needs root on Linux, skipped elsewhere)."""
    import subprocess
    import sys

    where = tmp_path / "tiny"
    where.mkdir()
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(where)], capture_output=True
    ).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield where
    subprocess.run(["umount", str(where)], check=False)


def test_disk_full_is_a_clear_error_and_the_session_stays(sessions, home, tiny_disk):
    from hipsense.sync.engine import INCOMPLETE, SyncEngine

    with PtyDevice({0x10: sessions[0x10]}) as dev, Store(home) as store:
        engine = SyncEngine(
            lambda: SerialTransport.open(dev.port), keep_in_store(store, "default"), tiny_disk / "incoming"
        )
        report = asyncio.run(engine.run())  # the report says it, with the sessions before it (p14 H9)
        (result,) = report.sessions
        assert result.status == INCOMPLETE
        assert re.match(r"disk full while writing .* session 00000010 stays on the clip", result.message)
        assert report.notes == ["stopped: the disk is full"]
        left = device_list(dev.port)
    assert [e.session_id for e in left] == [0x10]


def test_pair_gives_the_clip_this_laptops_key(home, capsys):
    from hipsense.sync.auth import KeyRing, NotPaired, authenticate
    from hipsense.sync.client import Client

    with PtyDevice({}) as dev:
        assert main(["pair", "--port", dev.port]) == 0
        out = capsys.readouterr().out
        assert "paired this laptop with the clip HS-PTY" in out and "open for 60 s" in out, out
        ring = KeyRing(home / "keys")
        (key_file,) = [p for p in (home / "keys").glob("*.json")]
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE((home / "keys").stat().st_mode) == 0o700

        async def prove(keys: KeyRing):
            # The key check a Bluetooth sync makes, here over the cable: the clip holds the key.
            client = Client(await SerialTransport.open(dev.port), timeout_s=5)
            try:
                info = await client.request(P.Type.INFO, parse=P.info_body)
                return await authenticate(client, keys, info)
            finally:
                await client.close()

        key = asyncio.run(prove(ring))
        assert key_file.name == f"{key.clip_id.hex()}.json"
        # Pairing again replaces this laptop's key (same key id, new key): the old one is refused.
        old = ring.get(key.clip_id)
        assert main(["pair", "--port", dev.port]) == 0
        new = ring.get(key.clip_id)
        assert new.key_id == old.key_id and new.key != old.key
        stale = KeyRing(home / "stale")
        stale.save(old)
        with pytest.raises(NotPaired, match="did not accept this laptop's key"):
            asyncio.run(prove(stale))
        asyncio.run(prove(ring))


def test_pair_does_not_replace_a_key_the_clip_cannot_prove_without_replace(home, capsys):
    # The laptop holds a key for this clip id that the clip does not hold (the clip was reset, or the
    # device only names a paired clip's id): pair refuses with one line and keeps the laptop's key;
    # --replace pairs, and the new key is the one the clip proves.
    from hipsense.sync.auth import HostKey, KeyRing

    ring = KeyRing(home / "keys")
    with PtyDevice({}) as dev:
        assert main(["pair", "--port", dev.port]) == 0
        (path,) = (home / "keys").glob("*.json")
        paired = ring.get(bytes.fromhex(path.stem))
        unknown = HostKey(paired.clip_id, paired.key_id, bytes(32), paired.device_id)
        ring.save(unknown)
        capsys.readouterr()
        assert main(["pair", "--port", dev.port]) == 2
        err = capsys.readouterr().err
        (line,) = [e for e in err.splitlines() if e.strip()]
        assert "does not hold the key this laptop paired with it" in line and "pair --replace" in line, err
        assert ring.get(paired.clip_id) == unknown
        assert main(["pair", "--port", dev.port, "--replace"]) == 0
        replaced = ring.get(paired.clip_id)
        assert replaced.key not in (unknown.key, paired.key)
        # and pairing again, without --replace, goes through: the clip proves the key it now holds
        assert main(["pair", "--port", dev.port]) == 0
        assert ring.get(paired.clip_id).key != replaced.key


def test_pair_and_the_key_check_say_when_a_clip_holds_auth_off(home, tmp_path, capsys):
    # A clip that booted after 6 wrong AUTHs holds every AUTH off for a while (its back-off count
    # survives reboots). It cannot prove the key this laptop holds, but it was not reset: pair and the
    # Bluetooth key check say it is held, not that the key was refused; nothing is changed; the
    # cable's PAIR (--replace) clears the hold.
    from hipsense.sync.auth import AuthHeld, HostKey, KeyRing, authenticate
    from hipsense.sync.client import Client

    ring = KeyRing(home / "keys")
    clip = bytes.fromhex("00c11b0000000001")
    held = HostKey(clip, bytes.fromhex("0123456789abcdef"), bytes(range(32)), "HS-PTY")
    ring.save(held)
    store = tmp_path / "sync_keys.json"
    store.write_text(
        json.dumps({"clip": clip.hex(), "keys": [[held.key_id.hex(), held.key.hex()]], "fails": 7})
    )

    async def prove(port: str) -> HostKey:
        client = Client(await SerialTransport.open(port), timeout_s=5)
        try:
            return await authenticate(client, ring, await client.request(P.Type.INFO, parse=P.info_body))
        finally:
            await client.close()

    with PtyDevice({}, extra_files=((store, "/sync_keys.json"),)) as dev:
        with pytest.raises(AuthHeld, match="holds key checks off after 7 wrong keys") as caught:
            asyncio.run(prove(dev.port))
        assert caught.value.fails == 7
        capsys.readouterr()
        assert main(["pair", "--port", dev.port]) == 2
        (line,) = [e for e in capsys.readouterr().err.splitlines() if e.strip()]
        assert "holds key checks off after 7 wrong keys" in line and "again in a minute" in line, line
        assert "reset" not in line
        assert ring.get(clip) == held
        assert main(["pair", "--port", dev.port, "--replace"]) == 0
        assert asyncio.run(prove(dev.port)).key == ring.get(clip).key != held.key
