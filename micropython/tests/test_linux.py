"""The package on CPython on Linux (issue 14, item 5): `pip install ./micropython`
into a fresh venv, offline (--no-index; setuptools and wheel from Debian's
python3-setuptools and python3-wheel, hence --system-site-packages and
--no-build-isolation), then the session a Raspberry Pi script would run, with the
installed package and the STeaMi module names, against the simulated board in real time
(--realtime: the package sleeps on CPython's wall clock):
- through flashbridge.sim_i2c.SimI2C, the simulator's socket;
- through flashbridge.linux_i2c.LinuxI2C, its I2C_RDWR ioctls decoded from memory and
  played on the simulator by fake_i2cdev (what the kernel's i2c-dev would do).
Plus LinuxI2C's refusals, in-process."""
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HERE, MP_DIR

PY = "/usr/bin/python3"


def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, "%s\nstdout: %s\nstderr: %s" % (cmd, r.stdout, r.stderr)
    return r.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A venv with the package pip-installed from a copy of micropython/ (a build in
    place would leave build/ and *.egg-info in the source tree)."""
    root = tmp_path_factory.mktemp("pip")
    src = root / "src"
    shutil.copytree(
        MP_DIR, src, ignore=shutil.ignore_patterns("tests", "__pycache__", "build", "*.egg-info")
    )
    env_dir = root / "venv"
    _run([PY, "-m", "venv", "--system-site-packages", str(env_dir)])
    python = env_dir / "bin" / "python"
    _run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation",
         "--no-cache-dir", str(src)],
        env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"),
    )
    return python


def test_pip_install(venv):
    out = _run(
        [str(venv), "-I", "-c",
         "import json, flashbridge, daplink_bridge, daplink_flash, steami_config\n"
         "import flashbridge.linux_i2c, flashbridge.sim_i2c\n"
         "from importlib.metadata import version\n"
         "print(json.dumps([flashbridge.__file__, flashbridge.__version__, version('flashbridge')]))"],
        cwd="/",
    )
    where, mod_version, dist_version = json.loads(out)
    assert Path(where).is_relative_to(venv.parent.parent / "lib")  # installed, not the source
    import flashbridge

    assert mod_version == dist_version == flashbridge.__version__
    installed = {p.name for p in Path(where).parent.glob("*.py")}
    assert installed == {p.name for p in (MP_DIR / "flashbridge").glob("*.py")}


@pytest.mark.parametrize("mode", ["sim", "i2cdev"])
def test_session_on_cpython(mode, venv, sim_factory):
    sim = sim_factory("--realtime", "--bus-khz", "400", connect=False)
    out = _run(
        [str(venv), str(HERE / "linux_session.py"), mode, sim.socket_path],
        cwd="/",
        # the test helpers (fake_i2cdev, mpshim) only: flashbridge comes from the venv
        env=dict(os.environ, PYTHONPATH=str(HERE), PYTHONDONTWRITEBYTECODE="1"),
    )
    r = json.loads(out)
    assert "site-packages" in r["package"]
    assert r["scan"] == [0x3B]
    assert (r["who_am_i"], r["proto"], r["stream"]) == (0x4C, "v2.0", True)
    assert r["name"] == ["LOG", "CSV"]
    lines = "".join("%d,%d.%02d\n" % (i * 100, 21 + i, i * 7) for i in range(5))
    assert r["size"] == 3000 + len(lines)
    assert r["read_ok"] and r["sector_ok"] and r["readinto_ok"]
    assert r["config"] == [3, "pi-test", 42]
    assert r["txn"] is True
    if mode == "i2cdev":
        assert r["longest_read"] >= 256  # whole chunks in one plain read, not SMBus blocks


class _Kernel:
    def __init__(self, funcs=1, fail=None):
        self.funcs, self.fail, self.requests = funcs, fail, []

    def ioctl(self, fd, request, arg, mutate=True):
        import struct

        self.requests.append(request)
        if request == 0x0705:
            memoryview(arg).cast("B")[:] = struct.pack("@L", self.funcs)
            return 0
        if self.fail:
            raise OSError(self.fail, os.strerror(self.fail))
        return 0


def test_linux_i2c_refusals(tmp_path):
    from flashbridge.linux_i2c import LinuxI2C

    node = tmp_path / "i2c-9"
    node.write_bytes(b"")
    with pytest.raises(OSError) as e:
        LinuxI2C(path=str(node), ioctl=_Kernel(funcs=0x0EFF0008).ioctl)  # SMBus only
    assert e.value.errno == errno.EOPNOTSUPP
    with pytest.raises(FileNotFoundError):
        LinuxI2C(path=str(tmp_path / "absent"))

    k = _Kernel(fail=errno.ENXIO)
    i2c = LinuxI2C(path=str(node), ioctl=k.ioctl)
    with pytest.raises(OSError) as e:
        i2c.readfrom_mem(0x3B, 0x80, 1)
    assert e.value.errno == errno.ENXIO  # a NACK always raises, never a silent result
    assert i2c.scan() == []  # every address NACKed
    with pytest.raises(ValueError):
        i2c.writeto(0x3B, b"\x01", False)  # no transaction left open across calls
    with pytest.raises(ValueError):
        i2c.readfrom(0x3B, 8193)
    with pytest.raises(TypeError):
        i2c.readfrom_into(0x3B, b"read-only")
    i2c.close()
    with pytest.raises(OSError) as e:
        i2c.readfrom(0x3B, 1)
    assert e.value.errno == errno.EBADF


def test_sim_i2c_failures(sim_factory):
    from flashbridge.sim_i2c import SimI2C

    sim = sim_factory(connect=False)
    with SimI2C(sim.socket_path, timeout=10) as i2c:
        assert i2c.bus_hz in (100_000, 400_000)
        for call in (
            lambda: i2c.readfrom_mem(0x10, 0x80, 1),
            lambda: i2c.writeto(0x10, b"\x01"),
            lambda: i2c.readfrom(0x10, 4),
        ):
            with pytest.raises(OSError) as e:
                call()
            assert e.value.errno == errno.ENXIO  # as LinuxI2C on most adapters
        assert i2c.readfrom_mem(0x3B, 0x01, 1) == b"\x4c"  # WHO_AM_I
        with pytest.raises(ValueError):
            i2c.writeto(0x3B, b"\x01", False)
        with pytest.raises(ValueError):
            i2c.readfrom(0x3B, 4097)
    with pytest.raises(OSError) as e:
        i2c.readfrom(0x3B, 1)
    assert e.value.errno == errno.EBADF
