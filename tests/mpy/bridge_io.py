# MicroPython side of tests/mpy/bridge.mjs: a reader and a writer backed by the bridge's file
# descriptor, with the interface of MicroPython's asyncio streams (readinto / write + drain).
# The reader is fake_sync.MemoryReader fed by a pump task that moves bytes from the JS promise into
# its buffer, so cancelling readinto (a timeout) never loses bytes.
import asyncio
import binascii

import hostio
from fake_sync import MemoryReader


class Reader(MemoryReader):
    def __init__(self):
        MemoryReader.__init__(self, piece=65536)  # no limit below the caller's buffer
        self._task = asyncio.create_task(self._pump())

    async def _pump(self):
        while True:
            data = bytes(await hostio.read())
            if not data:
                self.close()
                return
            self.feed(data)


class Writer:
    def write(self, buf):
        hostio.write(binascii.hexlify(buf).decode())

    async def drain(self):
        pass
