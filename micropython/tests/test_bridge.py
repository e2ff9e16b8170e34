"""DaplinkBridge against the simulated board: identification, status, config zone, the
shape of its bus traffic, and its error paths."""
import errno

import pytest

from flashbridge import DaplinkBridge, DaplinkFlash, FlashBridgeError, FlashBridgeTimeout
from flashbridge import const as C
from flashbridge.bridge import budget_ms


def reads_of(log, reg):
    return [e for e in log if e[1] == bytes([reg]) and e[2] > 0]


def test_device_id(bridge):
    assert bridge.device_id() == C.WHO_AM_I_VALUE


def test_status_idle_and_error_clear(bridge):
    st = bridge._status()
    assert not st & C.STATUS_BUSY
    assert st & C.STATUS_QUEUE_MASK == C.QUEUE_DEPTH
    assert bridge.busy() is False
    assert bridge._error() == 0


def test_protocol_2_registers(bridge):
    """Protocol 2.0: STATUS reads 0x00/0x80 as v1 did, the driver polls EXT_STATUS and
    collects ERRORS (every failure since its last look); ERROR is the newest command's
    result, so a bad frame nobody checked is not blamed on the next command there."""
    assert bridge.capabilities() == "v2.0"
    assert bridge._read_reg(C.CMD_STATUS) == 0x00
    bridge._write_cmd(C.CMD_CLEAR_CONFIG)
    assert bridge._read_reg(C.CMD_STATUS) == C.STATUS_BUSY
    bridge._wait_busy()
    bridge._send(bytes([C.CMD_READ_SECTOR, 0x9C, 0x40]))  # read_sector(40000), unchecked
    bridge._wait_busy()
    assert bridge._read_reg(C.CMD_STATUS) == 0x00
    assert bridge._status() & C.STATUS_ERROR  # EXT_STATUS: ERRORS holds it
    bridge._write_cmd(C.CMD_CLEAR_CONFIG)
    bridge._wait_busy()
    assert bridge._read_reg(C.CMD_ERROR) == 0  # the v1 view: CLEAR_CONFIG's own result
    assert bridge._errors() == C.ERR_BAD_PARAM | C.ERR_FAILED
    assert not bridge._status() & C.STATUS_ERROR
    assert DaplinkFlash(bridge).write(b"abc") == 3


def test_busy_while_config_store_runs(bridge):
    bridge._write_cmd(C.CMD_CLEAR_CONFIG)
    assert bridge.busy() is True
    bridge._wait_busy()
    assert bridge.busy() is False
    assert bridge._error() == 0


def test_wait_busy_backs_off_instead_of_fixed_polls(sim, bridge):
    """A ~90 ms config store: polls at 1, 2, 4, 8, 16, 16 ... ms, not every 5 ms."""
    sim.link.log = []
    bridge._write_cmd(C.CMD_CLEAR_CONFIG)
    t0 = sim.now_ms()
    bridge._wait_busy()
    waited = sim.now_ms() - t0
    polls = len(reads_of(sim.link.log, C.CMD_EXT_STATUS))
    assert 0 < polls < waited / 5, (polls, waited)


def writes_of(log):
    return [e[1] for e in log if e[2] == 0]


def test_capabilities(sim, bridge):
    assert bridge.capabilities() == "v2.0"
    assert bridge.supports("file_size")
    assert bridge.supports("queue")
    assert bridge.supports("stream")  # the streaming extension (CAPS register)
    assert bridge.supports("append_crc") and bridge.supports("stream_read")
    bridge.write_config(b"old")
    sim.link.log = []
    assert bridge.supports("config_txn")
    # Asked once, on the bus: BEGIN, then ABORT since nothing was to be stored.
    assert writes_of(sim.link.log) == [bytes([C.CMD_CONFIG_BEGIN]), bytes([C.CMD_CONFIG_ABORT])]
    sim.link.log = []
    assert bridge.supports("config_txn")
    assert writes_of(sim.link.log) == []
    # No transaction was left open: a plain write lands in the zone at once.
    bridge.write_config(b"n")
    assert bridge.read_config() == b"nld"


def test_config_empty_zone_reads_empty(bridge):
    bridge.clear_config()
    assert bridge.read_config() == b""


def test_write_and_read_config(bridge):
    bridge.clear_config()
    text = '{"name":"STeaMi-01","rev":3}'
    bridge.write_config(text)
    assert bridge.read_config() == text.encode()


