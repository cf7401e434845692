# MicroPython side of the live-streaming tests and benchmark: a recording in progress, i.e. the real
# log.SessionWriter behind a live.LiveTap, fed with IMU counts (/live/counts.bin, int16 x 6) in
# batches of 16 at the header's rate times `speed`, on the wall clock (no drift).
import array
import asyncio
import time

import live
import log

SESSION = 0xAA


def start_recording(recorder, writer_args, speed):
    f = open(f"/sessions/{SESSION:08x}.hsn", "wb")
    w = log.SessionWriter(
        f, SESSION, 6, device_id="HS-SIM", sensor_model="LSM6DSOX", start_time_unix=1790000000, **writer_args
    )
    tap = live.LiveTap(w)
    recorder.current = SESSION
    with open("/live/counts.bin", "rb") as src:
        counts = array.array("h", src.read())
    asyncio.create_task(_feed(tap, counts, writer_args["sample_rate_mhz"], speed))
    return tap


async def _feed(tap, counts, rate_mhz, speed):
    n = len(counts) // 6
    i = 0
    t0 = time.ticks_ms()
    while i < n:
        k = min(16, n - i)
        tap.append(counts[i * 6 : (i + k) * 6], k, i * 1000000 // rate_mhz)
        i += k
        due = int(i * 1000000 / rate_mhz / speed)
        await asyncio.sleep_ms(max(0, due - time.ticks_diff(time.ticks_ms(), t0)))
