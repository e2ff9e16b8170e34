"""Against a STeaMi v1 target: no free-slot count, no READY/ERROR status bits, no
FILE_SIZE register, no config transaction. Emulated by hiding those from the simulated
flashbridge target; the driver must detect it once and fall back to v1 behaviour.
Also against a flashbridge target from before the config transaction (NoTxnView)."""
import pytest

import mpshim
from flashbridge import DaplinkBridge, DaplinkFlash, FlashBridgeError, SteamiConfig
from flashbridge import const as C

_TXN_CMDS = (C.CMD_CONFIG_BEGIN, C.CMD_CONFIG_COMMIT, C.CMD_CONFIG_ABORT)
_NOT_A_COMMAND = 0x55  # the simulated target answers it with UNKNOWN_CMD


class NoTxnView(mpshim.I2C):
    """A target without the config transaction: its codes reach the simulated target as
    a command byte it does not know, answered with UNKNOWN_CMD | FAILED. Records every
    frame the driver wrote, as the driver wrote it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent = []

    def writeto(self, addr, buf, stop=True):
        buf = bytes(buf)
        self.sent.append(buf)
        if buf[:1] and buf[0] in _TXN_CMDS:
            buf = bytes([_NOT_A_COMMAND]) + buf[1:]
        return super().writeto(addr, buf, stop)


class V1View(NoTxnView):
    """The simulated target as a v1 host would have seen it."""

    def readfrom_mem_into(self, addr, reg, buf, *, addrsize=8):
        super().readfrom_mem_into(addr, reg, buf, addrsize=addrsize)
        if reg == C.CMD_STATUS:
            buf[0] &= C.STATUS_BUSY
        elif reg in (C.CMD_FILE_SIZE, C.CMD_CAPS, C.CMD_EXT_STATUS, C.CMD_ERRORS,
                     C.CMD_STREAM_STATE):
            # Unknown to v1: it stretches the clock, then sends 0xFF.
            for i in range(len(buf)):
                buf[i] = 0xFF


@pytest.fixture
def v1(sim):
    i2c = V1View(1)
    return DaplinkBridge(i2c), DaplinkFlash(DaplinkBridge(i2c))


def test_detects_v1(v1):
    bridge, flash = v1
    assert bridge.capabilities() == "v1"
    assert not bridge.supports("file_size")
    assert flash.file_size() is None


def test_read_stops_at_first_ff_like_v1(v1):
    _, flash = v1
    flash.write(b"abc\xffdef")
    assert flash.read() == b"abc"
    # With a length, v1 returned that many bytes whatever they were.
    assert flash.read(10) == b"abc\xffdef\xff\xff\xff"


def test_read_multi_sector_without_file_size(v1):
    _, flash = v1
    data = bytes((i % 250) for i in range(700))
    flash.write(data)
    assert flash.read() == data


def test_one_frame_per_idle_status(sim, v1):
    """No slot count: a frame is sent only after STATUS shows idle, and ERROR is read
    at the end of every command, as v1 required."""
    _, flash = v1
    flash.write(b"x")  # detection
    sim.link.log = []
    flash.write(bytes(90))  # 3 frames
    kinds = [e[1][:1] for e in sim.link.log]
    frames = [i for i, k in enumerate(kinds) if k == bytes([C.CMD_WRITE_DATA])]
    assert len(frames) == 3
    # The first frame follows the previous write's idle STATUS and ERROR read; each
    # later one follows a STATUS read that showed idle.
    assert frames[0] == 0
    for i in frames[1:]:
        assert kinds[i - 1] == bytes([C.CMD_STATUS])
        assert not sim.link.log[i - 1][4][0] & C.STATUS_BUSY
    assert kinds[-1] == bytes([C.CMD_ERROR])


def test_errors_still_named(v1):
    _, flash = v1
    with pytest.raises(FlashBridgeError) as ei:
        flash.set_filename("a.b", "c")
    assert ei.value.bits == C.ERR_BAD_NAME | C.ERR_FAILED


def _v1_save_frames(payload):
    """The frames of a clear-then-write save."""
    return [bytes([C.CMD_CLEAR_CONFIG])] + _frames_of(payload)


def _frames_of(payload):
    out = []
    for at in range(0, len(payload), C.WRITE_CONFIG_MAX):
        chunk = payload[at : at + C.WRITE_CONFIG_MAX]
        out.append(
            bytes([C.CMD_WRITE_CONFIG, at >> 8, at & 0xFF, len(chunk)])
            + chunk
            + bytes(C.WRITE_CONFIG_MAX - len(chunk))
        )
    return out


def test_config_v1(v1):
    """v1 firmware predates the transaction: the driver does not ask (no CONFIG_BEGIN
    on the wire) and replaces the zone by clear then write, as the v1 driver did."""
    bridge, _ = v1
    i2c = bridge.i2c
    bridge.replace_config(b'{"rev":1}')
    assert bridge.read_config() == b'{"rev":1}'
    assert not bridge.supports("config_txn")
    cfg = SteamiConfig(bridge)
    cfg.load()
    assert not [f for f in i2c.sent if f[0] in _TXN_CMDS]
    i2c.sent = []
    cfg.board_name = "v1-board-" + "q" * 40
    cfg.save()
    payload = b'{"rev":1,"name":"v1-board-' + b"q" * 40 + b'"}'
    assert i2c.sent == _v1_save_frames(payload)
    fresh = SteamiConfig(bridge)
    fresh.load()
    assert fresh.board_name == cfg.board_name and fresh.board_revision == 1


@pytest.fixture
def no_txn(sim):
    return DaplinkBridge(NoTxnView(1))


def test_config_without_transaction_falls_back(no_txn):
    """A flashbridge target from before the transaction: the first save sends
    CONFIG_BEGIN, reads UNKNOWN_CMD, and clears then writes; later saves do not ask
    again. The UNKNOWN_CMD it provoked is not reported as a failure."""
    bridge = no_txn
    i2c = bridge.i2c
    assert bridge.capabilities() == "v2.0"
    cfg = SteamiConfig(bridge)
    cfg.board_revision = 4
    cfg.save()
    assert i2c.sent == [bytes([C.CMD_CONFIG_BEGIN])] + _v1_save_frames(b'{"rev":4}')
    assert bridge.read_config() == b'{"rev":4}'
    assert bridge._errors() == 0
    i2c.sent = []
    cfg.board_revision = 5
    cfg.save()
    assert i2c.sent == _v1_save_frames(b'{"rev":5}')
    assert not bridge.supports("config_txn")
    assert i2c.sent[-1][0] != C.CMD_CONFIG_BEGIN  # supports() did not ask again either
    assert bridge.read_config() == b'{"rev":5}'


def test_supports_config_txn_probe_without_transaction(no_txn):
    bridge = no_txn
    assert not bridge.supports("config_txn")
    assert bridge.i2c.sent == [bytes([C.CMD_CONFIG_BEGIN])]
    assert bridge._errors() == 0


def test_probe_reports_an_earlier_failure(no_txn):
    """ERROR bits are sticky: a failure of a command sent outside the driver is read
    together with the probe's UNKNOWN_CMD. The probe's own bit is taken as the answer;
    the other bits are raised, as every call reports what it finds."""
    bridge = no_txn
    bridge._wait_busy()
    bridge._send(bytes([C.CMD_SET_FILENAME]) + b"a b     txt")  # bad name, not checked
    bridge._wait_busy()
    with pytest.raises(FlashBridgeError) as ei:
        bridge.replace_config(b"x")
    assert ei.value.bits == C.ERR_BAD_NAME | C.ERR_FAILED
    assert ei.value.op == "CONFIG_BEGIN"
    assert not bridge.supports("config_txn")
    bridge.replace_config(b"x")
    assert bridge.read_config() == b"x"
