"""Against a STeaMi v1 target: no free-slot count, no READY/ERROR status bits, no
FILE_SIZE register. Emulated by hiding those from the simulated flashbridge target; the
driver must detect it once and fall back to v1 behaviour."""
import pytest

import mpshim
from flashbridge import DaplinkBridge, DaplinkFlash, FlashBridgeError
from flashbridge import const as C


class V1View(mpshim.I2C):
    """The simulated target as a v1 host would have seen it."""

    def readfrom_mem_into(self, addr, reg, buf, *, addrsize=8):
        super().readfrom_mem_into(addr, reg, buf, addrsize=addrsize)
        if reg == C.CMD_STATUS:
            buf[0] &= C.STATUS_BUSY
        elif reg == C.CMD_FILE_SIZE:
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
        flash.set_filename("a b", "c")
    assert ei.value.bits == C.ERR_BAD_NAME | C.ERR_FAILED


def test_config_v1(v1):
    bridge, _ = v1
    bridge.replace_config(b'{"rev":1}')
    assert bridge.read_config() == b'{"rev":1}'
