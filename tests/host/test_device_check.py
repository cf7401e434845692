"""``hipsense device check`` end to end: firmware/main.py on MicroPython with a fake LSM6DSOX lying still
in a pose on the wall clock (tests/mpy/pty_clip.py), the host's check over a real pseudo-terminal with
real pyserial. A well-built clip passes every row; a clip whose IMU is turned in its box, whose clock
runs 6 % fast, whose battery is low and whose Bluetooth is off fails exactly those rows. Plus the
pieces with hostile numbers (no interpreter): the rate fit, the rows' bounds, bad live packets.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import numpy as np
import pytest

from hipsense.cli import main
from hipsense.device.check import CheckOptions, run_check
from hipsense.device.check_rate import fit_rate
from hipsense.device.check_rows import (
    POSES,
    RATE_TOLERANCE_PPM,
    LiveSamples,
    battery_row,
    flash_row,
    identity_rows,
    rate_row,
)
from hipsense.formats.device_file import SessionHeader
from hipsense.sync import protocol as P
from hipsense.sync.serial_transport import SerialTransport
from tests.mpy.harness import unavailable_reason

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
#: The fake LSM6DSOX at its "208 Hz" setting runs at 6667 / 32 Hz, as the real chip does.
CHIP_HZ = 6667 / 32
#: The clip's rate is measured against the laptop's clock from packet arrival times, here with the
#: interpreter and the host sharing a loaded machine: when both are descheduled for seconds the
#: envelope tilts (+7272 ppm for the true +1653 seen in CI) and the check widens its stated bound
#: (docs/device-check.md). The tests hold the check to that bound, and the bound to half the row's
#: tolerance (RATE_TOLERANCE_PPM, 30,000 ppm): narrow enough to tell a good clip from a wrong setting.
#: Measured with 3 to 4 busy loops beside the rig: bounds of 2400 to 11,300 ppm at 6 s lying still.
RATE_TEST_BOUND_PPM = 15_000

pty_rig = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
    pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX"),
]
SHORT = CheckOptions(rest_s=6.0, hold_s=2.0, settle_s=1.0, timeout_s=5.0)
TURN = {"upright": "upright", "face down": "face_down"}


def _poser(clip):
    """The simulated user: turns the clip into the pose each instruction asks for."""

    def prompt(text: str) -> None:
        for words, pose in TURN.items():
            if words in text:
                clip.pose(pose)

    return prompt


def _check(clip, options: CheckOptions = SHORT):
    return asyncio.run(run_check(lambda: SerialTransport.open(clip.port), _poser(clip), options))


def _sessions_on(port: str) -> list[P.SessionEntry]:
    from tests.mpy.pty_device import device_list

    return device_list(port)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HIPSENSE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _pty(fn):
    for mark in pty_rig:
        fn = mark(fn)
    return fn


def _good_clip_check():
    from tests.mpy.pty_clip import PtyClip

    with PtyClip() as clip:
        report = _check(clip)
        left = _sessions_on(clip.port)
    return clip, report, left


@_pty
def test_a_well_built_clip_passes_every_row(home):
    clip, report, left = _good_clip_check()
    for _ in range(2):
        # Only when the check itself says the stream ran late for seconds and its bound is too wide
        # for this test (the rig starved by other tests on the machine): again on a fresh clip, held
        # to the same bound.
        rate = report.row("output rate")
        if not ("late" in rate.detail and (report.rate_ppm_bound or 0) > RATE_TEST_BOUND_PPM):
            break
        clip, report, left = _good_clip_check()
    assert "@@pose upright" in clip.stdout and "@@pose face_down" in clip.stdout, clip.stderr
    rows = {r.name: r for r in report.rows}
    assert list(rows) == [
        "IMU",
        "range settings",
        "flash",
        "battery",
        "Bluetooth",
        "output rate",
        "accelerometer at rest",
        "gyroscope at rest",
        "axes: face up",
        "axes: upright",
        "axes: face down",
    ]
    failed = {n: (r.value, r.detail) for n, r in rows.items() if r.ok is not True}
    assert failed == {}, failed
    assert report.ok
    assert "LSM6DSOX" in rows["IMU"].value and "+-16 g, +-2000 deg/s, 208 Hz" in rows["range settings"].value
    assert rows["battery"].value == "4.00 V, 77 %"
    assert "64 KiB written" in rows["flash"].value or "write" in rows["flash"].value  # WASM ticks: 1 ms
    assert "9.5 MiB free" in rows["flash"].value
    # The fake chip runs at 6667/32 Hz against the header's 208 Hz: +1653 ppm, on the laptop's clock,
    # within the bound the check states, and that bound narrow enough to be of use.
    expected = (CHIP_HZ / 208 - 1) * 1e6
    bound = report.rate_ppm_bound
    assert abs(report.rate_ppm - expected) <= bound <= RATE_TEST_BOUND_PPM, (report.rate_ppm, expected, bound)
    assert f"(+-{bound:.0f})" in rows["output rate"].value
    # The fake's noise (2 mg) and gyroscope offsets (0.3, -0.2, 0.1 deg/s) come back.
    assert re.search(r"bias x \+0\.[23]\d y -0\.[12]\d z \+0\.[01]\d", rows["gyroscope at rest"].value)
    assert "x +1.00" in rows["axes: upright"].value and "z -1.00" in rows["axes: face down"].value
    assert report.session_deleted and left == []  # the check's recording is gone from the clip


@_pty
def test_a_badly_built_clip_fails_exactly_its_faults(home):
    # The IMU soldered turned by 90 degrees (its x reads the clip's -y, its y the clip's x), a clock 6 % fast, a battery at
    # 3.55 V and no Bluetooth: those rows fail, the others pass.
    from tests.mpy.pty_clip import PtyClip

    with PtyClip(mount="turned", rate_ppm=60_000, battery_mv=3550, ble=False) as clip:
        report = _check(clip)
    rows = {r.name: r for r in report.rows}
    failed = sorted(n for n, r in rows.items() if r.ok is False)
    assert failed == ["Bluetooth", "axes: upright", "battery", "output rate"], {
        n: (r.value, r.detail) for n, r in rows.items()
    }
    assert not report.ok
    assert "+y reads it" in rows["axes: upright"].detail and "turned" in rows["axes: upright"].detail
    assert "y +1.00" in rows["axes: upright"].value  # the chip's y lies along the clip's x
    assert report.rate_ppm > RATE_TOLERANCE_PPM and "off" in rows["output rate"].detail
    assert "charge" in rows["battery"].detail
    # Face up and face down read z as they should: a turn in the board's plane keeps z.
    assert rows["axes: face up"].ok and rows["axes: face down"].ok


@_pty
def test_cli_table_and_exit_code_when_the_user_never_turns_the_clip(home, capsys):
    # --yes does not wait: a clip left lying face up fails the upright row, and says what it read.
    from tests.mpy.pty_clip import PtyClip

    with PtyClip() as clip:
        code = main(["device", "check", "--port", clip.port, "--yes", "--seconds", "5"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "Stand the clip upright" in out and "Lay the clip face down" in out
    assert re.search(r"axes: upright\s+.\s+FAIL", out), out
    assert "+z reads" in out  # what it read instead (the table may wrap the rest of the sentence)
    assert re.search(r"output rate\s+.\s+PASS", out), out
    assert "checks failed" in out and "axes: upright" in out.splitlines()[-1]


@_pty
def test_no_clip_and_a_recording_clip_are_one_line(home, capsys):
    from tests.mpy.pty_device import PtyDevice

    master, slave = os.openpty()
    try:
        assert main(["device", "check", "--port", os.ttyname(slave), "--yes"]) == 2
    finally:
        os.close(master)
        os.close(slave)
    with PtyDevice({0x2A: VECTORS / "six_axis_gap_overflow.session"}, recording=0x2A) as dev:
        assert main(["device", "check", "--port", dev.port, "--yes"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 2, err
    assert err[0].startswith("error: no hipsense clip answers on")
    assert err[1].startswith("error: the clip on") and "is recording session 0000002a" in err[1]


@_pty
def test_a_check_that_ends_early_stops_and_deletes_its_recording(home):
    # The user gives up at the second pose (the prompt raises): the error reaches the caller, and the
    # clip is not left recording the check, nor holding its session.
    from tests.mpy.pty_clip import PtyClip

    def prompt(text: str) -> None:
        if "upright" in text:
            raise RuntimeError("the user gave up")

    with PtyClip() as clip:
        with pytest.raises(RuntimeError, match="gave up"):
            asyncio.run(run_check(lambda: SerialTransport.open(clip.port), prompt, SHORT))
        left = _sessions_on(clip.port)
    assert left == []


@_pty
def test_selftest_refuses_while_recording_and_without_room(home):
    # SELFTEST on main.py: refused with 100 KB free (it needs twice its 64 KiB) and while recording;
    # a smaller test fits, is verified, and leaves no scratch file behind.
    from hipsense.sync.client import Client
    from hipsense.sync.errors import DeviceRefused
    from tests.mpy.pty_clip import PtyClip

    async def go(port: str) -> list:
        client = Client(await SerialTransport.open(port), timeout_s=5)
        got: list = []
        try:
            await client.request(P.Type.INFO, parse=P.info_body)
            for kib in (64, 40):
                try:
                    got.append(
                        await client.request(P.Type.SELFTEST, P.selftest_request(kib), P.selftest_body)
                    )
                except DeviceRefused as e:
                    got.append((e.code, str(e)))
            await client.request(P.Type.START, parse=P.u32_body)
            try:
                await client.request(P.Type.SELFTEST, P.selftest_request(8), P.selftest_body)
            except DeviceRefused as e:
                got.append((e.code, str(e)))
            await client.request(P.Type.STOP, parse=P.u32_body)
        finally:
            await client.close()
        return got

    with PtyClip(free_bytes=100_000) as clip:
        no_room, small, recording = asyncio.run(go(clip.port))
        left = _sessions_on(clip.port)
    assert no_room[0] == P.ErrorCode.IO and "detail 28" in no_room[1], no_room  # ENOSPC, nothing written
    assert small == P.SelfTest(40 * 1024, small.write_us, small.read_us, True, True, 0)
    assert recording[0] == P.ErrorCode.STATE
    assert [e.session_id for e in left] == [1]  # the recording
    assert "@@files ['00000001.hsn']" in clip.stdout, clip.stdout  # no scratch file left


def test_seconds_out_of_bounds_is_one_line(capsys):
    assert main(["device", "check", "--port", "/dev/null", "--yes", "--seconds", "nan"]) == 2
    assert "give 5 to 300 seconds" in capsys.readouterr().err


# -- the pieces, with hostile numbers ---------------------------------------------------------------


@pytest.mark.parametrize("ppm", [-20_000, 0, 1653, 60_000])
def test_rate_fit_reads_the_lower_envelope_of_delayed_packets(ppm):
    # Packets of 16 samples, drained in batches of 4 packets every ~77 ms, delayed 0-20 ms one-sided
    # (USB, laptop) plus rare stalls of up to 1 s, delivered in order: the fit follows the envelope,
    # not the delays (least squares on the same packets is off by the stalls' mean).
    rng = np.random.default_rng(3)
    hz = 208 * (1 + ppm / 1e6)
    end = np.arange(1, 20 * 13 + 1) * 16
    taken = end / hz
    batch_end = taken[3::4].repeat(4)[: len(taken)]
    delay = rng.uniform(0, 0.02, len(end)) + np.where(
        rng.random(len(end)) < 0.02, rng.uniform(0, 1, len(end)), 0
    )
    arrival = np.maximum.accumulate(batch_end + delay) + 100.0
    fit = fit_rate(arrival, end, 208.0)
    assert fit is not None
    assert fit.ppm == pytest.approx((fit.hz / 208 - 1) * 1e6)
    # The envelope's precision is the delay spread over the span: 20 ms over 20 s, about 1000 ppm,
    # and the bound it states covers its error. The stalls are caught up at once (every second has
    # a prompt packet), so the bound stays near that precision.
    assert abs(fit.ppm - ppm) < 1000, (fit, ppm)
    assert abs(fit.ppm - ppm) <= fit.bound_ppm < 1500, (fit, ppm)
    assert 0 < fit.se_ppm < 1000 and 0 < fit.behind_s < 0.02
    exact = fit_rate(np.maximum.accumulate(batch_end) + 100.0, end, 208.0)
    assert abs(exact.ppm - ppm) < 1 and exact.bound_ppm < 1  # no delays: the rate itself


def _behind_for_seconds(late_s: float) -> tuple[np.ndarray, np.ndarray]:
    """A +1653 ppm clip streaming 13 s, its packets late 0-20 ms, but for the first 8 s never less
    than ``late_s`` (a busy laptop that caught up only later)."""
    rng = np.random.default_rng(7)
    end = np.arange(1, 13 * 13 + 1) * 16
    taken = end / CHIP_HZ
    late = np.where(taken < 8, late_s, 0.0) + rng.uniform(0, 0.02, len(end))
    return np.maximum.accumulate(taken + late) + 50.0, end


def test_a_stream_that_fell_behind_for_seconds_widens_the_bound():
    # 60 ms late for 8 s tilts the envelope by thousands of ppm: more than the bootstrap's error
    # says (it resamples packets, all of them late alike), but within the bound the fit states.
    expected = (CHIP_HZ / 208 - 1) * 1e6
    arrival, end = _behind_for_seconds(0.06)
    fit = fit_rate(arrival, end, 208.0)
    err = abs(fit.ppm - expected)
    assert err > 1000 and err > 3 * fit.se_ppm, fit
    assert err <= fit.bound_ppm and 0.04 < fit.behind_s < 0.08, fit
    prompt = fit_rate(*_behind_for_seconds(0.0), 208.0)
    assert abs(prompt.ppm - expected) <= prompt.bound_ppm < 0.3 * fit.bound_ppm, prompt


def _live(arrival: np.ndarray, end: np.ndarray) -> LiveSamples:
    s = LiveSamples(0, 6, 208.0)
    s.arrival, s.end_index = list(arrival), list(end)
    return s


def test_rate_row_passes_fails_or_says_not_measured_by_its_bound():
    arrival, end = _behind_for_seconds(0.0)
    row, fit = rate_row(_live(arrival, end), 208.0)
    assert row.ok is True and "late" not in row.detail and f"(+-{fit.bound_ppm:.0f})" in row.value
    row, fit = rate_row(_live(arrival, end), 208.0 / 1.06)  # a clock 6 % off (the header's rate says so)
    assert row.ok is False and fit.ppm > RATE_TOLERANCE_PPM and "% off" in row.detail
    # Late by 0.3 s for 8 s: the bound (tens of thousands of ppm) spans the tolerance; the row says
    # it could not tell, why, and what to do, rather than passing or failing on a tilted envelope.
    arrival, end = _behind_for_seconds(0.3)
    row, fit = rate_row(_live(arrival, end), 208.0)
    assert fit.bound_ppm > RATE_TOLERANCE_PPM - abs(fit.ppm), fit
    assert row.ok is None and row.value.startswith("not measured") and "late" in row.detail, row
    assert "close other programs" in row.detail
    row, fit = rate_row(_live(arrival[:20], end[:20]), 208.0)  # 1.5 s: too short
    assert row.ok is None and fit is None and "fewer than 5 s" in row.detail


def test_rate_fit_refuses_too_little_or_nonsense():
    end = np.arange(1, 30) * 16
    assert fit_rate(end / 208.0, end, 208.0) is None  # 2 s: too short
    end = np.arange(1, 300) * 16
    arrival = end / 208.0
    arrival[5] = np.nan
    assert fit_rate(arrival, end, 208.0) is None
    assert fit_rate(end / 20.0, end, 208.0) is None  # a tenth of the header's rate: not a rate


def _status(**kw) -> P.DeviceStatus:
    base = dict(
        recording=False,
        clock_set=True,
        session_id=0,
        unix_time=0,
        battery_mv=3900,
        battery_pct=66,
        free_kib=12000,
        sessions=0,
        limited=False,
        pairing=False,
    )
    return P.DeviceStatus(**{**base, **kw})


def test_battery_and_flash_rows_bound_what_the_clip_says():
    assert battery_row(_status(battery_mv=65535, battery_pct=255)).ok is False
    assert "not a LiPo" in battery_row(_status(battery_mv=65535)).detail
    assert battery_row(_status(battery_mv=0)).detail.startswith("the battery divider")
    assert battery_row(_status()).ok
    good = P.SelfTest(65536, 200_000, 50_000, True, True, 1)
    assert flash_row(_status(), good, "").ok  # 320 KiB/s
    assert flash_row(_status(), P.SelfTest(65536, 200_000, 50_000, False, True, 1), "").ok is False
    assert "slower" in flash_row(_status(), P.SelfTest(65536, 4_000_000, 1, True, True, 1), "").detail
    assert "less than an hour" in flash_row(_status(free_kib=100), good, "").detail
    none = flash_row(_status(), None, "firmware older than protocol 2.1")
    assert none.ok is None and "2.1" in none.detail


def test_selftest_reply_is_parsed_to_its_exact_size():
    body = (
        (65536).to_bytes(4, "little")
        + (1000).to_bytes(4, "little")
        + (500).to_bytes(4, "little")
        + b"\x01\x01\x02"
    )
    assert P.selftest_body(body) == P.SelfTest(65536, 1000, 500, True, True, 2)
    for bad in (body[:-1], body + b"\x00"):
        with pytest.raises(P.FrameError):
            P.selftest_body(bad)


def test_identity_rows_catch_scales_that_do_not_match_the_ranges():
    info = P.DeviceInfo(2, 1, 4096, "HS-1", "0.2.0", "LSM6DSOX")
    assert all(r.ok for r in identity_rows(info, SessionHeader.default()))
    wrong = SessionHeader.default(
        acc_scale_ms2=SessionHeader.default().acc_scale_ms2 / 8
    )  # a 2 g scale at 16 g
    assert [r.ok for r in identity_rows(info, wrong)] == [True, False]
    narrow = SessionHeader.default(acc_range_g=4)
    assert "at least +-8 g" in identity_rows(info, narrow)[1].detail
    other = P.DeviceInfo(2, 1, 4096, "HS-1", "0.2.0", "BMI270")
    assert identity_rows(other, SessionHeader.default(sensor_model="BMI270"))[0].ok is False


def test_live_packets_that_jump_or_lie_about_their_size_are_dropped(monkeypatch):
    import struct

    s = LiveSamples(0, 6, 208.0)

    def packet(first: int, n: int, extra: bytes = b"") -> P.Frame:
        body = struct.pack("<IBB", first, n, 0) + bytes(12 * n) + extra
        return P.Frame(P.Type.LIVE, 0, body)

    s.add(1.0, packet(0, 16))
    s.add(1.1, packet(0, 16))  # duplicate: skipped
    s.add(1.2, packet(16, 16, b"\x00"))  # size disagrees with n: dropped
    s.add(1.3, packet(0xFFFFFF00, 16))  # a jump of hours: dropped
    s.add(1.4, packet(16, 16))
    assert s.packets == 2 and s.bad_packets == 2 and s.end_index == [16, 32]
    assert s.window(0.0, 2.0).shape == (32, 6)
    # A flood stops at the caps; what was kept stays aligned with its arrival times.
    monkeypatch.setattr("hipsense.device.check_rows.MAX_PACKETS", 3)
    for k in range(2, 6):
        s.add(2.0 + k, packet(16 * k, 16))
    assert s.packets == 3 and s.ignored == 3 and s.window(3.5, 10.0).shape == (16, 6)


def test_every_pose_names_a_chip_axis_and_sign():
    assert [(p[0], "xyz"[p[2]], p[3]) for p in POSES] == [
        ("face up", "z", 1),
        ("upright", "x", 1),
        ("face down", "z", -1),
    ]
