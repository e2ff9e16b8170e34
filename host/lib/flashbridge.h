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
    FB_HOST_ELOST = -8,    /* a log's bytes are not all on the target (fb_log_t.missing) */
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

struct fb_log;

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
    struct fb_log *log;    /* the log open on this client (fb_log_open), or NULL */
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
/* Append len bytes (an open log on c is flushed first). With the extension: 256-byte
 * APPEND_CRC frames sent on the STATUS free-slot credits; a frame hit by a bus error is
 * sent again under the same sequence number (the target appends it once), and frames
 * the target refused (bad CRC on the wire, out of sequence after a lost frame) are sent
 * again from the first one it did not accept. Returns once the target has stored
 * everything. */
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

/*
 * Line-by-line logging: many small writes coalesced into full APPEND_CRC frames.
 *
 * A 30-byte line in a frame of its own would spend 1 address byte and 5 frame bytes on
 * 30 data bytes (83 % of the bus at best), and a register round trip per call would
 * halve that. So fb_log_write() copies bytes into a 256-byte frame buffer and sends a
 * frame only when it is full, on the delay rule below, or on fb_log_flush(); frames go
 * out on the queue credits of one EXT_STATUS read (f free slots: f frames back to back,
 * no register read between them), and sequence numbers come from the log's own count
 * (STREAM_STATE is read at open, at flush, and to resynchronise after a refusal).
 *
 * Durability contract:
 *   - fb_log_write() returns once its bytes are in the log's buffer or sent to the
 *     target's command queue. It does not wait for flash.
 *   - fb_log_flush() returns FB_HOST_OK once every byte written before it is on flash:
 *     it sends the partial frame, waits until the target is idle, reads STREAM_STATE
 *     and checks that the last sequence number and the file size are what the log sent.
 *     If bytes are missing it returns FB_HOST_ELOST with their count in log->missing
 *     (a write that finds the target has lost frames, e.g. after its reboot, returns
 *     the same). fb_log_close() = fb_log_flush() + release.
 *   - A host reset (or a program that ends without flush/close) loses only the bytes
 *     still in the log's buffer: fewer than 256, none older than delay_ms at the time
 *     of the last fb_log_write(). Frames already sent are programmed by the target on
 *     its own.
 *   - A power cut of the target loses at most the frames queued but not yet programmed
 *     (up to the queue depth, 4 frames, 1 KiB), never a byte whose flush returned.
 *
 * Delay rule (delay_ms, default 1000): a partial frame is sent by the first
 * fb_log_write() made at least delay_ms after its first byte was buffered; there is no
 * timer. 0: every write sends what it has (no coalescing across calls, still
 * pipelined).
 *
 * Repairs: frames sent but not yet known executed (at most the queue depth) are kept.
 * A bus error on a frame sends it again under the same sequence number; a frame the
 * target refused (STREAM: bad CRC or out of sequence; QUEUE_FULL) makes the log wait
 * for the queue to drain, read STREAM_STATE and send again from the first frame it did
 * not accept (the fb_file_append code). A frame is known executed once an EXT_STATUS
 * read with ERROR clear shows fewer frames queued than were sent after it.
 *
 * Errors stick: after a failed call every later write or flush returns the same error
 * (fb_file_size()/fb_stream_state() tell what the target holds) and fb_log_close()
 * releases the client.
 *
 * Order with the client's other calls: while a log is open, every fb_file_* and
 * fb_config_* command, fb_wait_idle() and fb_error() on its client flush the log first
 * (and fail with the flush's error, doing nothing, if the flush fails), so bytes are
 * stored in call order and the log's errors are not read by someone else. Register
 * reads (fb_status, fb_file_size, fb_stream_state...) do not flush: fb_file_size() may
 * lag behind the log until its flush. One log per client (a second open: EINVAL).
 *
 * Targets without the streaming extension (v1, or CAPS version < 2): the log sends its
 * buffer as 30-byte WRITE_DATA frames and waits for the target after each send (v1
 * BUSY wait, then ERROR): correct, not fast; there fb_log_write() returns with the
 * bytes it sent already on flash, and flush checks ERROR but cannot read STREAM_STATE.
 */
#define FB_LOG_DELAY_MS_DEFAULT 1000u
#define FB_LOG_FRAME 256u  /* data bytes per frame (FB_EXT_PAYLOAD_MAX) */
#define FB_LOG_WINDOW 8u   /* frames kept for a resend: more than any queue (0..7 slots) */

/* An APPEND_CRC stream in progress (shared by fb_file_append and fb_log). Private to
 * the library: do not touch. */
typedef struct fb_appender {
    fb_client_t *c;
    size_t payload;     /* data bytes per frame */
    uint32_t size;      /* file size once every frame of the window is stored */
    uint32_t missing;   /* after EPROTO: bytes sent that the target does not hold */
    uint8_t seq;        /* sequence number of the next new frame */
    bool stale;         /* someone else wrote: read STREAM_STATE before the next frame */
    unsigned credits;   /* frames that may still go before the next status read */
    unsigned head, count, nsent; /* window ring: oldest, frames held, frames sent */
    unsigned resyncs;   /* go-back-N without progress */
    uint64_t since;     /* last status read that gave room */
    uint64_t budget;    /* longest the target may take to free a slot */
    struct {
        uint16_t len;
        uint8_t data[FB_LOG_FRAME];
    } win[FB_LOG_WINDOW];
} fb_appender_t;

typedef struct fb_log_opts {
    uint32_t delay_ms; /* see the delay rule; FB_LOG_DELAY_MS_DEFAULT with NULL opts */
} fb_log_opts_t;

typedef struct fb_log {
    fb_client_t *c;     /* NULL once closed */
    uint32_t delay_ms;
    bool ext;           /* APPEND_CRC frames; false: v1 WRITE_DATA frames */
    bool dirty;         /* bytes written since the last successful flush */
    bool busy;          /* inside a log call (the client's flush-first hook stays out) */
    int err;            /* the sticky error, or FB_HOST_OK */
    uint32_t missing;   /* with FB_HOST_ELOST: bytes written that the target lacks */
    uint64_t written;   /* bytes accepted by fb_log_write() since open */
    size_t frame;       /* bytes per send: 256 (APPEND_CRC), 240 (8 WRITE_DATA frames) */
    size_t n;           /* bytes in buf */
    uint64_t first_us;  /* when buf's first byte was buffered (transport clock) */
    uint8_t buf[FB_LOG_FRAME];
    fb_appender_t a;
} fb_log_t;

/* Open a log on c (opts NULL: defaults). Asks the protocol once (CAPS) and reads
 * STREAM_STATE. c must stay valid until fb_log_close(). */
int fb_log_open(fb_log_t *log, fb_client_t *c, const fb_log_opts_t *opts);
/* Append len bytes (see the durability contract). */
int fb_log_write(fb_log_t *log, const void *buf, size_t len);
/* Append the text and a "\n" (always, as the MicroPython write_line: "a\n" gives
 * "a\n\n"), in one call (the delay rule looks once). */
int fb_log_write_line(fb_log_t *log, const char *text);
/* Everything written so far on flash, checked (FB_HOST_ELOST: log->missing bytes lack). */
int fb_log_flush(fb_log_t *log);
/* fb_log_flush() and release the client (even when the flush fails). */
int fb_log_close(fb_log_t *log);

#endif
