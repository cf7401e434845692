"""A clip whose replies stall, and a laptop disk that fills, end the sync in bounded work and say it all
(red-team p14 H7, H9).

Before: READ replies that never came cost every listed session its full retries (with the defaults and
a reply dripping a byte every 0.2 s, 140 s a session: about 13 days for the 8,192 a sync takes), and
the message said "1 s each" for tries that waited 20 s. A full disk while writing one session dropped
the report of the sessions before it (one whose store copy had failed for lack of space was never
named), and a file size limit (EFBIG) or a quota (EDQUOT) read as a bare OS error. The real serial
transport over a pseudo-terminal; the disk is the real one, its refusal injected at the write.
"""

from __future__ import annotations

import errno
import os

from hipsense.sync import engine
from hipsense.sync import protocol as P
from hipsense.sync.engine import INCOMPLETE
from hipsense.sync.incoming import disk_full
from hipsense.sync.listing import JUNK_STOP
from tests.host.test_sync_redteam import PtyClip, leftovers, one_line, sync

SESSION = bytes(range(256)) * 23  # a listed size a session can have; never downloaded whole here


def test_sessions_whose_reads_stall_stop_the_sync(tmp_path):
    with PtyClip(dict.fromkeys(range(1, 11), SESSION)) as clip:
        clip.override = lambda f: b"" if f.type == P.Type.READ else None  # silence after each READ
        report, keeper = sync(clip, tmp_path, timeout_s=0.2, retries=1)
    assert not isinstance(report, BaseException), report
    assert len(report.sessions) == JUNK_STOP and all(s.stalled for s in report.sessions)
    assert all(s.status == INCOMPLETE and "s of silence each" in s.message for s in report.sessions)
    (note,) = report.notes
    assert f"{JUNK_STOP} sessions in a row the clip did not send" in one_line(note)
    assert f"{10 - JUNK_STOP} sessions listed after them stay on the clip" in note
    reads = {int.from_bytes(f.body[:4], "little") for f in clip.requests if f.type == P.Type.READ}
    assert reads == set(range(1, JUNK_STOP + 1)) and clip.deletes == [] and keeper.kept == []


class _FullDisk:
    """The ``os`` the engine sees: writes to one session's ``.part`` are refused with ``code``."""

    def __init__(self, code: int, session: int):
        self.code, self.mark = code, f"-{session:08x}.hsn.part"

    def __getattr__(self, name):
        return getattr(os, name)

    def fsync(self, fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(self.mark):
            raise OSError(self.code, os.strerror(self.code))
        os.fsync(fd)


def test_a_full_disk_stops_the_sync_and_the_report_keeps_what_came_before(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "os", _FullDisk(errno.ENOSPC, 2))

    def keep(path):  # the store's copy of session 1 failed for lack of space
        return "the store could not copy it: no space left on device"

    with PtyClip({1: SESSION, 2: SESSION, 3: SESSION}) as clip:
        report, _ = sync(clip, tmp_path, keep)
    assert not isinstance(report, BaseException), report
    got = {s.session_id: s.message for s in report.sessions}
    assert set(got) == {1, 2} and "the store could not copy it" in got[1]
    assert got[2].startswith("disk full while writing") and "stays on the clip" in got[2]
    assert report.notes == ["stopped: the disk is full; the session listed after it stays on the clip"]
    assert clip.deletes == [] and any(n.endswith("00000001.hsn") for n in leftovers(tmp_path))


def test_a_quota_or_a_size_limit_reads_as_what_it_is():
    part = "x/HS-00000002.hsn.part"
    for code, words in ((errno.EFBIG, "file too large"), (errno.EDQUOT, "disk quota exceeded")):
        text = str(disk_full(part, 2, OSError(code, os.strerror(code))))
        assert text.startswith(f"{words} while writing {part}") and "stays on the clip" in text
    assert str(disk_full(part, 2)).startswith("disk full while writing")
