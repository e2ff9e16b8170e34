#!/usr/bin/python3
"""ramcheck: prove from the ELF that the STM32F103 firmware's essential interrupt path
and its flash routines never touch the internal flash.

While the F103's flash programs or erases, any instruction fetch or data read from it
stalls the CPU (PM0075 §2.3). The firmware keeps serving I2C during that time only if
  1. the vector table in use is in SRAM: Reset_Handler copies the boot table to an
     SRAM array aligned for VTOR and writes its address to VTOR, and the entries of
     the essential exceptions (SysTick, I2C2_EV, I2C2_ER) point into SRAM;
  2. everything reachable from those handlers and from the flash routines is in SRAM:
     every instruction, every branch and call target, every literal-pool load (the
     pool and the value loaded), every jump table and its targets, every indirect
     call (resolved from the literal or MOVW/MOVT that set the register), and every
     memory access whose address is known lies in SRAM or in the peripheral/core
     register space (0x40000000+, 0xE0000000+) -- never in flash;
  3. no linker veneer exists (a call into SRAM without long_call gets one in flash).
Code is decoded with capstone over the ELF's $t/$d mapping symbols (so literal pools
and jump tables are never decoded as code and IT blocks are tracked), then walked from
each root, following every path; register constants are tracked along the paths and
merged conservatively, so an address the walk cannot resolve is a failure, not a pass.

Usage: ramcheck.py ELF [--ram-vectors fb_vectors_ram] [--flash-routine NAME]...
Exit status 0 when every check holds, 1 otherwise (each problem is printed with the
caller -> callee chain that reaches it).
"""
import argparse
import bisect
import sys

import capstone
from capstone import arm as A
from elftools.elf.elffile import ELFFile

FLASH = [(0x08000000, 0x08080000, "flash"), (0x00000000, 0x00080000, "flash alias"),
         (0x1FFFF000, 0x1FFFF810, "system memory")]
SRAM = (0x20000000, 0x20005000)
REGS = [(0x40000000, 0x60000000, "peripheral"), (0xE0000000, 0x100000000, "core")]

VTOR = 0xE000ED08
NVIC_ISER = (0xE000E100, 0xE000E120)
NVIC_ICER = (0xE000E180, 0xE000E1A0)
ESSENTIAL = {15: "SysTick", 16 + 33: "I2C2_EV", 16 + 34: "I2C2_ER"}  # RM0008 Table 63
DEFAULT_FLASH_ROUTINES = ["flash_f1_erase_ram", "flash_f1_program_ram"]
MAX_STATES = 16  # register states kept per instruction before merging

CALL_CLOBBERED = (A.ARM_REG_R0, A.ARM_REG_R1, A.ARM_REG_R2, A.ARM_REG_R3,
                  A.ARM_REG_R12, A.ARM_REG_LR)
LOADS = {A.ARM_INS_LDR: 4, A.ARM_INS_LDRB: 1, A.ARM_INS_LDRH: 2, A.ARM_INS_LDRSB: 1,
         A.ARM_INS_LDRSH: 2, A.ARM_INS_LDRD: 8, A.ARM_INS_LDREX: 4}
STORES = {A.ARM_INS_STR, A.ARM_INS_STRB, A.ARM_INS_STRH, A.ARM_INS_STRD, A.ARM_INS_STREX}
MULTI = {A.ARM_INS_LDM, A.ARM_INS_LDMDB, A.ARM_INS_POP, A.ARM_INS_STM, A.ARM_INS_STMDB,
         A.ARM_INS_PUSH}
TRAPS = {A.ARM_INS_UDF, A.ARM_INS_BKPT}


def in_sram(a):
    return SRAM[0] <= a < SRAM[1]


def flash_kind(a):
    for lo, hi, name in FLASH[:1] + FLASH[2:]:
        if lo <= a < hi:
            return name
    return None


