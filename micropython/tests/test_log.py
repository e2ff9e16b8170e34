"""FlashLog (flashbridge/log.py): line-by-line logging coalesced into full APPEND_CRC
frames, pipelined on queue credits (LOG-CONTRACT, issue 14 item 1). Throughput is
measured by bench/pylog.py in virtual time, not here; what is checked here is what can
be counted: the bytes on the file, when frames go out, how many register reads they
cost, and what survives errors, resets and other writers."""
import random

import pytest

import mpshim
from conftest import NoStreamI2C
from flashbridge import DaplinkBridge, DaplinkFlash, FlashBridgeError
from flashbridge import const as C
from test_stream import FaultyI2C, check_frame, frames_of, stream_state

REGISTERS = {
    C.CMD_STATUS, C.CMD_ERROR, C.CMD_FILE_SIZE, C.CMD_CAPS, C.CMD_STREAM_STATE,
    C.CMD_EXT_STATUS, C.CMD_ERRORS, C.CMD_WHO_AM_I, C.CMD_GET_FILENAME,
}


def register_reads(log):
    return [e[1][0] for e in log if len(e[1]) == 1 and e[2] and e[1][0] in REGISTERS]


def line(i, size):
    """A line of exactly `size` bytes, newline included, that says where it is."""
    head = b"%d," % i
    body = bytes(48 + (i * 7 + k) % 74 for k in range(max(0, size - 1 - len(head))))
    return (head + body)[: size - 1]


def session(flash, sizes, **kw):
    expected = bytearray()
    with flash.log(**kw) as log:
        for i, size in enumerate(sizes):
            text = line(i, size)
            assert log.write_line(text) == len(text) + 1
            expected += text + b"\n"
    return bytes(expected)


# ------------------------------------------------------------------------------
# Bytes on the file
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 30, 55, 80, 255, 256, 257, 600])
def test_bytes_on_file_for_line_sizes(sim, flash, size):
    flash.write(b"before\n")
    n = max(3, 3000 // size)
    expected = session(flash, [size] * n)
    assert flash.read() == b"before\n" + expected
    assert stream_state(flash._bridge)[2] == 7 + len(expected)


def test_random_mix_30_to_80_and_raw_writes(sim, flash):
    rng = random.Random(14)
    expected = bytearray()
    log = flash.log()
    for i in range(400):
        if i % 9 == 4:
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 700)))
            assert log.write(raw) == len(raw)  # bytes, 0xFF included, any length
            expected += raw
        else:
            text = line(i, rng.randrange(30, 81)).decode()
            assert log.write_line(text) == len(text) + 1  # a str
            expected += text.encode() + b"\n"
    log.close()
    assert flash.read() == bytes(expected)


def test_frames_are_full_and_numbered(sim, flash):
    sim.link.log = []
    expected = session(flash, [30] * 100)  # 3000 bytes: 11 full frames and 184 bytes
    frames = frames_of(sim.link.log, C.CMD_APPEND_CRC)
    for f in frames:
        check_frame(f)
    assert [len(f) - 5 for f in frames] == [256] * 11 + [184]
    assert [f[1] for f in frames] == list(range(1, 13))
    assert b"".join(f[3:-2] for f in frames) == expected


def test_frames_end_on_page_boundaries_of_the_file(sim, flash):
    """After a 7-byte write the first frame takes 249 bytes, then full frames: each
    ends on a 256-byte boundary of the file (a flash page, one program per frame); a
    partial frame sent by flush() is followed by a frame that re-aligns."""
    flash.write(b"before\n")
    log = flash.log()
    sim.link.log = []
    log.write(bytes(700))
    log.flush()
    log.write(bytes(300))
    log.close()
    sizes = [len(f) - 5 for f in frames_of(sim.link.log, C.CMD_APPEND_CRC)]
    assert sizes == [249, 256, 195, 61, 239]
    ends = [7 + sum(sizes[: i + 1]) for i in range(len(sizes))]
    assert [e % 256 for e in ends] == [0, 0, 195, 0, 239]  # flush() sent 195 early
    assert flash.file_size() == 1007


# ------------------------------------------------------------------------------
# When frames go out: full, delay_ms, flush
# ------------------------------------------------------------------------------


