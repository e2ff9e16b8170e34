"""SteamiConfig against the simulated board."""
import errno
import json

import pytest

import mpshim
from flashbridge import DaplinkBridge, DaplinkFlash, FlashBridgeError, SteamiConfig
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


# ------------------------------------------------------------------------------
# The config transaction: save() is atomic on a target that has it
# ------------------------------------------------------------------------------


def _writes(log):
    """The write transfers (command frames) of a SimLink log, register selects aside."""
    return [e[1] for e in log if e[2] == 0]


def _config_frames(payload):
    """The WRITE_CONFIG frames that carry `payload` from offset 0."""
    frames = []
    for at in range(0, len(payload), C.WRITE_CONFIG_MAX):
        chunk = payload[at : at + C.WRITE_CONFIG_MAX]
        frames.append(
            bytes([C.CMD_WRITE_CONFIG, at >> 8, at & 0xFF, len(chunk)])
            + chunk
            + bytes(C.WRITE_CONFIG_MAX - len(chunk))
        )
    return frames


def test_save_goes_through_transaction(sim, bridge, config):
    """On the wire: CONFIG_BEGIN, CLEAR_CONFIG, the WRITE_CONFIG frames, CONFIG_COMMIT,
    and nothing else written; the first BEGIN is also the support probe."""
    for i, name in enumerate(("first", "second-" + "n" * 60)):
        sim.link.log = []
        config.board_name = name
        config.save()
        payload = ('{"name":"%s"}' % name).encode()
        assert _writes(sim.link.log) == (
            [bytes([C.CMD_CONFIG_BEGIN]), bytes([C.CMD_CLEAR_CONFIG])]
            + _config_frames(payload)
            + [bytes([C.CMD_CONFIG_COMMIT])]
        ), i
        # It ends with the target idle and no error flagged.
        last_status = [e for e in sim.link.log if e[1] == bytes([C.CMD_EXT_STATUS])][-1]
        assert last_status[4][0] & (C.STATUS_BUSY | C.STATUS_ERROR) == 0
        assert bridge.read_config() == payload
    assert bridge.supports("config_txn")


def test_replace_config_transaction_and_empty_data(sim, bridge):
    bridge.replace_config(b"something")
    sim.link.log = []
    bridge.replace_config(b"")
    assert _writes(sim.link.log) == [
        bytes([C.CMD_CONFIG_BEGIN]),
        bytes([C.CMD_CLEAR_CONFIG]),
        bytes([C.CMD_CONFIG_COMMIT]),
    ]
    assert bridge.read_config() == b""


def _stage(bridge, payload):
    """BEGIN, CLEAR_CONFIG and the payload's WRITE_CONFIG frames, driven by hand: a save
    up to, not including, its COMMIT."""
    bridge._command("CONFIG_BEGIN", bytes([C.CMD_CONFIG_BEGIN]), 1, 1)
    bridge._command("CLEAR_CONFIG", bytes([C.CMD_CLEAR_CONFIG]), 1, 1)
    bridge.write_config(payload)  # staged: the transaction is open


def test_power_cut_before_commit_keeps_old_config(sim, bridge, config):
    config.board_name = "old"
    config.increment_boot_count()
    config.save()
    old = bridge.read_config()
    _stage(bridge, b'{"name":"new-and-longer","boot":2}')
    # The staged zone is not what READ_CONFIG returns: the committed one still is.
    assert bridge.read_config() == old
    sim.power_cycle()
    fresh = SteamiConfig(DaplinkBridge(sim.i2c()))
    fresh.load()
    assert fresh.board_name == "old" and fresh.get_boot_count() == 1
    # The reboot dropped the transaction: a COMMIT now has nothing to commit ...
    b2 = DaplinkBridge(sim.i2c())
    with pytest.raises(FlashBridgeError) as ei:
        b2._command("CONFIG_COMMIT", bytes([C.CMD_CONFIG_COMMIT]), C.WORST_COMMIT_MS, 16)
    assert ei.value.bits == C.ERR_BAD_PARAM | C.ERR_FAILED
    assert b2.read_config() == old
    # ... and the next save works.
    fresh.increment_boot_count()
    fresh.save()
    fresh.load()
    assert fresh.get_boot_count() == 2


