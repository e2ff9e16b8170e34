# A logging session on real MicroPython (unix port), through machine.py beside it: what
# tools/heap_check runs under -X heapsize=N to find the heap the package needs. Imports
# the package as a board script would, clears the file, logs 400 lines one call at a
# time through FlashLog, closes it, and checks the size and the last line. Last line
# printed: "ok".
import gc

from machine import I2C

import flashbridge

gc.collect()
print("imported, free", gc.mem_free())
f = flashbridge.DaplinkFlash(flashbridge.DaplinkBridge(I2C(1)))
f.clear_flash()
total = 0
with f.log() as log:
    for i in range(400):
        total += log.write_line("%d,%d.%02d,%s" % (i, 20 + i % 7, i % 100, "x" * (i % 40)))
size = f.file_size()
assert size == total, (size, total)
# The check reads the last sector (READ_SECTOR): no streaming-read code is loaded for it.
last = b"399,20.99," + b"x" * 39 + b"\n"
sector = f.read_sector((size - 1) // 256)
end = (size - 1) % 256 + 1
assert end >= 32 and sector[end - 32 : end] == last[-32:], sector
gc.collect()
print("logged", total, "bytes, free", gc.mem_free())
print("ok")
