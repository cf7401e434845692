"""Where the hour's CPU goes, and what would bring it to issue 17's 0.3 s: kernels, sample rate, numba.

Part 1, on the route: ``analyse_file`` of a device file (default: ``long_session.py``'s cached hour),
with CPU timers around the two kernels a compiled rewrite would replace, the recursive filters
(scipy's ``_sosfilt``, which ``filters.zero_phase`` runs in place, and any ``sosfiltfilt``) and the
block decoder (``codec_decode._decode_some``). Prints the hour's total, each kernel's share and what
is left with both at zero cost: a compiled filter and decoder cannot take the hour below that.

Part 2, the sample rate: the same recording low-passed and decimated to 104 and 52 Hz (scipy's
``decimate``, zero-phase FIR) and analysed (``analyse``, the file's decoding left out): what the
analysis costs that does not scale with the samples (per step, per session) shows as what is left
when the rate falls.

Part 3, only when numba is installed (``pip install numba``; it is not a dependency): the same
second-order-section filter written as a numba loop, per pass over 10 min at 208 Hz, one channel
and several side by side (the layout a compiler can vectorise), each compared bit for bit with scipy's;
then, in fresh processes, what a user pays before the first call: ``import numba`` and the first call
of a kernel already compiled into numba's cache (``cache=True``).

    .venv/bin/python benchmarks/cpu_budget.py [--file PATH] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import signal  # noqa: E402
from speed import best_split, time_calls  # noqa: E402  (benchmarks/ is the script's folder)

import hipsense.analysis as route  # noqa: E402
from hipsense.formats import codec_decode  # noqa: E402
from hipsense.gait import filters  # noqa: E402

#: The numba kernel of part 3 (transposed direct form II, as scipy's): ``x`` is ``(n, k)``, its
#: ``k`` channels filtered side by side in place; ``z`` the state, ``(sections, 2, k)``.
KERNEL = textwrap.dedent(
    """
    import numba

    @numba.njit(cache=True)
    def sos_side_by_side(sos, x, z):
        n, k = x.shape
        for i in range(n):
            for s in range(sos.shape[0]):
                b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
                for c in range(k):
                    v = x[i, c]
                    y = b0 * v + z[s, 0, c]
                    z[s, 0, c] = b1 * v - a1 * y + z[s, 1, c]
                    z[s, 1, c] = b2 * v - a2 * y
                    x[i, c] = y
        return z
    """
)


def route_shares(path: Path, repeats: int) -> None:
    spent: dict[str, float] = {}
    import scipy.signal._sosfilt as kernel

    time_calls(kernel, "_sosfilt", "filters", spent)  # before filters looks it up (once, then cached)
    filters._in_place_kernel.cache_clear()
    time_calls(signal, "sosfiltfilt", "filters", spent)
    time_calls(codec_decode, "_decode_some", "decoder", spent)

    def rest(run: dict[str, float]) -> None:
        run["rest (filters and decoder at zero cost)"] = run["total"] - run["filters"] - run["decoder"]

    best, _ = best_split(path, repeats, spent, "total", rest)
    print(f"{path.name}: analyse_file, CPU s, best of {repeats}")
    for k in ("total", "filters", "decoder", "rest (filters and decoder at zero cost)"):
        print(f"  {k:<42}{best[k]:>8.3f}")


def rate_shares(path: Path, repeats: int) -> None:
    import pandas as pd

    from hipsense.formats.load import load_recording
    from hipsense.recording import Recording

    recording = load_recording(path)
    fs = recording.sample_rate_hz
    print(f"analyse of the same recording at lower rates (decoding left out), CPU s, best of {repeats}")
    for q in (1, 2, 4):
        rec = recording
        if q > 1:
            cols = {
                c: signal.decimate(recording.data[c].to_numpy(np.float64), q, ftype="fir", zero_phase=True)
                for c in recording.data.columns
                if c != "t_s"
            }
            n = len(next(iter(cols.values())))
            data = pd.DataFrame(
                {"t_s": np.arange(n) * q / fs, **{c: v.astype(np.float32) for c, v in cols.items()}}
            )
            rec = Recording(data, frame=recording.frame, sample_rate_hz=fs / q)
        route.analyse(rec)
        best, result = float("inf"), None
        for _ in range(repeats):
            gc.collect()
            t0 = time.process_time()
            result = route.analyse(rec)
            best = min(best, time.process_time() - t0)
        assert result is not None
        print(f"  {fs / q:6.1f} Hz: {best:.3f} s, {len(result.steps)} steps")


def _per_pass(fn, repeats: int = 30) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def numba_kernels(folder: Path) -> None:
    sys.path.insert(0, str(folder))
    from numba_sos import sos_side_by_side

    kernel = filters._in_place_kernel()
    fs, n = 208.0, 600 * 208
    sos = signal.butter(4, 20.0, fs=fs, output="sos")
    zi = signal.sosfilt_zi(sos)
    rng = np.random.default_rng(0)
    one = rng.standard_normal(n)

    def scipy_pass() -> None:
        kernel(sos, one.copy().reshape(1, -1), (zi * one[0]).reshape(1, -1, 2).copy())

    t_scipy = _per_pass(scipy_pass)
    print(
        f"one pass of a 4th-order low-pass over 10 min at 208 Hz, CPU ms (best of 30); scipy {t_scipy * 1e3:.3f}"
    )
    for k in (1, 2, 4, 6):
        x = rng.standard_normal((n, k))
        z = np.ascontiguousarray(zi[:, :, None] * x[0])
        ours = x.copy()
        sos_side_by_side(sos, ours, z.copy())
        ref = x[:, 0].copy().reshape(1, -1)
        kernel(sos, ref, (zi * x[0, 0]).reshape(1, -1, 2).copy())
        t = _per_pass(lambda x=x, z=z: sos_side_by_side(sos, x.copy(), z.copy()))
        same = np.array_equal(ours[:, 0], ref[0])
        print(
            f"  numba, {k} channel(s) side by side: {t * 1e3:.3f} ms, {t / k * 1e3:.3f} per channel "
            f"({t_scipy * k / t:.2f}x scipy's per channel; channel 0 bit for bit: {same})"
        )
    probe = textwrap.dedent(
        f"""
        import sys, time
        import numpy as np
        t0 = time.process_time()
        import numba
        t1 = time.process_time()
        sys.path.insert(0, {str(folder)!r})
        from numba_sos import sos_side_by_side
        x, z, sos = np.zeros((100, 1)), np.zeros((2, 2, 1)), np.zeros((2, 6))
        t2 = time.process_time()
        sos_side_by_side(sos, x, z)
        print(t1 - t0, time.process_time() - t2)
        """
    )
    costs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        costs.append([float(v) for v in out.stdout.split()])
    imports, first = (sorted(c[i] for c in costs) for i in (0, 1))
    print(
        f"fresh process (3 runs): import numba {imports[0]:.3f}-{imports[-1]:.3f} s, first call of the cached "
        f"kernel {first[0]:.3f}-{first[-1]:.3f} s CPU"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default = Path(tempfile.gettempdir()) / "hipsense-long-session" / "steady-1h.hsn"
    parser.add_argument("--file", type=Path, default=default, help="a device file (default: the cached hour)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not args.file.is_file():
        raise SystemExit(f"{args.file}: no such file (benchmarks/long_session.py --lengths 1h makes it)")
    route_shares(args.file, args.repeats)
    rate_shares(args.file, args.repeats)
    try:
        import numba  # noqa: F401
    except ImportError:
        print("numba not installed: part 2 skipped (pip install numba)")
        return
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "numba_sos.py").write_text(KERNEL)
        numba_kernels(Path(folder))


if __name__ == "__main__":
    main()
