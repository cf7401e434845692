"""Auto-start's step detector (firmware/motion.py, on MicroPython) on the real recordings in ../shared/data.

The detector was tuned on synthetic and simulated signals; here it meets people:

- running-sacral-accel (Alcantara et al. 2022): six 5-s treadmill trials at 2.5-4.17 m/s with a force
  plate. A trial is shorter than the 24 steps that start a session, so the test asks what those 24 steps
  need: every force-plate contact is one step (no step missed, none counted twice) and all of a trial's
  steps form one unbroken chain.
- walking-l5-ipol (Voisard et al. 2023): 110 trials of people walking with an IMU at L5 (56 min, with
  turns): none may look like running.

The signals are resampled to the watcher's 52 Hz (``resample_poly``, its anti-alias filter standing in
for the chip's) and quantised to counts at +-16 g, as the watcher reads them. The running recordings have
no mediolateral axis; |a| is taken from the vertical and anteroposterior ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from hipsense import datasets
from hipsense.conventions import G
from tests.firmware.motion_cases import detect
from tests.mpy.harness import unavailable_reason

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.shared_data,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
]

COUNTS_PER_G = 1e9 / 488000  # +-16 g
START_STEPS = 24  # firmware/motion.py


def _counts_52hz(acc_g: np.ndarray, rate_hz: int) -> np.ndarray:
    up, down = {500: (13, 125), 100: (13, 25)}[rate_hz]
    acc = resample_poly(acc_g, up, down, axis=0)
    counts = np.zeros((len(acc), 6), dtype="<i2")
    counts[:, : acc.shape[1]] = np.clip(np.round(acc * COUNTS_PER_G), -32768, 32767)
    return counts


def test_every_real_running_step_is_one_step_of_one_chain(shared_data, tmp_path):
    cases, contacts = [], []
    for trial in range(1, 7):
        raw = datasets.read_running_sacral_csv(trial)
        cases.append(_counts_52hz(raw[["acc_v_g", "acc_ap_g"]].to_numpy(), 500))
        ref = datasets.reference_contacts(raw["grf_v_bw"].to_numpy(), datasets.RUNNING_SACRAL_RATE_HZ)
        contacts.append(int(ref["ic_s"].notna().sum()))  # landings inside the recording
    found = detect(tmp_path, cases, 52000, 13)  # a quarter of a second per feed
    for trial, (d, n_ref) in enumerate(zip(found, contacts, strict=True), start=1):
        landings, longest = d.landings, d.longest
        # The first landing may come before the detector has seen a flight (the recording starts
        # mid-step) and is then not counted; every other contact is exactly one landing.
        assert n_ref - 1 <= landings <= n_ref, (trial, landings, n_ref)
        assert longest == landings - 1, (trial, longest, landings)  # one chain through the whole trial
    print(f"real running: {sum(d.landings for d in found)} landings for {sum(contacts)} force-plate contacts")


def test_real_walking_never_looks_like_running(shared_data, tmp_path):
    folder = datasets.walking_dir()
    names = datasets.walking_trial_names()
    assert len(names) >= 100
    cases = []
    for name in names:
        sensor, _ = datasets.read_walking_sensor(folder / f"{name}_lb.txt")
        cases.append(_counts_52hz(sensor[["acc_x", "acc_y", "acc_z"]].to_numpy() / G, 100))
    found = detect(tmp_path, cases, 52000, 13)  # a quarter of a second per feed
    assert all(d.at == -1 for d in found)
    longest = max(d.longest for d in found)
    assert longest < START_STEPS // 2, longest  # far from starting, not just under the line
    minutes = sum(len(c) for c in cases) / 52 / 60
    print(f"real walking: {len(cases)} trials, {minutes:.0f} min, longest chain {longest} of {START_STEPS}")
