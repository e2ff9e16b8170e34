/*
 * An in-process stand-in for a flashbridge target behind an fb_transport: registers,
 * a command queue of FB_QUEUE_DEPTH slots, a data file and the config zone, with knobs
 * to script what the client must cope with (busy for N polls, error bits, NACKs,
 * missing READY) and counters that check what the client did (frames beyond the
 * credits it was given, dropped frames, plain reads with nothing prepared).
 *
 * Time is virtual: sleep_us advances it, and so does every transaction by xfer_cost_us.
 * The queue advances on STATUS reads: each command stays cmd_polls STATUS reads at the
 * head of the queue, then runs (0 = commands run as they arrive).
 *
 * With ext set it also has the streaming extension (CAPS, STREAM_STATE, APPEND_CRC,
 * STREAM_READ, by the rules of docs/PROTOCOL.md), and knobs that damage single frames
 * or chunk reads; without it, 0x83 and the extension commands are unknown, like a
 * target of protocol v1.1.
 */
#ifndef MOCK_TARGET_H
#define MOCK_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fb_transport.h"
#include "flashbridge/protocol.h"

#define MOCK_FRAME_LOG_MAX 64 /* bytes of each written frame kept in the log */

typedef struct mock_xfer {
    uint8_t w[MOCK_FRAME_LOG_MAX];
    size_t wlen;
    size_t rlen;
    int rc;
} mock_xfer_t;

typedef struct mock_target {
    fb_transport_t base;
    uint8_t addr;

    /* Target state. */
    uint8_t who_am_i;
    char name[FB_FILENAME_LEN];
    uint8_t *file;
    size_t file_size;
    size_t file_cap;            /* appends past this set FILE_FULL */
    uint8_t config[FB_CONFIG_SIZE];
    uint8_t error;
    uint8_t resp[FB_CHUNK_MAX];
    size_t resp_len;
    bool ready;
    bool resp_consumable;       /* a streaming chunk (consumed by a full read) */
    struct {
        uint8_t frame[FB_EXT_FRAME_MAX + 8];
        size_t len;
        unsigned polls_left;
    } q[FB_QUEUE_DEPTH];
    unsigned qn;

    /* Script. */
    unsigned cmd_polls;         /* STATUS reads each command stays queued */
    bool stuck_busy;            /* the queue never advances */
    bool v1_status;             /* STATUS carries BUSY only, like the v1 firmware */
    bool never_ready;           /* READY never set (responses still prepared) */
    bool error_flag_stuck;      /* STATUS shows ERROR even with the register at 0 */
    bool absent;                /* nothing answers: every transaction NACKs */
    long nack_xfer;             /* NACK the transaction with this index (-1: none) */
    long nack_frame;            /* NACK the command frame with this 1-based index (0: none) */
    long eio_xfer;              /* fail the transaction with this index with EIO (-1) */
    uint8_t fail_cmd;           /* when this command runs, set fail_bits instead */
    uint8_t fail_bits;
    bool size_override;         /* FILE_SIZE answers size_value */
    uint32_t size_value;
    uint64_t xfer_cost_us;

    /* Streaming extension. */
    bool ext;
    uint8_t caps_version;       /* CAPS version byte; 0 = FB_EXT_VERSION */
    uint8_t last_seq;           /* last accepted APPEND_CRC */
    uint16_t crc_errors;
    struct {
        bool on;
        uint32_t next, left;
        uint8_t seq;
    } stream;
    long corrupt_frame;         /* flip a bit of the command frame with this 1-based index */
    long lost_ack_frame;        /* deliver this 1-based frame, but the host hears EIO */
    long corrupt_read;          /* flip a bit of the plain read with this 1-based index */
    long eio_read;              /* this 1-based plain read fails with EIO, not delivered */
    unsigned chunk_late;        /* so many chunk reads find the chunk not yet prepared */
    long reboot_frame;          /* before this 1-based frame the target reboots: the
                                 * frame is lost and last_seq starts again at 0 */

    /* Observations. */
    uint64_t now_us;
    unsigned nxfers;
    unsigned status_reads;
    unsigned error_reads;
    unsigned frames;            /* command frames received */
    unsigned dropped;           /* frames that met a full queue */
    unsigned credit_violations; /* frames beyond the free slots of the last STATUS */
    unsigned max_burst;         /* most frames sent between two STATUS reads */
    unsigned sleeps;
    uint64_t slept_us;
    unsigned unprepared_reads;  /* plain reads with no response prepared */
    unsigned plain_reads;
    unsigned caps_reads;
    unsigned last_credits;
    unsigned burst;
    mock_xfer_t *log;
    size_t nlog, caplog;
} mock_target_t;

/* Fresh target: default name, empty file (capacity FB_FILE_CAPACITY), config erased. */
void mock_init(mock_target_t *m);
void mock_free(mock_target_t *m);
/* Replace the file contents (copied). */
void mock_set_file(mock_target_t *m, const uint8_t *data, size_t len);
/* Log entry i (0-based) of the transactions seen so far. */
const mock_xfer_t *mock_log(const mock_target_t *m, size_t i);
/* Number of logged command frames whose first byte is cmd. */
unsigned mock_count_frames(const mock_target_t *m, uint8_t cmd);
/* The k-th (0-based) logged command frame with first byte cmd, or NULL. */
const mock_xfer_t *mock_nth_frame(const mock_target_t *m, uint8_t cmd, unsigned k);

#endif
