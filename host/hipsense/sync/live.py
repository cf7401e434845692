"""Live streaming: the IMU samples of the session the clip is recording, as they happen.

The clip keeps recording to flash; the stream is a copy. Packets are numbered; missing packets and
samples the clip dropped (a slow link) are gaps on the timeline, recorded as such and never
interpolated: the stream is saved as a session file (the clip's own header, the received samples at
their sample indices), which the analysis reads like any other and whose report lists the gaps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hipsense.formats.device_file import (
    HEADER_MAX,
    HEADER_MIN,
    SessionHeader,
    decode_session,
    encode_session,
    parse_header,
)
from hipsense.sync import protocol as P
from hipsense.sync.auth import KeyRing, authenticate
from hipsense.sync.client import Client
from hipsense.sync.engine import Connect, check_info
from hipsense.sync.errors import DeviceRefused, SyncError

#: the largest forward jump of sample index a LIVE packet may make (the clip's ring holds 2 s)
MAX_JUMP_S = 60
#: A clip streams its samples as it makes them. More than ``MAX_SPEED`` times its rate since the stream
#: began, after a lead of ``LEAD_S`` (the 2 s ring it may send first, the link's delays), is no clip's
#: stream but a device filling this laptop's memory as fast as the link: those packets are dropped.
MAX_SPEED = 1.5
LEAD_S = 5.0
#: A stream with no new LIVE packet for ``STALL_PACKETS`` packet intervals (at least ``STALL_FLOOR_S``,
#: at most ``STALL_CEIL_S``) has stopped: the clip stopped streaming or the link is gone.
STALL_PACKETS = 20
STALL_FLOOR_S = 3.0
STALL_CEIL_S = 30.0
#: sequence numbers are 16-bit: one up to half the space behind the newest is a duplicate or late packet
SEQ_HALF = 0x8000
#: samples the buffers start with (they grow by half when full: 20 bytes a sample, at most 1.5x that)
FIRST_CAPACITY = 4096


@dataclass
class LiveStream:
    """What arrived: the session's header and the samples with their sample indices."""

    header: SessionHeader
    session_id: int
    first_index: int
    started_recording: bool = False
    packets: int = 0
    #: packets missing from the sequence numbers (lost on the link)
    lost_packets: int = 0
    #: packets whose sequence number was the newest's or up to half the 16-bit space behind it
    #: (sent twice, or arrived out of order): dropped
    duplicate_packets: int = 0
    #: packets that said the clip dropped samples before them (the link was too slow)
    dropped_marks: int = 0
    #: packets dropped for bringing samples faster than ``max_speed`` times the clip's rate
    too_fast: int = 0
    max_speed: float = MAX_SPEED
    clock: Callable[[], float] = time.monotonic
    #: why the stream ended before it was asked to (the link lost, the clip stopped streaming), or None
    ended: str | None = None
    _kept: int = 0
    _t0: float = 0.0
    # Samples kept in two preallocated buffers, appended by sample: memory per sample, not per packet.
    _index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    _counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int16))
    _last_seq: int | None = None

    def __post_init__(self) -> None:
        self._t0 = self.clock()
        self._index = np.zeros(FIRST_CAPACITY, np.int64)
        self._counts = np.zeros((FIRST_CAPACITY, self.header.channels), np.int16)

    def add(self, packet: P.LivePacket) -> bool:
        """Take one packet; False when it was a duplicate or late (its sequence number not new)."""
        if self._last_seq is not None:
            ahead = (packet.seq - self._last_seq) & 0xFFFF
            if ahead == 0 or ahead >= SEQ_HALF:  # the same packet again, or one overtaken: not a wrap
                self.duplicate_packets += 1
                return False
            self.lost_packets += ahead - 1
        self._last_seq = packet.seq
        last = int(self._index[self._kept - 1]) if self._kept else self.first_index - 1
        if packet.first_index > last + MAX_JUMP_S * self.header.sample_rate_hz:
            # A jump no dropping clip makes (its ring holds 2 s): a damaged or hostile packet; taking it
            # would make the saved file span an absurd gap. Counted as lost (its sequence number is seen).
            self.lost_packets += 1
            return True
        self.packets += 1
        self.dropped_marks += packet.dropped_before
        n = len(packet.counts)
        if n and packet.first_index > last:  # samples already kept (sent again) skipped
            allowed = (self.clock() - self._t0 + LEAD_S) * self.header.sample_rate_hz * self.max_speed
            if self._kept + n > allowed:
                self.too_fast += 1
                return True
            self._append(packet.first_index, packet.counts)
        return True

    def _append(self, first: int, counts: np.ndarray) -> None:
        k, n = self._kept, len(counts)
        if k + n > len(self._index):
            cap = max(k + n, len(self._index) * 3 // 2)
            index = np.zeros(cap, np.int64)
            index[:k] = self._index[:k]
            grown = np.zeros((cap, self.header.channels), np.int16)
            grown[:k] = self._counts[:k]
            self._index, self._counts = index, grown  # both hold the first k: a Ctrl-C anywhere is safe
        self._counts[k : k + n] = counts
        self._index[k : k + n] = np.arange(first, first + n)
        self._kept = k + n  # last: a Ctrl-C before this leaves the samples not kept

    @property
    def sample_index(self) -> np.ndarray:
        """The kept samples' indices (a read-only view, no copy)."""
        view = self._index[: self._kept]
        view.flags.writeable = False
        return view

    @property
    def counts(self) -> np.ndarray:
        view = self._counts[: self._kept]
        view.flags.writeable = False
        return view

    @property
    def missing_samples(self) -> int:
        k = self._kept
        return int(self._index[k - 1] - self._index[0] + 1 - k) if k else 0

    def session_bytes(self, last_s: float | None = None) -> bytes:
        """The stream (or its last ``last_s`` seconds) as a session file: gaps stay gaps."""
        idx, counts = self.sample_index, self.counts
        if last_s is not None and len(idx):  # indices only grow: the window is a slice, found by bisection
            lo = int(np.searchsorted(idx, idx[-1] - last_s * self.header.sample_rate_hz, side="left"))
            idx, counts = idx[lo:], counts[lo:]
        start = int(idx[0]) if len(idx) else 0
        header = dataclasses.replace(
            self.header,
            start_time_unix=self.header.start_time_unix + int(start / self.header.sample_rate_hz)
            if self.header.start_time_unix
            else 0,
        )
        return encode_session(header, counts, sample_index=idx - start)

    def metrics(self, last_s: float = 30.0) -> dict[str, Any]:
        """Cadence, contact time and left/right balance over the last ``last_s`` seconds (None when
        the analysis finds no running there)."""
        from hipsense.analysis import analyse
        from hipsense.formats.session_input import recording_from_session

        out: dict[str, Any] = {
            "cadence_spm": None,
            "contact_ms_L": None,
            "contact_ms_R": None,
            "balance_pct": None,
        }
        if self._kept < 5 * self.header.sample_rate_hz:
            return out
        # The figures are a glance on a live table: numpy's warnings on still or flat data (a divide by
        # zero) would scroll through it every update; dashes say the same.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                steps = analyse(
                    recording_from_session(decode_session(self.session_bytes(last_s))), n_boot=0
                ).steps
            except Exception:  # noqa: BLE001 - no running (yet), too few steps, mounting unclear: dashes
                return out
            steps = steps[steps["activity"] == "run"]
            if len(steps) < 4:
                return out
            out["cadence_spm"] = float(np.nanmedian(steps["cadence_spm"]))
            contact = {s: steps.loc[steps["side"] == s, "contact_time_s"].median() * 1000 for s in "LR"}
            if not any(np.isnan(v) for v in contact.values()):
                out["contact_ms_L"], out["contact_ms_R"] = float(contact["L"]), float(contact["R"])
                out["balance_pct"] = float(
                    100 * (contact["R"] - contact["L"]) / ((contact["R"] + contact["L"]) / 2)
                )
        return out


