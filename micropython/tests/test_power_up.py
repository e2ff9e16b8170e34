"""What a host sees right after the target powers up: the name and size of the file it
had, at once. (An earlier simulator answered STATUS as idle for ~2 ms before the
firmware had mounted its metadata, with FILE_SIZE 0 and the default name; the board now
boots before it answers, as a real one does.)"""
from flashbridge import const as C


def test_registers_right_after_power_up(sim, bridge, flash):
    flash.set_filename("keep", "dat")
    flash.write(b"abc")
    sim.link.power_cycle(1_000_000)  # no time given to boot before the first transfer
    assert not bridge._status() & C.STATUS_BUSY
    assert flash.file_size() == 3
    assert flash.get_filename() == ("KEEP", "DAT")
    assert flash.read() == b"abc"


def test_registers_right_after_start_from_image(sim_factory, tmp_path):
    from flashbridge import DaplinkBridge, DaplinkFlash

    image = tmp_path / "w25.img"
    first = sim_factory("--flash-image", str(image))
    f = DaplinkFlash(DaplinkBridge(first.i2c()))
    f.set_filename("img", "bin")
    f.write(b"\x00\xff" * 200)
    assert first.stop() == 0  # SIGTERM writes the image back
    second = sim_factory("--flash-image", str(image))
    f = DaplinkFlash(DaplinkBridge(second.i2c()))
    assert f.get_filename() == ("IMG", "BIN")
    assert f.read() == b"\x00\xff" * 200
