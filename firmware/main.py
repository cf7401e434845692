# Boot entry: config -> I2C bus -> imu.probe -> sampler / guard / controls, and the sync links (USB,
# BLE) on asyncio (docs/firmware.md, docs/sync-protocol.md).
#
# Nothing runs at import except definitions; MicroPython runs main.py at boot and the last line
# starts main() only when this file is the boot script (not when a test imports it). Hardware
# objects come from board() (pins in hardware/wiring.md); tests pass fakes in a dict instead.
import asyncio
import os

import config
import controls
import guard
import imu
import live
import log
import motion
import pairing
import recovery
import sampler
import sync
from micropython import const

FIRMWARE_VERSION = "0.2.0"
SESSIONS = "/sessions"
BALLAST = ".ballast"  # in the sessions folder
BLE_SECRETS = "/ble_secrets.json"
BALLAST_BYTES = const(8192)

# Board pins (Unexpected Maker FeatherS3 style Feather layout; hardware/wiring.md).
PIN_SDA = const(8)
PIN_SCL = const(9)
PIN_BUTTON = const(5)
PIN_LED = const(13)
PIN_VBAT = const(2)


def board():
    """The hardware objects main() needs, on the real board."""
    import sys

    import machine

    return {
        "usb": (asyncio.StreamReader(sys.stdin.buffer), asyncio.StreamWriter(sys.stdout.buffer)),
        "ble": True,
        "i2c": machine.I2C(0, scl=machine.Pin(PIN_SCL), sda=machine.Pin(PIN_SDA), freq=400000),
        "button": machine.Pin(PIN_BUTTON, machine.Pin.IN, machine.Pin.PULL_UP),
        "led": machine.Pin(PIN_LED, machine.Pin.OUT),
        "adc": machine.ADC(machine.Pin(PIN_VBAT), atten=machine.ADC.ATTN_11DB),
        "free_bytes": lambda: guard.statvfs_free(SESSIONS),
        "ballast": BALLAST_BYTES,
    }


def next_session_id(folder):
    # One more than the largest session number in folder (the sync's session files).
    try:
        ids = sync.session_ids(folder)
    except OSError:
        return 1
    return ids[-1] + 1 if ids else 1


def _ensure_dir(folder):
    try:
        os.mkdir(folder)
    except OSError:
        pass


def make_ballast(path, n):
    # A file of n bytes that guard.Guard deletes after an ENOSPC to make room for the end block.
    try:
        os.stat(path)
        return
    except OSError:
        pass
    try:
        with open(path, "wb") as f:
            f.write(bytes(n))
    except OSError:
        pass


def remove_ballast(path):
    try:
        os.remove(path)
    except OSError:
        pass


