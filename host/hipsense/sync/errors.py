"""Errors of the sync: each is a :class:`~hipsense.errors.HipsenseError` the CLI prints as one line."""

from __future__ import annotations

from hipsense.errors import HipsenseError


class SyncError(HipsenseError):
    """Sync with a device cannot go on."""


class DeviceNotFound(SyncError):
    """No device at the given port or address."""


class PortBusy(SyncError):
    """Another program has the serial port open."""


class ProtocolVersionError(SyncError):
    """The device's firmware speaks another major version of the sync protocol."""


class DiskFull(SyncError):
    """The laptop's disk filled up while a session was being written."""


class LinkLost(SyncError):
    """The link to the device dropped (cable pulled, out of range); the engine reconnects."""


class NoReply(SyncError):
    """A request went unanswered after every retry."""


class DeviceRefused(SyncError):
    """The device answered a request with an error reply."""

    def __init__(self, message: str, code: int, detail: int = 0):
        super().__init__(message)
        self.code = code
        self.detail = detail
