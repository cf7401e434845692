"""Fuzz benchmark for session files: hostile and damaged files through decode, info, analyze and import.

A seeded mutator makes cases from valid session files (a simulated 20 s run, 6 channels, and a
3-channel file with gaps and an overflow): bit flips, byte inserts and deletes, truncations,
overwritten runs, and forged header and block fields WITH VALID CRCs (start times of 2**63 + 5, rates
of 0, 1 and 1e9 mHz, first_index near 2**32, counts beyond the block, every header field at its
extremes). Every case goes through ``decode_session`` and ``hipsense info`` (in process); every
``--deep-every``-th case also through ``hipsense.analysis.analyze_file`` and an import into a scratch
store, which must still list its sessions afterwards.

It prints crashes outside typed errors (target 0), stores left unusable (target 0), the largest
resident memory (target < 512 MB) and, for single flipped / inserted / deleted bytes, the data blocks
lost against the clean file (target <= 1).

    .venv/bin/python benchmarks/fuzz_files.py [--cases 10000] [--seed 1] [--deep-every 10]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import shutil
import struct
import sys
import tempfile
import time
import traceback
import warnings
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from hipsense.errors import HipsenseError  # noqa: E402
from hipsense.formats.device_file import SessionHeader, decode_session, encode_session  # noqa: E402

# Header fields: (name, struct format, offset); extremes are tried for each.
HEADER_FIELDS = [
    ("version_minor", "B", 5),
    ("channels", "B", 6),
    ("codec", "B", 7),
    ("header_length", "<I", 8),
    ("block_size", "<I", 12),
    ("session_id", "<I", 16),
    ("odr_mhz", "<I", 20),
    ("sample_rate_mhz", "<I", 24),
    ("acc_range_g", "<H", 28),
    ("gyr_range_dps", "<H", 30),
    ("acc_scale_ng", "<I", 32),
    ("gyr_scale_ndps", "<I", 36),
    ("start_time_unix", "<Q", 40),
    ("block_max_samples", "<H", 48),
    ("mounting", "B", 50),
    ("flags", "<I", 52),
]
SPECIAL = {
    "start_time_unix": [2**63 + 5, 2**64 - 1, 1, 946_684_799, 4_102_444_800, 253_402_300_800],
    "sample_rate_mhz": [0, 1, 10**9, 9_999, 2_000_001],
    "block_size": [0, 1, 255, 257, 128, 1 << 17],
    "header_length": [0, 107, 108, 2047, 2049, 1 << 20, 0xFFFFFFFF],
}
# Block fields: (name, struct format, offset in the block).
BLOCK_FIELDS = [
    ("version", "B", 4),
    ("type", "B", 5),
    ("flags", "<H", 6),
    ("session_id", "<I", 8),
    ("seq", "<I", 12),
    ("first_index", "<I", 16),
    ("t_ms", "<I", 20),
    ("n_samples", "<H", 24),
    ("payload_len", "<H", 26),
    ("lost", "<I", 28),
]


WORDS = {"flip": "flipped", "insert": "inserted", "delete": "deleted"}


def base_files(workdir: Path) -> list[tuple[str, bytes, int]]:
    """(name, bytes, block size) of the valid files the cases start from."""
    from hipsense.sim import scenarios, simulate_run

    run_path = workdir / "run.hsn"
    simulate_run(scenarios.steady_run(duration_s=20, seed=5)).write_device_file(
        run_path, start_time_unix=1_767_225_600
    )
    h3 = SessionHeader.default(channels=3, gyr_range_dps=0, gyr_scale_dps=0.0, block_size=512, session_id=77)
    rng = np.random.default_rng(0)
    x = np.round(2000 * np.sin(np.arange(3000)[:, None] * [0.05, 0.07, 0.11]) + rng.normal(0, 9, (3000, 3)))
    idx = np.concatenate([np.arange(1000), np.arange(1040, 3040)])
    small = encode_session(h3, x.astype(np.int16), sample_index=idx, overflow_lost={2000: 9})
    return [("run6", run_path.read_bytes(), 2048), ("acc3", small, 512)]


def fix_crcs(d: bytearray, bs: int, hl: int | None = None) -> None:
    """Make the header CRC and every grid block's CRC valid (forged, not damaged)."""
    hl = bs if hl is None else hl
    if len(d) >= hl >= 8:
        struct.pack_into("<I", d, hl - 4, zlib.crc32(bytes(d[: hl - 4])))
    for o in range(hl, len(d) - bs + 1, bs):
        struct.pack_into("<I", d, o + bs - 4, zlib.crc32(bytes(d[o : o + bs - 4])))


def extremes(fmt: str, name: str, rng: np.random.Generator) -> int:
    top = {"B": 0xFF, "<H": 0xFFFF, "<I": 0xFFFFFFFF, "<Q": 2**64 - 1}[fmt]
    choices = [0, 1, top, top - 1, top // 2 + 1, int(rng.integers(0, min(top, 2**62)))] + SPECIAL.get(
        name, []
    )
    return int(choices[int(rng.integers(len(choices)))])


