"""A STeaMi that ran DAPLink and the v1 bridge, with flashbridge installed on it, on the
emulator (flashbridge-emu --board steami, the real interface image at 0x0800C000 started
by the bootloader stand-in):

- the W25Q64 in the v1 layout (a 100 KiB file from address 0, its name at 0x7FF000)
  comes up as the file, unchanged, through the CLI and the MicroPython package (v1
  compat classes included), and an append adds to it without rewriting it;
- the factory config page at 0x0800BC00 (the board's JSON) is the config zone from the
  first boot: SteamiConfig reads it; writes never touch the page;
- nothing legacy is erased unless the host clears it; a chip that cannot be imported is
  kept as it is until CLEAR_FLASH.

FB_SIM names the emulator wrapper (tests/emu/flashbridge-emu-steami), FB_CLI the
flashbridge CLI; both are set by tests/emu/CMakeLists.txt.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "micropython" / "tests"))

from conftest import Sim  # noqa: E402  (also installs the MicroPython shim)
import mpshim  # noqa: E402

FLASH_SIZE = 8 * 1024 * 1024
IFLASH_SIZE = 128 * 1024
FACTORY = 0xBC00
V1_NAME_ADDR = 0x7FF000
V1_OLD_CONFIG = 0x7FE000
BOARD_JSON = {"rev": 3, "name": "STeaMi-01", "tc": {"hts": {"g": 1.0, "o": -0.5}},
              "cm": {"hx": 12.5, "hy": -3.0, "hz": 40.25}}


def legacy_file():
    """100 KiB of CSV lines, as a v1 data logger wrote them (no 0xFF byte)."""
    out, i = [], 0
    while sum(len(x) for x in out) < 100 * 1024:
        out.append(b"%d,%d.%02d,%d\n" % (i, 20 + i % 7, i % 100, (i * 37) % 1000))
        i += 1
    return b"".join(out)[: 100 * 1024]


def legacy_images(workdir, old_config=None):
    data = legacy_file()
    flash = bytearray(b"\xff" * FLASH_SIZE)
    flash[: len(data)] = data
    flash[V1_NAME_ADDR:V1_NAME_ADDR + 11] = b"LOG     CSV"
    if old_config is not None:
        flash[V1_OLD_CONFIG:V1_OLD_CONFIG + len(old_config)] = old_config
    cfg = bytearray(b"\xff" * IFLASH_SIZE)  # bootloader area blank: the stand-in runs
    page = json.dumps(BOARD_JSON, separators=(",", ":")).encode()
    cfg[FACTORY:FACTORY + len(page)] = page
    fpath, cpath = Path(workdir) / "w25q64.img", Path(workdir) / "iflash.img"
    fpath.write_bytes(flash)
    cpath.write_bytes(cfg)
    return data, bytes(flash), bytes(cfg), fpath, cpath


def cli(sim, *args, stdin=None):
    """The CLI on the same board: the server takes one client at a time, so the
    MicroPython shim's connection is closed meanwhile and opened again after."""
    sim.link.close()
    mpshim.set_link(None)
    try:
        return subprocess.run([os.environ["FB_CLI"], "--sim", sim.socket_path, "--quiet",
                               *args], input=stdin, capture_output=True, timeout=300)
    finally:
        sim.link = mpshim.SimLink(sim.socket_path)
        mpshim.set_link(sim.link)


@pytest.fixture
def emu(tmp_path):
    if not os.environ.get("FB_SIM") or not os.environ.get("FB_CLI"):
        pytest.skip("FB_SIM (flashbridge-emu-steami) and FB_CLI not set")
    started = []

    def start(fpath, cpath):
        s = Sim(tmp_path / ("emu%d" % len(started)),
                ("--flash-image", str(fpath), "--config-image", str(cpath)))
        started.append(s)
        return s

    yield start
    for s in started:
        assert s.stop() == 0, (s.stderr_path.read_text())