def region(a):
    if in_sram(a):
        return "SRAM"
    for lo, hi, name in FLASH[:1] + FLASH[2:] + REGS:
        if lo <= a < hi:
            return name
    return "constant"


class Image:
    """Sections, symbols and the decoded code of an ELF."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            elf = ELFFile(f)
            self.sections = []
            for s in elf.iter_sections():
                if s["sh_flags"] & 2 and s["sh_size"]:  # SHF_ALLOC
                    data = None if s["sh_type"] == "SHT_NOBITS" else s.data()
                    self.sections.append((s.name, s["sh_addr"], s["sh_size"], data,
                                          bool(s["sh_flags"] & 4)))  # SHF_EXECINSTR
            self.funcs, self.objs, self.maps, self.named = [], [], [], {}
            symtab = elf.get_section_by_name(".symtab")
            if symtab is None:
                raise SystemExit(f"{path}: no symbol table (do not strip the ELF)")
            for sym in symtab.iter_symbols():
                name, val, typ = sym.name, sym["st_value"], sym["st_info"]["type"]
                if name in ("$t", "$d", "$a") or name.startswith(("$t.", "$d.", "$a.")):
                    self.maps.append((val, name[1]))
                elif typ == "STT_FUNC":
                    self.funcs.append((val & ~1, sym["st_size"], name))
                    self.named.setdefault(name, val)
                elif name:
                    if typ == "STT_OBJECT":
                        self.objs.append((val, sym["st_size"], name))
                    self.named.setdefault(name, val)
        if not self.maps:
            raise SystemExit(f"{path}: no $t/$d mapping symbols, cannot tell code from data")
        self.funcs.sort()
        self.objs.sort()
        self.maps.sort()
        self.func_starts = [f[0] for f in self.funcs]
        self.md = capstone.Cs(capstone.CS_ARCH_ARM,
                              capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        self.md.detail = True
        self.insns = {}
        self.data_ranges = []  # (start, end) of $d regions in executable sections
        self._decode()

    def section_of(self, addr):
        for s in self.sections:
            if s[1] <= addr < s[1] + s[2]:
                return s
        return None

    def read(self, addr, n):
        s = self.section_of(addr)
        if s is None or s[3] is None or addr + n > s[1] + s[2]:
            return None
        return s[3][addr - s[1]: addr - s[1] + n]

    def word(self, addr, n=4):
        b = self.read(addr, n)
        return None if b is None else int.from_bytes(b, "little")

    def _decode(self):
        for name, base, size, data, exe in self.sections:
            if not exe or data is None:
                continue
            marks = [(a, k) for a, k in self.maps if base <= a < base + size]
            for i, (start, kind) in enumerate(marks):
                end = marks[i + 1][0] if i + 1 < len(marks) else base + size
                if kind == "d":
                    self.data_ranges.append((start, end))
                    continue
                pc = start
                while pc < end:
                    chunk = data[pc - base:end - base]
                    last = pc
                    for insn in self.md.disasm(chunk, pc):
                        self.insns[insn.address] = insn
                        last = insn.address + insn.size
                    pc = last if last > pc else pc + 2  # skip an undecodable half-word
        self.data_ranges.sort()

    def in_data(self, addr):
        i = bisect.bisect_right(self.data_ranges, (addr, 1 << 40)) - 1
        return i >= 0 and self.data_ranges[i][0] <= addr < self.data_ranges[i][1]

    def data_end(self, addr):
        i = bisect.bisect_right(self.data_ranges, (addr, 1 << 40)) - 1
        return self.data_ranges[i][1]

    def func(self, addr):
        """(start, end, name) of the function containing addr, or a stand-in."""
        i = bisect.bisect_right(self.func_starts, addr) - 1
        if i >= 0:
            start, size, name = self.funcs[i]
            if start <= addr < start + max(size, 2):
                return start, start + max(size, 2), name
        return addr, None, f"0x{addr:08x}"

    def describe(self, addr):
        if addr & 1 and self.func(addr & ~1)[0] == addr & ~1 and self.func(addr & ~1)[1]:
            return f"{self.func(addr & ~1)[2]}, Thumb"
        for table in (self.funcs, self.objs):
            for start, size, name in table:
                if start <= addr < start + max(size, 1):
                    return name if addr == start else f"{name}+0x{addr - start:x}"
        sec = self.section_of(addr)
        return f"in {sec[0]}" if sec else "no section"


class Stats:
    def __init__(self):
        self.funcs = []          # (name, instruction count) in discovery order
        self.insns = 0
        self.literals = {}       # region -> count of literal loads
        self.jump_tables = 0
        self.indirect = 0        # indirect calls/branches resolved
        self.reg_access = 0      # loads/stores to peripheral/core registers
        self.stores = []         # (effective address, value or None)
        self.values = set()      # every literal value loaded


class Walker:
    """Walks code from a root; with strict=True every reach outside SRAM is a problem."""

    def __init__(self, img, problems, strict=True, max_depth=None):
        self.img = img
        self.problems = problems
        self.strict = strict
        self.max_depth = max_depth
        self.done = set()
        self.stats = Stats()

    def fail(self, chain, msg):
        if self.strict:
            self.problems.append(f"{' -> '.join(chain)}: {msg}")

    def check_code(self, chain, addr, what):
        if self.strict and not in_sram(addr):
            self.fail(chain, f"{what} 0x{addr:08x} <{self.img.describe(addr)}> is in "
                             f"{region(addr)}, not SRAM")
            return False
        return True

    def call(self, chain, target):
        """Analyse the function at target (reached from chain)."""
        name = self.img.func(target)[2]
        if not self.check_code(chain, target, f"call/branch to {name} at"):
            return
        if target in self.done:
            return
        if self.max_depth is not None and len(chain) > self.max_depth:
            return
        self.done.add(target)
        self.function(chain + [name], target)

    def function(self, chain, entry):
        """Every path through the function at entry. Each instruction is visited with
        up to MAX_STATES distinct register states (so a register set differently on
        two paths is followed on both); past that the states are merged, keeping only
        the constants all paths agree on (unresolved then means failure)."""
        img = self.img
        fstart, fend, fname = img.func(entry)
        slot = len(self.stats.funcs)
        self.stats.funcs.append((fname, 0))
        states = {}
        work = [(entry, {})]
        count = 0
        while work:
            pc, regs = work.pop()
            seen = states.setdefault(pc, [])
            if regs in seen:
                continue
            if len(seen) >= MAX_STATES:
                merged = {r: v for r, v in regs.items() if all(s.get(r) == v for s in seen)}
                if merged in seen:
                    continue
                regs = merged
            seen.append(regs)
            regs = dict(regs)
            insn = img.insns.get(pc)
            if insn is None:
                self.fail(chain, f"execution reaches 0x{pc:08x}, which is "
                                 f"{'data' if img.in_data(pc) else 'not decodable code'}")
                continue
            if len(seen) == 1:
                count += 1
                self.stats.insns += 1
                if not in_sram(pc):
                    self.fail(chain, f"instruction at 0x{pc:08x} is in {region(pc)}")
            for nxt in self.step(chain, insn, regs, fstart, fend):
                work.append((nxt, regs))
        self.stats.funcs[slot] = (fname, count)

    # ---- one instruction ----
    def step(self, chain, insn, regs, fstart, fend):
        """Apply insn to regs; return the addresses execution may continue at."""
        i = insn.id
        pc = insn.address
        nxt = pc + insn.size
        ops = insn.operands
        cond = insn.cc not in (A.ARM_CC_AL, A.ARM_CC_INVALID)
        _, written = insn.regs_access()

        def inside(t):
            return fend is not None and fstart <= t < fend

        def fallthrough():
            return [nxt]

        # Direct branches.
        if i in (A.ARM_INS_B, A.ARM_INS_CBZ, A.ARM_INS_CBNZ):
            target = ops[-1].imm
            conditional = cond or i != A.ARM_INS_B
            if not self.check_code(chain, target, "branch target"):
                return fallthrough() if conditional else []
            if inside(target):
                return [target] + (fallthrough() if conditional else [])
            self.call(chain, target)  # tail call
            return fallthrough() if conditional else []
        if i == A.ARM_INS_BL or (i == A.ARM_INS_BLX and ops[0].type == A.ARM_OP_IMM):
            target = ops[0].imm
            if i == A.ARM_INS_BLX:
                self.fail(chain, f"BLX to ARM code at 0x{target:08x}")
                return []
            self.call(chain, target)
            self.clobber(regs)
            return self.after_call(nxt, fend)
        if i in (A.ARM_INS_BLX, A.ARM_INS_BX):
            reg = ops[0].reg
            if i == A.ARM_INS_BX and reg == A.ARM_REG_LR:
                return fallthrough() if cond else []
            target = regs.get(reg)
            if target is None:
                self.fail(chain, f"{insn.mnemonic} {insn.op_str} at 0x{pc:08x}: target "
                                 f"register not resolved")
                return fallthrough() if (cond or i == A.ARM_INS_BLX) else []
            self.stats.indirect += 1
            self.call(chain, target & ~1)
            if i == A.ARM_INS_BLX:
                self.clobber(regs)
                return self.after_call(nxt, fend)
            return fallthrough() if cond else []
        if i in (A.ARM_INS_TBB, A.ARM_INS_TBH):
            return self.jump_table(chain, insn, fstart, fend)
        if i in TRAPS:
            return []

        # Loads and stores.
        pc_written = A.ARM_REG_PC in written
        if i in LOADS or i in STORES:
            mem = next((o.mem for o in ops if o.type == A.ARM_OP_MEM), None)
            if mem is not None and mem.base == A.ARM_REG_PC:
                if i in STORES:
                    self.fail(chain, f"store relative to PC at 0x{pc:08x}")
                    return []
                value = self.literal(chain, insn, mem, LOADS[i])
                dests = [o.reg for o in ops if o.type == A.ARM_OP_REG]
                for r in written:
                    regs.pop(r, None)
                if dests and value is not None and LOADS[i] <= 4:
                    regs[dests[0]] = value
                if pc_written:  # LDR PC, [PC, #x]: a veneer-style jump
                    if value is None:
                        return []
                    self.stats.indirect += 1
                    self.call(chain, value & ~1)
                    return []
                return fallthrough()
            if mem is not None:
                self.access(chain, insn, regs, mem, i in STORES, ops)
            for r in written:
                regs.pop(r, None)
            if pc_written:  # LDR PC, [SP], #4 and the like: a return
                return fallthrough() if cond else []
            return fallthrough()
        if i in MULTI:
            for r in written:
                regs.pop(r, None)
            if pc_written:  # POP {..., pc}: return
                return fallthrough() if cond else []
            return fallthrough()

        # Constants: MOV/MVN/MOVW/MOVT/ADR, ADD/SUB immediate, register moves.
        self.track(insn, regs, written)
        if pc_written:
            self.fail(chain, f"{insn.mnemonic} {insn.op_str} at 0x{pc:08x} writes PC "
                             f"in a way the check cannot follow")
            return []
        return fallthrough()

    def after_call(self, nxt, fend):
        # A call to a noreturn function may be the last instruction: stop there.
        if (fend is not None and nxt >= fend) or self.img.in_data(nxt):
            return []
        return [nxt]

    @staticmethod
    def clobber(regs):
        for r in CALL_CLOBBERED:
            regs.pop(r, None)

    def literal(self, chain, insn, mem, size):
        img = self.img
        addr = ((insn.address + 4) & ~3) + mem.disp
        if not in_sram(addr):
            self.fail(chain, f"literal load at 0x{insn.address:08x} reads 0x{addr:08x} in "
                             f"{region(addr)}")
        value = img.word(addr, min(size, 4))
        if value is None:
            self.fail(chain, f"literal at 0x{addr:08x} not in the image")
            return None
        kind = region(value)
        self.stats.literals[kind] = self.stats.literals.get(kind, 0) + 1
        self.stats.values.add(value)
        fk = flash_kind(value)
        if fk and size == 4:
            self.fail(chain, f"literal 0x{value:08x} <{img.describe(value)}> loaded at "
                             f"0x{insn.address:08x} points into {fk}")
        if size == 8:
            value2 = img.word(addr + 4)
            if value2 is not None and flash_kind(value2):
                self.fail(chain, f"literal 0x{value2:08x} loaded at 0x{insn.address:08x} "
                                 f"points into flash")
        return value

    def access(self, chain, insn, regs, mem, store, ops):
        base = regs.get(mem.base)
        if base is None:
            return
        ea = (base + mem.disp) & 0xFFFFFFFF
        if mem.index:
            ea = base  # an indexed access: judge by its base
        fk = flash_kind(ea)
        if fk:
            self.fail(chain, f"{'store to' if store else 'load from'} 0x{ea:08x} "
                             f"<{self.img.describe(ea)}> at 0x{insn.address:08x} is in {fk}")
        elif region(ea) in ("peripheral", "core"):
            self.stats.reg_access += 1
        if store:
            src = ops[0].reg if ops and ops[0].type == A.ARM_OP_REG else None
            self.stats.stores.append((ea, regs.get(src)))

    @staticmethod
    def track(insn, regs, written):
        i, ops = insn.id, insn.operands
        value = None
        dest = ops[0].reg if ops and ops[0].type == A.ARM_OP_REG else None
        if i in (A.ARM_INS_MOV, A.ARM_INS_MOVW) and len(ops) == 2:
            if ops[1].type == A.ARM_OP_IMM:
                value = ops[1].imm & 0xFFFFFFFF
            elif ops[1].type == A.ARM_OP_REG and not ops[1].shift.type:
                value = regs.get(ops[1].reg)
        elif i == A.ARM_INS_MVN and len(ops) == 2 and ops[1].type == A.ARM_OP_IMM:
            value = ~ops[1].imm & 0xFFFFFFFF
        elif i == A.ARM_INS_MOVT and dest in regs:
            value = (regs[dest] & 0xFFFF) | ((ops[1].imm & 0xFFFF) << 16)
        elif i == A.ARM_INS_ADR:
            value = ((insn.address + 4) & ~3) + ops[1].imm
        elif i in (A.ARM_INS_ADD, A.ARM_INS_ADDW, A.ARM_INS_SUB, A.ARM_INS_SUBW) \
                and len(ops) == 3 and ops[2].type == A.ARM_OP_IMM:
            sign = 1 if i in (A.ARM_INS_ADD, A.ARM_INS_ADDW) else -1
            src = ops[1].reg
            base = ((insn.address + 4) & ~3) if src == A.ARM_REG_PC else regs.get(src)
            if base is not None:
                value = (base + sign * ops[2].imm) & 0xFFFFFFFF
        cond = insn.cc not in (A.ARM_CC_AL, A.ARM_CC_INVALID)
        for r in written:
            regs.pop(r, None)
        if dest is not None and value is not None and not cond:
            regs[dest] = value

    def table_bound(self, insn):
        """Entries of a TBB/TBH table: GCC guards it with CMP idx, #n; BHI default."""
        idx = next(o.mem.index for o in insn.operands if o.type == A.ARM_OP_MEM)
        pc = insn.address
        for _ in range(4):
            prev = next((self.img.insns.get(pc - k) for k in (2, 4)
                         if pc - k in self.img.insns), None)
            if prev is None:
                return None
            pc = prev.address
            ops = prev.operands
            if prev.id == A.ARM_INS_CMP and len(ops) == 2 and ops[0].reg == idx \
                    and ops[1].type == A.ARM_OP_IMM:
                return ops[1].imm + 1
        return None

    def jump_table(self, chain, insn, fstart, fend):
        img = self.img
        table = insn.address + 4
        self.stats.jump_tables += 1
        if not img.in_data(table):
            self.fail(chain, f"jump table at 0x{table:08x} has no $d mapping symbol")
            return []
        if not in_sram(table):
            self.fail(chain, f"jump table at 0x{table:08x} is in {region(table)}")
        size = 1 if insn.id == A.ARM_INS_TBB else 2
        end = img.data_end(table)
        bound = self.table_bound(insn)
        if bound is not None:
            end = min(end, table + size * bound)  # the rest is alignment padding
        targets = []
        for a in range(table, end - size + 1, size):
            t = table + 2 * img.word(a, size)
            if not self.check_code(chain, t, "jump table target"):
                continue
            if fend is not None and not (fstart <= t < fend):
                self.fail(chain, f"jump table target 0x{t:08x} leaves the function")
                continue
            targets.append(t)
        return targets


