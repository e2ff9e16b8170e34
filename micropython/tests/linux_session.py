"""A session as a Raspberry Pi script would run it, on CPython with the installed
package: run by test_linux.py in a venv where `pip install` put flashbridge.

    linux_session.py sim SOCKET       the bus is flashbridge.sim_i2c.SimI2C
    linux_session.py i2cdev SOCKET    the bus is flashbridge.linux_i2c.LinuxI2C, its
                                      ioctls played on the simulator (fake_i2cdev)

Prints one line of JSON: what was checked and the figures."""
import json
import sys
import tempfile


def main(mode, sock):
    if mode == "sim":
        from flashbridge.sim_i2c import SimI2C

        i2c = SimI2C(sock, timeout=30)
        ioctls = None
    else:
        from fake_i2cdev import FakeI2cDev
        from mpshim import SimLink

        from flashbridge.linux_i2c import LinuxI2C

        fake = FakeI2cDev(SimLink(sock))
        node = tempfile.NamedTemporaryFile()  # stands for /dev/i2c-1
        i2c = LinuxI2C(path=node.name, ioctl=fake.ioctl)
        ioctls = fake.calls

    # The STeaMi module names, as an existing script imports them.
    from daplink_bridge import DaplinkBridge
    from daplink_flash import DaplinkFlash
    from steami_config import SteamiConfig

    import flashbridge

    out = {"package": flashbridge.__file__, "scan": i2c.scan()}
    bridge = DaplinkBridge(i2c)
    flash = DaplinkFlash(bridge)
    out["who_am_i"] = bridge.device_id()
    out["proto"] = bridge.capabilities()
    out["stream"] = bridge.supports("stream")

    flash.set_filename("log", "csv")
    flash.clear_flash()
    data = bytes((i * 31 + 7) % 256 for i in range(3000))  # 0xFF bytes included
    assert flash.write(data) == len(data)
    for i in range(5):
        flash.write_line("%d,%d.%02d" % (i * 100, 21 + i, i * 7))
    lines = "".join("%d,%d.%02d\n" % (i * 100, 21 + i, i * 7) for i in range(5)).encode()
    whole = data + lines
    out["name"] = list(flash.get_filename())
    out["size"] = flash.file_size()
    out["read_ok"] = flash.read() == whole
    out["sector_ok"] = flash.read_sector(3) == whole[768:1024]
    buf = bytearray(300)
    n = flash.readinto(buf, 2700)
    out["readinto_ok"] = n == 300 and buf == whole[2700:3000]

    cfg = SteamiConfig(bridge)
    cfg.load()
    cfg.board_revision = 3
    cfg.board_name = "pi-test"
    cfg.set_boot_count(41)
    cfg.increment_boot_count()
    cfg.save()
    again = SteamiConfig(DaplinkBridge(i2c))
    again.load()
    out["config"] = [again.board_revision, again.board_name, again.get_boot_count()]
    out["txn"] = bridge.supports("config_txn")
    if ioctls is not None:
        out["ioctls"] = len(ioctls)
        out["longest_read"] = max(n for call in ioctls for _, f, n in call if f & 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
