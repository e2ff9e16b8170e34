"""The package runs on every MicroPython that has machine.I2C, not only on builds at the
EXTRA feature level.

MicroPython builds choose a feature level, MICROPY_CONFIG_ROM_LEVEL (py/mpconfig.h:
MINIMUM 0, CORE_FEATURES 10, BASIC_FEATURES 20, EXTRA_FEATURES 30, FULL 40, EVERYTHING
50), and py/mpconfig.h derives each MICROPY_PY_* default from it. Ports with machine.I2C
that stay below EXTRA (micropython/micropython, snapshot 1c3c2011, Aug 2026): nRF51
(CORE), nRF52832 (BASIC) in ports/nrf/mpconfigport.h; SAMD21 (BASIC) in
ports/samd/mcu/samd21/mpconfigmcu.h; stm32 B_L072Z_LRWAN1 (CORE); cc3200 (CORE); zephyr
(configurable). What BASIC/CORE builds lack, from py/mpconfig.h
(`..._AT_LEAST_EXTRA_FEATURES` defaults), that a driver could use:

- modules: errno/uerrno (MICROPY_PY_ERRNO), json (MICROPY_PY_JSON), os, re, select,
  binascii, hashlib, random, heapq, deflate, uctypes, asyncio, cmath, platform,
  framebuf; at CORE also time (MICROPY_PY_TIME is BASIC; every port with I2C turns it on);
- memoryview (MICROPY_PY_BUILTINS_MEMORYVIEW): every port above turns it back on in its
  own config, so the package may use it at run time, but not at import time (the unix
  port's BASIC/CORE variants have none);
- slice assignment into bytearray/memoryview (MICROPY_PY_ARRAY_SLICE_ASSIGN): turned
  back on by nrf, samd21, cc3200 and zephyr, not by B_L072Z_LRWAN1 (the package needs it
  at run time: a documented limit, not checked here);
- f-strings (MICROPY_PY_FSTRINGS), bytes.hex/fromhex (MICROPY_PY_BUILTINS_BYTES_HEX),
  str.center/partition/rpartition/splitlines, decode/encode `errors`
  (MICROPY_PY_BUILTINS_BYTES_DECODE_ERRORS), setattr/delattr
  (MICROPY_PY_DELATTR_SETATTR), descriptors __get__/__set__/__delete__/__set_name__
  (MICROPY_PY_DESCRIPTORS), function attributes (MICROPY_PY_FUNCTION_ATTRS), frozenset,
  slice.indices (MICROPY_PY_BUILTINS_SLICE_INDICES), 3-argument pow, NotImplemented,
  input, compile, execfile, help, special methods beyond the common ones and reverse
  ones (MICROPY_PY_ALL_SPECIAL_METHODS, MICROPY_PY_REVERSE_SPECIAL_METHODS, py/objtype.c);
- at CORE: next(it, default) (MICROPY_PY_BUILTINS_NEXT2), __all__
  (MICROPY_MODULE___ALL__), str as unicode (MICROPY_PY_BUILTINS_STR_UNICODE: non-ASCII
  str literals would count bytes).

The scan below rejects each of them in the package's board-side sources and examples; a module an
EXTRA build has may be imported only inside try/except ImportError whose fallback
does without it. A second test imports the package with errno, uerrno, json, ujson and
memoryview all missing, as on such a build.
"""
import ast
import os
import subprocess
import sys

import pytest

from conftest import HOST_ONLY, MP_DIR

BOARD_SOURCES = sorted(
    p
    for d in ("flashbridge", "compat", "examples")
    for p in (MP_DIR / d).glob("*.py")
    if str(p.relative_to(MP_DIR)) not in HOST_ONLY
)

