"""A clip that lists junk (red-team p14 G14): thousands of tiny sessions, files that are not sessions
one after another. One sync must take a bounded number of sessions, refuse what is too small to be a
session from the listing alone, stop after a few downloaded files in a row that are not sessions, and
leave at most a few of them in the incoming folder. Before: a clip listing 65,535 sessions of 1000
zero bytes had one `hipsense sync` download 26,776 of them in 220 s and keep every one in incoming/.

The clip is the scripted pty clip of test_sync_redteam.py (real pyserial on a pseudo-terminal); the
sessions are kept by the CLI's own ``keep`` (the store), which refuses a file that is not a session.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from hipsense.cli import main
from hipsense.cli.clip import keep_in_store
from hipsense.store import Store
from hipsense.sync import protocol as P
from hipsense.sync.engine import DUPLICATE, INCOMPLETE, STORED
from hipsense.sync.incoming import KEEP_NOT_SESSIONS, SESSION_MAGIC, is_session_file
from hipsense.sync.listing import JUNK_STOP, MAX_SESSIONS, MIN_SESSION_BYTES
from tests.host.test_sync_redteam import PtyClip, leftovers, sync

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")

ROOT = Path(__file__).resolve().parents[2]
REAL = (ROOT / "tests" / "vectors" / "six_axis_gap_overflow.session").read_bytes()
JUNK = bytes(4096)  # the size of the firmware's smallest session, all zeros: not a session


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "home") as s:
        yield s


def line(text: str) -> str:
    assert text and "\n" not in text, text
    return text


def reads(clip: PtyClip) -> set[int]:
    """The session ids the host asked READ of."""
    return {struct.unpack_from("<I", f.body)[0] for f in clip.requests if f.type == P.Type.READ}


def test_the_bounds_are_the_formats_and_the_firmwares():
    # listing.py states them by hand (the sync imports nothing of the reader): they must not drift.
    from hipsense.formats import session_spec as S

    assert MIN_SESSION_BYTES == S.HEADER_MIN + S.BLOCK_SIZE_MIN == 364
    assert SESSION_MAGIC == S.HEADER_MAGIC
    assert (S.HEADER_MIN, S.HEADER_MAX) == (108, 1 << 20)  # incoming.py's header bounds
    for vector in (ROOT / "tests" / "vectors").glob("*.session"):
        assert is_session_file(vector), vector
    main_py = (ROOT / "firmware" / "main.py").read_text()
    assert "guard.SafeFile(f, 2048)" in main_py  # a 2 KiB header and end block: 4 KiB at the least
    assert MAX_SESSIONS == P.MAX_SESSION_BYTES // 4096 == 8192


def test_g14s_clip_listing_65535_sessions_of_1000_zero_bytes(tmp_path, store):
    # The red team's clip: the listing is cut at what a flash holds, three of the files are
    # downloaded, none is a session, and the sync stops there in seconds with two lines.
    tiny = bytes(1000)
    with PtyClip(dict.fromkeys(range(1, 65536), tiny)) as clip:
        clip.page = 40  # as the red team's clip
        clip.listing = [(sid, len(tiny)) for sid in range(1, 65536)]  # made once, not per LIST
        report, _ = sync(clip, tmp_path, keep_in_store(store, "default"), hang_s=30.0)
    assert not isinstance(report, BaseException), report
    assert reads(clip) == set(range(1, JUNK_STOP + 1)) and clip.deletes == []
    assert [s.not_session for s in report.sessions] == [True] * JUNK_STOP
    cut, stop = (line(n) for n in report.notes)
    assert "the clip lists 65535 sessions" in cut and f"only the first {MAX_SESSIONS}" in cut
    assert f"and the {MAX_SESSIONS - JUNK_STOP} sessions listed after them stay on the clip" in stop
    lists = sum(f.type == P.Type.LIST for f in clip.requests)
    assert lists <= MAX_SESSIONS // clip.page + 1, lists  # 205, not 1,639
    assert len(leftovers(tmp_path)) <= KEEP_NOT_SESSIONS
    # No timing asserted (house rules): the requests are the bound. The pty run took 3-5 s; before the
    # fix the red team's run downloaded 26,776 in 220 s and this test hit its 30 s hang guard.


def test_thousands_of_sessions_too_small_to_be_sessions_are_not_read(tmp_path, store):
    tiny = bytes(300)
    with PtyClip(dict.fromkeys(range(1, 65536), tiny)) as clip:
        clip.listing = [(sid, len(tiny)) for sid in range(1, 65536)]
        report, _ = sync(clip, tmp_path, keep_in_store(store, "default"), hang_s=30.0)
    assert not isinstance(report, BaseException), report
    assert reads(clip) == set() and clip.deletes == [] and leftovers(tmp_path) == []
    assert len(report.sessions) == MAX_SESSIONS and len(report.notes) == 1
    assert all(
        s.status == INCOMPLETE and "300 bytes, too few for a session" in s.message for s in report.sessions
    )


def test_a_size_too_small_for_a_header_and_a_block_is_not_read(tmp_path, store):
    small = REAL[: MIN_SESSION_BYTES - 1]
    with PtyClip({1: small, 2: REAL}) as clip:
        report, _ = sync(clip, tmp_path, keep_in_store(store, "default"))
    got = {s.session_id: s for s in report.sessions}
    assert got[1].status == INCOMPLETE and "363 bytes, too few for a session" in line(got[1].message)
    assert got[2].status == STORED and reads(clip) == {2} and clip.deletes == [2]


def test_consecutive_junk_stops_the_sync_and_stays_on_the_clip(tmp_path, store):
    # 1000 files of 4 KiB zeros (each large enough to be a session): the sync stops after JUNK_STOP.
    with PtyClip(dict.fromkeys(range(1, 1001), JUNK)) as clip:
        report, _ = sync(clip, tmp_path, keep_in_store(store, "default"), hang_s=30.0)
    assert not isinstance(report, BaseException), report
    assert len(reads(clip)) == JUNK_STOP and clip.deletes == []
    assert [s.not_session for s in report.sessions] == [True] * JUNK_STOP
    assert all("not a hipsense session file" in s.message for s in report.sessions)
    assert len(report.notes) == 1
    note = line(report.notes[0])
    assert f"{JUNK_STOP} files in a row" in note and f"{1000 - JUNK_STOP} sessions listed after them" in note
    assert len(leftovers(tmp_path)) <= KEEP_NOT_SESSIONS


def test_the_magic_alone_does_not_make_a_session(tmp_path, store):
    # A header's magic followed by zeros (a firmware that wrote 4 bytes and died, or a device that
    # knows the magic) is junk too: no header length or CRC that holds.
    fake = SESSION_MAGIC + bytes(4092)
    with PtyClip(dict.fromkeys(range(1, 101), fake)) as clip:
        report, _ = sync(clip, tmp_path, keep_in_store(store, "default"))
    assert len(reads(clip)) == JUNK_STOP and len(report.notes) == 1 and clip.deletes == []
    assert len(leftovers(tmp_path)) <= KEEP_NOT_SESSIONS


def test_real_sessions_between_junk_keep_the_sync_going(tmp_path, store):
    # A clip with a few damaged files among real ones is not a junk stream: the streak resets.
    files = {1: JUNK, 2: JUNK, 3: REAL, 4: JUNK, 5: JUNK, 6: REAL, 7: JUNK}
    with PtyClip(files) as clip:
        report, _ = sync(clip, tmp_path, keep_in_store(store, "default"))
    got = {s.session_id: s.status for s in report.sessions}
    assert got == {
        1: INCOMPLETE,
        2: INCOMPLETE,
        3: STORED,
        4: INCOMPLETE,
        5: INCOMPLETE,
        6: DUPLICATE,
        7: INCOMPLETE,
    }
    assert report.notes == [] and sorted(clip.deletes) == [3, 6]
    assert len(leftovers(tmp_path)) == KEEP_NOT_SESSIONS  # the newest few, for diagnosis


def test_the_incoming_folder_keeps_only_a_few_files_that_are_not_sessions(tmp_path, store):
    # Junk an earlier sync left (the 26,776 files of G14) goes once more junk arrives; a refused
    # file that is a session (its header's magic) and the .part of an interrupted download stay.
    incoming = tmp_path / "incoming"
    incoming.mkdir(mode=0o700)
    for k in range(200):
        (incoming / f"HS-OLD-{k:08x}.hsn").write_bytes(bytes(1000))
    (incoming / "HS-OLD-ffffffff.hsn").write_bytes(REAL[:3000])  # a session's header, cut short
    assert is_session_file(incoming / "HS-OLD-ffffffff.hsn")
    (incoming / "HS-OLD-fffffffe.hsn.part").write_bytes(bytes(100))
    with PtyClip({1: JUNK}) as clip:
        report, _ = sync(clip, tmp_path, keep_in_store(store, "default"))
    assert [s.status for s in report.sessions] == [INCOMPLETE]
    left = leftovers(tmp_path)
    assert "HS-OLD-ffffffff.hsn" in left and "HS-OLD-fffffffe.hsn.part" in left
    junk = [n for n in left if n.endswith(".hsn") and not is_session_file(incoming / n)]
    assert len(junk) == KEEP_NOT_SESSIONS and "HS-EVIL-00000001.hsn" in junk, left
    size = sum((incoming / n).stat().st_size for n in left)
    assert size < 32 * 1024, size


def test_the_cli_says_each_in_one_line_and_exits_1(tmp_path, monkeypatch, capsys):
    # What the runner sees: 20 incomplete lines, one count of the rest, one line for the cut listing.
    monkeypatch.setenv("HIPSENSE_HOME", str(tmp_path / "home"))
    with PtyClip({}) as clip:
        clip.listing = [(sid, 300) for sid in range(1, 9001)]
        assert main(["sync", "--port", clip.port]) == 1
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert err.count("incomplete:") == 20 + 2, err
    assert f"{MAX_SESSIONS - 20} more sessions, each left on the clip" in err
    assert "lists 9000 sessions" in err
    assert not (tmp_path / "home" / "incoming").exists() or not list(
        (tmp_path / "home" / "incoming").iterdir()
    )
