/*
 * Pure helpers of the host library: error strings, 8.3 names and the busy-time budget.
 * Nothing here touches the bus, so all of it is tested without a target.
 */
#include <stdio.h>
#include <string.h>

#include "flashbridge.h"
#include "flashbridge/protocol.h"

const char *fb_strerror(int err)
{
    switch (err) {
    case FB_HOST_OK:
        return "success";
    case FB_HOST_EIO:
        return "transport I/O error";
    case FB_HOST_ENACK:
        return "target did not acknowledge (no device at the address?)";
    case FB_HOST_ETIMEOUT:
        return "timed out waiting for the target";
    case FB_HOST_EDEVICE:
        return "the target reported an error";
    case FB_HOST_EINVAL:
        return "invalid argument";
    case FB_HOST_EPROTO:
        return "unexpected answer from the target";
    case FB_HOST_ENOTSUP:
        return "the target does not support this (no streaming extension)";
    case FB_HOST_ELOST:
        return "bytes written to the log are missing on the target";
    default:
        return "unknown error";
    }
}

/* Bit order follows the register, low bit first, so the message reads the way
 * docs/PROTOCOL.md lists the bits. */
static const struct {
    uint8_t bit;
    const char *name;
} error_bit_names[] = {
    {FB_ERR_BAD_PARAM, "bad parameter"},
    {FB_ERR_BAD_NAME, "bad filename"},
    {FB_ERR_FILE_FULL, "file full"},
    {FB_ERR_QUEUE_FULL, "queue full (command dropped)"},
    {FB_ERR_UNKNOWN_CMD, "unknown command"},
    {FB_ERR_FLASH, "flash failure"},
    {FB_ERR_STREAM, "stream frame rejected (bad CRC or sequence)"},
    {FB_ERR_FAILED, "command failed"},
};

const char *fb_error_bits_str(uint8_t bits, char *buf, size_t len)
{
    if (!buf || len == 0)
        return "";
    buf[0] = '\0';
    if (bits == 0) {
        snprintf(buf, len, "none");
        return buf;
    }
    size_t used = 0;
    for (size_t i = 0; i < sizeof error_bit_names / sizeof error_bit_names[0]; i++) {
        if (!(bits & error_bit_names[i].bit))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                         error_bit_names[i].name);
        /* Stop at the first truncation: buf stays NUL-terminated by snprintf. */
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
    return buf;
}

int fb_name_to_83(const char *dotted, char name11[11])
{
    if (!dotted || !name11)
        return FB_HOST_EINVAL;
    const char *dot = strchr(dotted, '.');
    size_t name_len = dot ? (size_t)(dot - dotted) : strlen(dotted);
    const char *ext = dot ? dot + 1 : "";
    size_t ext_len = strlen(ext);
    if (name_len < 1 || name_len > 8 || ext_len > 3 || strchr(ext, '.'))
        return FB_HOST_EINVAL;
    /* Characters are passed through untouched: the target owns the rule of what a
     * valid name is and answers FB_ERR_BAD_NAME, so the two can never disagree. */
    memset(name11, ' ', FB_FILENAME_LEN);
    memcpy(name11, dotted, name_len);
    memcpy(name11 + 8, ext, ext_len);
    return FB_HOST_OK;
}

/* Length of a space-padded field without its padding (a NUL also ends it, so an erased
 * or garbled name never prints past its field). */
static size_t field_len(const char *f, size_t n)
{
    size_t len = 0;
    while (len < n && f[len] != '\0')
        len++;
    while (len > 0 && f[len - 1] == ' ')
        len--;
    return len;
}

void fb_name_from_83(const char name11[11], char *dotted, size_t len)
{
    if (!dotted || len == 0)
        return;
    if (!name11) {
        dotted[0] = '\0';
        return;
    }
    size_t nl = field_len(name11, 8);
    size_t el = field_len(name11 + 8, 3);
    if (el)
        snprintf(dotted, len, "%.*s.%.*s", (int)nl, name11, (int)el, name11 + 8);
    else
        snprintf(dotted, len, "%.*s", (int)nl, name11);
}

