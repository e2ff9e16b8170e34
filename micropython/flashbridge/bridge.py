# DaplinkBridge: the bus side of the flashbridge driver (same API as the STeaMi driver).
#
# Its base class, Link (link.py), holds registers, polling, queued commands and error
# collection; here: finding what the target offers, and the config zone. To fit boards
# with a small heap, what is not always needed lives in modules imported on first use:
# append.py (APPEND_CRC frames), readstream.py (STREAM_READ), txn.py (the config
# transaction), log.py (FlashLog, line-by-line logging).
from .link import (  # noqa: F401 (also for scripts that took them from here)
    CAP_CONFIG_MS,
    CAP_DEFAULT_MS,
    CAP_READ_MS,
    PROTO_V1,
    PROTO_V1_1,
    PROTO_V2,
    UNKNOWN_BUDGET_MS,
    Link,
    _FEATURES,
    _find_erased,
    budget_ms,
    crc16,
)
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# Protocol numbers from const.py, private so that MicroPython folds them into the
# code and keeps no global for them (tests/test_constants.py checks the values).
_CAPS_LEN = const(10)
_CMD_CLEAR_CONFIG = const(0x32)
_CMD_CONFIG_ABORT = const(0x35)
_CMD_READ_CONFIG = const(0x31)
_CMD_WRITE_CONFIG = const(0x30)
_CONFIG_SIZE = const(1024)
_EXT_PAYLOAD_MAX = const(256)
_EXT_VERSION = const(2)
_FEAT_APPEND_CRC = const(0x1)
_FEAT_STREAM_READ = const(0x2)
_QUEUE_DEPTH = const(4)
_RESPONSE_LEN = const(256)
_STATUS_ERROR = const(0x40)
_WORST_CONFIG_MS = const(117)
_WORST_STAGED_MS = const(1)


