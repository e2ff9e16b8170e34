# Streaming appends (APPEND_CRC, docs/PROTOCOL.md "Streaming extension"): the one frame
# sender behind DaplinkFlash.write() and FlashLog. Imported on the first append to a
# target with the extension, so that a board that only reads, or talks to a v1 target,
# never compiles it.
#
# Frames are numbered by the writer itself: STREAM_STATE is read at sync() (the start of
# a write(), the opening of a log) and again only to resynchronise after a refusal.
# Credits: an EXT_STATUS read that shows f free slots lets f frames go out back to back,
# with no register read in between. A command keeps its queue slot until it has
# finished (PROTOCOL.md "Queued commands"), so after an EXT_STATUS read with ERROR clear
# that shows q slots taken, every frame sent before the last q has been programmed. One
# more is kept all the same (LOG-CONTRACT: known programmed once fewer frames are
# queued than were sent after it): a frame acknowledged on the bus that the target then
# lost (a reset between the transfer and the queue) is still there to send again when
# STREAM_STATE shows it missing. So the window kept for a resend is at most the queue
# depth + 1 frames.
from .link import CAP_DATA_MS, FRAME_RETRIES, RESYNC_MAX, budget_ms, crc16
from .errors import FlashBridgeError
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x

# Protocol numbers from const.py, private so that MicroPython folds them into the
# code and keeps no global for them (tests/test_constants.py checks the values).
_APPEND_CRC_OVERHEAD = const(5)
_CMD_APPEND_CRC = const(0x12)
_EXT_FRAME_MAX = const(261)
_QUEUE_DEPTH = const(4)
_STATUS_BUSY = const(0x80)
_STATUS_ERROR = const(0x40)
_STATUS_QUEUE_MASK = const(0x7)
_WORST_WRITE_DATA_MS = const(3268)

_SLOTS = _QUEUE_DEPTH + 2  # the window (at most the queue depth + 1) and the frame being filled


