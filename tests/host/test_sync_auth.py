"""The laptop's side of the key proof (hipsense.sync.auth) against a scripted clip in process: the
clip's own proof is checked (a device without the key is not the paired clip), a used-up challenge is
retried once, and the key files are the user's only and read defensively."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import stat
import struct

import pytest

from hipsense.sync import protocol as P
from hipsense.sync.auth import HostKey, KeyRing, NotPaired, authenticate, clip_proof, host_proof
from hipsense.sync.client import Client
from hipsense.sync.errors import SyncError
from hipsense.sync.transport import Transport

CLIP_ID = b"\x01\x02\x03\x04\x05\x06\x07\x08"
INFO = P.DeviceInfo(2, 0, 4096, "HS-A", "1", "X")


class ScriptedClip(Transport):
    """Answers AUTH_CHALLENGE and AUTH as firmware/sync.py does, with ``key``; ``forge`` sends a wrong
    proof back, ``lose_first_auth_reply`` consumes the first challenge without answering."""

    name = "scripted clip"

    def __init__(
        self,
        key: HostKey,
        *,
        forge: bool = False,
        lose_first_auth_reply: bool = False,
        physical: bool = False,
    ):
        self.key = key
        self.physical = physical  # a USB link: the proofs name the cable (firmware/pairing.py)
        self.forge = forge
        self.lose = lose_first_auth_reply
        self.queue: asyncio.Queue = asyncio.Queue()
        self.nonce: bytes | None = None
        self.host_nonce = b""
        self.auths = 0

    async def send(self, frame: bytes) -> None:
        f = P.parse(frame)
        if f.type == P.Type.AUTH_CHALLENGE:
            self.host_nonce, self.nonce = f.body, bytes(range(16))
            self.queue.put_nowait(P.Frame(f.type | P.REPLY, f.req_id, CLIP_ID + self.nonce))
            return
        self.auths += 1
        nonce, self.nonce = self.nonce, None
        if nonce is None:  # the challenge was used up
            self.queue.put_nowait(P.Frame(P.Type.ERROR, f.req_id, struct.pack("<BBI", 6, f.type, 0)))
            return
        key_id, mac = f.body[:8], f.body[8:]
        assert key_id == self.key.key_id and hmac.compare_digest(
            mac, host_proof(self.key, nonce, self.host_nonce, physical=self.physical)
        )
        if self.lose:
            self.lose = False
            return  # the reply is lost: the client resends AUTH, which finds the challenge used up
        proof = clip_proof(self.key, nonce, self.host_nonce, physical=self.physical)
        if self.forge:
            proof = hashlib.sha256(proof).digest()
        self.queue.put_nowait(P.Frame(f.type | P.REPLY, f.req_id, proof))

    async def recv(self) -> P.Frame:
        return await self.queue.get()

    async def close(self) -> None:
        pass

    @property
    def bad_frames(self) -> int:
        return 0


def _ring(tmp_path) -> tuple[KeyRing, HostKey]:
    ring = KeyRing(tmp_path / "keys")
    key = HostKey.new(ring.laptop_id(), CLIP_ID, "HS-A")
    ring.save(key)
    return ring, key


def _auth(clip: ScriptedClip, ring: KeyRing | None):
    async def go():
        client = Client(clip, timeout_s=0.05, retries=1, backoff_s=0.0)
        try:
            return await authenticate(client, ring, INFO)
        finally:
            await client.close()

    return asyncio.run(go())


def test_the_clips_proof_is_checked(tmp_path):
    ring, key = _ring(tmp_path)
    assert _auth(ScriptedClip(key), ring) == key
    with pytest.raises(SyncError, match="did not prove it holds this laptop's key: it is not the clip HS-A"):
        _auth(ScriptedClip(key, forge=True), ring)


def test_proofs_name_the_link_they_are_made_on(tmp_path):
    # `hipsense pair` proves the laptop's key over the cable to a device naming a paired clip: that
    # proof must be no use over the radio, where a look-alike could relay it to the clip (red-team p14 H1).
    ring, key = _ring(tmp_path)
    assert _auth(ScriptedClip(key, physical=True), ring) == key  # the clip checks the cable's label
    h, c = bytes(16), bytes(range(16))
    assert host_proof(key, c, h, physical=True) != host_proof(key, c, h)
    assert clip_proof(key, c, h, physical=True) != clip_proof(key, c, h)
    # the clip's side refuses a cable proof on a radio link: tests/firmware/mp/mptest_sync_ble.py


def test_a_lost_auth_reply_costs_one_more_challenge(tmp_path):
    ring, key = _ring(tmp_path)
    clip = ScriptedClip(key, lose_first_auth_reply=True)
    assert _auth(clip, ring) == key and clip.auths == 3  # lost, used up (STATE), then a fresh one


def test_no_key_ring_or_no_key_is_one_line(tmp_path):
    _, key = _ring(tmp_path)
    with pytest.raises(NotPaired, match="holds no key for the clip HS-A .*hipsense pair"):
        _auth(ScriptedClip(key), None)
    with pytest.raises(NotPaired, match="holds no key"):
        _auth(ScriptedClip(key), KeyRing(tmp_path / "empty"))


def test_key_files_are_private_and_read_defensively(tmp_path):
    ring, key = _ring(tmp_path)
    path = tmp_path / "keys" / f"{CLIP_ID.hex()}.json"
    assert (
        stat.S_IMODE(path.stat().st_mode) == 0o600
        and stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    )
    assert ring.laptop_id() == key.key_id  # made once, then kept
    assert ring.get(CLIP_ID) == key and ring.get(b"short") is None
    for bad in (
        "not json",
        '{"key_id": "00", "key": "11"}',
        '{"key_id": 5}',
        "[]",
        '{"key_id": "zz", "key": "zz"}',
    ):
        path.write_text(bad)
        assert ring.get(CLIP_ID) is None, bad


def test_key_files_are_made_private_whatever_was_there(tmp_path):
    # Red-team p14 H8: a keys folder made 0755 stayed so, a leftover temporary file gave the saved key
    # 0644, and a key file made readable by others (a backup restored) was used as it was.
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    ring = KeyRing(folder)
    key = HostKey.new(ring.laptop_id(), CLIP_ID, "HS-A")
    leftover = folder / f".pending-{key.key_id.hex()}.json"
    leftover.write_text("{}")
    os.chmod(leftover, 0o644)
    path = ring.save(key)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not leftover.exists()
    os.chmod(path, 0o644)
    assert ring.get(CLIP_ID) == key and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_clips_radio_address_is_pinned_at_its_first_sync(tmp_path):
    # Red-team p14 H1 (the radio variant): a look-alike the laptop is pointed at relays its AUTH to the
    # clip. The clip's address is kept at the first Bluetooth sync after pairing; a device at another
    # address naming the clip gets no proof at all. Pairing again over the cable starts afresh.
    ring, key = _ring(tmp_path)

    def at(address: str) -> ScriptedClip:
        clip = ScriptedClip(key)
        clip.peer = address
        return clip

    assert _auth(at("AA:BB:CC:00:00:01"), ring).address == "AA:BB:CC:00:00:01" == ring.get(CLIP_ID).address
    assert _auth(at("AA:BB:CC:00:00:01"), ring).address == "AA:BB:CC:00:00:01"  # the same clip: served
    look_alike = at("66:66:66:00:00:02")
    with pytest.raises(NotPaired, match="names the clip HS-A .* syncs at AA:BB:CC:00:00:01: a look-alike"):
        _auth(look_alike, ring)
    assert look_alike.auths == 0  # no proof was sent to it
    cable = ScriptedClip(key, physical=True)
    assert _auth(cable, ring).address == "AA:BB:CC:00:00:01"  # the cable has no address: nothing pinned
    ring.save(HostKey.new(ring.laptop_id(), CLIP_ID, "HS-A"))  # `hipsense pair` gives a fresh key
    assert ring.get(CLIP_ID).address == ""
