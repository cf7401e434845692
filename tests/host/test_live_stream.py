"""``hipsense live`` against a stream that stops, a link that drops, packets sent twice or out of order,
and packets of one sample (red-team p14 H4, H5, H6). The clip is the firmware's LiveTap and sync server on
MicroPython behind a pseudo-terminal (as in test_sync_live.py); the packet patterns no clip of ours
sends are made by wrapping the real serial transport, or fed to the real LiveStream on a fake clock."""

from __future__ import annotations

import asyncio
import os
import tracemalloc
import warnings

import numpy as np
import pytest

from hipsense.cli import main
from hipsense.formats.device_file import read_device_file
from hipsense.formats.session_spec import SessionHeader
from hipsense.sim import simulate_run
from hipsense.sync import protocol as P
from hipsense.sync.live import LiveStream, stream_live
from hipsense.sync.serial_transport import SerialTransport
from tests.mpy.bridge import writer_args_for
from tests.mpy.harness import unavailable_reason
from tests.mpy.pty_device import PtyDevice

_CLIP_MARKS = (
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
    pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX"),
)


def needs_clip(test):
    """The simulated clip (MicroPython on a pseudo-terminal)."""
    for mark in _CLIP_MARKS:
        test = mark(test)
    return test


def _device(run, speed):
    return PtyDevice({}, live=run.counts, speed=speed, writer_args=writer_args_for(run))


def _stream(rate=208.0):
    """A LiveStream of a 6-channel session on a fake clock (advanced by hand), as stream_live makes it."""
    now = [100.0]
    odr = rate if rate <= 1666 else None
    header = SessionHeader.default(sample_rate_hz=rate, odr_hz=odr, session_id=1, device_id="HS-TEST")
    return LiveStream(header, 1, 0, clock=lambda: now[0]), now


def _packet(seq, first, n=16, value=0):
    return P.LivePacket(seq & 0xFFFF, first, False, np.full((n, 6), value, np.int16))


