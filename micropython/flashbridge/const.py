# flashbridge protocol numbers, mirrored from include/flashbridge/protocol.h (the one
# source of truth: tests/test_constants.py fails when the two disagree). Names are the
# header's without the FB_ prefix. docs/PROTOCOL.md explains every value.
try:
    from micropython import const
except ImportError:  # CPython (tests, tools)

    def const(x):
        return x


I2C_ADDR = const(0x3B)

# ---- Command codes ----
CMD_WHO_AM_I = const(0x01)
CMD_SET_FILENAME = const(0x03)
CMD_GET_FILENAME = const(0x04)
CMD_CLEAR_FLASH = const(0x10)
CMD_WRITE_DATA = const(0x11)
CMD_READ_SECTOR = const(0x20)
CMD_WRITE_CONFIG = const(0x30)
CMD_READ_CONFIG = const(0x31)
CMD_CLEAR_CONFIG = const(0x32)
CMD_STATUS = const(0x80)
CMD_ERROR = const(0x81)
CMD_FILE_SIZE = const(0x82)  # ext register, 4 bytes big-endian
CMD_CONFIG_BEGIN = const(0x33)  # ext: stage config writes until COMMIT
CMD_CONFIG_COMMIT = const(0x34)  # ext: store the staged zone atomically
CMD_CONFIG_ABORT = const(0x35)  # ext: drop the staged writes
# Streaming extension (docs/PROTOCOL.md "Streaming extension"); used when CAPS is valid.
CMD_APPEND_CRC = const(0x12)
CMD_STREAM_READ = const(0x21)
CMD_CAPS = const(0x83)
CMD_STREAM_STATE = const(0x84)
CMD_EXT_STATUS = const(0x85)  # protocol 2.0: STATUS bits for extension hosts
CMD_ERRORS = const(0x86)  # protocol 2.0: every failure since the last read

# ---- Parameter bytes after the command byte ----
LEN_SET_FILENAME = const(11)
LEN_WRITE_DATA = const(31)
LEN_READ_SECTOR = const(2)
LEN_WRITE_CONFIG = const(31)
LEN_READ_CONFIG = const(2)

FRAME_MAX = const(32)
QUEUE_DEPTH = const(4)

WHO_AM_I_VALUE = const(0x4C)
FILENAME_LEN = const(11)
WRITE_DATA_MAX = const(30)
WRITE_CONFIG_MAX = const(28)
RESPONSE_LEN = const(256)
SECTOR_SIZE = const(256)
SECTOR_INDEX_MAX = const(32767)
CONFIG_SIZE = const(1024)
CONFIG_ERASED = const(0xFF)

# ---- STATUS register bits ----
STATUS_BUSY = const(0x80)
STATUS_ERROR = const(0x40)  # ext
STATUS_READY = const(0x20)  # ext
STATUS_ERASING = const(0x10)  # ext: erasing what a CLEAR freed, in the background
STATUS_FOREIGN = const(0x08)  # ext: flash holds data flashbridge did not write
STATUS_QUEUE_MASK = const(0x07)  # ext: free command slots

# ---- ERROR register bits (sticky until ERROR is read) ----
ERR_BAD_PARAM = const(0x01)
ERR_BAD_NAME = const(0x02)
ERR_FILE_FULL = const(0x04)
ERR_QUEUE_FULL = const(0x08)
ERR_UNKNOWN_CMD = const(0x10)
ERR_FLASH = const(0x20)
ERR_STREAM = const(0x40)  # ext: bad CRC or out-of-sequence frame
ERR_RESERVED = ERR_STREAM  # its name before the streaming extension
ERR_FAILED = const(0x80)

# ---- Data file ----
FLASH_SIZE = const(8 * 1024 * 1024)
ERASE_SECTOR = const(4096)
META_SECTORS = const(2)
FILE_CAPACITY = const(FLASH_SIZE - META_SECTORS * ERASE_SECTOR)
DEFAULT_FILENAME = "DATA    CSV"

