"""A long logging session: thousands of small appends, then the whole file back."""
import pytest

from flashbridge import DaplinkBridge, DaplinkFlash, SteamiConfig


def _record(i):
    if i % 50 == 7:
        # Binary records: 0xFF bytes that v1's scan would have taken for the end.
        return bytes([0xFF, i & 0xFF, 0xFF, 0xFF, (i >> 8) & 0xFF, 0x00])
    return "%d,%d.%02d,%s" % (i, 20 + i % 7, i % 100, "x" * (i % 45))


def _session(sim, lines):
    flash = DaplinkFlash(DaplinkBridge(sim.i2c()))
    flash.clear_flash()
    flash.set_filename("session", "csv")
    expected = bytearray()
    for i in range(lines):
        rec = _record(i)
        n = flash.write_line(rec)
        raw = rec.encode() if isinstance(rec, str) else rec
        assert n == len(raw) + 1
        expected += raw + b"\n"
    assert flash.file_size() == len(expected)
    assert flash.read() == bytes(expected)
    return flash, bytes(expected)


def test_2000_lines_typical_timing(sim):
    flash, expected = _session(sim, 2000)
    # Survives a power cut, byte for byte.
    sim.power_cycle()
    again = DaplinkFlash(DaplinkBridge(sim.i2c()))
    assert again.get_filename() == ("SESSION", "CSV")
    assert again.read() == expected


@pytest.mark.parametrize("bus_khz", ["100", "400"])
def test_session_at_datasheet_worst_case_timing(sim_factory, bus_khz):
    """With every flash operation at its datasheet maximum the driver's timeouts (taken
    from the same maxima) still hold, for data and config."""
    sim = sim_factory("--timing", "max", "--bus-khz", bus_khz)
    _, bus_hz = sim.link.hello()
    assert bus_hz == int(bus_khz) * 1000
    # Second session over the first one's data: the clear leaves the old sectors to the
    # background eraser (blocks of up to 2 s at worst), and 300 size records force
    # metadata compactions (400 ms sector erases at worst).
    _session(sim, 300)
    _session(sim, 300)
    cfg = SteamiConfig(DaplinkBridge(sim.i2c()))
    cfg.board_name = "worst-case"
    cfg.set_magnetometer_calibration(1, 2, 3, 4, 5, 6)
    for _ in range(3):
        cfg.increment_boot_count()
        cfg.save()
    cfg2 = SteamiConfig(DaplinkBridge(sim.i2c()))
    cfg2.load()
    assert cfg2.get_boot_count() == 3 and cfg2.board_name == "worst-case"


def test_long_single_write_crosses_erase_sectors(sim):
    """64 KiB in one write(): many 4 KiB sectors, the queue kept full."""
    flash = DaplinkFlash(DaplinkBridge(sim.i2c()))
    data = bytes((i * 31 + (i >> 8)) & 0xFF for i in range(65536))
    assert flash.write(data) == len(data)
    assert flash.read() == data


def test_throughput_at_100khz(sim):
    """Virtual-time throughput against what the bus can carry at 100 kHz: a 32-byte
    WRITE_DATA frame (30 data bytes) costs 1 + 9 + 9 * 32 + 1 bit periods, a 256-byte
    plain read 1 + 9 + 9 * 256 + 1. Queue-aware appends and polled reads keep the bus
    busy with data: at least 85 % of the frame capacity, 90 % of the read capacity."""
    _, bus_hz = sim.link.hello()
    assert bus_hz == 100_000
    flash = DaplinkFlash(DaplinkBridge(sim.i2c()))
    flash.write(b"warm-up")
    data = bytes(30 * 400)
    t0 = sim.now_ms()
    flash.write(data)
    write_bps = len(data) / (sim.now_ms() - t0) * 1000
    frame_capacity = 30 * bus_hz / (1 + 9 + 9 * 32 + 1)
    assert write_bps >= 0.85 * frame_capacity, (write_bps, frame_capacity)
    t0 = sim.now_ms()
    back = flash.read()
    read_bps = len(back) / (sim.now_ms() - t0) * 1000
    read_capacity = 256 * bus_hz / (1 + 9 + 9 * 256 + 1)
    assert read_bps >= 0.90 * read_capacity, (read_bps, read_capacity)
