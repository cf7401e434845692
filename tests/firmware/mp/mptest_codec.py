# MicroPython-side unit tests of firmware/codec.py and firmware/log.py (run inside MicroPython).
import array
import binascii
import io
import struct

import codec
import log
import micropython

# Worked example of docs/session-format.md: 5 samples of 3 channels.
EXAMPLE = [2048, 0, -3, 2050, 0, 1, 2053, 0, -2, 2055, 0, 2, 2056, 0, 0]
EXAMPLE_PAYLOAD = bytes([0x01, 0x00, 0x2B, 0x00, 0x10, 0x00, 0x40, 0x2C, 0x54, 0x7F, 0x2A, 0x03])


class _Rand:
    # Small deterministic generator (no dependency on the port's random module).
    def __init__(self, seed):
        self.s = seed

    def next(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return self.s % n


def _brute_rice(z, n):
    best = None
    for k in range(16):
        c = n * (k + 1)
        for i in range(n):
            c += z[i] >> k
        if best is None or c < best[0]:
            best = (c, k)
    return best


def test_worked_example_payload():
    out = bytearray(64)
    n = codec.encode_block(array.array("h", EXAMPLE), 5, 3, out, 0)
    assert bytes(out[:n]) == EXAMPLE_PAYLOAD, bytes(out[:n])


def test_rice_parameter_is_the_smallest_best():
    r = _Rand(5)
    z = array.array("H", [0] * 16)
    for trial in range(300):
        n = 1 + r.next(16)
        scale = 1 << r.next(17)
        for i in range(n):
            z[i] = r.next(scale) if trial % 5 else (65535 if i == 0 else 0)
        got = codec._rice(z, 0, n)
        cost, k = _brute_rice(z, n)
        assert got == (cost << 4) | k, (trial, got >> 4, got & 15, cost, k)


def test_constant_block_is_tiny_and_extremes_fit_16_bits():
    out = bytearray(4096)
    zeros = array.array("h", [0] * 48)
    # 16 samples x 3 channels of 0: orders 0, k 0, one unary bit per value.
    assert codec.encode_block(zeros, 16, 3, out, 0) == 2 + (3 * 2 * 4 + 48 + 7) // 8
    ext = array.array("h", [-32768, 32767, -32768] * 16)
    n = codec.encode_block(ext, 16, 3, out, 0)
    assert n <= 2 + (3 * 2 * 4 + 48 * 17 + 7) // 8


def test_block_fill_stops_at_capacity():
    r = _Rand(9)
    buf = array.array("h", [r.next(65536) - 32768 for _ in range(6 * 400)])
    enc = codec.BlockEncoder(6, 400, 1000)
    enc.reset()
    frames = 0
    while enc.push_frame(buf):
        frames += 1
    n = enc.tail(buf, 16 * frames + 15)
    out = bytearray(2000)
    size = enc.encode(buf, n, out, 0)
    assert size <= 1000
    # One more sample does not fit: encode n + 1 samples exactly.
    assert codec.encode_block(buf, n + 1, 6, out, 0) > 1000


def test_encode_in_steps_makes_the_same_bytes():
    # encode_begin + encode_step(budget) with any budget = encode(): the writer spreads a block's
    # encoding over work() steps of log.STEP_VALUES values.
    r = _Rand(21)
    for C, n, spread in ((3, 5, 3), (6, 200, 40), (6, 333, 3000), (3, 700, 7)):
        buf = array.array("h", [(r.next(2 * spread + 1) - spread) * (1 + (i % 7)) for i in range(C * n)])
        ref = bytearray(8192)
        size = codec.encode_block(buf, n, C, ref, 3)
        for budget in (1, 5, 16, 100, log.STEP_VALUES):
            enc = codec.BlockEncoder(C, n, 1 << 30)
            j = 0
            while (j + 1) * codec.FRAME <= n:
                enc.push_frame(buf)
                j += 1
            enc.tail_begin(n)
            got = enc.tail_step(buf)
            while got < 0:
                got = enc.tail_step(buf)
            assert got == n
            out = bytearray(8192)
            enc.encode_begin(buf, n, out, 3)
            steps = 1
            size2 = enc.encode_step(budget)
            while size2 < 0:
                steps += 1
                size2 = enc.encode_step(budget)
            assert size2 == size and out[: 3 + size] == ref[: 3 + size], (C, n, budget)
            # Three passes over n values per channel, budget values per step.
            assert steps >= 3 * C * n // budget, (steps, C, n, budget)


def test_work_steps_are_short_and_allocate_nothing_but_the_write():
    # append() only copies; work() steps analyse one frame, probe one tail length or encode a slice
    # (no allocation), and one step per block writes it (header, CRC: a few small objects).
    writes = []

    class Sink:
        def write(self, b):
            writes.append(len(b))

        def flush(self):
            pass

    w = _writer(Sink(), channels=6, acc_scale_ng=488000, gyr_range_dps=2000, gyr_scale_ndps=70000000)
    r = _Rand(5)
    chunk = array.array("h", [r.next(4001) - 2000 for _ in range(6 * 32)])
    steps = 0
    written_by = []  # the state of the step that wrote each block
    failed = [0]
    for i in range(60):
        blocks = w.data_blocks
        micropython.heap_lock()
        try:
            w.append(chunk, 32, 150 * i)
        except MemoryError:
            failed[0] += 1
        finally:
            micropython.heap_unlock()
        assert w.data_blocks == blocks, "append wrote a block"
        while True:
            state = w._state  # 3: log._WRITING, the step that writes the block
            blocks = w.data_blocks
            if state == 3:
                more = w.work()
            else:
                micropython.heap_lock()  # (lock and unlock in pairs: the lock is a counter)
                try:
                    more = w.work()
                except MemoryError:
                    failed[0] += 1
                    more = False
                finally:
                    micropython.heap_unlock()
            steps += 1
            if w.data_blocks != blocks:
                written_by.append(state)
            if not more:
                break
    assert failed[0] == 0, "a step allocated"
    assert len(written_by) >= 4 and all(s == 3 for s in written_by), written_by
    # Every block took many steps (its frames, the tail search, the encode slices, the write).
    assert steps >= 10 * len(written_by), (steps, len(written_by))
    assert w.count < codec.FRAME + 32  # nothing left behind but the unfinished frame


def test_append_works_itself_only_when_the_stage_is_full():
    # Nobody calls work(): the stage takes the block plus the backlog, then append() does the work.
    f = io.BytesIO()
    w = _writer(f, block_max_samples=100, backlog=40)
    assert w.stage_samples == 140
    r = _Rand(8)
    chunk = array.array("h", [r.next(200) for _ in range(3 * 20)])
    for i in range(7):
        w.append(chunk, 20, 10 * i)
        assert w.data_blocks == 0 and w.count == 20 * (i + 1)
    w.append(chunk, 20, 70)  # 160 samples do not fit 140: a block is written inside append()
    assert w.data_blocks == 1 and w.count == 60 and w.next_index == 160
    w.close()
    blocks = _blocks(f.getvalue(), 2048)
    assert [b[5] for b in blocks] == [100, 60, 0] and [b[4] for b in blocks[:2]] == [0, 50]


def _gappy_session(pump):
    # 40 reads of 7 samples; most with a gap or an overflow before them (more gaps than the stage
    # marks at once when nobody calls work()). Returns the file and whether a gap append wrote.
    f = io.BytesIO()
    w = _writer(f, block_size=256, block_max_samples=30)
    r = _Rand(17)
    chunk = array.array("h", [r.next(3000) for _ in range(3 * 7)])
    wrote = False
    for i in range(40):
        blocks = w.data_blocks
        if i % 4 == 1:
            w.append(chunk, 7, 50 * i, log.FLAG_OVERFLOW, i)
        elif i % 4 == 2:
            w.append(chunk, 0, 50 * i, log.FLAG_OVERFLOW, 3)  # an overflow read with no samples
            w.append(chunk, 7, 50 * i, 0, 2)
        elif i % 4 == 3:
            w.append(chunk, 7, 50 * i, 0, 5)
        else:
            w.append(chunk, 7, 50 * i)
        wrote = wrote or w.data_blocks != blocks
        while pump and w.work():
            pass
    w.close(log.REASON_USER_STOP, 9999)
    return f.getvalue(), wrote


def test_gaps_end_blocks_in_work_steps_not_in_append():
    pumped, wrote = _gappy_session(True)
    assert not wrote, "an append that reported a gap wrote a block itself"
    alone, _ = _gappy_session(False)  # 30 gaps pile up: append finishes the staged blocks itself
    assert pumped == alone
    data = _blocks(pumped, 256)[:-1]
    # A read without a gap before it (i = 4, 8, ..., 36) continues the block before it: 40 - 9.
    assert len(data) == 31 and sum(b[5] for b in data) == 280
    assert sum(1 for b in data if b[1] & log.FLAG_GAP) == 30
    # Overflow counts: i lost before reads i = 1, 5, ...; 3 before i = 2, 6, ... (the 2 of the plain
    # gap at the same place move the index but are no overflow).
    assert sum(b[7] for b in data if b[1] & log.FLAG_OVERFLOW) == sum(range(1, 40, 4)) + 10 * 3
    assert data[2][3] == 8 + 7 + 3 + 2 and data[2][1] == log.FLAG_GAP | log.FLAG_OVERFLOW


def _blocks(data, bs):
    # (type, flags, seq, first_index, t_ms, n, payload_len, lost) per block; checks magic and CRC.
    res = []
    for o in range(bs, len(data), bs):
        blk = data[o : o + bs]
        assert blk[:4] == b"HSBK"
        assert struct.unpack_from("<I", blk, bs - 4)[0] == binascii.crc32(blk[: bs - 4])
        f = struct.unpack_from("<4sBBHIIIIHHI", blk, 0)
        res.append((f[2], f[3], f[5], f[6], f[7], f[8], f[9], f[10]))
    return res


def _writer(f, **kw):
    args = dict(session_id=5, channels=3, sample_rate_mhz=208000, acc_range_g=16, acc_scale_ng=488000)
    args.update(kw)
    return log.SessionWriter(f, **args)


def test_header_is_valid():
    f = io.BytesIO()
    _writer(f, device_id="HS-9", sensor_model="LSM6DSOX", start_time_unix=1700000000, block_size=1024)
    data = f.getvalue()
    assert len(data) == 1024
    assert data[:4] == b"HSNS" and data[4] == 1 and data[5] == 0 and data[6] == 3 and data[7] == 1
    assert struct.unpack_from("<I", data, 1020)[0] == binascii.crc32(data[:1020])
    fields = struct.unpack_from(log.HEADER_FMT, data, 0)
    assert fields[5] == 1024 and fields[6] == 1024 and fields[7] == 5  # header length, block size, session
    assert fields[8] == 208000 and fields[9] == 208000  # odr defaults to the sample rate
    assert fields[14] == 1700000000 and fields[15] == 1024 and fields[16] == log.MOUNT_BACK
    assert fields[19][:4] == b"HS-9" and fields[21][:8] == b"LSM6DSOX"


def test_blocks_gaps_overflows_and_end_block():
    f = io.BytesIO()
    w = _writer(f, block_size=512)
    r = _Rand(3)
    chunk = array.array("h", [r.next(2000) for _ in range(3 * 50)])
    for i in range(20):
        w.append(chunk, 50, 100 * i)
    w.append(chunk, 50, 2000, 0, 30)  # 30 samples missing: gap
    w.append(chunk, 50, 2100, log.FLAG_OVERFLOW, 7)  # 7 lost to a FIFO overflow
    w.append(chunk, 10, 2200)
    w.close(log.REASON_LOW_BATTERY, 2300)
    data = f.getvalue()
    assert len(data) % 512 == 0
    blocks = _blocks(data, 512)
    seqs = [b[2] for b in blocks]
    assert seqs == list(range(len(blocks)))
    data_blocks = blocks[:-1]
    end = blocks[-1]
    assert all(b[0] == log.BLOCK_DATA for b in data_blocks) and end[0] == log.BLOCK_END
    gap = [b for b in data_blocks if b[1] & log.FLAG_GAP]
    assert [(b[1], b[3], b[4], b[7]) for b in gap] == [
        (log.FLAG_GAP, 1030, 2000, 0),
        (log.FLAG_GAP | log.FLAG_OVERFLOW, 1087, 2100, 7),
    ]
    assert sum(b[5] for b in data_blocks) == 1110
    # The end block: next index, and total samples / blocks / overflow / reason in its payload.
    assert end[3] == 1147 and end[4] == 2300 and end[5] == 0
    o = len(data) - 512 + 32
    assert struct.unpack_from("<IIIB", data, o) == (1110, len(data_blocks), 7, log.REASON_LOW_BATTERY)
    # Contiguous indices between the discontinuities.
    for i in range(1, len(data_blocks)):
        a = data_blocks[i - 1]
        b = data_blocks[i]
        if not b[1] & log.FLAG_GAP:
            assert b[3] == a[3] + a[5]


def test_append_allocates_nothing_between_blocks():
    class Sink:
        def __init__(self):
            self.n = 0

        def write(self, b):
            self.n += len(b)

        def flush(self):
            pass

    sink = Sink()
    w = _writer(sink, channels=6, acc_scale_ng=488000, gyr_range_dps=2000, gyr_scale_ndps=70000000)
    chunk = array.array("h", [(i * 37) % 900 for i in range(6 * 26)])
    w.append(chunk, 26, 0)
    state = [0]
    micropython.heap_lock()
    try:
        for i in range(4):  # 104 samples: no block is full yet
            w.append(chunk, 26, 125 * (i + 1))
    except MemoryError:
        state[0] = 1
    finally:
        micropython.heap_unlock()
    assert state[0] == 0, "append() allocated"
    assert w.data_blocks == 0 and w.count == 130


def test_max_samples_limits_a_block():
    f = io.BytesIO()
    w = _writer(f, block_max_samples=40)
    zeros = array.array("h", [0] * 300)
    w.append(zeros, 100, 0)
    w.close()
    blocks = _blocks(f.getvalue(), 2048)
    assert [b[5] for b in blocks] == [40, 40, 20, 0]


def test_close_twice_and_append_after_close():
    f = io.BytesIO()
    w = _writer(f)
    w.close()
    size = len(f.getvalue())
    w.close()
    assert len(f.getvalue()) == size == 2 * 2048
    try:
        w.append(array.array("h", [0, 0, 0]), 1, 0)
    except ValueError:
        pass
    else:
        raise AssertionError("append after close")


def test_bad_arguments():
    for kw in ({"channels": 4}, {"block_size": 1000}, {"block_size": 128}):
        try:
            _writer(io.BytesIO(), **kw)
        except ValueError:
            continue
        raise AssertionError(kw)
