"""The examples run unchanged against the simulated board."""
import runpy

from conftest import MP_DIR
from flashbridge import DaplinkBridge, DaplinkFlash, SteamiConfig

EXAMPLES = MP_DIR / "examples"


def run_example(name, capsys):
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def test_data_logger(sim, capsys):
    out = run_example("data_logger.py", capsys)
    assert "target 0x4C, protocol v2.0" in out
    lines = DaplinkFlash(DaplinkBridge(sim.i2c())).read().decode().splitlines()
    assert lines[0] == "t_ms,temp_c"
    assert len(lines) == 21
    times = [int(line.split(",")[0]) for line in lines[1:]]
    assert times == sorted(times) and times[-1] >= 19 * 100  # it slept between samples
    assert "LOG.CSV: %d bytes" % sum(len(x) + 1 for x in lines) in out


def test_calibration_store(sim, capsys):
    out = run_example("calibration_store.py", capsys)
    assert "board: STeaMi-01 rev 3" in out
    assert "hts221 gain 1.01 offset -0.40" in out
    cfg = SteamiConfig(DaplinkBridge(sim.i2c()))
    cfg.load()
    assert cfg.get_accelerometer_calibration() == {"ox": 0.012, "oy": -0.004, "oz": 0.021}
    assert cfg.get_temperature_calibration("wsen_pads") == {"gain": 1.0, "offset": 0.15}


def test_boot_counter_across_resets(sim, capsys):
    for n in range(1, 4):
        out = run_example("boot_counter.py", capsys)
        assert out.strip() == "Boot count: %d" % n
        sim.power_cycle()
