/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor.
 * Check value: "123456789" -> 0x29B1. Used by the on-flash records and by the streaming
 * extension's frames (docs/PROTOCOL.md); the host library compiles this same file. */
#ifndef FB_CORE_CRC_H
#define FB_CORE_CRC_H

#include <stddef.h>
#include <stdint.h>

#define FB_CRC16_INIT 0xFFFFu
/* Continue crc over n bytes (start with FB_CRC16_INIT); incremental use is allowed. */
uint16_t fb_crc16(uint16_t crc, const void *data, size_t n);

#endif
