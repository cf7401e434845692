# The device side of the sync protocol (docs/sync-protocol.md): answers one request frame at a time.
#
# SyncServer(storage_dir, info, status=None, recorder=None, clock=None, max_chunk=4096, live=None,
#            pairing=None)
#   info      (device_id, firmware_version, sensor_model) strings, for INFO
#   status    callable -> (battery_mv, battery_pct, free_kib), for STATUS (None: zeros)
#   recorder  object with active() -> session id or -1, start() -> session id, stop() -> session id;
#             None: START/STOP answer E_UNSUPPORTED and no session counts as being recorded
#   clock     object with get() -> unix seconds (0 = not set) and set(unix); default SystemClock()
#   live      live.LiveTap between the sampler and the writer, for LIVE_START / LIVE_STOP (None: E_UNSUPPORTED)
#   pairing   pairing.Pairing (hosts' keys, pairing window): a BLE link is trusted only once its host
#             proved it holds a key (AUTH_CHALLENGE / AUTH); None: an encrypted, bonded link is trusted
#   ble       the clip runs its BLE link (SELFTEST reports it)
# serve(link) answers frames from a link (link_usb.UsbLink, link_ble) until the link closes.
# Trust (docs/security.md): a physical link (USB) is trusted; a radio link only when encrypted, bonded
# and (with pairing) authenticated. An untrusted link gets INFO, a minimal STATUS and AUTH, nothing else.
# Sessions are the files "%08x.hsn" % session_id in storage_dir: session_path() names one,
# session_ids() lists them (main.py numbers new sessions with them). Buffers are allocated once; a
# request allocates only small objects (struct tuples, CRC ints, the LIST directory listing).
import binascii
import hashlib
import os
import struct
import time

import pairing as K
import protocol as P
from micropython import const

SUFFIX = ".hsn"
_EPOCH_2000 = const(946684800)
_SET_AFTER = const(1735689600)  # 2025-01-01
_SET_BEFORE = const(4102444800)  # 2100-01-01
_LIST_ENTRY = const(9)
_ENOSPC = const(28)
_SCRATCH = ".selftest"  # SELFTEST's scratch file in the storage folder (not a session name)
_AUTH_TRIES = const(3)  # failed AUTHs per connection (pairing.Pairing also holds AUTH off across them)
_PUBLIC = (P.INFO, P.STATUS)  # answered on any link
_LINK_AUTH = (P.AUTH_CHALLENGE, P.AUTH)  # answered on an encrypted, bonded link


def session_path(folder, sid):
    return "%s/%08x%s" % (folder, sid, SUFFIX)


def session_ids(folder):
    # The session ids of the files in folder (8 hex digits + SUFFIX), sorted; OSError if no folder.
    ids = []
    for name in os.listdir(folder):
        if len(name) == 8 + len(SUFFIX) and name.endswith(SUFFIX):
            try:
                ids.append(int(name[:8], 16))
            except ValueError:
                pass
    ids.sort()
    return ids


def epoch_offset():
    # Unix seconds at the port's time epoch: 2000 on the ESP32, 1970 on the unix and WebAssembly ports.
    return _EPOCH_2000 if time.gmtime(0)[0] == 2000 else 0


class SystemClock:
    # The board's RTC as unix seconds; 0 while it reads before 2025, i.e. it was not set since the
    # battery was last empty (it restarts at its epoch). A sync sets it; a reset keeps it.
    def __init__(self):
        self._offset = epoch_offset()

    def get(self):
        t = int(time.time()) + self._offset
        return t if t > _SET_AFTER else 0

    def set(self, unix):
        import machine

        t = time.gmtime(unix - self._offset)
        machine.RTC().datetime((t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0))


