# MicroPython tests of firmware/config.py: every bad case falls back to the default with a warning.
import config
import log

P = "/cfg_test.json"


def _load(text):
    with open(P, "w") as f:
        f.write(text)
    return config.load(P)


def test_missing_file_gives_defaults():
    cfg, w = config.load("/no/such/config.json")
    assert cfg["rate_hz"] == 208 and cfg["auto_start"] is False and cfg["mounting_code"] == log.MOUNT_BACK
    assert len(w) == 1 and "not found" in w[0]


def test_malformed_json_gives_defaults():
    cfg, w = _load('{"rate_hz": 104,')
    assert cfg["rate_hz"] == 208 and len(w) == 1 and "not valid JSON" in w[0]


def test_not_an_object():
    cfg, w = _load("[1, 2]")
    assert cfg == dict(config.DEFAULTS) and "not a JSON object" in w[0]


def test_empty_object_is_all_defaults_without_warnings():
    cfg, w = _load("{}")
    assert w == [] and cfg["device_name"] == "hipsense" and cfg["low_battery_mv"] == 3450


def test_valid_file():
    cfg, w = _load(
        '{"rate_hz": 104, "acc_range_g": 8, "gyr_range_dps": 1000, "device_name": "HS-anna", '
        '"mounting": "side_left", "low_battery_mv": 3500, "battery_divider_milli": 3200, "auto_start": true}'
    )
    assert w == []
    assert cfg["rate_hz"] == 104 and cfg["acc_range_g"] == 8 and cfg["gyr_range_dps"] == 1000
    assert cfg["device_name"] == "HS-anna" and cfg["mounting_code"] == log.MOUNT_SIDE_LEFT
    assert (
        cfg["low_battery_mv"] == 3500 and cfg["battery_divider_milli"] == 3200 and cfg["auto_start"] is True
    )


def _one_bad(key, value, expect_in):
    cfg, w = config.validate({key: value, "rate_hz": 52})
    assert cfg[key] == config.DEFAULTS[key], (key, cfg[key])
    assert cfg["rate_hz"] == 52  # the good settings are kept
    assert len(w) == 1 and key in w[0] and expect_in in w[0], w


def test_bad_rate():
    _one_bad("acc_range_g", 3, "one of")
    cfg, w = config.validate({"rate_hz": 200})
    assert cfg["rate_hz"] == 208 and "rate_hz" in w[0]
    cfg, w = config.validate({"rate_hz": "208"})
    assert cfg["rate_hz"] == 208 and len(w) == 1
    cfg, w = config.validate({"rate_hz": 208.0})
    assert cfg["rate_hz"] == 208 and len(w) == 1


def test_bad_ranges():
    _one_bad("acc_range_g", 32, "one of")
    _one_bad("acc_range_g", True, "one of")
    _one_bad("gyr_range_dps", 4000, "one of")
    _one_bad("gyr_range_dps", None, "one of")


def test_bad_names():
    _one_bad("device_name", "", "printable")
    _one_bad("device_name", "x" * 17, "printable")
    _one_bad("device_name", "my clip", "printable")
    _one_bad("device_name", "caf\u00e9", "printable")
    _one_bad("device_name", 42, "printable")


def test_bad_mounting():
    _one_bad("mounting", "belt", "back")
    _one_bad("mounting", 1, "back")


def test_bad_battery():
    _one_bad("low_battery_mv", 3.45, "3200 to 3700")
    _one_bad("low_battery_mv", 2900, "3200 to 3700")
    _one_bad("low_battery_mv", 4000, "3200 to 3700")
    _one_bad("battery_divider_milli", 0, "1000 to 10000")


def test_bad_auto_start():
    _one_bad("auto_start", 1, 'true, false or "motion"')
    _one_bad("auto_start", "yes", 'true, false or "motion"')
    _one_bad("auto_start", "Motion", 'true, false or "motion"')
    _one_bad("auto_stop_min", -1, "0 to 240")
    _one_bad("auto_stop_min", 241, "0 to 240")
    _one_bad("auto_stop_min", 2.5, "0 to 240")
    _one_bad("auto_stop_min", True, "0 to 240")


def test_auto_start_on_motion():
    cfg, w = config.validate({"auto_start": "motion", "auto_stop_min": 0})
    assert w == [] and cfg["auto_start"] == "motion" and cfg["auto_stop_min"] == 0
    cfg, w = config.validate({"auto_start": False})
    assert w == [] and cfg["auto_start"] is False and cfg["auto_stop_min"] == 5


def test_unknown_key_ignored():
    cfg, w = config.validate({"colour": "red", "rate_hz": 52})
    assert cfg["rate_hz"] == 52 and "colour" not in cfg and len(w) == 1 and "unknown" in w[0]


def test_save_round_trip():
    cfg, _ = config.validate({"device_name": "HS-b", "rate_hz": 416})
    assert config.save(cfg, P) == []
    cfg2, w = config.load(P)
    assert w == [] and cfg2 == cfg
