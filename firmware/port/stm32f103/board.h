/* The board, chosen at build time (CMake FB_BOARD -> FB_BOARD_<NAME>). */
#ifndef FB_PORT_BOARD_H
#define FB_PORT_BOARD_H

#include "regs/gpio_f1.h"
#include "regs/rcc_f1.h"

#if defined(FB_BOARD_BLUEPILL)
#include "boards/bluepill.h"
#elif defined(FB_BOARD_STEAMI)
#include "boards/steami.h"
#else
#error "define FB_BOARD_BLUEPILL or FB_BOARD_STEAMI (make firmware BOARD=...)"
#endif

#endif
