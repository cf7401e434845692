# Button and status LED (docs/firmware.md, "Controls").
#
# One job: turn a long press of the one button into an event and show the device state on the one
# LED. Both are polled from asyncio tasks (no interrupts: a 20 ms poll costs nothing next to the
# sampler and cannot fire during a flash write). Pins and the clock are passed in.
#
# Button: debounced (a level counts once it has been stable for debounce_ms); LONG fires once per
# press when the button has been held for long_ms (1.5 s), while it is still held, so the LED can
# acknowledge at once; SHORT fires on a release before that; DOUBLE (instead of the second SHORT)
# when a short press ends within double_ms (600 ms) of the previous short one: it opens the pairing
# window (docs/security.md), a gesture a long press never starts.
#
# LED: a pattern is a tuple of durations in ms, on, off, on, off, ... repeated. Several states can be
# active at once (recording and battery low); the LED shows the one with the highest priority
# (PRIORITY, first wins). flash(ms) shows a solid light for ms (acknowledges a long press) over
# everything.
import asyncio
import time

from micropython import const

NONE = const(0)
LONG = const(1)
SHORT = const(2)
DOUBLE = const(3)

IDLE = "idle"
RECORDING = "recording"
SYNCING = "syncing"
STORAGE_LOW = "storage_low"
BATTERY_LOW = "battery_low"
ERROR = "error"
PAIRING = "pairing"

# State -> pattern (ms on, ms off, ...). Short blinks: the LED is on a few % of the time.
PATTERNS = {
    IDLE: (20, 4980),  # heartbeat every 5 s
    RECORDING: (60, 1940),  # one blink every 2 s
    SYNCING: (250, 250),  # steady 2 Hz
    STORAGE_LOW: (60, 140, 60, 1740),  # double blink
    BATTERY_LOW: (60, 140, 60, 140, 60, 1540),  # triple blink
    ERROR: (100, 100),  # fast 5 Hz
    PAIRING: (800, 200),  # mostly on, once a second: the pairing window is open
}
PRIORITY = (ERROR, PAIRING, BATTERY_LOW, STORAGE_LOW, SYNCING, RECORDING, IDLE)


class Button:
    """Long/short press detection on ``pin`` (machine.Pin, input with pull-up when active_low)."""

    def __init__(self, pin, *, clock=None, long_ms=1500, debounce_ms=30, active_low=True, double_ms=600):
        self.pin = pin
        self._clock = clock if clock is not None else time.ticks_ms
        self.long_ms = long_ms
        self.debounce_ms = debounce_ms
        self.active_low = active_low
        now = self._clock()
        self._raw = self._level()
        self._raw_at = now
        self.pressed = False  # debounced state
        self._pressed_at = now
        self._fired = False
        self.double_ms = double_ms
        self._short_at = None  # release time of the last short press
        self.presses = 0
        self.long_presses = 0

    def _level(self):
        v = self.pin.value()
        return (not v) if self.active_low else bool(v)

    def poll(self):
        """Sample the pin once; returns LONG, SHORT, DOUBLE or NONE."""
        now = self._clock()
        raw = self._level()
        if raw != self._raw:
            self._raw = raw
            self._raw_at = now
            return NONE
        if raw != self.pressed and time.ticks_diff(now, self._raw_at) >= self.debounce_ms:
            self.pressed = raw
            if raw:
                self._pressed_at = self._raw_at
                self._fired = False
                self.presses += 1
            elif not self._fired:
                last, self._short_at = self._short_at, self._raw_at
                if last is not None and time.ticks_diff(self._raw_at, last) <= self.double_ms:
                    self._short_at = None  # a third press starts a new pair
                    return DOUBLE
                return SHORT
        if self.pressed and not self._fired and time.ticks_diff(now, self._pressed_at) >= self.long_ms:
            self._fired = True
            self._short_at = None
            self.long_presses += 1
            return LONG
        return NONE

    async def run(self, on_long, on_short=None, *, on_double=None, poll_ms=20, sleep_ms=None):
        """Poll forever; call on_long() / on_short() / on_double() on each event (they may be coroutines)."""
        sleep = sleep_ms if sleep_ms is not None else asyncio.sleep_ms
        while True:
            ev = self.poll()
            fn = on_long if ev == LONG else on_short if ev == SHORT else on_double if ev == DOUBLE else None
            if fn is not None:
                r = fn()
                if hasattr(r, "send"):
                    await r
            await sleep(poll_ms)


class Led:
    """Shows the highest-priority active state's pattern on ``pin`` (machine.Pin output)."""

    def __init__(self, pin, *, clock=None, active_low=False, patterns=None):
        self.pin = pin
        self._clock = clock if clock is not None else time.ticks_ms
        self.active_low = active_low
        self.patterns = patterns if patterns is not None else PATTERNS
        self.active = {IDLE: True}
        self.current = None
        self._t0 = 0
        self._flash_until = 0
        self._flashing = False
        self.level = -1
        self.update()

    def set(self, state, on=True):
        if state not in self.patterns:
            raise ValueError("unknown LED state %r" % (state,))
        self.active[state] = bool(on)

    def showing(self):
        # The state whose pattern is shown now.
        for s in PRIORITY:
            if self.active.get(s):
                return s
        return None

    def flash(self, ms=500):
        # Solid on for ms over any pattern (acknowledges a long press).
        self._flash_until = time.ticks_add(self._clock(), ms)
        self._flashing = True

    def _out(self, on):
        if on != self.level:
            self.level = on
            self.pin.value((not on) if self.active_low else on)

    def update(self):
        """Set the pin for now; returns ms until the next change (at most 100)."""
        now = self._clock()
        if self._flashing:
            left = time.ticks_diff(self._flash_until, now)
            if left > 0:
                self._out(1)
                return left if left < 100 else 100
            self._flashing = False
            self.current = None  # restart the pattern after the flash
        state = self.showing()
        if state != self.current:
            self.current = state
            self._t0 = now
        pat = self.patterns[state] if state is not None else ()
        if not pat:
            self._out(0)
            return 100
        period = 0
        for d in pat:
            period += d
        t = time.ticks_diff(now, self._t0) % period
        on = 1
        for d in pat:
            if t < d:
                self._out(on)
                left = d - t
                return left if left < 100 else 100
            t -= d
            on ^= 1
        self._out(0)
        return 100

    async def run(self, sleep_ms=None):
        sleep = sleep_ms if sleep_ms is not None else asyncio.sleep_ms
        while True:
            await sleep(self.update())
