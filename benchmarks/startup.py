"""What a command costs before it does anything: CPU of a fresh ``hipsense`` process per command.

Each command runs ``--repeats`` times in a fresh interpreter against an empty data folder (a temporary
``HIPSENSE_HOME``); the CPU is the child's user + system time (``resource.getrusage``), best and worst.
``import hipsense.analysis`` is the floor of every command that analyses (scipy, pandas, numpy).

    .venv/bin/python benchmarks/startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile

COMMANDS = {
    "hipsense --help": ["-m", "hipsense.cli", "--help"],
    "hipsense sessions (empty store)": ["-m", "hipsense.cli", "sessions"],
    "hipsense flags (empty store)": ["-m", "hipsense.cli", "flags"],
    "import hipsense.store": ["-c", "import hipsense.store"],
    "import hipsense.analysis": ["-c", "import hipsense.analysis"],
}


def child_cpu(args: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HIPSENSE_HOME": home}
        print(f"{'command':<36}{'CPU s best':>11}{'worst':>8}")
        for name, argv in COMMANDS.items():
            times = sorted(child_cpu(argv, env) for _ in range(args.repeats))
            print(f"{name:<36}{times[0]:>11.3f}{times[-1]:>8.3f}")


if __name__ == "__main__":
    main()
