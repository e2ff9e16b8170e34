"""A MicroPython board, as far as the flashbridge package needs one, on CPython.

- `machine.I2C` (and `machine.SoftI2C`) whose transfers go to flashbridge-sim over its
  Unix socket (docs/SIM-PROTOCOL.md: TRANSFER op 0x01), failing as MicroPython's soft
  I2C does (extmod/machine_i2c.c, mp_machine_soft_i2c_transfer, read_mem, write_mem):
  an address not acknowledged raises OSError(ENODEV) in every method; a written byte
  not acknowledged raises nothing: writeto() returns the number of bytes acknowledged,
  writeto_mem() returns None as if all was well, and readfrom_mem()/readfrom_mem_into()
  send a STOP (an address-only transaction) and return without reading: the _into
  buffer keeps what it held, readfrom_mem() returns zeros (a freshly allocated buffer).
  I2C(..., hard=True) is the other family (hardware I2C of ports such as stm32 or
  rp2): a NACKed written byte raises OSError(EIO) in every method.
- `time.sleep_ms/sleep_us/ticks_ms/ticks_us/ticks_diff/ticks_add` on the simulated
  board's virtual time (WAIT op 0x02 advances it, TIME op 0x03 reads it), or on a
  ManualClock for tests that run without a simulator. They take integers only:
  MicroPython's sleep_ms/sleep_us raise TypeError on a float (extmod/modtime.c,
  mp_obj_get_int; checked on the unix port), and its ticks_diff/ticks_add read a float
  as garbage (MP_OBJ_SMALL_INT_VALUE, unchecked), so the shim raises TypeError there too.
- `micropython.const`, which takes an integer only: what MicroPython folds at every
  feature level (floats, str and tuples need MICROPY_COMP_CONST_FLOAT, _LITERAL, _TUPLE:
  CORE level and later versions).

install() puts them in sys.modules as `machine`, `time`, `utime` and `micropython`, so
the package imports them as it would on a board. The `time` module is a superset of
CPython's (every real attribute is kept, sleep() included) so nothing else in the process
is disturbed; test_micropython_subset checks that the package uses only MicroPython's.
"""
import errno
import os
import socket
import struct
import sys
import time as _real_time
import types

OP_TRANSFER = 0x01
OP_WAIT = 0x02
OP_TIME = 0x03
OP_POWER_CYCLE = 0x04
OP_SHUTDOWN = 0x05
OP_HELLO = 0x06

XFER_OK = 0
XFER_ADDR_NACK = 1
XFER_DATA_NACK = 2

_TICKS_PERIOD = 1 << 30
_TICKS_MAX = _TICKS_PERIOD - 1
_TICKS_HALF = _TICKS_PERIOD // 2


class SimError(Exception):
    """The simulator answered a request with a non-OK status (malformed/unknown)."""


