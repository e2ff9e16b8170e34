"""Data logger: append CSV lines to the flashbridge data file, then read them back.

The lines go through a FlashLog (flash.log()): coalesced into full frames and sent
without waiting, at the bus limit. A line is on flash at the latest about delay_ms
(1 s) after it was written, with the next write_line(); leaving the `with` block
flushes everything (see the README, "Durability"). Reading back uses the FILE_SIZE
register: the file comes back byte for byte, even binary data containing 0xFF.
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

start = time.ticks_ms()
with flash.log(delay_ms=1000) as log:
    log.write_line("t_ms,temp_c")
    for i in range(SAMPLES):
        t = time.ticks_diff(time.ticks_ms(), start)
        v = read_sensor(i)
        log.write_line("%d,%d.%02d" % (t, v // 100, v % 100))
        time.sleep_ms(PERIOD_MS)

name, ext = flash.get_filename()
print("%s.%s: %d bytes" % (name, ext, flash.file_size()))
print(flash.read().decode(), end="")  # str.splitlines is not in every build
