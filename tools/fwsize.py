#!/usr/bin/python3
"""Footprint report of the STM32F103 firmware: flash and SRAM by section.

Prints `arm-none-eabi-size -A` (sections with their run addresses) and, from the
ELF's program headers, which memory each section occupies: a section that runs
from SRAM but is loaded from flash (.ramfunc, .data) counts in both. Then the
board's placement: where the image sits in the part's flash and, for the STeaMi,
whether the DAPLink bootloader will start it (below). Writes the same text to
--out; exits 1 if the placement is wrong, so the build fails.

The DAPLink bootloader (github.com/ARMmbed/DAPLink) starts an interface image
only if source/daplink/bootloader/main_bootloader.c main() finds the reset
button released, the "hold in bootloader" flag of the shared RAM clear, and
source/daplink/validation.c validate_bin_nvic_base() accepts the image's first
four words: the initial SP inside the target's RAM region and the Reset, NMI and
HardFault vectors inside its flash region, both inclusive of their end address;
for the stm32f103xb bootloader (source/board/stm32f103xb_bl.c, target_device)
RAM is 0x20000000-0x20005000 and flash 0x0800C000-0x08020000. It then sets VTOR
to 0x0800C000, loads SP and branches to the reset vector. A dropped .bin is
recognised by that same vector check, a .hex by its records, whose first data address
must then be 0x0800C000 (source/daplink/drag-n-drop/flash_decoder.c
flash_decoder_detect_type(), flash_decoder_get_flash()). It programs the file into
0x0800C000 + 0x13C00 (source/hic_hal/stm32/stm32f103xb/daplink_addr.h,
DAPLINK_ROM_IF_START/SIZE), after erasing all of it
(source/daplink/drag-n-drop/flash_manager.c flash_manager_init(), iap_flash_intf.c
erase_chip()).

  fwsize.py [--size arm-none-eabi-size] [--board NAME] [--out size.txt] [--quiet] ELF
"""
import argparse
import subprocess
import sys

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

# Per board: the image area (linker script FLASH), the config journal (CONFIG), the
# SRAM the firmware may use, and for the STeaMi what DAPLink owns around them.
BOARDS = {
    "bluepill": dict(image=(0x08000000, 60 * 1024), config=(0x0800F000, 4096),
                     sram=(0x20000000, 20 * 1024), part="STM32F103C8, 64 KiB flash"),
    "steami": dict(image=(0x0800C000, 0x12C00), config=(0x0801EC00, 4096),
                   sram=(0x20000000, 0x4F00), part="STM32F103CB, 128 KiB flash",
                   bootloader=(0x08000000, 0xBC00), factory=(0x0800BC00, 0x400),
                   interface=(0x0800C000, 0x13C00), user_config=(0x0801FC00, 0x400),
                   shared_ram=(0x20004F00, 0x100),
                   nvic_ram=(0x20000000, 0x20005000), nvic_flash=(0x0800C000, 0x08020000)),
}
FLASH = BOARDS["bluepill"]["image"]
SRAM = BOARDS["bluepill"]["sram"]
# The budget for what is built so far (the USB drive included): about half of the Blue
# Pill's image area and 12 of its 20 KiB of SRAM, so that the rest of this year's work
# has room (issue 15). The first goals, 16 KiB / 8 KiB, held until the USB drive.
GOAL_FLASH = 32 * 1024
GOAL_SRAM = 12 * 1024


def inside(addr, region):
    return region[0] <= addr < region[0] + region[1]


def load_address(elf, sec):
    """Where the section's bytes are stored (LMA), from the PT_LOAD segments."""
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_LOAD":
            continue
        start = seg["p_vaddr"]
        if start <= sec["sh_addr"] < start + max(seg["p_memsz"], 1):
            return seg["p_paddr"] + sec["sh_addr"] - start
    return sec["sh_addr"]


def word(elf, addr):
    """The 32-bit little-endian word the image stores at flash address addr."""
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_LOAD" or not seg["p_filesz"]:
            continue
        off = addr - seg["p_paddr"]
        if 0 <= off <= seg["p_filesz"] - 4:
            return int.from_bytes(seg.data()[off:off + 4], "little")
    return None


