"""Device session files (format 1): the names of the reader and writer in one place.

The format is split by role: :mod:`~hipsense.formats.session_spec` (constants, structures, header and
report dataclasses), :mod:`~hipsense.formats.session_writer` (``encode_session``,
``write_device_file``), :mod:`~hipsense.formats.session_reader` (``decode_session``,
``read_device_file``, ``format_losses``) with :mod:`~hipsense.formats.session_header`,
:mod:`~hipsense.formats.session_recovery` and :mod:`~hipsense.formats.session_blocks`. This module
re-exports them so that existing imports keep working; new code may import from the split modules
directly.
"""

from __future__ import annotations

from hipsense.formats.session_header import parse_header
from hipsense.formats.session_reader import decode_session, format_losses, is_session_file, read_device_file
from hipsense.formats.session_recovery import recover_header
from hipsense.formats.session_spec import (
    BLOCK_DATA,
    BLOCK_DTYPE,
    BLOCK_END,
    BLOCK_HEADER,
    BLOCK_MAGIC,
    BLOCK_OVERHEAD,
    BLOCK_SIZE_MAX,
    BLOCK_SIZE_MIN,
    BLOCK_STRUCT,
    BLOCK_TABLE_DTYPE,
    CLOSE_CODES,
    CLOSE_REASONS,
    CODEC_RICE,
    END_STRUCT,
    FLAG_GAP,
    FLAG_OVERFLOW,
    FORMAT_VERSION,
    HEADER_FIXED,
    HEADER_MAGIC,
    HEADER_MAX,
    HEADER_MIN,
    HEADER_STRUCT,
    KNOWN_FLAGS,
    MAX_MISSING_S,
    MOUNTING_CODES,
    MOUNTINGS,
    READER_VERSION,
    CorruptBlockWarning,
    DecodedSession,
    DecodeReport,
    HeaderRecoveredWarning,
    SessionFileWarning,
    SessionHeader,
    TornTailWarning,
)
from hipsense.formats.session_writer import encode_session, write_device_file

__all__ = [
    "BLOCK_DATA",
    "BLOCK_DTYPE",
    "BLOCK_END",
    "BLOCK_HEADER",
    "BLOCK_MAGIC",
    "BLOCK_OVERHEAD",
    "BLOCK_SIZE_MAX",
    "BLOCK_SIZE_MIN",
    "BLOCK_STRUCT",
    "BLOCK_TABLE_DTYPE",
    "CLOSE_CODES",
    "CLOSE_REASONS",
    "CODEC_RICE",
    "END_STRUCT",
    "FLAG_GAP",
    "FLAG_OVERFLOW",
    "FORMAT_VERSION",
    "HEADER_FIXED",
    "HEADER_MAGIC",
    "HEADER_MAX",
    "HEADER_MIN",
    "HEADER_STRUCT",
    "KNOWN_FLAGS",
    "MAX_MISSING_S",
    "MOUNTINGS",
    "MOUNTING_CODES",
    "READER_VERSION",
    "CorruptBlockWarning",
    "DecodeReport",
    "DecodedSession",
    "HeaderRecoveredWarning",
    "SessionFileWarning",
    "SessionHeader",
    "TornTailWarning",
    "decode_session",
    "encode_session",
    "format_losses",
    "is_session_file",
    "parse_header",
    "read_device_file",
    "recover_header",
    "write_device_file",
]
