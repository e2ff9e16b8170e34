/*
 * Test-only variants that break the SRAM rule on purpose, so tests/firmware shows
 * tools/ramcheck.py failing on each (cmake -DFB_RAMCHECK_BREAK=<kind>). A normal
 * build defines none of these and every macro below is the correct placement.
 *
 *   callee  a helper on the I2C interrupt path is left in flash (reached by long call)
 *   veneer  a helper in flash called with a plain BL: the linker adds a veneer
 *   const   the I2C event handler reads a const table that lives in flash
 *   vtor    start-up never switches VTOR to the SRAM vector table
 *   iflash  the flash routine's busy wait runs from flash
 */
#ifndef FB_PORT_RAMCHECK_BREAK_H
#define FB_PORT_RAMCHECK_BREAK_H

#include "ramfunc.h"

#if defined(FB_RAMCHECK_BREAK_CALLEE)
#define I2C_HELPER_PLACEMENT __attribute__((noinline, long_call))
#elif defined(FB_RAMCHECK_BREAK_VENEER)
#define I2C_HELPER_PLACEMENT __attribute__((noinline))
#else
#define I2C_HELPER_PLACEMENT FB_RAMFUNC
#endif

#if defined(FB_RAMCHECK_BREAK_IFLASH)
#define IFLASH_WAIT_PLACEMENT __attribute__((noinline, long_call))
#else
#define IFLASH_WAIT_PLACEMENT FB_RAMFUNC
#endif

#endif
