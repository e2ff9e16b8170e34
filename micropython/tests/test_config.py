"""SteamiConfig against the simulated board."""
import json

import pytest

from flashbridge import DaplinkBridge, DaplinkFlash, SteamiConfig
from flashbridge import const as C


class HTS221:
    pass


class WSEN_PADS:
    pass


class LIS2MDL:
    pass


class ISM330DL:
    pass


class Other:
    pass


@pytest.fixture
def config(bridge):
    return SteamiConfig(bridge)


def test_load_empty_zone(bridge, config):
    bridge.clear_config()
    config.load()
    assert config._data == {}
    assert config.board_name is None
    assert config.board_revision is None
    assert config.get_boot_count() == 0


def test_load_tolerates_garbage(bridge, config):
    for junk in (b"not json", b"[1,2,3]", b'{"a":', b"\xc3\x28 bad utf-8", b"42"):
        bridge.replace_config(junk)
        config._data = {"stale": 1}
        config.load()
        assert config._data == {}, junk


def test_board_info_round_trip(bridge, config):
    config.board_name = "STeaMi-01"
    config.board_revision = "3"
    assert config.board_revision == 3
    config.save()
    fresh = SteamiConfig(bridge)
    fresh.load()
    assert fresh.board_name == "STeaMi-01"
    assert fresh.board_revision == 3
    fresh.board_name = None
    fresh.board_revision = None
    assert fresh._data == {}


def test_saved_json_is_compact(bridge, config):
    config.board_revision = 3
    config.board_name = "STeaMi-01"
    config.set_temperature_calibration("hts221", gain=1.0, offset=-0.5)
    config.save()
    raw = bridge.read_config()
    assert b" " not in raw.replace(b"STeaMi-01", b"")
    assert json.loads(raw) == {
        "rev": 3,
        "name": "STeaMi-01",
        "tc": {"hts": {"g": 1.0, "o": -0.5}},
    }


def test_temperature_calibration(bridge, config):
    assert config.get_temperature_calibration("hts221") is None
    config.set_temperature_calibration("hts221", gain=1.02, offset=-0.5)
    config.set_temperature_calibration("wsen_pads", offset=0.25)
    config.save()
    config = SteamiConfig(bridge)
    config.load()
    assert config.get_temperature_calibration("hts221") == {"gain": 1.02, "offset": -0.5}
    assert config.get_temperature_calibration("wsen_pads") == {"gain": 1.0, "offset": 0.25}
    assert config.get_temperature_calibration("ism330dl") is None
    with pytest.raises(ValueError):
        config.set_temperature_calibration("bme280", 1.0, 0.0)
    with pytest.raises(ValueError):
        config.get_temperature_calibration("bme280")
    hts, pads, other = HTS221(), WSEN_PADS(), Other()
    config.apply_temperature_calibration(hts)
    config.apply_temperature_calibration(pads)
    config.apply_temperature_calibration(other)
    assert (hts._temp_gain, hts._temp_offset) == (1.02, -0.5)
    assert (pads._temp_gain, pads._temp_offset) == (1.0, 0.25)
    assert not hasattr(other, "_temp_gain")
    nothing = ISM330DL()
    config.apply_temperature_calibration(nothing)  # no calibration stored: untouched
    assert not hasattr(nothing, "_temp_gain")


def test_magnetometer_calibration(bridge, config):
    assert config.get_magnetometer_calibration() is None
    config.set_magnetometer_calibration(12.3, -5.1, 0.8, 1.01, 0.98, 1.0)
    config.save()
    config = SteamiConfig(bridge)
    config.load()
    cal = config.get_magnetometer_calibration()
    assert cal == {
        "hard_iron_x": 12.3,
        "hard_iron_y": -5.1,
        "hard_iron_z": 0.8,
        "soft_iron_x": 1.01,
        "soft_iron_y": 0.98,
        "soft_iron_z": 1.0,
    }
    mag = LIS2MDL()
    config.apply_magnetometer_calibration(mag)
    assert (mag.x_off, mag.y_off, mag.z_off) == (12.3, -5.1, 0.8)
    assert (mag.x_scale, mag.y_scale, mag.z_scale) == (1.01, 0.98, 1.0)
    other = Other()
    config.apply_magnetometer_calibration(other)
    assert not hasattr(other, "x_off")


def test_accelerometer_calibration(bridge, config):
    assert config.get_accelerometer_calibration() is None
    config.set_accelerometer_calibration(0.01, -0.02, 3)
    config.save()
    config = SteamiConfig(bridge)
    config.load()
    assert config.get_accelerometer_calibration() == {"ox": 0.01, "oy": -0.02, "oz": 3.0}
    imu = ISM330DL()
    config.apply_accelerometer_calibration(imu)
    assert (imu._accel_offset_x, imu._accel_offset_y, imu._accel_offset_z) == (0.01, -0.02, 3.0)
    other = Other()
    config.apply_accelerometer_calibration(other)
    assert not hasattr(other, "_accel_offset_x")


def test_boot_count(bridge, config):
    config.load()
    assert config.get_boot_count() == 0
    assert config.increment_boot_count() == 1
    config.save()
    config.set_boot_count(41)
    assert config.increment_boot_count() == 42
    with pytest.raises(ValueError):
        config.set_boot_count(-1)
    fresh = SteamiConfig(bridge)
    fresh.load()
    assert fresh.get_boot_count() == 1  # 42 was never saved


def test_boot_count_across_power_cycles(sim, bridge):
    for expected in range(1, 6):
        cfg = SteamiConfig(DaplinkBridge(sim.i2c()))
        cfg.load()
        assert cfg.increment_boot_count() == expected
        cfg.save()
        sim.power_cycle()
    cfg = SteamiConfig(DaplinkBridge(sim.i2c()))
    cfg.load()
    assert cfg.get_boot_count() == 5


def test_save_replaces_longer_content(bridge, config):
    config.board_name = "x" * 600
    config.save()
    config.board_name = "short"
    config.save()
    assert bridge.read_config() == b'{"name":"short"}'


def test_save_too_large_leaves_zone_untouched(bridge, config):
    config.board_name = "kept"
    config.save()
    config.board_name = "y" * C.CONFIG_SIZE
    with pytest.raises(ValueError):
        config.save()
    assert bridge.read_config() == b'{"name":"kept"}'


def test_save_fills_zone_exactly(bridge, config):
    config.board_name = "z" * (C.CONFIG_SIZE - len('{"name":""}'))
    config.save()
    fresh = SteamiConfig(bridge)
    fresh.load()
    assert fresh.board_name == config.board_name


def test_config_over_daplinkflash_like_old_scripts(sim):
    cfg = SteamiConfig(DaplinkFlash(sim.i2c()))
    cfg.board_revision = 2
    cfg.save()
    cfg2 = SteamiConfig(DaplinkBridge(sim.i2c()))
    cfg2.load()
    assert cfg2.board_revision == 2


def test_save_falls_back_to_clear_then_write():
    """A bridge object without replace_config (e.g. a user's own) gets v1's sequence."""
    calls = []

    class V1Bridge:
        def clear_config(self):
            calls.append("clear")

        def write_config(self, data, offset=0):
            calls.append(("write", bytes(data)))

    cfg = SteamiConfig(V1Bridge())
    cfg.board_revision = 1
    cfg.save()
    assert calls == ["clear", ("write", b'{"rev":1}')]