/*
 * Busy-time budget, from the datasheet maxima (typical values are 5-10x lower; figures
 * as collected in the project's hardware-facts notes):
 *   W25Q64JV AC characteristics: page program tPP max 3 ms, 4 KiB sector erase tSE max
 *   400 ms. STM32F103 flash memory characteristics: page erase tERASE max 40 ms,
 *   half-word program tPROG max 70 us.
 *
 * Worst case of the flash work one command may cause on the target:
 *   metadata compaction  = a metadata record finds the log sector full: erase the other
 *                          sector, write the state (name, clear, up to 34 extents, a
 *                          pending repair, size) and the header = tSE + 40 tPP =  520 ms
 *   WRITE_DATA           = the file meets the range a CLEAR left to erase: one 4 KiB
 *                          erase and its record; bytes a cut left behind: the repair
 *                          (docs/STORAGE.md: up to three 4 KiB erases, 32 page
 *                          programs, 2 records = 3 tSE + 34 tPP = 1302 ms); 30 bytes
 *                          over 2 pages; the size record. Each of three records may
 *                          compact          = tSE + 1302 + 2 tPP + 3 x 520 ms = 3268 ms
 *   CLEAR_FLASH,
 *   SET_FILENAME         = one metadata record (data sectors are erased in the
 *                          background, whatever the file size)              =  520 ms
 *   WRITE_CONFIG,
 *   CLEAR_CONFIG,
 *   CONFIG_COMMIT        = a compaction of the config journal: 2 page erases and the
 *                          1 KiB snapshot plus header as half-words
 *                                                = 2 x 40 ms + 520 x 70 us  =  117 ms
 *   READ_SECTOR,
 *   READ_CONFIG, others  = no erase or program, only SPI/flash reads          =   10 ms
 * Ahead of any of them the target may be in the middle of a background erase step
 * (EXT_STATUS ERASING): a 64 KiB block, tBE2 max 2 s, and its record    = 2520 ms.
 *
 * The command we wait for may have up to FB_QUEUE_DEPTH commands queued ahead of it,
 * hence x (1 + FB_QUEUE_DEPTH); then +50 % margin for the main loop's own overhead and
 * a poll interval's granularity. So WRITE_DATA waits at most
 * (2520 + 3268 x 5) ms x 1.5 = 28.3 s. file_size is kept in the signature for targets
 * that would erase eagerly on CLEAR_FLASH; flashbridge does not.
 */
#define W25_PP_US 3000u
#define W25_SE_US 400000u
#define W25_BE64_US 2000000u
#define F1_PAGE_ERASE_US 40000u
#define F1_HALFWORD_US 70u
#define COMPACTION_US (W25_SE_US + 40u * W25_PP_US)
#define REPAIR_US (3u * W25_SE_US + 34u * W25_PP_US)
#define ERASE_AHEAD_US (W25_BE64_US + COMPACTION_US)
#define READ_US 10000u

uint64_t fb_timeout_us(uint8_t cmd, uint32_t file_size)
{
    (void)file_size;
    uint64_t one;
    switch (cmd) {
    case FB_CMD_WRITE_DATA:
    case FB_CMD_APPEND_CRC: /* 256 bytes straddle at most two pages, like 30 */
        one = W25_SE_US + REPAIR_US + 2u * W25_PP_US + 3u * COMPACTION_US;
        break;
    case FB_CMD_CLEAR_FLASH:
    case FB_CMD_SET_FILENAME:
        one = COMPACTION_US;
        break;
    case FB_CMD_WRITE_CONFIG:
    case FB_CMD_CLEAR_CONFIG:
    case FB_CMD_CONFIG_COMMIT:
        one = 2u * F1_PAGE_ERASE_US + (FB_CONFIG_SIZE + 16u) / 2u * F1_HALFWORD_US;
        break;
    default:
        /* Reads, and anything else the target would only look at. */
        one = READ_US;
        break;
    }
    return (ERASE_AHEAD_US + one * (1u + FB_QUEUE_DEPTH)) * 3u / 2u;
}
