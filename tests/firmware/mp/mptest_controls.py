# MicroPython tests of firmware/controls.py with a fake Pin and a fake clock.
import asyncio

import controls
import machine
from fake_clock import FakeClock


def _button(**kw):
    clock = FakeClock()
    pin = machine.Pin(0, machine.Pin.IN, machine.Pin.PULL_UP, value=1)  # released (active low)
    return clock, pin, controls.Button(pin, clock=clock.ticks_ms, **kw)


def _run(clock, pin, btn, script, until_ms, step=10):
    # script: {ms: level}; poll every step ms; returns [(ms, event)].
    events = []
    t = 0
    while t <= until_ms:
        if t in script:
            pin.value(script[t])
        ev = btn.poll()
        if ev:
            events.append((t, ev))
        clock.advance_ms(step)
        t += step
    return events


def test_long_press_fires_once_while_held():
    clock, pin, btn = _button()
    ev = _run(clock, pin, btn, {100: 0, 4000: 1}, 5000)
    # Pressed at 100 ms: stable after 30 ms, LONG at 100 + 1500 ms, nothing on release.
    assert ev == [(1600, controls.LONG)], ev
    assert btn.presses == 1 and btn.long_presses == 1


def test_short_press():
    clock, pin, btn = _button()
    ev = _run(clock, pin, btn, {100: 0, 600: 1}, 1000)
    assert ev == [(630, controls.SHORT)], ev


def test_bounce_is_ignored():
    clock, pin, btn = _button()
    # Contact bounce at press and release (10 ms polls: each bounce level lasts under 30 ms).
    script = {100: 0, 110: 1, 120: 0, 130: 1, 140: 0, 2000: 1, 2010: 0, 2020: 1}
    ev = _run(clock, pin, btn, script, 3000)
    assert ev == [(1640, controls.LONG)], ev  # 1500 ms from the last bounce (140 ms)
    assert btn.presses == 1 and not btn.pressed


def test_glitch_shorter_than_debounce_is_no_press():
    clock, pin, btn = _button()
    ev = _run(clock, pin, btn, {100: 0, 120: 1}, 500)
    assert ev == [] and btn.presses == 0


def test_two_long_presses_toggle():
    clock, pin, btn = _button()
    ev = _run(clock, pin, btn, {100: 0, 2000: 1, 3000: 0, 5000: 1}, 6000)
    assert [e for _, e in ev] == [controls.LONG, controls.LONG]
    assert ev[1][0] == 4500


def test_active_high_button():
    clock = FakeClock()
    pin = machine.Pin(0, machine.Pin.IN, machine.Pin.PULL_DOWN, value=0)
    btn = controls.Button(pin, clock=clock.ticks_ms, active_low=False, long_ms=1000)
    ev = _run(clock, pin, btn, {0: 1, 1500: 0}, 2000)
    assert ev == [(1000, controls.LONG)], ev


async def test_button_task_calls_handlers():
    clock, pin, btn = _button()
    calls = []

    async def on_long():
        calls.append(("long", clock.ticks_ms()))

    def on_short():
        calls.append(("short", clock.ticks_ms()))

    task = asyncio.create_task(btn.run(on_long, on_short, sleep_ms=clock.sleep_ms))
    for t in range(0, 5000, 10):
        if t == 100:
            pin.value(0)
        elif t == 2000:
            pin.value(1)
        elif t == 3000:
            pin.value(0)
        elif t == 3200:
            pin.value(1)
        while clock.ticks_ms() < t:
            await asyncio.sleep_ms(0)
    task.cancel()
    assert [c[0] for c in calls] == ["long", "short"], calls
    assert 1600 <= calls[0][1] <= 1640 and 3230 <= calls[1][1] <= 3260, calls


