# A clock the test advances by hand (runs on MicroPython).
#
# ticks_ms()/ticks_us() wrap like the port's time.ticks_ms() (same period), so code that times itself
# with time.ticks_diff() sees the same arithmetic as on the device. The chip models read clock.us.
import asyncio
import time

_MASK = time.ticks_add(0, -1)  # the ticks period - 1


class FakeClock:
    def __init__(self, start_ms=0):
        self.us = start_ms * 1000
        self.sleeps = 0

    def ticks_ms(self):
        return (self.us // 1000) & _MASK

    def ticks_us(self):
        return self.us & _MASK

    def advance_ms(self, ms):
        self.us += ms * 1000

    def advance_us(self, us):
        self.us += us

    async def sleep_ms(self, ms):
        # What the sampler awaits instead of asyncio.sleep_ms: fake time passes, other tasks run.
        self.sleeps += 1
        self.us += ms * 1000
        await asyncio.sleep_ms(0)


def ticks_period_ms():
    return _MASK + 1
