"""The firmware's session writer (firmware/log.py + firmware/codec.py) on real MicroPython.

It must make the same bytes as the host encoder and the golden vectors, and the host must decode what
it writes back to the identical counts.
"""

from __future__ import annotations

import json
import re
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

from hipsense.formats import codec
from hipsense.formats.device_file import (
    CLOSE_REASONS,
    FLAG_OVERFLOW,
    MOUNTINGS,
    SessionFileWarning,
    SessionHeader,
    decode_session,
    encode_session,
)
from tests.mpy.harness import run_micropython, unavailable_reason
from tests.vectors.make_vectors import host_args

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
]

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
NAMES = ["six_axis_gap_overflow", "three_axis_accel", "extremes"]
_REASON_CODES = {v: k for k, v in CLOSE_REASONS.items()}
_MOUNT_CODES = {v: k for k, v in MOUNTINGS.items()}


def firmware_args(h: SessionHeader) -> dict:
    """SessionWriter keyword arguments for a host header (integer units, as the device has them)."""
    return dict(
        session_id=h.session_id,
        channels=h.channels,
        sample_rate_mhz=h.sample_rate_mhz,
        odr_mhz=h.odr_mhz,
        acc_range_g=h.acc_range_g,
        gyr_range_dps=h.gyr_range_dps,
        acc_scale_ng=h.acc_scale_ng,
        gyr_scale_ndps=h.gyr_scale_ndps,
        device_id=h.device_id,
        firmware_version=h.firmware_version,
        sensor_model=h.sensor_model,
        mounting=_MOUNT_CODES[h.mounting],
        start_time_unix=h.start_time_unix,
        block_size=h.block_size,
        block_max_samples=h.block_max_samples,
    )


# When the writer's queued work runs (log.SessionWriter.work()): "none" never (append works only
# when its stage is full), "all" after every append until done (as the sampler does after a drain),
# "one" a single step after every append (the backlog grows until append has to work itself).
PUMP = {"none": "", "all": "    while w.work():\n        pass\n", "one": "    w.work()\n"}


def run_firmware_writer(
    tmp_path: Path, h: SessionHeader, counts: np.ndarray, chunks, close, pump: str = "all"
) -> bytes:
    """Feed ``counts`` to the firmware writer chunk by chunk (``pump``: see PUMP); returns the file."""
    raw = tmp_path / "samples.bin"
    counts.astype("<i2").tofile(raw)
    out = tmp_path / "fw.session"
    # One record per FIFO read: n, t_ms, flags, lost (a file: a long literal would exhaust the pystack).
    plan = tmp_path / "plan.bin"
    plan.write_bytes(b"".join(struct.pack("<IIII", c["n"], c["t_ms"], c["flags"], c["lost"]) for c in chunks))
    code = f"""
import array, log, struct
C = {h.channels}
raw = open("/in/samples.bin", "rb").read()
plan = open("/in/plan.bin", "rb").read()
f = open("/out.session", "wb")
w = log.SessionWriter(f, **{firmware_args(h)!r})
pos = 0
for r in range(0, len(plan), 16):
    n, t, flags, lost = struct.unpack_from("<IIII", plan, r)
    a = array.array("h", raw[pos : pos + 2 * n * C])
    pos += 2 * n * C
    w.append(a, n, t, flags, lost)
{PUMP[pump]}w.close({_REASON_CODES[close["reason"]]}, {close["t_ms"]})
f.close()
"""
    run_micropython(
        code, files=[(raw, "/in/samples.bin"), (plan, "/in/plan.bin")], export=[("/out.session", out)]
    )
    return out.read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_firmware_writer_reproduces_golden_vector(tmp_path, name):
    spec = json.loads((VECTORS / f"{name}.json").read_text())
    arrays = np.load(VECTORS / f"{name}.npz")
    fields = dict(spec["header"], format_version=tuple(spec["header"]["format_version"]))
    h = SessionHeader(**fields)
    data = run_firmware_writer(tmp_path, h, arrays["counts"], spec["chunks"], spec["close"])
    golden = (VECTORS / f"{name}.session").read_bytes()
    assert len(data) == len(golden)
    for o in range(0, len(golden), h.block_size):
        assert data[o : o + h.block_size] == golden[o : o + h.block_size], f"first difference in block at {o}"
    s = decode_session(data)
    np.testing.assert_array_equal(s.counts, arrays["counts"])
    np.testing.assert_array_equal(s.sample_index, arrays["sample_index"])


def random_chunks(rng, n: int, *, max_chunk: int, events: int) -> list[dict]:
    chunks, a, t = [], 0, 0
    while a < n:
        k = int(min(rng.integers(1, max_chunk + 1), n - a))
        chunks.append({"n": k, "t_ms": t, "flags": 0, "lost": 0})
        t += int(rng.integers(0, 300))
        a += k
    for _ in range(events):
        i = int(rng.integers(0, len(chunks)))
        kind = rng.integers(0, 3)
        if kind == 0:
            chunks[i]["lost"] = int(rng.integers(1, 100))  # plain gap
        elif kind == 1:
            # an overflow, maybe of unknown size (lost 0)
            chunks[i].update(flags=FLAG_OVERFLOW, lost=int(rng.integers(0, 50)))
        else:  # an overflow reported by a FIFO read that brought no samples
            chunks.insert(i, {"n": 0, "t_ms": chunks[i]["t_ms"], "flags": FLAG_OVERFLOW, "lost": 5})
    return chunks


