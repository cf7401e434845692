# Who may sync over Bluetooth (docs/security.md): the pairing window and the hosts' keys.
#
# Pairing(path=KEYS_PATH, clock=None)
#   open()        open the pairing window for WINDOW_MS (a double press of the button, or PAIR over USB)
#   is_open()     whether it is open now (closes it when its time is up; listeners hear both changes)
#   listeners     callables on_change(is_open): link_ble lets the BLE stack make new bonds only while
#                 the window is open, main.py shows it on the LED
#   add_key(key_id, key, forget_others)   a host's 32-byte key, given over the USB cable (PAIR)
#   key(key_id)   that host's key or None
#   clip_id       8 random bytes naming this clip's key store (the host files its key under it)
#   held(), auth_failed(), auth_ok()   the AUTH back-off shared by every link and connection: after
#                 FREE_FAILS wrong AUTHs since the last right one (or PAIR), each wrong one holds every
#                 AUTH off for 1 s, doubling up to 64 s (a peer that reconnects gets no more tries)
# The keys live in a small JSON file (at most MAX_KEYS hosts; the oldest goes when a new one comes),
# with the count of wrong AUTHs, so a reboot gives no fresh tries: a clip that boots with a count past
# FREE_FAILS starts held. The count is written until the hold is at its longest (12 writes per attack
# at most, one more when a right AUTH clears it), not on every wrong try.
# hmac_sha256() is HMAC (RFC 2104) built on hashlib.sha256: the ESP32 build has no hmac module.
import binascii
import hashlib
import json
import os
import time

from micropython import const

KEYS_PATH = "/sync_keys.json"
WINDOW_MS = const(60000)
MAX_KEYS = const(4)
_BLOCK = const(64)
FREE_FAILS = const(6)  # two connections' worth of wrong AUTHs before the back-off starts
HOLD_MS = const(1000)
HOLD_MAX_MS = const(64000)
_HOLD_STEPS = const(6)  # HOLD_MS << 6 = HOLD_MAX_MS
_FAILS_KEPT = const(FREE_FAILS + _HOLD_STEPS)  # the hold is at its longest: no need to count on


def random_bytes(n):
    # The ESP32's os.urandom is its hardware RNG. The WebAssembly port used by the tests has none:
    # there (only there) fall back to the random module.
    try:
        return os.urandom(n)
    except AttributeError:
        import random

        return bytes(random.getrandbits(8) for _ in range(n))


def _hex(b):
    return binascii.hexlify(b).decode()


def hmac_sha256(key, msg):
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key + bytes(_BLOCK - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update(msg)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return outer.digest()


def same(a, b):
    # Compare two MACs in a time that does not depend on where they first differ.
    if len(a) != len(b):
        return False
    d = 0
    for i in range(len(a)):
        d |= a[i] ^ b[i]
    return d == 0


# A proof names the link it was made on: one a laptop gives over the USB cable (the pairing's check of a
# known clip) is no use over the radio, where a look-alike could otherwise relay it to this clip.
_HOST = b"hipsense-auth-host"
_HOST_USB = b"hipsense-auth-host-usb"
_CLIP = b"hipsense-auth-clip"
_CLIP_USB = b"hipsense-auth-clip-usb"


def host_proof(key, clip_id, key_id, clip_nonce, host_nonce, physical=False):
    return hmac_sha256(key, (_HOST_USB if physical else _HOST) + clip_id + key_id + clip_nonce + host_nonce)


def clip_proof(key, clip_id, key_id, clip_nonce, host_nonce, physical=False):
    return hmac_sha256(key, (_CLIP_USB if physical else _CLIP) + clip_id + key_id + host_nonce + clip_nonce)


class Pairing:
    def __init__(self, path=KEYS_PATH, clock=None):
        self.path = path
        self._clock = clock if clock is not None else time.ticks_ms
        self._until = None
        self.listeners = []
        self.keys = []  # [(key_id bytes, key bytes)], oldest first
        self.clip_id = b""
        self.fails = 0  # wrong AUTHs since the last right one, over every connection and reboot
        self._hold_at = 0
        self._hold_ms = 0
        self._load()
        if self.fails >= FREE_FAILS:  # held when it last ran: held again from boot
            self._hold()

    def _load(self):
        try:
            with open(self.path) as f:
                doc = json.loads(f.read())
            clip = binascii.unhexlify(doc["clip"])
            keys = [(binascii.unhexlify(i), binascii.unhexlify(k)) for i, k in doc["keys"]]
            if len(clip) == 8 and all(len(i) == 8 and len(k) == 32 for i, k in keys):
                self.clip_id, self.keys = clip, keys[-MAX_KEYS:]
                fails = doc.get("fails", 0)
                if isinstance(fails, int):
                    self.fails = min(max(fails, 0), _FAILS_KEPT)
                return
        except (OSError, ValueError, KeyError, TypeError):
            pass
        self.clip_id = random_bytes(8)  # a new (or unreadable) store: no host holds a key to it

    def _save(self):
        doc = {
            "clip": _hex(self.clip_id),
            "keys": [[_hex(i), _hex(k)] for i, k in self.keys],
            "fails": self.fails,
        }
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(doc))
        os.rename(tmp, self.path)  # a power cut leaves the old file or the new one

    def add_key(self, key_id, key, forget_others=False):
        keys = [] if forget_others else [(i, k) for i, k in self.keys if i != key_id]
        keys.append((bytes(key_id), bytes(key)))
        self.keys = keys[-MAX_KEYS:]
        self.fails = self._hold_ms = 0  # the owner, with the cable: no back-off left over
        self._save()

    def key(self, key_id):
        for i, k in self.keys:
            if i == key_id:
                return k
        return None

    def held(self):
        # Whether AUTH is on hold after wrong keys; 0 <= elapsed so a ticks wrap never extends it.
        return 0 <= time.ticks_diff(self._clock(), self._hold_at) < self._hold_ms

    def auth_failed(self):
        self.fails += 1
        if self.fails >= FREE_FAILS:
            self._hold()
        if self.fails <= _FAILS_KEPT:
            self._keep()

    def _hold(self):
        self._hold_at = self._clock()
        self._hold_ms = min(HOLD_MAX_MS, HOLD_MS << min(self.fails - FREE_FAILS, _HOLD_STEPS))

    def auth_ok(self):
        if self.fails:
            self.fails = self._hold_ms = 0
            self._keep()

    def _keep(self):
        # The count on flash; a flash that cannot be written (full, worn) leaves it in RAM only.
        try:
            self._save()
        except OSError:
            pass

    def open(self):
        was = self._until is not None
        self._until = time.ticks_add(self._clock(), WINDOW_MS)
        if not was:
            self._tell(True)

    def close(self):
        if self._until is not None:
            self._until = None
            self._tell(False)

    def is_open(self):
        if self._until is not None and time.ticks_diff(self._until, self._clock()) <= 0:
            self.close()
        return self._until is not None

    def _tell(self, is_open):
        for fn in self.listeners:
            fn(is_open)
