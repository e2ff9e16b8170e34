/* Firmware ELF reader: see emu_elf.h. */
#include "emu_elf.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    uint8_t *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (!buf)
        fprintf(stderr, "%s: cannot read\n", path);
    *len = (size_t)n;
    return buf;
}

/* [off, off + n) lies inside a file of len bytes (no overflow). */
static int in_file(uint64_t off, uint64_t n, size_t len)
{
    return off <= len && n <= len - off;
}

static int sym_cmp(const void *a, const void *b)
{
    const emu_sym_t *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    /* Functions (non-zero size) after zero-size labels at the same address, so a lookup
     * that takes the last symbol at or below an address prefers the function. */
    return (x->size > y->size) - (x->size < y->size);
}

static int load_symbols(emu_elf_t *elf, const uint8_t *img, size_t len, const Elf32_Ehdr *eh)
{
    if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf32_Shdr) ||
        !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf32_Shdr), len))
        return 0; /* stripped: addresses are printed as numbers */
    const Elf32_Shdr *sh = (const Elf32_Shdr *)(img + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const Elf32_Shdr *st = &sh[i], *str = &sh[sh[i].sh_link];
        if (!in_file(st->sh_offset, st->sh_size, len) || !in_file(str->sh_offset, str->sh_size, len) ||
            str->sh_size == 0)
            return -1;
        elf->strtab = malloc(str->sh_size + 1);
        size_t n = st->sh_size / sizeof(Elf32_Sym);
        elf->syms = calloc(n ? n : 1, sizeof *elf->syms);
        if (!elf->strtab || !elf->syms)
            return -1;
        memcpy(elf->strtab, img + str->sh_offset, str->sh_size);
        elf->strtab[str->sh_size] = '\0';
        const Elf32_Sym *s = (const Elf32_Sym *)(img + st->sh_offset);
        for (size_t k = 0; k < n; k++) {
            unsigned type = ELF32_ST_TYPE(s[k].st_info);
            if ((type != STT_FUNC && type != STT_OBJECT) || s[k].st_shndx == SHN_UNDEF ||
                s[k].st_name >= str->sh_size)
                continue;
            emu_sym_t *d = &elf->syms[elf->nsyms++];
            d->addr = type == STT_FUNC ? s[k].st_value & ~1u : s[k].st_value;
            d->size = s[k].st_size;
            d->name = elf->strtab + s[k].st_name;
        }
        qsort(elf->syms, elf->nsyms, sizeof *elf->syms, sym_cmp);
        return 0;
    }
    return 0;
}

int emu_elf_load(emu_elf_t *elf, const char *path, uint32_t flash_base, uint32_t limit)
{
    memset(elf, 0, sizeof *elf);
    size_t len = 0;
    uint8_t *img = slurp(path, &len);
    if (!img)
        return -1;
    const Elf32_Ehdr *eh = (const Elf32_Ehdr *)img;
    int ok = len >= sizeof *eh && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
             eh->e_ident[EI_CLASS] == ELFCLASS32 && eh->e_ident[EI_DATA] == ELFDATA2LSB &&
             eh->e_machine == EM_ARM && eh->e_phentsize == sizeof(Elf32_Phdr) &&
             in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf32_Phdr), len);
    if (!ok) {
        fprintf(stderr, "%s: not a 32-bit little-endian ARM ELF\n", path);
        free(img);
        return -1;
    }
    elf->flash = malloc(limit);
    if (!elf->flash) {
        free(img);
        return -1;
    }
    memset(elf->flash, 0xFF, limit);
    elf->flash_base = flash_base;
    elf->entry = eh->e_entry;
    const Elf32_Phdr *ph = (const Elf32_Phdr *)(img + eh->e_phoff);
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD || ph[i].p_filesz == 0)
            continue;
        /* The load address (LMA) is where the programmer puts the bytes: .ramfunc and
         * .data sit in flash and are copied to SRAM by the start-up code. */
        uint32_t lma = ph[i].p_paddr, n = ph[i].p_filesz;
        if (lma < flash_base || lma - flash_base > limit || n > limit - (lma - flash_base) ||
            !in_file(ph[i].p_offset, n, len)) {
            fprintf(stderr, "%s: segment at 0x%08x (+%u bytes) outside the flash image area\n",
                    path, (unsigned)lma, (unsigned)n);
            emu_elf_free(elf);
            free(img);
            return -1;
        }
        memcpy(elf->flash + (lma - flash_base), img + ph[i].p_offset, n);
        uint32_t end = lma - flash_base + n;
        if (end > elf->flash_len)
            elf->flash_len = (end + 1u) & ~1u;
    }
    if (elf->flash_len == 0) {
        fprintf(stderr, "%s: nothing to load into flash\n", path);
        emu_elf_free(elf);
        free(img);
        return -1;
    }
    if (load_symbols(elf, img, len, eh) != 0) {
        fprintf(stderr, "%s: bad symbol table\n", path);
        emu_elf_free(elf);
        free(img);
        return -1;
    }
    free(img);
    return 0;
}

void emu_elf_free(emu_elf_t *elf)
{
    free(elf->flash);
    free(elf->syms);
    free(elf->strtab);
    memset(elf, 0, sizeof *elf);
}

const emu_sym_t *emu_elf_lookup(const emu_elf_t *elf, uint32_t addr)
{
    /* The boot alias at 0 shows the flash: name it as the flash address it mirrors. */
    if (addr < EMU_ELF_ALIAS_SIZE)
        addr += elf->flash_base;
    size_t lo = 0, hi = elf->nsyms;
    while (lo < hi) { /* first symbol above addr */
        size_t mid = lo + (hi - lo) / 2;
        if (elf->syms[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Walk down: the closest symbol below that actually contains addr, else the closest
     * one within 4 KiB (code between symbols, such as a literal pool). */
    for (size_t i = lo; i-- > 0;) {
        const emu_sym_t *s = &elf->syms[i];
        if (addr - s->addr < s->size)
            return s;
        if (addr - s->addr > 4096u)
            break;
    }
    if (lo > 0 && addr - elf->syms[lo - 1].addr <= 4096u)
        return &elf->syms[lo - 1];
    return NULL;
}

const char *emu_elf_describe(const emu_elf_t *elf, uint32_t addr, char *buf, size_t n)
{
    if (addr < EMU_ELF_ALIAS_SIZE)
        addr += elf->flash_base;
    const emu_sym_t *s = emu_elf_lookup(elf, addr);
    if (s && addr == s->addr)
        snprintf(buf, n, "%s", s->name);
    else if (s)
        snprintf(buf, n, "%s+0x%x", s->name, (unsigned)(addr - s->addr));
    else
        snprintf(buf, n, "0x%08x", (unsigned)addr);
    return buf;
}

uint32_t emu_elf_addr(const emu_elf_t *elf, const char *name)
{
    for (size_t i = 0; i < elf->nsyms; i++) {
        if (strcmp(elf->syms[i].name, name) == 0)
            return elf->syms[i].addr;
    }
    return 0;
}
