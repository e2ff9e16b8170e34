"""Fixtures: a fresh flashbridge-sim per test, reached through the MicroPython shim.

The simulator binary comes from $FB_SIM (CMake sets it), else
build/host/bin/flashbridge-sim under the repository root.
"""
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
MP_DIR = HERE.parent
REPO = MP_DIR.parent

# The package and its compatibility modules import as they would from a board's /lib.
for p in (HERE, MP_DIR / "compat", MP_DIR):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import mpshim  # noqa: E402

# Package modules for CPython on Linux only: not installed on boards (package.json),
# outside the MicroPython subset checks.
HOST_ONLY = ("flashbridge/linux_i2c.py", "flashbridge/sim_i2c.py")

mpshim.install()  # before anything imports flashbridge: it must see machine/time

_START_TIMEOUT_S = 10.0


def sim_binary():
    env = os.environ.get("FB_SIM")
    if env:
        path = Path(env)
        if not path.is_file():
            pytest.fail("FB_SIM=%s does not exist" % env)
        return path
    path = REPO / "build" / "host" / "bin" / "flashbridge-sim"
    if not path.is_file():
        pytest.skip("flashbridge-sim not built (%s); set FB_SIM" % path)
    return path


class Sim:
    """One running flashbridge-sim and the shim's connection to it."""

    def __init__(self, workdir, args=(), connect=True):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.socket_path = str(self.workdir / "fb.sock")
        self.stderr_path = self.workdir / "sim.stderr"
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [str(sim_binary()), "--socket", self.socket_path, *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._wait_listening()
        self.link = None
        if connect:  # else the socket is left for another client (one at a time)
            self.link = mpshim.SimLink(self.socket_path)
            mpshim.set_link(self.link)

    def _wait_listening(self):
        want = "flashbridge-sim: listening on %s" % self.socket_path
        ready, _, _ = select.select([self.proc.stdout], [], [], _START_TIMEOUT_S)
        line = self.proc.stdout.readline().rstrip("\n") if ready else ""
        if line != want:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(
                "flashbridge-sim did not start: stdout %r, stderr %r"
                % (line, self.stderr_path.read_text())
            )

    def i2c(self):
        import machine

        return machine.I2C(1)

    def power_cycle(self, off_ms=1):
        """Cut the board's power for off_ms; it has booted again when this returns."""
        return self.link.power_cycle(off_ms * 1_000_000)

    def now_ms(self):
        return self.link.now_ns() / 1e6

    def stop(self):
        """SIGTERM; returns the exit status (once stopped, the same status again)."""
        if self.proc.returncode is not None:
            return self.proc.returncode
        if self.link is not None:
            if mpshim._link is self.link:
                mpshim.set_link(None)
            self.link.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode


@pytest.fixture
def sim_factory(tmp_path):
    """sim_factory(*args) starts a simulator with extra command-line arguments."""
    sims = []

    def start(*args, connect=True):
        sim = Sim(tmp_path / ("sim%d" % len(sims)), args, connect)
        sims.append(sim)
        return sim

    yield start
    codes = [(s, s.stop()) for s in sims]
    for s, code in codes:
        assert code == 0, "flashbridge-sim exited %r on SIGTERM; stderr: %s" % (
            code,
            s.stderr_path.read_text(),
        )


@pytest.fixture
def sim(sim_factory):
    return sim_factory()


@pytest.fixture
def bridge(sim):
    from flashbridge import DaplinkBridge

    return DaplinkBridge(sim.i2c())


@pytest.fixture
def flash(bridge):
    from flashbridge import DaplinkFlash

    return DaplinkFlash(bridge)


# The streaming extension's codes (docs/PROTOCOL.md "Streaming extension").
STREAM_CODES = (0x12, 0x21, 0x83, 0x84)
NOT_A_COMMAND = 0x55  # the simulated target answers it with UNKNOWN_CMD


class NoStreamI2C(mpshim.I2C):
    """The simulated target as flashbridge 1.1 (before the streaming extension): the
    extension's codes reach it as a command byte it does not know, so a CAPS read
    returns 0xFF (no response prepared) and UNKNOWN_CMD is flagged, as 1.1 did. 1.1 had
    no EXT_STATUS/ERRORS: its STATUS carried their bits and its ERROR accumulated like
    ERRORS, so those reads are served from the protocol 2.0 registers."""

    # STATUS, ERROR -> EXT_STATUS, ERRORS; EXT_STATUS, ERRORS unknown.
    _AS_1_1 = {0x80: 0x85, 0x81: 0x86, 0x85: NOT_A_COMMAND, 0x86: NOT_A_COMMAND}

    def _reg(self, reg):
        if reg in STREAM_CODES:
            return NOT_A_COMMAND
        return self._AS_1_1.get(reg, reg)

    def writeto(self, addr, buf, stop=True):
        buf = bytes(buf)
        if buf[:1] and buf[0] in STREAM_CODES:
            buf = bytes([NOT_A_COMMAND]) + buf[1:]
        return super().writeto(addr, buf, stop)

    def readfrom_mem_into(self, addr, reg, buf, *, addrsize=8):
        super().readfrom_mem_into(addr, self._reg(reg), buf, addrsize=addrsize)

    def readfrom_mem(self, addr, reg, nbytes, *, addrsize=8):
        return super().readfrom_mem(addr, self._reg(reg), nbytes, addrsize=addrsize)


@pytest.fixture
def flash_v11(sim):
    """DaplinkFlash on a flashbridge 1.1 target (no streaming extension)."""
    from flashbridge import DaplinkBridge, DaplinkFlash

    return DaplinkFlash(DaplinkBridge(NoStreamI2C(1)))


@pytest.fixture
def manual_clock():
    clock = mpshim.ManualClock()
    mpshim.set_clock(clock)
    yield clock
    mpshim.set_clock(None)