@needs_clip
def test_a_clip_that_stops_streaming_ends_live_with_one_line_and_exit_1(tmp_path, capsys):
    """The clip stays connected but its recording's feed ends: no packets after a few seconds. Before,
    the table froze and the command ran out its --seconds and exited 0."""
    run = simulate_run(duration_s=12, seed=3)
    out = tmp_path / "stopped.hsn"
    with _device(run, speed=2.0) as dev:
        rc = main(["live", "--port", dev.port, "--seconds", "40", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 1
    assert "the clip stopped streaming or the link was lost" in text and "saved what arrived" in text
    session = read_device_file(out)  # what arrived is saved all the same
    assert 0 < len(session.counts) <= len(run.counts)


@needs_clip
def test_a_link_that_drops_mid_stream_ends_live_with_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    """The clip's process is killed after 30 packets (its pty hangs up, as a pulled cable): the serial
    transport reports the link lost. Before, nothing noticed: no --seconds meant waiting for ever."""
    run = simulate_run(duration_s=40, seed=8)
    add = LiveStream.add
    with _device(run, speed=4.0) as dev:

        def add_then_hang_up(self, packet):
            new = add(self, packet)
            if self.packets == 30:
                dev.bridge.proc.kill()
            return new

        monkeypatch.setattr(LiveStream, "add", add_then_hang_up)
        out = tmp_path / "dropped.hsn"
        rc = main(["live", "--port", dev.port, "--seconds", "60", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 1
    assert "lost the link" in text and "saved what arrived" in text
    session = read_device_file(out)
    assert len(session.counts) >= 30 * 16
    start = np.flatnonzero((run.counts == session.counts[0]).all(axis=1))[0]
    assert np.array_equal(session.counts, run.counts[start : start + len(session.counts)])


@needs_clip
def test_every_packet_twice_is_no_loss():
    """A link that delivers every LIVE frame twice (a retransmit, a replaying peer): before, each repeat
    counted 65,535 lost packets."""
    run = simulate_run(duration_s=40, seed=8)
    with _device(run, speed=4.0) as dev:

        async def doubling():
            t = await SerialTransport.open(dev.port)
            recv, again = t.recv, []

            async def twice():
                if again:
                    return again.pop()
                frame = await recv()
                if frame.type == P.Type.LIVE:
                    again.append(frame)
                return frame

            t.recv = twice
            return t

        stream = asyncio.run(stream_live(doubling, 3.0, max_speed=8.0))
    assert stream.packets > 20
    assert stream.lost_packets == 0 and stream.missing_samples == 0
    assert stream.packets - 1 <= stream.duplicate_packets <= stream.packets
    assert np.array_equal(stream.counts, run.counts[stream.sample_index])
    assert stream.ended is None


def test_sequence_numbers_repeated_late_and_wrapping():
    s, _ = _stream()
    s.add(_packet(10, 0))
    assert s.add(_packet(10, 0)) is False  # the same packet again
    assert (s.packets, s.lost_packets, s.duplicate_packets) == (1, 0, 1)

    s, _ = _stream()
    for seq, first in ((10, 0), (12, 32), (11, 16)):  # 11 overtaken by 12
        s.add(_packet(seq, first))
    assert (s.lost_packets, s.duplicate_packets, len(s.sample_index)) == (1, 1, 32)
    assert s.missing_samples == 16  # the late packet's samples stay a gap, counted once

    s, _ = _stream()
    for seq, first in ((0xFFFE, 0), (0xFFFF, 16), (0x0000, 32), (0x0002, 64)):  # wraps, then a real gap
        s.add(_packet(seq, first))
    assert (s.lost_packets, s.duplicate_packets, s.packets) == (1, 0, 4)

    s, _ = _stream()
    s.add(_packet(100, 0))
    s.add(_packet(100 - 0x8000, 16))  # half the space behind: taken as late, not as 32,767 lost
    s.add(_packet(100 + 0x7FFF, 32))  # just under half ahead: a forward gap
    assert (s.duplicate_packets, s.lost_packets) == (1, 0x7FFE)


def test_memory_grows_per_sample_not_per_packet():
    """One-sample packets at 1.5 x 2000 Hz (within MAX_SPEED): before, 422 bytes per kept sample and a
    re-join of every packet's arrays at each look at the samples."""
    s, now = _stream(rate=2000.0)
    one = np.zeros((1, 6), np.int16)
    tracemalloc.start()
    try:
        for k in range(60_000):
            if k % 3000 == 0:
                now[0] += 1.0
            s.add(P.LivePacket(k & 0xFFFF, k, False, one))
        kept_bytes, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        n, missing = len(s.sample_index), s.missing_samples
        _, look_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 60_000 and missing == 0 and s.too_fast == 0
    assert kept_bytes / n <= 32  # 20 bytes a sample (8 index + 12 counts), up to 1.5x while growing
    assert look_bytes - kept_bytes < 4096  # a view, not a copy of 60,000 samples


def test_figures_on_still_data_print_no_warnings():
    """A clip lying still (all zeros) for 10 s: the figures are dashes, and numpy's divide warnings no
    longer reach the terminal."""
    s, now = _stream()
    for k in range(130):
        now[0] += 16 / 208
        s.add(_packet(k, k * 16))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = s.metrics()
    assert m["cadence_spm"] is None
    assert [str(w.message) for w in caught] == []  # before: "invalid value encountered in divide" x2


@needs_clip
def test_a_slow_update_is_not_taken_for_a_stopped_stream():
    """The figures take longer than the silence limit once (a slow laptop): packets waited meanwhile,
    so the stream goes on."""
    import time

    run = simulate_run(duration_s=40, seed=8)
    slow = []

    def update(stream):
        if not slow:
            slow.append(stream.packets)
            time.sleep(4.0)  # past STALL_FLOOR_S, with the clip streaming all along

    with _device(run, speed=2.0) as dev:
        stream = asyncio.run(
            stream_live(lambda: SerialTransport.open(dev.port), 7.0, on_update=update, update_s=1.0)
        )
    assert stream.ended is None
    assert stream.packets > slow[0] and stream.missing_samples == 0
