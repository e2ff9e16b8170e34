"""DaplinkFlash against the simulated board: filename, appends, reads, error paths."""
import pytest

from flashbridge import DaplinkFlash, FlashBridgeError
from flashbridge import const as C


def test_default_filename(flash):
    assert flash.get_filename() == ("DATA", "CSV")


def test_set_filename_upper_cases_and_pads(flash):
    flash.set_filename("log", "txt")
    assert flash.get_filename() == ("LOG", "TXT")
    flash.set_filename("ABCDEFGH", "C")
    assert flash.get_filename() == ("ABCDEFGH", "C")


def test_set_filename_cuts_long_parts_like_v1(flash):
    flash.set_filename("temperature", "json")
    assert flash.get_filename() == ("TEMPERAT", "JSO")


def test_set_filename_wire_frame(sim, flash):
    sim.link.log = []
    flash.set_filename("a1", "b")
    frames = [e[1] for e in sim.link.log if e[1][:1] == bytes([C.CMD_SET_FILENAME])]
    assert frames == [bytes([C.CMD_SET_FILENAME]) + b"A1      B  "]


@pytest.mark.parametrize(
    "name,ext",
    [("BAD+NAME", "CSV"), ("", "CSV"), ("A.B", "CSV"), ("A*", "TXT"), ("OK", "C;V")],
)
def test_bad_filename_raises_naming_the_bit(flash, name, ext):
    with pytest.raises(FlashBridgeError) as ei:
        flash.set_filename(name, ext)
    e = ei.value
    assert e.bits == C.ERR_BAD_NAME | C.ERR_FAILED
    assert str(e) == "SET_FILENAME: bad filename, last command failed (ERROR=0x82)"
    # The name is unchanged and the error was consumed.
    assert flash.get_filename() == ("DATA", "CSV")
    flash.set_filename("next", "csv")
    assert flash.get_filename() == ("NEXT", "CSV")


def test_name_survives_power_cycle(sim, flash):
    flash.set_filename("keep", "dat")
    sim.power_cycle()
    assert DaplinkFlash(flash._bridge).get_filename() == ("KEEP", "DAT")


@pytest.mark.parametrize("size", [0, 1, 29, 30, 31, 59, 60, 61, 119, 120, 121, 1000])
def test_write_sizes_read_back(flash, size):
    data = bytes((i * 7 + 3) & 0xFF for i in range(size))
    assert flash.write(data) == size
    assert flash.file_size() == size
    assert flash.read() == data


def test_write_accepts_str_bytearray_memoryview(flash):
    assert flash.write("héllo ") == len("héllo ".encode())
    assert flash.write(bytearray(b"ba ")) == 3
    assert flash.write(memoryview(b"xxmvxx")[2:4]) == 2
    assert flash.read() == "héllo ".encode() + b"ba mv"


def test_write_line(flash):
    assert flash.write_line("a,b,c") == 6
    assert flash.write_line(b"\xff\x00") == 3
    assert flash.read() == b"a,b,c\n\xff\x00\n"


def test_write_frames_are_32_bytes_and_queue_aware(sim, flash_v11):
    """Without the streaming extension (flashbridge 1.1): WRITE_DATA frames."""
    flash = flash_v11
    flash.write(b"warm-up")  # the first append after boot mounts metadata
    sim.link.log = []
    data = bytes(range(256)) * 3  # 768 bytes: 26 frames
    flash.write(data)
    run = longest = frames = 0
    for addr, w, rlen, status, r in sim.link.log:
        if w[:1] == bytes([C.CMD_WRITE_DATA]):
            assert len(w) == C.FRAME_MAX and w[1] <= C.WRITE_DATA_MAX
            frames += 1
            run += 1
            longest = max(longest, run)
        else:
            assert w == bytes([C.CMD_EXT_STATUS]), w  # only EXT_STATUS polls in between
            run = 0
    assert frames == 26
    assert longest == C.QUEUE_DEPTH
    assert flash.read() == b"warm-up" + data


def test_last_frame_zero_padded(sim, flash_v11):
    flash = flash_v11
    sim.link.log = []
    flash.write(b"abc")
    frames = [e[1] for e in sim.link.log if e[1][:1] == bytes([C.CMD_WRITE_DATA])]
    assert frames == [bytes([C.CMD_WRITE_DATA, 3]) + b"abc" + bytes(27)]


def test_clear_flash(flash):
    flash.write(b"something")
    flash.clear_flash()
    assert flash.file_size() == 0
    assert flash.read() == b""
    flash.write(b"new")
    assert flash.read() == b"new"


def test_read_sector(flash):
    data = bytes(range(256)) + b"tail"
    flash.write(data)
    assert flash.read_sector(0) == bytes(range(256))
    s1 = flash.read_sector(1)
    assert len(s1) == 256 and s1[:4] == b"tail" and s1[4:] == b"\xff" * 252
    assert flash.read_sector(100) == b"\xff" * 256


def test_read_sector_index_past_range(flash):
    with pytest.raises(FlashBridgeError) as ei:
        flash.read_sector(C.SECTOR_INDEX_MAX + 1)
    assert ei.value.bits == C.ERR_BAD_PARAM | C.ERR_FAILED
    assert "READ_SECTOR: bad parameter, last command failed" in str(ei.value)
    with pytest.raises(ValueError):
        flash.read_sector(-1)
    with pytest.raises(ValueError):
        flash.read_sector(0x10000)


