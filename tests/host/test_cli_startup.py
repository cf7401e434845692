"""Start-up cost of the command line: commands that never filter a signal must not import scipy.

``import scipy.signal`` costs about a second of CPU (scipy 1.17), more than analysing an hour's run;
``hipsense --help``, ``sessions``, ``flags`` and ``trends`` pay it only if a module they import loads
scipy at import time. Each check runs in a fresh interpreter, so what another test imported does not
count.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
{code}
print(" ".join(sorted(m for m in ("scipy", "pandas", "numpy", "matplotlib", "pyarrow", "bleak") if m in sys.modules)))
"""


def _loaded(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code)], capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


def test_the_parser_and_help_load_no_science_stack():
    loaded = _loaded("import hipsense.cli as c\nc.build_parser().format_help()")
    assert loaded == set(), loaded


@pytest.mark.parametrize("module", ["hipsense.store", "hipsense.metrics", "hipsense.gait"])
def test_the_store_and_the_registry_load_no_scipy(module):
    assert "scipy" not in _loaded(f"import {module}")


def test_the_detectors_still_come_from_the_gait_package():
    # the lazy exports resolve to the classes themselves, and an unknown name is still an AttributeError
    code = (
        "import hipsense.gait as g\n"
        "from hipsense.gait.events import RunningContactDetector\n"
        "assert g.RunningContactDetector is RunningContactDetector\n"
        "from hipsense.gait import WalkingContactDetector, EventDetectionError\n"
        "try:\n    g.NoSuchDetector\nexcept AttributeError:\n    print('refused')\n"
    )
    assert "refused" in _loaded(code)


def test_a_preloaded_batch_worker_imports_no_scipy_in_its_first_task(tmp_path):
    # a batch worker (fork server or Dask preload) imports hipsense.library before its first task: the
    # analysis must then find every scipy module it needs loaded (else each worker pays ~1 CPU s in its
    # first file; gait.filters alone imports scipy only on first use)
    from hipsense.sim import scenarios, simulate_run

    path = tmp_path / "run.hsn"
    simulate_run(scenarios.steady_run(duration_s=30, seed=1)).write_device_file(path)
    code = (
        "from hipsense.batch.worker import dask_setup\n"
        "dask_setup()\n"
        "before = {m for m in sys.modules if m.startswith('scipy')}\n"
        "from hipsense.analysis import analyse_file\n"
        f"analyse_file({str(path)!r})\n"
        "print('new:' + ','.join(sorted({m for m in sys.modules if m.startswith('scipy')} - before)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "new:", out.stdout
