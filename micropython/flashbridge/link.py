# Link: the bus side of DaplinkBridge (bridge.py), split from it so that no module
# needs a large compile on a board: registers, STATUS polling, queued commands, v1
# frames, prepared reads, error collection.
#
# How it talks to the target (docs/PROTOCOL.md):
#   - registers (WHO_AM_I, STATUS, ERROR, GET_FILENAME, FILE_SIZE) are one write+read
#     transfer with a repeated start, answered at once;
#   - every other command is one write transfer of a fixed length, queued by the target
#     (QUEUE_DEPTH slots, the STATUS low nibble says how many are free);
#   - no fixed sleeps: STATUS is polled with a back-off that starts at 1 ms and doubles
#     up to a cap chosen for the operation, bounded by the datasheet worst case;
#   - every public operation returns with the target idle and its errors collected, so
#     a failure is raised by the call that caused it, naming the ERROR bits;
#   - replace_config() goes through the config transaction (BEGIN, CLEAR, WRITE...,
#     COMMIT) when the target has one, found once by sending CONFIG_BEGIN.
#   - with the streaming extension (CAPS register valid, read once): appends go as
#     APPEND_CRC frames of 256 bytes with a CRC and a sequence number, resent after a
#     bus error and resumed after a refused frame (go-back-N), and reads as one
#     STREAM_READ whose chunks are taken by plain reads; otherwise the v1 frames.

try:
    from time import sleep_ms, ticks_diff, ticks_ms