def check_vectors(img, args, problems, out):
    """The vector table in use is the SRAM copy; returns the essential roots."""
    vt = next((s for s in img.sections if s[0] == ".isr_vector"), None)
    if vt is None or vt[3] is None:
        problems.append("vector table: no .isr_vector section")
        return []
    n = vt[2] // 4
    entries = [img.word(vt[1] + 4 * k) for k in range(n)]
    out.append(f"vector table: boot table {img.describe(vt[1])} @0x{vt[1]:08x}, {n} entries")

    ram = img.named.get(args.ram_vectors)
    size = next((s for a, s, nm in img.objs if nm == args.ram_vectors), 0)
    align = 128
    while align < 4 * n:
        align *= 2
    if ram is None:
        problems.append(f"vector table: no symbol {args.ram_vectors}")
    else:
        ok = in_sram(ram) and ram % align == 0 and size >= 4 * n
        out.append(f"  SRAM table {args.ram_vectors} @0x{ram:08x}, {size} B "
                   f"(needs {4 * n} B, {align}-byte alignment): {'ok' if ok else 'FAIL'}")
        if not in_sram(ram):
            problems.append(f"vector table: {args.ram_vectors} at 0x{ram:08x} is not in SRAM")
        if ram % align:
            problems.append(f"vector table: {args.ram_vectors} at 0x{ram:08x} is not "
                            f"{align}-byte aligned (VTOR)")
        if size < 4 * n:
            problems.append(f"vector table: {args.ram_vectors} holds {size} B < {4 * n} B")

    # Reset_Handler (and what it calls directly) must copy the table and set VTOR.
    reset = entries[1] & ~1
    w = Walker(img, problems, strict=False, max_depth=2)
    w.call(["start-up"], reset)
    vtor = [v for ea, v in w.stats.stores if ea == VTOR]
    if ram is not None and ram in vtor:
        out.append(f"  Reset_Handler writes VTOR (0x{VTOR:08x}) = 0x{ram:08x}: ok")
    else:
        got = ", ".join("?" if v is None else f"0x{v:08x}" for v in vtor) or "no write"
        problems.append(f"vector table: Reset_Handler never writes VTOR = "
                        f"{args.ram_vectors} ({got})")
    needed = {"boot table": vt[1], "SRAM table": ram}
    rf = next((s for s in img.sections if s[0] == ".ramfunc"), None)
    if rf:
        needed[".ramfunc run address"] = rf[1]
        needed[".ramfunc load address"] = img.named.get("__ramfunc_load")
    missing = [k for k, v in needed.items() if v is None or v not in w.stats.values]
    if missing:
        problems.append(f"start-up: Reset_Handler never loads the address of "
                        f"{', '.join(missing)} (copy missing?)")
    else:
        out.append("  Reset_Handler loads the boot table, SRAM table and .ramfunc "
                   "run/load addresses (the copies): ok")

    roots = []
    for idx, what in sorted(ESSENTIAL.items()):
        if idx >= n:
            problems.append(f"vector table: no entry {idx} ({what})")
            continue
        v = entries[idx]
        name = img.func(v & ~1)[2]
        ok = in_sram(v & ~1) and v & 1
        out.append(f"  entry {idx:2} {what:<8} -> {name} 0x{v:08x} "
                   f"({region(v & ~1)}{', Thumb' if v & 1 else ', NOT Thumb'}): "
                   f"{'ok' if ok else 'FAIL'}")
        if not ok:
            problems.append(f"vector table: entry {idx} ({what}) -> {name} 0x{v:08x} "
                            f"is not a Thumb address in SRAM")
        roots.append((f"{what} handler", v & ~1))
    return roots


