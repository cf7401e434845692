"""Recovering a session file whose header is damaged (docs/session-format.md, "Reading").

:func:`read_header` is the reader's entry: an intact header is parsed and bounded
(:func:`~hipsense.formats.session_header.parse_header`); when the header's CRC fails and blocks are
there, :func:`recover_header` takes every field from the 1.1 header copy in the end block, or else
what the blocks carry (block size, header length, session id, channel count, the sample rate through
their times) from them, repairs a range or scale factor from its partner, and takes the rest from the
damaged header when it passes the bounds. The result is flagged; what cannot be recovered is one line.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from hipsense.conventions import ACC_LSB_MG, GYR_LSB_MDPS
from hipsense.errors import SessionFileError
from hipsense.formats import codec
from hipsense.formats.session_header import (
    build_header,
    check_bounds,
    header_fields,
    parse_header,
    scale_warnings,
)
from hipsense.formats.session_spec import (
    BLOCK_DATA,
    BLOCK_DTYPE,
    BLOCK_END,
    BLOCK_HEADER,
    BLOCK_MAGIC,
    BLOCK_SIZE_MAX,
    BLOCK_SIZE_MIN,
    CODEC_RICE,
    END_STRUCT,
    FORMAT_VERSION,
    HEADER_FIXED,
    HEADER_MAGIC,
    HEADER_MIN,
    ODR_MHZ_MAX,
    RATE_MHZ_MAX,
    RATE_MHZ_MIN,
    START_TIME_MAX,
    START_TIME_MIN,
    SessionHeader,
)

#: Rates the supported IMUs record at (ST and TDK output data rates), for a rate recovered from times.
STANDARD_RATES_HZ = (12.5, 25, 26, 50, 52, 100, 104, 200, 208, 416, 500, 833, 1000, 1666)
#: At most this many block markers are tried when looking for the first block of a damaged header.
_MAX_CANDIDATES = 64


def _first_block(data: bytes) -> tuple[int, int] | None:
    """(offset, block size) of the first block marker whose CRC holds for some block size."""
    start, tried = 4, 0
    while tried < _MAX_CANDIDATES:
        o = data.find(BLOCK_MAGIC, start)
        if o < 0:
            return None
        tried += 1
        if o >= HEADER_MIN - 4 and o + BLOCK_SIZE_MIN <= len(data) and data[o + 4] == FORMAT_VERSION[0]:
            bs = BLOCK_SIZE_MIN
            while bs <= BLOCK_SIZE_MAX and o + bs <= len(data):
                if (
                    zlib.crc32(memoryview(data)[o : o + bs - 4])
                    == struct.unpack_from("<I", data, o + bs - 4)[0]
                ):
                    return o, bs
                bs *= 2
        start = o + 1
    return None


def _grid_heads(data: bytes, first: int, bs: int) -> tuple[np.ndarray, np.ndarray]:
    """Headers of the CRC-valid blocks on the grid from ``first`` on and their slot numbers."""
    n = (len(data) - first) // bs
    buf = np.frombuffer(data, np.uint8, count=first + n * bs)[first:].reshape(n, bs)
    crcs = np.ascontiguousarray(buf[:, bs - 4 :]).view("<u4").ravel()
    mv = memoryview(data)
    ok = (
        np.array([zlib.crc32(mv[first + i * bs : first + (i + 1) * bs - 4]) for i in range(n)], np.uint32)
        == crcs
    )
    return np.ascontiguousarray(buf[ok, :BLOCK_HEADER]).view(BLOCK_DTYPE).ravel(), np.flatnonzero(ok)


def _rate_from_times(heads: np.ndarray) -> float | None:
    """Sample rate (Hz) from the data blocks' first_index against their device times (>= 2 s apart)."""
    d = heads[heads["type"] == BLOCK_DATA]
    if len(d) < 2:
        return None
    t = d["t_ms"].astype(np.int64)
    i = d["first_index"].astype(np.int64)
    if t[-1] - t[0] < 2000 or i[-1] <= i[0]:
        return None
    return float((i[-1] - i[0]) * 1000 / (t[-1] - t[0]))


def _channels_that_decode(data: bytes, offset: int, head: np.void, preferred: int) -> int | None:
    n, plen = int(head["n_samples"]), int(head["payload_len"])
    if n == 0 or plen > len(data) - offset - BLOCK_HEADER:
        return None
    payload = data[offset + BLOCK_HEADER : offset + BLOCK_HEADER + plen]
    for c in dict.fromkeys((preferred, 6, 3)):
        if c not in (3, 6) or 8 * (plen - codec.ORDERS_BYTES) < c * n:
            continue
        try:
            codec.decode_payload(payload, n, c)
        except Exception:  # a probe: any failure only means "not this channel count"
            continue
        return c
    return None


