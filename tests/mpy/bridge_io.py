# MicroPython side of tests/mpy/bridge.mjs: a reader and a writer backed by the bridge's file
# descriptor, with the interface of MicroPython's asyncio streams (readinto / write + drain).
# A pump task moves bytes from the JS promise into a buffer, so cancelling readinto (a timeout) never
# loses bytes.
import asyncio
import binascii

import hostio


class Reader:
    def __init__(self):
        self._buf = bytearray()
        self._event = asyncio.Event()
        self._eof = False
        self._task = asyncio.create_task(self._pump())

    async def _pump(self):
        while True:
            data = bytes(await hostio.read())
            if not data:
                self._eof = True
                self._event.set()
                return
            self._buf.extend(data)
            self._event.set()

    async def readinto(self, buf):
        while not self._buf:
            if self._eof:
                return 0
            self._event.clear()
            await self._event.wait()
        n = min(len(buf), len(self._buf))
        buf[0:n] = self._buf[0:n]
        self._buf = self._buf[n:]
        return n


class Writer:
    def write(self, buf):
        hostio.write(binascii.hexlify(buf).decode())

    async def drain(self):
        pass
