"""Device session file format 1: the constants, structures and dataclasses shared by reader and writer.

The byte-level specification is ``docs/session-format.md``. :mod:`~hipsense.formats.session_writer`
writes files, :mod:`~hipsense.formats.session_reader` reads them (with
:mod:`~hipsense.formats.session_header` for the header and :mod:`~hipsense.formats.session_blocks`
for finding the blocks); :mod:`hipsense.formats.device_file` re-exports all of them.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hipsense.conventions import (
    ACC_LSB_MG,
    DEFAULT_ACC_RANGE_G,
    DEFAULT_GYR_RANGE_DPS,
    DEFAULT_SAMPLE_RATE_HZ,
    GYR_LSB_MDPS,
    SENSOR_ACC,
    SENSOR_GYR,
    TIME_COLUMN,
    G,
)

#: (major, minor) written by default. Readers accept any minor of their major.
FORMAT_VERSION = (1, 0)
#: The newest version this reader knows: 1.1 adds the header copy in the end block (see END_COPY_MINOR).
READER_VERSION = (1, 1)
#: Minor version whose end block carries a copy of the header's fixed fields after its 16 bytes.
END_COPY_MINOR = 1
HEADER_MAGIC = b"HSNS"
BLOCK_MAGIC = b"HSBK"
CODEC_RICE = 1

#: Header fields before the reserved area: see docs/session-format.md, "Header".
HEADER_STRUCT = struct.Struct("<4sBBBBIIIIIHHIIQHBBI16s16s16s")
HEADER_FIXED = HEADER_STRUCT.size  # 104
HEADER_MIN = HEADER_FIXED + 4  # fixed fields + CRC
HEADER_MAX = 1 << 20
#: Block header: see docs/session-format.md, "Block".
BLOCK_STRUCT = struct.Struct("<4sBBHIIIIHHI")
BLOCK_HEADER = BLOCK_STRUCT.size  # 32
BLOCK_OVERHEAD = BLOCK_HEADER + 4  # + CRC
END_STRUCT = struct.Struct("<IIIB3x")  # end block payload
BLOCK_SIZE_MIN = 256
BLOCK_SIZE_MAX = 65536

BLOCK_DATA = 1
BLOCK_END = 2
FLAG_GAP = 0x0001
FLAG_OVERFLOW = 0x0002
KNOWN_FLAGS = FLAG_GAP | FLAG_OVERFLOW

# Bounds on what a file may say (docs/session-format.md, "Bounds"). Everything outside is refused
# where it is read, with the field's name: a file comes from a device or a radio and is untrusted.
#: start_time_unix: 0 (clock not set) or within 2000-01-01 .. 2100-01-01 UTC.
START_TIME_MIN = 946_684_800
START_TIME_MAX = 4_102_444_800
#: sample_rate_mhz: 10 .. 2000 Hz covers every rate the supported IMUs record at.
RATE_MHZ_MIN = 10_000
RATE_MHZ_MAX = 2_000_000
#: odr_mhz: 0 (= the sample rate) or up to the fastest IMU output data rate (32 kHz).
ODR_MHZ_MAX = 32_000_000
ACC_RANGE_G_MAX = 64
GYR_RANGE_DPS_MAX = 8000
#: acc_scale_ng: 0.001 .. 10 mg per count; gyr_scale_ndps: 0.1 mdps .. 1 dps per count.
ACC_SCALE_NG_MIN, ACC_SCALE_NG_MAX = 1_000, 10_000_000
GYR_SCALE_NDPS_MIN, GYR_SCALE_NDPS_MAX = 100_000, 1_000_000_000
#: Missing samples a session may have beyond what its damaged bytes could have held: one hour at the
#: header's rate. A block whose first_index jumps further is refused, so the span of sample indices
#: (what the analysis allocates a timeline for) is bounded by the file's size plus this.
MAX_MISSING_S = 3600

#: Mounting hint codes (header byte 50).
MOUNTINGS = {0: "unknown", 1: "back", 2: "side-left", 3: "side-right", 4: "front"}
MOUNTING_CODES = {v: k for k, v in MOUNTINGS.items()}
#: Close reasons (end block).
CLOSE_REASONS = {
    1: "user_stop",
    2: "storage_full",
    3: "low_battery",
    4: "recovered_after_power_cut",
    5: "no_running",
}
CLOSE_CODES = {v: k for k, v in CLOSE_REASONS.items()}

BLOCK_DTYPE = np.dtype(
    [
        ("magic", "S4"),
        ("version", "u1"),
        ("type", "u1"),
        ("flags", "<u2"),
        ("session_id", "<u4"),
        ("seq", "<u4"),
        ("first_index", "<u4"),
        ("t_ms", "<u4"),
        ("n_samples", "<u2"),
        ("payload_len", "<u2"),
        ("lost", "<u4"),
    ]
)
assert BLOCK_DTYPE.itemsize == BLOCK_HEADER

#: Per data block, as returned in :attr:`DecodedSession.block_table`.
BLOCK_TABLE_DTYPE = np.dtype(
    [
        ("offset", "<i8"),
        ("seq", "<u4"),
        ("first_index", "<i8"),
        ("n_samples", "<i4"),
        ("t_ms", "<u4"),
        ("flags", "<u2"),
        ("lost", "<u4"),
    ]
)


class SessionFileWarning(UserWarning):
    """Something in a session file was damaged or unusual but the rest could be read."""


class TornTailWarning(SessionFileWarning):
    """The file ends inside a block (recording cut off while a block was written)."""


class CorruptBlockWarning(SessionFileWarning):
    """Blocks failed their checks (CRC, magic, ...) and were skipped."""


class HeaderRecoveredWarning(SessionFileWarning):
    """The header was damaged; the session was read with fields recovered from its blocks."""


@dataclass
class SessionHeader:
    """What the device knew when the session started. Scale factors are SI units per count."""

    device_id: str
    firmware_version: str
    sensor_model: str
    session_id: int
    sample_rate_hz: float
    channels: int  # 6 = acc + gyr, 3 = acc only
    acc_range_g: int
    gyr_range_dps: int
    acc_scale_ms2: float  # m/s^2 per count
    gyr_scale_dps: float  # deg/s per count
    mounting: str  # one of MOUNTINGS' values
    start_time_unix: int  # s; 0 when the device clock was not set
    block_size: int = 2048
    #: Sensor output data rate setting (Hz); None = the same as ``sample_rate_hz``.
    odr_hz: float | None = None
    #: Most samples a block may hold (bounds the device's RAM; part of the encoding rule).
    block_max_samples: int = 1024
    #: Bytes before the first block; None = ``block_size`` (blocks aligned to the block size).
    header_length: int | None = None
    codec: int = CODEC_RICE
    format_version: tuple[int, int] = FORMAT_VERSION
    flags: int = 0

    @classmethod
    def default(cls, **overrides) -> SessionHeader:
        """An LSM6DSOX-like header at the project defaults (208 Hz, +-16 g, +-2000 dps, 6 channels)."""
        acc_range = overrides.get("acc_range_g", DEFAULT_ACC_RANGE_G)
        gyr_range = overrides.get("gyr_range_dps", DEFAULT_GYR_RANGE_DPS)
        values = dict(
            device_id="hipsense-sim",
            firmware_version="0.0.0",
            sensor_model="LSM6DSOX",
            session_id=1,
            sample_rate_hz=DEFAULT_SAMPLE_RATE_HZ,
            channels=6,
            acc_range_g=acc_range,
            gyr_range_dps=gyr_range,
            mounting="back",
            start_time_unix=0,
        )
        if "acc_scale_ms2" not in overrides:
            values["acc_scale_ms2"] = ACC_LSB_MG[acc_range] * 1e-3 * G
        if "gyr_scale_dps" not in overrides:
            values["gyr_scale_dps"] = GYR_LSB_MDPS[gyr_range] * 1e-3 if gyr_range else 0.0
        values.update(overrides)
        return cls(**values)

    # Integer forms as stored in the file.
    @property
    def acc_scale_ng(self) -> int:
        """Acceleration scale in nano-g per count, as stored."""
        return int(round(self.acc_scale_ms2 / G * 1e9))

    @property
    def gyr_scale_ndps(self) -> int:
        """Angular-rate scale in nano-deg/s per count, as stored."""
        return int(round(self.gyr_scale_dps * 1e9))

    @property
    def sample_rate_mhz(self) -> int:
        return int(round(self.sample_rate_hz * 1000))

    @property
    def odr_mhz(self) -> int:
        return int(round((self.odr_hz if self.odr_hz is not None else self.sample_rate_hz) * 1000))

    @property
    def header_bytes(self) -> int:
        return self.block_size if self.header_length is None else self.header_length

    @property
    def payload_capacity(self) -> int:
        return self.block_size - BLOCK_OVERHEAD

    def validate(self) -> None:
        """Raise ValueError when the header cannot be written as it is."""
        problems = []
        if self.channels not in (3, 6):
            problems.append(f"channels must be 3 or 6, not {self.channels}")
        bs = self.block_size
        if not (BLOCK_SIZE_MIN <= bs <= BLOCK_SIZE_MAX) or bs & (bs - 1):
            problems.append(f"block_size must be a power of two in 256..65536, not {bs}")
        if not (HEADER_MIN <= self.header_bytes <= HEADER_MAX):
            problems.append(f"header_length must be in {HEADER_MIN}..{HEADER_MAX}, not {self.header_bytes}")
        if not (1 <= self.block_max_samples <= 0xFFFF):
            problems.append(f"block_max_samples must be in 1..65535, not {self.block_max_samples}")
        # The writer refuses what the reader would refuse (docs/session-format.md, "Bounds").
        if not (RATE_MHZ_MIN <= self.sample_rate_mhz <= RATE_MHZ_MAX):
            problems.append(f"sample_rate_hz must be in 10..2000 Hz, not {self.sample_rate_hz}")
        if not (0 <= self.odr_mhz <= ODR_MHZ_MAX):
            problems.append(f"odr_hz out of range: {self.odr_hz}")
        if not (0 <= self.session_id <= 0xFFFFFFFF):
            problems.append(f"session_id must fit 32 bits, not {self.session_id}")
        if self.start_time_unix != 0 and not (START_TIME_MIN <= self.start_time_unix < START_TIME_MAX):
            problems.append(f"start_time_unix must be 0 or within 2000..2100, not {self.start_time_unix}")
        if not (0 <= self.acc_range_g <= 0xFFFF and 0 <= self.gyr_range_dps <= 0xFFFF):
            problems.append("ranges must fit 16 bits")
        if not (0 <= self.acc_scale_ng <= 0xFFFFFFFF and 0 <= self.gyr_scale_ndps <= 0xFFFFFFFF):
            problems.append("scale factors out of range")
        else:
            problems += [f"{name} {why}" for name, why in sensor_field_problems(self)]
        if self.mounting not in MOUNTING_CODES:
            problems.append(f"mounting must be one of {sorted(MOUNTING_CODES)}, not {self.mounting!r}")
        if self.codec != CODEC_RICE:
            problems.append(f"codec {self.codec} is not supported by this writer")
        if tuple(self.format_version)[0] != FORMAT_VERSION[0]:
            problems.append(f"format_version {self.format_version} is not written by this module")
        if not (0 <= self.flags <= 0xFFFFFFFF):
            problems.append("flags must fit 32 bits")
        for name in ("device_id", "firmware_version", "sensor_model"):
            raw = getattr(self, name).encode("utf-8")
            if len(raw) > 16 or b"\0" in raw:
                problems.append(f"{name} must be at most 16 UTF-8 bytes without NUL: {getattr(self, name)!r}")
        if problems:
            raise ValueError("invalid session header: " + "; ".join(problems))

    def to_bytes(self) -> bytes:
        """The header as stored (``header_bytes`` long, CRC last)."""
        self.validate()
        fixed = HEADER_STRUCT.pack(
            HEADER_MAGIC,
            self.format_version[0],
            self.format_version[1],
            self.channels,
            self.codec,
            self.header_bytes,
            self.block_size,
            self.session_id,
            self.odr_mhz,
            self.sample_rate_mhz,
            self.acc_range_g,
            self.gyr_range_dps,
            self.acc_scale_ng,
            self.gyr_scale_ndps,
            self.start_time_unix,
            self.block_max_samples,
            MOUNTING_CODES[self.mounting],
            0,
            self.flags,
            self.device_id.encode("utf-8"),
            self.firmware_version.encode("utf-8"),
            self.sensor_model.encode("utf-8"),
        )
        body = fixed + bytes(self.header_bytes - 4 - len(fixed))
        return body + struct.pack("<I", zlib.crc32(body))


def sensor_field_problems(h: SessionHeader) -> list[tuple[str, str]]:
    """(field, what is wrong) for the ranges and scale factors outside what an IMU can have."""
    out = []
    if not (1 <= h.acc_range_g <= ACC_RANGE_G_MAX):
        out.append(("acc_range_g", f"{h.acc_range_g} is outside 1..{ACC_RANGE_G_MAX} g"))
    if not (ACC_SCALE_NG_MIN <= h.acc_scale_ng <= ACC_SCALE_NG_MAX):
        out.append(("acc_scale_ng", f"{h.acc_scale_ng} is outside {ACC_SCALE_NG_MIN}..{ACC_SCALE_NG_MAX} ng"))
    if h.channels == 6:
        if not (1 <= h.gyr_range_dps <= GYR_RANGE_DPS_MAX):
            out.append(("gyr_range_dps", f"{h.gyr_range_dps} is outside 1..{GYR_RANGE_DPS_MAX} deg/s"))
        if not (GYR_SCALE_NDPS_MIN <= h.gyr_scale_ndps <= GYR_SCALE_NDPS_MAX):
            out.append(
                (
                    "gyr_scale_ndps",
                    f"{h.gyr_scale_ndps} is outside {GYR_SCALE_NDPS_MIN}..{GYR_SCALE_NDPS_MAX} ndps",
                )
            )
    return out


@dataclass
class DecodeReport:
    """What went wrong or was noteworthy while decoding; never silent.

    ``blocks`` counts every whole block in the file (data, end, corrupt, unknown); ``gaps`` lists
    every run of missing sample indices (before the first block too, and where corrupt blocks were
    skipped) as (first missing index, count). ``damaged_bytes`` and ``lost_samples`` say what was lost
    and why (:func:`~hipsense.formats.session_reader.format_losses` puts them in words).
    """

    blocks: int
    corrupt_blocks: list[tuple[int, str]]  # (byte offset, problem)
    gaps: list[tuple[int, int]]  # (first missing sample index, count)
    overflow_lost: int
    torn_tail_bytes: int
    close_reason: str | None
    warnings: list[str]
    data_blocks: int = 0
    #: (index of the first sample after the overflow, samples lost) per block flagged with an overflow.
    overflow_events: list[tuple[int, int]] = field(default_factory=list)
    #: What the end block says (None without one): total_samples, data_blocks, overflow_lost, next_index.
    end_block: dict | None = None
    #: Byte ranges that were not used: (start offset, end offset (exclusive), why).
    damaged_bytes: list[tuple[int, int, str]] = field(default_factory=list)
    #: One per gap: (first missing sample index, count, why: not recorded, overflow, damaged bytes...).
    lost_samples: list[tuple[int, int, str]] = field(default_factory=list)
    #: None when the header was intact; otherwise what was recovered and how (the session is flagged).
    header_recovered: str | None = None


@dataclass
class DecodedSession:
    path: Path | None
    header: SessionHeader
    sample_index: np.ndarray  # int64, per sample present
    counts: np.ndarray  # int16 (n, channels)
    report: DecodeReport
    #: One row per decoded data block (offset, seq, first_index, n_samples, t_ms, flags, lost).
    block_table: np.ndarray = field(default_factory=lambda: np.zeros(0, BLOCK_TABLE_DTYPE))

    def to_dataframe(self) -> pd.DataFrame:
        """Samples in SI units: ``t_s, acc_x, acc_y, acc_z[, gyr_x, gyr_y, gyr_z]`` (m/s^2, deg/s)."""
        h = self.header
        cols = {TIME_COLUMN: self.sample_index / h.sample_rate_hz}
        for i, name in enumerate(SENSOR_ACC):
            cols[name] = self.counts[:, i] * h.acc_scale_ms2
        if h.channels == 6:
            for i, name in enumerate(SENSOR_GYR):
                cols[name] = self.counts[:, 3 + i] * h.gyr_scale_dps
        return pd.DataFrame(cols)
