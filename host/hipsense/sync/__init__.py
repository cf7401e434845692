"""Sync: sessions from the clip to the laptop over USB serial or BLE (docs/sync-protocol.md).

``protocol`` (frames, COBS, command bodies), ``transport`` (the link interface the sync logic sees),
``serial_transport`` (pyserial), ``ble_transport`` (bleak), ``client`` (requests, retries), ``engine``
(pull, verify, store, delete), ``live`` (live streaming), ``errors``, ``command`` (the ``hipsense sync``
and ``hipsense live`` commands with their progress bars and tables).
"""
