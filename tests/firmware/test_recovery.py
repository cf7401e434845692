"""Power cut at 1000 byte offsets of a session file: firmware/recovery.py on MicroPython, host decodes.

The session (simulated running, 6 axes at 208 Hz, with a gap and a FIFO overflow) is written once on
the host (write_device_file, byte-identical to the firmware writer). For every offset MicroPython
writes the file's first `offset` bytes, runs recovery.recover() on it and reports what it did; the
host rebuilds each recovered file and checks: every whole block is kept, the torn tail is gone, the
end block says "recovered", and the decoded samples are exactly the original's up to the last whole
block (nothing else is lost).
"""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest

from hipsense.formats.device_file import (
    SessionFileWarning,
    SessionHeader,
    decode_session,
    write_device_file,
)
from hipsense.sim import scenarios, simulate_run
from tests.mpy.harness import run_micropython, unavailable_reason

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
]

N_RANDOM = 1000
STATUS = {0: "closed", 1: "recovered", 2: "removed", 3: "bad_header"}

CUT_AND_RECOVER = r"""
import os, recovery, struct
orig = open("/in/orig.session", "rb").read()
offs = open("/in/offsets.bin", "rb").read()
out = open("/out.bin", "wb")
bs = struct.unpack_from("<I", orig, 12)[0]
for r in range(0, len(offs), 4):
    cut = struct.unpack_from("<I", offs, r)[0]
    with open("/w.session", "wb") as f:
        f.write(memoryview(orig)[0:cut])
    status, blocks, samples, dropped = recovery.recover("/w.session")
    try:
        data = open("/w.session", "rb").read()
    except OSError:
        data = None
    # The recovered file must be a prefix of the original plus (maybe) one new end block.
    n = len(data) if data is not None else 0
    keep = n - bs if status == recovery.RECOVERED else n
    assert data is None or data[0:keep] == orig[0:keep], cut
    out.write(struct.pack("<IBIIIII", cut, status, blocks, samples, dropped, n, keep))
    if status == recovery.RECOVERED:
        out.write(memoryview(data)[keep:n])
out.close()
"""


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> tuple[bytes, np.ndarray, np.ndarray]:
    run = simulate_run(scenarios.steady_run(duration_s=25, seed=3))
    counts = run.counts
    n = len(counts)
    index = np.arange(n, dtype=np.int64)
    index[1500:] += 40  # a 40-sample gap
    index[3000:] += 17  # and a FIFO overflow that lost 17
    h = SessionHeader.default(session_id=77, device_id="HS-rec")
    path = tmp_path_factory.mktemp("rec") / "orig.session"
    write_device_file(
        path, h, counts, sample_index=index, overflow_lost={int(index[3000]): 17}, close_reason="user_stop"
    )
    return path.read_bytes(), counts, index


def offsets(size: int, bs: int) -> list[int]:
    rng = np.random.default_rng(2026)
    edges = {0, 1, 3, 4, 15, 16, bs - 1, bs, bs + 1, size - 1, size}
    for k in range(1, size // bs):
        edges |= {k * bs - 1, k * bs, k * bs + 1}
    rand = rng.integers(0, size + 1, N_RANDOM).tolist()
    return sorted(edges) + rand


def test_power_cut_at_1000_offsets(tmp_path, session):
    orig, counts, index = session
    bs = struct.unpack_from("<I", orig, 12)[0]
    assert len(orig) % bs == 0 and len(orig) // bs >= 15
    cuts = offsets(len(orig), bs)
    (tmp_path / "orig.session").write_bytes(orig)
    (tmp_path / "offsets.bin").write_bytes(struct.pack(f"<{len(cuts)}I", *cuts))
    run_micropython(
        CUT_AND_RECOVER,
        files=[
            (tmp_path / "orig.session", "/in/orig.session"),
            (tmp_path / "offsets.bin", "/in/offsets.bin"),
        ],
        export=[("/out.bin", tmp_path / "out.bin")],
    )
    res = (tmp_path / "out.bin").read_bytes()

    # What the original holds, block by block (the last one is its end block).
    full = decode_session(orig)
    bt = full.block_table
    ends = np.cumsum(bt["n_samples"])  # samples in the first k + 1 data blocks
    n_data = len(bt)
    seen = {s: 0 for s in STATUS.values()}
    pos = 0
    for cut in cuts:
        c, status, blocks, samples, dropped, n, keep = struct.unpack_from("<IBIIIII", res, pos)
        pos += struct.calcsize("<IBIIIII")
        assert c == cut
        seen[STATUS[status]] += 1
        if cut < bs:  # the header itself was torn: no samples, the file is removed
            assert STATUS[status] == "removed" and n == 0, cut
            continue
        whole = (cut - bs) // bs  # whole blocks after the header
        if cut == len(orig):
            assert STATUS[status] == "closed" and n == len(orig) and samples == len(counts)
            continue
        assert STATUS[status] == "recovered", cut
        data_kept = min(whole, n_data)  # the original's end block is never whole here
        assert keep == bs + whole * bs and dropped == cut - keep and blocks == data_kept
        tail = res[pos : pos + bs]
        pos += bs
        data = orig[:keep] + tail
        with warnings.catch_warnings():
            warnings.simplefilter("error", SessionFileWarning)  # a recovered file decodes cleanly
            s = decode_session(data)
        m = int(ends[data_kept - 1]) if data_kept else 0
        assert samples == m
        np.testing.assert_array_equal(s.counts, counts[:m])
        np.testing.assert_array_equal(s.sample_index, index[:m])
        r = s.report
        assert r.close_reason == "recovered_after_power_cut" and r.torn_tail_bytes == 0
        assert r.corrupt_blocks == [] and r.end_block["total_samples"] == m
        assert r.overflow_lost == (17 if m > 3000 else 0)
    assert pos == len(res)
    assert seen["recovered"] >= 950 and seen["removed"] >= 8 and seen["closed"] >= 1, seen
