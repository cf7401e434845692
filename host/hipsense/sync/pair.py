"""``hipsense pair``: give the clip this laptop's key over the USB cable (docs/security.md)."""

from __future__ import annotations

from dataclasses import dataclass

from hipsense.sync import auth_wire as W
from hipsense.sync import protocol as P
from hipsense.sync.auth import AuthHeld, HostKey, KeyRing, NotPaired, authenticate
from hipsense.sync.checks import check_info
from hipsense.sync.client import Client
from hipsense.sync.engine import Connect
from hipsense.sync.errors import DeviceNotFound, DeviceRefused, NoReply, SyncError


@dataclass(frozen=True)
class PairResult:
    device_id: str
    clip_id: str
    key_id: str
    #: how long the clip's Bluetooth pairing window stays open
    window_s: int
    #: laptops' keys the clip holds now
    keys: int


async def pair_over_usb(
    connect: Connect, keys: KeyRing, *, forget_others: bool = False, replace: bool = False
) -> PairResult:
    """Send a new key to the clip on ``connect`` (a USB link), keep it in ``keys``; the clip opens its
    pairing window. A fresh key each time: pairing again replaces this laptop's old key on the clip.

    When this laptop already holds a key for the clip id the device names, the device must first prove
    it holds that key (as over Bluetooth); if it cannot (the clip was reset, or another device poses as
    it), nothing is replaced unless ``replace``: otherwise any USB device naming a paired clip's id
    would take that clip's place in this laptop's keys.
    """
    transport = await connect()
    client = Client(transport, timeout_s=2.0, retries=2)
    try:
        if not transport.physical:
            raise SyncError("pairing needs the USB cable: a key never travels over the radio")
        try:
            info = await client.request(P.Type.INFO, parse=P.info_body)
        except NoReply:
            raise DeviceNotFound(
                f"no hipsense clip answers on {transport.name} (is it switched on and running the hipsense "
                "firmware? `hipsense device deploy` installs it)"
            ) from None
        check_info(info, transport.name)
        named = None if replace else await _known_clip_proves_its_key(client, keys, info)
        key = HostKey.new(keys.laptop_id(), device_id=info.device_id)
        staged = keys.stage(key)  # kept before the clip is given it: a full disk stops here
        try:
            reply = await client.request(
                P.Type.PAIR, W.pair_request(key.key_id, key.key, forget_others), W.pair_body, timeout_s=5.0
            )
            if named is not None and reply.clip_id != named:
                raise SyncError(
                    f"the device on {transport.name} named the clip id {named.hex()}, then paired as "
                    f"{reply.clip_id.hex()}: it is not a hipsense clip; no key was kept"
                )
            if named is None and not replace and keys.get(reply.clip_id) is not None:
                # It would not say which clip it is (no key check), then paired as one this laptop holds a
                # key for: it has not proved that key, so it does not take that clip's place (red-team H2).
                raise SyncError(
                    f"the device on {transport.name} did not take the key check, then paired as the clip "
                    f"{reply.clip_id.hex()} this laptop is paired with: it has not proved it is that clip. "
                    "Nothing was changed; if it is your clip, run hipsense pair --replace"
                )
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        keys.commit(staged, reply.clip_id)
        return PairResult(info.device_id, reply.clip_id.hex(), key.key_id.hex(), reply.window_s, reply.keys)
    finally:
        await client.close()


async def _known_clip_proves_its_key(client: Client, keys: KeyRing, info: P.DeviceInfo) -> bytes | None:
    """The clip id the device names (None: firmware without keys). When this laptop holds a key for it,
    the device must prove it holds that key too, else :class:`SyncError` saying how to replace it."""
    try:  # a challenge only to learn the clip id (authenticate makes its own, with a fresh nonce)
        clip_id, _ = await client.request(
            P.Type.AUTH_CHALLENGE, W.auth_challenge_request(bytes(P.NONCE_SIZE)), W.auth_challenge_body
        )
    except DeviceRefused as e:
        if e.code == P.ErrorCode.UNSUPPORTED:
            return None  # no key store on the clip: its PAIR reply says so
        raise
    if keys.get(clip_id) is None:
        return clip_id
    try:
        await authenticate(client, keys, info)
    except AuthHeld as e:  # the clip cannot prove its key for up to a minute; the cable's PAIR clears it
        raise SyncError(
            f"the device on {client.transport.name} names the clip {info.device_id} ({clip_id.hex()}) and "
            f"holds key checks off after {e.fails} wrong keys from some device: nothing was changed. Run "
            "hipsense pair again in a minute (if it still fails and it is your clip, hipsense pair --replace)"
        ) from None
    except (NotPaired, SyncError):
        raise SyncError(
            f"the device on {client.transport.name} names the clip {info.device_id} ({clip_id.hex()}) but does "
            "not hold the key this laptop paired with it: it was reset, or it is another device posing as "
            "it. Nothing was changed; if it is your clip, run hipsense pair --replace"
        ) from None
    return clip_id


__all__ = ["PairResult", "pair_over_usb"]
