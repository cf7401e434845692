# MicroPython side of tests/mpy/pty_clip.py: firmware/main.py's main() with the bridge's pty as its
# USB link and a PoseLSM6DSOX (tests/firmware/fakes/fake_pose.py) on the wall clock, until the test
# closes its control channel. Control lines: "pose NAME" puts the clip in another pose.
#
# The fake radio has no aioble.security, so main() runs without its BLE task here; with ble=True the
# servers report the BLE link as running (what main() sets on a board, where hw["ble"] is True).
import asyncio
import os

import bridge_io
import hostio
import machine
import main
from fake_pose import MOUNT_OK, MOUNT_TURNED, PoseLSM6DSOX, WallClock

MOUNTS = {"ok": MOUNT_OK, "turned": MOUNT_TURNED}


async def _control(chip, done):
    while True:
        line = str(await hostio.control())
        if not line:
            done.set()
            return
        cmd, _, arg = line.partition(" ")
        if cmd == "pose":
            chip.pose = arg
            print("@@pose", arg)


async def run(config, mount="ok", rate_ppm=0, battery_uv=2000000, free_bytes=10000000, ble=True):
    with open("/clip_config.json", "w") as f:
        f.write(config)
    real_start_sync = main.start_sync

    def start_sync(hw, rec, cfg, folder, tap, keys=None):
        servers = real_start_sync(hw, rec, cfg, folder, tap, keys)
        for srv in servers:
            srv.ble = ble
        return servers

    main.start_sync = start_sync
    i2c = machine.I2C(0)
    chip = i2c.attach(0x6A, PoseLSM6DSOX(WallClock(), mount=MOUNTS[mount], rate_ppm=rate_ppm))
    adc = machine.ADC(machine.Pin(2))
    adc.uv = battery_uv
    hw = {
        "i2c": i2c,
        "button": machine.Pin(5, machine.Pin.IN, machine.Pin.PULL_UP, value=1),
        "led": machine.Pin(13, machine.Pin.OUT),
        "adc": adc,
        "free_bytes": lambda: free_bytes,
        "folder": "/sessions",
        "config": "/clip_config.json",
        "keys": "/sync_keys.json",
        "usb": (bridge_io.Reader(), bridge_io.Writer()),
    }
    done = asyncio.Event()
    asyncio.create_task(_control(chip, done))
    rec = await main.main(hw, done)
    print("@@done", rec.sessions, chip.errors)
    print("@@files", sorted(os.listdir("/sessions")))
