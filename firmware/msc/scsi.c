/* Bulk-only transport and SCSI command set for the read-only FAT volume; see scsi.h and
 * docs/USB.md. The thirteen host/device cases are those of the USB Mass Storage Class
 * Bulk-Only Transport 1.0, section 6.7; sense codes are SPC's. */
#include "scsi.h"

#include <string.h>

#define CBW_SIGNATURE 0x43425355u /* "USBC" */
#define CSW_SIGNATURE 0x53425355u /* "USBS" */

enum {
    OP_TEST_UNIT_READY = 0x00,
    OP_REQUEST_SENSE = 0x03,
    OP_WRITE6 = 0x0A,
    OP_INQUIRY = 0x12,
    OP_MODE_SENSE6 = 0x1A,
    OP_START_STOP_UNIT = 0x1B,
    OP_PREVENT_ALLOW = 0x1E,
    OP_READ_CAPACITY10 = 0x25,
    OP_READ10 = 0x28,
    OP_WRITE10 = 0x2A,
    OP_WRITE_VERIFY10 = 0x2E,
    OP_WRITE16 = 0x8A,
    OP_WRITE12 = 0xAA,
};

/* sense key, additional sense code, qualifier */
#define SK_NOT_READY       0x02u
#define SK_MEDIUM_ERROR    0x03u
#define SK_ILLEGAL_REQUEST 0x05u
#define SK_UNIT_ATTENTION  0x06u
#define SK_DATA_PROTECT    0x07u

#define INQUIRY_LEN       36u
#define SENSE_LEN         18u
#define MODE_SENSE6_LEN   4u
#define READ_CAPACITY_LEN 8u

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return be16(p) << 16 | be16(p + 2);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

void msc_init(struct msc *m, struct fatvol *vol)
{
    memset(m, 0, sizeof *m);
    m->vol = vol;
    m->act = MSC_WAIT_CBW;
}

void msc_reset(struct msc *m)
{
    m->act = MSC_WAIT_CBW;
}

enum msc_action msc_action(const struct msc *m)
{
    return m->act;
}

static void fail(struct msc *m, uint8_t key, uint8_t asc, uint8_t ascq)
{
    m->status = MSC_STATUS_FAILED;
    m->sense_key = key;
    m->asc = asc;
    m->ascq = ascq;
    m->dev_len = 0;
}

/* The CDB length SCSI's group code gives the opcode (6, 10, 12 or 16 bytes). */
static uint32_t cdb_len(uint8_t op)
{
    static const uint8_t by_group[8] = {6, 10, 10, 16, 16, 12, 16, 16};
    return by_group[op >> 5];
}

static bool is_write(uint8_t op)
{
    return op == OP_WRITE6 || op == OP_WRITE10 || op == OP_WRITE_VERIFY10 ||
           op == OP_WRITE12 || op == OP_WRITE16;
}

static void start_stop(struct msc *m)
{
    uint8_t b4 = m->cdb[4];
    if ((b4 & 0xF0u) != 0 || (b4 & 0x02u) == 0)
        return; /* a power condition, or no load/eject: nothing to do for us */
    if (b4 & 0x01u) {
        if (m->ejected) {
            m->ejected = false;
            fatvol_apply(m->vol, true);
            m->unit_attention = true;
        }
    } else if (m->prevent) {
        fail(m, SK_ILLEGAL_REQUEST, 0x53, 0x02); /* MEDIUM REMOVAL PREVENTED */
    } else {
        m->ejected = true;
    }
}

