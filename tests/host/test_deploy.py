"""hipsense.device.deploy: the mpremote command and its error paths, with a fake mpremote on PATH."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hipsense.device import deploy as dep
from hipsense.errors import HipsenseError

FAKE = """#!/bin/sh
echo "$@" > "{log}"
{body}
"""


def fake_mpremote(tmp_path: Path, monkeypatch, body: str = "exit 0") -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "args.txt"
    exe = bindir / "mpremote"
    exe.write_text(FAKE.format(log=log, body=body))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bindir) + os.pathsep + "/usr/bin" + os.pathsep + "/bin")
    return log


def test_command_copies_every_firmware_file_to_root():
    files = dep.firmware_files()
    names = {p.name for p in files}
    assert {"log.py", "sampler.py", "guard.py"} <= names and all(p.suffix == ".py" for p in files)
    cmd = dep.deploy_command(files, port="/dev/ttyACM0")
    assert cmd[:5] == ["mpremote", "connect", "/dev/ttyACM0", "fs", "cp"] and cmd[-1] == ":"
    assert cmd[5:-1] == [str(p) for p in files]
    assert dep.deploy_command(files)[2] == "auto"


def test_deploy_runs_mpremote(tmp_path, monkeypatch):
    log = fake_mpremote(tmp_path, monkeypatch)
    copied = dep.deploy("/dev/ttyUSB7")
    args = log.read_text().split()
    assert args[:4] == ["connect", "/dev/ttyUSB7", "fs", "cp"] and args[-1] == ":"
    assert args[4:-1] == [str(p) for p in copied]


def test_missing_mpremote(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(HipsenseError, match="mpremote not found: install it with `pip install mpremote`"):
        dep.deploy()


def test_no_board(tmp_path, monkeypatch):
    fake_mpremote(tmp_path, monkeypatch, 'echo "mpremote: no device found" >&2; exit 1')
    with pytest.raises(dep.DeployError, match="no MicroPython board found: connect it by USB"):
        dep.deploy()
    with pytest.raises(dep.DeployError, match="no MicroPython board found on /dev/ttyACM3"):
        dep.deploy("/dev/ttyACM3")


def test_other_failure(tmp_path, monkeypatch):
    fake_mpremote(tmp_path, monkeypatch, 'echo "OSError: [Errno 28] ENOSPC" >&2; exit 1')
    with pytest.raises(dep.DeployError, match=r"mpremote failed \(exit 1\): OSError: \[Errno 28\] ENOSPC"):
        dep.deploy()


def test_empty_firmware_dir(tmp_path):
    with pytest.raises(dep.DeployError, match="no firmware files"):
        dep.firmware_files(tmp_path)
