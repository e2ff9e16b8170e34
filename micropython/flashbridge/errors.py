# Exceptions raised by the flashbridge driver.
#
# Both derive from OSError, which is what the STeaMi (v1) driver raised, so existing
# `except OSError:` handlers keep catching them.
#
# The errno module is an EXTRA-feature-level module (MICROPY_PY_ERRNO in py/mpconfig.h):
# nRF51/nRF52832 and SAMD21 builds, among others, have no errno nor uerrno. The numbers
# are then MicroPython's own (py/mperrno.h: MP_EIO 5, MP_ENODEV 19, MP_ETIMEDOUT 110),
# which is what its OSErrors carry on those ports.
try:
    from errno import EIO, ENODEV, ETIMEDOUT
except ImportError:
    try:
        from uerrno import EIO, ENODEV, ETIMEDOUT
    except ImportError:
        EIO = 5
        ENODEV = 19
        ETIMEDOUT = 110

# ERROR register bits, lowest first, as docs/PROTOCOL.md names them.
_BIT_NAMES = (
    (0x01, "bad parameter"),
    (0x02, "bad filename"),
    (0x04, "file full"),
    (0x08, "queue full"),
    (0x10, "unknown command"),
    (0x20, "flash failure"),
    (0x40, "stream frame refused"),  # bad CRC or out of sequence (ext)
    (0x80, "last command failed"),
)


def error_names(bits):
    """Names of the ERROR register bits set in `bits`, lowest bit first."""
    return [name for mask, name in _BIT_NAMES if bits & mask]


class FlashBridgeError(OSError):
    """The target reported a failure.

    Attributes: `bits` (the ERROR register value that was read and cleared), `op` (what
    the driver was doing), `errno` (EIO). str() gives e.g.
    "WRITE_CONFIG: bad parameter, last command failed (ERROR=0x81)".
    """

    def __init__(self, bits, op="", detail=None, errno=EIO):
        if detail is None:
            names = error_names(bits)
            detail = ", ".join(names) if names else "failed"
            detail += " (ERROR=0x%02X)" % bits
        msg = op + ": " + detail if op else detail
        super().__init__(errno, msg)
        self.bits = bits
        self.op = op
        self.message = msg

    def __str__(self):
        return self.message


class FlashBridgeTimeout(FlashBridgeError):
    """The target stayed busy longer than its datasheet worst case allows.

    `bits` is 0; `status` is the last STATUS value read; `errno` is ETIMEDOUT.
    """

    def __init__(self, op, waited_ms, status):
        detail = "still busy after %d ms (STATUS=0x%02X)" % (waited_ms, status)
        super().__init__(0, op, detail, ETIMEDOUT)
        self.status = status
        self.waited_ms = waited_ms
