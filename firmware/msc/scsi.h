/* USB mass storage bulk-only transport (BOT 1.0) and the SCSI commands a PC sends to a
 * read-only removable disk, over a fatvol. No USB registers here: the transport feeds
 * received CBW bytes in and sends what this layer produces; docs/USB.md has the table.
 *
 * Transport loop (one command):
 *   act = msc_cbw(m, pkt, len);
 *   while (act == MSC_SEND_DATA) { n = msc_data_in(m, sector_buf); send n bytes;
 *                                  act = msc_action(m); }
 *   MSC_STALL_IN / MSC_STALL_OUT: halt that bulk endpoint (the host clears it), then
 *   MSC_SEND_CSW (and after a stall): msc_csw(m, csw13); send the 13 bytes.
 *   MSC_STALL_BOTH: the CBW was invalid; halt both endpoints until the host's Reset
 *   Recovery (Bulk-Only Mass Storage Reset, then msc_reset()). */
#ifndef FB_SCSI_H
#define FB_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fatvol.h"

#define MSC_CBW_LEN 31u
#define MSC_CSW_LEN 13u

enum msc_action {
    MSC_WAIT_CBW,
    MSC_SEND_DATA,
    MSC_STALL_IN,
    MSC_STALL_OUT,
    MSC_SEND_CSW,
    MSC_STALL_BOTH,
};

/* CSW status */
#define MSC_STATUS_GOOD        0u
#define MSC_STATUS_FAILED      1u /* CHECK CONDITION: the host sends REQUEST SENSE */
#define MSC_STATUS_PHASE_ERROR 2u /* host and device disagree on the data phase */

struct msc {
    struct fatvol *vol;
    enum msc_action act;
    uint32_t tag;
    uint32_t host_len;  /* dCBWDataTransferLength */
    uint32_t dev_len;   /* what the device sends in this data phase (<= host_len) */
    uint32_t sent;
    uint32_t lba;       /* READ(10): next sector */
    uint8_t cdb[16];    /* the command, kept to build its data lazily */
    uint8_t status;
    uint8_t sense_key, asc, ascq;
    bool host_in;       /* CBW direction bit */
    bool unit_attention;
    bool ejected;
    bool prevent;
};

void msc_init(struct msc *m, struct fatvol *vol);
/* Bulk-Only Mass Storage Reset (class request): ready for a CBW; sense state kept. */
void msc_reset(struct msc *m);
enum msc_action msc_cbw(struct msc *m, const uint8_t *pkt, size_t len);
enum msc_action msc_action(const struct msc *m);
/* Next chunk of the data phase into buf (room for 512 bytes); returns its length. */
uint32_t msc_data_in(struct msc *m, uint8_t *buf);
/* The CSW for the command; back to MSC_WAIT_CBW. Returns false (and writes nothing)
 * when no CSW is due. */
bool msc_csw(struct msc *m, uint8_t csw[MSC_CSW_LEN]);

#endif
