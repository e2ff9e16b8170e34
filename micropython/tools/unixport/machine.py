# machine.I2C for MicroPython's unix port, over flashbridge-sim's socket
# (docs/SIM-PROTOCOL.md, TRANSFER op 0x01): runs the package on real MicroPython by
# hand (see micropython/README.md, "Checking on real MicroPython"). Not used by the
# tests. On the port's path it shadows the built-in `machine`, which has no I2C.
#
# Fails as soft I2C does (extmod/machine_i2c.c): an address NACK raises OSError(ENODEV,
# 19); a NACKed data byte raises nothing (writeto returns the count of acknowledged
# bytes, the mem methods return as if all was well, readfrom_mem_into reads nothing).
# Allocation-light (preallocated header buffers, replies read straight into the
# caller's buffer), so heap figures are mostly the package's. Socket path: $FB_SOCK.
import os
import socket
import struct

_ENODEV = 19


class Pin:
    def __init__(self, *args, **kwargs):
        pass


class I2C:
    def __init__(self, id=-1, *args, **kwargs):
        path = os.getenv("FB_SOCK") or "/tmp/fb.sock"
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # The unix port takes a raw sockaddr_un: family (native 16-bit), then the path.
        s.connect(struct.pack("H", socket.AF_UNIX) + path.encode())
        self._s = s
        self._h = bytearray(8)
        self._hv = memoryview(self._h)
        self._m = bytearray(1)
        self._r = bytearray(16)  # discards a reply nobody asked for (never, in practice)
        self._rv = memoryview(self._r)

    def _fill(self, mv):
        got = 0
        n = len(mv)
        while got < n:
            k = self._s.readinto(mv[got:])
            if not k:
                raise OSError(5)
            got += k

    def _x(self, addr, w, rlen, into=None):
        """One TRANSFER: (status, bytes acknowledged); rlen bytes into `into`."""
        wl = len(w)
        struct.pack_into(">BHBHH", self._h, 0, 1, 5 + wl, addr, wl, rlen)
        self._s.write(self._hv[:8])
        if wl:
            self._s.write(w)
        self._fill(self._hv[:4])
        st = self._h[1]
        n = (self._h[2] << 8) | self._h[3]
        self._fill(self._hv[:2])
        acked = (self._h[0] << 8) | self._h[1]
        if n > 2:
            if into is not None:
                self._fill(memoryview(into))
            else:
                n -= 2
                while n:
                    k = n if n < 16 else 16
                    self._fill(self._rv[:k])
                    n -= k
        return st, acked

    def scan(self):
        return [a for a in range(0x08, 0x78) if self._x(a, b"", 0)[0] == 0]

    def readfrom_into(self, addr, buf, stop=True):
        if self._x(addr, b"", len(buf), buf)[0]:
            raise OSError(_ENODEV)

    def readfrom(self, addr, nbytes, stop=True):
        b = bytearray(nbytes)
        self.readfrom_into(addr, b)
        return bytes(b)

    def writeto(self, addr, buf, stop=True):
        st, acked = self._x(addr, buf, 0)
        if st == 1:
            raise OSError(_ENODEV)
        return acked

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        self._m[0] = memaddr
        st, _ = self._x(addr, self._m, len(buf), buf)
        if st == 1:
            raise OSError(_ENODEV)
        if st == 2:
            self._x(addr, b"", 0)  # soft I2C's STOP after the short write

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        b = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, b)
        return bytes(b)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        if self._x(addr, bytes([memaddr]) + bytes(buf), 0)[0] == 1:
            raise OSError(_ENODEV)


SoftI2C = I2C
