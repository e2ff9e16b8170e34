"""A stand-in for the kernel's i2c-dev ioctls, for LinuxI2C tests without an adapter.

ioctl(fd, request, arg) reads the caller's I2C_RDWR structures from memory with the
layout of linux/i2c-dev.h and linux/i2c.h, worked out here from native struct formats
(not from LinuxI2C's ctypes classes), and plays each call on flashbridge-sim as one
TRANSFER (a write message then a read message: repeated START). It refuses what the
kernel refuses (more than 8192 bytes in a message, more than 42 messages) and fails
as adapters do: ENXIO when the address is not acknowledged, EREMOTEIO for a data byte.
"""
import ctypes
import errno
import struct

from mpshim import XFER_ADDR_NACK, XFER_DATA_NACK

I2C_FUNCS = 0x0705
I2C_RDWR = 0x0707
I2C_FUNC_I2C = 0x00000001
I2C_FUNC_SMBUS_EMUL = 0x0EFF0008
I2C_M_RD = 0x0001

_RDWR = "@PI"  # struct i2c_rdwr_ioctl_data { struct i2c_msg *msgs; __u32 nmsgs; }
_MSG = "@HHHP"  # struct i2c_msg { __u16 addr, flags, len; __u8 *buf; }


class FakeI2cDev:
    def __init__(self, link, funcs=I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL):
        self.link = link
        self.funcs = funcs
        self.calls = []  # [(addr, flags, len), ...] per I2C_RDWR

    def ioctl(self, fd, request, arg, mutate=True):
        mv = memoryview(arg).cast("B")
        if request == I2C_FUNCS:
            mv[:] = struct.pack("@L", self.funcs)
            return 0
        if request != I2C_RDWR:
            raise OSError(errno.ENOTTY, "fake i2c-dev: ioctl 0x%X" % request)
        msgs_ptr, nmsgs = struct.unpack_from(_RDWR, bytes(mv))
        if nmsgs > 42:
            raise OSError(errno.EINVAL, "I2C_RDWR: too many messages")
        size = struct.calcsize(_MSG)
        msgs = [
            struct.unpack(_MSG, ctypes.string_at(msgs_ptr + i * size, size))
            for i in range(nmsgs)
        ]
        self.calls.append([(a, f, n) for a, f, n, _ in msgs])
        for _, _, n, _ in msgs:
            if n > 8192:
                raise OSError(errno.EINVAL, "I2C_RDWR: message too long")
        kinds = [f & I2C_M_RD for _, f, _, _ in msgs]
        addr = msgs[0][0]
        if any(a != addr for a, _, _, _ in msgs) or kinds not in ([0], [I2C_M_RD], [0, I2C_M_RD]):
            raise OSError(errno.EOPNOTSUPP, "fake i2c-dev: only write, read, write+read")
        wdata = b""
        rlen = 0
        rbuf = None
        for _, flags, n, buf in msgs:
            if flags & I2C_M_RD:
                rlen, rbuf = n, buf
            else:
                wdata = ctypes.string_at(buf, n) if n else b""
        status, _, rdata = self.link.transfer(addr, wdata, rlen)
        if status == XFER_ADDR_NACK:
            raise OSError(errno.ENXIO, "No such device or address")
        if status == XFER_DATA_NACK:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        if rlen:
            ctypes.memmove(rbuf, rdata, rlen)
        return nmsgs