class Recorder:
    """Starts and stops sessions: one file, writer, sampler and guard per session."""

    def __init__(
        self,
        bus,
        cfg,
        led,
        *,
        battery=None,
        free_bytes=None,
        folder=SESSIONS,
        clock=None,
        sleep_ms=None,
        tap=None,
    ):
        self.bus = bus
        self.cfg = cfg
        self.led = led
        self.battery = battery
        self.free_bytes = free_bytes
        self.folder = folder
        self.clock = clock
        self.sleep_ms = sleep_ms
        self.tap = tap  # live.LiveTap: streams the session being recorded to a sync link
        self.imu = None
        self.session_id = -1
        self.recording = False
        self.busy = False
        self.sessions = 0
        self.last_reason = 0
        self.last_path = None
        self.error = None
        self._run = None  # (file, sampler, guard, sampler task) of the open session
        self.watcher = None  # motion.Watcher when auto_start is "motion"
        self.steps = None  # motion.StepDetector of a session started on running (auto-stop)

    def driver(self):
        if self.imu is None:
            cfg = self.cfg
            kw = {
                "odr_hz": cfg["rate_hz"],
                "acc_range_g": cfg["acc_range_g"],
                "gyr_range_dps": cfg["gyr_range_dps"],
            }
            if self.clock is not None:
                kw["clock"] = self.clock
            self.imu = imu.probe(self.bus, **kw)
        return self.imu

    def watch_driver(self):
        # A second driver of the same chip for motion.Watcher: 52 Hz, +-16 g (never started together
        # with the recording one: each start() resets the chip and configures it for its owner).
        kw = {"odr_hz": motion.WATCH_HZ, "acc_range_g": 16}
        if self.clock is not None:
            kw["clock"] = self.clock
        return imu.probe(self.bus, **kw)

    def may_watch(self):
        # motion.Watcher may use the IMU: no session open, and the last one did not end for lack of
        # room or battery (auto-starts would only fail again; a long press still tries).
        return (
            not self.recording
            and not self.busy
            and self.last_reason != log.REASON_STORAGE_FULL
            and self.last_reason != log.REASON_LOW_BATTERY
            and (self.battery is None or self.battery.ok_to_start())
        )

    def start_on_motion(self):
        return self.start(auto=True)

    def auto_stop_due(self):
        # A session started on running has seen none for auto_stop_min minutes.
        det = self.steps
        if det is None or not self.recording or self.busy:
            return False
        return det.quiet_ms() >= self.cfg["auto_stop_min"] * 60000

    async def toggle(self):
        if self.busy:
            return
        if self.recording:
            await self.stop(log.REASON_USER_STOP)
        else:
            self.start()

    def start(self, auto=False):
        """Open a new session and start recording; False (LED error) when it cannot.

        auto: started on detected running (motion.Watcher): with auto_stop_min set, the sampler feeds
        a step detector and auto_stop_due() tells when to close the session.
        """
        if self.recording:
            return True
        if self.battery is not None and not self.battery.ok_to_start():
            self.led.flash(2000)
            return False
        try:
            drv = self.driver()
            _ensure_dir(self.folder)
            sid = next_session_id(self.folder)
            path = sync.session_path(self.folder, sid)
            f = open(path, "wb")
            safe = guard.SafeFile(f, 2048)
            cfg = self.cfg
            w = log.SessionWriter(
                safe,
                **imu.writer_args(
                    drv,
                    session_id=sid,
                    device_id=cfg["device_name"],
                    firmware_version=FIRMWARE_VERSION,
                    mounting=cfg["mounting_code"],
                    start_time_unix=sync.SystemClock().get(),  # 0: the clock was never set
                ),
            )
            safe.flush()  # the header on flash now: a live stream reads it while recording goes on
        except OSError as e:  # no IMU (IMUError), no room for the header, ...
            self.error = e
            self.led.set(controls.ERROR)
            return False
        kw = {}
        if self.clock is not None:
            kw["clock"] = self.clock
        if self.sleep_ms is not None:
            kw["sleep_ms"] = self.sleep_ms
        if self.tap is not None:
            self.tap.attach(w)
        steps = None
        if auto and self.cfg["auto_stop_min"]:
            steps = motion.StepDetector(drv.rate_mhz, drv.acc_scale_ng)
        self.steps = steps
        s = sampler.Sampler(drv, w, tap=self.tap, steps=steps, **kw)
        g = guard.Guard(
            s, safe, free_bytes=self.free_bytes, battery=self.battery, release=self._release, **kw
        )
        s.start()
        self._run = (f, s, g, asyncio.create_task(s.run()))
        asyncio.create_task(self._watch(g))
        self.last_path = path
        self.session_id = sid
        self.recording = True
        self.sessions += 1
        self.led.set(controls.ERROR, False)
        self.led.set(controls.RECORDING)
        self.led.flash(500)
        return True

    def _release(self):
        # Guard calls this after ENOSPC: the ballast's room takes the end block.
        remove_ballast(self.folder + "/" + BALLAST)

    async def _watch(self, g):
        # The guard's verdict ends the session (storage full, low battery).
        reason = await g.run()
        if reason and self.recording:
            await self.stop(reason)

    async def stop(self, reason=log.REASON_USER_STOP):
        """Stop the sampler, write the end block, close the file; returns the reason written."""
        run = self._run
        if not self.recording or self.busy or run is None:
            return 0
        f, s, g, sampling = run
        self.busy = True
        try:
            s.stop()
            await sampling  # the sampler's last drain
            if g.reason:
                reason = g.reason
            reason = g.finish(reason)
            f.close()
            self.last_reason = reason
        finally:
            self._run = None
            self.steps = None
            self.recording = False
            self.busy = False
            self.led.set(controls.RECORDING, False)
        if reason == log.REASON_STORAGE_FULL:
            self.led.set(controls.STORAGE_LOW)
        self.led.flash(500)
        return reason

    def battery_mv(self):
        return self.battery.mv if self.battery is not None else 0

    def sync_status(self):
        # (battery_mv, battery_pct, free_kib) for the sync protocol's STATUS.
        mv = self.battery_mv()
        free = self.free_bytes() if self.free_bytes is not None else 0
        return mv, battery_pct(mv), free // 1024

    def status(self):
        # LED flags from the guard and the battery (called every second).
        run = self._run
        if self.recording and run is not None:
            self.led.set(controls.STORAGE_LOW, run[2].storage_low)
        elif self.battery is not None:
            self.battery.poll()
        if self.battery is not None:
            self.led.set(controls.BATTERY_LOW, self.battery.state != guard.OK)


def battery_pct(mv):
    # A rough state of charge: linear between 3.3 V (empty for this clip) and 4.2 V (full).
    if mv <= 3300:
        return 0
    return 100 if mv >= 4200 else (mv - 3300) * 100 // 900


class RemoteControl:
    """START / STOP from a sync link (sync.SyncServer's recorder): answers at once, like the button."""

    def __init__(self, rec):
        self.rec = rec

    def active(self):
        rec = self.rec
        return rec.session_id if rec.recording or rec.busy else -1

    def start(self):
        if not self.rec.start():
            raise OSError(5, "cannot start: %s" % (self.rec.error or "battery low"))
        return self.rec.session_id

    def stop(self):
        sid = self.active()
        asyncio.create_task(self.rec.stop(log.REASON_USER_STOP))  # end block written by that task
        return sid


