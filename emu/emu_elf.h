/*
 * The firmware ELF as the emulator needs it: the bytes the flash holds after programming
 * (every PT_LOAD segment at its load address) and the symbol table, to name the function
 * an address belongs to (stall reports, latency reports, test breakpoints).
 *
 * Own reader over <elf.h> (32-bit little-endian ARM only): the emulator needs nothing
 * else from the file, and it keeps libelf out of the dependencies.
 */
#ifndef FB_EMU_ELF_H
#define FB_EMU_ELF_H

#include <stddef.h>
#include <stdint.h>

/* Addresses below this are the boot alias of the flash (STM32F1, BOOT0 = 0). */
#define EMU_ELF_ALIAS_SIZE 0x20000u

typedef struct emu_sym {
    uint32_t addr; /* Thumb bit cleared */
    uint32_t size;
    const char *name;
} emu_sym_t;

typedef struct emu_elf {
    uint8_t *flash;       /* flash contents from base, flash_len bytes, 0xFF where unset */
    uint32_t flash_base;  /* 0x08000000 */
    uint32_t flash_len;   /* end of the highest loaded byte, rounded up to 2 */
    uint32_t entry;
    emu_sym_t *syms;      /* functions and objects, sorted by address */
    size_t nsyms;
    char *strtab;
} emu_elf_t;

/* Load path. Only segments whose load address is in [flash_base, flash_base + limit) are
 * accepted; a segment outside it (other than zero-size ones) is an error. 0, or -1 with
 * a message on stderr. */
int emu_elf_load(emu_elf_t *elf, const char *path, uint32_t flash_base, uint32_t limit);
void emu_elf_free(emu_elf_t *elf);

/* The symbol containing addr (or the nearest one below it within 4 KiB), NULL if none. */
const emu_sym_t *emu_elf_lookup(const emu_elf_t *elf, uint32_t addr);
/* "name+0xoff" or "0x08001234" into buf; returns buf. */
const char *emu_elf_describe(const emu_elf_t *elf, uint32_t addr, char *buf, size_t n);
/* Address of a named symbol (Thumb bit cleared), 0 if absent. */
uint32_t emu_elf_addr(const emu_elf_t *elf, const char *name);

#endif