def _trace(led, clock, ms, step=10):
    # The LED level every step ms for ms.
    out = []
    for _ in range(ms // step):
        led.update()
        out.append(led.level)
        clock.advance_ms(step)
    return out


def _runs(levels):
    # [(level, count)] of consecutive equal levels.
    res = []
    for v in levels:
        if res and res[-1][0] == v:
            res[-1][1] += 1
        else:
            res.append([v, 1])
    return [tuple(r) for r in res]


def test_led_patterns_and_priority():
    clock = FakeClock()
    pin = machine.Pin(5, machine.Pin.OUT)
    led = controls.Led(pin, clock=clock.ticks_ms)
    assert led.showing() == controls.IDLE
    led.set(controls.RECORDING)
    assert _runs(_trace(led, clock, 4000)) == [(1, 6), (0, 194), (1, 6), (0, 194)]
    assert pin.value() == 0
    led.set(controls.BATTERY_LOW)  # over recording
    assert led.showing() == controls.BATTERY_LOW
    assert _runs(_trace(led, clock, 2000)) == [(1, 6), (0, 14), (1, 6), (0, 14), (1, 6), (0, 154)]
    led.set(controls.ERROR)
    assert _runs(_trace(led, clock, 400)) == [(1, 10), (0, 10), (1, 10), (0, 10)]
    led.set(controls.ERROR, False)
    led.set(controls.BATTERY_LOW, False)
    led.set(controls.SYNCING)
    assert _runs(_trace(led, clock, 1000)) == [(1, 25), (0, 25), (1, 25), (0, 25)]
    led.set(controls.SYNCING, False)
    led.set(controls.STORAGE_LOW)
    assert _runs(_trace(led, clock, 2000)) == [(1, 6), (0, 14), (1, 6), (0, 174)]
    try:
        led.set("party")
    except ValueError:
        pass
    else:
        raise AssertionError("unknown state accepted")


def test_led_flash_and_active_low():
    clock = FakeClock()
    pin = machine.Pin(5, machine.Pin.OUT, value=1)
    led = controls.Led(pin, clock=clock.ticks_ms, active_low=True)
    led.set(controls.RECORDING)
    led.flash(500)
    tr = _trace(led, clock, 2500)
    # 500 ms solid, then the recording pattern restarts (60 ms on, 1940 off).
    assert _runs(tr)[:2] == [(1, 56), (0, 194)], _runs(tr)
    assert pin.value() == 1  # off = high for an active-low LED


async def test_led_task_sleeps_until_next_edge():
    clock = FakeClock()
    pin = machine.Pin(5, machine.Pin.OUT)
    led = controls.Led(pin, clock=clock.ticks_ms)
    led.set(controls.RECORDING)
    edges = []
    pin.listen(lambda p: edges.append((clock.ticks_ms(), p.value())))
    task = asyncio.create_task(led.run(sleep_ms=clock.sleep_ms))
    while clock.ticks_ms() < 6000:
        await asyncio.sleep_ms(0)
    task.cancel()
    assert edges[:5] == [(60, 0), (2000, 1), (2060, 0), (4000, 1), (4060, 0)], edges
    assert clock.sleeps < 80  # wakes at edges (at most every 100 ms), not every 10 ms


def test_double_press_opens_pairing_not_a_slow_pair_or_a_long_press():
    clock, pin, btn = _button()
    # Two short presses 300 ms apart: SHORT, then DOUBLE (instead of a second SHORT).
    ev = _run(clock, pin, btn, {100: 0, 250: 1, 550: 0, 700: 1}, 1000)
    assert ev == [(280, controls.SHORT), (730, controls.DOUBLE)], ev
    # Two short presses 1 s apart are two SHORTs; a long press then a short one is no DOUBLE.
    clock, pin, btn = _button()
    ev = _run(clock, pin, btn, {100: 0, 250: 1, 1250: 0, 1400: 1}, 2000)
    assert [e for _, e in ev] == [controls.SHORT, controls.SHORT], ev
    clock, pin, btn = _button()
    ev = _run(clock, pin, btn, {100: 0, 1700: 1, 1900: 0, 2000: 1, 2200: 0, 2300: 1}, 3000)
    assert [e for _, e in ev] == [controls.LONG, controls.SHORT, controls.DOUBLE], ev


def test_pairing_pattern_shows_over_recording():
    clock = FakeClock()
    led = controls.Led(machine.Pin(13, machine.Pin.OUT), clock=clock.ticks_ms)
    led.set(controls.RECORDING)
    led.set(controls.PAIRING)
    assert led.showing() == controls.PAIRING
    led.set(controls.PAIRING, False)
    assert led.showing() == controls.RECORDING