except ImportError:  # CPython without the MicroPython time functions
    import time as _t

    def sleep_ms(ms):
        _t.sleep(ms / 1000)

    def ticks_ms():
        return int(_t.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b


from .errors import EIO, FlashBridgeError, FlashBridgeTimeout
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x

# Protocol numbers from const.py, private so that MicroPython folds them into the
# code and keeps no global for them (tests/test_constants.py checks the values).
_CAPS_LEN = const(10)
_CAPS_MAGIC0 = const(0x46)
_CAPS_MAGIC1 = const(0x42)
_CMD_CAPS = const(0x83)
_CMD_ERROR = const(0x81)
_CMD_ERRORS = const(0x86)
_CMD_EXT_STATUS = const(0x85)
_CMD_STATUS = const(0x80)
_CMD_STREAM_STATE = const(0x84)
_CMD_WHO_AM_I = const(0x1)
_CONFIG_ERASED = const(0xff)
_ERR_FAILED = const(0x80)
_ERR_QUEUE_FULL = const(0x8)
_ERR_STREAM = const(0x40)
_EXT_CRC_INIT = const(0xffff)
_FRAME_MAX = const(32)
_I2C_ADDR = const(59)
_QUEUE_DEPTH = const(4)
_RESPONSE_LEN = const(256)
_STATUS_BUSY = const(0x80)
_STATUS_ERASING = const(0x10)
_STATUS_ERROR = const(0x40)
_STATUS_QUEUE_MASK = const(0x7)
_STATUS_READY = const(0x20)
_STREAM_STATE_LEN = const(7)
_WORST_ERASE_AHEAD_MS = const(2520)
_WORST_READ_MS = const(1)
_WORST_WRITE_DATA_MS = const(3268)

PROTO_V1 = "v1"  # STeaMi firmware: STATUS has BUSY only, no FILE_SIZE
PROTO_V1_1 = "v1.1"  # flashbridge 1.x: queue, READY/ERROR status bits, FILE_SIZE
# flashbridge protocol 2.0: STATUS reads 0x00/0x80 as v1 did; the same bits as v1.1 live
# in EXT_STATUS, failures accumulate in ERRORS (ERROR is the newest command's result).
PROTO_V2 = "v2.0"

# What each protocol level offers. Extensions beyond it: the config transaction
# ("config_txn"), found on first use by sending CONFIG_BEGIN (see _txn_begin); the
# streaming extension ("stream", with "append_crc" and "stream_read" for its two
# halves), found once by _probe_extensions() from the CAPS register.
_FEATURES = {
    PROTO_V1: (),
    PROTO_V1_1: ("queue", "ready", "status_error", "file_size"),
    PROTO_V2: ("queue", "ready", "status_error", "file_size"),
}

# Poll back-off caps (ms), one per kind of operation: reads and staged config changes
# finish within 1 ms, appends typically within 1 ms (400 ms when a sector must be
# erased), config stores ~1 ms (~90 ms when the journal is compacted, as every COMMIT
# is). While STATUS shows a background erase the cap is at least CAP_ERASE_MS: a command
# that is still busy after a few polls is most likely waiting behind an erase block.
CAP_READ_MS = 1
CAP_DATA_MS = 8
CAP_CONFIG_MS = 16
CAP_DEFAULT_MS = 8
CAP_ERASE_MS = 16

# Slack added to every budget for the bus time of the polls themselves.
_SLACK_MS = 20


def budget_ms(worst_ms, commands=1):
    """Time allowed for `commands` commands of worst case `worst_ms` to finish: their
    worst cases plus the background erase step the first may wait behind
    (_WORST_ERASE_AHEAD_MS), half as much again as margin, and _SLACK_MS for the polls."""
    return (_WORST_ERASE_AHEAD_MS + commands * worst_ms) * 3 // 2 + _SLACK_MS


# Budget when we do not know what the target has queued: a full queue of the slowest
# command behind an erase step.
UNKNOWN_BUDGET_MS = budget_ms(_WORST_WRITE_DATA_MS, _QUEUE_DEPTH)

# Streaming extension: go-back-N resumptions without progress (append.py) and restarts
# per read before the link is declared too bad to make progress; sends of one frame
# after bus errors (OSError from the I2C call) before giving up.
RESYNC_MAX = 16
RESTART_MAX = 16
FRAME_RETRIES = 3

# CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor), a nibble
# at a time: 16 entries instead of a 256-entry table.
_CRC_NIBBLE = (
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50A5, 0x60C6, 0x70E7,
    0x8108, 0x9129, 0xA14A, 0xB16B, 0xC18C, 0xD1AD, 0xE1CE, 0xF1EF,
)


def crc16(buf, crc=_EXT_CRC_INIT):
    """CRC-16/CCITT-FALSE of the bytes in `buf` (any bytes-like object), continuing
    from `crc`. crc16(b"123456789") == 0x29B1."""
    t = _CRC_NIBBLE
    for b in buf:
        crc = ((crc << 4) & 0xFFFF) ^ t[(crc >> 12) ^ (b >> 4)]
        crc = ((crc << 4) & 0xFFFF) ^ t[(crc >> 12) ^ (b & 0x0F)]
    return crc


def _crc_ok(mv, n):
    # The last two of the first n bytes of `mv` are the CRC of the ones before.
    crc = crc16(mv[: n - 2])
    return mv[n - 2] == crc >> 8 and mv[n - 1] == crc & 0xFF


def _recoverable(bits):
    # ERROR bits that lose a frame but not the stream: STREAM (bad CRC, out of
    # sequence) and QUEUE_FULL (a retry took a slot twice), with FAILED.
    fixable = _ERR_STREAM | _ERR_QUEUE_FULL
    return bool(bits & fixable) and not bits & ~(fixable | _ERR_FAILED)

class Link(object):
    """The I2C link to the target: what every operation needs (DaplinkBridge
    derives from it)."""

    def __init__(self, i2c, address=_I2C_ADDR):
        self.i2c = i2c
        self.address = address
        self._b1 = bytearray(1)  # register reads
        self._c1 = bytearray(1)  # one-byte commands (never shared with reads)
        self._b3 = bytearray(3)
        self._b4 = bytearray(4)
        self._frame = bytearray(_FRAME_MAX)
        self._fmv = memoryview(self._frame)
        self._sector = bytearray(_RESPONSE_LEN)
        self._smv = memoryview(self._sector)
        self._proto = None  # PROTO_V1 / PROTO_V1_1 / PROTO_V2 once an idle STATUS was seen
        self._ext = None  # extensions found by _probe_extensions(), once
        self._caps = None  # CAPS as read when it told a 2.0 target from a v1 one
        self._txn = None  # config transaction: None = not known yet, then True/False
        # Streaming extension, once CAPS was read and valid: largest payload per frame
        # or chunk (0 = no extension), queue depth; the STREAM_READ chunk buffer (261
        # bytes, allocated by the first streaming read) and the APPEND_CRC sender
        # (append.Appender, made by the first streaming append).
        self._xpayload = 0
        self._xdepth = 0
        self._xbuf = None
        self._xmv = None
        self._app = None
        self._log = None  # the open FlashLog, flushed before any other operation
        self._inlog = False  # True while the log itself is using the bus
        self._b7 = bytearray(_STREAM_STATE_LEN)
        # Counters of what the streaming paths had to repair (for tests and curious
        # users): frames resent after a bus error, go-back-N resumptions, read restarts.
        self.bus_retries = 0
        self.resyncs = 0
        self.read_restarts = 0
        self._idle = False  # the last STATUS read showed idle and nothing was sent since
        self.last_status = 0

    # --------------------------------------------------------------------------
    # Low level (same names as the v1 driver; kept for scripts that used them)
    # --------------------------------------------------------------------------

    def _read_reg(self, reg, n=1):
        # Read an n-byte register (repeated start). n == 1 gives an int.
        #
        # The buffer is filled with 0xFF first: when the register byte is not
        # acknowledged, MicroPython's soft I2C raises nothing and reads nothing
        # (extmod/machine_i2c.c, read_mem), so the result is then what a released bus
        # reads, never a stale value.
        if n == 1:
            b = self._b1
            b[0] = 0xFF
            self.i2c.readfrom_mem_into(self.address, reg, b)
            return b[0]
        buf = bytearray(b"\xff" * n)
        self.i2c.readfrom_mem_into(self.address, reg, buf)
        return bytes(buf)

    def _write_reg(self, reg, data):
        # Write [reg] + data as one transfer; OSError(EIO) if a byte is not
        # acknowledged (writeto_mem would not say: soft I2C reports no data NACK).
        self._send(bytes([reg]) + bytes(data))

    def _write_cmd(self, cmd):
        # Write a one-byte command.
        self._c1[0] = cmd
        self._send(self._c1)

    def _send(self, buf):
        # One write transfer; a NACKed byte is an OSError(EIO) like the mem functions.
        self._idle = False
        n = self.i2c.writeto(self.address, buf)
        if n is not None and n < len(buf):
            raise OSError(EIO, "I2C: byte %d of %d not acknowledged" % (n, len(buf)))

    # --------------------------------------------------------------------------
    # Identification, status, error
    # --------------------------------------------------------------------------

    def device_id(self):
        """WHO_AM_I register; 0x4C for flashbridge and STeaMi targets."""
        return self._read_reg(_CMD_WHO_AM_I)

    def _status(self):
        # The status with the extension's bits: EXT_STATUS on a protocol 2.0 target,
        # else the raw STATUS register.
        st = self._read_reg(_CMD_EXT_STATUS if self._proto == PROTO_V2 else _CMD_STATUS)
        if st == 0 and self._proto is None:
            # Idle without extension bits: v1 firmware, or 2.0 with them in EXT_STATUS.
            if self._caps_valid():
                self._proto = PROTO_V2
                self._caps = bytes(self._smv[:_CAPS_LEN])  # for _probe_extensions
                st = self._read_reg(_CMD_EXT_STATUS)
            else:
                self._proto = PROTO_V1
        self.last_status = st
        return st

    def _error(self):
        # Raw ERROR register (reading clears the bits returned).
        return self._read_reg(_CMD_ERROR)

    def _errors(self):
        # The failure bits the driver collects: ERRORS (every failure since its last
        # read) on a protocol 2.0 target, ERROR on older ones. Reading clears them.
        return self._read_reg(_CMD_ERRORS if self._proto == PROTO_V2 else _CMD_ERROR)

    def _caps_valid(self):
        # Read CAPS into the sector buffer; True if its magic and CRC match.
        caps = self._sector  # 256 bytes, free between operations
        cmv = self._smv[:_CAPS_LEN]
        self.i2c.readfrom_mem_into(self.address, _CMD_CAPS, cmv)
        payload = caps[4] << 8 | caps[5]
        return (
            caps[0] == _CAPS_MAGIC0
            and caps[1] == _CAPS_MAGIC1
            and _crc_ok(cmv, _CAPS_LEN)
            and caps[2] >= 1
            and payload >= 1
            and caps[6] >= 1
        )

    def busy(self):
        """True while the target has commands queued or running."""
        return bool(self._status() & _STATUS_BUSY)

    def _wait_busy(self, timeout_ms=30000):
        # Wait until the target is idle; FlashBridgeTimeout (an OSError) after timeout_ms.
        self._wait("wait_busy", timeout_ms, CAP_DEFAULT_MS)

    # --------------------------------------------------------------------------
    # Waiting and error collection
    # --------------------------------------------------------------------------

    def _wait(self, op, budget, cap_ms, slot=False):
        # Poll STATUS until the target is idle (slot=False) or has a free queue slot
        # (slot=True). Back-off 1, 2, 4 ... cap_ms ms between polls; FlashBridgeTimeout
        # when `budget` ms have passed. Returns the last STATUS.
        st = self._status()
        if not self._done(st, slot):
            start = ticks_ms()
            delay = 1
            while True:
                waited = ticks_diff(ticks_ms(), start)
                if waited >= budget:
                    raise FlashBridgeTimeout(op, waited, st)
                sleep_ms(min(delay, budget - waited))
                cap = cap_ms
                if st & _STATUS_ERASING and cap < CAP_ERASE_MS:
                    cap = CAP_ERASE_MS  # probably queued behind a background erase block
                if delay < cap:
                    delay = min(delay * 2, cap)
                st = self._status()
                if self._done(st, slot):
                    break
        if not st & _STATUS_BUSY:
            self._idle = True
            if self._proto is None:
                self._proto = PROTO_V1_1 if st & _STATUS_QUEUE_MASK else PROTO_V1
        elif st & _STATUS_QUEUE_MASK and self._proto is None:
            self._proto = PROTO_V1_1  # v1 never sets the low nibble
        return st

    @staticmethod
    def _done(st, slot):
        if not st & _STATUS_BUSY:
            return True
        return slot and (st & _STATUS_QUEUE_MASK) != 0

    def _check(self, op, st):
        # Raise FlashBridgeError if the target has error bits set. flashbridge flags
        # them in STATUS, so ERROR is only read when there is something to read; a v1
        # target has no such flag and ERROR is always read (as the v1 driver did).
        if self._proto in (PROTO_V1_1, PROTO_V2) and not st & _STATUS_ERROR:
            return
        bits = self._errors()
        if bits:
            raise FlashBridgeError(bits, op)

    def _yield_log(self):
        # Another operation is about to use the target while a FlashLog is open:
        # flush the log first, so that bytes reach the file in the order they were
        # given, and let it read STREAM_STATE again before its next frame.
        log = self._log
        if log is not None and not self._inlog:
            log.flush()
            log._stale = True

    def _settle(self, op):
        # Make sure nothing is queued (cheap when we already know it).
        if self._log is not None:
            self._yield_log()
        if not self._idle:
            self._wait(op, UNKNOWN_BUDGET_MS, CAP_DEFAULT_MS)

    def _command(self, op, buf, worst_ms, cap_ms):
        # Send one queued command, wait until the target is idle, raise its errors.
        # Returns the final STATUS.
        if self._log is not None:
            self._yield_log()
        unknown = False
        if not self._idle:
            unknown = self._wait(op, UNKNOWN_BUDGET_MS, CAP_DEFAULT_MS, True) & _STATUS_BUSY
        self._send(buf)
        st = self._wait(op, UNKNOWN_BUDGET_MS if unknown else budget_ms(worst_ms), cap_ms)
        self._check(op, st)
        return st

    def _stream(self, op, cmd, mv, offset, worst_ms, cap_ms):
        # Send memoryview `mv` as v1 32-byte frames (frames.py: WRITE_DATA when
        # `offset` is None, else WRITE_CONFIG from that config offset).
        if self._log is not None:
            self._yield_log()
        from .frames import stream

        return stream(self, op, cmd, mv, offset, worst_ms, cap_ms)

    def _prepared_read(self, op, cmd, arg, into):
        # READ_SECTOR / READ_CONFIG: send the request, poll STATUS until it has run,
        # then take the prepared response with a plain read into `into` (up to 256
        # bytes, a writable buffer).
        b = self._b3
        b[0] = cmd
        b[1] = arg >> 8
        b[2] = arg & 0xFF
        st = self._command(op, b, _WORST_READ_MS, CAP_READ_MS)
        if self._proto != PROTO_V1 and not st & _STATUS_READY:
            raise FlashBridgeError(0, op, "no response prepared (STATUS=0x%02X)" % st)
        self.i2c.readfrom_into(self.address, into)

    # --------------------------------------------------------------------------
    # Streaming extension (docs/PROTOCOL.md "Streaming extension")
    # --------------------------------------------------------------------------

    def _stream_state(self):
        # STREAM_STATE register: (last accepted APPEND_CRC seq, file size).
        b = self._b7
        self.i2c.readfrom_mem_into(self.address, _CMD_STREAM_STATE, b)
        return b[0], (b[3] << 24) | (b[4] << 16) | (b[5] << 8) | b[6]

    def _collect(self, op, st):
        # After a STATUS with ERROR set: read the error bits (ERRORS on 2.0). Returns
        # them if they only say a frame was refused (go back and resend), raises
        # FlashBridgeError otherwise.
        bits = self._errors()
        if bits and not _recoverable(bits):
            raise FlashBridgeError(bits, op)
        return bits


def _find_erased(buf):
    # Index of the first erased (0xFF) byte in buf, len(buf) if none.
    i = 0
    n = len(buf)
    while i < n:
        if buf[i] == _CONFIG_ERASED:
            return i
        i += 1
    return n
