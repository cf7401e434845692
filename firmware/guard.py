# Storage-full and low-battery guard for a recording session (docs/firmware.md, "Guard").
#
# One job: end the session cleanly, with the end block saying why, before the flash runs out or the
# battery browns out. log.py is unchanged; this module uses its public API and module functions:
#
# - SafeFile wraps the session file the writer writes to. It remembers where the last whole block
#   ended and the totals of the data blocks that reached storage. If a write fails with ENOSPC
#   (the free-space check below should prevent it), it seeks back to that block boundary, drops every
#   later write, and Guard.finish() writes the end block itself (log.pack_block_header /
#   pack_end_payload / seal_block) with the totals of the blocks really stored, after calling an
#   optional release() (main deletes a ballast file there). If even that fails the file ends with
#   whole blocks plus at most one torn block: the host decodes every whole block and
#   recovery.recover() closes it on the next boot.
# - Guard.check(): free space (os.statvfs every statvfs_ms, estimated from the bytes written in
#   between: statvfs walks the whole littlefs, too slow for every second) below reserve_bytes ->
#   REASON_STORAGE_FULL; Battery.poll() confirmed low -> REASON_LOW_BATTERY.
# - Battery: averaged ADC readings (read_uv: the ESP32's calibrated microvolts at the pin), a
#   divider ratio, integer millivolts, a threshold confirmed over a few checks, hysteresis.
#
# Nothing here runs per sample: the guard runs every check_ms (1 s) and SafeFile.write once per block.
import asyncio
import os
import struct
import time

import log
from micropython import const

ENOSPC = const(28)

OK = const(0)
WARN = const(1)
LOW = const(2)


def statvfs_free(path="/"):
    """Free bytes on the filesystem holding ``path`` (os.statvfs: f_bsize x f_bavail)."""
    st = os.statvfs(path)
    return st[0] * st[4]


class Battery:
    """Battery voltage from an ADC pin behind a divider.

    adc: machine.ADC (atten 11 dB: up to ~3.1 V at the pin); divider_milli: V_battery / V_pin x 1000
    (2000 for two equal resistors); low_mv: below this (confirmed by ``confirm`` checks in a row) the
    session must close; warn_mv: the LED warns below this; hysteresis_mv: a low or warning state clears
    only above its threshold + hysteresis (the voltage recovers when the load drops); samples: ADC
    readings averaged per check. Integer maths only.
    """

    def __init__(
        self, adc, *, divider_milli=2000, low_mv=3450, warn_mv=3600, hysteresis_mv=100, samples=8, confirm=3
    ):
        self.adc = adc
        self.divider_milli = divider_milli
        self.low_mv = low_mv
        self.warn_mv = warn_mv
        self.hysteresis_mv = hysteresis_mv
        self.samples = samples if samples > 0 else 1
        self.confirm = confirm if confirm > 0 else 1
        self.mv = 0  # last averaged reading
        self.state = OK
        self._below = 0

    def read_mv(self):
        # Average of `samples` readings, battery millivolts.
        adc = self.adc
        total = 0
        for _ in range(self.samples):
            total += adc.read_uv()
        uv = total // self.samples
        self.mv = uv * self.divider_milli // 1000000
        return self.mv

    def poll(self):
        """Read once and update ``state`` (OK, WARN, LOW); returns it."""
        mv = self.read_mv()
        if mv < self.low_mv:
            self._below += 1
            if self._below >= self.confirm:
                self.state = LOW
            elif self.state == OK:
                self.state = WARN
            return self.state
        self._below = 0
        if self.state == LOW:
            if mv < self.low_mv + self.hysteresis_mv:
                return LOW
            self.state = WARN
        if self.state == WARN:
            if mv >= self.warn_mv + self.hysteresis_mv:
                self.state = OK
        elif mv < self.warn_mv:
            self.state = WARN
        return self.state

    def ok_to_start(self):
        # A new session only when the battery is not low (with hysteresis).
        return self.state != LOW


class SafeFile:
    """The session file as log.SessionWriter sees it; survives ENOSPC with whole blocks only.

    Tracks the totals of the data blocks stored (for an end block written after ENOSPC).
    """

    def __init__(self, f, block_size):
        self.f = f
        self.block_size = block_size
        self.pos = 0  # end of the last whole block written
        self.full = False  # a write failed with ENOSPC: later writes are dropped
        self.errors = 0
        self.dropped = 0
        self.samples = 0
        self.data_blocks = 0
        self.overflow_lost = 0
        self.next_seq = 0
        self.next_index = 0
        self.last_t = 0
        self.session_id = 0

    def write(self, buf):
        if self.full:
            self.dropped += 1
            return len(buf)
        try:
            self.f.write(buf)
            self.f.flush()
        except OSError as e:
            if e.args[0] != ENOSPC:
                raise
            self.full = True
            self.errors += 1
            self._rewind()
            return len(buf)
        self.pos += len(buf)
        if buf[2] == 0x42 and buf[3] == 0x4B:  # "HSBK" (the header starts "HSNS")
            # type, flags, session id, seq, first index, t_ms, n, payload length, lost
            h = struct.unpack_from("<BHIIIIHHI", buf, 5)
            self.session_id = h[2]
            self.next_seq = h[3] + 1
            self.last_t = h[5]
            if h[0] == log.BLOCK_DATA:
                self.samples += h[6]
                self.data_blocks += 1
                self.overflow_lost += h[8]
                self.next_index = h[4] + h[6]
        return len(buf)

    def flush(self):
        pass

    def _rewind(self):
        # Back to the end of the last whole block: the torn bytes get overwritten by the end block.
        try:
            self.f.seek(self.pos)
        except OSError:
            pass

    def write_end(self, buf, reason, t_ms=-1):
        """Write the end block for the blocks stored (after ENOSPC); buf: a block_size scratch buffer.

        Returns True when it reached storage.
        """
        if t_ms < 0:
            t_ms = self.last_t
        lost = self.overflow_lost
        if lost > 0xFFFFFFFF:
            lost = 0xFFFFFFFF
        plen = log.pack_end_payload(buf, self.samples, self.data_blocks, lost, reason)
        log.pack_block_header(
            buf, log.BLOCK_END, 0, self.session_id, self.next_seq, self.next_index, t_ms, 0, plen, 0
        )
        log.seal_block(buf, plen)
        self._rewind()
        try:
            self.f.write(buf)
            self.f.flush()
        except OSError:
            self._rewind()
            return False
        self.pos += len(buf)
        return True


