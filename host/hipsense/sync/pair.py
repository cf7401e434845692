"""``hipsense pair``: give the clip this laptop's key over the USB cable (docs/security.md)."""

from __future__ import annotations

from dataclasses import dataclass

from hipsense.sync import auth_wire as W
from hipsense.sync import protocol as P
from hipsense.sync.auth import HostKey, KeyRing
from hipsense.sync.checks import check_info
from hipsense.sync.client import Client
from hipsense.sync.engine import Connect
from hipsense.sync.errors import DeviceNotFound, NoReply, SyncError


@dataclass(frozen=True)
class PairResult:
    device_id: str
    clip_id: str
    key_id: str
    #: how long the clip's Bluetooth pairing window stays open
    window_s: int
    #: laptops' keys the clip holds now
    keys: int


async def pair_over_usb(connect: Connect, keys: KeyRing, *, forget_others: bool = False) -> PairResult:
    """Send a new key to the clip on ``connect`` (a USB link), keep it in ``keys``; the clip opens its
    pairing window. A fresh key each time: pairing again replaces this laptop's old key on the clip."""
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
        key = HostKey.new(keys.laptop_id(), device_id=info.device_id)
        reply = await client.request(
            P.Type.PAIR, W.pair_request(key.key_id, key.key, forget_others), W.pair_body, timeout_s=5.0
        )
        key = HostKey(reply.clip_id, key.key_id, key.key, info.device_id)
        keys.save(key)
        return PairResult(info.device_id, reply.clip_id.hex(), key.key_id.hex(), reply.window_s, reply.keys)
    finally:
        await client.close()


__all__ = ["PairResult", "pair_over_usb"]
