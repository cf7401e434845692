"""Sync: sessions from the clip to the laptop over USB serial or BLE (docs/sync-protocol.md).

``protocol`` (frames, COBS, command bodies), ``transport`` (the link interface the sync logic sees),
``serial_transport`` (pyserial), ``client`` (requests, retries), ``engine`` (pull, verify, store,
delete), ``command`` (the ``hipsense sync`` command with its progress bars).
"""
