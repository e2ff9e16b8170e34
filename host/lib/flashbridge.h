/*
 * flashbridge host library: a client for the flashbridge I2C storage co-processor.
 *
 * Every call returns 0 (or a positive count) on success and a negative FB_HOST_E* code
 * on failure; fb_strerror() names it. Device-reported errors come back as
 * FB_HOST_EDEVICE with the ERROR register's bits in fb_client.last_error, and
 * fb_error_bits_str() spells them out.
 *
 * Waiting: commands that queue work are followed by polling STATUS until BUSY clears,
 * with a timeout derived from the datasheet maximum of the flash work the command
 * implies (see fb_timeout_us()); no fixed sleeps.
 *
 * Protocol: file appends and reads use the streaming extension (256-byte frames with a
 * CRC and sequence numbers, streaming reads; docs/PROTOCOL.md) when the target reports
 * it in its CAPS register, and the v1 frames otherwise. The first append or read asks
 * (fb_protocol()); set proto = FB_PROTO_V1 before it to never use the extension.
 */
#ifndef FLASHBRIDGE_HOST_H
#define FLASHBRIDGE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fb_transport.h"

enum {
    FB_HOST_OK = 0,
    FB_HOST_EIO = -1,      /* transport failure */
    FB_HOST_ENACK = -2,    /* target did not acknowledge */
    FB_HOST_ETIMEOUT = -3, /* BUSY did not clear in time */
    FB_HOST_EDEVICE = -4,  /* target reported an error (see last_error) */
    FB_HOST_EINVAL = -5,   /* bad argument from the caller */
    FB_HOST_EPROTO = -6,   /* unexpected answer (wrong WHO_AM_I, bad size) */
    FB_HOST_ENOTSUP = -7,  /* the target does not offer this (no streaming extension) */
};

typedef enum {
    FB_PROTO_AUTO = 0, /* ask the target (CAPS) on first use */
    FB_PROTO_V1,       /* v1 frames only (30-byte appends, READ_SECTOR) */
    FB_PROTO_EXT,      /* the streaming extension for file appends and reads */
} fb_proto_t;

/* The CAPS register, decoded. */
typedef struct fb_caps {
    uint8_t version;       /* FB_EXT_VERSION */
    uint8_t features;      /* FB_FEAT_* */
    uint16_t max_payload;  /* data bytes per frame / chunk */
    uint8_t queue_depth;
} fb_caps_t;

/* What the streaming code had to do to get the data through (cumulative). */
typedef struct fb_stream_stats {
    unsigned bus_retries;    /* frames sent again after a bus error */
    unsigned resyncs;        /* appends resumed from the target's last accepted frame */
    unsigned read_restarts;  /* streaming reads asked again after a bad chunk */
    unsigned not_ready;      /* chunk reads that found the chunk not yet prepared */
} fb_stream_stats_t;

enum { FB_REGS_UNKNOWN, FB_REGS_V1, FB_REGS_EXT };

typedef struct fb_client {
    fb_transport_t *t;
    uint8_t addr;          /* 7-bit address, FB_I2C_ADDR by default */
    uint8_t last_error;    /* ERROR bits behind the last FB_HOST_EDEVICE */
    uint32_t poll_us;      /* STATUS poll interval (default 500 us) */
    /* Progress callback for long transfers (bytes done, total); may be NULL. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
    /* Streaming extension. proto: FB_PROTO_AUTO until fb_protocol() has asked (then
     * V1 or EXT); set it to FB_PROTO_V1 to force v1. */
    fb_proto_t proto;
    fb_caps_t caps;        /* valid when proto == FB_PROTO_EXT */
    /* Where status and error bits are read (resolved by the first fb_status()):
     * FB_REGS_EXT = EXT_STATUS/ERRORS (protocol 2.0), FB_REGS_V1 = STATUS/ERROR. */
    uint8_t regs;
    unsigned retries;      /* bus errors tolerated per frame or chunk (default 3) */
    fb_stream_stats_t stats;
} fb_client_t;

/* Bind a client to a transport (not owned). Does not talk to the target. */
void fb_client_init(fb_client_t *c, fb_transport_t *t, uint8_t addr7);

const char *fb_strerror(int err);
/* Human-readable list of ERROR bits, e.g. "bad parameter, last command failed". */
const char *fb_error_bits_str(uint8_t bits, char *buf, size_t len);