def test_write_config_at_offset_and_multi_frame(bridge):
    bridge.clear_config()
    data = bytes(range(0x20, 0x7F))  # 95 bytes: 4 frames of <= 28
    bridge.write_config(b"A" * 10)
    bridge.write_config(data, offset=10)
    assert bridge.read_config() == b"A" * 10 + data


def test_read_config_spans_pages_and_stops_at_first_ff(bridge):
    bridge.clear_config()
    data = bytes((i % 200) + 1 for i in range(700))  # no 0xFF, crosses 2 pages
    bridge.write_config(data)
    assert bridge.read_config() == data
    bridge.write_config(b"\xff", offset=300)
    assert bridge.read_config() == data[:300]


def test_read_config_full_zone(bridge):
    data = bytes((i % 250) + 1 for i in range(C.CONFIG_SIZE))
    bridge.replace_config(data)
    assert bridge.read_config() == data


def test_replace_config(bridge):
    bridge.write_config(b"x" * 100)
    bridge.replace_config(b"short")
    assert bridge.read_config() == b"short"
    bridge.replace_config(b"")
    assert bridge.read_config() == b""


def test_config_survives_power_cycle(sim, bridge):
    bridge.replace_config(b"persist")
    sim.power_cycle()
    fresh = DaplinkBridge(sim.i2c())
    assert fresh.read_config() == b"persist"


def test_read_config_polls_instead_of_sleeping(sim, bridge):
    """v1 slept 100 ms per page; this driver polls STATUS and reads at once: the page
    costs its bus time (256 bytes at 100 kHz: 23.2 ms) plus a few ms at most."""
    _, bus_hz = sim.link.hello()
    bridge.replace_config(b"abc")
    t0 = sim.now_ms()
    bridge.read_config()
    page_ms = (1 + 9 + 9 * C.RESPONSE_LEN + 1) * 1000 / bus_hz
    assert sim.now_ms() - t0 < page_ms + 3


def test_read_config_wire_sequence(sim, bridge):
    """READ_CONFIG [0x31, hi, lo] (STOP), EXT_STATUS polls, then a plain 256-byte read."""
    bridge.replace_config(b"abc")
    sim.link.log = []
    bridge.read_config()
    log = sim.link.log
    assert log[0][1] == bytes([C.CMD_READ_CONFIG, 0, 0]) and log[0][2] == 0
    plain = [i for i, e in enumerate(log) if e[1] == b"" and e[2] == C.RESPONSE_LEN]
    assert len(plain) == 1
    between = log[1 : plain[0]]
    assert between and all(e[1] == bytes([C.CMD_EXT_STATUS]) for e in between)


def test_write_config_queue_aware(sim, bridge):
    """Up to QUEUE_DEPTH frames go out between two STATUS reads."""
    bridge.clear_config()
    sim.link.log = []
    bridge.write_config(bytes(range(1, 201)))  # 8 frames
    run = longest = 0
    for addr, w, rlen, status, r in sim.link.log:
        if w[:1] == bytes([C.CMD_WRITE_CONFIG]):
            assert len(w) == C.FRAME_MAX
            run += 1
            longest = max(longest, run)
        else:
            run = 0
    assert longest == C.QUEUE_DEPTH
    assert bridge.read_config() == bytes(range(1, 201))


def test_write_config_offset_past_zone_is_value_error(bridge):
    with pytest.raises(ValueError):
        bridge.write_config(b"abc", offset=C.CONFIG_SIZE)
    with pytest.raises(ValueError):
        bridge.write_config(b"abcdef", offset=C.CONFIG_SIZE - 3)
    with pytest.raises(ValueError):
        bridge.write_config(b"a", offset=-1)
    with pytest.raises(ValueError):
        bridge.replace_config(b"x" * (C.CONFIG_SIZE + 1))


def test_target_rejects_offset_past_zone_with_named_bits(bridge):
    """A WRITE_CONFIG frame whose offset + len passes the zone: the target answers
    BAD_PARAM; the driver raises FlashBridgeError naming the bits."""
    frame = bytearray(C.FRAME_MAX)
    frame[0] = C.CMD_WRITE_CONFIG
    frame[1], frame[2] = (C.CONFIG_SIZE - 2) >> 8, (C.CONFIG_SIZE - 2) & 0xFF
    frame[3] = 5
    with pytest.raises(FlashBridgeError) as ei:
        bridge._command("WRITE_CONFIG", frame, C.WORST_CONFIG_MS, 16)
    e = ei.value
    assert e.bits == C.ERR_BAD_PARAM | C.ERR_FAILED
    assert isinstance(e, OSError) and e.errno == errno.EIO
    assert "bad parameter, last command failed" in str(e)
    assert str(e).startswith("WRITE_CONFIG: ")
    # Reading ERROR cleared it: the next command is clean.
    bridge.replace_config(b"ok")
    assert bridge.read_config() == b"ok"


