"""Compression ratio of the session file codec on real recordings (../shared/data; skipped when absent).

The recordings are converted to what the device would store: resampled to the device rate where
stated, quantised to counts at +-16 g (0.488 mg/count) and +-2000 deg/s (70 mdeg/s per count), then
written with the real encoder. The ratio is raw int16 bytes over file bytes in the steady state:
whole data blocks only, i.e. without the one-off header and end block, and without the last, partly
filled block (a 3 h session has one of each; short trials would be dominated by them).

Datasets:
- running-sacral-accel: 6 treadmill trials, sacral accelerometer, 500 Hz, 2 axes (vertical,
  anterior-posterior). Resampled to 208 Hz. Accelerometer-only file (3 channels): the missing
  mediolateral axis is filled with the anterior-posterior axis delayed by one step (an axis with
  running-like content, neither zeros nor noise); the bits per value of each channel show the two
  real axes on their own (channels 1 and 3).
- walking-l5-ipol: 110 trials of walking (Xsens at L5, 6 axes, 100 Hz). Native 100 Hz (the honest
  figure) and resampled to 208 Hz (optimistic: upsampling adds no new content).

Usage: ``.venv/bin/python benchmarks/codec_ratio.py [--data ../shared/data]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))

from hipsense.conventions import G  # noqa: E402
from hipsense.formats import codec  # noqa: E402
from hipsense.formats.device_file import SessionHeader, decode_session, encode_session  # noqa: E402

ACC_LSB_G = 0.488e-3
GYR_LSB_DPS = 0.070
MIB16 = 16 * 2**20


def quantise(x: np.ndarray, lsb: float) -> np.ndarray:
    return np.clip(np.round(x / lsb), -32768, 32767).astype(np.int16)


def steady_ratio(
    trials: list[np.ndarray], rate_hz: float, block_size: int = 2048
) -> tuple[float, np.ndarray]:
    """Raw bytes / stored bytes over whole blocks, trials concatenated; plus bits per value per channel."""
    x = np.concatenate(trials)
    c = x.shape[1]
    h = SessionHeader.default(
        channels=c, sample_rate_hz=rate_hz, block_size=block_size, **({"gyr_range_dps": 0} if c == 3 else {})
    )
    data = encode_session(h, x)
    s = decode_session(data)
    assert np.array_equal(s.counts, x), "not lossless"
    full = s.block_table[:-1]  # the last data block is partly filled
    samples = int(full["n_samples"].sum())
    ratio = samples * c * 2 / (len(full) * block_size)
    # Bits per value per channel (payload only), from the chosen orders and Rice parameters.
    bits = np.zeros(c)
    for i in range(len(full)):
        rows = slice(int(full["first_index"][i]), int(full["first_index"][i] + full["n_samples"][i]))
        orders, ks, z, _ = codec.analyse(x[rows])
        frame_of = np.where(
            np.arange(z.shape[1])[None, :] < orders[:, None],
            0,
            1 + np.arange(z.shape[1])[None, :] // codec.FRAME,
        )
        k = np.take_along_axis(ks, frame_of, axis=1)
        bits += (k + 1 + (z >> k)).sum(axis=1) + 4 * ks.shape[1]
    return ratio, bits / samples


def hours_per_16mib(ratio: float, channels: int, rate_hz: float = 208.0) -> float:
    return MIB16 * ratio / (channels * 2 * rate_hz * 3600)


def running(data: Path) -> dict[str, tuple[float, np.ndarray, int]]:
    trials3 = []
    for f in sorted((data / "running-sacral-accel").glob("trial*_*.csv")):
        d = pd.read_csv(f)
        acc = np.stack([d["acc_v_g"].to_numpy(), d["acc_ap_g"].to_numpy()], axis=1)
        acc = resample_poly(acc, 52, 125, axis=0)  # 500 Hz -> 208 Hz
        q = quantise(acc, ACC_LSB_G)
        # Stand-in mediolateral axis: anterior-posterior delayed by one step (~0.36 s).
        ml = np.roll(q[:, 1], int(0.36 * 208))
        trials3.append(np.stack([q[:, 0], ml, q[:, 1]], axis=1))
    if not trials3:
        return {}
    r3, b3 = steady_ratio(trials3, 208.0)
    return {"running-sacral-accel, acc only (208 Hz, ML axis = AP delayed)": (r3, b3, 3)}


def walking(data: Path, rate_hz: float | None) -> tuple[float, np.ndarray, int] | None:
    trials = []
    for f in sorted((data / "walking-l5-ipol").glob("*_lb.txt")):
        d = pd.read_csv(f, sep="\t", skiprows=1)
        acc = d[["Acc_X", "Acc_Y", "Acc_Z"]].to_numpy() / G
        gyr = np.degrees(d[["Gyr_X", "Gyr_Y", "Gyr_Z"]].to_numpy())
        x = np.concatenate([acc, gyr], axis=1)
        if rate_hz:
            x = resample_poly(x, int(rate_hz), 100, axis=0)
        trials.append(
            np.concatenate([quantise(x[:, :3], ACC_LSB_G), quantise(x[:, 3:], GYR_LSB_DPS)], axis=1)
        )
    if not trials:
        return None
    ratio, bits = steady_ratio(trials, rate_hz or 100.0)
    return ratio, bits, 6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    if not args.data.is_dir():
        print(f"skipped: {args.data} not found (the shared recordings are not part of the project)")
        return
    rows = {}
    if (args.data / "running-sacral-accel").is_dir():
        rows.update(running(args.data))
    if (args.data / "walking-l5-ipol").is_dir():
        for rate in (None, 208):
            r = walking(args.data, rate)
            if r:
                rows[f"walking-l5-ipol, 6 axes ({rate or 100} Hz{', resampled' if rate else ', native'})"] = r
    if not rows:
        print(f"skipped: no known dataset under {args.data}")
        return
    print("ratio = raw int16 bytes / stored bytes, whole 2048-byte blocks (steady state)")
    print(f"{'dataset':<62} {'ratio':>6}  {'h/16MiB@208Hz':>13}  bits per value per channel (payload)")
    for name, (ratio, bits, c) in rows.items():
        per = " ".join(f"{b:5.2f}" for b in bits)
        print(f"{name:<62} {ratio:6.2f}  {hours_per_16mib(ratio, c):13.1f}  {per}")
    print("h/16MiB: hours of recording at 208 Hz with that many channels in 16 MiB of flash")
    print("6-axis target: ratio >= 1.6 (3.0 h in 16 MiB)")


if __name__ == "__main__":
    main()