def test_power_cut_during_commit_gives_old_or_new(sim, bridge):
    """Cuts at every few ms through a COMMIT (~90 ms at typical timing: two page erases,
    the snapshot, the header): the zone afterwards is the old content or the new one,
    whole, and both outcomes occur."""
    old = b'{"name":"old","boot":7}'
    new = b'{"name":"' + b"N" * 200 + b'","boot":8}'
    seen = set()
    for delay_ms in range(0, 130, 6):
        b = DaplinkBridge(sim.i2c())
        b.replace_config(old)
        _stage(b, new)
        b._send(bytes([C.CMD_CONFIG_COMMIT]))
        sim.link.wait_ns(delay_ms * 1_000_000)
        sim.power_cycle()
        got = DaplinkBridge(sim.i2c()).read_config()
        assert got in (old, new), (delay_ms, got)
        seen.add(got)
    assert seen == {old, new}


class FaultyI2C(mpshim.I2C):
    """The simulated bus, with one write frame spoiled on its way: `spoil(frame)` returns
    the bytes to send instead (or raises). Records every frame the driver sent."""

    def __init__(self, spoil):
        super().__init__(1)
        self.spoil = spoil
        self.sent = []

    def writeto(self, addr, buf, stop=True):
        buf = bytes(buf)
        self.sent.append(buf)
        return super().writeto(addr, self.spoil(buf), stop)


def test_error_inside_transaction_aborts(sim):
    """The second WRITE_CONFIG frame arrives with a length the target rejects
    (BAD_PARAM): save() raises it, sends CONFIG_ABORT, sends no COMMIT, and the zone
    keeps the old content. The target is left with no transaction open."""
    count = [0]

    def spoil(frame):
        if frame[0] == C.CMD_WRITE_CONFIG:
            count[0] += 1
            if count[0] == 2:
                return frame[:3] + bytes([C.WRITE_CONFIG_MAX + 1]) + frame[4:]
        return frame

    i2c = FaultyI2C(spoil)
    bridge = DaplinkBridge(i2c)
    bridge.replace_config(b'{"name":"old"}')  # one frame: not spoiled
    old = bridge.read_config()
    cfg = SteamiConfig(bridge)
    cfg.board_name = "x" * 100
    i2c.sent = []
    with pytest.raises(FlashBridgeError) as ei:
        cfg.save()
    assert ei.value.bits == C.ERR_BAD_PARAM | C.ERR_FAILED
    assert ei.value.op == "WRITE_CONFIG"
    assert i2c.sent[0] == bytes([C.CMD_CONFIG_BEGIN])
    assert i2c.sent[-1] == bytes([C.CMD_CONFIG_ABORT])
    assert bytes([C.CMD_CONFIG_COMMIT]) not in i2c.sent
    assert bridge.read_config() == old
    # No transaction left open: a plain write is stored at once (it would only be
    # staged otherwise), and a COMMIT finds nothing to commit.
    bridge.write_config(b"[")
    assert bridge.read_config() == b'["name":"old"}'
    with pytest.raises(FlashBridgeError) as ei:
        bridge._command("CONFIG_COMMIT", bytes([C.CMD_CONFIG_COMMIT]), C.WORST_COMMIT_MS, 16)
    assert ei.value.bits == C.ERR_BAD_PARAM | C.ERR_FAILED
    cfg.save()  # the next save goes through
    assert json.loads(bridge.read_config()) == {"name": "x" * 100}


def test_bus_failure_on_commit_aborts(sim):
    """The COMMIT frame is not acknowledged (an OSError from the bus, not from the
    target): the transaction is aborted and the error raised; the old zone stays."""
    fail = [False]

    def spoil(frame):
        if fail[0] and frame == bytes([C.CMD_CONFIG_COMMIT]):
            raise OSError(errno.EIO, "injected")
        return frame

    i2c = FaultyI2C(spoil)
    bridge = DaplinkBridge(i2c)
    bridge.replace_config(b"old")
    fail[0] = True
    i2c.sent = []
    with pytest.raises(OSError) as ei:
        bridge.replace_config(b"new")
    assert ei.value.errno == errno.EIO
    assert i2c.sent[-1] == bytes([C.CMD_CONFIG_ABORT])
    assert bridge.read_config() == b"old"
    bridge.write_config(b"O")
    assert bridge.read_config() == b"Old"
