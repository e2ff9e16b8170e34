# A short session on real MicroPython (unix port), through machine.py beside it:
#   FB_SOCK=/tmp/fb.sock MICROPYPATH=micropython/tools/unixport:LIB micropython session.py
# where LIB holds flashbridge/ and the compat modules (as on a board's /lib). Prints
# what it checked; the last line is "ok" when all went well. With -X heapsize=N, the
# smallest N that still gives "ok" is the heap the session needs.
from machine import I2C

from daplink_bridge import DaplinkBridge
from daplink_flash import DaplinkFlash
from steami_config import SteamiConfig

import flashbridge

print("json:", flashbridge.config.JSON_MODULE, "EIO:", flashbridge.errors.EIO)
b = DaplinkBridge(I2C(1))
f = DaplinkFlash(b)
print("target 0x%02X, %s, stream %s" % (b.device_id(), b.capabilities(), b.supports("stream")))
f.clear_flash()
data = bytearray(4119)
for i in range(len(data)):
    data[i] = (i * 7 + 3) & 0xFF
f.write(data)
for i in range(50):
    f.write_line("%d,%d" % (i, i * i))
r = f.read(len(data))
assert r == data
assert f.file_size() == len(data) + sum(len("%d,%d\n" % (i, i * i)) for i in range(50))
c = SteamiConfig(b)
c.load()
c.board_name = "unix"
c.set_boot_count(7)
c.increment_boot_count()
c.set_temperature_calibration("hts221", gain=1.01, offset=-0.4)
c.save()
c2 = SteamiConfig(b)
c2.load()
assert (c2.board_name, c2.get_boot_count()) == ("unix", 8)
print("config:", b.read_config())
print("ok")
