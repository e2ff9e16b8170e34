# Streaming reads (STREAM_READ, docs/PROTOCOL.md "Streaming extension"): one request,
# then the chunks (tag, seq, data, CRC) taken by plain reads. Imported on the first read
# from a target with the extension.
from .link import CAP_DEFAULT_MS, FRAME_RETRIES, RESTART_MAX, _crc_ok, budget_ms, crc16
from .link import sleep_ms, ticks_diff, ticks_ms
from .errors import FlashBridgeError, FlashBridgeTimeout
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x

# Protocol numbers from const.py, private so that MicroPython folds them into the
# code and keeps no global for them (tests/test_constants.py checks the values).
_CHUNK_OVERHEAD = const(4)
_CHUNK_TAG = const(0x5a)
_CMD_STREAM_READ = const(0x21)
_EXT_FRAME_MAX = const(261)
_STATUS_BUSY = const(0x80)
_STATUS_ERROR = const(0x40)
_STATUS_READY = const(0x20)
_WORST_READ_MS = const(1)


def send_retrying(b, buf):
    """One write transfer; after a bus error (OSError) the same bytes again, up to
    FRAME_RETRIES times. The target takes a resent APPEND_CRC once whether or not
    the first copy arrived (same seq: acknowledged, not appended)."""
    attempt = 0
    while True:
        try:
            b._send(buf)
            return
        except OSError:
            if attempt >= FRAME_RETRIES:
                raise
            attempt += 1
            b.bus_retries += 1


def wait_ready(b, op):
    """After STREAM_READ: poll STATUS until a chunk is prepared (READY), without
    sleeping for the first polls (the first chunk takes ~0.15 ms, a poll ~0.1 ms
    at 400 kHz), then with the usual back-off. True when ready; False when the
    request was refused for a bad CRC (ask again); raises any other error."""
    start = ticks_ms()
    polls = 0
    delay = 1
    while True:
        st = b._status()
        if st & _STATUS_ERROR:
            return not b._collect(op, st)
        if st & _STATUS_READY:
            if not st & _STATUS_BUSY:
                b._idle = True
            return True
        polls += 1
        if polls > 4:
            waited = ticks_diff(ticks_ms(), start)
            if waited >= budget_ms(_WORST_READ_MS):
                raise FlashBridgeTimeout(op, waited, st)
            sleep_ms(delay)
            if delay < CAP_DEFAULT_MS:
                delay *= 2


def stream_read(b, op, offset, mv):
    """Read len(mv) file bytes from `offset` into memoryview `mv` with one
    STREAM_READ and one plain read per chunk (tag, seq, data, CRC). A chunk not
    prepared yet reads as 0xFF and is read again once STATUS shows READY; a chunk
    with a wrong tag, seq or CRC, or a bus error during its read, asks the stream
    again from that chunk's offset."""
    n = len(mv)
    p = b._xpayload
    req = b._frame
    rmv = b._fmv[:11]
    chunk = b._xbuf
    if chunk is None:  # allocated on the first read, kept
        chunk = b._xbuf = bytearray(_EXT_FRAME_MAX)
        b._xmv = memoryview(chunk)
    cmv = b._xmv
    done = 0
    restarts = 0
    b._settle(op)
    while done < n:
        at = offset + done
        left = n - done
        req[0] = _CMD_STREAM_READ
        req[1] = at >> 24
        req[2] = (at >> 16) & 0xFF
        req[3] = (at >> 8) & 0xFF
        req[4] = at & 0xFF
        req[5] = left >> 24
        req[6] = (left >> 16) & 0xFF
        req[7] = (left >> 8) & 0xFF
        req[8] = left & 0xFF
        crc = crc16(rmv[:9])
        req[9] = crc >> 8
        req[10] = crc & 0xFF
        send_retrying(b, rmv)
        ok = wait_ready(b, op)
        k = 0
        while ok and done < n:
            m = n - done
            if m > p:
                m = p
            rl = m + _CHUNK_OVERHEAD
            try:
                b.i2c.readfrom_into(b.address, cmv[:rl])
            except OSError:
                ok = False  # we cannot tell whether the target saw it through
                break
            if chunk[0] == 0xFF and chunk[1] == 0xFF:
                ok = wait_ready(b, op)  # not prepared yet: nothing consumed
            elif chunk[0] != _CHUNK_TAG or chunk[1] != k & 0xFF or not _crc_ok(cmv, rl):
                ok = False
            else:
                mv[done : done + m] = cmv[2 : 2 + m]
                done += m
                k += 1
        if not ok:
            restarts += 1
            b.read_restarts += 1
            if restarts > RESTART_MAX:
                raise FlashBridgeError(0, op, "no progress after %d restarts" % RESTART_MAX)
    return n
