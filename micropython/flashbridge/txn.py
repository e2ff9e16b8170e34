# The config transaction (CONFIG_BEGIN, staged CLEAR/WRITE_CONFIG, CONFIG_COMMIT or
# CONFIG_ABORT): replace_config() and supports("config_txn"). Imported when first used.
from .link import CAP_CONFIG_MS, CAP_READ_MS, PROTO_V1
from .errors import FlashBridgeError
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x

# Protocol numbers from const.py, private so that MicroPython folds them into the
# code and keeps no global for them (tests/test_constants.py checks the values).
_CMD_CLEAR_CONFIG = const(0x32)
_CMD_CONFIG_ABORT = const(0x35)
_CMD_CONFIG_BEGIN = const(0x33)
_CMD_CONFIG_COMMIT = const(0x34)
_CMD_WRITE_CONFIG = const(0x30)
_CONFIG_SIZE = const(1024)
_ERR_FAILED = const(0x80)
_ERR_UNKNOWN_CMD = const(0x10)
_WORST_COMMIT_MS = const(117)
_WORST_STAGED_MS = const(1)


def replace_config(b, data):
    """Replace the whole config zone with `data` (bytes, or a str as UTF-8).

    With the target's config transaction (found once, on the first call): BEGIN,
    CLEAR_CONFIG, the WRITE_CONFIG frames, COMMIT. The zone changes all at once: a
    power cut or an error leaves the old content or the new, never a mix. On any
    failure the transaction is aborted and the error raised. A target without the
    transaction (STeaMi v1 firmware, flashbridge before it) gets clear then write,
    as v1 did: a power cut between the two leaves an empty or partial zone.
    ValueError, before anything is sent, if `data` is larger than the zone.
    """
    if isinstance(data, str):
        data = data.encode()
    if len(data) > _CONFIG_SIZE:
        raise ValueError("data exceeds config zone boundary")
    if b._txn is False or not txn_begin(b):
        b.clear_config()
        if len(data):
            b.write_config(data)
        return
    try:
        c1 = b._c1
        c1[0] = _CMD_CLEAR_CONFIG
        b._command("CLEAR_CONFIG", c1, _WORST_STAGED_MS, CAP_READ_MS)
        if len(data):
            b._stream(
                "WRITE_CONFIG", _CMD_WRITE_CONFIG, memoryview(data), 0,
                _WORST_STAGED_MS, CAP_READ_MS,
            )
        c1[0] = _CMD_CONFIG_COMMIT
        b._command("CONFIG_COMMIT", c1, _WORST_COMMIT_MS, CAP_CONFIG_MS)
    except BaseException:  # KeyboardInterrupt too: never leave the staging open
        txn_abort(b)
        raise


def txn_begin(b):
    """Open a config transaction: True once CONFIG_BEGIN has been accepted, False if
    the target has no transaction.

    Found once and remembered. A STeaMi v1 target (told apart from its STATUS)
    predates the extension and is not asked. A flashbridge target without it
    answers CONFIG_BEGIN with UNKNOWN_CMD, which is taken as the answer (any other
    error bits read with it belong to an earlier command and are raised). Any other
    failure aborts what BEGIN may have opened and is raised.
    """
    if b._txn is None:
        proto = b.capabilities()
        if "config_txn" in b._ext:
            b._txn = True
        elif proto == PROTO_V1:
            b._txn = False
    if b._txn is False:
        return False
    probing = b._txn is None
    b._c1[0] = _CMD_CONFIG_BEGIN
    try:
        b._command("CONFIG_BEGIN", b._c1, _WORST_STAGED_MS, CAP_READ_MS)
    except FlashBridgeError as e:
        if probing and e.bits & _ERR_UNKNOWN_CMD:
            b._txn = False
            other = e.bits & ~(_ERR_UNKNOWN_CMD | _ERR_FAILED)
            if other:
                raise FlashBridgeError(other | _ERR_FAILED, "CONFIG_BEGIN")
            return False
        txn_abort(b)
        raise
    except BaseException:
        txn_abort(b)
        raise
    b._txn = True
    return True


def txn_abort(b):
    """Drop the target's staged zone after a failure. Best effort: its own errors
    are ignored (the failure being raised is the one that matters); the committed
    zone is unchanged either way."""
    c1 = b._c1
    c1[0] = _CMD_CONFIG_ABORT
    try:
        b._command("CONFIG_ABORT", c1, _WORST_STAGED_MS, CAP_READ_MS)
    except Exception:
        pass
