"""What the erase proof costs the clip: SHA-256 of a whole session before DELETE, on MicroPython.

Runs firmware/sync.py on the MicroPython WebAssembly port: a session file of the size an hour of
running makes (3.27 MB at 208 Hz, docs/sync-protocol.md), then times

- ``SyncServer._sha256`` (hashlib.sha256 over the file in reply-buffer chunks): the DELETE check;
- ``SyncServer._crc`` (binascii.crc32, same chunks): what protocol 1's DELETE computed, and what the
  host's final CHECKSUM still costs;
- a whole DELETE request (digest, compare, remove);

and prints ms per file and MB/s. On the board hashlib.sha256 is mbedTLS (the ESP32-S3 has a SHA
accelerator that the MicroPython port may or may not use) and the flash read adds to both; not measured
here.

Usage: ``.venv/bin/python benchmarks/firmware_erase.py [--mb 3.27] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))
sys.path.insert(0, str(ROOT))

from tests.mpy.harness import run_micropython, unavailable_reason  # noqa: E402

CODE = r"""
import hashlib, os, struct, time, sync, protocol as P
from fake_sync import FakeRecorder, StillClock
os.mkdir("/sessions")
block = bytes((i * 131 + 7) & 0xFF for i in range(4096))
with open("/sessions/00000001.hsn", "wb") as f:
    left = SIZE
    while left > 0:
        f.write(block[: min(left, 4096)])
        left -= 4096
server = sync.SyncServer("/sessions", ("HS", "1", "X"), recorder=FakeRecorder(), clock=StillClock())

def best(fn):
    t = []
    for _ in range(REPEAT):
        t0 = time.ticks_us()
        r = fn()
        t.append(time.ticks_diff(time.ticks_us(), t0))
    return min(t), r

sha_us, digest = best(lambda: server._sha256(1, SIZE))
crc_us, _ = best(lambda: server._crc(1, 0, SIZE))
body = struct.pack("<II", 1, SIZE) + digest
req = bytearray(P.OVERHEAD + len(body))
req[P.HEAD_SIZE : P.HEAD_SIZE + len(body)] = body
n = P.seal(req, P.DELETE, 1, len(body))
t0 = time.ticks_us()
m = server.handle(req, n)
del_us = time.ticks_diff(time.ticks_us(), t0)
assert server.out[0] == P.DELETE | P.REPLY and "00000001.hsn" not in os.listdir("/sessions")
print("@@", sha_us, crc_us, del_us)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=3.27, help="session size in MB (default: an hour, 3.27)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each, best kept (default 3)")
    args = ap.parse_args()
    if unavailable_reason():
        sys.exit(unavailable_reason())
    size = int(args.mb * 1e6)
    out = run_micropython(f"SIZE = {size}\nREPEAT = {args.repeat}\n" + CODE, heapsize=16 * 1024 * 1024).stdout
    sha_us, crc_us, del_us = (
        int(x) for x in next(line for line in out.splitlines() if line.startswith("@@")).split()[1:]
    )
    mb = size / 1e6
    print(f"MicroPython WebAssembly port under Node {platform.machine()}, session file {size} bytes")
    print(
        f"  SHA-256 of the whole file (DELETE's check): {sha_us / 1000:8.1f} ms  ({mb / (sha_us / 1e6):5.1f} MB/s)"
    )
    print(
        f"  CRC32 of the whole file (protocol 1):       {crc_us / 1000:8.1f} ms  ({mb / (crc_us / 1e6):5.1f} MB/s)"
    )
    print(f"  whole DELETE request (digest, compare, remove): {del_us / 1000:.1f} ms")
    print(f"  SHA-256 / CRC32: {sha_us / crc_us:.1f}x")


if __name__ == "__main__":
    main()