def test_read_length(flash):
    data = bytes(range(200)) * 3
    flash.write(data)
    assert flash.read(0) == b""
    assert flash.read(10) == data[:10]
    assert flash.read(300) == data[:300]
    assert flash.read(10000) == data  # clamped to the file size


def test_read_keeps_ff_bytes(flash):
    data = b"\xff" * 300 + b"x" + b"\xff" * 5
    flash.write(data)
    assert flash.read() == data


def test_readinto_offsets(flash):
    data = bytes((i * 13) & 0xFF for i in range(1000))
    flash.write(data)
    for offset, n in [(0, 1000), (0, 256), (5, 10), (250, 20), (256, 256), (700, 500), (999, 4)]:
        buf = bytearray(n)
        got = flash.readinto(buf, offset)
        want = data[offset : offset + n]
        assert got == len(want)
        assert bytes(buf[:got]) == want
    assert flash.readinto(bytearray(8), 1000) == 0


def test_read_takes_bus_time_not_sleeps(sim, flash):
    """v1 slept 200 ms per sector; here a sector costs its bus time and little else."""
    _, bus_hz = sim.link.hello()
    flash.write(bytes(1024))
    t0 = sim.now_ms()
    flash.read()
    elapsed = sim.now_ms() - t0
    bus_ms = 4 * (1 + 9 + 9 * 256 + 1) * 1000 / bus_hz
    assert elapsed < bus_ms + 4 * 3


def _crc16_ccitt_false(data):
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _meta_record(kind, payload):
    rec = bytes([kind]) + payload.ljust(11, b"\0") + b"\0\0"
    return rec + _crc16_ccitt_false(rec).to_bytes(2, "big")


def nearly_full_image(path, size):
    """A W25Q64 image whose metadata log (docs/STORAGE.md) says the file holds `size`
    bytes, so FILE_FULL can be reached without 8 MB of appends."""
    image = bytearray(b"\xff" * C.FLASH_SIZE)
    meta = C.FLASH_SIZE - C.META_SECTORS * C.ERASE_SECTOR
    header = _meta_record(0x48, (1).to_bytes(4, "big") + b"FBM1")
    record = _meta_record(0x53, size.to_bytes(4, "big"))
    image[meta : meta + 16] = header
    image[meta + 16 : meta + 32] = record
    path.write_bytes(bytes(image))


@pytest.mark.parametrize("op", ["APPEND_CRC", "WRITE_DATA"])
def test_file_full(sim_factory, tmp_path, op):
    import mpshim
    from conftest import NoStreamI2C
    from flashbridge import DaplinkBridge

    image = tmp_path / "w25.img"
    nearly_full_image(image, C.FILE_CAPACITY - 40)
    sim = sim_factory("--flash-image", str(image))
    i2c = mpshim.I2C(1) if op == "APPEND_CRC" else NoStreamI2C(1)
    f = DaplinkFlash(DaplinkBridge(i2c))
    assert f.file_size() == C.FILE_CAPACITY - 40
    assert f.write(b"a" * 30) == 30
    with pytest.raises(FlashBridgeError) as ei:
        f.write(b"b" * 11)  # 10 bytes left
    assert ei.value.bits == C.ERR_FILE_FULL | C.ERR_FAILED
    assert str(ei.value) == op + ": file full, last command failed (ERROR=0x84)"
    assert f.file_size() == C.FILE_CAPACITY - 10  # nothing appended
    assert f.write(b"c" * 10) == 10
    assert f.file_size() == C.FILE_CAPACITY
    assert f.read_sector(C.FILE_CAPACITY // 256 - 1)[-10:] == b"c" * 10


def test_data_survives_power_cycle(sim, flash):
    flash.write(b"before cut\xff")
    sim.power_cycle()
    f2 = DaplinkFlash(flash._bridge)
    assert f2.file_size() == 11
    assert f2.read() == b"before cut\xff"
    f2.write(b"after")
    assert f2.read() == b"before cut\xffafter"


def test_flash_accepts_i2c_like_old_scripts(sim):
    f = DaplinkFlash(sim.i2c())
    f.write(b"x")
    assert f.read() == b"x"
    f.replace_config(b"cfg")
    assert f.read_config() == b"cfg"
    f.clear_config()
    f.write_config(b"abc", 0)
    assert f.read_config() == b"abc"


def test_write_reuses_one_frame_buffer(sim):
    """Frames are built in one preallocated 32-byte buffer, data sliced through a
    memoryview: no per-frame allocation. (Without the extension; with it, see
    test_stream.py.)"""
    from conftest import NoStreamI2C

    seen = []

    class Recording(NoStreamI2C):
        def writeto(self, addr, buf, stop=True):
            if buf[0] == C.CMD_WRITE_DATA:
                seen.append((id(buf), type(buf).__name__, len(buf)))
            return super().writeto(addr, buf, stop)

    from flashbridge import DaplinkBridge

    f = DaplinkFlash(DaplinkBridge(Recording(1)))
    f.write(bytes(300))
    f.write_line("second call")
    assert len(seen) == 11
    assert len(set(seen)) == 1 and seen[0][1:] == ("bytearray", C.FRAME_MAX)
