# FlashLog: line-by-line logging at the bus limit (issue 14). Imported by
# DaplinkFlash.log() / DaplinkBridge.log() only.
#
# A line in its own APPEND_CRC frame costs 6 bytes of framing and a STATUS round trip;
# a 30-byte line would use 83 % of the bus at best. So the bytes of successive write()
# calls are coalesced into full frames (256 bytes), built in place in the Appender's
# ring (append.py, the same sender as DaplinkFlash.write), and sent on queue credits
# with no register read per call. What is on flash when is the README's "Durability".
from .link import CAP_DATA_MS, ticks_diff, ticks_ms
from .errors import EIO, FlashBridgeError
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x

# Protocol numbers from const.py, private so that MicroPython folds them into the
# code and keeps no global for them (tests/test_constants.py checks the values).
_CMD_WRITE_DATA = const(0x11)
_EXT_PAYLOAD_MAX = const(256)
_WORST_WRITE_DATA_MS = const(3268)

_OP = "LOG"


class FlashLog(object):
    """Append-only log on the target's data file, written a line at a time.

    Made by DaplinkFlash.log(delay_ms=1000) (or DaplinkBridge.log()). write() and
    write_line() return once the bytes are in the host's buffer or sent to the target's
    queue; flush() returns once every byte written before it is on flash (checked
    against the target's STREAM_STATE); close() is flush() and release; `with` closes.

    delay_ms: a partial frame is sent at the first write() made at least delay_ms after
    its first byte was buffered (there is no timer: a logger that stops writing leaves
    its last bytes in the buffer until flush() or close()). 0: every write() sends what
    it has (no coalescing across calls, still no register read per call).

    While the log is open, the other operations on the same target (DaplinkFlash.write,
    clear_flash, set_filename, reads, config) flush it first, so the file gets the
    bytes in the order they were given. Opening a second log on the same target closes
    the first.

    A target without the streaming extension (STeaMi v1, flashbridge 1.1): the bytes are
    coalesced the same way and sent as v1 WRITE_DATA frames, waiting until they are
    stored (correct, not fast).
    """

    def __init__(self, bridge, delay_ms=1000):
        if not isinstance(delay_ms, int) or delay_ms < 0:
            raise ValueError("delay_ms must be an int >= 0")
        b = bridge
        if b._log is not None:
            b._log.close()
        b.capabilities()
        self._b = b
        self._delay = delay_ms
        self._fill = 0  # bytes in the partial frame
        self._cap = 0  # bytes the partial frame takes before it goes out
        self._t0 = 0  # ticks_ms() when its first byte was buffered
        self._stale = False  # another operation ran: STREAM_STATE again before sending
        self._closed = False
        if "append_crc" in b._ext and b._xpayload:
            self._app = b._appender()
            self._p = b._xpayload
            self._buf = None
            b._inlog = True
            try:
                self._app.sync(_OP)
            finally:
                b._inlog = False
            self._off = self._app.size  # file offset of the next frame
        else:
            self._app = None
            self._p = _EXT_PAYLOAD_MAX
            self._off = 0  # unknown (v1 has no FILE_SIZE): runs of 256 bytes
            self._buf = memoryview(bytearray(_EXT_PAYLOAD_MAX))
        b._log = self

    # --------------------------------------------------------------------------

    def write(self, data):
        """Append bytes (or a str, UTF-8); returns the number of bytes taken."""
        if isinstance(data, str):
            data = data.encode()
        b = self._begin()
        try:
            n = self._put(data)
            self._maybe_send()
        except OSError as e:
            raise self._missing(e)
        finally:
            b._inlog = False
        return n

    def write_line(self, text):
        """Append text (str or bytes) and a newline; returns the number of bytes."""
        if isinstance(text, str):
            text = text.encode()
        b = self._begin()
        try:
            n = self._put(text) + self._put(b"\n")
            self._maybe_send()
        except OSError as e:
            raise self._missing(e)
        finally:
            b._inlog = False
        return n

    def flush(self):
        """Send the partial frame, wait until the target has programmed every frame,
        and check its last seq and file size (STREAM_STATE). Raises FlashBridgeError
        (an OSError) saying how many bytes are not confirmed on flash otherwise."""
        b = self._begin()
        try:
            if self._fill:
                self._send()
            if self._app is not None:
                self._app.finish(_OP)
        except OSError as e:
            raise self._missing(e)
        finally:
            b._inlog = False

    def close(self):
        """flush(), then release the target (even when flush() raises)."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            if self._b._log is self:
                self._b._log = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --------------------------------------------------------------------------

    def _begin(self):
        if self._closed:
            raise ValueError("log is closed")
        b = self._b
        b._inlog = True
        app = self._app
        try:
            if app is not None and app.dirty:
                app.recover(_OP)  # before the next frame is filled: its slot is free
            if self._stale and app is not None:
                app.sync(_OP)
                self._off = app.size
            self._stale = False
        except BaseException as e:
            b._inlog = False
            if isinstance(e, OSError):
                raise self._missing(e)
            raise
        return b

    def _put(self, data):
        # Copy data into the partial frame; a full frame goes out at once.
        mv = memoryview(data)
        n = len(mv)
        pos = 0
        while pos < n:
            fill = self._fill
            if fill == 0:
                self._t0 = ticks_ms() if self._delay else 0
                # A frame ends on a 256-byte boundary of the file, which is a flash
                # page boundary (a file starts on a sector; docs/STORAGE.md): the
                # target then programs one page per frame, not two (at the datasheet
                # maximum, 3 ms less per frame). Only the first frame after an
                # unaligned size (or a partial frame) is shorter.
                self._cap = self._p - self._off % self._p
            p = self._cap
            k = p - fill
            if k > n - pos:
                k = n - pos
            if self._app is not None:
                self._app.fill()[3 + fill : 3 + fill + k] = mv[pos : pos + k]
            else:
                self._buf[fill : fill + k] = mv[pos : pos + k]
            self._fill = fill + k
            pos += k
            if fill + k == p:
                self._send()
        return n

    def _maybe_send(self):
        if self._fill and (not self._delay or ticks_diff(ticks_ms(), self._t0) >= self._delay):
            self._send()

    def _send(self):
        n = self._fill
        self._fill = 0  # from here the bytes belong to the window (or are reported lost)
        self._off += n
        if self._app is not None:
            self._app.send(_OP, n)
            return
        try:
            self._b._stream(
                "WRITE_DATA", _CMD_WRITE_DATA, self._buf[:n], None, _WORST_WRITE_DATA_MS,
                CAP_DATA_MS,
            )
        except OSError as e:
            raise self._missing(e, n)

    def _missing(self, e, extra=0):
        # The error `e`, saying how many written bytes are not confirmed on flash.
        if hasattr(e, "missing"):
            return e
        n = self._fill + extra
        if self._app is not None:
            n += self._app.pending()
        if isinstance(e, FlashBridgeError):
            e.message += "; %d bytes not confirmed on flash" % n
            e.missing = n
            return e
        err = FlashBridgeError(0, _OP, "bus error (%s); %d bytes not confirmed on flash" % (e, n), EIO)
        err.missing = n
        return err
