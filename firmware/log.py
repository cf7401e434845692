# Session file writer: header + fixed-size blocks (docs/session-format.md, format 1.0).
#
# One job: turn int16 samples into the session file's bytes and hand them to the file object it was
# given. The sampler feeds it with append() and runs its work() steps between drains; main/sync code
# decides when to close() and why.
#
# Seams for the firmware issue that adds power-cut recovery, storage-full and low-battery handling:
# - every block (data, end) reaches storage through SessionWriter._write_block(): the one place to
#   catch OSError(ENOSPC), count free space, or sync differently;
# - flush() emits the samples held in RAM now (call it before a low-battery close or deep sleep);
# - close(reason, t_ms) writes the end block with REASON_STORAGE_FULL / REASON_LOW_BATTERY too;
# - pack_block_header() / seal_block() / pack_end_payload() are module functions, so recovery code can
#   scan a torn file (blocks sit at header_length + k * block_size), truncate it to the last whole
#   block and append an end block with REASON_RECOVERED using the same code.
import array
import binascii
import struct

import codec
from micropython import const

FORMAT_MAJOR = const(1)
FORMAT_MINOR = const(0)
CODEC_RICE = const(1)
HEADER_MAGIC = b"HSNS"
BLOCK_MAGIC = b"HSBK"
HEADER_FMT = "<4sBBBBIIIIIHHIIQHBBI16s16s16s"  # 104 bytes, then zeros, CRC32 last
BLOCK_FMT = "<4sBBHIIIIHHI"  # 32 bytes
END_FMT = "<IIIBBH"  # 16 bytes (not "3x": MicroPython does not zero pad bytes)
BLOCK_HEADER = const(32)
BLOCK_OVERHEAD = const(36)

BLOCK_DATA = const(1)
BLOCK_END = const(2)
FLAG_GAP = const(0x0001)
FLAG_OVERFLOW = const(0x0002)

MOUNT_UNKNOWN = const(0)
MOUNT_BACK = const(1)
MOUNT_SIDE_LEFT = const(2)
MOUNT_SIDE_RIGHT = const(3)
MOUNT_FRONT = const(4)

REASON_USER_STOP = const(1)
REASON_STORAGE_FULL = const(2)
REASON_LOW_BATTERY = const(3)
REASON_RECOVERED = const(4)
REASON_NO_RUNNING = const(5)  # a session motion.py started, closed after a stretch without running

_FRAME = const(16)  # codec.FRAME
_CUTS = const(8)  # gaps the stage can hold before append() finishes the staged blocks itself
# Values one work() step encodes (about the time of one 16-sample frame analysis).
STEP_VALUES = const(384)
# What work() does next: analyse frames as samples arrive; search how many samples of the last
# frame fit; encode the block in slices; write it.
_BUILDING = const(0)
_SEARCHING = const(1)
_ENCODING = const(2)
_WRITING = const(3)


def pack_header(
    buf,
    length,
    block_size,
    session_id,
    channels,
    sample_rate_mhz,
    odr_mhz,
    acc_range_g,
    gyr_range_dps,
    acc_scale_ng,
    gyr_scale_ndps,
    start_time_unix,
    block_max_samples,
    mounting,
    device_id,
    firmware_version,
    sensor_model,
):
    # Header of `length` bytes into buf[0:length], CRC32 last.
    for i in range(length):
        buf[i] = 0
    struct.pack_into(
        HEADER_FMT,
        buf,
        0,
        HEADER_MAGIC,
        FORMAT_MAJOR,
        FORMAT_MINOR,
        channels,
        CODEC_RICE,
        length,
        block_size,
        session_id,
        odr_mhz,
        sample_rate_mhz,
        acc_range_g,
        gyr_range_dps,
        acc_scale_ng,
        gyr_scale_ndps,
        start_time_unix,
        block_max_samples,
        mounting,
        0,
        0,
        device_id,
        firmware_version,
        sensor_model,
    )
    mv = memoryview(buf)
    struct.pack_into("<I", buf, length - 4, binascii.crc32(mv[0 : length - 4]))


def pack_block_header(buf, btype, flags, session_id, seq, first_index, t_ms, n, payload_len, lost):
    struct.pack_into(
        BLOCK_FMT,
        buf,
        0,
        BLOCK_MAGIC,
        FORMAT_MAJOR,
        btype,
        flags,
        session_id,
        seq,
        first_index,
        t_ms & 0xFFFFFFFF,
        n,
        payload_len,
        lost,
    )