def test_short_frame_is_bad_param(bridge):
    with pytest.raises(FlashBridgeError) as ei:
        bridge._command("WRITE_CONFIG", bytes([C.CMD_WRITE_CONFIG, 0, 0]), 117, 16)
    assert ei.value.bits & C.ERR_BAD_PARAM


def test_unknown_command_named(bridge):
    with pytest.raises(FlashBridgeError) as ei:
        bridge._command("RAW", bytes([0x55]), 1, 1)
    assert ei.value.bits == C.ERR_UNKNOWN_CMD | C.ERR_FAILED
    assert "unknown command" in str(ei.value)


def test_no_device_at_address(sim):
    b = DaplinkBridge(sim.i2c(), address=0x3C)
    with pytest.raises(OSError) as ei:
        b.device_id()
    assert ei.value.errno == errno.ENODEV
    with pytest.raises(OSError) as ei:
        b.clear_config()
    assert ei.value.errno == errno.ENODEV


# ------------------------------------------------------------------------------
# Without a simulator: a target that never finishes, a target that NACKs data
# ------------------------------------------------------------------------------


class StuckI2C:
    """Answers every register read with BUSY (no free slot) and acknowledges every
    write: a target that never finishes. Each transfer costs 0.4 ms of bus time."""

    def __init__(self, clock, status=0x80):
        self.clock = clock
        self.status = status
        self.writes = []

    def _bus(self):
        self.clock.wait_ns(400_000)

    def readfrom_mem_into(self, addr, reg, buf):
        self._bus()
        for i in range(len(buf)):
            buf[i] = self.status if reg == C.CMD_STATUS else 0

    def readfrom_mem(self, addr, reg, n):
        buf = bytearray(n)
        self.readfrom_mem_into(addr, reg, buf)
        return bytes(buf)

    def writeto(self, addr, buf, stop=True):
        self._bus()
        self.writes.append(bytes(buf))
        return len(buf)

    def writeto_mem(self, addr, reg, buf):
        self.writeto(addr, bytes([reg]) + bytes(buf))

    def readfrom_into(self, addr, buf):
        self._bus()


def test_timeout_when_busy_never_clears(manual_clock):
    i2c = StuckI2C(manual_clock)
    b = DaplinkBridge(i2c)
    b._idle, b._proto = True, "v1.1"  # as after an earlier successful command
    with pytest.raises(FlashBridgeTimeout) as ei:
        b.clear_config()
    e = ei.value
    assert isinstance(e, OSError) and isinstance(e, FlashBridgeError)
    assert e.errno == errno.ETIMEDOUT
    assert e.status == 0x80
    assert "CLEAR_CONFIG" in str(e) and "still busy" in str(e)
    # The datasheet worst case, behind one background erase step, plus half and 20 ms.
    budget = (2000 + 520 + C.WORST_CONFIG_MS) * 3 // 2 + 20
    assert budget == budget_ms(C.WORST_CONFIG_MS)
    assert budget <= e.waited_ms < budget + 20
    # Back-off: 1, 2, 4, 8, 16 (the config cap), 16, ... never a fixed 5 ms.
    sleeps = manual_clock.sleeps_ms
    assert sleeps[:5] == [1, 2, 4, 8, 16]
    assert max(sleeps) == 16
    assert i2c.writes == [bytes([C.CMD_CLEAR_CONFIG])]


def test_wait_busy_timeout_argument(manual_clock):
    b = DaplinkBridge(StuckI2C(manual_clock))
    with pytest.raises(OSError) as ei:
        b._wait_busy(timeout_ms=50)
    assert ei.value.errno == errno.ETIMEDOUT
    assert 50 <= manual_clock.ns / 1e6 < 60


def test_read_polls_at_1ms_cap(manual_clock):
    b = DaplinkBridge(StuckI2C(manual_clock))
    b._idle, b._proto = True, "v1.1"
    with pytest.raises(FlashBridgeTimeout):
        b.read_config()
    assert set(manual_clock.sleeps_ms) == {1}
    assert len(manual_clock.sleeps_ms) <= budget_ms(C.WORST_READ_MS)


