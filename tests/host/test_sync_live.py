"""Live streaming end to end: the firmware's LiveTap and sync server on MicroPython record a simulated
run to flash and stream it over a pseudo-terminal; the host's stream_live / ``hipsense live`` receive
it, show the figures and save it as a session file with every gap kept."""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest

from hipsense.cli import main
from hipsense.formats.device_file import decode_session, read_device_file
from hipsense.sim import simulate_run
from hipsense.sync import protocol as P
from hipsense.sync.live import stream_live
from hipsense.sync.serial_transport import SerialTransport
from tests.mpy.bridge import writer_args_for
from tests.mpy.harness import unavailable_reason
from tests.mpy.pty_device import PtyDevice

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
    pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX"),
]


@pytest.fixture(scope="module")
def run():
    r = simulate_run(duration_s=40, seed=8)
    assert len(r.channels) == 6 and abs(r.sample_rate_hz - 208) < 1
    return r


def _device(run, speed=4.0):  # 4x the clip's rate: stream_live is given max_speed=8.0 where it matters
    return PtyDevice({}, live=run.counts, speed=speed, writer_args=writer_args_for(run))


def test_stream_arrives_exact_with_figures(run):
    updates = []
    with _device(run) as dev:
        stream = asyncio.run(
            stream_live(
                lambda: SerialTransport.open(dev.port),
                6.0,
                on_update=updates.append,
                update_s=2.0,
                max_speed=8.0,
            )
        )
    idx, counts = stream.sample_index, stream.counts
    assert stream.packets > 50 and stream.lost_packets == 0 and stream.missing_samples == 0
    assert np.array_equal(counts, run.counts[idx])  # the samples the clip recorded, at their indices
    assert len(updates) >= 2
    m = stream.metrics()
    truth = 60 / run.truth["step_time_s"].median()
    assert m["cadence_spm"] == pytest.approx(truth, rel=0.05)
    assert m["contact_ms_L"] > 100 and m["contact_ms_R"] > 100 and m["balance_pct"] is not None
    saved = decode_session(stream.session_bytes())
    assert np.array_equal(saved.counts, counts) and saved.header.session_id == 0xAA


def test_lost_packets_are_gaps_never_filled(run):
    with _device(run) as dev:

        async def lossy():
            t = await SerialTransport.open(dev.port)
            recv = t.recv

            async def drop_some():
                frame = await recv()
                while frame.type == P.Type.LIVE and frame.req_id % 7 == 3:
                    frame = await recv()  # lost on the link
                return frame

            t.recv = drop_some
            return t

        stream = asyncio.run(stream_live(lossy, 3.0, max_speed=8.0))
    assert stream.lost_packets > 0
    assert stream.missing_samples == 16 * stream.lost_packets  # full packets of 16 went missing
    saved = decode_session(stream.session_bytes())
    assert sum(c for _, c in saved.report.gaps) == stream.missing_samples  # recorded as gaps
    assert len(saved.counts) == len(stream.sample_index)  # nothing interpolated
    assert np.array_equal(saved.counts, run.counts[stream.sample_index])


def test_cli_live_saves_a_session_file(run, tmp_path, capsys):
    out = tmp_path / "treadmill.hsn"
    with _device(run) as dev:
        assert main(["live", "--port", dev.port, "--seconds", "3", "--out", str(out)]) == 0
    session = read_device_file(out)
    assert len(session.counts) > 200
    assert "saved" in capsys.readouterr().out


def test_cli_live_saves_the_stream_when_ctrl_c_is_a_keyboard_interrupt(run, tmp_path, capsys, monkeypatch):
    """Where Ctrl-C cannot be turned into a stop event (Windows), it surfaces as a KeyboardInterrupt
    somewhere in the stream loop; what arrived until then is saved all the same."""
    from hipsense.sync.live import LiveStream

    add = LiveStream.add

    def add_then_interrupt(self, packet):
        add(self, packet)
        if self.packets == 40:
            raise KeyboardInterrupt

    monkeypatch.setattr(LiveStream, "add", add_then_interrupt)
    out = tmp_path / "interrupted.hsn"
    with _device(run) as dev:
        assert main(["live", "--port", dev.port, "--out", str(out)]) == 0
    session = read_device_file(out)
    assert len(session.counts) == 40 * 16  # every sample of the 40 packets, nothing after
    start = np.flatnonzero((run.counts == session.counts[0]).all(axis=1))[0]
    assert np.array_equal(session.counts, run.counts[start : start + len(session.counts)])
    assert "saved" in capsys.readouterr().out
