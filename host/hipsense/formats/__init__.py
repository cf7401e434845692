"""File formats of hipsense: the device session file (``session_*`` modules, re-exported by
``device_file``; codec in ``codec``).

Spec: ``docs/session-format.md``. The main entry points are re-exported here.
"""

from hipsense.formats.device_file import (
    CorruptBlockWarning,
    DecodedSession,
    DecodeReport,
    SessionFileWarning,
    SessionHeader,
    TornTailWarning,
    decode_session,
    encode_session,
    format_losses,
    read_device_file,
    write_device_file,
)

__all__ = [
    "CorruptBlockWarning",
    "DecodeReport",
    "DecodedSession",
    "SessionFileWarning",
    "SessionHeader",
    "TornTailWarning",
    "decode_session",
    "encode_session",
    "format_losses",
    "read_device_file",
    "write_device_file",
]