def test_poll_cap_rises_while_erasing(manual_clock):
    """STATUS.ERASING with BUSY: the command is most likely queued behind an erase block
    (up to 2 s), so even a read backs off to 16 ms between polls instead of 1 ms."""
    b = DaplinkBridge(StuckI2C(manual_clock, status=C.STATUS_BUSY | C.STATUS_ERASING))
    b._idle, b._proto = True, "v1.1"
    with pytest.raises(FlashBridgeTimeout) as ei:
        b.read_config()
    sleeps = manual_clock.sleeps_ms
    assert sleeps[:5] == [1, 2, 4, 8, 16] and max(sleeps) == 16
    assert ei.value.waited_ms >= budget_ms(C.WORST_READ_MS)


def test_budgets_allow_an_erase_block_ahead():
    """Every wait allows the 64 KiB block erase (2000 ms) and its progress record (a
    metadata compaction, 520 ms) that a command queued while STATUS.ERASING waits for."""
    assert C.WORST_ERASE_AHEAD_MS == 2000 + C.WORST_META_MS
    assert C.WORST_COMMIT_MS == C.WORST_CONFIG_MS == 117
    assert C.WORST_STAGED_MS == 1
    for worst in (C.WORST_READ_MS, C.WORST_STAGED_MS, C.WORST_CONFIG_MS, C.WORST_META_MS):
        assert budget_ms(worst) >= (C.WORST_ERASE_AHEAD_MS + worst) * 3 // 2
    from flashbridge.bridge import UNKNOWN_BUDGET_MS

    assert UNKNOWN_BUDGET_MS >= (C.WORST_ERASE_AHEAD_MS + 4 * C.WORST_WRITE_DATA_MS) * 3 // 2


def test_commands_behind_background_erase_at_worst_timing(sim_factory):
    """At datasheet-maximum timing, a CLEAR_FLASH over more than 64 KiB of data leaves
    block erases (2 s for a 64 KiB block) running in the background. Config commands
    never touch the W25Q64 and never wait for an erase (docs/PERFORMANCE.md): config
    saves (the transaction) and reads, sent every 100 ms until the erase is over, take
    their own time only, and nothing times out."""
    sim = sim_factory("--timing", "max")
    bridge = DaplinkBridge(sim.i2c())
    flash = DaplinkFlash(bridge)
    while bridge._status() & C.STATUS_ERASING:  # a fresh chip is checked first
        sim.link.wait_ns(10_000_000)
    flash.write(bytes(70 * 1024))
    flash.clear_flash()
    longest = 0
    i = 0
    while bridge._status() & C.STATUS_ERASING:
        t0 = sim.now_ms()
        bridge.replace_config(b"cfg%d" % i)
        assert bridge.read_config() == b"cfg%d" % i
        longest = max(longest, sim.now_ms() - t0)
        sim.link.wait_ns(100_000_000)
        i += 1
    # None waited behind a 64 KiB block (2 s): a save that compacts the config journal
    # and a read, 195 + 21 ms at most.
    assert 0 < longest < 195 + 21, longest
    flash.write(b"after")
    assert flash.read() == b"after"


def test_data_nack_on_write_is_eio(manual_clock):
    class NackI2C(StuckI2C):
        def writeto(self, addr, buf, stop=True):
            self._bus()
            return 1  # only the command byte acknowledged

    b = DaplinkBridge(NackI2C(manual_clock, status=C.QUEUE_DEPTH))
    with pytest.raises(OSError) as ei:
        b.write_config(b"abc")
    assert ei.value.errno == errno.EIO


def test_extension_probe_hook_runs_once(sim):
    """Where side-effect-free extensions (the future streaming frames) will be
    detected: called once, after the protocol level is known, and feeds supports(). A
    "config_txn" it reports is taken without asking the target."""
    calls = []

    class Future(DaplinkBridge):
        def _probe_extensions(self):
            calls.append(self._proto)
            return ("config_txn",)

    b = Future(sim.i2c())
    b.clear_config()  # learns the protocol level on the way
    assert b.supports("config_txn") and b.supports("file_size")
    assert b.capabilities() == "v2.0"
    assert calls == ["v2.0"]


def test_timeout_across_ticks_wraparound(manual_clock):
    """ticks_ms() wraps (2**30 ms on MicroPython); budgets use ticks_diff."""
    manual_clock.ns = ((1 << 30) - 50) * 1_000_000
    b = DaplinkBridge(StuckI2C(manual_clock))
    with pytest.raises(FlashBridgeTimeout) as ei:
        b._wait_busy(timeout_ms=200)
    assert 200 <= ei.value.waited_ms < 220
