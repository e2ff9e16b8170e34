"""read() allocates its result once: the file's size, not a bytearray and then a bytes
copy (issue 14: 9,168 bytes allocated for a 4,119-byte file). Measured with tracemalloc
(peak above what was allocated before the call), with the streaming extension, without
it (flashbridge 1.1: READ_SECTOR) and on a v1 target with a length."""
import gc
import tracemalloc

import pytest

from flashbridge import DaplinkBridge, DaplinkFlash

SIZE = 4119
SMALL = 600
# The shim's own per-transfer buffers (socket replies, their copies) come and go during
# a read: what a read allocates besides its result is measured on a small read first,
# and a read of SIZE bytes may add at most this much on top. A second copy of the
# result would add SIZE.
MARGIN = 1024


def _peak_during(fn):
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak - base


def _data():
    return bytes((i * 7 + 3) % 256 for i in range(SIZE))


def _check(f, read_small, read_all):
    data = _data()
    f.write(data[:SMALL])
    f.read(1)  # probes (CAPS, FILE_SIZE support) done before measuring
    got, peak_small = _peak_during(read_small)
    assert got == data[:SMALL]
    f.write(data[SMALL:])
    got, peak = _peak_during(read_all)
    assert got == data
    extra_small = peak_small - SMALL
    extra = peak - SIZE
    assert 0 <= extra < extra_small + MARGIN, (
        "read of %d bytes: peak %d bytes (%d besides the result; %d for a %d-byte read)"
        % (SIZE, peak, extra, extra_small, SMALL)
    )
    return peak


@pytest.mark.parametrize("kind", ["stream", "v1.1"])
def test_read_allocates_the_file_once(kind, flash, flash_v11):
    f = flash if kind == "stream" else flash_v11
    _check(f, f.read, f.read)


def test_read_with_length_on_v1_allocates_once(sim):
    from test_v1_target import V1View

    class Quiet(V1View):
        """V1View without its record of every frame (it would grow during the read)."""

        def writeto(self, addr, buf, stop=True):
            r = super().writeto(addr, buf, stop)
            self.sent.clear()
            return r

    f = DaplinkFlash(DaplinkBridge(Quiet(1)))
    _check(f, lambda: f.read(SMALL), lambda: f.read(SIZE))
