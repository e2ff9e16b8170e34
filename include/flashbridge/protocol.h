/*
 * flashbridge wire protocol: the one source of truth for every number on the bus.
 *
 * Included by the firmware core and the C host library; the MicroPython package's
 * constants are checked against this file by a test. docs/PROTOCOL.md explains each
 * value; change both together.
 *
 * v1 = the protocol STeaMi hosts already speak (byte-compatible).
 * ext = additions that a v1 host never sends and so never sees.
 */
#ifndef FLASHBRIDGE_PROTOCOL_H
#define FLASHBRIDGE_PROTOCOL_H

/* 7-bit target address (0x76/0x77 in 8-bit notation). */
#define FB_I2C_ADDR 0x3Bu

/* ---- Command codes (first byte of every write transfer) ---- */
#define FB_CMD_WHO_AM_I     0x01u /* v1 register, 1 byte: FB_WHO_AM_I_VALUE */
#define FB_CMD_SET_FILENAME 0x03u /* v1: 11-byte 8.3 name, space padded */
#define FB_CMD_GET_FILENAME 0x04u /* v1 register, 11 bytes */
#define FB_CMD_CLEAR_FLASH  0x10u /* v1: empty the data file */
#define FB_CMD_WRITE_DATA   0x11u /* v1: [n, 30 bytes] append n bytes */
#define FB_CMD_READ_SECTOR  0x20u /* v1: [idx_hi, idx_lo] prepare 256 file bytes */
#define FB_CMD_WRITE_CONFIG 0x30u /* v1: [off_hi, off_lo, len, 28 bytes] */
#define FB_CMD_READ_CONFIG  0x31u /* v1: [off_hi, off_lo] prepare 256 config bytes */
#define FB_CMD_CLEAR_CONFIG 0x32u /* v1: config zone back to 0xFF */
#define FB_CMD_STATUS       0x80u /* v1 register, 1 byte, see FB_STATUS_* */
#define FB_CMD_ERROR        0x81u /* v1 register, 1 byte, see FB_ERR_*; read clears */
#define FB_CMD_FILE_SIZE    0x82u /* ext register, 4 bytes big-endian: data file size */
#define FB_CMD_CONFIG_BEGIN  0x33u /* ext: stage config writes until COMMIT */
#define FB_CMD_CONFIG_COMMIT 0x34u /* ext: store the staged zone atomically */
#define FB_CMD_CONFIG_ABORT  0x35u /* ext: drop the staged writes */
/* Streaming extension (ext; docs/PROTOCOL.md "Streaming extension"): long frames with a
 * CRC and a sequence number, streaming reads, and the registers that go with them. */
#define FB_CMD_APPEND_CRC   0x12u /* ext: [seq, n-1, n = 1..256 data bytes, crc_hi, crc_lo] */
#define FB_CMD_STREAM_READ  0x21u /* ext: [offset u32, length u32, crc_hi, crc_lo] */
#define FB_CMD_CAPS         0x83u /* ext register, FB_CAPS_LEN bytes: capabilities */
#define FB_CMD_STREAM_STATE 0x84u /* ext register, FB_STREAM_STATE_LEN bytes */
/* Protocol 2.0 (docs/PROTOCOL.md): the v1 registers show what v1 showed; the extension's
 * state lives in registers only extension hosts read. */
#define FB_CMD_EXT_STATUS   0x85u /* ext register, 1 byte, see FB_STATUS_* below */
#define FB_CMD_ERRORS       0x86u /* ext register, 1 byte: FB_ERR_* since last read */

/* Parameter bytes after the command byte; a write transfer of any other length is
 * rejected with FB_ERR_BAD_PARAM. Register commands take no parameters. */
#define FB_LEN_SET_FILENAME 11u
#define FB_LEN_WRITE_DATA   31u
#define FB_LEN_READ_SECTOR  2u
#define FB_LEN_WRITE_CONFIG 31u
#define FB_LEN_READ_CONFIG  2u

/* Largest v1 write transfer (command byte included); the target also takes extension
 * frames of up to FB_EXT_FRAME_MAX bytes. */
#define FB_FRAME_MAX 32u
/* Commands the target can hold queued (waiting or executing) at once; the STATUS low
 * nibble reports how many slots are free. A command arriving with none free is dropped
 * and reported with FB_ERR_QUEUE_FULL. */
#define FB_QUEUE_DEPTH 4u

#define FB_WHO_AM_I_VALUE     0x4Cu
#define FB_FILENAME_LEN       11u /* 8 name + 3 extension, space padded */
#define FB_WRITE_DATA_MAX     30u /* payload bytes per WRITE_DATA frame */
#define FB_WRITE_CONFIG_MAX   28u /* payload bytes per WRITE_CONFIG frame */
#define FB_RESPONSE_LEN       256u /* READ_SECTOR / READ_CONFIG response */
#define FB_SECTOR_SIZE        256u /* READ_SECTOR granularity */
#define FB_SECTOR_INDEX_MAX   32767u
#define FB_CONFIG_SIZE        1024u
#define FB_CONFIG_ERASED      0xFFu