class SimLink:
    """One client connection to flashbridge-sim."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.transfers = 0  # TRANSFER requests sent
        self.log = None  # set to a list to record (addr, wdata, rlen, status, rdata)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise SimError("simulator closed the connection")
            buf.extend(chunk)
        return bytes(buf)

    def request(self, op, payload=b""):
        self.sock.sendall(struct.pack(">BH", op, len(payload)) + payload)
        rop, status, n = struct.unpack(">BBH", self._recv_exact(4))
        if rop != (op | 0x80):
            raise SimError("reply op 0x%02X to request op 0x%02X" % (rop, op))
        return status, self._recv_exact(n) if n else b""

    def _checked(self, op, payload=b""):
        status, reply = self.request(op, payload)
        if status != 0:
            raise SimError("op 0x%02X: status 0x%02X" % (op, status))
        return reply

    def transfer(self, addr, wdata, rlen):
        """One I2C transaction: (status, wacked, rdata)."""
        wdata = bytes(wdata)
        status, reply = self.request(
            OP_TRANSFER, struct.pack(">BHH", addr, len(wdata), rlen) + wdata
        )
        if status not in (XFER_OK, XFER_ADDR_NACK, XFER_DATA_NACK):
            raise SimError("TRANSFER: status 0x%02X" % status)
        self.transfers += 1
        (wacked,) = struct.unpack(">H", reply[:2])
        rdata = reply[2:]
        if self.log is not None:
            self.log.append((addr, wdata, rlen, status, rdata))
        return status, wacked, rdata

    def wait_ns(self, ns):
        (now,) = struct.unpack(">Q", self._checked(OP_WAIT, struct.pack(">Q", int(ns))))
        return now

    def now_ns(self):
        (now,) = struct.unpack(">Q", self._checked(OP_TIME))
        return now

    def power_cycle(self, off_ns=1_000_000):
        (now,) = struct.unpack(
            ">Q", self._checked(OP_POWER_CYCLE, struct.pack(">Q", int(off_ns)))
        )
        return now

    def hello(self):
        reply = self._checked(OP_HELLO)
        version, bus_hz = struct.unpack(">BI", reply)
        return version, bus_hz

    def shutdown(self):
        self._checked(OP_SHUTDOWN)


class ManualClock:
    """Virtual time without a simulator: only sleeps (and explicit advance) move it."""

    def __init__(self):
        self.ns = 0
        self.sleeps_ms = []  # every sleep_ms the code under test asked for

    def now_ns(self):
        return self.ns

    def wait_ns(self, ns):
        self.ns += int(ns)
        return self.ns


_clock = None  # SimLink or ManualClock behind the time functions
_link = None  # SimLink that machine.I2C() uses when none is given


def set_clock(clock):
    global _clock
    _clock = clock


def set_link(link):
    """Make `link` the board: default bus for I2C() and the clock for time.*."""
    global _link
    _link = link
    set_clock(link)


def _need_clock():
    if _clock is None:
        raise RuntimeError("mpshim: no clock (start a simulator or set a ManualClock)")
    return _clock


# ------------------------------------------------------------------------------
# time
# ------------------------------------------------------------------------------


def _int(x):
    # mp_obj_get_int(): ints (bool included) pass, anything else is a TypeError.
    if not isinstance(x, int):
        raise TypeError("can't convert %s to int" % type(x).__name__)
    return x


def sleep_ms(ms):
    _int(ms)
    clock = _need_clock()
    if isinstance(clock, ManualClock):
        clock.sleeps_ms.append(ms)
    if ms > 0:
        clock.wait_ns(ms * 1_000_000)


def sleep_us(us):
    if _int(us) > 0:
        _need_clock().wait_ns(us * 1_000)


def ticks_ms():
    return (_need_clock().now_ns() // 1_000_000) & _TICKS_MAX


def ticks_us():
    return (_need_clock().now_ns() // 1_000) & _TICKS_MAX


def ticks_diff(a, b):
    _int(a)
    _int(b)
    return ((a - b + _TICKS_HALF) & _TICKS_MAX) - _TICKS_HALF


def ticks_add(t, delta):
    _int(t)
    _int(delta)
    return (t + delta) & _TICKS_MAX


# ------------------------------------------------------------------------------
# machine
# ------------------------------------------------------------------------------


def _oserror(code):
    # MicroPython's OSError(code) has .errno == code; CPython needs the 2-argument form.
    return OSError(code, os.strerror(code))


class I2C:
    """machine.I2C over the simulated bus. The constructor takes the board arguments
    (id, scl, sda, freq) and ignores them; link= picks a SimLink other than the
    current one; hard=True fails like a port's hardware I2C instead of soft I2C."""

    def __init__(self, id=-1, *args, link=None, hard=False, **kwargs):
        self._link = link
        self._hard = hard

    def _xfer(self, addr, wdata, rlen):
        link = self._link or _link
        if link is None:
            raise _oserror(errno.ENODEV)
        status, wacked, rdata = link.transfer(addr, wdata, rlen)
        return status, wacked, rdata

    def _stop(self, addr):
        # read_mem() after a short write: "must generate STOP", done as an empty
        # write transaction (START, address, STOP) that the target sees.
        self._xfer(addr, b"", 0)

    def _read_mem(self, addr, memaddr, addrsize, n):
        """read_mem(): None when the register address was not acknowledged (soft
        I2C raises nothing then), else the n bytes read."""
        status, _, rdata = self._xfer(addr, self._memaddr(memaddr, addrsize), n)
        if status == XFER_ADDR_NACK:
            if not self._hard:
                self._stop(addr)
            raise _oserror(errno.ENODEV)
        if status == XFER_DATA_NACK:
            if self._hard:
                raise _oserror(errno.EIO)
            self._stop(addr)
            return None
        return rdata

    @staticmethod
    def _memaddr(memaddr, addrsize):
        if addrsize != 8:
            raise ValueError("mpshim: addrsize must be 8")
        return bytes([_int(memaddr) & 0xFF])

    @staticmethod
    def _wbuf(buf):
        # mp_get_buffer_raise(): a str is not a buffer on MicroPython either.
        if isinstance(buf, str):
            raise TypeError("object with buffer protocol required")
        return bytes(buf)

    def scan(self):
        found = []
        for addr in range(0x08, 0x78):
            status, _, _ = self._xfer(addr, b"", 0)
            if status == XFER_OK:
                found.append(addr)
        return found

    def readfrom(self, addr, nbytes, stop=True):
        status, _, rdata = self._xfer(addr, b"", _int(nbytes))
        if status != XFER_OK:  # a read has no written byte: address NACK
            raise _oserror(errno.ENODEV)
        return rdata

    def readfrom_into(self, addr, buf, stop=True):
        mv = memoryview(buf)
        mv[:] = self.readfrom(addr, len(mv))

    def writeto(self, addr, buf, stop=True):
        if not stop:
            raise NotImplementedError("mpshim: writeto(stop=False)")
        status, wacked, _ = self._xfer(addr, self._wbuf(buf), 0)
        if status == XFER_ADDR_NACK:
            raise _oserror(errno.ENODEV)
        if status == XFER_DATA_NACK and self._hard:
            raise _oserror(errno.EIO)
        return wacked

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        rdata = self._read_mem(addr, memaddr, addrsize, _int(nbytes))
        return bytes(nbytes) if rdata is None else rdata

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        mv = memoryview(buf)
        rdata = self._read_mem(addr, memaddr, addrsize, len(mv))
        if rdata is not None:
            mv[:] = rdata

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        status, _, _ = self._xfer(addr, self._memaddr(memaddr, addrsize) + self._wbuf(buf), 0)
        if status == XFER_ADDR_NACK:
            raise _oserror(errno.ENODEV)
        if status == XFER_DATA_NACK and self._hard:
            raise _oserror(errno.EIO)
        # soft I2C: a NACKed data byte ends the transfer and is not reported


