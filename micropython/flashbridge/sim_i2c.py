# SimI2C: machine.I2C's methods over flashbridge-sim's socket (docs/SIM-PROTOCOL.md,
# TRANSFER op 0x01), for CI and for trying the package without a board:
#
#     flashbridge-sim --socket /tmp/fb.sock --realtime &
#     from flashbridge import DaplinkFlash
#     from flashbridge.sim_i2c import SimI2C
#     flash = DaplinkFlash(SimI2C("/tmp/fb.sock"))
#
# CPython only (not installed on boards: package.json leaves it out). It fails as
# LinuxI2C does: an address not acknowledged raises OSError(ENXIO), a written byte not
# acknowledged OSError(EREMOTEIO); writeto() returns the full length or raises.
#
# The package waits with CPython's time.sleep, on the wall clock: start the simulator
# with --realtime, so that the board's virtual time follows the wall clock (without it,
# virtual time only moves with the transfers' bus time and every wait looks instant
# to the board; the package still works, but its timeouts are then meaningless).
import errno
import socket
import struct

OP_TRANSFER = 0x01
OP_HELLO = 0x06
_ST_OK = 0
_ST_ADDR_NACK = 1
_ST_DATA_NACK = 2
XFER_MAX = 4096  # wlen and rlen limit of the socket protocol


def _memaddr(memaddr, addrsize):
    if addrsize % 8 or not 8 <= addrsize <= 32:
        raise ValueError("invalid addrsize")
    return bytes((memaddr >> s) & 0xFF for s in range(addrsize - 8, -8, -8))


class SimI2C(object):
    """The simulated board's I2C bus, reached over the simulator's Unix socket.

    Args:
        path: the socket (flashbridge-sim --socket PATH).
        timeout: seconds to wait for a reply before socket.timeout (None: forever).

    `bus_hz` is the simulated bus speed, from the HELLO reply.
    """

    def __init__(self, path, timeout=None):
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(path)
            status, reply = self._request(OP_HELLO, b"")
            if status != _ST_OK or len(reply) != 5:
                raise OSError(errno.EPROTO, "%s: not a flashbridge-sim socket" % path)
            self.sim_version, self.bus_hz = struct.unpack(">BI", reply)
        except BaseException:
            self._sock.close()
            raise

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    deinit = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _recv(self, n):
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = self._sock.recv_into(view[got:])
            if not k:
                raise OSError(errno.ECONNRESET, "flashbridge-sim closed the connection")
            got += k
        return buf

    def _request(self, op, payload):
        if self._sock is None:
            raise OSError(errno.EBADF, "SimI2C is closed")
        self._sock.sendall(struct.pack(">BH", op, len(payload)) + payload)
        rop, status, n = struct.unpack(">BBH", self._recv(4))
        if rop != op | 0x80:
            raise OSError(errno.EPROTO, "reply op 0x%02X to op 0x%02X" % (rop, op))
        return status, self._recv(n) if n else b""

    def _transfer(self, addr, wdata, rlen):
        """One transaction; returns the bytes read (a bytearray of rlen)."""
        if len(wdata) > XFER_MAX or rlen > XFER_MAX:
            raise ValueError("SimI2C: at most %d bytes per transfer" % XFER_MAX)
        status, reply = self._request(
            OP_TRANSFER, struct.pack(">BHH", addr, len(wdata), rlen) + wdata
        )
        if status == _ST_ADDR_NACK:
            raise OSError(errno.ENXIO, "I2C address 0x%02X not acknowledged" % addr)
        if status == _ST_DATA_NACK:
            (acked,) = struct.unpack(">H", reply[:2])
            raise OSError(
                errno.EREMOTEIO, "I2C byte %d of %d not acknowledged" % (acked, len(wdata))
            )
        if status != _ST_OK:
            raise OSError(errno.EPROTO, "flashbridge-sim: TRANSFER status 0x%02X" % status)
        return memoryview(reply)[2:]

    @staticmethod
    def _stop_only(stop):
        if not stop:
            raise ValueError("SimI2C: stop=False is not possible, each call is one transaction")

    def scan(self):
        found = []
        for addr in range(0x08, 0x78):
            try:
                self._transfer(addr, b"", 0)
            except OSError as e:
                if e.errno != errno.ENXIO:
                    raise
                continue
            found.append(addr)
        return found

    def readfrom(self, addr, nbytes, stop=True):
        self._stop_only(stop)
        return bytes(self._transfer(addr, b"", nbytes))

    def readfrom_into(self, addr, buf, stop=True):
        self._stop_only(stop)
        mv = memoryview(buf)
        mv[:] = self._transfer(addr, b"", len(mv))

    def writeto(self, addr, buf, stop=True):
        self._stop_only(stop)
        buf = bytes(buf)
        self._transfer(addr, buf, 0)
        return len(buf)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        return bytes(self._transfer(addr, _memaddr(memaddr, addrsize), nbytes))

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        mv = memoryview(buf)
        mv[:] = self._transfer(addr, _memaddr(memaddr, addrsize), len(mv))

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self._transfer(addr, _memaddr(memaddr, addrsize) + bytes(buf), 0)
