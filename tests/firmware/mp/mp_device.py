# Runs firmware/main.py's main() on fake hardware and fake time (MicroPython), for the main tests.
#
# Many tasks sleep at once (sampler, guard, button, LED, the simulated user), so time is a discrete-
# event simulation: every sleep registers its wake-up time, and once all tasks wait, the clock jumps
# to the earliest one. A whole session of fake minutes runs in well under a second.
import asyncio
import os

import machine
from fake_clock import FakeClock
from fake_icm42688 import FakeICM42688, TimeLockedICM42688
from fake_lsm6dsox import FakeLSM6DSOX, TimeLockedLSM6DSOX
from mp_rig import walk

FOLDER = "/mt_sessions"
# model: (I2C address, chip model, the model reading a source locked to the clock)
CHIPS = {
    "lsm6dsox": (0x6A, FakeLSM6DSOX, TimeLockedLSM6DSOX),
    "icm42688": (0x68, FakeICM42688, TimeLockedICM42688),
}
CONFIG = "/mt_config.json"


def rm_tree(folder):
    try:
        for e in os.ilistdir(folder):
            os.remove(folder + "/" + e[0])
        os.rmdir(folder)
    except OSError:
        pass


class EventClock:
    def __init__(self, clock):
        self.clock = clock
        self.waiters = []
        self.running = True

    async def sleep_ms(self, ms):
        ev = asyncio.Event()
        self.waiters.append((self.clock.us + ms * 1000, ev))
        await ev.wait()

    async def _ticker(self):
        while self.running:
            for _ in range(4):  # let every ready task run up to its next sleep
                await asyncio.sleep_ms(0)
            if not self.waiters:
                continue
            t = min(w[0] for w in self.waiters)
            if t > self.clock.us:
                self.clock.us = t
            due = [w for w in self.waiters if w[0] <= self.clock.us]
            self.waiters = [w for w in self.waiters if w[0] > self.clock.us]
            for _, ev in due:
                ev.set()

    async def run(self, device, user):
        # The WASM port does not resume the test's own coroutine while other tasks keep running, so
        # everything, stopping the ticker when the device returns included, runs inside one task.
        async def body():
            tick = asyncio.create_task(self._ticker())
            asyncio.create_task(user)
            result = await device
            self.running = False
            await tick
            return result

        return await asyncio.create_task(body())


async def run_device(
    config_text,
    script,
    end_ms,
    src=None,
    *,
    adc_uv=2_000_000,
    imu=True,
    keep=False,
    usb=None,
    source_rate=None,
    model="lsm6dsox",
):
    """Boot main.main() with config_text, press the button by script, stop at end_ms.

    script: [(ms, level)] button levels (0 = pressed), or [(ms, function)] to call then (sync frames).
    usb: (reader, writer) streams for the USB sync link (fakes/fake_sync.py). adc_uv: the battery ADC input (2 V = 4 V on
    the cell behind the default 1:2 divider); None: no ADC. imu: attach a fake chip fed with src (int16
    samples, 6 interleaved channels; default a random walk). model: which chip, "lsm6dsox" or "icm42688"
    (CHIPS). keep: keep the sessions folder as the last run left it. source_rate: the chip reads src
    locked to the clock, src being source_rate = (num, den) samples per us (fakes/fake_source.py).
    Returns (recorder, chip, LED on-time ms).
    """
    import main

    if not keep:
        rm_tree(FOLDER)
    if config_text is None:
        try:
            os.remove(CONFIG)
        except OSError:
            pass
    else:
        with open(CONFIG, "w") as f:
            f.write(config_text)
    clock = FakeClock()
    ev = EventClock(clock)
    i2c = machine.I2C(0)
    chip = None
    if imu:
        samples = src if src is not None else walk(208 * 30)
        addr, plain, locked = CHIPS[model]
        if source_rate is None:
            chip = i2c.attach(addr, plain(clock, samples))
        else:
            chip = i2c.attach(addr, locked(clock, samples, source_rate))
    button = machine.Pin(5, machine.Pin.IN, machine.Pin.PULL_UP, value=1)
    led = machine.Pin(13, machine.Pin.OUT)
    hw = {
        "i2c": i2c,
        "button": button,
        "led": led,
        "free_bytes": lambda: 10_000_000,
        "folder": FOLDER,
        "config": CONFIG,
        "clock": clock.ticks_ms,
        "sleep_ms": ev.sleep_ms,
        "usb": usb,
    }
    if adc_uv is not None:
        adc = machine.ADC(machine.Pin(2))
        adc.uv = adc_uv
        hw["adc"] = adc
    led_on = [0, 0]  # total on-time, time of the last rise

    def on_led(p):
        if p.value():
            led_on[1] = clock.ticks_ms()
        else:
            led_on[0] += clock.ticks_ms() - led_on[1]

    led.listen(on_led)
    done = asyncio.Event()

    async def user():
        for t, action in script:
            await ev.sleep_ms(t - clock.ticks_ms())
            if callable(action):
                action()
            else:
                button.value(action)
        await ev.sleep_ms(end_ms - clock.ticks_ms())
        done.set()

    rec = await ev.run(main.main(hw, done), user())
    return rec, chip, led_on[0]
