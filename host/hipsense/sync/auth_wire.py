"""The bodies of AUTH_CHALLENGE, AUTH and PAIR (docs/sync-protocol.md; what they are for:
docs/security.md). Apart from :mod:`hipsense.sync.protocol` because only pairing and the key proof use
them."""

from __future__ import annotations

from dataclasses import dataclass

from hipsense.sync.protocol import CLIP_ID_SIZE, DIGEST_SIZE, KEY_ID_SIZE, KEY_SIZE, NONCE_SIZE, FrameError


def auth_challenge_request(host_nonce: bytes) -> bytes:
    return _fixed(host_nonce, NONCE_SIZE, "nonce")


def auth_challenge_body(body: bytes) -> tuple[bytes, bytes]:
    """(clip id, the clip's nonce) of an AUTH_CHALLENGE reply."""
    if len(body) != CLIP_ID_SIZE + NONCE_SIZE:
        raise FrameError(f"AUTH_CHALLENGE reply of {len(body)} bytes")
    return body[:CLIP_ID_SIZE], body[CLIP_ID_SIZE:]


def auth_request(key_id: bytes, mac: bytes) -> bytes:
    return _fixed(key_id, KEY_ID_SIZE, "key id") + _fixed(mac, DIGEST_SIZE, "MAC")


def auth_body(body: bytes) -> bytes:
    """The clip's proof (HMAC-SHA256) of an AUTH reply."""
    if len(body) != DIGEST_SIZE:
        raise FrameError(f"AUTH reply of {len(body)} bytes")
    return body


@dataclass(frozen=True)
class PairReply:
    clip_id: bytes
    window_s: int
    keys: int


def pair_request(key_id: bytes, key: bytes, forget_others: bool = False) -> bytes:
    return _fixed(key_id, KEY_ID_SIZE, "key id") + _fixed(key, KEY_SIZE, "key") + bytes([int(forget_others)])


def pair_body(body: bytes) -> PairReply:
    if len(body) != CLIP_ID_SIZE + 2:
        raise FrameError(f"PAIR reply of {len(body)} bytes")
    return PairReply(body[:CLIP_ID_SIZE], body[CLIP_ID_SIZE], body[CLIP_ID_SIZE + 1])


def _fixed(data: bytes, size: int, what: str) -> bytes:
    if len(data) != size:
        raise ValueError(f"{what} of {len(data)} bytes, expected {size}")
    return bytes(data)
