"""Calibration store: keep sensor calibration in the target's config zone and apply it
to the sensor drivers at start-up.

The zone holds compact JSON (1 KB). save() replaces the whole zone; it fails with
ValueError, leaving the zone as it was, if the configuration would not fit.
"""
from machine import I2C

from flashbridge import DaplinkBridge, SteamiConfig

i2c = I2C(1)
config = SteamiConfig(DaplinkBridge(i2c))
config.load()

# --- Store (normally done once, after a calibration run) ---
config.board_name = "STeaMi-01"
config.board_revision = 3
config.set_temperature_calibration("hts221", gain=1.01, offset=-0.4)
config.set_temperature_calibration("wsen_pads", gain=1.0, offset=0.15)
config.set_magnetometer_calibration(
    hard_iron_x=12.3, hard_iron_y=-5.1, hard_iron_z=0.8,
    soft_iron_x=1.01, soft_iron_y=0.98, soft_iron_z=1.0,
)
config.set_accelerometer_calibration(ox=0.012, oy=-0.004, oz=0.021)
config.save()

# --- Apply (at every start-up) ---
config = SteamiConfig(DaplinkBridge(i2c))
config.load()
print("board:", config.board_name, "rev", config.board_revision)

try:
    from hts221 import HTS221

    hts = HTS221(i2c)
except ImportError:  # no sensor driver installed: a stand-in shows what is set

    class HTS221:
        pass

    hts = HTS221()

config.apply_temperature_calibration(hts)
print("hts221 gain %.2f offset %.2f" % (hts._temp_gain, hts._temp_offset))
print("magnetometer:", config.get_magnetometer_calibration())
print("accelerometer:", config.get_accelerometer_calibration())
