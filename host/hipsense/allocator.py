"""Freed memory kept for reuse within a process: glibc's malloc thresholds for the analysis's temporaries.

The stages work in passes and windows (bounded memory, issue 17), so they allocate and free arrays of a
few MB over and over. With glibc's defaults a freed array of that size goes back to the kernel (an
``munmap``, or a trim of the heap's top), and the next pass's array is fresh pages again: each page a
minor fault, the kernel zeroing it. Measured on the 1 h file in a fresh process, 71,000 faults and
0.13-0.18 s of system time out of 0.7-0.8 s (10 h: 560,000 faults, 1.9 s).

:func:`keep_freed_memory` raises two thresholds: arrays up to :data:`MMAP_THRESHOLD` come from the heap
(not a mapping of their own), and the heap gives memory back only once :data:`TRIM_THRESHOLD` of it is
free at its top. The heap then reuses the pages a previous pass freed. Reading a session file and
:func:`hipsense.analysis.analyse` call it (any input: a CSV's analysis runs over the same windows). What it costs: up to
``TRIM_THRESHOLD`` (32 MB) of freed memory stays in the process's RSS, and the heap can hold more
than the arrays alive when they are freed out of order (docs/validation.md, "Decode and alignment CPU",
has the peak RSS before and after). Setting either ``MALLOC_MMAP_THRESHOLD_`` or
``MALLOC_TRIM_THRESHOLD_`` in the environment leaves glibc's settings to the user; other C libraries
are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

#: Arrays up to this size (bytes) come from the heap: a pass's or a window's temporaries at 208 Hz. Of
#: the settings measured (8/16, 16/32, 32/32 and 32/64 MB), 16/32 cut the faults as much as the larger
#: ones and kept a 10 h session's peaks (docs/validation.md); at 8/16 the hour's faults stayed.
MMAP_THRESHOLD = 16 << 20
#: The heap's top is given back to the kernel only when this much of it is free.
TRIM_THRESHOLD = 32 << 20

# mallopt's parameter numbers in glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_state: dict[str, bool] = {}


def keep_freed_memory() -> bool:
    """Set glibc's malloc thresholds once per process (see the module docstring); whether they are set.

    ``False`` (nothing changed) off Linux, with another C library than glibc, or when the environment
    sets the thresholds itself.
    """
    if "set" not in _state:
        _state["set"] = _set_thresholds()
    return _state["set"]


def _set_thresholds() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018  (glibc only: musl's mallopt does nothing)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # the mmap threshold first: setting it also stops glibc from moving either threshold by itself
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory"]
