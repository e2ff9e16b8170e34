"""Data logger: append CSV lines to the flashbridge data file, then read them back.

Each write_line() returns once the target has stored the line, so a power cut loses
at most the line being written. Reading back uses the FILE_SIZE register: the file
comes back byte for byte, even binary data containing 0xFF.
"""
import time

from machine import I2C

from flashbridge import DaplinkBridge, DaplinkFlash

SAMPLES = 20
PERIOD_MS = 100


def read_sensor(i):
    """Stand-in for a real sensor: replace with e.g. hts221.temperature()."""
    return 2000 + (i * 37) % 150  # hundredths of a degree


i2c = I2C(1)
bridge = DaplinkBridge(i2c)
flash = DaplinkFlash(bridge)
print("target 0x%02X, protocol %s" % (bridge.device_id(), bridge.capabilities()))

flash.set_filename("LOG", "CSV")
flash.clear_flash()
flash.write_line("t_ms,temp_c")

start = time.ticks_ms()
for i in range(SAMPLES):
    t = time.ticks_diff(time.ticks_ms(), start)
    v = read_sensor(i)
    flash.write_line("%d,%d.%02d" % (t, v // 100, v % 100))
    time.sleep_ms(PERIOD_MS)

name, ext = flash.get_filename()
print("%s.%s: %d bytes" % (name, ext, flash.file_size()))
print(flash.read().decode(), end="")  # str.splitlines is not in every build
