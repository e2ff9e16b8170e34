#include "errors.h"

#include "flashbridge/protocol.h"

uint8_t fb_err_to_bits(int err)
{
    uint8_t bits;
    switch (err) {
    case FB_OK:
        return 0;
    case FB_EINVAL:
        bits = FB_ERR_BAD_PARAM;
        break;
    case FB_ENAME:
        bits = FB_ERR_BAD_NAME;
        break;
    case FB_EFULL:
        bits = FB_ERR_FILE_FULL;
        break;
    case FB_EUNKNOWN:
        bits = FB_ERR_UNKNOWN_CMD;
        break;
    case FB_ECRC:
    case FB_ESEQ:
        bits = FB_ERR_STREAM;
        break;
    default: /* FB_EFLASH, FB_ETIMEOUT, FB_ECORRUPT: the storage failed us */
        bits = FB_ERR_FLASH;
        break;
    }
    return (uint8_t)(bits | FB_ERR_FAILED);
}
