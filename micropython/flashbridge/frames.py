# v1 frames: WRITE_DATA and WRITE_CONFIG, fixed 32-byte frames, pipelined on the queue
# credits of flashbridge 1.1 and later, one per idle STATUS on a v1 target. Imported on
# the first config write, or the first append to a target without the streaming
# extension.
from .link import PROTO_V1, UNKNOWN_BUDGET_MS, budget_ms
from .errors import FlashBridgeError

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# Protocol numbers from const.py, private so that MicroPython folds them into the
# code and keeps no global for them (tests/test_constants.py checks the values).
_FRAME_MAX = const(32)
_QUEUE_DEPTH = const(4)
_STATUS_ERROR = const(0x40)
_STATUS_QUEUE_MASK = const(0x7)
_WRITE_CONFIG_MAX = const(28)


def stream(b, op, cmd, mv, offset, worst_ms, cap_ms):
    """Send the bytes of memoryview `mv` as fixed 32-byte frames of command `cmd`.

    offset None: WRITE_DATA frames [cmd, n, 30 bytes]; otherwise WRITE_CONFIG frames
    [cmd, off_hi, off_lo, n, 28 bytes] starting at config offset `offset`.
    As many frames go out back to back as STATUS says there are free queue slots;
    STATUS is read again only when they are used up. A v1 target has no slot count
    and gets one frame per idle STATUS.
    """
    total = len(mv)
    frame = b._frame
    fmv = b._fmv
    frame[0] = cmd
    if offset is None:
        hdr = 2
        chunk = _FRAME_MAX - 2
    else:
        hdr = 4
        chunk = _WRITE_CONFIG_MAX
    slot_budget = budget_ms(worst_ms)
    if b._idle and b._proto is not None:
        credits = 1 if b._proto == PROTO_V1 else _QUEUE_DEPTH
    else:
        credits = 0
        slot_budget = UNKNOWN_BUDGET_MS
    pos = 0
    while pos < total:
        if credits == 0:
            st = b._wait(op, slot_budget, cap_ms, True)
            if st & _STATUS_ERROR:
                break  # stop at the first failure; reported below
            slot_budget = budget_ms(worst_ms)
            credits = st & _STATUS_QUEUE_MASK or 1
        n = total - pos
        if n > chunk:
            n = chunk
        if hdr == 2:
            frame[1] = n
        else:
            at = offset + pos
            frame[1] = at >> 8
            frame[2] = at & 0xFF
            frame[3] = n
        fmv[hdr : hdr + n] = mv[pos : pos + n]
        # Zero padding byte by byte: no module-level memoryview (not every
        # MicroPython build has one at import time) and nothing allocated.
        i = hdr + n
        while i < _FRAME_MAX:
            frame[i] = 0
            i += 1
        b._send(frame)
        pos += n
        credits -= 1
    st = b._wait(op, budget_ms(worst_ms, _QUEUE_DEPTH), cap_ms)
    b._check(op, st)
    if pos < total:  # STATUS flagged an error that ERROR no longer held
        raise FlashBridgeError(0, op, "stopped after %d of %d bytes" % (pos, total))
    return pos
