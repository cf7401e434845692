# MicroPython tests of firmware/recovery.py (the 1000-offset power-cut test is test_recovery.py).
import array
import binascii
import os
import struct

import log
import recovery
from mp_rig import walk

BS = 1024
PATH = "/rec.session"


def _write_session(n_samples, close=False, max_samples=40, t_step=25):
    # A 3-axis session whose blocks end exactly at max_samples (nothing pending when it stops).
    src = walk(n_samples)
    a = array.array("h", [src[i * 6 + c] for i in range(n_samples) for c in range(3)])
    f = open(PATH, "wb")
    w = log.SessionWriter(
        f, 99, 3, 104000, 16, 488000, block_size=BS, block_max_samples=max_samples, sensor_model="LSM6DSOX"
    )
    for i in range(0, n_samples, 10):
        chunk = array.array("h", a[i * 3 : (i + 10) * 3])
        w.append(chunk, 10, i * t_step // 10, log.FLAG_OVERFLOW if i == 200 else 0, 13 if i == 200 else 0)
        while w.work():  # as the sampler does after each drain: whole blocks reach the file
            pass
    if close:
        w.close(log.REASON_USER_STOP, 99999)
    f.close()
    return w


def _blocks(data):
    res = []
    for o in range(BS, len(data) - len(data) % BS, BS):
        blk = data[o : o + BS]
        ok = blk[:4] == b"HSBK" and struct.unpack_from("<I", blk, BS - 4)[0] == binascii.crc32(blk[: BS - 4])
        f = struct.unpack_from("<4sBBHIIIIHHI", blk, 0)
        res.append((ok, f[2], f[5], f[6], f[7], f[8]))  # ok, type, seq, first_index, t_ms, n
    return res


def _end_payload(data):
    return struct.unpack_from("<IIIB", data, len(data) - BS + 32)


def _rm(p):
    try:
        os.remove(p)
    except OSError:
        pass


def test_torn_tail_is_overwritten_by_the_end_close_would_write():
    w = _write_session(400)  # 10 blocks of 40 (one is split by the overflow at 200)
    whole = open(PATH, "rb").read()
    with open(PATH, "ab") as f:
        f.write(b"HSBK\x01\x01" + bytes(500))  # the block being written when the power failed
    res = recovery.recover(PATH)
    data = open(PATH, "rb").read()
    assert res == (recovery.RECOVERED, w.data_blocks, 400, 506), res
    assert len(data) == len(whole) + BS and data[: len(whole)] == whole
    blocks = _blocks(data)
    assert [b[2] for b in blocks] == list(range(len(blocks))) and all(b[0] for b in blocks)
    assert blocks[-1][1] == log.BLOCK_END and _end_payload(data) == (
        400,
        w.data_blocks,
        13,
        log.REASON_RECOVERED,
    )
    # Byte for byte what SessionWriter.close() writes after the same blocks, at the last block's time.
    w.f = open("/closed.session", "wb")
    w.close(log.REASON_RECOVERED, blocks[-2][4])
    w.f.close()
    assert open("/closed.session", "rb").read() == data[-BS:]


def test_trailing_invalid_blocks_are_dropped():
    _write_session(200)
    whole = open(PATH, "rb").read()
    with open(PATH, "ab") as f:
        f.write(bytes(2 * BS + 100))  # allocated but never written (zeros), then a torn part
    res = recovery.recover(PATH)
    data = open(PATH, "rb").read()
    assert res[0] == recovery.RECOVERED and res[3] == 2 * BS + 100
    assert len(data) == len(whole) + BS and data[: len(whole)] == whole
    assert "rec.session.tmp" not in os.listdir("/")


def test_corrupt_block_in_the_middle_is_kept():
    _write_session(200)
    data = bytearray(open(PATH, "rb").read())
    data[2 * BS + 100] ^= 0xFF  # block 1 damaged
    open(PATH, "wb").write(data)
    res = recovery.recover(PATH)
    out = open(PATH, "rb").read()
    assert out[: len(data)] == data
    blocks = _blocks(out)
    assert not blocks[1][0] and blocks[-1][1] == log.BLOCK_END and blocks[-1][2] == len(blocks) - 1
    assert res[1] == len(blocks) - 2 and _end_payload(out)[0] == 200 - 40


def test_closed_session_is_left_alone_and_junk_after_close_is_cut():
    _write_session(120, close=True)
    data = open(PATH, "rb").read()
    assert recovery.recover(PATH)[0] == recovery.CLOSED and open(PATH, "rb").read() == data
    with open(PATH, "ab") as f:
        f.write(b"\xff" * 300)
    res = recovery.recover(PATH)
    assert res == (recovery.CLOSED, 3, 120, 300) and open(PATH, "rb").read() == data


def test_files_without_a_whole_header():
    _write_session(80)
    full = open(PATH, "rb").read()
    for n in (0, 3, 50, BS - 1):  # power lost while the header was written: no samples, removed
        open(PATH, "wb").write(full[:n])
        assert recovery.recover(PATH)[0] == recovery.REMOVED, n
        assert "rec.session" not in os.listdir("/"), n
    for junk in (b"not a session file at all" * 50, b"HSNS\x02" + bytes(2000)):  # left alone
        open(PATH, "wb").write(junk)
        assert recovery.recover(PATH)[0] == recovery.BAD_HEADER
        assert open(PATH, "rb").read() == junk
    bad = bytearray(full)
    bad[60] ^= 1  # whole header with a CRC error: never deleted
    open(PATH, "wb").write(bad)
    assert recovery.recover(PATH)[0] == recovery.BAD_HEADER and open(PATH, "rb").read() == bad


def test_header_only_gets_an_empty_end_block():
    _write_session(80)
    full = open(PATH, "rb").read()
    open(PATH, "wb").write(full[: BS + 10])
    assert recovery.recover(PATH) == (recovery.RECOVERED, 0, 0, 10)
    out = open(PATH, "rb").read()
    assert len(out) == 2 * BS and _end_payload(out) == (0, 0, 0, log.REASON_RECOVERED)


def test_recover_all_in_a_folder():
    try:
        os.mkdir("/sessions")
    except OSError:
        pass
    _write_session(100)
    a = open(PATH, "rb").read()
    open("/sessions/a.hsn", "wb").write(a[: len(a) - 5])
    _write_session(100, close=True)
    open("/sessions/b.hsn", "wb").write(open(PATH, "rb").read())
    open("/sessions/notes.txt", "wb").write(b"x")
    done = dict(recovery.recover_all("/sessions", ".hsn"))
    assert sorted(done) == ["a.hsn", "b.hsn"]
    assert done["a.hsn"][0] == recovery.RECOVERED and done["b.hsn"][0] == recovery.CLOSED
    for p in ("/sessions/a.hsn", "/sessions/b.hsn", "/sessions/notes.txt"):
        _rm(p)