def mutate(data: bytes, bs: int, rng: np.random.Generator) -> tuple[str, bytes]:
    """One case: (kind, bytes)."""
    d = bytearray(data)
    kind = ["flip", "insert", "delete", "truncate", "overwrite", "chunk", "header", "block", "multi"][
        int(rng.integers(9))
    ]
    p = int(rng.integers(bs, len(d)))  # single-byte damage after the header, where blocks are
    if kind == "flip":
        d[p] ^= 1 << int(rng.integers(8))
    elif kind == "insert":
        d[p:p] = bytes([int(rng.integers(256))])
    elif kind == "delete":
        del d[p]
    elif kind == "truncate":
        del d[int(rng.integers(0, len(d))) :]
    elif kind == "overwrite":
        q = int(rng.integers(0, len(d)))
        d[q : q + 64] = rng.integers(0, 256, 64).astype(np.uint8).tobytes()
    elif kind == "chunk":
        q, n = int(rng.integers(0, len(d))), int(rng.integers(1, 3 * bs))
        if rng.random() < 0.5:
            del d[q : q + n]
        else:
            d[q:q] = d[max(0, q - n) : q]  # a repeated run: markers and valid CRCs in the wrong place
    elif kind == "header":
        for _ in range(int(rng.integers(1, 4))):
            name, fmt, off = HEADER_FIELDS[int(rng.integers(len(HEADER_FIELDS)))]
            struct.pack_into(fmt, d, off, extremes(fmt, name, rng))
        fix_crcs(d, bs)
    elif kind == "block":
        nblocks = (len(d) - bs) // bs
        for _ in range(int(rng.integers(1, 4))):
            o = bs + bs * int(rng.integers(nblocks))
            name, fmt, off = BLOCK_FIELDS[int(rng.integers(len(BLOCK_FIELDS)))]
            struct.pack_into(fmt, d, o + off, extremes(fmt, name, rng))
        fix_crcs(d, bs)
    else:
        for _ in range(int(rng.integers(2, 6))):
            q = int(rng.integers(0, len(d)))
            d[q] = int(rng.integers(256))
        if rng.random() < 0.5:
            fix_crcs(d, bs)
    return kind, bytes(d)


def run_info(path: Path) -> int:
    from hipsense.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(["info", str(path)])


def import_into(store, path: Path) -> None:
    """Import through the library (or the store, on older trees); a refusal is a report, not an error."""
    try:
        from hipsense import library
    except ImportError:  # the store did the import before the library existed
        store.import_files([path])
        return
    library.import_files(store, [path])


def store_usable(store) -> bool:
    try:
        sessions = store.sessions()
        for runner in store.runners():
            store.summaries(runner)
        return sessions is not None
    except Exception:  # noqa: BLE001 - any failure to list is what this benchmark counts
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--deep-every", type=int, default=10, help="analyze + import every N-th case (1 = all)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from hipsense.analysis import analyze_file
    from hipsense.store import Store

    rng = np.random.default_rng(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="hipsense-fuzz-"))
    bases = base_files(tmp)
    clean_blocks = {name: decode_session(data).report.data_blocks for name, data, _ in bases}
    outcomes: Counter = Counter()
    crashes: list[str] = []
    lost: dict[str, list[int]] = {"flip": [], "insert": [], "delete": []}
    unusable = deep = 0
    peak_kb, peak_case = 0, ""
    store, store_n = None, 0
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # after imports and the base files
    t0 = time.perf_counter()
    for case in range(args.cases):
        name, data, bs = bases[case % len(bases)]
        kind, mutated = mutate(data, bs, rng)
        path = tmp / "case.hsn"
        path.write_bytes(mutated)
        stage = "decode"
        try:
            try:
                s = decode_session(mutated, path=path)
                outcomes[f"{kind}: decoded"] += 1
                if kind in lost:
                    lost[kind].append(clean_blocks[name] - s.report.data_blocks)
            except HipsenseError:
                outcomes[f"{kind}: refused"] += 1
            stage = "info"
            if run_info(path) not in (0, 2):
                raise RuntimeError("info returned an unexpected exit code")
            if case % args.deep_every == 0:
                deep += 1
                stage = "analyze"
                try:
                    analyze_file(path)
                except HipsenseError:
                    pass
                stage = "import"
                if store is None or store_n >= 100:  # a fresh scratch store now and then keeps it quick
                    store = Store(tmp / f"store-{case}")
                    store_n = 0
                keep = tmp / f"case-{case}.hsn"
                keep.write_bytes(mutated)
                import_into(store, keep)
                keep.unlink()
                store_n += 1
                if not store_usable(store):
                    unusable += 1
                    store = None
        except Exception as e:  # noqa: BLE001 - what this benchmark counts
            last = traceback.extract_tb(e.__traceback__)[-1]
            crashes.append(
                f"case {case} ({name}, {kind}) in {stage}: {type(e).__name__}: {e} [{last.filename}:{last.lineno}]"
            )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if rss > peak_kb:
            peak_kb, peak_case = rss, f"case {case} ({name}, {kind})"
    elapsed = time.perf_counter() - t0
    shutil.rmtree(tmp, ignore_errors=True)  # the base files, scratch stores and the last case

    print(f"cases: {args.cases} (seed {args.seed}); analyze + import on {deep}; {elapsed:.0f} s")
    for key in sorted(outcomes):
        print(f"  {key}: {outcomes[key]}")
    print(f"crashes outside typed errors: {len(crashes)} (target 0)")
    for line in crashes[:10]:
        print("  " + line)
    print(f"stores left unusable: {unusable} (target 0)")
    print(
        f"largest resident memory: {peak_kb / 1024:.0f} MB, reached at {peak_case} (target < 512 MB;"
        f" {base_kb / 1024:.0f} MB before the first case)"
    )
    for kind, values in lost.items():
        if values:
            v = np.array(values)
            print(
                f"single {WORDS[kind]} byte: {len(v)} cases, data blocks lost max {v.max()}, mean {v.mean():.2f},"
                f" share losing more than 1: {np.mean(v > 1):.1%} (target max <= 1)"
            )


if __name__ == "__main__":
    main()
