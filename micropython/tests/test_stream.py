"""The streaming extension (docs/PROTOCOL.md "Streaming extension") from MicroPython:
APPEND_CRC frames with CRC and sequence numbers, STREAM_READ chunks, recovery after bus
errors and refused frames, the fallback when CAPS is missing, and throughput."""
import errno

import pytest

import mpshim
from conftest import STREAM_CODES, NoStreamI2C
from flashbridge import DaplinkBridge, DaplinkFlash
from flashbridge import const as C
from flashbridge.bridge import crc16


def frames_of(log, cmd):
    return [e[1] for e in log if e[1][:1] == bytes([cmd])]


def stream_state(bridge):
    b = bridge.i2c.readfrom_mem(bridge.address, C.CMD_STREAM_STATE, C.STREAM_STATE_LEN)
    return b[0], b[1] << 8 | b[2], int.from_bytes(b[3:7], "big")


def check_frame(f):
    assert f[0] == C.CMD_APPEND_CRC and 6 <= len(f) <= C.EXT_FRAME_MAX
    assert len(f) == f[2] + 1 + C.APPEND_CRC_OVERHEAD
    assert crc16(f[:-2]) == int.from_bytes(f[-2:], "big")


def pattern(n, salt=0):
    return bytes((i * 31 + salt + (i >> 8)) & 0xFF for i in range(n))


# ------------------------------------------------------------------------------
# CRC and wire bytes
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data,crc",
    [
        (b"123456789", 0x29B1),
        (bytes([0x12, 0x01]) + b"abc", 0xBAB7),  # protocol 1.x frame
        (bytes([0x12, 0x01, 0x02]) + b"abc", 0x453B),
        (bytes([0x12, 0x01, 0x61, 0x62, 0x63, 0xBA]), 0xB700),  # why 1.x took a 00 tail
        (bytes([0x46, 0x42, 0x02, 0x03, 0x01, 0x00, 0x04, 0x00]), 0x25C8),
        (bytes([0x5A, 0x00]) + b"xy", 0xF71E),
        (bytes([0x46, 0x42, 0x01, 0x03, 0x01, 0x00, 0x04, 0x00]), 0xEB28),
        (b"", 0xFFFF),
    ],
)
def test_crc16_vectors(data, crc):
    assert crc16(data) == crc
    assert crc16(memoryview(bytearray(data))) == crc
    assert crc == C.EXT_CRC_CHECK or data != b"123456789"


def test_crc16_matches_binascii():
    import binascii

    data = pattern(1000)
    assert crc16(data) == binascii.crc_hqx(data, 0xFFFF)


def test_caps_found(sim, bridge):
    sim.link.log = []
    assert bridge.capabilities() == "v2.0"
    assert bridge.supports("stream") and bridge.supports("append_crc")
    assert bridge.supports("stream_read")
    assert bridge._xpayload == 256
    # Nothing allocated for the extension until it is used (small heaps).
    assert bridge._xbuf is None and bridge._app is None
    # Asked once: one CAPS register read, no ERROR read (nothing was flagged).
    reads = [e[1] for e in sim.link.log if e[2]]
    assert reads.count(bytes([C.CMD_CAPS])) == 1
    assert bytes([C.CMD_ERROR]) not in reads
    sim.link.log = []
    bridge.capabilities()
    assert sim.link.log == []


def test_append_crc_wire_bytes(sim, flash):
    """After boot the target's last seq is 0: the first frame is seq 1, and "abc" is
    the protocol's test vector: 12 01 02 61 62 63 45 3B."""
    sim.link.log = []
    assert flash.write(b"abc") == 3
    frames = frames_of(sim.link.log, C.CMD_APPEND_CRC)
    assert frames == [bytes([0x12, 0x01, 0x02, 0x61, 0x62, 0x63, 0x45, 0x3B])]
    assert not frames_of(sim.link.log, C.CMD_WRITE_DATA)
    assert stream_state(flash._bridge) == (1, 0, 3)
    assert flash.read() == b"abc"