@pytest.mark.parametrize(
    ("channels", "block_size", "max_samples", "seed", "pump"),
    [(6, 2048, 1024, 1, "all"), (3, 512, 200, 2, "one"), (6, 256, 37, 3, "all"), (3, 4096, 1000, 4, "none")],
)
def test_firmware_writer_matches_host_encoder(tmp_path, channels, block_size, max_samples, seed, pump):
    rng = np.random.default_rng(seed)
    n = 2500
    t = np.arange(n)[:, None]
    x = 3000 * np.sin(t * rng.uniform(0.01, 0.3, channels)) + rng.normal(0, 20, (n, channels))
    x[1000:1100] = rng.integers(-32768, 32768, (100, channels))  # incompressible stretch
    x[1500:1700] = 7  # constant stretch: blocks hit max_samples
    x[1800:1810] = 32767
    x[1810:1820] = -32768
    counts = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    chunks = random_chunks(rng, n, max_chunk=int(rng.choice([1, 17, 60])), events=6)
    extra = {"gyr_range_dps": 0} if channels == 3 else {}
    h = SessionHeader.default(
        channels=channels, block_size=block_size, block_max_samples=max_samples, session_id=seed, **extra
    )
    close = {"reason": "storage_full", "t_ms": 123456}
    data = run_firmware_writer(tmp_path, h, counts, chunks, close, pump)
    host = encode_session(h, counts, close_reason="storage_full", end_time_ms=123456, **host_args(n, chunks))
    assert data == host
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SessionFileWarning)  # overflows of unknown size are reported
        s = decode_session(data)
    np.testing.assert_array_equal(s.counts, counts)


def test_firmware_encode_block_matches_host_payloads(tmp_path):
    rng = np.random.default_rng(11)
    cases = []
    for i in range(48):
        c = int(rng.choice([3, 6]))
        n = int(rng.integers(1, 200))
        kind = i % 6
        if kind == 0:
            x = rng.integers(-32768, 32768, (n, c))
        elif kind == 1:
            x = np.cumsum(rng.integers(-60, 60, (n, c)), axis=0)
        elif kind == 2:
            x = np.full((n, c), rng.choice([-32768, 32767, 0, -1]))
        elif kind == 3:
            x = rng.choice([-32768, 32767], (n, c))
        elif kind == 4:
            x = np.round(20000 * np.sin(np.arange(n)[:, None] * rng.uniform(0.05, 0.5, c)))
        else:
            x = rng.integers(-3, 4, (n, c))
        cases.append(np.clip(x, -32768, 32767).astype(np.int16))
    raw = tmp_path / "blocks.bin"
    raw.write_bytes(b"".join(x.tobytes() for x in cases))
    meta = [(len(x), x.shape[1]) for x in cases]
    code = f"""
import array, codec
raw = open("/in/blocks.bin", "rb").read()
out = bytearray(8192)
f = open("/payloads.bin", "wb")
pos = 0
for n, c in {meta!r}:
    a = array.array("h", raw[pos : pos + 2 * n * c])
    pos += 2 * n * c
    k = codec.encode_block(a, n, c, out, 0)
    f.write(bytes([k & 255, k >> 8]))
    f.write(out[:k])
f.close()
"""
    out = tmp_path / "payloads.bin"
    run_micropython(code, files=[(raw, "/in/blocks.bin")], export=[("/payloads.bin", out)])
    data = out.read_bytes()
    pos = 0
    for i, x in enumerate(cases):
        k = data[pos] | data[pos + 1] << 8
        fw = data[pos + 2 : pos + 2 + k]
        pos += 2 + k
        assert fw == codec.encode_payload(x), f"case {i}"
    assert pos == len(data)


@pytest.mark.parametrize("pump", ["none", "one"])
def test_firmware_bytes_do_not_depend_on_when_the_work_runs(tmp_path, pump):
    """The golden session again, with the writer's work run never / one step at a time by append.

    (The speed of this path is measured by benchmarks/firmware_speed.py, not asserted here.)
    """
    spec = json.loads((VECTORS / "six_axis_gap_overflow.json").read_text())
    arrays = np.load(VECTORS / "six_axis_gap_overflow.npz")
    h = SessionHeader(**dict(spec["header"], format_version=tuple(spec["header"]["format_version"])))
    data = run_firmware_writer(tmp_path, h, arrays["counts"], spec["chunks"], spec["close"], pump)
    assert data == (VECTORS / "six_axis_gap_overflow.session").read_bytes()


def test_firmware_close_reasons_are_the_hosts():
    # Every REASON_* code firmware/log.py can write is one the host decoder names (and no other).
    src = (Path(__file__).resolve().parents[2] / "firmware" / "log.py").read_text()
    codes = {int(c) for c in re.findall(r"^REASON_\w+ = const\((\d+)\)", src, re.M)}
    assert codes == set(CLOSE_REASONS) and 5 in codes
