# DaplinkFlash: the append-only data file on the target's SPI flash (same API as the
# STeaMi driver).
from .bridge import DaplinkBridge
from .link import CAP_DATA_MS, CAP_DEFAULT_MS, _find_erased
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x

# Protocol numbers from const.py, private so that MicroPython folds them into the
# code and keeps no global for them (tests/test_constants.py checks the values).
_CMD_CLEAR_FLASH = const(0x10)
_CMD_FILE_SIZE = const(0x82)
_CMD_GET_FILENAME = const(0x4)
_CMD_READ_SECTOR = const(0x20)
_CMD_SET_FILENAME = const(0x3)
_CMD_WRITE_DATA = const(0x11)
_FILENAME_LEN = const(11)
_FILE_CAPACITY = const(8380416)
_SECTOR_INDEX_MAX = const(32767)
_SECTOR_SIZE = const(256)
_WORST_META_MS = const(520)
_WORST_WRITE_DATA_MS = const(3268)

_NAME_LEN = 8
_EXT_LEN = 3
_MAX_SECTORS = _SECTOR_INDEX_MAX + 1


class DaplinkFlash(object):
    """The target's data file: 8.3 name, append, read back.

    Args:
        bridge: a DaplinkBridge. (An I2C object is accepted too, as some older STeaMi
            scripts passed one; a DaplinkBridge is then made for it.)
    """

    def __init__(self, bridge):
        if not isinstance(bridge, DaplinkBridge) and hasattr(bridge, "readfrom_mem"):
            bridge = DaplinkBridge(bridge)
        self._bridge = bridge
        self._has_size = None  # FILE_SIZE register answered? found once

    # --------------------------------------------------------------------------
    # Filename
    # --------------------------------------------------------------------------

    def set_filename(self, name, ext):
        """Set the 8.3 name. As in v1, both parts are upper-cased and cut to 8 and 3
        characters. An invalid name raises FlashBridgeError naming "bad filename"."""
        n = name.upper().encode()[:_NAME_LEN]
        e = ext.upper().encode()[:_EXT_LEN]
        frame = self._bridge._frame
        frame[0] = _CMD_SET_FILENAME
        for i in range(_FILENAME_LEN):
            frame[1 + i] = 0x20
        frame[1 : 1 + len(n)] = n
        frame[1 + _NAME_LEN : 1 + _NAME_LEN + len(e)] = e
        self._bridge._command(
            "SET_FILENAME", self._bridge._fmv[: 1 + _FILENAME_LEN], _WORST_META_MS, CAP_DEFAULT_MS
        )

    def get_filename(self):
        """Current name as (name, ext), trailing spaces removed."""
        b = self._bridge
        b._settle("GET_FILENAME")
        raw = b._read_reg(_CMD_GET_FILENAME, _FILENAME_LEN)
        name = bytes(raw[:_NAME_LEN]).decode().rstrip()
        ext = bytes(raw[_NAME_LEN:_FILENAME_LEN]).decode().rstrip()
        return (name, ext)

    # --------------------------------------------------------------------------
    # Writing
    # --------------------------------------------------------------------------

    def clear_flash(self):
        """Empty the data file (returns once the target has done it)."""
        b = self._bridge
        b._c1[0] = _CMD_CLEAR_FLASH
        b._command("CLEAR_FLASH", b._c1, _WORST_META_MS, CAP_DEFAULT_MS)

    def write(self, data):
        """Append bytes (or a str, UTF-8) to the file; returns the number of bytes
        written. Returns once the target has stored them; a failure (file full, flash
        error) raises FlashBridgeError.

        With the streaming extension: APPEND_CRC frames of up to 256 bytes with a CRC and
        a sequence number, resent after a bus error without being appended twice;
        otherwise (v1, flashbridge 1.1) 30-byte WRITE_DATA frames."""
        if isinstance(data, str):
            data = data.encode()
        mv = memoryview(data)
        if not len(mv):
            return 0
        b = self._bridge
        if b._ext is None:
            b.capabilities()
        if "append_crc" in b._ext and b._xpayload:
            return b._append_crc("APPEND_CRC", mv)
        b._stream(
            "WRITE_DATA", _CMD_WRITE_DATA, mv, None, _WORST_WRITE_DATA_MS, CAP_DATA_MS
        )
        return len(mv)

    def write_line(self, text):
        """Append text and a newline; returns the number of bytes written."""
        if isinstance(text, str):
            return self.write(text + "\n")
        return self.write(bytes(text) + b"\n")

    def log(self, delay_ms=1000):
        """A FlashLog on the file: write()/write_line() a line at a time at the bus
        limit, coalesced into full frames; flush()/close() put it on flash (see the
        README, "Logging line by line"). Loads flashbridge/log.py on first use."""
        return self._bridge.log(delay_ms)

    # --------------------------------------------------------------------------
    # Reading
    # --------------------------------------------------------------------------

    def file_size(self):
        """Size of the file in bytes from the FILE_SIZE register, or None when the
        target does not have it (STeaMi v1 firmware)."""
        b = self._bridge
        if self._has_size is None:
            self._has_size = b.supports("file_size")
        if not self._has_size:
            return None
        b._settle("FILE_SIZE")
        raw = b._b4
        # 0xFF first, as _read_reg does: a register byte that soft I2C saw NACKed
        # reads as a released bus (not a size), never as the previous size.
        raw[0] = raw[1] = raw[2] = raw[3] = 0xFF
        try:
            b.i2c.readfrom_mem_into(b.address, _CMD_FILE_SIZE, raw)
        except OSError:
            self._has_size = False
            return None
        size = (raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]
        if size > _FILE_CAPACITY:  # not a size: the register is not there
            self._has_size = False
            return None
        return size

    def read_sector(self, sector):
        """The 256 file bytes [256*sector, 256*sector + 256); bytes past the end of
        the file read as 0xFF."""
        b = self._bridge
        if sector < 0 or sector > 0xFFFF:
            raise ValueError("sector out of range: {}".format(sector))
        b._prepared_read("READ_SECTOR", _CMD_READ_SECTOR, sector, b._sector)
        return bytes(b._sector)

    def readinto(self, buf, offset=0):
        """Read file bytes from `offset` into the writable buffer `buf` without any
        intermediate copy of the whole; returns the number of bytes read (fewer than
        len(buf) at the end of the file when its size is known). With the streaming
        extension: one STREAM_READ and 256-byte chunks checked by their CRC; otherwise
        READ_SECTOR per 256 bytes."""
        mv = memoryview(buf)
        n = len(mv)
        size = self.file_size()
        if size is not None:
            if offset >= size:
                return 0
            if n > size - offset:
                n = size - offset
        if n <= 0:
            return 0
        return self._fill(mv, offset, n)

    def _fill(self, mv, offset, n):
        # Read n file bytes from `offset` into memoryview `mv` (n known to be there).
        b = self._bridge
        if b._ext is None:
            b.capabilities()
        if "stream_read" in b._ext and b._xpayload:
            return b._stream_read("STREAM_READ", offset, mv[:n])
        smv = b._smv
        pos = 0
        while pos < n:
            sector = offset // _SECTOR_SIZE
            within = offset % _SECTOR_SIZE
            k = _SECTOR_SIZE - within
            if k > n - pos:
                k = n - pos
            if within == 0:
                # The plain read returns the response from its first byte: read just
                # the k bytes wanted, straight into the caller's buffer.
                b._prepared_read("READ_SECTOR", _CMD_READ_SECTOR, sector, mv[pos : pos + k])
            else:
                b._prepared_read("READ_SECTOR", _CMD_READ_SECTOR, sector, smv[: within + k])
                mv[pos : pos + k] = smv[within : within + k]
            pos += k
            offset += k
        return n

    def read(self, length=None):
        """Read the file from its start; returns a bytearray (bytes-like, equal to the
        bytes it holds), the only allocation of the file's size: a bytes copy would
        take as much again, which a board with a small heap may not have.

        length None: the whole file, exactly (from the FILE_SIZE register; 0xFF bytes in
        the data are kept). length n: the first n bytes, or fewer if the file is
        shorter. On a v1 target without FILE_SIZE the v1 rules apply: without a length,
        up to the first 0xFF byte; with one, n bytes whatever they are.
        """
        if length is not None and length <= 0:
            return bytearray()
        size = self.file_size()
        if size is None:
            return self._read_v1(length)
        if length is None or length > size:
            length = size
        buf = bytearray(length)
        if length:
            self._fill(memoryview(buf), 0, length)
        return buf

    def _read_v1(self, length):
        b = self._bridge
        if length is not None:
            # n bytes whatever they are (v1): the result is allocated once, the sectors
            # are read into it.
            out = bytearray(length)
            self._fill(memoryview(out), 0, length)
            return out
        # Up to the first 0xFF: the size is found while reading, the result grows.
        out = bytearray()
        sector = 0
        while sector < _MAX_SECTORS:
            b._prepared_read("READ_SECTOR", _CMD_READ_SECTOR, sector, b._sector)
            end = _find_erased(b._sector)
            out.extend(b._smv[:end])
            if end < _SECTOR_SIZE:
                break
            sector += 1
        return out

    # --------------------------------------------------------------------------
    # Config zone (older STeaMi scripts reached it through DaplinkFlash)
    # --------------------------------------------------------------------------

    def clear_config(self):
        self._bridge.clear_config()

    def write_config(self, data, offset=0):
        self._bridge.write_config(data, offset)

    def read_config(self):
        return self._bridge.read_config()

    def replace_config(self, data):
        self._bridge.replace_config(data)