def test_append_frames_full_payload_and_numbered(sim, flash):
    flash.write(b"x")  # seq 1
    sim.link.log = []
    data = pattern(600)
    assert flash.write_line(data) == 601
    frames = frames_of(sim.link.log, C.CMD_APPEND_CRC)
    assert [len(f) for f in frames] == [261, 261, 94]
    assert [f[1] for f in frames] == [2, 3, 4]
    assert [f[2] for f in frames] == [255, 255, 88]
    for f in frames:
        check_frame(f)
    assert b"".join(f[3:-2] for f in frames) == data + b"\n"
    assert flash.read() == b"x" + data + b"\n"
    # Credits: STATUS is read only when the free slots are used up; here never before
    # the end (3 frames, 4 slots), so the frames go out back to back.
    kinds = [e[1][:1] for e in sim.link.log]
    first = kinds.index(bytes([C.CMD_APPEND_CRC]))
    assert kinds[first : first + 3] == [bytes([C.CMD_APPEND_CRC])] * 3


def test_sequence_wraps(sim, flash):
    data = pattern(300 * 256)  # 300 frames: the seq passes 255
    flash.write(data)
    assert stream_state(flash._bridge)[0] == 300 % 256
    flash.write(b"tail")
    assert flash.read() == data + b"tail"


def test_frames_built_in_preallocated_buffers(sim):
    seen = set()

    class Recording(mpshim.I2C):
        def writeto(self, addr, buf, stop=True):
            if buf[0] == C.CMD_APPEND_CRC:
                assert isinstance(buf, memoryview)
                seen.add((id(buf.obj), type(buf.obj).__name__, len(buf.obj)))
            return super().writeto(addr, buf, stop)

    f = DaplinkFlash(DaplinkBridge(Recording(1)))
    f.write(bytes(1000))
    f.write_line("second call")
    # The Appender's ring (append.py): up to the queue depth + 1 frames kept for a
    # resend, and the one being filled; nothing allocated per frame.
    ring = {(id(s), "bytearray", C.EXT_FRAME_MAX) for s in f._bridge._app.slots}
    assert len(ring) == C.QUEUE_DEPTH + 2
    assert seen <= ring and len(seen) == 5  # 5 frames


# ------------------------------------------------------------------------------
# Bus errors and refused frames
# ------------------------------------------------------------------------------


