"""Who may sync over Bluetooth (docs/security.md): the laptop's keys and the proof exchanged with a clip.

``hipsense pair`` (USB cable) gives the clip a fresh 32-byte key of this laptop and keeps it in a
:class:`KeyRing` (one file per clip, readable by the user only). Over Bluetooth, where the link is
encrypted and bonded but anyone may have bonded in a pairing window, :func:`authenticate` proves to
the clip that this laptop holds the key (HMAC-SHA256 over both sides' fresh nonces), and checks the
clip's proof in turn. Over the USB cable no proof is needed: the cable is physical access.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from hipsense.sync import auth_wire as W
from hipsense.sync import protocol as P
from hipsense.sync.client import Client
from hipsense.sync.errors import DeviceRefused, SyncError


class NotPaired(SyncError):
    """The clip does not trust this laptop on this link (no bond, no key, wrong key)."""


class AuthHeld(NotPaired):
    """The clip holds every AUTH off for up to a minute after ``fails`` wrong keys (docs/security.md)."""

    def __init__(self, message: str, fails: int):
        super().__init__(message)
        self.fails = fails


@dataclass(frozen=True)
class HostKey:
    """This laptop's key for one clip."""

    clip_id: bytes
    key_id: bytes
    key: bytes
    device_id: str = ""
    #: the clip's radio address at its first Bluetooth sync after pairing ("" until then): a device at
    #: another address naming this clip gets no proof (a look-alike relaying it, red-team p14 H1)
    address: str = ""

    @staticmethod
    def new(key_id: bytes, clip_id: bytes = b"\0" * P.CLIP_ID_SIZE, device_id: str = "") -> HostKey:
        """A fresh random key under ``key_id`` (this laptop's id)."""
        return HostKey(clip_id, key_id, secrets.token_bytes(P.KEY_SIZE), device_id)