def summary(name, st):
    lits = ", ".join(f"{n} {k}" for k, n in sorted(st.literals.items())) or "none"
    lines = [f"{name}: {len(st.funcs)} functions, {st.insns} instructions, "
             f"{sum(st.literals.values())} literal loads ({lits}), {st.jump_tables} jump "
             f"tables, {st.indirect} indirect calls resolved, {st.reg_access} register "
             f"accesses"]
    lines.append("  " + ", ".join(f"{f}({n})" for f, n in st.funcs))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("elf")
    ap.add_argument("--ram-vectors", default="fb_vectors_ram",
                    help="symbol of the SRAM vector table (default %(default)s)")
    ap.add_argument("--flash-routine", action="append",
                    help=f"SRAM flash routine to check (default {DEFAULT_FLASH_ROUTINES})")
    args = ap.parse_args()
    img = Image(args.elf)
    problems, out = [], [f"ramcheck: {args.elf}"]

    roots = check_vectors(img, args, problems, out)
    for name in args.flash_routine or DEFAULT_FLASH_ROUTINES:
        addr = img.named.get(name)
        if addr is None:
            problems.append(f"flash routine {name}: no such function")
        else:
            roots.append((f"flash routine {name}", addr & ~1))

    veneers = [nm for _, _, nm in img.funcs if nm.endswith("_veneer")]
    if veneers:
        problems.append(f"linker veneers present (a call across flash/SRAM without "
                        f"long_call): {', '.join(veneers)}")
    else:
        out.append("veneers: none")

    seen = set()
    for label, addr in roots:
        w = Walker(img, problems)
        w.call([label], addr)
        seen |= w.done
        out.extend(summary(label, w.stats))
        if label.startswith("flash routine"):
            icer = any(NVIC_ICER[0] <= ea < NVIC_ICER[1] for ea, _ in w.stats.stores)
            iser = any(NVIC_ISER[0] <= ea < NVIC_ISER[1] for ea, _ in w.stats.stores)
            out.append(f"  masks other interrupts (NVIC_ICER) and restores them "
                       f"(NVIC_ISER): {'ok' if icer and iser else 'FAIL'}")
            if not (icer and iser):
                problems.append(f"{label}: no NVIC_ICER/NVIC_ISER write found (other "
                                f"interrupts must be masked for the operation)")

    # Whatever else sits in .ramfunc must obey the same rule.
    rf = next((s for s in img.sections if s[0] == ".ramfunc"), None)
    if rf:
        rest = [(a, nm) for a, _, nm in img.funcs if rf[1] <= a < rf[1] + rf[2] and a not in seen]
        w = Walker(img, problems)
        for a, nm in rest:
            w.call([f"SRAM function {nm}"], a)
        if rest:
            out.extend(summary("other .ramfunc functions", w.stats))

    for line in out:
        print(line)
    if problems:
        problems = list(dict.fromkeys(problems))
        print(f"FAIL: {len(problems)} problem(s)")
        for p in problems:
            print(f"  {p}")
        return 1
    print("OK: vector table in SRAM; the essential handlers and the flash routines "
          "reach only SRAM and register space")
    return 0


if __name__ == "__main__":
    sys.exit(main())