def start_sync(hw, rec, cfg, folder, tap, keys=None):
    """One sync.SyncServer per link in hw (USB streams, BLE), each served by a task; returns the servers.

    keys: pairing.Pairing, the hosts' keys and the pairing window (docs/security.md).
    """
    info = (cfg["device_name"], FIRMWARE_VERSION, rec.imu.MODEL if rec.imu is not None else "")
    control = RemoteControl(rec)
    clock = sync.SystemClock()  # one for all links: a time set over one is set for all
    servers = []

    def server():
        srv = sync.SyncServer(
            folder,
            info,
            status=rec.sync_status,
            recorder=control,
            clock=clock,
            live=tap,
            pairing=keys,
            ble=bool(hw.get("ble")),
        )
        servers.append(srv)
        return srv

    if hw.get("usb") is not None:
        import link_usb

        reader, writer = hw["usb"]
        srv = server()
        asyncio.create_task(srv.serve(link_usb.UsbLink(reader, writer, max_reply=len(srv.out))))
    if hw.get("ble"):
        import aioble
        import aioble.security
        import link_ble

        # Bonds survive a reboot: aioble keeps the keys in this file (it saves new ones itself), and
        # they must be loaded before the stack starts. New bonds only while the pairing window is
        # open: BleSync switches bond on and off with it.
        aioble.security.load_secrets(BLE_SECRETS)
        aioble.config(bond=False, le_secure=True, mitm=False)
        ble = link_ble.BleSync(
            server(), cfg["device_name"], battery_pct=lambda: battery_pct(rec.battery_mv()), pairing=keys
        )
        asyncio.create_task(ble.run())
    return servers


async def main(hw=None, done=None):
    """Run the device until ``done`` (an asyncio.Event; None: forever).

    hw: hardware dict (board() when None): i2c, button, led, adc (optional), free_bytes (optional),
    ballast (bytes, 0: none), folder, config (path), keys (the hosts' keys file), clock and sleep_ms
    (tests: a fake clock).
    """
    if hw is None:
        hw = board()
    folder = hw.get("folder", SESSIONS)
    clock = hw.get("clock")
    sleep = hw.get("sleep_ms") or asyncio.sleep_ms
    cfg, warnings = config.load(hw.get("config", config.PATH))
    for w in warnings:
        print(w)
    _ensure_dir(folder)
    for path, result in recovery.recover_all(folder, sync.SUFFIX):
        print("recovery:", path, result)
    if hw.get("ballast"):
        make_ballast(folder + "/" + BALLAST, hw["ballast"])
    led = controls.Led(hw["led"], clock=clock)
    battery = None
    if hw.get("adc") is not None:
        battery = guard.Battery(
            hw["adc"], divider_milli=cfg["battery_divider_milli"], low_mv=cfg["low_battery_mv"]
        )
        battery.poll()
    tap = live.LiveTap()
    rec = Recorder(
        hw["i2c"],
        cfg,
        led,
        battery=battery,
        free_bytes=hw.get("free_bytes"),
        folder=folder,
        clock=clock,
        sleep_ms=sleep,
        tap=tap,
    )
    try:
        rec.driver()  # find the IMU now: its name goes into the sync INFO, a missing one shows at once
    except OSError as e:
        rec.error = e
        led.set(controls.ERROR)
    keys = pairing.Pairing(hw.get("keys", pairing.KEYS_PATH), clock=clock)
    keys.listeners.append(lambda is_open: led.set(controls.PAIRING, is_open))
    servers = start_sync(hw, rec, cfg, folder, tap, keys)
    if warnings:
        led.flash(1500)
    button = controls.Button(hw["button"], clock=clock)
    tasks = [
        asyncio.create_task(led.run(sleep)),
        asyncio.create_task(button.run(rec.toggle, on_double=keys.open, sleep_ms=sleep)),
    ]
    watcher = None
    if cfg["auto_start"] == "motion":
        watcher = motion.Watcher(
            rec.watch_driver, rec.may_watch, rec.start_on_motion, clock=clock, sleep_ms=sleep
        )
        rec.watcher = watcher
        tasks.append(asyncio.create_task(watcher.run()))
    elif cfg["auto_start"] is True:
        rec.start()
    requests = 0
    while done is None or not done.is_set():
        if rec.auto_stop_due():
            await rec.stop(log.REASON_NO_RUNNING)
        rec.status()
        keys.is_open()  # closes the pairing window when its minute is up
        # The syncing pattern while a link asked something in the last second.
        n = 0
        for srv in servers:
            n += srv.requests
        led.set(controls.SYNCING, n != requests)
        requests = n
        await sleep(1000)
    if rec.recording:
        await rec.stop(log.REASON_USER_STOP)
    for t in tasks:
        t.cancel()
    return rec


if __name__ == "__main__":
    asyncio.run(main())
