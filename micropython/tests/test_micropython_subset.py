"""The package, its alias modules and the examples stay within what MicroPython runs:
checked on the syntax tree, since the tests themselves run on CPython."""
import ast

import pytest

from conftest import MP_DIR

SOURCES = sorted(
    list((MP_DIR / "flashbridge").glob("*.py"))
    + list((MP_DIR / "compat").glob("*.py"))
    + list((MP_DIR / "examples").glob("*.py"))
)

# Modules a MicroPython board has (or, for the sensor drivers, that the examples import
# only inside try/except ImportError).
ALLOWED_IMPORTS = {
    "micropython", "time", "utime", "errno", "uerrno", "json", "machine",
    "flashbridge", "daplink_bridge", "daplink_flash", "steami_config", "hts221",
}
# str/bytes/int methods MicroPython does not have.
MISSING_METHODS = {
    "ljust", "rjust", "center", "zfill", "casefold", "expandtabs", "format_map",
    "removeprefix", "removesuffix", "isascii", "isprintable", "isidentifier",
    "swapcase", "title", "istitle", "maketrans", "translate", "bit_count",
}


def _problems(path):
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        where = "%s:%d" % (path.name, getattr(node, "lineno", 0))
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