class SyncServer:
    def __init__(
        self,
        storage_dir,
        info,
        status=None,
        recorder=None,
        clock=None,
        max_chunk=4096,
        live=None,
        pairing=None,
        ble=False,
    ):
        self.dir = storage_dir
        self.info = tuple(x.encode() if isinstance(x, str) else x for x in info)
        self.status = status
        self.recorder = recorder
        self.clock = clock if clock is not None else SystemClock()
        self.max_chunk = max_chunk
        self.live = live
        self.pairing = pairing
        self.ble = ble
        self._link = None
        self._forget_link()
        self.out = bytearray(P.OVERHEAD + 8 + max_chunk)
        self._body = memoryview(self.out)[P.HEAD_SIZE :]
        self._file = None
        self._file_sid = -1
        self.requests = 0
        self.errors = 0
        self.faults = 0  # requests that raised something other than OSError (E_INTERNAL)

    async def serve(self, link):
        # Answer frames until the link reports it closed (recv() < 0).
        self._link = link
        self._forget_link()
        try:
            while True:
                n = await link.recv()
                if n < 0:
                    return
                m = self.handle(link.frame, n, link.secure, link.physical)
                await link.send(self.out, m)
        finally:
            self._link = None
            self._forget_link()
            if self.live is not None and self.live.link is link:
                self.live.stop()
            self._close_file()

    def _forget_link(self):
        # Authentication belongs to one connection.
        self._authed = False
        self._nonce = None
        self._host_nonce = None
        self._auth_fails = 0

    def trusted(self, secure, physical):
        return physical or (secure and (self.pairing is None or self._authed))

    def handle(self, frame, n, secure=True, physical=False):
        # Answer the request frame[0:n]; the reply is self.out[0:returned length].
        # secure: the link is encrypted and bonded (or physical); physical: a cable (USB).
        self.requests += 1
        head = P.check(frame, n)
        if head is None:
            req = struct.unpack_from("<H", frame, 1)[0] if n >= 3 else 0
            return self._error(req, 0, P.E_BAD_FRAME, n)
        ftype, req, length = head
        try:
            return self._dispatch(ftype, req, frame, length, secure, physical)
        except OSError as e:
            self._close_file()
            return self._error(req, ftype, P.E_IO, e.errno if isinstance(e.errno, int) else 0)
        except Exception:  # noqa: BLE001 - a fault of this firmware (or MemoryError): answered, and the
            # link keeps serving; left to rise, it would end serve() and the clip would answer no one
            self.faults += 1
            self._close_file()
            return self._error(req, ftype, P.E_INTERNAL, self.faults)

    def _dispatch(self, ftype, req, frame, length, secure, physical):
        want = _REQUEST_LENGTH.get(ftype)
        if want is None:
            return self._error(req, ftype, P.E_UNKNOWN_TYPE, 0)
        trusted = self.trusted(secure, physical)
        # Refused before its length is even looked at: an untrusted peer learns nothing else.
        if not trusted and ftype not in _PUBLIC and not (secure and ftype in _LINK_AUTH):
            return self._error(req, ftype, P.E_NOT_SECURE, 0)
        if ftype == P.PAIR and not physical:  # keys only over the cable, whatever the radio link
            return self._error(req, ftype, P.E_NOT_SECURE, 0)
        if length != want:
            return self._error(req, ftype, P.E_BAD_LENGTH, length)
        body = P.HEAD_SIZE
        if ftype == P.INFO:
            return self._info(req)
        if ftype == P.STATUS:
            return self._status(req, trusted)
        if ftype == P.READ:
            sid, offset, count = struct.unpack_from("<IIH", frame, body)
            return self._read(req, sid, offset, count)
        if ftype == P.LIST:
            return self._list(req, struct.unpack_from("<H", frame, body)[0])
        if ftype == P.CHECKSUM:
            sid, offset, count = struct.unpack_from("<III", frame, body)
            size = self._size(sid)
            if size < 0:
                return self._error(req, ftype, P.E_NO_SESSION, sid)
            offset = min(offset, size)
            count = min(count, size - offset)
            struct.pack_into("<III", self._body, 0, offset, count, self._crc(sid, offset, count))
            return P.seal(self.out, ftype | P.REPLY, req, 12)
        if ftype == P.DELETE:
            sid, size = struct.unpack_from("<II", frame, body)
            return self._delete(req, sid, size, bytes(frame[body + 8 : body + 8 + P.DIGEST_SIZE]))
        if ftype == P.SET_TIME:
            unix = struct.unpack_from("<Q", frame, body)[0]
            if not _SET_AFTER <= unix < _SET_BEFORE:  # a host's dead clock must not date the next runs
                return self._error(req, ftype, P.E_RANGE, 0)
            before = self.clock.get()
            self.clock.set(unix)
            struct.pack_into("<Q", self._body, 0, before)
            return P.seal(self.out, ftype | P.REPLY, req, 8)
        if ftype in (P.LIVE_START, P.LIVE_STOP):
            return self._live(req, ftype)
        if ftype in _LINK_AUTH or ftype == P.PAIR:
            return self._auth(req, ftype, bytes(frame[body : body + length]), physical)
        if ftype == P.SELFTEST:
            return self._selftest(req, struct.unpack_from("<H", frame, body)[0])
        return self._record(req, ftype)

    def handle_status(self, trusted=False):
        # The STATUS reply (request id 0) in self.out, for links that also publish it (the BLE status
        # characteristic is readable without encryption: the minimal one by default).
        return self._status(0, trusted)

    # -- commands ---------------------------------------------------------------------------------

    def _info(self, req):
        dev, fw, sensor = self.info
        struct.pack_into(
            "<BBH16s16s16s", self._body, 0, P.VERSION_MAJOR, P.VERSION_MINOR, self.max_chunk, dev, fw, sensor
        )
        return P.seal(self.out, P.INFO | P.REPLY, req, 52)

    def _list(self, req, start):
        ids = session_ids(self.dir)
        active = self._active()
        room = min(255, (self.max_chunk - 3) // _LIST_ENTRY)
        page = ids[start : start + room]
        struct.pack_into("<HB", self._body, 0, len(ids), len(page))
        pos = 3
        for sid in page:
            flags = P.SESSION_RECORDING if sid == active else 0
            struct.pack_into("<IIB", self._body, pos, sid, self._size(sid), flags)
            pos += _LIST_ENTRY
        return P.seal(self.out, P.LIST | P.REPLY, req, pos)

    def _read(self, req, sid, offset, count):
        f = self._open(sid)
        if f is None:
            return self._error(req, P.READ, P.E_NO_SESSION, sid)
        count = min(count, self.max_chunk)
        struct.pack_into("<I", self._body, 0, offset)
        # Past the end: no bytes (an offset above 2**31 made seek raise OverflowError and killed serve()).
        f.seek(min(offset, f.seek(0, 2)))
        got = 0
        while got < count:  # readinto may return less than asked before the end of the file
            k = f.readinto(self._body[4 + got : 4 + count])
            if not k:
                break
            got += k
        return P.seal(self.out, P.READ | P.REPLY, req, 4 + got)

    def _delete(self, req, sid, size, digest):
        # Erase only for the SHA-256 of the whole file: only a holder of every byte can compute it
        # (a CRC could be read back or forged). The detail says nothing about the file.
        have = self._size(sid)
        if have < 0:
            return self._error(req, P.DELETE, P.E_NO_SESSION, sid)
        if sid == self._active():
            return self._error(req, P.DELETE, P.E_STATE, sid)
        if have != size or self._sha256(sid, have) != digest:
            return self._error(req, P.DELETE, P.E_MISMATCH, 0)
        self._close_file()
        os.remove(self._path(sid))
        return P.seal(self.out, P.DELETE | P.REPLY, req, 0)

    def _status(self, req, trusted=True):
        battery_mv, battery_pct, free_kib = self.status() if self.status else (0, 0, 0)
        active = self._active()
        unix = self.clock.get()
        flags = (P.STATUS_RECORDING if active >= 0 else 0) | (P.STATUS_CLOCK_SET if unix else 0)
        if self.pairing is not None and self.pairing.is_open():
            flags |= P.STATUS_PAIRING
        if trusted:
            count = len(session_ids(self.dir))
        else:  # minimal: no session id, time, free space or session count for an untrusted link
            flags |= P.STATUS_LIMITED
            active = unix = free_kib = count = 0
        struct.pack_into(
            "<BIQHBIH", self._body, 0, flags, max(active, 0), unix, battery_mv, battery_pct, free_kib, count
        )
        return P.seal(self.out, P.STATUS | P.REPLY, req, 22)

    def _record(self, req, ftype):
        # START or STOP through the recorder owned by main.py.
        if self.recorder is None:
            return self._error(req, ftype, P.E_UNSUPPORTED, 0)
        recording = self._active() >= 0
        if recording == (ftype == P.START):
            return self._error(req, ftype, P.E_STATE, 0)
        self._close_file()
        sid = self.recorder.start() if ftype == P.START else self.recorder.stop()
        struct.pack_into("<I", self._body, 0, sid)
        return P.seal(self.out, ftype | P.REPLY, req, 4)

    def _live(self, req, ftype):
        # Start or stop streaming the session being recorded over the link this request came on.
        if self.live is None:
            return self._error(req, ftype, P.E_UNSUPPORTED, 0)
        if ftype == P.LIVE_STOP:
            self.live.stop()
            return P.seal(self.out, ftype | P.REPLY, req, 0)
        active = self._active()
        if active < 0 or self._link is None:
            return self._error(req, ftype, P.E_STATE, 0)
        self.live.start(self._link)
        struct.pack_into(
            "<IIBB", self._body, 0, active, self.live.first, self.live.channels, self.live.per_packet
        )
        return P.seal(self.out, ftype | P.REPLY, req, 10)

    def _auth(self, req, ftype, body, physical=False):
        # AUTH_CHALLENGE, AUTH (a host proves it holds a key; the clip proves it too) and PAIR. Both
        # proofs name the link (physical: the USB cable), so one given over the cable is no use by radio.
        pairing = self.pairing
        if pairing is None:
            return self._error(req, ftype, P.E_UNSUPPORTED, 0)
        if ftype == P.PAIR:
            pairing.add_key(
                body[0 : P.KEY_ID_SIZE], body[P.KEY_ID_SIZE : P.KEY_ID_SIZE + P.KEY_SIZE], body[-1] & 1
            )
            pairing.open()
            self._body[0 : P.CLIP_ID_SIZE] = pairing.clip_id
            struct.pack_into("<BB", self._body, P.CLIP_ID_SIZE, K.WINDOW_MS // 1000, len(pairing.keys))
            return P.seal(self.out, ftype | P.REPLY, req, P.CLIP_ID_SIZE + 2)
        if self._auth_fails >= _AUTH_TRIES:
            return self._error(req, ftype, P.E_AUTH, self._auth_fails)
        if ftype == P.AUTH_CHALLENGE:
            self._host_nonce = body
            self._nonce = K.random_bytes(P.NONCE_SIZE)
            self._body[0 : P.CLIP_ID_SIZE] = pairing.clip_id
            self._body[P.CLIP_ID_SIZE : P.CLIP_ID_SIZE + P.NONCE_SIZE] = self._nonce
            return P.seal(self.out, ftype | P.REPLY, req, P.CLIP_ID_SIZE + P.NONCE_SIZE)
        nonce, host_nonce = self._nonce, self._host_nonce
        self._nonce = self._host_nonce = None  # a challenge answers one AUTH, right or wrong
        if nonce is None:
            return self._error(req, ftype, P.E_STATE, 0)
        if pairing.held():  # wrong keys on earlier connections: no MAC is even checked for a while
            return self._error(req, ftype, P.E_AUTH, pairing.fails)
        key_id, mac = body[0 : P.KEY_ID_SIZE], body[P.KEY_ID_SIZE :]
        key = pairing.key(key_id)
        if key is None or not K.same(
            mac, K.host_proof(key, pairing.clip_id, key_id, nonce, host_nonce, physical)
        ):
            self._auth_fails += 1
            pairing.auth_failed()
            return self._error(req, ftype, P.E_AUTH, self._auth_fails)
        pairing.auth_ok()
        self._authed = True
        self._body[0 : P.DIGEST_SIZE] = K.clip_proof(
            key, pairing.clip_id, key_id, nonce, host_nonce, physical
        )
        return P.seal(self.out, ftype | P.REPLY, req, P.DIGEST_SIZE)

    def _selftest(self, req, kib):
        # Write kib KiB (clamped to 1..SELFTEST_MAX_KIB) to a scratch file, read it back, delete it:
        # flash write and read times for `hipsense device check`, plus the BLE state. Not while
        # recording (the sampler owns the flash then; the test blocks the loop for its duration),
        # nor without free room for twice the size (the guard's margin stays untouched).
        if self._active() >= 0:
            return self._error(req, P.SELFTEST, P.E_STATE, 0)
        n = min(max(kib, 1), P.SELFTEST_MAX_KIB) * 1024
        if self.status is not None and self.status()[2] < 2 * n // 1024:
            return self._error(req, P.SELFTEST, P.E_IO, _ENOSPC)
        self._close_file()
        buf = self._body[16:]  # the reply buffer after the reply's own fields: nothing allocated
        chunk = len(buf)
        for i in range(chunk):
            buf[i] = (i * 7 + 1) & 0xFF
        crc = 0
        left = n
        while left > 0:
            k = min(chunk, left)
            crc = binascii.crc32(buf[0:k], crc)
            left -= k
        path = self.dir + "/" + _SCRATCH
        try:
            t0 = time.ticks_us()
            f = open(path, "wb")
            try:
                left = n
                while left > 0:
                    k = min(chunk, left)
                    f.write(buf[0:k])
                    left -= k
            finally:
                f.close()  # on flash: close commits the file, part of the write time
            t1 = time.ticks_us()
            got = 0
            back = 0
            with open(path, "rb") as f:
                while True:
                    k = f.readinto(buf)
                    if not k:
                        break
                    back = binascii.crc32(buf[0:k], back)
                    got += k
            t2 = time.ticks_us()
        finally:
            try:
                os.remove(path)
            except OSError:
                pass
        ok = 1 if got == n and back == crc else 0
        flags = P.SELFTEST_BLE if self.ble else 0
        keys = len(self.pairing.keys) if self.pairing is not None else 0
        struct.pack_into(
            "<IIIBBB",
            self._body,
            0,
            n,
            max(0, time.ticks_diff(t1, t0)),
            max(0, time.ticks_diff(t2, t1)),
            ok,
            flags,
            keys,
        )
        return P.seal(self.out, P.SELFTEST | P.REPLY, req, 15)

    def _error(self, req, ftype, code, detail):
        self.errors += 1
        struct.pack_into("<BBI", self._body, 0, code, ftype, detail & 0xFFFFFFFF)
        return P.seal(self.out, P.ERROR, req, 6)

    # -- files ------------------------------------------------------------------------------------

    def _path(self, sid):
        return session_path(self.dir, sid)

    def _active(self):
        return self.recorder.active() if self.recorder is not None else -1

    def _size(self, sid):
        try:
            return os.stat(self._path(sid))[6]
        except OSError:
            return -1

    def _open(self, sid):
        # Keep the file of the session being read open between READs.
        if sid != self._file_sid:
            self._close_file()
            try:
                self._file = open(self._path(sid), "rb")
            except OSError:
                return None
            self._file_sid = sid
        return self._file

    def _close_file(self):
        if self._file is not None:
            self._file.close()
        self._file = None
        self._file_sid = -1

    def _crc(self, sid, offset, count):
        # CRC32 of count bytes from offset, read through the reply buffer (no extra allocation).
        f = self._open(sid)
        f.seek(offset)
        crc = 0
        buf = self._body[16:]
        while count > 0:
            k = f.readinto(buf[0 : min(count, len(buf))])
            if not k:
                break
            crc = binascii.crc32(buf[0:k], crc)
            count -= k
        return crc

    def _sha256(self, sid, count):
        # SHA-256 of the first count bytes, read through the reply buffer like _crc.
        f = self._open(sid)
        f.seek(0)
        h = hashlib.sha256()
        buf = self._body[16:]
        while count > 0:
            k = f.readinto(buf[0 : min(count, len(buf))])
            if not k:
                break
            h.update(buf[0:k])
            count -= k
        return h.digest()


_REQUEST_LENGTH = {
    P.INFO: 0,
    P.LIST: 2,
    P.READ: 10,
    P.CHECKSUM: 12,
    P.DELETE: 8 + P.DIGEST_SIZE,
    P.SET_TIME: 8,
    P.START: 0,
    P.STOP: 0,
    P.STATUS: 0,
    P.LIVE_START: 0,
    P.LIVE_STOP: 0,
    P.AUTH_CHALLENGE: P.NONCE_SIZE,
    P.AUTH: P.KEY_ID_SIZE + P.DIGEST_SIZE,
    P.PAIR: P.KEY_ID_SIZE + P.KEY_SIZE + 1,
    P.SELFTEST: 2,
}