/* Runs the command in m->cdb; sets dev_len to the data the device means to send. */
static void execute(struct msc *m, uint8_t lun, uint8_t cb_len)
{
    uint8_t op = m->cdb[0];
    const uint8_t *c = m->cdb;
    if (op != OP_REQUEST_SENSE)
        m->sense_key = m->asc = m->ascq = 0;
    if (lun != 0) {
        fail(m, SK_ILLEGAL_REQUEST, 0x25, 0x00); /* LOGICAL UNIT NOT SUPPORTED */
        return;
    }
    if (cb_len < cdb_len(op)) {
        fail(m, SK_ILLEGAL_REQUEST, 0x24, 0x00); /* INVALID FIELD IN CDB */
        return;
    }
    bool medium = op == OP_TEST_UNIT_READY || op == OP_READ_CAPACITY10 || op == OP_READ10 ||
                 op == OP_MODE_SENSE6 || op == OP_PREVENT_ALLOW || op == OP_START_STOP_UNIT ||
                 is_write(op);
    if (medium) {
        /* A change is only taken between commands, never inside a READ's sectors. */
        if (!m->ejected && fatvol_apply(m->vol, false))
            m->unit_attention = true;
        if (m->unit_attention) {
            m->unit_attention = false;
            fail(m, SK_UNIT_ATTENTION, 0x28, 0x00); /* MEDIUM MAY HAVE CHANGED */
            return;
        }
        if (m->ejected && op != OP_PREVENT_ALLOW && op != OP_START_STOP_UNIT) {
            fail(m, SK_NOT_READY, 0x3A, 0x00); /* MEDIUM NOT PRESENT */
            return;
        }
    }
    switch (op) {
    case OP_INQUIRY:
        if ((c[1] & 0x01u) || c[2] != 0) /* no vital product data pages */
            fail(m, SK_ILLEGAL_REQUEST, 0x24, 0x00);
        else
            m->dev_len = min_u32(INQUIRY_LEN, be16(&c[3]));
        break;
    case OP_REQUEST_SENSE:
        if (c[1] & 0x01u) { /* descriptor format: not supported */
            fail(m, SK_ILLEGAL_REQUEST, 0x24, 0x00);
            break;
        }
        /* Report the pending unit attention first, else the last command's sense;
         * the CDB's bytes 1..3 keep the report for msc_data_in. */
        if (m->unit_attention) {
            m->unit_attention = false;
            m->cdb[1] = SK_UNIT_ATTENTION;
            m->cdb[2] = 0x28;
            m->cdb[3] = 0x00;
        } else {
            m->cdb[1] = m->sense_key;
            m->cdb[2] = m->asc;
            m->cdb[3] = m->ascq;
        }
        m->sense_key = m->asc = m->ascq = 0;
        m->dev_len = min_u32(SENSE_LEN, c[4]);
        break;
    case OP_TEST_UNIT_READY:
        break;
    case OP_PREVENT_ALLOW:
        /* Nothing physical to lock; it only makes an eject request fail. */
        m->prevent = (c[4] & 0x01u) != 0;
        break;
    case OP_READ_CAPACITY10:
        m->dev_len = READ_CAPACITY_LEN;
        break;
    case OP_READ10: {
        uint32_t lba = be32(&c[2]), count = be16(&c[7]);
        uint32_t total = fatvol_sectors(m->vol);
        if (lba > total || count > total - lba) {
            fail(m, SK_ILLEGAL_REQUEST, 0x21, 0x00); /* LBA OUT OF RANGE */
            break;
        }
        m->lba = lba;
        m->dev_len = count * FATVOL_SECTOR;
        break;
    }
    case OP_MODE_SENSE6:
        /* No mode pages: all pages (0x3F) is the header alone; anything else named. */
        if ((c[2] & 0x3Fu) != 0x3Fu)
            fail(m, SK_ILLEGAL_REQUEST, 0x24, 0x00);
        else
            m->dev_len = min_u32(MODE_SENSE6_LEN, c[4]);
        break;
    case OP_START_STOP_UNIT:
        start_stop(m);
        break;
    default:
        if (is_write(op))
            fail(m, SK_DATA_PROTECT, 0x27, 0x00); /* WRITE PROTECTED */
        else
            fail(m, SK_ILLEGAL_REQUEST, 0x20, 0x00); /* INVALID COMMAND OPERATION CODE */
        break;
    }
}

static void end_data(struct msc *m)
{
    m->act = m->sent < m->host_len ? MSC_STALL_IN : MSC_SEND_CSW;
}