class Guard:
    """Watches free space and the battery while ``sampler`` records into a writer on ``safe``.

    free_bytes: function -> free bytes on the session filesystem (statvfs_free on the device; None:
    not watched); battery: Battery or None; reserve_bytes: close when less than this is free (default:
    8 blocks + 8 KiB for littlefs metadata; between two checks the writer's steps write a few blocks,
    the close what is pending, at most the block being built plus the 256-sample backlog, i.e. up to
    3 blocks, and the end block); release: called before the end block is written after an ENOSPC (frees a ballast
    file); clock / sleep_ms: ms clock and awaitable sleep (tests pass fakes).
    """

    def __init__(
        self,
        sampler,
        safe,
        *,
        free_bytes=None,
        battery=None,
        reserve_bytes=0,
        check_ms=1000,
        statvfs_ms=30000,
        release=None,
        clock=None,
        sleep_ms=None,
    ):
        self.sampler = sampler
        self.writer = sampler.writer
        self.safe = safe
        self.free_bytes = free_bytes
        self.battery = battery
        if not reserve_bytes:
            reserve_bytes = 8 * self.writer.block_size + 8192
        self.reserve_bytes = reserve_bytes
        self.check_ms = check_ms
        self.statvfs_ms = statvfs_ms
        self.release = release
        self._clock = clock if clock is not None else time.ticks_ms
        self._ticks_diff = time.ticks_diff
        self._sleep = sleep_ms if sleep_ms is not None else asyncio.sleep_ms
        self.free = -1  # last free-space figure (measured or estimated), bytes
        self._free_at = 0  # free bytes at the last statvfs
        self._written_at = 0  # writer.bytes_written then
        self._t_statvfs = 0
        self._measured = False
        self.reason = 0
        self.storage_low = False  # free space under 4 x reserve: the LED may warn
        self.checks = 0

    def free_now(self):
        # Free bytes: measured every statvfs_ms, estimated from the bytes written in between.
        if self.free_bytes is None:
            return -1
        now = self._clock()
        w = self.writer.bytes_written
        if not self._measured or self._ticks_diff(now, self._t_statvfs) >= self.statvfs_ms:
            self._free_at = self.free_bytes()
            self._written_at = w
            self._t_statvfs = now
            self._measured = True
        self.free = self._free_at - (w - self._written_at)
        return self.free

    def check(self):
        """The reason the session must close now (log.REASON_*), or 0."""
        self.checks += 1
        if self.safe.full:
            return log.REASON_STORAGE_FULL
        free = self.free_now()
        if free >= 0:
            if free < self.reserve_bytes:
                # Measure again before closing (the estimate errs on the safe side, but check it).
                self._measured = False
                free = self.free_now()
                if free < self.reserve_bytes:
                    return log.REASON_STORAGE_FULL
            self.storage_low = free < 4 * self.reserve_bytes
        if self.battery is not None and self.battery.poll() == LOW:
            return log.REASON_LOW_BATTERY
        return 0

    async def run(self):
        """Check every check_ms while the sampler runs; on a reason, stop the sampler and return it.

        Call sampler.start() first (run() returns at once when the sampler is not running).

        The owner then awaits the sampler's task and calls finish(guard.reason).
        """
        while self.sampler.running:
            await self._sleep(self.check_ms)
            if not self.sampler.running:
                break
            r = self.check()
            if r:
                self.reason = r
                self.sampler.stop()
                return r
        return 0

    def finish(self, reason=log.REASON_USER_STOP):
        """Close the session (after the sampler's run() ended): end block with ``reason``.

        After an ENOSPC the reason is REASON_STORAGE_FULL and the end block holds the totals of the
        blocks really stored. Returns the reason written.
        """
        if self.writer.closed:
            return reason
        s = self.sampler
        if not self.safe.full:
            s.close(reason)
        if self.safe.full:
            # ENOSPC before or during the close: the writer's totals count dropped blocks.
            reason = log.REASON_STORAGE_FULL
            if s.running:
                s.running = False
            try:
                s.imu.stop()
            except OSError:
                pass
            if self.release is not None:
                try:
                    self.release()
                except OSError:
                    pass
            self.safe.write_end(self.writer.block, reason, s.t_ms())
            self.writer.closed = True
        return reason