def placement(elf, b, image_end, sram_end):
    """Lines describing where the image sits, and the list of problems."""
    lines, bad = [], []
    img, cfg = b["image"], b["config"]
    lines.append(f"placement ({b['part']}):")
    if "bootloader" in b:
        bl, fac, itf, usr = b["bootloader"], b["factory"], b["interface"], b["user_config"]
        lines.append(f"  0x{bl[0]:08x}-0x{bl[0] + bl[1] - 1:08x}  DAPLink bootloader (not touched)")
        lines.append(f"  0x{fac[0]:08x}-0x{fac[0] + fac[1] - 1:08x}  factory config page (read only)")
    lines.append(f"  0x{img[0]:08x}-0x{image_end - 1:08x}  image, {image_end - img[0]} B"
                 + (f" of the interface area's {b['interface'][1]} (0x{b['interface'][1]:x})"
                    if "interface" in b else ""))
    lines.append(f"  0x{cfg[0]:08x}-0x{cfg[0] + cfg[1] - 1:08x}  config journal banks")
    if "bootloader" in b:
        lines.append(f"  0x{usr[0]:08x}-0x{usr[0] + usr[1] - 1:08x}  DAPLink user config page "
                     "(not touched)")
        sh = b["shared_ram"]
        top = b["sram"][0] + b["sram"][1]
        lines.append(f"  SRAM 0x{b['sram'][0]:08x}-0x{sram_end - 1:08x} data, stack down from "
                     f"0x{top:08x}; 0x{sh[0]:08x}-0x{sh[0] + sh[1] - 1:08x} shared with the "
                     "bootloader, never written")
    for seg in elf.iter_segments():
        if (seg["p_type"] == "PT_LOAD" and seg["p_filesz"] and seg["p_paddr"] < img[0]
                and seg["p_paddr"] >= 0x08000000):
            bad.append(f"loads at 0x{seg['p_paddr']:08x}, below the image area 0x{img[0]:08x}")
            break
    if image_end > img[0] + img[1] or image_end > cfg[0]:
        bad.append("image runs into the config journal")
    if sram_end > b["sram"][0] + b["sram"][1]:
        bad.append("SRAM use passes the board's limit")
    if "nvic_ram" in b:
        sp, reset, nmi, hard = (word(elf, img[0] + 4 * i) for i in range(4))
        ram_lo, ram_hi = b["nvic_ram"]
        fl_lo, fl_hi = b["nvic_flash"]
        checks = [("initial SP", sp, ram_lo, ram_hi), ("Reset", reset, fl_lo, fl_hi),
                  ("NMI", nmi, fl_lo, fl_hi), ("HardFault", hard, fl_lo, fl_hi)]
        lines.append("DAPLink bootloader start check (validation.c validate_bin_nvic_base):")
        for name, v, lo, hi in checks:
            ok = v is not None and lo <= v <= hi
            shown = "(erased)  " if v is None else f"0x{v:08x}"
            lines.append(f"  {name:<10} {shown} in [0x{lo:08x}, 0x{hi:08x}]: "
                         f"{'ok' if ok else 'FAILS'}")
            if not ok:
                bad.append(f"{name} vector fails the DAPLink bootloader's check")
        if image_end > b["interface"][0] + b["interface"][1]:
            bad.append("image larger than DAPLink's interface area")
    for p in bad:
        lines.append(f"PLACEMENT ERROR: {p}")
    return lines, bad


def report(path, size_tool, board):
    lines = []
    out = subprocess.run([size_tool, "-A", path], check=True, capture_output=True, text=True)
    lines.append(out.stdout.rstrip())
    lines.append("")
    with open(path, "rb") as f:
        elf = ELFFile(f)
        b = BOARDS.get(board, BOARDS["bluepill"])
        flash_region, sram_region = b["image"], b["sram"]
        rows = []
        flash_total = sram_total = 0
        image_end, sram_end = flash_region[0], sram_region[0]
        for sec in elf.iter_sections():
            if not sec["sh_flags"] & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0:
                continue
            size = sec["sh_size"]
            vma = sec["sh_addr"]
            lma = load_address(elf, sec)
            in_flash = sec["sh_type"] != "SHT_NOBITS" and inside(lma, flash_region)
            in_sram = inside(vma, sram_region) or inside(vma, (sram_region[0], 0x5000))
            if in_flash:
                image_end = max(image_end, lma + size)
            if in_sram:
                sram_end = max(sram_end, vma + size)
            flash_total += size if in_flash else 0
            sram_total += size if in_sram else 0
            where = " + ".join(w for w, on in (("flash", in_flash), ("SRAM", in_sram)) if on)
            rows.append(f"  {sec.name:<14} {size:>7}  run 0x{vma:08x}  load 0x{lma:08x}  {where}")
        place, bad = placement(elf, b, image_end, sram_end)
    lines.append(f"flashbridge firmware, board {board}: memory use by section")
    lines.extend(rows)
    lines.append("")
    lines.append(f"flash: {flash_total:>6} B of {flash_region[1]} (image area; 4096 B config region "
                 f"after it)   goal < {GOAL_FLASH}: {'met' if flash_total < GOAL_FLASH else 'MISSED'}")
    lines.append(f"SRAM:  {sram_total:>6} B of {sram_region[1]} (incl. the reserved minimum stack)"
                 f"        goal < {GOAL_SRAM}: {'met' if sram_total < GOAL_SRAM else 'MISSED'}")
    lines.append("")
    lines.extend(place)
    return "\n".join(lines) + "\n", not bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("elf")
    ap.add_argument("--size", default="arm-none-eabi-size")
    ap.add_argument("--board", default="?")
    ap.add_argument("--out")
    ap.add_argument("--quiet", action="store_true", help="only write --out")
    args = ap.parse_args()
    text, ok = report(args.elf, args.size, args.board)
    if not args.quiet or not ok:
        sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
