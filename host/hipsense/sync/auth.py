"""Who may sync over Bluetooth (docs/security.md): the laptop's keys and the proof exchanged with a clip.

``hipsense pair`` (USB cable) gives the clip a fresh 32-byte key of this laptop and keeps it in a
:class:`KeyRing` (one file per clip, readable by the user only). Over Bluetooth, where the link is
encrypted and bonded but anyone may have bonded in a pairing window, :func:`authenticate` proves to
the clip that this laptop holds the key (HMAC-SHA256 over both sides' fresh nonces), and checks the
clip's proof in turn. Over the USB cable no proof is needed: the cable is physical access.
"""

from __future__ import annotations

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
            doc = json.loads(self._path(clip_id).read_text())
            key = HostKey(
                clip_id, bytes.fromhex(doc["key_id"]), bytes.fromhex(doc["key"]), str(doc.get("device", ""))
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
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._path(key.clip_id)
        tmp = path.with_suffix(".tmp")
        doc = {"key_id": key.key_id.hex(), "key": key.key.hex(), "device": key.device_id}
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(doc))
        os.replace(tmp, path)
        return path


def host_proof(key: HostKey, clip_nonce: bytes, host_nonce: bytes) -> bytes:
    msg = b"hipsense-auth-host" + key.clip_id + key.key_id + clip_nonce + host_nonce
    return hmac.new(key.key, msg, hashlib.sha256).digest()


def clip_proof(key: HostKey, clip_nonce: bytes, host_nonce: bytes) -> bytes:
    msg = b"hipsense-auth-clip" + key.clip_id + key.key_id + host_nonce + clip_nonce
    return hmac.new(key.key, msg, hashlib.sha256).digest()


async def authenticate(client: Client, keys: KeyRing | None, info: P.DeviceInfo) -> HostKey:
    """Prove this laptop's key to the clip on ``client`` and check the clip's proof; returns the key.

    Raises :class:`NotPaired` (one line saying what to do) when the link is not bonded, the laptop has
    no key for the clip or the clip refuses it, and :class:`SyncError` when the device's proof is wrong.
    """
    where = client.transport.name
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
        try:
            proof = await client.request(
                P.Type.AUTH, W.auth_request(key.key_id, host_proof(key, clip_nonce, host_nonce)), W.auth_body
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
        if not hmac.compare_digest(proof, clip_proof(key, clip_nonce, host_nonce)):
            raise SyncError(
                f"the device on {where} did not prove it holds this laptop's key: it is not the clip "
                f"{info.device_id} this laptop was paired with; nothing was synced"
            )
        return key
    raise NotPaired(f"the clip {info.device_id} did not complete the key check")


__all__ = ["AuthHeld", "HostKey", "KeyRing", "NotPaired", "authenticate", "clip_proof", "host_proof"]
