"""The package's protocol numbers against include/flashbridge/protocol.h, the one source
of truth: every FB_* define must exist in flashbridge.const (without the prefix) with the
same value."""
import importlib
import re
import sys
import types

from conftest import REPO

HEADER = REPO / "include" / "flashbridge" / "protocol.h"

_DEFINE = re.compile(r"^\s*#\s*define\s+(FB_\w+)\s+(.+?)\s*$")


def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def parse_header(path=HEADER):
    """{name: value} for every object-like FB_* define; integer expressions are
    evaluated (u/U/l/L suffixes dropped, earlier defines substituted)."""
    values = {}
    for line in _strip_comments(path.read_text()).splitlines():
        m = _DEFINE.match(line)
        if not m:
            continue
        name, body = m.group(1), m.group(2)
        if body.startswith('"'):
            values[name] = body.strip('"')
            continue
        expr = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b", r"\1", body)
        expr = re.sub(r"\bFB_\w+\b", lambda t: "(%d)" % values[t.group(0)], expr)
        assert re.fullmatch(r"[0-9a-fA-FxX+\-*/() <>|&~]+", expr), (name, body)
        values[name] = int(eval(expr.replace("/", "//"), {"__builtins__": {}}))
    return values


def test_header_parses():
    values = parse_header()
    # A sample of well-known values, so a parser bug cannot make the test vacuous.
    assert values["FB_I2C_ADDR"] == 0x3B
    assert values["FB_CMD_FILE_SIZE"] == 0x82
    assert values["FB_FILE_CAPACITY"] == 8380416
    assert values["FB_DEFAULT_FILENAME"] == "DATA    CSV"
    assert len(values) > 40


def test_every_header_constant_matches_package():
    from flashbridge import const

    missing, wrong = [], []
    for name, value in parse_header().items():
        py = name[len("FB_"):]
        if not hasattr(const, py):
            missing.append(name)
        elif getattr(const, py) != value:
            wrong.append((name, value, getattr(const, py)))
    assert not missing, "protocol.h defines missing from flashbridge/const.py: %s" % missing
    assert not wrong, "flashbridge/const.py disagrees with protocol.h: %s" % wrong


def test_v1_compat_names_agree():
    from flashbridge import const

    assert const.DAPLINK_BRIDGE_DEFAULT_ADDR == const.I2C_ADDR
    assert const.DAPLINK_BRIDGE_WHO_AM_I_VAL == const.WHO_AM_I_VALUE
    assert const.REG_STATUS == const.CMD_STATUS
    assert const.REG_ERROR == const.CMD_ERROR
    assert const.ERROR_BAD_PARAM == const.ERR_BAD_PARAM
    assert const.ERROR_CMD_FAILED == const.ERR_FAILED
    assert const.MAX_WRITE_CHUNK == const.WRITE_DATA_MAX


def test_worst_cases_follow_protocol_timing_table():
    """docs/PROTOCOL.md: WRITE_DATA 400 + a repair (3 x 400 + 34 x 3) + 2 x 3 + three
    compactions of 400 + 40 x 3 ms;
    SET_FILENAME and CLEAR_FLASH one compaction; WRITE/CLEAR_CONFIG 2 x 40 ms + 520 x 70
    us; a 64 KiB background erase block (2 s) ahead of any command."""
    from flashbridge import const

    assert const.WORST_WRITE_DATA_MS == 3268
    assert const.WORST_META_MS == 520
    assert const.WORST_CONFIG_MS == 117  # 116.4 rounded up
    assert const.WORST_READ_MS == 1
    assert const.WORST_ERASE_AHEAD_MS == 2520
    doc = (REPO / "docs" / "PROTOCOL.md").read_text()
    assert "repair of an interrupted append (up to three 4 KiB erases, 32 page programs" in doc
    assert "three metadata compactions (400 ms + 40 × 3 ms each)" in doc
    assert "one metadata compaction: 400 ms + 40 × 3 ms" in doc
    assert "2 × 40 ms page erases + 520 × 70 µs" in doc
    assert "64 KiB block erase (2 s)" in doc


def test_const_uses_micropython_const_when_present(monkeypatch):
    """On a board `from micropython import const` succeeds; the module must work with
    it as with the CPython fallback."""
    calls = []
    fake = types.ModuleType("micropython")

    def const(x):
        calls.append(x)
        return x

    fake.const = const
    monkeypatch.setitem(sys.modules, "micropython", fake)
    import flashbridge.const as c

    try:
        c2 = importlib.reload(c)
        assert calls, "const() from micropython was not used"
        assert c2.FILE_CAPACITY == 8380416
    finally:
        monkeypatch.delitem(sys.modules, "micropython")
        importlib.reload(c)


def _private_consts(path):
    """{NAME: value} for every module-level `_NAME = const(<int>)` of a source file."""
    import ast

    found = {}
    for node in ast.parse(path.read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id.startswith("_")
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "const"
        ):
            found[node.targets[0].id[1:]] = ast.literal_eval(node.value.args[0])
    return found


def test_private_copies_in_modules_match_const():
    """The board modules fold the protocol numbers they use as private consts (no
    global, no import of const.py on a board); each must equal const.py's value, and
    every copy of a const.py name is checked (a typo in a name fails too)."""
    from conftest import MP_DIR
    from flashbridge import const

    checked = 0
    for path in sorted((MP_DIR / "flashbridge").glob("*.py")):
        if path.name == "const.py":
            continue
        for name, value in _private_consts(path).items():
            if name.startswith(("CMD_", "STATUS_", "ERR_", "WORST_", "EXT_", "CAPS_",
                                "FEAT_", "CHUNK_", "CONFIG_", "QUEUE_", "FILE", "SECTOR_",
                                "STREAM_", "RESPONSE_", "FRAME_", "APPEND_", "WRITE_",
                                "I2C_", "FILENAME_")):
                assert hasattr(const, name), "%s: _%s is not in const.py" % (path.name, name)
            if hasattr(const, name):
                assert value == getattr(const, name), (path.name, name, value)
                checked += 1
    assert checked >= 60
