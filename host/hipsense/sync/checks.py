"""What the host accepts of a device's INFO: its protocol's major version and its ``max_chunk``."""

from __future__ import annotations

from hipsense.sync import protocol as P
from hipsense.sync.errors import ProtocolVersionError, SyncError


def check_version(info: P.DeviceInfo, where: str) -> None:
    if info.version_major < P.VERSION_MAJOR:
        raise ProtocolVersionError(
            f"the clip on {where} runs firmware with sync protocol {info.version_major}.{info.version_minor}, "
            f"too old for this hipsense ({P.VERSION_MAJOR}.x): update the clip (hipsense device deploy)"
        )
    if info.version_major > P.VERSION_MAJOR:
        raise ProtocolVersionError(
            f"the clip on {where} runs firmware with sync protocol {info.version_major}.{info.version_minor}, "
            f"newer than this hipsense understands ({P.VERSION_MAJOR}.x): update hipsense (pip install -U hipsense)"
        )


def check_info(info: P.DeviceInfo, where: str) -> None:
    """The device's INFO within what the host accepts (version, ``max_chunk``); else one-line errors."""
    check_version(info, where)
    if not P.MIN_CHUNK <= info.max_chunk <= P.MAX_CHUNK:
        raise SyncError(
            f"the clip on {where} announces READ chunks of {info.max_chunk} bytes, outside "
            f"{P.MIN_CHUNK}..{P.MAX_CHUNK}: its firmware is broken (hipsense device deploy); nothing was synced"
        )
