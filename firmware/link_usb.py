# Sync frames over USB serial (docs/sync-protocol.md): framing.FramedLink on the USB CDC streams.
#
# UsbLink(reader, writer, max_frame=64, max_reply=4096 + 17, idle_ms=5000)
#   reader  asyncio.StreamReader(sys.stdin.buffer) on the board; writer asyncio.StreamWriter(sys.stdout.buffer)
# While frames arrive, Ctrl-C (0x03, which can occur in any frame) must not interrupt the firmware:
# the first good frame disables it (micropython.kbd_intr(-1)); idle_ms without bytes restores it, so
# a developer can still reach the REPL. The host's first frame contains no 0x03 byte.
import asyncio

import micropython
from framing import FramedLink


class UsbLink(FramedLink):
    secure = True
    physical = True  # a cable is physical access: trusted (docs/security.md)

    def __init__(self, reader, writer, max_frame=64, max_reply=4096 + 17, idle_ms=5000):
        FramedLink.__init__(self, reader, writer, max_frame, max_reply)
        self.idle_ms = idle_ms
        self.quiet = False  # Ctrl-C disabled

    def on_frame(self):
        if not self.quiet:
            micropython.kbd_intr(-1)
            self.quiet = True

    async def read(self, buf):
        # Wait for bytes; after idle_ms without any, give Ctrl-C back. 0 at the end of the stream.
        while True:
            if not self.quiet:
                k = await self.reader.readinto(buf)
                break
            try:
                k = await asyncio.wait_for_ms(self.reader.readinto(buf), self.idle_ms)
                break
            except asyncio.TimeoutError:
                self._restore()
        if not k:
            self._restore()
        return k

    def _restore(self):
        if self.quiet:
            micropython.kbd_intr(3)
            self.quiet = False
