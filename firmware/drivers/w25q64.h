/*
 * Winbond W25Q64JV driver over the port's SPI functions. Non-blocking: program and
 * erase are started and then polled from the main loop; nothing here waits for BUSY.
 * Every wait has a bound (the datasheet maximum plus margin); past it the device is
 * reset (66h/99h) and FB_ETIMEOUT reported.
 */
#ifndef FB_DRIVERS_W25Q64_H
#define FB_DRIVERS_W25Q64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define W25Q_PAGE 256u
#define W25Q_SECTOR 4096u
#define W25Q_BLOCK32 32768u
#define W25Q_BLOCK64 65536u

typedef enum {
    W25Q_ERASE_4K,
    W25Q_ERASE_32K,
    W25Q_ERASE_64K,
} w25q_erase_t;

/* Wake the device (ABh), check the JEDEC ID (EF 40 17). 0, FB_EFLASH (wrong or no
 * device), FB_ETIMEOUT. May wait for an operation a reset left running. */
int w25q_init(void);
/* Read n bytes at addr (device must be idle: after w25q_poll() returned 0, or with an
 * erase suspended). */
int w25q_read(uint32_t addr, void *dst, size_t n);
/* Start programming n bytes (1..256) at addr, all inside one 256-byte page. */
int w25q_program_start(uint32_t addr, const void *src, size_t n);
/* Start erasing the block of the given size at addr (aligned to it). */
int w25q_erase_start(w25q_erase_t kind, uint32_t addr);
/* FB_EAGAIN while the operation runs, 0 when done, FB_ETIMEOUT past its bound. While
 * an erase is suspended it polls only the program started meanwhile (if any). */
int w25q_poll(void);

/* Erase suspend (75h) / resume (7Ah), so that reads, and programs outside the block,
 * need not wait for an erase of up to 2 s.
 * w25q_suspend(): make the device free for w25q_read() and for w25q_program_start()
 * outside the erased block. 0 when it is: nothing runs, the running erase is now
 * suspended (within tSUS), or it ended meanwhile (w25q_poll() then reports it done).
 * FB_EAGAIN when not now: a program runs (it ends within tPP, 3 ms at most), or the
 * erase was resumed less than W25Q_MIN_RUN_MS ago: every resume gives the erase at
 * least that long before it is suspended again, so an erase progresses whatever the
 * rate of reads. An erase of unknown kind (left running by a reset) is not suspended.
 * While suspended: no erase, and no program inside the suspended block (the chip
 * refuses both); the caller resumes before waiting for the erase. */
#define W25Q_MIN_RUN_MS 1u
int w25q_suspend(void);
/* Resume the suspended erase (nothing if none). A program started while suspended must
 * have ended (w25q_poll() returned 0). */
int w25q_resume(void);
bool w25q_suspended(void);
/* Abandon whatever runs or is suspended (device reset): after a failure, before the
 * caller re-reads the flash. The block of an abandoned erase is left partly erased. */
void w25q_abort(void);
/* True while the running operation is one that lasts milliseconds (an erase): the
 * caller may sleep until the next tick instead of polling at once. */
bool w25q_long_wait(void);

#endif