/* ---- STATUS (0x80) and EXT_STATUS (0x85) bits ----
 * STATUS reads exactly 0x00 or FB_STATUS_BUSY, as v1 did. EXT_STATUS carries every bit
 * below. */
#define FB_STATUS_BUSY        0x80u /* a command is queued or executing */
#define FB_STATUS_ERROR       0x40u /* the ERROR register is non-zero */
#define FB_STATUS_READY       0x20u /* a prepared response waits to be read */
#define FB_STATUS_ERASING     0x10u /* erasing what a CLEAR freed, in the background */
#define FB_STATUS_FOREIGN     0x08u /* flash holds data flashbridge did not write: kept */
#define FB_STATUS_QUEUE_MASK  0x07u /* free command-queue slots (0..7) */

/* ---- ERROR register bits ----
 * Sticky: set bits stay until the host reads ERROR; reading returns and clears them.
 * FB_ERR_FAILED accompanies every other bit (v1 hosts test 0x80). */
#define FB_ERR_BAD_PARAM   0x01u /* frame length, offset/length, index out of range */
#define FB_ERR_BAD_NAME    0x02u /* invalid 8.3 filename */
#define FB_ERR_FILE_FULL   0x04u /* append would pass the data file's capacity */
#define FB_ERR_QUEUE_FULL  0x08u /* command arrived while the queue was full: dropped */
#define FB_ERR_UNKNOWN_CMD 0x10u /* command byte not in this table */
#define FB_ERR_FLASH       0x20u /* a flash device timed out or failed to program */
#define FB_ERR_STREAM      0x40u /* ext frame rejected: bad CRC or out of sequence */
#define FB_ERR_FAILED      0x80u /* the last command (or one before it) failed */

/* ---- Data file ----
 * Data at W25Q64 address 0; the last FB_META_SECTORS 4 KiB sectors hold the metadata
 * log (name, size), so the file may grow to FB_FILE_CAPACITY bytes. */
#define FB_FLASH_SIZE      (8u * 1024u * 1024u)
#define FB_ERASE_SECTOR    4096u
#define FB_META_SECTORS    2u
#define FB_FILE_CAPACITY   (FB_FLASH_SIZE - FB_META_SECTORS * FB_ERASE_SECTOR)
#define FB_DEFAULT_FILENAME "DATA    CSV"

/* ---- Streaming extension (ext) ----
 * Frame check: CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final
 * xor), sent big-endian after the bytes it covers; "123456789" gives FB_EXT_CRC_CHECK. */
#define FB_EXT_CRC_POLY       0x1021u
#define FB_EXT_CRC_INIT       0xFFFFu
#define FB_EXT_CRC_CHECK      0x29B1u
#define FB_EXT_VERSION        2u    /* CAPS version byte (2: APPEND_CRC carries its length) */
#define FB_EXT_PAYLOAD_MAX    256u  /* data bytes per APPEND_CRC frame / STREAM_READ chunk */
/* APPEND_CRC: command, seq, n - 1, n = 1..FB_EXT_PAYLOAD_MAX data bytes, CRC (over all
 * before it, the length byte included); the frame is exactly n + FB_APPEND_CRC_OVERHEAD
 * bytes, or it is rejected (STREAM): no byte added or lost can pass as another frame. */
#define FB_APPEND_CRC_OVERHEAD 5u
#define FB_EXT_FRAME_MAX      (FB_EXT_PAYLOAD_MAX + FB_APPEND_CRC_OVERHEAD)
/* STREAM_READ parameters: offset u32, length u32, CRC. */
#define FB_LEN_STREAM_READ    10u
/* A STREAM_READ chunk, served by a plain read: FB_CHUNK_TAG, seq (chunk index mod 256),
 * up to FB_EXT_PAYLOAD_MAX data bytes, CRC (over tag, seq and data). */
#define FB_CHUNK_TAG          0x5Au
#define FB_CHUNK_OVERHEAD     4u
#define FB_CHUNK_MAX          (FB_EXT_PAYLOAD_MAX + FB_CHUNK_OVERHEAD)
/* CAPS register (0x83): magic 0x46 0x42 ("FB"), version, features, max payload u16,
 * queue depth, reserved 0, CRC over the 8 bytes before it. */
#define FB_CAPS_LEN           10u
#define FB_CAPS_MAGIC0        0x46u
#define FB_CAPS_MAGIC1        0x42u
#define FB_FEAT_APPEND_CRC    0x01u /* FB_CMD_APPEND_CRC */
#define FB_FEAT_STREAM_READ   0x02u /* FB_CMD_STREAM_READ */
/* STREAM_STATE register (0x84): last accepted APPEND_CRC seq, CRC-rejected frames u16
 * (wrapping), data file size u32; one consistent snapshot. */
#define FB_STREAM_STATE_LEN   7u

#endif /* FLASHBRIDGE_PROTOCOL_H */
