"""package.json (what mip installs) lists exactly the package's board-side files, and
pyproject.toml (what pip installs on Linux) carries the same version."""
import json

from conftest import HOST_ONLY, MP_DIR

import flashbridge


def test_package_json_lists_every_module():
    pkg = json.loads((MP_DIR / "package.json").read_text())
    sources = {src for _, src in pkg["urls"]}
    on_disk = {
        str(p.relative_to(MP_DIR))
        for d in ("flashbridge", "compat")
        for p in (MP_DIR / d).glob("*.py")
    } - set(HOST_ONLY)
    assert sources == on_disk
    for dest, src in pkg["urls"]:
        assert (MP_DIR / src).is_file()
        # Installed layout: the package directory, and the alias modules at top level.
        assert dest == src if src.startswith("flashbridge/") else dest == src.split("/")[-1]
    assert pkg["version"] == flashbridge.__version__


def test_pyproject_version_and_name():
    import tomllib

    meta = tomllib.loads((MP_DIR / "pyproject.toml").read_text())["project"]
    assert meta["name"] == "flashbridge"
    assert meta["version"] == flashbridge.__version__