enum msc_action msc_cbw(struct msc *m, const uint8_t *pkt, size_t len)
{
    if (m->act != MSC_WAIT_CBW)
        return m->act; /* out of sequence: the transport only reads a CBW when asked */
    /* Not valid (length, signature) or not meaningful (reserved bits, CB length): both
     * pipes halt until Reset Recovery, BOT 6.6.1. */
    if (len != MSC_CBW_LEN || get_le32(pkt) != CBW_SIGNATURE || (pkt[12] & 0x7Fu) != 0 ||
        (pkt[13] & 0xF0u) != 0 || pkt[14] == 0 || pkt[14] > 16) {
        m->act = MSC_STALL_BOTH;
        return m->act;
    }
    uint8_t flags = pkt[12], lun = pkt[13], cb_len = pkt[14];
    m->tag = get_le32(&pkt[4]);
    m->host_len = get_le32(&pkt[8]);
    m->host_in = (flags & 0x80u) != 0;
    memset(m->cdb, 0, sizeof m->cdb);
    memcpy(m->cdb, &pkt[15], cb_len);
    m->sent = 0;
    m->dev_len = 0;
    m->status = MSC_STATUS_GOOD;
    execute(m, lun, cb_len);
    if (m->dev_len == 0) {
        /* Cases 1, 4, 9 (and refused commands): no data; halt the pipe the host wants
         * to use so it moves on to the CSW. */
        m->act = m->host_len == 0 ? MSC_SEND_CSW : m->host_in ? MSC_STALL_IN : MSC_STALL_OUT;
    } else if (m->host_len == 0 || !m->host_in) {
        m->status = MSC_STATUS_PHASE_ERROR; /* cases 2 and 10 */
        m->act = m->host_len == 0 ? MSC_SEND_CSW : MSC_STALL_OUT;
    } else {
        if (m->host_len < m->dev_len) { /* case 7: send what the host takes */
            m->dev_len = m->host_len;
            m->status = MSC_STATUS_PHASE_ERROR;
        }
        m->act = MSC_SEND_DATA;
    }
    return m->act;
}

static void small_response(const struct msc *m, uint8_t *b)
{
    const uint8_t *c = m->cdb;
    switch (c[0]) {
    case OP_INQUIRY: {
        static const uint8_t head[8] = {0x00, 0x80, 0x04, 0x02, INQUIRY_LEN - 5u, 0, 0, 0};
        memcpy(b, head, sizeof head); /* disk, removable, SPC-2, format 2 */
        memcpy(b + 8, "flashbrgflashbridge disk", 24);
        const char *ver = m->vol->version;
        for (uint32_t i = 0; i < 4; i++) /* revision: the version's first 4 characters */
            b[32 + i] = (uint8_t)(*ver != '\0' ? *ver++ : ' ');
        break;
    }
    case OP_REQUEST_SENSE:
        b[0] = 0x70; /* current error, fixed format */
        b[2] = c[1];
        b[7] = SENSE_LEN - 8u;
        b[12] = c[2];
        b[13] = c[3];
        break;
    case OP_READ_CAPACITY10:
        put_be32(b, fatvol_sectors(m->vol) - 1u);
        put_be32(b + 4, FATVOL_SECTOR);
        break;
    default: /* MODE SENSE(6): header only, write-protected */
        b[0] = MODE_SENSE6_LEN - 1u;
        b[2] = 0x80;
        break;
    }
}

uint32_t msc_data_in(struct msc *m, uint8_t *buf)
{
    if (m->act != MSC_SEND_DATA)
        return 0;
    uint32_t n = min_u32(FATVOL_SECTOR, m->dev_len - m->sent);
    if (m->cdb[0] != OP_READ10) {
        memset(buf, 0, INQUIRY_LEN);
        small_response(m, buf);
    } else {
        int rc = fatvol_read(m->vol, m->lba, buf);
        if (rc != FATVOL_OK) {
            if (rc == FATVOL_E_STALE) {
                fatvol_apply(m->vol, false); /* the PC must re-read everything */
                fail(m, SK_UNIT_ATTENTION, 0x28, 0x00);
            } else if (rc == FATVOL_E_BUSY) {
                fail(m, SK_NOT_READY, 0x04, 0x01); /* BECOMING READY: retry */
            } else {
                fail(m, SK_MEDIUM_ERROR, 0x11, 0x00); /* UNRECOVERED READ ERROR */
            }
            end_data(m);
            return 0;
        }
        m->lba++;
    }
    m->sent += n;
    if (m->sent == m->dev_len)
        end_data(m);
    return n;
}

bool msc_csw(struct msc *m, uint8_t csw[MSC_CSW_LEN])
{
    if (m->act != MSC_SEND_CSW && m->act != MSC_STALL_IN && m->act != MSC_STALL_OUT)
        return false;
    put_le32(csw, CSW_SIGNATURE);
    put_le32(csw + 4, m->tag);
    put_le32(csw + 8, m->host_len - m->sent);
    csw[12] = m->status;
    m->act = MSC_WAIT_CBW;
    return true;
}