class DaplinkBridge(Link):
    """Low-level I2C link to the flashbridge (or STeaMi v1) target.

    Args:
        i2c: a machine.I2C (or SoftI2C) instance.
        address: 7-bit target address, 0x3B by default.
    """

    # --------------------------------------------------------------------------
    # Capabilities
    # --------------------------------------------------------------------------

    def capabilities(self):
        """Protocol level of the target: "v1.1" (flashbridge) or "v1" (STeaMi firmware).

        Found once, from an idle STATUS: flashbridge 1.x reports free queue slots in the
        low nibble; an idle STATUS of 0x00 is v1 firmware or a protocol 2.0 target
        ("v2.0"), told apart by the CAPS register (read once; a v1 target answers it
        with 0xFF).
        """
        if self._ext is None:
            if self._proto is None:
                self._wait("probe", UNKNOWN_BUDGET_MS, CAP_DEFAULT_MS)
            self._ext = self._probe_extensions()
        return self._proto

    def _probe_extensions(self):
        # Protocol extensions newer than v1.1 that can be found without side effects:
        # the streaming extension, from the CAPS register (0x83), asked once.
        #
        # The extension is there only if the magic "FB" and the CRC match. A flashbridge
        # target without it takes the byte 0x83 for a command and flags UNKNOWN_CMD: the
        # driver waits for that and reads ERROR to clear it, unless an error was already
        # pending (that one is for the next call to report). A STeaMi v1 target predates
        # the extension and is not asked. The config transaction is found on first use
        # instead (_txn_begin).
        if self._proto not in (PROTO_V1_1, PROTO_V2):
            return ()
        st0 = self._status()
        caps = self._sector
        self._idle = False
        if self._caps is not None:  # read when the protocol level was found: constant
            caps[:_CAPS_LEN] = self._caps
            valid = True
        else:
            valid = self._caps_valid()
        payload = caps[4] << 8 | caps[5]
        if valid and caps[3] & (_FEAT_APPEND_CRC | _FEAT_STREAM_READ):
            self._idle = True  # a register read: nothing was queued
            self._xpayload = payload if payload < _EXT_PAYLOAD_MAX else _EXT_PAYLOAD_MAX
            self._xdepth = caps[6] if caps[6] < _QUEUE_DEPTH else _QUEUE_DEPTH
            found = ["stream"]
            # CAPS version 1 framed APPEND_CRC without its length (a frame with bytes
            # after its CRC passed the check there): such a target gets v1 appends.
            if caps[3] & _FEAT_APPEND_CRC and caps[2] >= _EXT_VERSION:
                found.append("append_crc")
            if caps[3] & _FEAT_STREAM_READ:
                found.append("stream_read")
            return tuple(found)
        if self._proto == PROTO_V2:
            self._idle = True  # 2.0 knows CAPS: a register read, nothing queued
            return ()
        st = self._wait("CAPS", UNKNOWN_BUDGET_MS, CAP_READ_MS)
        if st & _STATUS_ERROR and not st0 & _STATUS_ERROR:
            self._error()
        return ()

    def supports(self, feature):
        """True if the target offers `feature` ("queue", "ready", "status_error",
        "file_size", "config_txn", "stream", "append_crc", "stream_read").

        The first question about "config_txn" asks the target: CONFIG_BEGIN, then
        CONFIG_ABORT if it was accepted (nothing stored either way)."""
        proto = self.capabilities()
        if feature in _FEATURES[proto] or feature in self._ext:
            return True
        if feature == "config_txn":
            if self._txn is None:
                from .txn import txn_begin

                if txn_begin(self):
                    self._c1[0] = _CMD_CONFIG_ABORT
                    self._command("CONFIG_ABORT", self._c1, _WORST_STAGED_MS, CAP_READ_MS)
            return bool(self._txn)
        return False

    def _appender(self):
        # The APPEND_CRC sender (append.py), made once.
        if self._app is None:
            from .append import Appender

            self._app = Appender(self)
        return self._app

    def _append_crc(self, op, mv):
        # Append the bytes of memoryview `mv` as APPEND_CRC frames of up to the CAPS
        # payload (256), numbered from the target's last accepted seq + 1 (STREAM_STATE),
        # pipelined on queue credits, resent after a bus error or a refusal (go-back-N).
        # At the end: idle, and STREAM_STATE must show the last frame and the full size.
        if self._log is not None:
            self._yield_log()
        return self._appender().append(op, mv)

    def _stream_read(self, op, offset, mv):
        # Read len(mv) file bytes from `offset` into memoryview `mv` (STREAM_READ).
        from .readstream import stream_read

        return stream_read(self, op, offset, mv)

    def log(self, delay_ms=1000):
        """A FlashLog on this target's data file: line-by-line logging at the bus
        limit (flashbridge/log.py; the README says what is on flash when)."""
        from .log import FlashLog

        return FlashLog(self, delay_ms)

    # --------------------------------------------------------------------------
    # Config zone (1 KB in the target's internal flash)
    # --------------------------------------------------------------------------

    def clear_config(self):
        """Erase the config zone (all 0xFF)."""
        self._c1[0] = _CMD_CLEAR_CONFIG
        self._command("CLEAR_CONFIG", self._c1, _WORST_CONFIG_MS, CAP_CONFIG_MS)

    def write_config(self, data, offset=0):
        """Write bytes (or a str, UTF-8) into the config zone at `offset` (0-1023).

        ValueError if it does not fit (checked before anything is sent, as in v1).
        """
        if isinstance(data, str):
            data = data.encode()
        length = len(data)
        if offset < 0 or offset >= _CONFIG_SIZE:
            raise ValueError("offset out of range: {}".format(offset))
        if offset + length > _CONFIG_SIZE:
            raise ValueError("data exceeds config zone boundary")
        if length:
            self._stream(
                "WRITE_CONFIG", _CMD_WRITE_CONFIG, memoryview(data), offset,
                _WORST_CONFIG_MS, CAP_CONFIG_MS,
            )

    def read_config(self):
        """Config zone bytes up to the first 0xFF (v1 semantics); b"" when erased."""
        out = bytearray()
        sector = self._sector
        for page in range(0, _CONFIG_SIZE, _RESPONSE_LEN):
            self._prepared_read("READ_CONFIG", _CMD_READ_CONFIG, page, sector)
            end = _find_erased(sector)
            if end < _RESPONSE_LEN:
                out.extend(self._smv[:end])
                break
            out.extend(sector)
        return bytes(out)

    def replace_config(self, data):
        """Replace the whole config zone with `data` (bytes, or a str as UTF-8): all at
        once with the target's config transaction (txn.py), else clear then write, as
        v1 did. ValueError, before anything is sent, if `data` is larger than the zone.
        """
        from .txn import replace_config

        replace_config(self, data)
