#!/usr/bin/python3
"""Footprint report of the STM32F103 firmware: flash and SRAM by section.

Prints `arm-none-eabi-size -A` (sections with their run addresses) and, from the
ELF's program headers, which memory each section occupies: a section that runs
from SRAM but is loaded from flash (.ramfunc, .data) counts in both. Writes the
same text to --out.

  fwsize.py [--size arm-none-eabi-size] [--board NAME] [--out size.txt] [--quiet] ELF
"""
import argparse
import subprocess
import sys

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

FLASH = (0x08000000, 60 * 1024)  # image area; the last 4 KiB are the config region
SRAM = (0x20000000, 20 * 1024)
GOAL_FLASH = 16 * 1024
GOAL_SRAM = 8 * 1024


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


def report(path, size_tool, board):
    lines = []
    out = subprocess.run([size_tool, "-A", path], check=True, capture_output=True, text=True)
    lines.append(out.stdout.rstrip())
    lines.append("")
    with open(path, "rb") as f:
        elf = ELFFile(f)
        rows = []
        flash_total = sram_total = 0
        for sec in elf.iter_sections():
            if not sec["sh_flags"] & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0:
                continue
            size = sec["sh_size"]
            vma = sec["sh_addr"]
            lma = load_address(elf, sec)
            in_flash = sec["sh_type"] != "SHT_NOBITS" and inside(lma, FLASH)
            in_sram = inside(vma, SRAM)
            flash_total += size if in_flash else 0
            sram_total += size if in_sram else 0
            where = " + ".join(w for w, on in (("flash", in_flash), ("SRAM", in_sram)) if on)
            rows.append(f"  {sec.name:<14} {size:>7}  run 0x{vma:08x}  load 0x{lma:08x}  {where}")
    lines.append(f"flashbridge firmware, board {board}: memory use by section")
    lines.extend(rows)
    lines.append("")
    lines.append(f"flash: {flash_total:>6} B of {FLASH[1]} (image area; 4096 B config region "
                 f"after it)   goal < {GOAL_FLASH}: {'met' if flash_total < GOAL_FLASH else 'MISSED'}")
    lines.append(f"SRAM:  {sram_total:>6} B of {SRAM[1]} (incl. the reserved minimum stack)"
                 f"        goal < {GOAL_SRAM}: {'met' if sram_total < GOAL_SRAM else 'MISSED'}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("elf")
    ap.add_argument("--size", default="arm-none-eabi-size")
    ap.add_argument("--board", default="?")
    ap.add_argument("--out")
    ap.add_argument("--quiet", action="store_true", help="only write --out")
    args = ap.parse_args()
    text = report(args.elf, args.size, args.board)
    if not args.quiet:
        sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