def test_delay_rule(sim, flash):
    log = flash.log(delay_ms=1000)
    sim.link.log = []
    log.write_line("first")
    sim.link.wait_ns(600 * 10**6)
    log.write_line("second")  # 600 ms after the first byte: kept
    assert not frames_of(sim.link.log, C.CMD_APPEND_CRC)
    sim.link.wait_ns(400 * 10**6)
    log.write_line("third")  # 1000 ms after the first byte: the partial frame goes
    frames = frames_of(sim.link.log, C.CMD_APPEND_CRC)
    assert [f[3:-2] for f in frames] == [b"first\nsecond\nthird\n"]
    log.write_line("fourth")  # a new frame: its own first byte, its own delay
    sim.link.wait_ns(999 * 10**6)
    log.write_line("fifth")
    assert len(frames_of(sim.link.log, C.CMD_APPEND_CRC)) == 1
    sim.link.wait_ns(5 * 10**6)
    # Sent frames are programmed without a flush (the target works on its own).
    assert stream_state(flash._bridge)[2] == len(b"first\nsecond\nthird\n")
    log.close()
    assert flash.read() == b"first\nsecond\nthird\nfourth\nfifth\n"


def test_delay_zero_sends_every_write_without_register_reads(sim, flash):
    log = flash.log(delay_ms=0)
    sim.link.log = []
    for i in range(3):
        log.write_line("line %d" % i)
    frames = frames_of(sim.link.log, C.CMD_APPEND_CRC)
    assert [f[3:-2] for f in frames] == [b"line %d\n" % i for i in range(3)]
    assert register_reads(sim.link.log) == []  # 4 credits from the open
    log.close()
    assert flash.read() == b"line 0\nline 1\nline 2\n"


def test_write_larger_than_the_space_left(sim, flash):
    log = flash.log()
    sim.link.log = []
    log.write(b"a" * 200)
    log.write(b"b" * 600)  # fills the frame (56), two more full frames (512), 32 kept
    frames = frames_of(sim.link.log, C.CMD_APPEND_CRC)
    assert [len(f) - 5 for f in frames] == [256, 256, 256]
    assert frames[0][3:-2] == b"a" * 200 + b"b" * 56
    log.flush()
    assert flash.read() == b"a" * 200 + b"b" * 600


def test_flush_puts_everything_on_flash_and_checks_it(sim, flash):
    log = flash.log()
    log.write_line("x" * 40)
    sim.link.log = []
    log.flush()
    reads = register_reads(sim.link.log)
    assert reads[-1] == C.CMD_STREAM_STATE  # checked against the target's seq and size
    assert stream_state(flash._bridge) == (1, 0, 41)
    log.flush()  # nothing new: no frame
    assert len(frames_of(sim.link.log, C.CMD_APPEND_CRC)) == 1


class SwallowI2C(mpshim.I2C):
    """Loses chosen APPEND_CRC frames (counted from 0) without a trace: the transfer
    reports success, the target never sees it. Nothing flags it if it was the last."""

    def __init__(self, *args, lose=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.lose = set(lose)
        self.n = 0

    def writeto(self, addr, buf, stop=True):
        if buf[0] == C.CMD_APPEND_CRC:
            k = self.n
            self.n += 1
            if k in self.lose:
                self.lose.discard(k)
                # The transfer's bus time passes (100 kHz) as if it had gone through.
                (self._link or mpshim._link).wait_ns((len(buf) + 1) * 9 * 10**4)
                return len(buf)
        return super().writeto(addr, buf, stop)


@pytest.mark.parametrize("lost", [0, 2, 3, 4])
def test_flush_finds_a_silently_lost_frame(sim, lost):
    """Frame `lost` never reaches the target, though the bus acknowledged it. If a
    frame follows, the target refuses that one (out of sequence); if it was the last,
    only flush()'s STREAM_STATE check can tell. Frame 3 is the last before the credit
    poll, which finds the target idle without error: it is kept all the same (one frame
    more than the queue can hold), and sent again. Nothing is missing."""
    b = DaplinkBridge(SwallowI2C(1, lose={lost}))
    f = DaplinkFlash(b)
    log = f.log()
    data = bytes((i * 13) & 0xFF for i in range(4 * 256 + 100))  # frames 0-4
    log.write(data)
    log.flush()
    assert b.resyncs == 1
    assert f.read() == data


# ------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "faults",
    [{0: "before"}, {3: "after"}, {1: "corrupt"}, {6: "corrupt", 7: "after"},
     {2: "corrupt", 9: "before", 12: "corrupt"}],
    ids=["before0", "after3", "corrupt1", "corrupt6-after7", "three"],
)
def test_refused_frames_and_bus_errors_are_resent(sim, faults):
    b = DaplinkBridge(FaultyI2C(1, faults=faults))
    f = DaplinkFlash(b)
    sim.link.log = []
    expected = session(f, [55] * 80)  # 4400 bytes, 18 frames
    assert f.read() == expected
    assert b.bus_retries == sum(1 for v in faults.values() if v != "corrupt")
    assert b.resyncs == sum(1 for v in faults.values() if v == "corrupt")
    last, crc_errors, size = stream_state(b)
    assert (last, size) == (18, len(expected))


