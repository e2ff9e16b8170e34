/* Bulk-only transport and SCSI commands over a fake source: every command, the BOT
 * host/device cases, malformed CBWs, sense data, and the medium-change unit attention. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fake_source.h"
#include "fatvol.h"
#include "scsi.h"

#define CAP (256u * 1024u)

struct rig {
    struct fake_source f;
    struct fatvol v;
    struct msc m;
};

/* What the transport saw for one command. */
struct result {
    uint8_t data[8192];
    uint32_t len;
    bool stalled_in, stalled_out, stalled_both;
    uint8_t csw[MSC_CSW_LEN];
    uint32_t residue;
    uint8_t status;
    uint32_t tag;
};

static struct rig *rig_new(void)
{
    struct rig *r = calloc(1, sizeof *r);
    fake_init(&r->f, CAP);
    fake_append(&r->f, 5000, -1);
    static const struct fatvol_params p = {CAP, 0xABCD0000u, "1.2.3"};
    assert_true(fatvol_init(&r->v, &r->f.ops, &p));
    msc_init(&r->m, &r->v);
    return r;
}

static int setup(void **state)
{
    *state = rig_new();
    return 0;
}

static int teardown(void **state)
{
    struct rig *r = *state;
    fake_free(&r->f);
    free(r);
    return 0;
}

static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void make_cbw(uint8_t *c, uint32_t tag, uint32_t len, bool in, const uint8_t *cdb, uint8_t cdb_len)
{
    memset(c, 0, MSC_CBW_LEN);
    memcpy(c, "USBC", 4);
    for (int i = 0; i < 4; i++) {
        c[4 + i] = (uint8_t)(tag >> (8 * i));
        c[8 + i] = (uint8_t)(len >> (8 * i));
    }
    c[12] = in ? 0x80 : 0x00;
    c[14] = cdb_len;
    memcpy(c + 15, cdb, cdb_len);
}

/* Drives one CBW through the transport loop of scsi.h. */
static void run_raw(struct msc *m, const uint8_t *cbw, size_t cbw_len, struct result *res)
{
    memset(res, 0, sizeof *res);
    enum msc_action a = msc_cbw(m, cbw, cbw_len);
    while (a == MSC_SEND_DATA) {
        uint8_t buf[FATVOL_SECTOR];
        uint32_t n = msc_data_in(m, buf);
        assert_true(n <= FATVOL_SECTOR);
        assert_true(res->len + n <= sizeof res->data);
        memcpy(res->data + res->len, buf, n);
        res->len += n;
        a = msc_action(m);
    }
    if (a == MSC_STALL_BOTH) {
        res->stalled_both = true;
        assert_false(msc_csw(m, res->csw));
        return;
    }
    res->stalled_in = a == MSC_STALL_IN;
    res->stalled_out = a == MSC_STALL_OUT;
    assert_true(msc_csw(m, res->csw));
    assert_memory_equal(res->csw, "USBS", 4);
    res->tag = le32(res->csw + 4);
    res->residue = le32(res->csw + 8);
    res->status = res->csw[12];
    assert_int_equal(msc_action(m), MSC_WAIT_CBW);
}

static uint32_t next_tag = 0x1000;

static void run(struct msc *m, uint32_t len, bool in, const uint8_t *cdb, uint8_t cdb_len, struct result *res)
{
    uint8_t cbw[MSC_CBW_LEN];
    uint32_t tag = next_tag++;
    make_cbw(cbw, tag, len, in, cdb, cdb_len);
    run_raw(m, cbw, sizeof cbw, res);
    if (!res->stalled_both)
        assert_int_equal(res->tag, tag);
}