def _header_copy(
    data: bytes, first: int, bs: int, heads: np.ndarray, slots: np.ndarray, name: Path
) -> tuple[SessionHeader, list[str], str] | None:
    """The header from the copy a 1.1 end block carries (protected by the end block's CRC), if any."""
    for r in np.flatnonzero(
        (heads["type"] == BLOCK_END) & (heads["payload_len"] >= END_STRUCT.size + HEADER_FIXED)
    ):
        o = first + int(slots[r]) * bs + BLOCK_HEADER + END_STRUCT.size
        copy = data[o : o + HEADER_FIXED]
        if copy[:4] != HEADER_MAGIC or copy[4] != FORMAT_VERSION[0]:
            continue
        f = header_fields(copy)
        if f["block_size"] != bs or f["session_id"] != int(heads["session_id"][r]):
            continue
        try:
            check_bounds(f, name)
        except SessionFileError as e:
            raise SessionFileError(
                name, f"damaged header, and its copy is refused: {e.problem}", offset=e.offset
            ) from None
        warn: list[str] = []
        header = build_header(f, warn)
        warn += scale_warnings(header)
        where = first + int(slots[r]) * bs
        return (
            header,
            warn,
            f"every field from the header copy in the end block at byte offset {where} (CRC valid)",
        )
    return None


def _recovered_rate(rate_mhz: int, est: float | None, notes: list[str]) -> int:
    """The header's rate when the block times confirm it, else the standard rate (or estimate) they give.

    A header rate that is a standard IMU rate within 10 % of the estimate is kept; a damaged one close
    to the estimate (a flipped low bit) is replaced by the standard rate within 2 % of the estimate."""
    if est is None:
        return rate_mhz
    near = min(STANDARD_RATES_HZ, key=lambda r: abs(r / est - 1))
    close = RATE_MHZ_MIN <= rate_mhz <= RATE_MHZ_MAX and abs(rate_mhz / 1000 / est - 1) < 0.1
    if close and rate_mhz in {round(1000 * r) for r in STANDARD_RATES_HZ}:
        notes.append("sample rate checked against the block times")
        return rate_mhz
    if abs(near / est - 1) < 0.02:
        out = round(1000 * near)
    elif close:
        notes.append("sample rate checked against the block times")
        return rate_mhz
    else:
        out = round(1000 * est)
    if out != rate_mhz:
        notes.append(f"sample rate {out / 1000:g} Hz from the block times (the header said {rate_mhz} mHz)")
    return out


def _family_scales(kind: str, rng: int) -> dict[str, int]:
    """Per-count scale of a range in file units (ng or ndps), for ST (datasheet table) and TDK (range/32768)."""
    st = ACC_LSB_MG.get(rng, 0) * 1e6 if kind == "acc" else GYR_LSB_MDPS.get(rng, 0) * 1e6
    return {"st": round(st), "tdk": round(rng * 1e9 / 32768)}


def _repaired_sensor_fields(f: dict, channels: int, notes: list[str]) -> dict:
    """A range or scale factor outside the IMUs' standard values, rebuilt from its partner field.

    The range must be one the chips have and the scale one of the two families' values for it (ST's
    datasheet table, TDK's full scale / 32768, within 1 %); when one of the pair is off and the other
    is standard, the damaged one is derived from it (the family by the sensor model's name)."""
    out = {}
    pairs = [("acc", "acc_range", "acc_ng", tuple(ACC_LSB_MG))]
    if channels == 6:
        pairs.append(("gyr", "gyr_range", "gyr_ndps", tuple(GYR_LSB_MDPS)))
    model = f["sensor"].split(b"\0", 1)[0].upper()
    family = "tdk" if model.startswith(b"ICM") else "st" if model.startswith(b"LSM") else None
    for kind, rkey, skey, ranges in pairs:
        rng, scale = f[rkey], f[skey]
        fits = [
            (r, fam)
            for r in ranges
            for fam, v in _family_scales(kind, r).items()
            if v and abs(scale / v - 1) < 0.01
        ]
        if rng in ranges and any(r == rng for r, _ in fits):
            continue
        if rng in ranges and family is not None:
            out[skey] = _family_scales(kind, rng)[family]
            notes.append(f"{skey} {scale} did not fit the range {rng}: {out[skey]} from the range")
        elif rng not in ranges and fits:
            out[rkey] = fits[0][0]
            notes.append(f"{rkey} {rng} is not a range the IMUs have: {out[rkey]} from the scale factor")
    return out