def test_bus_error_on_every_try_raises_and_flush_recovers(sim):
    i2c = FaultyI2C(1)
    b = DaplinkBridge(i2c)
    f = DaplinkFlash(b)
    log = f.log()
    log.write(b"a" * 300)  # frame 0 sent, 44 bytes kept
    i2c.faults = {i2c.n + k: "before" for k in range(4)}
    with pytest.raises(OSError) as ei:
        log.write(b"b" * 256)  # frame 1: four bus errors
    assert ei.value.errno == 5 and "not confirmed on flash" in str(ei.value)
    # The write() that raised took its bytes up to the end of the failed frame (44 +
    # 212): they are kept and go again; its last 44 bytes were not taken.
    log.close()
    assert f.read() == b"a" * 300 + b"b" * 212


class StatusFaultI2C(mpshim.I2C):
    """Raises OSError(EIO) on the chosen EXT_STATUS reads (counted from 1 once armed)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fail = set()
        self.n = None

    def readfrom_mem_into(self, addr, reg, buf, *, addrsize=8):
        if reg == C.CMD_EXT_STATUS and self.n is not None:
            self.n += 1
            if self.n in self.fail:
                raise OSError(5, "injected on EXT_STATUS")
        super().readfrom_mem_into(addr, reg, buf, addrsize=addrsize)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_failed_credit_poll_then_more_writes(sim, k):
    """A bus error on the k-th credit poll makes write() raise with its frame kept (the
    window is then one frame over its bound: 6 with k >= 2); the next write()
    resynchronises before it fills a new frame, and the file gets every frame once."""
    i2c = StatusFaultI2C(1)
    b = DaplinkBridge(i2c)
    f = DaplinkFlash(b)
    log = f.log()
    i2c.n = 0
    i2c.fail = {k}
    expected = bytearray()
    raised = 0
    for i in range(20):
        frame = bytes([65 + i]) * 256  # one write, one whole frame
        try:
            log.write(frame)
        except OSError as e:
            assert "not confirmed on flash" in str(e)
            raised += 1
        expected += frame  # a write that raised kept its (whole) frame
    log.close()
    assert raised == 1
    assert f.read() == bytes(expected)


def test_target_power_cut_before_a_frame_is_programmed(sim):
    """The target loses its queue: the frame kept in the window is sent again."""
    f = DaplinkFlash(DaplinkBridge(sim.i2c()))
    log = f.log()
    log.write(b"z" * 256)  # sent, not yet programmed
    sim.power_cycle()
    log.flush()
    assert f.read() == b"z" * 256


def test_flush_reports_unconfirmed_bytes(sim):
    """The target rebooted after programming a frame the host had not confirmed: its
    seq restarted and its size no longer fits the window. flush() does not guess: it
    raises, with the count of bytes it cannot confirm."""
    f = DaplinkFlash(DaplinkBridge(sim.i2c()))
    log = f.log(delay_ms=0)
    log.write(b"y" * 100)
    log.write(b"z" * 300)  # frames of 100, 156 (to a 256-byte boundary), 144: all sent
    for _ in range(1000):  # until programmed (a fresh chip is checked first)
        if stream_state(log._b)[2] == 400:
            break
        sim.link.wait_ns(10 * 10**6)
    sim.power_cycle()
    with pytest.raises(FlashBridgeError) as ei:
        log.flush()
    assert "400 bytes not confirmed on flash" in str(ei.value)
    assert ei.value.missing == 400
    assert "file changed" in str(ei.value)


# ------------------------------------------------------------------------------
# Register reads per frame
# ------------------------------------------------------------------------------


def test_register_reads_per_frame(sim, flash):
    """1,000 lines of 30 bytes (30,000 bytes, 118 frames): EXT_STATUS is read only when
    the credits are used up, STREAM_STATE at open and at the end; at most one register
    read per two frames in all. (One log write per call, as DaplinkFlash.write_line
    does, reads STREAM_STATE twice and EXT_STATUS at least once per call.)"""
    flash.write(b"w")  # detection and the first append after boot
    sim.link.log = []
    expected = session(flash, [30] * 1000)
    frames = frames_of(sim.link.log, C.CMD_APPEND_CRC)
    assert len(frames) == (30000 + 255) // 256 == 118
    reads = register_reads(sim.link.log)
    assert len(reads) <= len(frames) // 2, (len(reads), len(frames))
    assert reads.count(C.CMD_STREAM_STATE) == 2
    assert flash.read(30001)[1:] == expected


# ------------------------------------------------------------------------------
# Targets without the streaming extension
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["v1.1", "v1"])
def test_fallback_without_the_extension(sim, kind):
    from test_v1_target import V1View

    i2c = NoStreamI2C(1) if kind == "v1.1" else V1View(1)
    f = DaplinkFlash(DaplinkBridge(i2c))
    sim.link.log = []
    expected = session(f, [55] * 30 + [300, 2])
    assert not frames_of(sim.link.log, C.CMD_APPEND_CRC)
    wd = frames_of(sim.link.log, C.CMD_WRITE_DATA)
    # Coalesced into runs of 256 bytes, each sent as 30-byte frames.
    runs = [256] * (len(expected) // 256) + [len(expected) % 256]
    assert len(wd) == sum((r + 29) // 30 for r in runs)
    assert f.read(len(expected)) == expected


# ------------------------------------------------------------------------------
# Other writers while a log is open; close, with, host reset
# ------------------------------------------------------------------------------


def test_other_operations_keep_the_order(sim, flash):
    from flashbridge import SteamiConfig

    log = flash.log()
    log.write_line("one")
    flash.write(b"two\n")  # the log's "one" goes first
    log.write_line("three")
    flash.write_line("four")
    assert flash.read() == b"one\ntwo\nthree\nfour\n"
    log.write_line("lost to the clear")
    flash.clear_flash()
    log.write_line("five")
    flash.set_filename("after", "log")
    log.write_line("six")
    cfg = SteamiConfig(flash._bridge)
    cfg.board_name = "logger"
    cfg.save()  # config transaction while the log holds "six"
    log.write_line("seven")
    assert flash.get_filename() == ("AFTER", "LOG")
    log.write(b"x" * 700)
    assert flash.file_size() == len(b"five\nsix\nseven\n") + 700
    log.close()
    assert flash.read() == b"five\nsix\nseven\n" + b"x" * 700
    assert b'"name":"logger"' in flash.read_config()


def test_close_and_with(sim, flash):
    with flash.log() as log:
        log.write_line("a")
    with pytest.raises(ValueError):
        log.write_line("b")
    log.close()  # twice is fine
    first = flash.log()
    first.write_line("c")
    second = flash.log()  # closes (flushes) the first
    assert stream_state(flash._bridge)[2] == 4
    with pytest.raises(ValueError):
        first.write_line("d")
    second.write_line("e")
    second.close()
    assert flash.read() == b"a\nc\ne\n"
    with pytest.raises(ValueError):
        flash.log(delay_ms=-1)


def test_host_reset_loses_only_the_buffer(sim, flash):
    """A script that ends without flush(): the frames sent are programmed by the target
    on its own; only the partial frame (< 256 bytes) is lost."""
    log = flash.log()
    written = bytearray()
    for i in range(120):
        text = line(i, 47)
        log.write_line(text)
        written += text + b"\n"
    del log  # no flush, no close: a host reset
    sim.link.wait_ns(50 * 10**6)
    again = DaplinkFlash(DaplinkBridge(sim.i2c()))
    on_file = again.read()
    assert written.startswith(on_file)
    assert len(on_file) % 256 == 0 and 0 < len(written) - len(on_file) < 256


def test_flushed_bytes_survive_a_power_cut(sim, flash):
    log = flash.log()
    expected = bytearray()
    for i in range(50):
        log.write_line(line(i, 60))
        expected += line(i, 60) + b"\n"
    log.flush()
    sim.power_cycle()
    assert DaplinkFlash(DaplinkBridge(sim.i2c())).read() == bytes(expected)


def test_flashlog_class_from_the_package(sim, flash):
    from flashbridge import FlashLog

    with flash.log() as log:
        assert isinstance(log, FlashLog)
