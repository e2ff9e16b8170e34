#!/usr/bin/python3
"""Line-by-line logging from the MicroPython package, in virtual time (issue 14 item 1).

    /usr/bin/python3 bench/pylog.py [--sim build/host/bin/flashbridge-sim] [--kib 256]
                                    [--quick] [--log-only] [--out FILE.json]

For each bus speed (100, 400 kHz) and flash timing (typical, datasheet maximum), a fresh
flashbridge-sim; 256 KiB written as lines of 30, 55 and 80 bytes (newline included) and
a random 30..80 mix, one call per line, through FlashLog (flash.log(), closed at the end)
and, for comparison, through DaplinkFlash.write_line (on flash when each call returns).

The package runs on CPython through the tests' MicroPython shim
(micropython/tests/mpshim.py): machine.I2C goes to the simulator's socket, and the
package's time.sleep_ms / ticks_ms are the simulator's WAIT / TIME ops, so every poll
and back-off it makes costs virtual time exactly as it would on a board. Host CPU time
is not counted (a board's CPU is slower; the bench measures the protocol).

% of bus = line payload bytes x 9 bits / bit rate / virtual time from the first write()
to the end of the final flush() (close()). Goal: >= 90 % at 100 and 400 kHz.
"""
import argparse
import json
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MP = REPO / "micropython"
sys.path[:0] = [str(MP / "tests"), str(MP)]

import mpshim  # noqa: E402

mpshim.install()  # before the package is imported: it takes sleep_ms/ticks_ms from `time`

from flashbridge import DaplinkBridge, DaplinkFlash  # noqa: E402

KINDS = ("30", "55", "80", "30..80")


def lines_for(kind, total):
    """Lines (bytes, newline included) adding up to at least `total` bytes."""
    rng = random.Random(14)
    out = []
    n = 0
    i = 0
    while n < total:
        size = rng.randrange(30, 81) if kind == "30..80" else int(kind)
        head = b"%d," % i
        body = bytes(48 + (i * 7 + k) % 74 for k in range(size - 1 - len(head)))
        out.append(head + body + b"\n")
        n += size
        i += 1
    return out


class SimProcess:
    def __init__(self, sim, args, workdir):
        self.sock = str(Path(workdir) / "fb.sock")
        self.proc = subprocess.Popen([sim, "--socket", self.sock, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline() if ready else ""
        if "listening" not in line:
            self.proc.kill()
            raise SystemExit("flashbridge-sim did not start: %r" % line)
        self.link = mpshim.SimLink(self.sock)
        mpshim.set_link(self.link)

    def close(self):
        mpshim.set_link(None)
        self.link.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


def run(sim, khz, timing, kind, how, kib):
    with tempfile.TemporaryDirectory() as tmp:
        args = ["--bus-khz", str(khz), "--timing", timing]
        s = SimProcess(sim, args, tmp)
        try:
            _, bus_hz = s.link.hello()
            f = DaplinkFlash(DaplinkBridge(mpshim.I2C(1)))
            f.write(b"w")  # detection and the first append after boot (metadata mount)
            lines = lines_for(kind, kib * 1024)
            payload = sum(len(x) for x in lines)
            if how == "FlashLog":
                log = f.log()  # reads STREAM_STATE once; not part of the timed run
                t0 = s.link.now_ns()
                for x in lines:
                    log.write(x)
                log.close()  # the final flush: every byte on flash, checked
            else:
                t0 = s.link.now_ns()
                for x in lines:
                    f.write(x)  # write_line's work: one call, on flash on return
            t1 = s.link.now_ns()
            size = f.file_size()
            if size != 1 + payload:
                raise SystemExit("%s %s: file holds %d bytes, %d written" % (how, kind, size, 1 + payload))
            return {
                "bus_khz": khz, "timing": timing, "lines": kind, "how": how,
                "calls": len(lines), "payload": payload, "virtual_s": (t1 - t0) / 1e9,
                "bus_pct": 100.0 * payload * 9 / bus_hz / ((t1 - t0) / 1e9),
            }
        finally:
            s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sim", default=str(REPO / "build/host/bin/flashbridge-sim"))
    ap.add_argument("--kib", type=int, default=256)
    ap.add_argument("--quick", action="store_true",
                    help="typical timing only, no per-call comparison at maximum timing")
    ap.add_argument("--log-only", action="store_true",
                    help="FlashLog only (e.g. with --sim tests/emu/flashbridge-emu-bluepill,"
                         " the real firmware on the emulator, slower in wall time)")
    ap.add_argument("--out", help="also write the rows as JSON")
    args = ap.parse_args()
    if not os.path.exists(args.sim):
        raise SystemExit("%s: not built (make build)" % args.sim)
    rows = []
    print("Line-by-line logging, MicroPython package (%d KiB per run, one call per line,"
          " virtual time)" % args.kib)
    print("%-7s %-6s %-8s %-18s %7s %10s %9s" % ("bus", "timing", "lines", "how", "calls",
                                                 "virtual s", "% of bus"))
    for timing in ("typ",) if args.quick else ("typ", "max"):
        for khz in (100, 400):
            for kind in KINDS:
                for how in ("FlashLog",) if args.log_only else ("FlashLog", "write_line"):
                    r = run(args.sim, khz, timing, kind, how, args.kib)
                    rows.append(r)
                    print("%-7s %-6s %-8s %-18s %7d %10.3f %8.1f%%" % (
                        "%d kHz" % khz, timing, kind,
                        "FlashLog" if how == "FlashLog" else "DaplinkFlash.write",
                        r["calls"], r["virtual_s"], r["bus_pct"]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