class KeyRing:
    """The keys of the clips this laptop is paired with: ``<folder>/<clip id>.json`` (mode 0600)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, clip_id: bytes) -> Path:
        return self.folder / f"{clip_id.hex()}.json"

    def get(self, clip_id: bytes) -> HostKey | None:
        """The key for ``clip_id``; None when there is none or its file is not a valid key file."""
        if len(clip_id) != P.CLIP_ID_SIZE:
            return None
        try:
            path = self._path(clip_id)
            # readable by others (copied, restored from a backup): made private
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            doc = json.loads(path.read_text())
            key = HostKey(
                clip_id,
                bytes.fromhex(doc["key_id"]),
                bytes.fromhex(doc["key"]),
                str(doc.get("device", "")),
                str(doc.get("address", ""))[:64],
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if len(key.key_id) != P.KEY_ID_SIZE or len(key.key) != P.KEY_SIZE:
            return None
        return key

    def laptop_id(self) -> bytes:
        """This laptop's key id (made once): pairing again replaces its key on the clip, not adds one."""
        path = self.folder / "laptop-id"
        try:
            got = bytes.fromhex(path.read_text().strip())
            if len(got) == P.KEY_ID_SIZE:
                return got
        except (OSError, ValueError):
            pass
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        new = secrets.token_bytes(P.KEY_ID_SIZE)
        path.write_text(new.hex())
        return new

    def save(self, key: HostKey) -> Path:
        return self.commit(self.stage(key), key.clip_id)

    def stage(self, key: HostKey) -> Path:
        """Write ``key`` into the ring's folder under a pending name, before the clip is given it: a full
        disk fails here, with the clip unchanged (red-team p14 H3). :meth:`commit` files it."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)  # a folder made by someone else, or by hand, is made private too
        tmp = self.folder / f".pending-{key.key_id.hex()}.json"
        tmp.unlink(missing_ok=True)  # a leftover keeps its own mode; a fresh file gets 0600
        doc = {
            "key_id": key.key_id.hex(),
            "key": key.key.hex(),
            "device": key.device_id,
            "address": key.address,
        }
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(doc))
            fh.flush()
            os.fsync(fh.fileno())
        return tmp

    def commit(self, staged: Path, clip_id: bytes) -> Path:
        """File a :meth:`stage`-d key as the key of ``clip_id`` (a rename: no space needed)."""
        path = self._path(clip_id)
        os.replace(staged, path)
        return path


def _label(side: str, physical: bool) -> bytes:
    """A proof's label names the link it is made on (``-usb`` for the cable): a laptop's proof given over
    the USB cable, to a look-alike posing as a paired clip, cannot be relayed to the clip over the radio
    (red-team p14 H1)."""
    return b"hipsense-auth-" + side.encode() + (b"-usb" if physical else b"")


def host_proof(key: HostKey, clip_nonce: bytes, host_nonce: bytes, *, physical: bool = False) -> bytes:
    msg = _label("host", physical) + key.clip_id + key.key_id + clip_nonce + host_nonce
    return hmac.new(key.key, msg, hashlib.sha256).digest()


def clip_proof(key: HostKey, clip_nonce: bytes, host_nonce: bytes, *, physical: bool = False) -> bytes:
    msg = _label("clip", physical) + key.clip_id + key.key_id + host_nonce + clip_nonce
    return hmac.new(key.key, msg, hashlib.sha256).digest()


async def authenticate(client: Client, keys: KeyRing | None, info: P.DeviceInfo) -> HostKey:
    """Prove this laptop's key to the clip on ``client`` and check the clip's proof; returns the key.

    Raises :class:`NotPaired` (one line saying what to do) when the link is not bonded, the laptop has
    no key for the clip or the clip refuses it, and :class:`SyncError` when the device's proof is wrong.
    """
    where, physical = client.transport.name, client.transport.physical
    for attempt in range(2):  # a resent AUTH finds its challenge used up (STATE): one more round
        host_nonce = secrets.token_bytes(P.NONCE_SIZE)
        try:
            clip_id, clip_nonce = await client.request(
                P.Type.AUTH_CHALLENGE, W.auth_challenge_request(host_nonce), W.auth_challenge_body
            )
        except DeviceRefused as e:
            if e.code == P.ErrorCode.NOT_SECURE:
                raise NotPaired(
                    f"the Bluetooth link to the clip {info.device_id} ({where}) is not encrypted and bonded: "
                    "new bonds are made only in its pairing window. Connect the clip with the USB cable and "
                    "run hipsense pair (or press its button twice), then sync over Bluetooth within a minute"
                ) from None
            raise
        key = keys.get(clip_id) if keys is not None else None
        if key is None:
            raise NotPaired(
                f"this laptop holds no key for the clip {info.device_id} ({clip_id.hex()}): connect it with "
                "the USB cable and run hipsense pair"
            )
        peer = "" if physical else client.transport.peer
        if peer and key.address and peer != key.address:  # checked before any proof is given
            raise NotPaired(
                f"the device at {peer} names the clip {info.device_id} ({clip_id.hex()}), which this laptop "
                f"syncs at {key.address}: a look-alike relaying to it? Nothing was sent. If the clip's address "
                "changed (new firmware or board), connect it with the USB cable and run hipsense pair"
            )
        try:
            proof = await client.request(
                P.Type.AUTH,
                W.auth_request(key.key_id, host_proof(key, clip_nonce, host_nonce, physical=physical)),
                W.auth_body,
            )
        except DeviceRefused as e:
            if e.code == P.ErrorCode.STATE and attempt == 0:
                continue
            if e.code == P.ErrorCode.AUTH and e.detail > P.AUTH_TRIES:
                raise AuthHeld(
                    f"the clip {info.device_id} holds key checks off after {e.detail} wrong keys from some "
                    "device near it: try again in a minute, or sync over the USB cable",
                    e.detail,
                ) from None
            if e.code == P.ErrorCode.AUTH:
                raise NotPaired(
                    f"the clip {info.device_id} did not accept this laptop's key (it was paired again "
                    "elsewhere, or reset): connect it with the USB cable and run hipsense pair"
                ) from None
            raise
        if not hmac.compare_digest(proof, clip_proof(key, clip_nonce, host_nonce, physical=physical)):
            raise SyncError(
                f"the device on {where} did not prove it holds this laptop's key: it is not the clip "
                f"{info.device_id} this laptop was paired with; nothing was synced"
            )
        if peer and not key.address and keys is not None:  # the first radio sync after pairing pins it
            key = dataclasses.replace(key, address=peer)
            keys.save(key)
        return key
    raise NotPaired(f"the clip {info.device_id} did not complete the key check")


__all__ = ["AuthHeld", "HostKey", "KeyRing", "NotPaired", "authenticate", "clip_proof", "host_proof"]