class FaultyI2C(mpshim.I2C):
    """Raises OSError(EIO) on chosen APPEND_CRC frames (counted from 0 over the
    connection), after delivering them (the ACK was lost) or before (never sent);
    or delivers them with one data byte flipped (the CRC no longer matches)."""

    def __init__(self, *args, faults=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.faults = dict(faults or {})
        self.n = 0

    def writeto(self, addr, buf, stop=True):
        if buf[0] != C.CMD_APPEND_CRC:
            return super().writeto(addr, buf, stop)
        k = self.n
        self.n += 1
        fault = self.faults.pop(k, None)
        if fault == "before":
            raise OSError(errno.EIO, "injected before delivery")
        if fault == "after":
            super().writeto(addr, buf, stop)
            raise OSError(errno.EIO, "injected after delivery")
        if fault == "corrupt":
            bad = bytearray(buf)
            bad[5] ^= 0x10
            return super().writeto(addr, bad, stop)
        return super().writeto(addr, buf, stop)


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("frame", [0, 2, 5])
def test_retry_after_bus_error_does_not_duplicate(sim, when, frame):
    i2c = FaultyI2C(1, faults={frame: when})
    b = DaplinkBridge(i2c)
    f = DaplinkFlash(b)
    sim.link.log = []
    data = pattern(6 * 256 + 17)
    assert f.write(data) == len(data)
    assert b.bus_retries == 1 and b.resyncs == 0
    frames = frames_of(sim.link.log, C.CMD_APPEND_CRC)
    seqs = [fr[1] for fr in frames]
    # The same frame went out again with the same seq (twice on the wire if the first
    # copy was delivered).
    want = list(range(1, 8))
    if when == "after":
        want.insert(frame + 1, frame + 1)
    assert seqs == want
    assert f.file_size() == len(data)
    assert f.read() == data
    assert stream_state(b) == (7, 0, len(data))


def test_bus_error_on_every_try_raises(sim):
    i2c = FaultyI2C(1, faults={k: "before" for k in range(4)})
    f = DaplinkFlash(DaplinkBridge(i2c))
    with pytest.raises(OSError) as ei:
        f.write(b"never")
    assert ei.value.errno == errno.EIO
    assert f.file_size() == 0
    f.write(b"later")  # the stream goes on from the target's last seq
    assert f.read() == b"later"


@pytest.mark.parametrize("frame", [0, 1, 3, 6])
def test_corrupted_frame_is_refused_and_resent(sim, frame):
    """A frame with a bad CRC: the target flags STREAM (0x40) and refuses it and the
    frames queued behind it (out of sequence); the driver drains the queue, reads
    STREAM_STATE and resumes after the last accepted frame."""
    i2c = FaultyI2C(1, faults={frame: "corrupt"})
    b = DaplinkBridge(i2c)
    f = DaplinkFlash(b)
    data = pattern(7 * 256)
    sim.link.log = []
    assert f.write(data) == len(data)
    assert b.resyncs == 1
    # The driver saw EXT_STATUS.ERROR and read ERRORS = STREAM | FAILED (0xC0), maybe
    # with QUEUE_FULL, and nothing else.
    errors = [e[4][0] for e in sim.link.log if e[1] == bytes([C.CMD_ERRORS])]
    assert len(errors) == 1 and errors[0] & ~C.ERR_QUEUE_FULL == 0xC0
    seqs = [fr[1] for fr in frames_of(sim.link.log, C.CMD_APPEND_CRC)]
    assert seqs[-(7 - frame) :] == list(range(frame + 1, 8))  # resumed at the refused one
    last, crc_errors, size = stream_state(b)
    assert (last, crc_errors, size) == (7, 1, len(data))
    assert b._error() == 0  # the STREAM bit was collected by the driver
    assert f.read() == data


def test_stream_error_named():
    from flashbridge import FlashBridgeError

    e = FlashBridgeError(C.ERR_STREAM | C.ERR_FAILED, "APPEND_CRC")
    assert str(e) == "APPEND_CRC: stream frame refused, last command failed (ERROR=0xC0)"


def test_file_full_is_not_retried(sim_factory, tmp_path):
    from test_flash import nearly_full_image
    from flashbridge import FlashBridgeError

    image = tmp_path / "w25.img"
    nearly_full_image(image, C.FILE_CAPACITY - 600)
    sim = sim_factory("--flash-image", str(image))
    b = DaplinkBridge(sim.i2c())
    f = DaplinkFlash(b)
    with pytest.raises(FlashBridgeError) as ei:
        f.write(bytes(1000))  # frames 1, 2 fit (512 bytes), frame 3 does not
    assert ei.value.bits & C.ERR_FILE_FULL
    assert "file full" in str(ei.value) and str(ei.value).startswith("APPEND_CRC: ")
    assert b.resyncs == 0
    assert f.file_size() == C.FILE_CAPACITY - 600 + 512


# ------------------------------------------------------------------------------
# Streaming reads
# ------------------------------------------------------------------------------


def test_stream_read_keeps_ff_bytes(sim, flash):
    data = b"\xff" * 300 + b"x" + b"\xff" * 256 + pattern(700) + b"\xff" * 3
    flash.write(data)
    sim.link.log = []
    assert flash.read() == data
    assert not frames_of(sim.link.log, C.CMD_READ_SECTOR)
    reqs = frames_of(sim.link.log, C.CMD_STREAM_READ)
    assert len(reqs) == 1 and len(reqs[0]) == 11
    assert reqs[0][1:9] == (0).to_bytes(4, "big") + len(data).to_bytes(4, "big")
    assert crc16(reqs[0][:9]) == int.from_bytes(reqs[0][9:], "big")
    chunks = [e[4] for e in sim.link.log if not e[1] and e[2]]
    sizes = [min(256, len(data) - at) + 4 for at in range(0, len(data), 256)]
    assert [len(c) for c in chunks] == sizes  # each chunk's exact size, data + 4
    assert [c[:2] for c in chunks] == [bytes([C.CHUNK_TAG, k]) for k in range(len(sizes))]
    for c in chunks:
        assert crc16(c[:-2]) == int.from_bytes(c[-2:], "big")


def test_stream_readinto_offsets(flash):
    data = pattern(3000, 7)
    flash.write(data)
    for offset, n in [(0, 3000), (1, 255), (255, 2), (256, 256), (700, 1500), (2999, 9)]:
        buf = bytearray(n)
        got = flash.readinto(buf, offset)
        want = data[offset : offset + n]
        assert got == len(want) and bytes(buf[:got]) == want
    assert flash.readinto(bytearray(4), 3000) == 0
    assert flash.read(10) == data[:10]


class ChunkFaultI2C(mpshim.I2C):
    """Spoils the k-th plain read (a chunk): flips a byte, or raises OSError."""

    def __init__(self, *args, faults=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.faults = dict(faults or {})
        self.n = 0

    def readfrom_into(self, addr, buf, stop=True):
        k = self.n
        self.n += 1
        fault = self.faults.pop(k, None)
        super().readfrom_into(addr, buf, stop)
        if fault == "corrupt":
            buf[7] ^= 0x01
        elif fault == "error":
            raise OSError(errno.EIO, "injected during a chunk")


@pytest.mark.parametrize("fault", ["corrupt", "error"])
@pytest.mark.parametrize("chunk", [0, 3])
def test_bad_chunk_restarts_from_its_offset(sim, fault, chunk):
    i2c = ChunkFaultI2C(1)
    b = DaplinkBridge(i2c)
    f = DaplinkFlash(b)
    data = pattern(5 * 256 + 40)
    f.write(data)
    i2c.n = 0
    i2c.faults = {chunk: fault}
    sim.link.log = []
    assert f.read() == data
    assert b.read_restarts == 1
    reqs = frames_of(sim.link.log, C.CMD_STREAM_READ)
    assert [int.from_bytes(r[1:5], "big") for r in reqs] == [0, chunk * 256]


# ------------------------------------------------------------------------------
# Fallback without the extension
# ------------------------------------------------------------------------------


def test_fallback_to_v1_paths_without_caps(sim):
    """flashbridge 1.1: the CAPS read is taken for an unknown command; the driver reads
    ERROR to clear the flag it caused and uses WRITE_DATA / READ_SECTOR."""
    b = DaplinkBridge(NoStreamI2C(1))
    f = DaplinkFlash(b)
    sim.link.log = []
    data = pattern(700) + b"\xff\xff"
    assert f.write(data) == len(data)
    assert not b.supports("stream") and not b.supports("append_crc")
    assert b.capabilities() == "v1.1"
    assert f.read() == data
    assert frames_of(sim.link.log, C.CMD_WRITE_DATA)
    assert frames_of(sim.link.log, C.CMD_READ_SECTOR)
    assert not frames_of(sim.link.log, C.CMD_APPEND_CRC)
    assert not frames_of(sim.link.log, C.CMD_STREAM_READ)
    assert b._error() == 0  # the probe's UNKNOWN_CMD was cleared


def test_fallback_keeps_an_earlier_error_for_the_caller(sim):
    from flashbridge import FlashBridgeError

    b = DaplinkBridge(NoStreamI2C(1))
    b._wait_busy()
    b._send(bytes([C.CMD_SET_FILENAME]) + b"a b     txt")  # bad name, not checked
    b._wait_busy()
    b.capabilities()
    assert not b.supports("stream")
    assert b._error() & C.ERR_BAD_NAME


@pytest.mark.parametrize(
    "frame",
    [
        bytes([0x12, 0x01, 0x61, 0x62, 0x63, 0xBA, 0xB7, 0x00]),  # 1.x frame + 00
        bytes([0x12, 0x01, 0x61, 0x62, 0x63, 0xBA, 0xB7, 0x00, 0x00]),
        bytes([0x12, 0x01, 0x02, 0x61, 0x62, 0x63, 0x45, 0x3B, 0x00]),  # 2.0 frame + 00
        bytes([0x12, 0x01, 0x02, 0x61, 0x62, 0x63, 0x45]),  # 2.0 frame, last byte lost
    ],
)
def test_frame_of_the_wrong_length_is_refused(sim, bridge, frame):
    """PROTOCOL.md test vectors: a frame lengthened or shortened on the bus is a STREAM
    error and appends nothing."""
    bridge.capabilities()
    bridge._send(frame)
    bridge._wait_busy()
    assert bridge._error() == C.ERR_STREAM | C.ERR_FAILED
    assert stream_state(bridge) == (0, 1, 0)


class CapsV1I2C(mpshim.I2C):
    """The simulated target with CAPS version 1 (protocol 1.x's APPEND_CRC frame, no
    length byte)."""

    def readfrom_mem_into(self, addr, reg, buf, *, addrsize=8):
        super().readfrom_mem_into(addr, reg, buf, addrsize=addrsize)
        if reg == C.CMD_CAPS and len(buf) >= C.CAPS_LEN:
            buf[2] = 1
            c = crc16(bytes(buf[:8]))
            buf[8], buf[9] = c >> 8, c & 0xFF


def test_caps_version_1_target_gets_v1_appends(sim):
    b = DaplinkBridge(CapsV1I2C(1))
    f = DaplinkFlash(b)
    sim.link.log = []
    assert f.write(b"abc" * 50) == 150
    assert b.supports("stream") and not b.supports("append_crc")
    assert not frames_of(sim.link.log, C.CMD_APPEND_CRC)
    assert frames_of(sim.link.log, C.CMD_WRITE_DATA)
    assert f.read() == b"abc" * 50


def test_fallback_on_v1_target(sim):
    """STeaMi v1 firmware (the v1 imitation): CAPS is read once, to tell it from a
    protocol 2.0 target whose idle STATUS also reads 0x00 (v1 answers 0xFF); no
    extension frame is ever sent."""
    from test_v1_target import V1View

    i2c = V1View(1)
    f = DaplinkFlash(DaplinkBridge(i2c))
    sim.link.log = []
    f.write(b"v1 data")
    assert f.read() == b"v1 data"
    assert not [e for e in sim.link.log if e[2] == 0 and e[1][:1] and e[1][0] in STREAM_CODES]
    assert len([e for e in sim.link.log if e[1] == bytes([C.CMD_CAPS])]) <= 1
    assert frames_of(sim.link.log, C.CMD_WRITE_DATA)


# ------------------------------------------------------------------------------
# Throughput
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("khz", [100, 400])
def test_throughput_64k(sim_factory, khz):
    """64 KiB written then read on the simulated board: payload bytes x 9 bits over
    the bus rate, divided by the virtual time taken, is at least 85 % both ways."""
    sim = sim_factory("--bus-khz", str(khz))
    _, bus_hz = sim.link.hello()
    assert bus_hz == khz * 1000
    f = DaplinkFlash(DaplinkBridge(sim.i2c()))
    f.write(b"w")  # detection and the first append after boot (metadata mount)
    data = pattern(64 * 1024, 3)
    ideal_ms = len(data) * 9 * 1000 / bus_hz
    t0 = sim.now_ms()
    assert f.write(data) == len(data)
    t1 = sim.now_ms()
    buf = bytearray(len(data))
    assert f.readinto(buf, 1) == len(data)
    t2 = sim.now_ms()
    assert bytes(buf) == data
    write_eff = ideal_ms / (t1 - t0)
    read_eff = ideal_ms / (t2 - t1)
    both_eff = 2 * ideal_ms / (t2 - t0)
    print(
        "%d kHz: write %.1f ms (%.1f %%), read %.1f ms (%.1f %%), both %.1f %%"
        % (khz, t1 - t0, 100 * write_eff, t2 - t1, 100 * read_eff, 100 * both_eff)
    )
    assert write_eff >= 0.85 and read_eff >= 0.85