def seal_block(buf, payload_len, crc_view=None):
    # Zero the padding after the payload and write the CRC32 over everything before it. crc_view:
    # a preallocated memoryview of buf[0:len(buf) - 4] (saves an allocation per block).
    size = len(buf)
    for i in range(BLOCK_HEADER + payload_len, size - 4):
        buf[i] = 0
    if crc_view is None:
        crc_view = memoryview(buf)[0 : size - 4]
    struct.pack_into("<I", buf, size - 4, binascii.crc32(crc_view))


def pack_end_payload(buf, total_samples, data_blocks, overflow_lost, reason):
    struct.pack_into(END_FMT, buf, BLOCK_HEADER, total_samples, data_blocks, overflow_lost, reason, 0, 0)
    return struct.calcsize(END_FMT)


class SessionWriter:
    """Writes one session to the open binary file ``f`` (writes the header at once).

    append(samples, n, t_ms, flags=0, lost=0): n samples from samples (interleaved array('h'), n *
    channels values) read from the IMU FIFO at device time t_ms (ms since the session started). lost:
    samples missing right before these (the sample index jumps by lost; the block gets the gap flag);
    with flags & FLAG_OVERFLOW they were lost to a FIFO overflow and counted in the block's lost field
    (lost may be 0 when the count is unknown). A discontinuity starts a new block.

    append() only copies the samples to the stage; work() does the encoding in short steps (call it
    until it returns False, yielding in between: the sampler does so after each drain). Nobody calling
    work() is allowed too: once `backlog` samples wait beyond a full block, append() does the work
    itself (a long call, as before the split). A gap (lost or FLAG_OVERFLOW) is marked where it falls
    in the stage and ends the block before it in later work() steps; flush() and close() finish
    everything at once. The bytes written do not depend on when the work runs.
    """

    def __init__(
        self,
        f,
        session_id,
        channels,
        sample_rate_mhz,
        acc_range_g,
        acc_scale_ng,
        gyr_range_dps=0,
        gyr_scale_ndps=0,
        odr_mhz=0,
        device_id=b"",
        firmware_version=b"",
        sensor_model=b"",
        mounting=MOUNT_BACK,
        start_time_unix=0,
        block_size=2048,
        block_max_samples=1024,
        backlog=256,
    ):
        if channels != 3 and channels != 6:
            raise ValueError("channels must be 3 or 6")
        if block_size < 256 or block_size > 65536 or block_size & (block_size - 1):
            raise ValueError("block_size must be a power of two in 256..65536")
        if block_max_samples < 1 or block_max_samples > 65535:
            raise ValueError("block_max_samples must be in 1..65535")
        self.f = f
        self.session_id = session_id
        self.channels = channels
        self.block_size = block_size
        self.max_samples = block_max_samples
        self.block = bytearray(block_size)
        # The stage holds the block being built plus `backlog` samples that arrive while it is
        # finished (encoded and written in work() steps).
        if backlog < 0 or backlog > 65535:
            raise ValueError("backlog must be in 0..65535")
        stage = block_max_samples + backlog
        self.stage_samples = stage
        self.stage = array.array("h", bytes(2 * channels * stage))
        self._crc_view = memoryview(self.block)[0 : block_size - 4]
        self.enc = codec.BlockEncoder(channels, block_max_samples, block_size - BLOCK_OVERHEAD)
        # Time of the FIFO read that delivered each pending chunk: chunk start positions and times.
        if stage < 65536:
            self._ct_pos = array.array("H", bytes(2 * (stage + 1)))
        else:
            self._ct_pos = array.array("L", bytes(4 * (stage + 1)))
        self._ct_t = array.array("L", bytes(4 * (stage + 1)))
        self._state = _BUILDING
        self._n = 0  # samples of the block being finished
        self._plen = 0  # its payload bytes
        self._nct = 0
        self.count = 0  # samples pending in stage
        self.next_index = 0  # sample index of the next sample appended
        self.expected = 0  # sample index that would continue the last block without a gap
        self._pflags = 0
        self._plost = 0
        self._first = 0  # sample index of stage[0]
        # Gaps among the staged samples, oldest first: stage position, index jump, overflow flag and
        # overflow count. The block before a gap ends at it; the first block after it gets its flags.
        self._cut_pos = array.array("L", bytes(4 * _CUTS))
        self._cut_jump = array.array("L", bytes(4 * _CUTS))
        self._cut_lost = array.array("L", bytes(4 * _CUTS))
        self._cut_flags = bytearray(_CUTS)
        self._ncut = 0
        self.seq = 0  # sequence number of the next block
        self.samples = 0  # samples written in data blocks
        self.data_blocks = 0
        self.overflow_lost = 0
        self.bytes_written = 0
        self.closed = False
        if isinstance(device_id, str):
            device_id = device_id.encode()
        if isinstance(firmware_version, str):
            firmware_version = firmware_version.encode()
        if isinstance(sensor_model, str):
            sensor_model = sensor_model.encode()
        pack_header(
            self.block,
            block_size,
            block_size,
            session_id,
            channels,
            sample_rate_mhz,
            odr_mhz or sample_rate_mhz,
            acc_range_g,
            gyr_range_dps,
            acc_scale_ng,
            gyr_scale_ndps,
            start_time_unix,
            block_max_samples,
            mounting,
            device_id,
            firmware_version,
            sensor_model,
        )
        self._write_block(self.block)

    def _write_block(self, buf):
        # The one place blocks reach storage (seam for storage-full handling).
        self.f.write(buf)
        self.f.flush()
        self.bytes_written += len(buf)

    def _chunk(self, t_ms):
        # Record that the samples from position self.count on were read at t_ms.
        k = self._nct
        if k and self._ct_pos[k - 1] == self.count:
            k -= 1
        self._ct_pos[k] = self.count
        self._ct_t[k] = t_ms  # u32: no masking here, a big-int mask would allocate
        self._nct = k + 1

    def append(self, samples, n, t_ms, flags=0, lost=0):
        # Copies the samples to the stage and returns: the encoding waits for work(). Only a full
        # stage (nobody called work()) or a gap makes append do the work itself.
        if self.closed:
            raise ValueError("session closed")
        if lost or flags & FLAG_OVERFLOW:
            self._gap(flags & FLAG_OVERFLOW, lost)
            self.next_index += lost
        if n <= 0:
            return
        C = self.channels
        st = self.stage
        room_max = self.stage_samples
        self._chunk(t_ms)
        i = 0
        while i < n:
            if self._nct == 0:
                self._chunk(t_ms)
            have = self.count
            take = room_max - have
            if take <= 0:
                self.work()
                continue
            if take > n - i:
                take = n - i
            j = have * C
            k = i * C
            end = k + take * C
            while k < end:
                st[j] = samples[k]
                j += 1
                k += 1
            self.count = have + take
            self.next_index += take
            i += take

    def work(self):
        """One short step of the queued work; True while more is queued.

        A step is one frame analysis (16 samples), one probe of the search for how many samples of
        the last frame fit, a slice of the payload encoding (STEP_VALUES values), or the block's
        header, CRC and file write. The sampler calls it between drains, yielding to asyncio
        between steps, so no single call holds the loop for a whole block's encoding.
        """
        state = self._state
        enc = self.enc
        if state == _ENCODING:
            plen = enc.encode_step(STEP_VALUES)
            if plen >= 0:
                self._plen = plen
                self._state = _WRITING
            return True
        if state == _WRITING:
            self._write_data_block(self._plen)
            return True
        if state == _SEARCHING:
            n = enc.tail_step(self.stage)
            if n >= 0:
                enc.encode_begin(self.stage, n, self.block, BLOCK_HEADER)
                self._n = n
                self._state = _ENCODING
            return True
        cap = self.max_samples
        have = self.count
        cut = -1
        if self._ncut:
            self._pass_gaps()
            if self._ncut:
                cut = self._cut_pos[0]  # the block ends at the next gap at the latest
                if have > cut:
                    have = cut
        if have > cap:
            have = cap
        a = enc.frames * _FRAME
        if a + _FRAME <= have:
            if enc.push_frame(self.stage):
                if a + _FRAME == cap:  # full at a frame boundary
                    enc.encode_begin(self.stage, cap, self.block, BLOCK_HEADER)
                    self._n = cap
                    self._state = _ENCODING
            else:  # the frame does not fit whole: how much of it does
                enc.tail_begin(a + _FRAME - 1)
                self._state = _SEARCHING
            return True
        if have == cap and a < cap:  # the sample limit falls inside a frame
            enc.tail_begin(cap)
            self._state = _SEARCHING
            return True
        if have == cut and cut > 0:  # everything before the gap is staged: end the block there
            enc.tail_begin(cut)
            self._state = _SEARCHING
            return True
        return False

    def _gap(self, overflow, lost):
        # Mark a gap after the samples staged so far (lost: the index jump; with overflow, also the
        # block's lost count). Gaps at the same place add up.
        k = self._ncut
        if k and self._cut_pos[k - 1] == self.count:
            k -= 1
        else:
            if k == _CUTS:  # many gaps in one backlog: finish what is staged now
                self.flush()
                k = self._ncut
            self._cut_pos[k] = self.count
            self._cut_jump[k] = 0
            self._cut_lost[k] = 0
            self._cut_flags[k] = 0
        self._cut_jump[k] += lost
        if overflow:
            self._cut_flags[k] = 1
            self._cut_lost[k] += lost
        self._ncut = k + 1

    def _pass_gaps(self):
        # Gaps now at the start of the stage: the next block starts after them.
        pos = self._cut_pos
        while self._ncut and pos[0] == 0:
            self._first += self._cut_jump[0]
            if self._cut_flags[0]:
                self._pflags |= FLAG_OVERFLOW
                self._plost += self._cut_lost[0]
            k = 1
            while k < self._ncut:
                pos[k - 1] = pos[k]
                self._cut_jump[k - 1] = self._cut_jump[k]
                self._cut_lost[k - 1] = self._cut_lost[k]
                self._cut_flags[k - 1] = self._cut_flags[k]
                k += 1
            self._ncut -= 1

    def flush(self):
        # Write the pending samples now, as one block or more (gaps among them end blocks as usual).
        while self.work():
            pass
        while self.count:
            self.enc.tail_begin(self.count)
            self._state = _SEARCHING
            while self.work():
                pass

    def _write_data_block(self, plen):
        # Header, padding, CRC and file write of the encoded block of self._n samples; the samples
        # after them move to the start of the stage.
        n = self._n
        buf = self.block
        first = self._first
        flags = self._pflags
        if first != self.expected:
            flags |= FLAG_GAP
        pack_block_header(
            buf, BLOCK_DATA, flags, self.session_id, self.seq, first, self._ct_t[0], n, plen, self._plost
        )
        seal_block(buf, plen, self._crc_view)
        self._state = _BUILDING
        self._write_block(buf)
        self.seq += 1
        self.samples += n
        self.data_blocks += 1
        self.overflow_lost += self._plost
        self._pflags = 0
        self._plost = 0
        self.expected = first + n
        self._first = first + n
        k = 0
        while k < self._ncut:
            self._cut_pos[k] -= n
            k += 1
        # Keep the samples after the block at the start of the stage.
        C = self.channels
        left = self.count - n
        st = self.stage
        j = 0
        k = n * C
        end = k + left * C
        while k < end:
            st[j] = st[k]
            j += 1
            k += 1
        self.count = left
        # Chunk times: the chunk holding sample n becomes the first.
        pos = self._ct_pos
        tt = self._ct_t
        k = self._nct - 1
        while k > 0 and pos[k] > n:
            k -= 1
        j = 0
        if left:
            while k < self._nct:
                p = pos[k] - n
                pos[j] = p if p > 0 else 0
                tt[j] = tt[k]
                j += 1
                k += 1
        self._nct = j
        self.enc.reset()

    def close(self, reason=REASON_USER_STOP, t_ms=0):
        # Write what is pending and the end block; the file stays open (the caller owns it).
        if self.closed:
            return
        self.flush()
        buf = self.block
        lost = self.overflow_lost
        if lost > 0xFFFFFFFF:
            lost = 0xFFFFFFFF  # saturates, as the host writer does
        plen = pack_end_payload(buf, self.samples, self.data_blocks, lost, reason)
        pack_block_header(buf, BLOCK_END, 0, self.session_id, self.seq, self.next_index, t_ms, 0, plen, 0)
        seal_block(buf, plen)
        self._write_block(buf)
        self.seq += 1
        self.closed = True