def test_legacy_board_comes_up_unchanged_and_appends(tmp_path, emu):
    data, flash0, cfg0, fpath, cpath = legacy_images(tmp_path)
    sim = emu(fpath, cpath)

    # CLI: the file, its name and its bytes; the factory config.
    r = cli(sim, "file", "name")
    assert r.returncode == 0 and r.stdout.decode().strip() == "LOG.CSV", r
    r = cli(sim, "file", "size")
    assert r.returncode == 0 and int(r.stdout.split()[0]) == len(data), r
    r = cli(sim, "file", "get")
    assert r.returncode == 0 and r.stdout == data
    r = cli(sim, "config", "read")
    assert r.returncode == 0 and r.stdout == cfg0[FACTORY:FACTORY + 1024]

    # MicroPython package, v1 compat classes as STeaMi scripts use them.
    from daplink_bridge import DaplinkBridge
    from daplink_flash import DaplinkFlash
    from steami_config import SteamiConfig

    bridge = DaplinkBridge(sim.i2c())
    flash = DaplinkFlash(bridge)
    assert flash.get_filename() == ("LOG", "CSV")
    assert flash.read() == data
    assert flash.read_sector(1) == data[256:512]
    config = SteamiConfig(bridge)
    config.load()
    assert config.board_name == "STeaMi-01"
    assert config.board_revision == 3
    assert config.get_temperature_calibration("hts221") == {"gain": 1.0, "offset": -0.5}

    # Append: after the legacy bytes, which stay as they were.
    assert flash.write_line("100000,21.00,1") > 0
    r = cli(sim, "file", "put", "-", stdin=b"100001,21.50,2\n")
    assert r.returncode == 0, r
    tail = b"100000,21.00,1\n100001,21.50,2\n"
    assert flash.read() == data + tail

    # A config change lives in flashbridge's journal; the factory page is not written.
    config.set_boot_count(7)
    config.save()
    config.load()
    assert config.get_boot_count() == 7 and config.board_name == "STeaMi-01"

    assert sim.stop() == 0
    flash1, cfg1 = fpath.read_bytes(), cpath.read_bytes()
    assert flash1[: len(data)] == data, "legacy file bytes changed"
    assert flash1[len(data):len(data) + len(tail)] == tail
    assert flash1[V1_NAME_ADDR:V1_NAME_ADDR + 11] == b"LOG     CSV"
    assert cfg1[:0xC000] == cfg0[:0xC000], "bootloader area or factory page written"
    assert cfg1[0x1FC00:] == cfg0[0x1FC00:], "DAPLink's user config page written"

    # Power up again on the same images: the imported file, the journal's config.
    sim = emu(fpath, cpath)
    bridge = DaplinkBridge(sim.i2c())
    assert DaplinkFlash(bridge).read() == data + tail
    config = SteamiConfig(bridge)
    config.load()
    assert config.get_boot_count() == 7 and config.board_name == "STeaMi-01"


def test_unimportable_chip_is_kept_until_clear_flash(tmp_path, emu):
    """v1's old config sector holds data: the import would erase it, so nothing is
    touched; appends fail (FILE_FULL); CLEAR_FLASH is the host's explicit decision."""
    data, flash0, cfg0, fpath, cpath = legacy_images(tmp_path, old_config=b'{"old":1}')
    sim = emu(fpath, cpath)
    r = cli(sim, "file", "size")
    assert r.returncode == 0 and int(r.stdout.split()[0]) == 0, r
    r = cli(sim, "file", "put", "-", stdin=b"x\n")
    assert r.returncode == 1 and b"full" in (r.stdout + r.stderr).lower(), r
    from daplink_bridge import DaplinkBridge
    from daplink_flash import DaplinkFlash

    flash = DaplinkFlash(DaplinkBridge(sim.i2c()))
    sim.link.wait_ns(2_000_000_000)  # two seconds of board time: no eraser runs
    assert sim.stop() == 0
    assert fpath.read_bytes() == flash0, "a chip we did not write was changed"

    sim = emu(fpath, cpath)
    flash = DaplinkFlash(DaplinkBridge(sim.i2c()))
    flash.clear_flash()
    assert flash.write(b"new\n") == 4
    assert flash.read() == b"new\n"