EXTRA_MODULES = {
    "errno", "uerrno", "json", "ujson", "os", "uos", "re", "ure", "select", "uselect",
    "binascii", "ubinascii", "hashlib", "uhashlib", "random", "urandom", "heapq",
    "uheapq", "deflate", "uctypes", "asyncio", "uasyncio", "cmath", "platform",
    "framebuf",
}
EXTRA_METHODS = {"hex", "fromhex", "center", "partition", "rpartition", "splitlines", "indices"}
EXTRA_BUILTINS = {
    "setattr", "delattr", "frozenset", "NotImplemented", "input", "compile", "execfile",
    "help",
}
FUNCTION_ATTRS = {"__code__", "__globals__", "__defaults__", "__kwdefaults__", "__closure__"}
# User-class special methods every level dispatches (py/objtype.c, outside
# MICROPY_PY_ALL_SPECIAL_METHODS).
CORE_SPECIAL = {
    "__init__", "__new__", "__str__", "__repr__", "__bool__", "__len__", "__hash__",
    "__int__", "__lt__", "__gt__", "__eq__", "__le__", "__ge__", "__ne__", "__contains__",
    "__add__", "__sub__", "__radd__", "__rsub__", "__iadd__", "__isub__", "__getitem__",
    "__setitem__", "__delitem__", "__iter__", "__next__", "__call__", "__enter__",
    "__exit__", "__getattr__", "__del__",
}
DESCRIPTORS = {"__get__", "__set__", "__delete__", "__set_name__"}


def _guarded(tree):
    """Nodes inside a `try:` body that has an `except ImportError` handler (their
    absence is handled), and inside such handlers (the fallbacks, checked in turn)."""
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            names = set()
            for h in node.handlers:
                t = h.type
                for e in t.elts if isinstance(t, ast.Tuple) else [t]:
                    if isinstance(e, ast.Name):
                        names.add(e.id)
            if "ImportError" in names:
                for stmt in node.body:
                    for sub in ast.walk(stmt):
                        guarded.add(id(sub))
    return guarded


