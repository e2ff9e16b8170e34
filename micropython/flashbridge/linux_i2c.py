# LinuxI2C: machine.I2C's methods over a Linux I2C adapter (/dev/i2c-N), so that
# DaplinkBridge, DaplinkFlash, SteamiConfig and the rest of the package run unchanged on
# CPython on a Raspberry Pi (or any Linux board with the i2c-dev driver):
#
#     from flashbridge import DaplinkBridge, DaplinkFlash
#     from flashbridge.linux_i2c import LinuxI2C
#     flash = DaplinkFlash(DaplinkBridge(LinuxI2C(1)))     # /dev/i2c-1
#
# CPython only (ctypes, fcntl): not installed on boards (package.json leaves it out).
#
# Every transfer is one I2C_RDWR ioctl (linux/i2c-dev.h, linux/i2c.h). A register read
# is a write message and a read message in the same call, which the kernel joins with a
# repeated START, as the protocol needs; a plain read is one read message of up to 8192
# bytes (the kernel's limit per message), so the 256-byte responses and 260-byte stream
# chunks are read whole. SMBus calls (python3-smbus2's read_i2c_block_data) stop at 32
# bytes, which is why they are not used. The adapter must offer plain I2C transfers
# (I2C_FUNC_I2C; the Raspberry Pi's i2c-bcm2835 does).
#
# Failures come from the kernel as OSError with the adapter's errno (commonly ENXIO for
# an address not acknowledged, EREMOTEIO or EIO for a data byte): unlike MicroPython's
# soft I2C, a NACK always raises, and writeto() returns the full length or raises.
import ctypes
import errno
import fcntl
import os

I2C_RDWR = 0x0707  # linux/i2c-dev.h
I2C_FUNCS = 0x0705
I2C_FUNC_I2C = 0x00000001  # linux/i2c.h
I2C_M_RD = 0x0001
MSG_MAX = 8192  # drivers/i2c/i2c-dev.c: longer messages are refused (EINVAL)


class _Msg(ctypes.Structure):
    """struct i2c_msg (linux/i2c.h)."""

    _fields_ = [
        ("addr", ctypes.c_uint16),
        ("flags", ctypes.c_uint16),
        ("len", ctypes.c_uint16),
        ("buf", ctypes.c_void_p),
    ]


class _RdwrData(ctypes.Structure):
    """struct i2c_rdwr_ioctl_data (linux/i2c-dev.h)."""

    _fields_ = [("msgs", ctypes.POINTER(_Msg)), ("nmsgs", ctypes.c_uint32)]


def _memaddr(memaddr, addrsize):
    if addrsize % 8 or not 8 <= addrsize <= 32:
        raise ValueError("invalid addrsize")
    return bytes((memaddr >> s) & 0xFF for s in range(addrsize - 8, -8, -8))


class LinuxI2C(object):
    """An I2C bus of the Linux host, with machine.I2C's transfer methods.

    Args:
        bus: adapter number N of /dev/i2c-N (1 on a Raspberry Pi's header pins).
        path: the device node instead of /dev/i2c-N.
        ioctl: replaces fcntl.ioctl (for tests without an adapter).

    The bus speed is the adapter's (on a Raspberry Pi: dtparam=i2c_arm_baudrate=400000
    in config.txt); it cannot be set from here.
    """

    def __init__(self, bus=1, path=None, ioctl=None):
        self.path = path if path is not None else "/dev/i2c-%d" % bus
        self._ioctl = ioctl if ioctl is not None else fcntl.ioctl
        self._fd = os.open(self.path, os.O_RDWR)
        try:
            funcs = ctypes.c_ulong(0)
            self._ioctl(self._fd, I2C_FUNCS, funcs)
            if not funcs.value & I2C_FUNC_I2C:
                raise OSError(
                    errno.EOPNOTSUPP,
                    "%s: the adapter does SMBus only, not the plain I2C transfers "
                    "flashbridge needs (I2C_FUNC_I2C)" % self.path,
                )
        except BaseException:
            os.close(self._fd)
            self._fd = None
            raise

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    deinit = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _rdwr(self, addr, wdata, rbuf):
        """One ioctl: a write message (wdata, bytes, may be empty) and/or a read
        message into the writable buffer rbuf; a repeated START between them."""
        if self._fd is None:
            raise OSError(errno.EBADF, "%s is closed" % self.path)
        msgs = (_Msg * 2)()
        n = 0
        keep = []  # the ctypes views must live until the ioctl returns
        if wdata is not None:
            if len(wdata) > MSG_MAX:
                raise ValueError("I2C_RDWR: at most %d bytes per message" % MSG_MAX)
            wb = ctypes.create_string_buffer(bytes(wdata), len(wdata)) if len(wdata) else None
            keep.append(wb)
            msgs[n].addr = addr
            msgs[n].flags = 0
            msgs[n].len = len(wdata)
            msgs[n].buf = ctypes.addressof(wb) if wb is not None else None
            n += 1
        if rbuf is not None:
            mv = memoryview(rbuf)
            if mv.readonly:
                raise TypeError("readfrom_into: the buffer is read-only")
            if len(mv) > MSG_MAX:
                raise ValueError("I2C_RDWR: at most %d bytes per message" % MSG_MAX)
            rb = (ctypes.c_char * len(mv)).from_buffer(mv.cast("B")) if len(mv) else None
            keep.append(rb)
            msgs[n].addr = addr
            msgs[n].flags = I2C_M_RD
            msgs[n].len = len(mv)
            msgs[n].buf = ctypes.addressof(rb) if rb is not None else None
            n += 1
        data = _RdwrData(msgs, n)
        self._ioctl(self._fd, I2C_RDWR, data)
        del keep

    @staticmethod
    def _stop_only(stop):
        if not stop:
            raise ValueError(
                "LinuxI2C: stop=False is not possible, each call is one I2C_RDWR "
                "transaction (the mem methods give the repeated START)"
            )

    def scan(self):
        """Addresses 0x08-0x77 that acknowledge an address-only write (as machine.I2C's
        scan does); an adapter that cannot send one raises its OSError."""
        found = []
        for addr in range(0x08, 0x78):
            try:
                self._rdwr(addr, b"", None)
            except OSError as e:
                if e.errno in (errno.ENXIO, errno.EREMOTEIO, errno.EIO, errno.ETIMEDOUT):
                    continue
                raise
            found.append(addr)
        return found

    def readfrom(self, addr, nbytes, stop=True):
        self._stop_only(stop)
        buf = bytearray(nbytes)
        self._rdwr(addr, None, buf)
        return bytes(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._stop_only(stop)
        self._rdwr(addr, None, buf)

    def writeto(self, addr, buf, stop=True):
        """Write buf; returns len(buf) (every byte acknowledged) or raises OSError."""
        self._stop_only(stop)
        buf = bytes(buf)
        self._rdwr(addr, buf, None)
        return len(buf)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self._rdwr(addr, _memaddr(memaddr, addrsize), buf)
        return bytes(buf)

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        self._rdwr(addr, _memaddr(memaddr, addrsize), buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self._rdwr(addr, _memaddr(memaddr, addrsize) + bytes(buf), None)
