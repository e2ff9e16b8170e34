#include "crc.h"

/* Bitwise on purpose: no 512-byte table in flash or RAM, and the records it checks are
 * short (16 bytes) or checked once at boot. */
uint16_t fb_crc16(uint16_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n--) {
        crc ^= (uint16_t)(*p++ << 8);
        for (int i = 0; i < 8; i++)
            crc = (uint16_t)((crc & 0x8000u) ? ((unsigned)crc << 1) ^ 0x1021u : (unsigned)crc << 1);
    }
    return crc;
}