# ---- Streaming extension ----
EXT_CRC_POLY = const(0x1021)
EXT_CRC_INIT = const(0xFFFF)
EXT_CRC_CHECK = const(0x29B1)
EXT_VERSION = const(2)  # 2: APPEND_CRC carries its length (n - 1)
EXT_PAYLOAD_MAX = const(256)
APPEND_CRC_OVERHEAD = const(5)  # cmd, seq, n - 1, ..., CRC
EXT_FRAME_MAX = const(EXT_PAYLOAD_MAX + APPEND_CRC_OVERHEAD)
LEN_STREAM_READ = const(10)
CHUNK_TAG = const(0x5A)
CHUNK_OVERHEAD = const(4)
CHUNK_MAX = const(EXT_PAYLOAD_MAX + CHUNK_OVERHEAD)
CAPS_LEN = const(10)
CAPS_MAGIC0 = const(0x46)
CAPS_MAGIC1 = const(0x42)
FEAT_APPEND_CRC = const(0x01)
FEAT_STREAM_READ = const(0x02)
STREAM_STATE_LEN = const(7)

# ---- Worst-case command times, ms (docs/PROTOCOL.md "Timing a host can rely on") ----
# From the datasheet maxima: W25Q64JV page program 3 ms, 4 KiB sector erase 400 ms,
# 64 KiB block erase 2000 ms; STM32F1 page erase 40 ms, half-word program 70 us. A
# metadata compaction is one sector erase and up to 40 page programs (the state: name,
# clear, up to 34 extents, a pending repair, size; and the header). The repair of an
# append a power cut interrupted (docs/STORAGE.md "Repair"): up to three sector erases,
# 32 page programs and 2 records.
_W25_PP_MS = const(3)
_W25_SE_MS = const(400)
_W25_BE64_MS = const(2000)
_F1_PAGE_ERASE_MS = const(40)
_COMPACTION_MS = const(_W25_SE_MS + 40 * _W25_PP_MS)
_REPAIR_MS = const(3 * _W25_SE_MS + 34 * _W25_PP_MS)
# WRITE_DATA: a 4 KiB erase where the file meets the range still to erase, a repair,
# two page programs, and three records that may each compact: 3268 ms.
WORST_WRITE_DATA_MS = const(_W25_SE_MS + _REPAIR_MS + 2 * _W25_PP_MS + 3 * _COMPACTION_MS)
# SET_FILENAME, CLEAR_FLASH: a compaction: 520 ms.
WORST_META_MS = const(_COMPACTION_MS)
# WRITE_CONFIG, CLEAR_CONFIG, CONFIG_COMMIT: at worst a config-zone compaction, two page
# erases and 520 half-words of 70 us (1 KiB snapshot + 16-byte header): 117 ms.
# (Outside a transaction a write or clear is usually one journal record: a few
# half-words, no erase.)
WORST_CONFIG_MS = const(2 * _F1_PAGE_ERASE_MS + (520 * 70 + 999) // 1000)
WORST_COMMIT_MS = const(WORST_CONFIG_MS)
# READ_SECTOR, READ_CONFIG: under 1 ms.
WORST_READ_MS = const(1)
# CONFIG_BEGIN, CONFIG_ABORT, and WRITE_CONFIG / CLEAR_CONFIG inside a transaction: they
# only change the zone staged in RAM: under 1 ms.
WORST_STAGED_MS = const(1)
# Ahead of any command: after CLEAR_FLASH the target erases the freed sectors in the
# background (STATUS.ERASING), and a command that arrives while an erase step is on the
# device waits for it: one 64 KiB block erase (2000 ms) and the progress record it
# leaves in the metadata log (a compaction at worst): 2520 ms. Only one such step can
# come before a command: while commands are queued no new step starts.
WORST_ERASE_AHEAD_MS = const(_W25_BE64_MS + _COMPACTION_MS)

# ---- Names the STeaMi (v1) driver's const modules exported ----
DAPLINK_BRIDGE_DEFAULT_ADDR = const(0x3B)
DAPLINK_BRIDGE_WHO_AM_I_VAL = const(0x4C)
REG_STATUS = const(0x80)
REG_ERROR = const(0x81)
ERROR_BAD_PARAM = const(0x01)
ERROR_CMD_FAILED = const(0x80)
MAX_WRITE_CHUNK = const(30)
