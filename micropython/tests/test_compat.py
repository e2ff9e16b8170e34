"""Existing STeaMi scripts: the module names, the v1 constants, and a script written
against the v1 driver, unchanged."""
import daplink_bridge
import daplink_flash
import steami_config

import flashbridge


def test_alias_modules_are_the_package():
    assert daplink_bridge.DaplinkBridge is flashbridge.DaplinkBridge
    assert daplink_flash.DaplinkFlash is flashbridge.DaplinkFlash
    assert steami_config.SteamiConfig is flashbridge.SteamiConfig
    # Constants the v1 const modules exported.
    assert daplink_bridge.DAPLINK_BRIDGE_DEFAULT_ADDR == 0x3B
    assert daplink_bridge.STATUS_BUSY == 0x80
    assert daplink_bridge.CMD_WRITE_CONFIG == 0x30
    assert daplink_flash.SECTOR_SIZE == 256


def test_errors_are_oserrors_like_v1():
    assert issubclass(flashbridge.FlashBridgeError, OSError)
    assert issubclass(flashbridge.FlashBridgeTimeout, OSError)


def test_v1_style_script(sim):
    """A script in the style of the STeaMi examples, word for word what v1 users
    wrote; only the results are checked."""
    from daplink_bridge import DaplinkBridge
    from daplink_flash import DaplinkFlash
    from machine import I2C
    from steami_config import SteamiConfig

    i2c = I2C(1)
    bridge = DaplinkBridge(i2c)
    flash = DaplinkFlash(bridge)
    assert bridge.device_id() == 0x4C
    flash.clear_flash()
    flash.set_filename("sensor", "csv")
    flash.write_line("time,temp")
    for i in range(10):
        flash.write_line("{},{}".format(i, 20 + i))
    data = flash.read()
    assert data.decode().splitlines()[-1] == "9,29"
    name, ext = flash.get_filename()
    assert (name, ext) == ("SENSOR", "CSV")
    sector = flash.read_sector(0)
    assert len(sector) == 256 and sector.startswith(b"time,temp\n")

    config = SteamiConfig(bridge)
    config.load()
    config.board_name = "STeaMi"
    config.set_temperature_calibration("hts221", gain=1.0, offset=-0.5)
    config.save()
    config.load()
    assert config.get_temperature_calibration("hts221") == {"gain": 1.0, "offset": -0.5}

    try:
        flash.set_filename("bad name", "x.y")
    except OSError as e:  # v1 scripts caught OSError
        assert "bad filename" in str(e)
    else:
        raise AssertionError("bad filename accepted")