class Appender(object):
    """APPEND_CRC frames through a ring of QUEUE_DEPTH + 2 frame buffers: frames sent
    and not yet known programmed (the window, resent after a refusal, go-back-N), then
    the frame being filled. One per DaplinkBridge (DaplinkBridge._appender())."""

    def __init__(self, bridge):
        self.b = bridge
        self.payload = bridge._xpayload
        self.slots = [bytearray(_EXT_FRAME_MAX) for _ in range(_SLOTS)]
        self.mvs = [memoryview(s) for s in self.slots]
        self.lens = [0] * _SLOTS
        self.first = 0  # slot of the oldest frame of the window
        self.count = 0  # frames in the window (sent or to be sent)
        self.unsent = 0  # the last `unsent` of them are still to be sent
        self.credits = 0
        self.seq = 1  # seq of the next frame filled
        self.size = 0  # file size once every frame before the window is programmed
        self.dirty = False  # an exception left the window unconfirmed: resync first
        self.stuck = 0  # resumptions since the target last took a frame

    # --------------------------------------------------------------------------

    def fill(self):
        """Memoryview of the frame being filled; its data go at offset 3."""
        return self.mvs[(self.first + self.count) % _SLOTS]

    def pending(self):
        """Bytes in the window: sent (or to be sent) and not known on flash."""
        n = 0
        for k in range(self.count):
            n += self.lens[(self.first + k) % _SLOTS]
        return n

    def sync(self, op):
        """Start numbering from the target's last accepted seq (STREAM_STATE), with
        the target idle. The window must be empty (finish() first)."""
        b = self.b
        b._settle(op)
        last, size = b._stream_state()
        self.first = (self.first + self.count) % _SLOTS
        self.count = self.unsent = 0
        self.seq = (last + 1) & 0xFF
        self.size = size
        self.credits = b._xdepth
        self.dirty = False
        self.stuck = 0

    def send(self, op, n):
        """Close the frame being filled (n data bytes) and send it, or queue it
        behind the frames a resynchronisation has to send again first."""
        i = (self.first + self.count) % _SLOTS
        f = self.slots[i]
        # [0x12, seq, n - 1, data, CRC]: the CRC covers the length, so a frame that
        # gains or loses bytes on the bus is refused, never stored.
        f[0] = _CMD_APPEND_CRC
        f[1] = self.seq
        f[2] = n - 1
        crc = crc16(self.mvs[i][: 3 + n])
        f[3 + n] = crc >> 8
        f[4 + n] = crc & 0xFF
        self.lens[i] = n
        self.seq = (self.seq + 1) & 0xFF
        self.count += 1
        self.unsent += 1
        self._guarded(op, False)

    def recover(self, op):
        """After an exception: resynchronise and send the window again, so that the
        slot for the next frame is free (an exception in send() can leave the window
        one frame over its bound, the frame to fill being then the oldest one kept)."""
        if self.dirty:
            self._guarded(op, False)

    def finish(self, op):
        """Return once every frame is programmed: idle, and STREAM_STATE shows the last
        seq and the file size expected; resend what was refused."""
        self._guarded(op, True)

    def append(self, op, mv):
        """DaplinkFlash.write() with the extension: the bytes of memoryview `mv` as full
        frames, on flash when this returns."""
        total = len(mv)
        p = self.payload
        self.sync(op)
        at = 0
        while at < total:
            k = total - at
            if k > p:
                k = p
            self.fill()[3 : 3 + k] = mv[at : at + k]
            self.send(op, k)
            at += k
        self.finish(op)
        return total

    # --------------------------------------------------------------------------

    def _guarded(self, op, drain):
        try:
            if self.dirty:
                self.dirty = False
                self._regress(op)
            self._pump(op)
            if drain:
                self._drain(op)
        except BaseException:
            # The window is kept: the next send or finish resynchronises and resends.
            self.dirty = True
            raise

    def _pump(self, op):
        # Send the frames of the window not sent yet, one per credit. A frame that
        # hits a bus error is sent again (same seq: the target takes it once); the failed
        # copy may have reached the queue and kept a slot, so the retry takes a credit.
        b = self.b
        tries = 0
        while self.unsent:
            if not self.credits:
                self._poll(op)
                continue
            i = (self.first + self.count - self.unsent) % _SLOTS
            self.credits -= 1
            try:
                b._send(self.mvs[i][: self.lens[i] + _APPEND_CRC_OVERHEAD])
            except OSError:
                if tries >= FRAME_RETRIES:
                    raise
                tries += 1
                b.bus_retries += 1
                continue
            tries = 0
            self.unsent -= 1

    def _drop(self, n):
        # Forget the n oldest frames of the window: they are on flash.
        while n > 0:
            self.size += self.lens[self.first]
            self.first = (self.first + 1) % _SLOTS
            self.count -= 1
            if self.unsent > self.count:
                self.unsent = self.count
            n -= 1
            self.stuck = 0

    def _poll(self, op):
        # Credits used up: read EXT_STATUS until a slot is free. Frames that left the
        # queue are forgotten; a refusal sends the window again from the target's seq.
        b = self.b
        st = b._wait(op, budget_ms(_WORST_WRITE_DATA_MS), CAP_DATA_MS, True)
        if st & _STATUS_ERROR and b._collect(op, st):
            self._regress(op)
            return
        sent = self.count - self.unsent
        taken = 0
        if st & _STATUS_BUSY:
            taken = _QUEUE_DEPTH - (st & _STATUS_QUEUE_MASK)
        if sent > taken + 1:
            self._drop(sent - taken - 1)
        free = st & _STATUS_QUEUE_MASK or 1
        self.credits = free if free < b._xdepth else b._xdepth

    def _drain(self, op):
        b = self.b
        while True:
            st = b._wait(op, budget_ms(_WORST_WRITE_DATA_MS, _QUEUE_DEPTH), CAP_DATA_MS)
            if not (st & _STATUS_ERROR and b._collect(op, st)):
                last, size = b._stream_state()
                if last == (self.seq - 1) & 0xFF and size == self.size + self.pending():
                    self._drop(self.count)
                    self.size = size
                    self.credits = b._xdepth
                    return
            self._regress(op)
            self._pump(op)

    def _regress(self, op):
        # A frame was refused (or the window is unconfirmed after an error): wait until
        # the queue has drained (the frames behind it are refused in turn), then keep the
        # frames after the target's last accepted seq and mark them to be sent again.
        # FlashBridgeError if the target's seq or file size do not fit what was sent (the
        # target lost its state, or something else wrote).
        b = self.b
        self.stuck += 1
        if self.stuck > RESYNC_MAX:
            raise FlashBridgeError(0, op, "no progress after %d resumptions" % RESYNC_MAX)
        b.resyncs += 1
        st = b._wait(op, 2 * budget_ms(_WORST_WRITE_DATA_MS, _QUEUE_DEPTH), CAP_DATA_MS)
        if st & _STATUS_ERROR:
            b._collect(op, st)
        last, size = b._stream_state()
        # Frames up to the target's seq are on flash, whether or not this side saw
        # them through (a bus error after delivery); the rest go again.
        back = (self.seq - 1 - last) & 0xFF
        if back > self.count:
            raise FlashBridgeError(
                0, op, "target lost the stream (last seq %d, %d frames unconfirmed)"
                % (last, self.count - self.unsent)
            )
        self._drop(self.count - back)
        self.unsent = self.count
        self.credits = b._xdepth
        if size != self.size:
            raise FlashBridgeError(
                0, op, "file size %d, expected %d: the file changed" % (size, self.size)
            )
