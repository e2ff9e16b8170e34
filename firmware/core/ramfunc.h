/*
 * FB_RAMFUNC marks code that must run from SRAM on the STM32F103 (the I2C interrupt path
 * and the flash routines: the CPU stalls on flash fetches while the flash is busy).
 * FB_RAMDATA marks data they read. Both are no-ops on the host.
 */
#ifndef FB_CORE_RAMFUNC_H
#define FB_CORE_RAMFUNC_H

#if defined(FB_TARGET_STM32)
#define FB_RAMFUNC __attribute__((section(".ramfunc"), long_call, noinline))
#define FB_RAMDATA __attribute__((section(".data")))
#else
#define FB_RAMFUNC
#define FB_RAMDATA
#endif

#endif