def recover_header(data: bytes, name: Path, damage: SessionFileError) -> tuple[SessionHeader, list[str], str]:
    """A header for a file whose own header is damaged, from its blocks and what of it passes the bounds.

    Returns the header, its warnings and a one-line account of what was recovered. Raises ``damage``
    (the original error) when there is no block to recover from, or a one-line SessionFileError naming
    the field that cannot be recovered.
    """
    if len(data) < HEADER_MIN or data[:4] == BLOCK_MAGIC:
        raise damage
    found = _first_block(data)
    if found is None:
        raise damage
    first, bs = found
    heads, slots = _grid_heads(data, first, bs)
    copied = _header_copy(data, first, bs, heads, slots, name)
    if copied is not None:
        return copied
    f = header_fields(data)
    sid = int(heads["session_id"][0])
    heads = heads[heads["session_id"] == sid]
    hl = f["header_length"]
    # The header's length when it agrees with the grid of blocks, else where the first block is.
    if not (HEADER_MIN <= hl <= first and (first - hl) % bs == 0):
        hl = first - int(heads["seq"][0]) * bs if first - int(heads["seq"][0]) * bs >= HEADER_MIN else first
    data_rows = np.flatnonzero(heads["type"] == BLOCK_DATA)
    channels = f["channels"]
    if len(data_rows):
        r = int(data_rows[0])
        channels = _channels_that_decode(data, first + int(slots[r]) * bs, heads[r], f["channels"])
        if channels is None:
            raise SessionFileError(name, "header damaged and no block decodes: cannot recover", offset=0)
    elif channels not in (3, 6):
        raise SessionFileError(name, "header damaged and its channel count cannot be recovered", offset=6)
    notes = [f"block size {bs}, header length {hl}, session id {sid} and {channels} channels from the blocks"]
    rate_mhz = _recovered_rate(f["rate_mhz"], _rate_from_times(heads), notes)
    start = f["start_time"]
    warn: list[str] = []
    if start != 0 and not (START_TIME_MIN <= start < START_TIME_MAX):
        notes.append(f"start time {start} out of bounds, read as unknown")
        start = 0
    if f["odr_mhz"] > ODR_MHZ_MAX:
        notes.append(f"output data rate {f['odr_mhz']} mHz out of bounds, read as the sample rate")
    fixed = dict(
        odr_mhz=f["odr_mhz"] if f["odr_mhz"] <= ODR_MHZ_MAX else 0,
        **_repaired_sensor_fields(f, channels, notes),
        channels=channels,
        codec=CODEC_RICE,
        block_size=bs,
        header_length=hl,
        session_id=sid,
        rate_mhz=rate_mhz,
        start_time=start,
        # A damaged limit must not refuse the blocks: at least the largest count a valid block holds.
        max_samples=max(
            f["max_samples"], int(heads["n_samples"][heads["type"] == BLOCK_DATA].max(initial=1))
        ),
        major=FORMAT_VERSION[0],
    )
    try:
        check_bounds(f | fixed, name)  # what is left of the header must still pass
    except SessionFileError as e:
        raise SessionFileError(
            name, f"damaged header, cannot recover: {e.problem}", offset=e.offset
        ) from None
    header = build_header(f, warn, **fixed)
    notes.append("start time, ranges, scale factors and device names from the damaged header, unverified")
    warn += scale_warnings(header)
    return header, warn, "; ".join(notes)


def read_header(data: bytes, name: Path) -> tuple[SessionHeader, list[str], str | None]:
    """The header, its warnings and, when it was damaged and recovered, what was recovered (else None)."""
    try:
        header, warn = parse_header(data, name)
        return header, warn, None
    except SessionFileError as e:
        # Only a header whose CRC fails (or whose fields are nonsense behind a broken CRC) is damaged;
        # a file that is not a session file at all or a newer major is refused as before.
        if "CRC mismatch" not in e.problem and not _crc_broken(data):
            raise
        return recover_header(data, name, e)


def _crc_broken(data: bytes) -> bool:
    """Whether the file starts like a session header (3 of 4 magic bytes) whose CRC does not hold."""
    if len(data) < 12 or sum(a == b for a, b in zip(data[:4], HEADER_MAGIC, strict=True)) < 3:
        return False
    hl = struct.unpack_from("<I", data, 8)[0]
    if not (HEADER_MIN <= hl <= len(data)):
        return True
    return zlib.crc32(memoryview(data)[: hl - 4]) != struct.unpack_from("<I", data, hl - 4)[0]