/* REQUEST SENSE with an 18-byte allocation; checks key/ASC/ASCQ. */
static void expect_sense(struct msc *m, uint8_t key, uint8_t asc, uint8_t ascq)
{
    static const uint8_t rs[6] = {0x03, 0, 0, 0, 18, 0};
    struct result r;
    run(m, 18, true, rs, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    assert_int_equal(r.len, 18);
    assert_int_equal(r.data[0], 0x70);
    assert_int_equal(r.data[7], 10);
    assert_int_equal(r.data[2], key);
    assert_int_equal(r.data[12], asc);
    assert_int_equal(r.data[13], ascq);
}

static void expect_failed(const struct result *r, uint32_t residue)
{
    assert_int_equal(r->status, MSC_STATUS_FAILED);
    assert_int_equal(r->len, 0);
    assert_int_equal(r->residue, residue);
}

static const uint8_t k_tur[6] = {0x00};

static void inquiry(void **state)
{
    struct rig *rg = *state;
    struct result r;
    const uint8_t cdb[6] = {0x12, 0, 0, 0, 36, 0};
    run(&rg->m, 36, true, cdb, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    assert_int_equal(r.residue, 0);
    assert_int_equal(r.len, 36);
    assert_int_equal(r.data[0], 0x00); /* direct access block device */
    assert_int_equal(r.data[1], 0x80); /* removable */
    assert_int_equal(r.data[4], 31);
    assert_memory_equal(r.data + 8, "flashbrgflashbridge disk1.2.", 28);
    /* a short allocation gets just that */
    const uint8_t cdb5[6] = {0x12, 0, 0, 0, 5, 0};
    run(&rg->m, 5, true, cdb5, 6, &r);
    assert_int_equal(r.len, 5);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    /* vital product data pages: refused */
    const uint8_t evpd[6] = {0x12, 1, 0x80, 0, 36, 0};
    run(&rg->m, 36, true, evpd, 6, &r);
    expect_failed(&r, 36);
    assert_true(r.stalled_in);
    expect_sense(&rg->m, 0x05, 0x24, 0x00);
}

static void test_unit_ready(void **state)
{
    struct rig *rg = *state;
    struct result r;
    run(&rg->m, 0, false, k_tur, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    assert_int_equal(r.residue, 0);
    assert_false(r.stalled_in || r.stalled_out);
    expect_sense(&rg->m, 0, 0, 0);
}

static void request_sense(void **state)
{
    struct rig *rg = *state;
    struct result r;
    const uint8_t unknown[10] = {0x23, 0, 0, 0, 0, 0, 0, 0, 252, 0}; /* READ FORMAT CAPACITIES */
    run(&rg->m, 252, true, unknown, 10, &r);
    expect_failed(&r, 252);
    assert_true(r.stalled_in);
    expect_sense(&rg->m, 0x05, 0x20, 0x00); /* INVALID COMMAND OPERATION CODE */
    expect_sense(&rg->m, 0, 0, 0);          /* reported once */
    /* a larger allocation still gets 18 bytes, then the IN pipe halts */
    run(&rg->m, 0, false, unknown, 10, &r);
    const uint8_t rs96[6] = {0x03, 0, 0, 0, 96, 0};
    run(&rg->m, 96, true, rs96, 6, &r);
    assert_int_equal(r.len, 18);
    assert_true(r.stalled_in);
    assert_int_equal(r.residue, 96 - 18);
    assert_int_equal(r.data[2], 0x05);
    assert_int_equal(r.data[12], 0x20);
    /* descriptor format: not supported */
    const uint8_t desc[6] = {0x03, 1, 0, 0, 18, 0};
    run(&rg->m, 18, true, desc, 6, &r);
    expect_failed(&r, 18);
    expect_sense(&rg->m, 0x05, 0x24, 0x00);
    /* a command that succeeds clears the sense */
    run(&rg->m, 0, false, unknown, 10, &r);
    run(&rg->m, 0, false, k_tur, 6, &r);
    expect_sense(&rg->m, 0, 0, 0);
}

static void read_capacity(void **state)
{
    struct rig *rg = *state;
    struct result r;
    const uint8_t cdb[10] = {0x25};
    run(&rg->m, 8, true, cdb, 10, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    assert_int_equal(r.len, 8);
    uint32_t last = (uint32_t)r.data[0] << 24 | r.data[1] << 16 | r.data[2] << 8 | r.data[3];
    assert_int_equal(last, fatvol_sectors(&rg->v) - 1u);
    assert_int_equal(r.data[4] << 24 | r.data[5] << 16 | r.data[6] << 8 | r.data[7], 512);
}

static void read10_cdb(uint8_t *c, uint32_t lba, uint16_t count)
{
    memset(c, 0, 10);
    c[0] = 0x28;
    c[2] = (uint8_t)(lba >> 24);
    c[3] = (uint8_t)(lba >> 16);
    c[4] = (uint8_t)(lba >> 8);
    c[5] = (uint8_t)lba;
    c[7] = (uint8_t)(count >> 8);
    c[8] = (uint8_t)count;
}

static void read10(void **state)
{
    struct rig *rg = *state;
    struct result r;
    uint8_t c[10], want[FATVOL_SECTOR];
    /* every sector through READ(10), 8 at a time, equals fatvol_read's */
    uint32_t total = fatvol_sectors(&rg->v);
    for (uint32_t lba = 0; lba < total; lba += 8) {
        uint16_t n = (uint16_t)(total - lba < 8 ? total - lba : 8);
        read10_cdb(c, lba, n);
        run(&rg->m, n * 512u, true, c, 10, &r);
        assert_int_equal(r.status, MSC_STATUS_GOOD);
        assert_int_equal(r.residue, 0);
        assert_int_equal(r.len, n * 512u);
        for (uint32_t i = 0; i < n; i++) {
            assert_int_equal(fatvol_read(&rg->v, lba + i, want), FATVOL_OK);
            assert_memory_equal(r.data + i * 512u, want, 512);
        }
    }
    /* the last sector is readable; one past it is not */
    read10_cdb(c, total - 1u, 1);
    run(&rg->m, 512, true, c, 10, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    read10_cdb(c, total - 1u, 2);
    run(&rg->m, 1024, true, c, 10, &r);
    expect_failed(&r, 1024);
    expect_sense(&rg->m, 0x05, 0x21, 0x00); /* LBA OUT OF RANGE */
    read10_cdb(c, 0xFFFFFFFFu, 1);
    run(&rg->m, 512, true, c, 10, &r);
    expect_failed(&r, 512);
    expect_sense(&rg->m, 0x05, 0x21, 0x00);
    /* zero sectors: nothing moves, all is well */
    read10_cdb(c, 0, 0);
    run(&rg->m, 0, true, c, 10, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    assert_int_equal(r.len, 0);
}

static void mode_sense6(void **state)
{
    struct rig *rg = *state;
    struct result r;
    const uint8_t all[6] = {0x1A, 0, 0x3F, 0, 192, 0};
    run(&rg->m, 192, true, all, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    assert_int_equal(r.len, 4);
    assert_true(r.stalled_in);
    assert_int_equal(r.residue, 188);
    assert_int_equal(r.data[0], 3);
    assert_int_equal(r.data[2], 0x80); /* write protected */
    assert_int_equal(r.data[3], 0);    /* no block descriptor */
    const uint8_t caching[6] = {0x1A, 0, 0x08, 0, 192, 0};
    run(&rg->m, 192, true, caching, 6, &r);
    expect_failed(&r, 192);
    expect_sense(&rg->m, 0x05, 0x24, 0x00);
}

static void prevent_start_stop(void **state)
{
    struct rig *rg = *state;
    struct result r;
    const uint8_t prevent[6] = {0x1E, 0, 0, 0, 1, 0}, allow[6] = {0x1E};
    const uint8_t eject[6] = {0x1B, 0, 0, 0, 0x02, 0}, load[6] = {0x1B, 0, 0, 0, 0x03, 0};
    const uint8_t stop[6] = {0x1B, 0, 0, 0, 0x00, 0}, power[6] = {0x1B, 0, 0, 0, 0x22, 0};
    run(&rg->m, 0, false, prevent, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    run(&rg->m, 0, false, eject, 6, &r);
    expect_failed(&r, 0);
    expect_sense(&rg->m, 0x05, 0x53, 0x02); /* MEDIUM REMOVAL PREVENTED */
    run(&rg->m, 0, false, k_tur, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    run(&rg->m, 0, false, allow, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    run(&rg->m, 0, false, stop, 6, &r); /* no LOEJ: nothing happens */
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    run(&rg->m, 0, false, power, 6, &r); /* a power condition: LOEJ ignored */
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    run(&rg->m, 0, false, k_tur, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    run(&rg->m, 0, false, eject, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    /* ejected: no medium, but INQUIRY still answers */
    run(&rg->m, 0, false, k_tur, 6, &r);
    expect_failed(&r, 0);
    expect_sense(&rg->m, 0x02, 0x3A, 0x00);
    uint8_t c[10];
    read10_cdb(c, 0, 1);
    run(&rg->m, 512, true, c, 10, &r);
    expect_failed(&r, 512);
    expect_sense(&rg->m, 0x02, 0x3A, 0x00);
    const uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
    run(&rg->m, 36, true, inq, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    /* loaded again: a new medium, announced once */
    run(&rg->m, 0, false, load, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    run(&rg->m, 0, false, k_tur, 6, &r);
    expect_failed(&r, 0);
    expect_sense(&rg->m, 0x06, 0x28, 0x00);
    run(&rg->m, 0, false, k_tur, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
}

static void writes_refused(void **state)
{
    struct rig *rg = *state;
    struct result r;
    uint8_t c[10];
    read10_cdb(c, 100, 4);
    c[0] = 0x2A; /* WRITE(10) */
    run(&rg->m, 2048, false, c, 10, &r);
    expect_failed(&r, 2048); /* nothing taken */
    assert_true(r.stalled_out);
    expect_sense(&rg->m, 0x07, 0x27, 0x00); /* DATA PROTECT, WRITE PROTECTED */
    static const uint8_t others[][16] = {{0x0A, 0, 0, 1, 1, 0}, {0x2E, 0, 0, 0, 0, 1, 0, 0, 1, 0},
                                         {0xAA, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0},
                                         {0x8A, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0}};
    static const uint8_t lens[] = {6, 10, 12, 16};
    for (size_t i = 0; i < 4; i++) {
        run(&rg->m, 512, false, others[i], lens[i], &r);
        expect_failed(&r, 512);
        expect_sense(&rg->m, 0x07, 0x27, 0x00);
    }
    /* the volume is untouched */
    assert_int_equal(rg->f.st.size, 5000);
}

static void unknown_commands(void **state)
{
    struct rig *rg = *state;
    struct result r;
    static const uint8_t ops[] = {0x01, 0x04, 0x15, 0x23, 0x2F, 0x35, 0x5A, 0x9E, 0xA0, 0xFF};
    for (size_t i = 0; i < sizeof ops; i++) {
        uint8_t cdb[16] = {ops[i]};
        run(&rg->m, 0, false, cdb, 16, &r);
        expect_failed(&r, 0);
        expect_sense(&rg->m, 0x05, 0x20, 0x00);
    }
}

static void malformed_cbws(void **state)
{
    struct rig *rg = *state;
    struct result r;
    uint8_t c[MSC_CBW_LEN + 1];
    make_cbw(c, 7, 0, false, k_tur, 6);
    run_raw(&rg->m, c, 30, &r); /* short */
    assert_true(r.stalled_both);
    /* nothing more until Reset Recovery */
    make_cbw(c, 8, 0, false, k_tur, 6);
    assert_int_equal(msc_cbw(&rg->m, c, MSC_CBW_LEN), MSC_STALL_BOTH);
    msc_reset(&rg->m);
    run_raw(&rg->m, c, MSC_CBW_LEN, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    assert_int_equal(r.tag, 8);

    run_raw(&rg->m, c, 32, &r); /* long */
    assert_true(r.stalled_both);
    msc_reset(&rg->m);
    c[0] = 'X'; /* signature */
    run_raw(&rg->m, c, MSC_CBW_LEN, &r);
    assert_true(r.stalled_both);
    msc_reset(&rg->m);
    make_cbw(c, 9, 0, false, k_tur, 6);
    c[12] = 0x01; /* reserved flag bit */
    run_raw(&rg->m, c, MSC_CBW_LEN, &r);
    assert_true(r.stalled_both);
    msc_reset(&rg->m);
    make_cbw(c, 9, 0, false, k_tur, 6);
    c[14] = 0; /* CB length 0 */
    run_raw(&rg->m, c, MSC_CBW_LEN, &r);
    assert_true(r.stalled_both);
    msc_reset(&rg->m);
    c[14] = 17; /* CB length past 16 */
    run_raw(&rg->m, c, MSC_CBW_LEN, &r);
    assert_true(r.stalled_both);
    msc_reset(&rg->m);
    make_cbw(c, 9, 0, false, k_tur, 6);
    c[13] = 0x10; /* reserved LUN bits */
    run_raw(&rg->m, c, MSC_CBW_LEN, &r);
    assert_true(r.stalled_both);
    msc_reset(&rg->m);

    /* meaningful but wrong: a LUN we do not have; a CDB shorter than its opcode's */
    make_cbw(c, 10, 0, false, k_tur, 6);
    c[13] = 1;
    run_raw(&rg->m, c, MSC_CBW_LEN, &r);
    expect_failed(&r, 0);
    expect_sense(&rg->m, 0x05, 0x25, 0x00);
    uint8_t rd[10];
    read10_cdb(rd, 0, 1);
    make_cbw(c, 11, 512, true, rd, 6);
    run_raw(&rg->m, c, MSC_CBW_LEN, &r);
    expect_failed(&r, 512);
    expect_sense(&rg->m, 0x05, 0x24, 0x00);

    /* out of sequence: a CBW while a CSW is due is ignored */
    make_cbw(c, 12, 0, false, k_tur, 6);
    assert_int_equal(msc_cbw(&rg->m, c, MSC_CBW_LEN), MSC_SEND_CSW);
    make_cbw(c, 13, 0, false, k_tur, 6);
    assert_int_equal(msc_cbw(&rg->m, c, MSC_CBW_LEN), MSC_SEND_CSW);
    uint8_t csw[MSC_CSW_LEN];
    assert_true(msc_csw(&rg->m, csw));
    assert_int_equal(le32(csw + 4), 12);
    assert_false(msc_csw(&rg->m, csw)); /* one CSW per CBW */
    assert_int_equal(msc_data_in(&rg->m, rd), 0);
}

/* The host/device data-length cases of BOT 6.7 that a device meets. */
static void thirteen_cases(void **state)
{
    struct rig *rg = *state;
    struct result r;
    uint8_t c[10];
    /* case 4, Hi > Dn: halt IN, good, residue all */
    run(&rg->m, 64, true, k_tur, 6, &r);
    assert_true(r.stalled_in);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    assert_int_equal(r.residue, 64);
    /* case 9, Ho > Dn: halt OUT, good, residue all */
    run(&rg->m, 64, false, k_tur, 6, &r);
    assert_true(r.stalled_out);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    assert_int_equal(r.residue, 64);
    /* case 2, Hn < Di: phase error, no data */
    read10_cdb(c, 0, 1);
    run(&rg->m, 0, false, c, 10, &r);
    assert_int_equal(r.status, MSC_STATUS_PHASE_ERROR);
    assert_int_equal(r.len, 0);
    assert_false(r.stalled_in || r.stalled_out);
    /* case 10, Ho <> Di: halt OUT, phase error */
    run(&rg->m, 512, false, c, 10, &r);
    assert_int_equal(r.status, MSC_STATUS_PHASE_ERROR);
    assert_true(r.stalled_out);
    assert_int_equal(r.len, 0);
    /* case 5, Hi > Di: the data, halt IN, residue the rest */
    run(&rg->m, 1000, true, c, 10, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    assert_int_equal(r.len, 512);
    assert_true(r.stalled_in);
    assert_int_equal(r.residue, 488);
    /* case 7, Hi < Di: what the host takes, then phase error */
    read10_cdb(c, 0, 2);
    run(&rg->m, 600, true, c, 10, &r);
    assert_int_equal(r.status, MSC_STATUS_PHASE_ERROR);
    assert_int_equal(r.len, 600);
    assert_int_equal(r.residue, 0);
    assert_false(r.stalled_in);
    uint8_t want[512];
    fatvol_read(&rg->v, 1, want);
    assert_memory_equal(r.data + 512, want, 88);
}

/* The file grows: the PC keeps the old, consistent volume until the change is due, then
 * one UNIT ATTENTION, MEDIUM MAY HAVE CHANGED, then the new volume. */
static void unit_attention_after_change(void **state)
{
    struct rig *rg = *state;
    struct result r;
    uint8_t c[10];
    fake_append(&rg->f, 3000, -1);
    fatvol_poll(&rg->v, 0);
    run(&rg->m, 0, false, k_tur, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD); /* not due yet */
    fatvol_poll(&rg->v, FATVOL_SETTLE_MS);
    /* INQUIRY neither reports nor clears a unit attention */
    const uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
    run(&rg->m, 36, true, inq, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    read10_cdb(c, 0, 1);
    run(&rg->m, 512, true, c, 10, &r);
    expect_failed(&r, 512);
    expect_sense(&rg->m, 0x06, 0x28, 0x00);
    run(&rg->m, 512, true, c, 10, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    assert_int_equal(rg->v.snap.size, 8000);

    /* REQUEST SENSE reports a pending one directly (after a load) and clears it */
    const uint8_t eject[6] = {0x1B, 0, 0, 0, 0x02, 0}, load[6] = {0x1B, 0, 0, 0, 0x03, 0};
    run(&rg->m, 0, false, eject, 6, &r);
    run(&rg->m, 0, false, load, 6, &r);
    expect_sense(&rg->m, 0x06, 0x28, 0x00);
    run(&rg->m, 0, false, k_tur, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);

    /* a CLEAR needs no settling: the next command sees it */
    fake_clear(&rg->f);
    run(&rg->m, 0, false, k_tur, 6, &r);
    expect_failed(&r, 0);
    expect_sense(&rg->m, 0x06, 0x28, 0x00);
    assert_int_equal(rg->v.snap.size, 0);
}

/* A CLEAR starting in the middle of a READ: the read stops with a unit attention
 * instead of mixing old metadata with new bytes. */
static void change_inside_a_read(void **state)
{
    struct rig *rg = *state;
    struct result r;
    uint8_t c[10];
    uint32_t file_lba = rg->v.data_lba + (rg->v.file_cl - 2u) * rg->v.spc;
    rg->f.file_reads = 0;
    rg->f.clear_on_read = 3;
    read10_cdb(c, file_lba, 8);
    run(&rg->m, 4096, true, c, 10, &r);
    assert_int_equal(r.status, MSC_STATUS_FAILED);
    assert_int_equal(r.len, 1024); /* two good sectors */
    assert_true(r.stalled_in);
    assert_int_equal(r.residue, 4096 - 1024);
    expect_sense(&rg->m, 0x06, 0x28, 0x00);
    assert_int_equal(rg->v.snap.size, 0); /* the new snapshot is already taken */
    run(&rg->m, 0, false, k_tur, 6, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
}

static void read_errors(void **state)
{
    struct rig *rg = *state;
    struct result r;
    uint8_t c[10];
    uint32_t file_lba = rg->v.data_lba + (rg->v.file_cl - 2u) * rg->v.spc;
    read10_cdb(c, file_lba, 2);
    rg->f.read_rc = FATVOL_E_BUSY;
    run(&rg->m, 1024, true, c, 10, &r);
    expect_failed(&r, 1024);
    assert_true(r.stalled_in);
    expect_sense(&rg->m, 0x02, 0x04, 0x01); /* BECOMING READY: the PC retries */
    rg->f.read_rc = FATVOL_E_IO;
    run(&rg->m, 1024, true, c, 10, &r);
    expect_failed(&r, 1024);
    expect_sense(&rg->m, 0x03, 0x11, 0x00); /* UNRECOVERED READ ERROR */
    rg->f.read_rc = 0;
    run(&rg->m, 1024, true, c, 10, &r);
    assert_int_equal(r.status, MSC_STATUS_GOOD);
    assert_int_equal(r.data[0], 3); /* byte 0 of the pattern */
}

/* Random CBWs (valid signature; random lengths, directions, CDBs around our opcodes):
 * every command ends in one CSW with the right tag, no more data than the host asked
 * for, residue = asked - sent, and a failed status always leaves sense to read. */
static void random_cbws(void **state)
{
    struct rig *rg = *state;
    static const uint8_t ops[] = {0x00, 0x03, 0x12, 0x1A, 0x1B, 0x1E, 0x25, 0x28, 0x2A, 0x0A, 0x23, 0x5A};
    uint32_t seed = 12345, counts[3] = {0, 0, 0}, bytes = 0;
    for (int i = 0; i < 20000; i++) {
        uint8_t cdb[16], cbw[MSC_CBW_LEN];
        for (int k = 0; k < 16; k++) {
            seed = seed * 1103515245u + 12345u;
            cdb[k] = (uint8_t)(seed >> 16);
        }
        cdb[0] = ops[cdb[15] % sizeof ops];
        /* Half the commands plausible (so that data flows), half anything. */
        bool plausible = cdb[14] & 1;
        if (plausible) {
            cdb[1] = 0;
            cdb[2] = cdb[0] == 0x1A ? 0x3F : 0; /* READ(10): LBA < 65536 */
            cdb[3] = 0;
            cdb[7] = 0;
            cdb[8] &= 7;
            if (cdb[0] == 0x28)
                cdb[4] &= 1;
        }
        seed = seed * 1103515245u + 12345u;
        uint32_t host_len = (seed >> 8) % 5000u;
        bool in = plausible || ((seed >> 4) & 1);
        uint8_t cb_len = plausible ? 16 : (uint8_t)(6 + (seed >> 20) % 11);
        make_cbw(cbw, (uint32_t)i, host_len, in, cdb, cb_len);
        struct result r;
        run_raw(&rg->m, cbw, sizeof cbw, &r);
        assert_false(r.stalled_both);
        assert_int_equal(r.tag, (uint32_t)i);
        assert_true(r.len <= host_len);
        assert_true(r.status <= MSC_STATUS_PHASE_ERROR);
        if (!in)
            assert_int_equal(r.len, 0);
        if (r.status == MSC_STATUS_FAILED) {
            if (r.len == 0)
                assert_int_equal(r.residue, host_len);
            assert_int_not_equal(rg->m.sense_key, 0); /* what REQUEST SENSE will say */
        }
        if (r.status != MSC_STATUS_PHASE_ERROR)
            assert_int_equal(r.residue, host_len - r.len);
        counts[r.status]++;
        bytes += r.len;
        if (rg->m.ejected) { /* keep the medium in most of the time */
            const uint8_t load[6] = {0x1B, 0, 0, 0, 0x03, 0};
            run(&rg->m, 0, false, load, 6, &r);
        }
    }
    /* the mix really exercised all three outcomes and moved data */
    assert_true(counts[0] > 5000 && counts[1] > 5000 && counts[2] > 100);
    assert_true(bytes > 1000000);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(inquiry),        T(test_unit_ready),  T(request_sense),
        T(read_capacity),  T(read10),           T(mode_sense6),
        T(prevent_start_stop), T(writes_refused), T(unknown_commands),
        T(malformed_cbws), T(thirteen_cases),   T(unit_attention_after_change),
        T(change_inside_a_read), T(read_errors), T(random_cbws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