/* Registers (served at once by the target). */
int fb_who_am_i(fb_client_t *c, uint8_t *id);
/* The target's status with the extension's bits (FB_STATUS_*): EXT_STATUS (0x85) on a
 * protocol 2.0 target, STATUS on older ones. A target whose idle STATUS shows no
 * extension bit (0x00) is asked CAPS once to tell a 2.0 target (EXT_STATUS from then on)
 * from a v1 one (STATUS, BUSY only). */
int fb_status(fb_client_t *c, uint8_t *status);
/* Reads (and so clears) the error bits: ERRORS (0x86, every failure since its last read)
 * on a protocol 2.0 target, ERROR on older ones. */
int fb_error(fb_client_t *c, uint8_t *bits);
/* The v1 registers themselves: STATUS (0x80; 0x00 or 0x80 on protocol 2.0) and ERROR
 * (0x81: the newest queued command's result; reading clears it). */
int fb_v1_status(fb_client_t *c, uint8_t *status);
int fb_v1_error(fb_client_t *c, uint8_t *bits);
int fb_file_size(fb_client_t *c, uint32_t *size);
/* CAPS register: FB_HOST_OK with *caps filled, FB_HOST_ENOTSUP when the target has no
 * streaming extension (its register does not read as a valid CAPS). Asking a target
 * without the extension makes it flag an unknown command; that ERROR is read (cleared)
 * here unless an error was already pending before. */
int fb_caps(fb_client_t *c, fb_caps_t *caps);
/* The protocol appends and reads use: resolves FB_PROTO_AUTO once with fb_caps(). */
int fb_protocol(fb_client_t *c, fb_proto_t *proto);
/* STREAM_STATE register: last accepted APPEND_CRC sequence number, frames rejected for
 * their CRC so far, data file size. Any pointer may be NULL. */
int fb_stream_state(fb_client_t *c, uint8_t *seq, uint16_t *crc_errors, uint32_t *size);

/* Poll STATUS until BUSY clears or timeout_us passes (FB_HOST_ETIMEOUT), then read
 * ERROR: FB_HOST_EDEVICE if any bit was set. */
int fb_wait_idle(fb_client_t *c, uint64_t timeout_us);

/* Config zone (1024 bytes). Writes are split into 28-byte frames. */
int fb_config_read(fb_client_t *c, uint16_t offset, uint8_t *buf, size_t len);
int fb_config_write(fb_client_t *c, uint16_t offset, const uint8_t *buf, size_t len);
int fb_config_clear(fb_client_t *c);

/* Data file. name11: 8.3, space padded, 11 bytes. */
int fb_file_set_name(fb_client_t *c, const char name11[11]);
int fb_file_get_name(fb_client_t *c, char name11[11]);
/* Append len bytes. With the extension: 256-byte APPEND_CRC frames sent on the STATUS
 * free-slot credits; a frame hit by a bus error is sent again under the same sequence
 * number (the target appends it once), and frames the target refused (bad CRC on the
 * wire, out of sequence after a lost frame) are sent again from the first one it did
 * not accept. Returns once the target has stored everything. */
int fb_file_append(fb_client_t *c, const uint8_t *buf, size_t len);
/* Read len bytes at offset (exact bytes, 0xFF included; the caller bounds by size).
 * With the extension: one STREAM_READ, then one plain read per 256-byte chunk, each
 * checked by its CRC and index (a bad one is asked again from its offset). */
int fb_file_read(fb_client_t *c, uint32_t offset, uint8_t *buf, size_t len);
int fb_file_clear(fb_client_t *c);
/* One READ_SECTOR: 256 bytes of file index (0xFF past the end). */
int fb_file_read_sector(fb_client_t *c, uint16_t index, uint8_t out[256]);

/* "NAME.EXT" <-> 11-byte space-padded form. FB_HOST_EINVAL if it does not fit 8.3. */
int fb_name_to_83(const char *dotted, char name11[11]);
void fb_name_from_83(const char name11[11], char *dotted, size_t len);

/* CRC-16/CCITT-FALSE of the streaming extension (poly 0x1021, init 0xFFFF):
 * fb_crc16(0xFFFF, "123456789", 9) == 0x29B1. Same code as the firmware's. */
uint16_t fb_crc16(uint16_t crc, const void *data, size_t n);

/* Worst-case time the target may stay busy for a command, from the datasheet maxima. */
uint64_t fb_timeout_us(uint8_t cmd, uint32_t file_size);

#endif