class Pin:
    """Placeholder so board scripts that build SoftI2C(scl=Pin(..)) import."""

    def __init__(self, *args, **kwargs):
        pass


# ------------------------------------------------------------------------------
# Installation
# ------------------------------------------------------------------------------


def _make_time_module():
    mod = types.ModuleType("time")
    for name in dir(_real_time):
        if not name.startswith("__"):
            setattr(mod, name, getattr(_real_time, name))
    for fn in (sleep_ms, sleep_us, ticks_ms, ticks_us, ticks_diff, ticks_add):
        setattr(mod, fn.__name__, fn)
    mod.ticks_cpu = ticks_us
    return mod


def const(x):
    """micropython.const: integers only (all that a MINIMUM-level or older compiler
    folds)."""
    if not isinstance(x, int):
        raise TypeError("mpshim: const() takes an integer, got %r" % (x,))
    return x


def _make_micropython_module():
    mod = types.ModuleType("micropython")
    mod.const = const
    return mod


def _make_machine_module():
    mod = types.ModuleType("machine")
    mod.I2C = I2C
    mod.SoftI2C = I2C
    mod.Pin = Pin
    return mod


time_module = _make_time_module()
machine_module = _make_machine_module()
micropython_module = _make_micropython_module()


def install():
    sys.modules["time"] = time_module
    sys.modules["utime"] = time_module
    sys.modules["machine"] = machine_module
    sys.modules["micropython"] = micropython_module
