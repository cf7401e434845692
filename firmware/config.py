# Device configuration: a small JSON file on the flash (docs/firmware.md, "Configuration").
#
# One job: read /config.json into a dict of validated settings. Never fails: a bad value falls back
# to its default with a message in the warnings list, an unreadable or malformed file gives all
# defaults (and a warning), unknown keys are ignored with a warning. main.py shows warnings on the
# LED (error pattern for a moment) and keeps them for the sync status.
#
#   {"rate_hz": 208, "acc_range_g": 16, "gyr_range_dps": 2000, "device_name": "HS-clip",
#    "mounting": "back", "low_battery_mv": 3450, "auto_start": false, "auto_stop_min": 5}
#
# auto_start: false (a long press starts a session), true (a session starts at power-on) or "motion"
# (a session starts when running is detected, motion.py); auto_stop_min: a session started on motion
# closes after this many minutes without running (0: only by hand).
import json

import log

PATH = "/config.json"

RATES_HZ = (26, 52, 104, 208, 416, 833)  # drivers pick the chip's nearest rate
ACC_RANGES_G = (2, 4, 8, 16)
GYR_RANGES_DPS = (125, 250, 500, 1000, 2000)
MOUNTINGS = {
    "unknown": log.MOUNT_UNKNOWN,
    "back": log.MOUNT_BACK,
    "side_left": log.MOUNT_SIDE_LEFT,
    "side_right": log.MOUNT_SIDE_RIGHT,
    "front": log.MOUNT_FRONT,
}
LOW_BATTERY_MV = (3200, 3700)  # allowed range (LiPo: below 3.2 V the board browns out soon)
DIVIDER_MILLI = (1000, 10000)
AUTO_STOP_MIN = (0, 240)
NAME_MAX = 16  # the session header's device_id field

DEFAULTS = {
    "rate_hz": 208,
    "acc_range_g": 16,
    "gyr_range_dps": 2000,
    "device_name": "hipsense",
    "mounting": "back",
    "low_battery_mv": 3450,
    "battery_divider_milli": 2000,
    "auto_start": False,
    "auto_stop_min": 5,
}


def _is_int(v):
    # JSON integers only (bool is an int subclass in CPython; MicroPython keeps them apart too).
    return isinstance(v, int) and not isinstance(v, bool)


def _name_ok(v):
    if not isinstance(v, str) or not 1 <= len(v) <= NAME_MAX:
        return False
    for ch in v:
        if not (" " < ch <= "~"):  # printable ASCII, no spaces (it names the BLE device too)
            return False
    return True


def _check(key, v):
    # None when v is valid for key, else what is wrong.
    if key == "rate_hz":
        return None if _is_int(v) and v in RATES_HZ else "must be one of %s" % (RATES_HZ,)
    if key == "acc_range_g":
        return None if _is_int(v) and v in ACC_RANGES_G else "must be one of %s" % (ACC_RANGES_G,)
    if key == "gyr_range_dps":
        return None if _is_int(v) and v in GYR_RANGES_DPS else "must be one of %s" % (GYR_RANGES_DPS,)
    if key == "device_name":
        return None if _name_ok(v) else "must be 1-%d printable ASCII characters without spaces" % NAME_MAX
    if key == "mounting":
        return None if isinstance(v, str) and v in MOUNTINGS else "must be one of %s" % sorted(MOUNTINGS)
    if key == "low_battery_mv":
        lo, hi = LOW_BATTERY_MV
        return None if _is_int(v) and lo <= v <= hi else "must be an integer from %d to %d (mV)" % (lo, hi)
    if key == "battery_divider_milli":
        lo, hi = DIVIDER_MILLI
        return None if _is_int(v) and lo <= v <= hi else "must be an integer from %d to %d" % (lo, hi)
    if key == "auto_start":
        return None if isinstance(v, bool) or v == "motion" else 'must be true, false or "motion"'
    if key == "auto_stop_min":
        lo, hi = AUTO_STOP_MIN
        return (
            None
            if _is_int(v) and lo <= v <= hi
            else "must be an integer from %d to %d (minutes; 0: off)" % (lo, hi)
        )
    return "unknown setting"


def validate(raw):
    """(settings, warnings) from a decoded JSON value: every key of DEFAULTS, each valid."""
    cfg = dict(DEFAULTS)
    warnings = []
    if not isinstance(raw, dict):
        warnings.append("config: not a JSON object; using defaults")
        return cfg, warnings
    for key in sorted(raw):
        v = raw[key]
        problem = _check(key, v)
        if problem is None:
            cfg[key] = v
        elif key in DEFAULTS:
            warnings.append("config: %s = %r %s; using %r" % (key, v, problem, DEFAULTS[key]))
        else:
            warnings.append("config: %r: unknown setting, ignored" % (key,))
    cfg["mounting_code"] = MOUNTINGS[str(cfg["mounting"])]
    return cfg, warnings


def load(path=PATH):
    """(settings, warnings) from the JSON file at ``path``; all defaults when it cannot be read."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        cfg, warnings = validate({})
        warnings.append("config: %s not found; using defaults" % path)
        return cfg, warnings
    try:
        raw = json.loads(text)
    except ValueError:
        cfg, warnings = validate({})
        warnings.append("config: %s is not valid JSON; using defaults" % path)
        return cfg, warnings
    return validate(raw)


def save(cfg, path=PATH):
    """Write the settings of DEFAULTS' keys from ``cfg`` (validated first) to ``path``."""
    good, warnings = validate({k: cfg[k] for k in DEFAULTS if k in cfg})
    out = {k: good[k] for k in DEFAULTS}
    with open(path, "w") as f:
        f.write(json.dumps(out))
    return warnings