def stall_limit(per_packet_s: float, packets: int, elapsed_s: float) -> float:
    """Seconds without a new packet after which the stream has stopped: ``STALL_PACKETS`` packet
    intervals (the LIVE_START's, or the slower one seen so far), within the floor and the ceiling."""
    interval = max(per_packet_s, elapsed_s / packets if packets >= 2 else 0.0)
    return min(STALL_CEIL_S, max(STALL_FLOOR_S, STALL_PACKETS * interval))


async def read_session_header(client: Client, session_id: int) -> SessionHeader:
    """The header of a session on the clip (the one being recorded too), read from its file's first
    bytes; its length is bounded before anything is read by it. Used by live and `device check`."""
    data = b""
    while len(data) < HEADER_MIN:
        _, chunk = await client.request(P.Type.READ, P.read_request(session_id, len(data), 4096), P.read_body)
        if not chunk:
            raise SyncError(f"the clip's session {session_id:08x} has no header yet")
        data += chunk
    length = int.from_bytes(data[8:12], "little")
    if not HEADER_MIN <= length <= HEADER_MAX:  # from the device: bounded before anything is read by it
        raise SyncError(
            f"the clip's session {session_id:08x} says its header has {length} bytes "
            f"(outside {HEADER_MIN}..{HEADER_MAX}); cannot stream it"
        )
    while len(data) < length:
        _, chunk = await client.request(P.Type.READ, P.read_request(session_id, len(data), 4096), P.read_body)
        if not chunk:
            break
        data += chunk
    header, _ = parse_header(data[:length], Path(f"clip session {session_id:08x}"))
    return header


