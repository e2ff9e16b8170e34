"""The package, its alias modules and the examples stay within what MicroPython runs:
checked on the syntax tree, since the tests themselves run on CPython."""
import ast

import pytest

from conftest import HOST_ONLY, MP_DIR

SOURCES = sorted(
    p
    for p in list((MP_DIR / "flashbridge").glob("*.py"))
    + list((MP_DIR / "compat").glob("*.py"))
    + list((MP_DIR / "examples").glob("*.py"))
    if str(p.relative_to(MP_DIR)) not in HOST_ONLY
)

# Modules a MicroPython board has (or, for the sensor drivers, that the examples import
# only inside try/except ImportError).
ALLOWED_IMPORTS = {
    "micropython", "time", "utime", "errno", "uerrno", "json", "ujson", "machine",
    "flashbridge", "daplink_bridge", "daplink_flash", "steami_config", "hts221",
}
# str/bytes/int methods MicroPython does not have.
MISSING_METHODS = {
    "ljust", "rjust", "center", "zfill", "casefold", "expandtabs", "format_map",
    "removeprefix", "removesuffix", "isascii", "isprintable", "isidentifier",
    "swapcase", "title", "istitle", "maketrans", "translate", "bit_count",
}


# What MicroPython's time module has (extmod/modtime.c); the shim's `time` keeps
# CPython's attributes too, so using one of those would pass on CPython only.
MP_TIME = {
    "sleep", "sleep_ms", "sleep_us", "ticks_ms", "ticks_us", "ticks_cpu", "ticks_diff",
    "ticks_add", "time", "time_ns", "localtime", "gmtime", "mktime",
}


def _fallbacks(tree):
    """Nodes inside `except ImportError:` handlers: CPython-only fallbacks."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Name):
            if node.type.id == "ImportError":
                for stmt in node.body:
                    inside.update(id(n) for n in ast.walk(stmt))
    return inside


def _problems(path):
    tree = ast.parse(path.read_text(), str(path))
    fallback = _fallbacks(tree)
    found = []
    for node in ast.walk(tree):
        where = "%s:%d" % (path.name, getattr(node, "lineno", 0))
        if id(node) in fallback:
            continue
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "utime"):
            for alias in node.names:
                if alias.name not in MP_TIME:
                    found.append("%s time.%s is not MicroPython's" % (where, alias.name))
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("time", "utime")
            and node.attr not in MP_TIME
        ):
            found.append("%s time.%s is not MicroPython's" % (where, node.attr))
        if isinstance(node, ast.Slice) and node.step is not None:
            # bytearray/memoryview slices take step 1 only (NotImplementedError).
            found.append("%s slice with a step" % where)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "from_bytes"
            and len(node.args) < 2
        ):
            found.append("%s int.from_bytes() needs its byteorder (older MicroPython)" % where)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in ALLOWED_IMPORTS:
                    found.append("%s import %s" % (where, alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module.split(".")[0] not in ALLOWED_IMPORTS:
                found.append("%s from %s import" % (where, node.module))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in MISSING_METHODS:
                found.append("%s .%s() is not in MicroPython" % (where, name))
            if name == "hex" and (node.args or node.keywords):
                found.append("%s bytes.hex(sep) is not in MicroPython" % where)
            if name in ("to_bytes", "from_bytes") and node.keywords:
                found.append("%s int.%s() takes no keywords in MicroPython" % (where, name))
        elif isinstance(node, (ast.AnnAssign, ast.AsyncFunctionDef, ast.Await)):
            found.append("%s %s" % (where, type(node).__name__))
        elif isinstance(node, ast.arguments):
            for a in node.args + node.kwonlyargs:
                if a.annotation is not None:
                    found.append("%s annotation on %s" % (where, a.arg))
        elif isinstance(node, ast.FunctionDef) and node.returns is not None:
            found.append("%s return annotation" % where)
    return found


def test_sources_found():
    names = {p.name for p in SOURCES}
    assert {"bridge.py", "flash.py", "config.py", "const.py", "errors.py"} <= names
    assert {"data_logger.py", "calibration_store.py", "boot_counter.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name + "/" + p.name)
def test_micropython_subset(path):
    assert _problems(path) == []


def test_no_private_constant_imported():
    """With micropython.const, `_NAME = const(x)` is folded at compile time and is not a
    module attribute: importing an underscored name from const.py works on CPython and
    fails on a board."""
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("const"):
                for alias in node.names:
                    assert not alias.name.startswith("_"), (path.name, alias.name)


def test_the_rules_fire(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import time\n"
        "from time import monotonic\n"
        "try:\n    from time import sleep_ms\nexcept ImportError:\n"
        "    import time as _t\n    sleep_ms = lambda ms: _t.sleep(ms / 1000)\n"
        "def f(b):\n"
        "    time.perf_counter()\n"
        "    x = b[::2]\n"
        "    return int.from_bytes(b)\n"
    )
    text = "\n".join(_problems(bad))
    assert "bad.py:2 time.monotonic" in text
    assert "bad.py:9 time.perf_counter" in text
    assert "bad.py:10 slice with a step" in text
    assert "bad.py:11 int.from_bytes" in text
    assert "bad.py:6" not in text and "bad.py:7" not in text  # fallback code