def _module_level(tree):
    """Nodes that run at import time: everything not inside a function body."""
    found = []

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for d in node.decorator_list if not isinstance(node, ast.Lambda) else []:
                visit(d)
            return
        found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def problems(path):
    tree = ast.parse(path.read_text(), str(path))
    guarded = _guarded(tree)
    out = []
    for node in ast.walk(tree):
        where = "%s:%d" % (path.name, getattr(node, "lineno", 0))
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in EXTRA_MODULES and id(node) not in guarded:
                    out.append("%s import %s without an ImportError fallback" % (where, alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module in EXTRA_MODULES and id(node) not in guarded:
                out.append("%s from %s without an ImportError fallback" % (where, node.module))
            if node.level and node.module is None:
                # flashbridge/__init__.py has a module __getattr__: MicroPython's
                # `from . import submodule` asks it first and stops at its
                # AttributeError (CPython then imports the submodule; found on the
                # unix port, BASIC build, when config.py took minijson that way).
                out.append("%s from . import (use from .module import name)" % where)
        elif isinstance(node, ast.JoinedStr):
            out.append("%s f-string (MICROPY_PY_FSTRINGS)" % where)
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute):
                if f.attr in EXTRA_METHODS:
                    out.append("%s .%s()" % (where, f.attr))
                if f.attr in ("decode", "encode") and (
                    len(node.args) > 1 or any(k.arg == "errors" for k in node.keywords)
                ):
                    out.append("%s .%s(errors) (BYTES_DECODE_ERRORS)" % (where, f.attr))
            elif isinstance(f, ast.Name):
                if f.id == "pow" and len(node.args) == 3:
                    out.append("%s pow(a, b, m)" % where)
                if f.id == "next" and len(node.args) == 2:
                    out.append("%s next(it, default) (NEXT2)" % where)
        elif isinstance(node, ast.Name) and node.id in EXTRA_BUILTINS:
            out.append("%s %s" % (where, node.id))
        elif isinstance(node, ast.Attribute) and node.attr in FUNCTION_ATTRS:
            out.append("%s .%s (FUNCTION_ATTRS)" % (where, node.attr))
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("__") and node.name.endswith("__"):
            if node.name in DESCRIPTORS:
                out.append("%s descriptor %s (MICROPY_PY_DESCRIPTORS)" % (where, node.name))
            elif node.name not in CORE_SPECIAL:
                out.append("%s %s (ALL_SPECIAL_METHODS)" % (where, node.name))
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name) and t.id == "__all__":
                    out.append("%s __all__ (MICROPY_MODULE___ALL__)" % where)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if any(ord(c) > 0x7F for c in node.value):
                out.append("%s non-ASCII str literal (STR_UNICODE)" % where)
    for node in _module_level(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "memoryview":
                out.append("%s:%d memoryview at import time" % (path.name, node.lineno))
    return out


def test_board_sources_found():
    names = {p.name for p in BOARD_SOURCES}
    assert {
        "bridge.py", "flash.py", "config.py", "const.py", "errors.py", "minijson.py",
        "link.py", "frames.py", "append.py", "readstream.py", "txn.py", "log.py",
    } <= names


@pytest.mark.parametrize("path", BOARD_SOURCES, ids=lambda p: p.parent.name + "/" + p.name)
def test_no_extra_level_dependency(path):
    assert problems(path) == []


def test_the_scan_finds_what_it_looks_for(tmp_path):
    """Each rule fires on a line that breaks it (so an empty result means something)."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import errno\n"
        "from json import loads\n"
        "try:\n    import os\nexcept ImportError:\n    os = None\n"
        "_Z = memoryview(bytes(4))\n"
        "def f(x, it):\n"
        "    m = memoryview(x)\n"
        "    s = f'{x}'\n"
        "    x.hex()\n"
        "    'a=b'.partition('=')\n"
        "    x.decode('utf-8', 'ignore')\n"
        "    setattr(x, 'a', 1)\n"
        "    next(it, None)\n"
        "    return pow(2, 3, 5), f.__defaults__, 'caf\\u00e9'\n"
        "from . import sibling\n"
        "class D:\n"
        "    def __get__(self, o, t): pass\n"
        "    def __mul__(self, o): pass\n"
        "__all__ = ['f']\n"
    )
    found = problems(bad)
    text = "\n".join(found)
    for want in (
        "bad.py:1 import errno", "bad.py:2 from json", "bad.py:7 memoryview at import time",
        "bad.py:10 f-string", "bad.py:11 .hex()", "bad.py:12 .partition()",
        "bad.py:13 .decode(errors)", "bad.py:14 setattr", "bad.py:15 next(it, default)",
        "bad.py:16 pow(a, b, m)", "bad.py:16 .__defaults__", "bad.py:16 non-ASCII",
        "bad.py:17 from . import", "bad.py:19 descriptor __get__", "bad.py:20 __mul__",
        "bad.py:21 __all__",
    ):
        assert want in text, (want, found)
    assert "import os" not in text  # guarded by except ImportError
    assert "bad.py:9 memoryview" not in text  # inside a function: run time


_IMPORT_WITHOUT_EXTRA = r"""
import builtins, sys
for name in ("errno", "uerrno", "json", "ujson"):
    sys.modules[name] = None  # `import name` now raises ImportError
real_memoryview = builtins.memoryview
root = sys.argv[1]


def memoryview(*args):
    # Missing for the package's code; CPython's importer uses it to read the sources.
    if sys._getframe(1).f_code.co_filename.startswith(root):
        raise NameError("name 'memoryview' is not defined")
    return real_memoryview(*args)


builtins.memoryview = memoryview
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import flashbridge, daplink_bridge, daplink_flash, steami_config
from flashbridge import config, errors, minijson
from flashbridge import append, frames, log, readstream, txn  # loaded on first use
builtins.memoryview = real_memoryview
assert config.JSON_MODULE == "minijson" and config.loads is minijson.loads, config.JSON_MODULE
assert (errors.EIO, errors.ENODEV, errors.ETIMEDOUT) == (5, 19, 110)
print("ok")
"""


def test_imports_without_errno_json_or_memoryview():
    """As on a BASIC/CORE build: no errno, uerrno, json, ujson, and no memoryview while
    the modules load; the errno numbers are then MicroPython's (py/mperrno.h)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run(
        [sys.executable, "-I", "-B", "-c", _IMPORT_WITHOUT_EXTRA, str(MP_DIR), str(MP_DIR / "compat")],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