async def stream_live(
    connect: Connect,
    seconds: float | None = None,
    *,
    on_update: Callable[[LiveStream], None] | None = None,
    update_s: float = 3.0,
    timeout_s: float = 2.0,
    stop: asyncio.Event | None = None,
    on_start: Callable[[LiveStream], None] | None = None,
    keys: KeyRing | None = None,
    max_speed: float = MAX_SPEED,
) -> LiveStream:
    """Stream until ``seconds`` have passed or ``stop`` is set (Ctrl-C in the CLI); returns the stream.

    ``on_start`` gets the stream as soon as it exists and before samples arrive, so that a caller whose
    wait is interrupted (KeyboardInterrupt, cancellation) still holds what arrived until then.
    ``max_speed``: see :data:`MAX_SPEED` (a test's simulated clip may stream faster than it records)."""
    client = Client(await connect(), timeout_s=timeout_s)
    try:
        info = await client.request(P.Type.INFO, parse=P.info_body)
        check_info(info, client.transport.name)
        if not client.transport.physical:
            await authenticate(client, keys, info)
        started = False
        try:
            live = await client.request(P.Type.LIVE_START, parse=P.live_start_body)
        except DeviceRefused as e:
            if e.code != P.ErrorCode.STATE:
                raise
            await client.request(P.Type.START, parse=P.u32_body)  # not recording: start, then stream
            started = True
            live = await client.request(P.Type.LIVE_START, parse=P.live_start_body)
        header = await read_session_header(client, live.session_id)
        if live.channels != header.channels:  # from the device: the packets are parsed by it
            raise SyncError(
                f"the clip streams {live.channels} channels but its session {live.session_id:08x} has "
                f"{header.channels}; cannot stream it"
            )
        result = LiveStream(header, live.session_id, live.first_index, started, max_speed=max_speed)
        if on_start:
            on_start(result)
        t0 = last_new = time.monotonic()
        next_update = t0 + update_s
        per_packet_s = live.per_packet / header.sample_rate_hz
        # Silence is counted only while listening (not while the figures are computed, when the loop
        # cannot take packets in): time spent waiting, or on frames that bring no new packet.
        quiet = 0.0
        try:
            while (seconds is None or time.monotonic() - t0 < seconds) and not (stop and stop.is_set()):
                now = time.monotonic()
                drained = client.unsolicited.empty()
                if drained and client.lost is not None:  # the transport saw the link drop
                    result.ended = f"{client.lost} (after {now - t0:.0f} s of stream)"
                    break
                silence = stall_limit(per_packet_s, result.packets, last_new - t0)
                if drained and quiet > silence:
                    result.ended = (
                        f"the clip stopped streaming or the link was lost: no packet for {silence:.0f} s, "
                        f"after {last_new - t0:.0f} s of stream"
                    )
                    break
                deadline = min(next_update, now + silence - quiet, t0 + seconds if seconds else next_update)
                wait = min(0.25, max(0.05, deadline - now))  # 0.25: a dropped link is seen within it
                try:
                    frame: P.Frame | None = await asyncio.wait_for(client.unsolicited.get(), wait)
                except asyncio.TimeoutError:
                    frame = None
                new = False
                if frame is not None:
                    try:
                        new = result.add(P.live_packet(frame, live.channels))
                    except P.FrameError:
                        result.lost_packets += 1
                if new:
                    last_new, quiet = time.monotonic(), 0.0
                else:
                    quiet += time.monotonic() - now
                if on_update and time.monotonic() >= next_update:
                    on_update(result)
                    next_update += update_s
        finally:
            try:  # a silent clip gets one try, not the full retries: the link may be what went silent
                await client.request(
                    P.Type.LIVE_STOP, parse=P.empty_body, retries=1 if result.ended else None
                )
            except SyncError:
                pass  # the link is gone: the clip stops streaming when its link closes
        return result
    finally:
        await client.close()
