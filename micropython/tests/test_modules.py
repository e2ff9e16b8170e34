"""The package fits boards with a small heap (issue 14 item 2): no module needs a large
compile, and the code for streaming appends, streaming reads, v1 frames, the config
transaction, SteamiConfig and FlashLog loads only when used.

The heap figures themselves come from real MicroPython, by hand
(micropython/tools/heap_check; CI has no MicroPython): on the 32-bit unix port,
compiling a module from source takes about 1.5 times its code (comments aside) plus
what is already loaded, so the bound below keeps every compile well under the 48 KB
that an import and a logging session from .py sources must fit in."""
import io
import json
import os
import subprocess
import sys
import tokenize

import pytest

from conftest import HERE, HOST_ONLY, MP_DIR

BOARD_MODULES = sorted(
    p for p in (MP_DIR / "flashbridge").glob("*.py")
    if str(p.relative_to(MP_DIR)) not in HOST_ONLY
)

# Characters of code per module, comments and indentation aside (docstrings count: the
# compiler parses them). link.py, the largest, has ~6,600 and needs a 31 KB heap to
# compile alone on the 32-bit unix port; the bridge.py of version 1.2 had ~12,900 and
# needed 52 KB.
CODE_CHARS_MAX = 8000


def code_chars(text):
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    return sum(
        len(t.string)
        for t in tokenize.generate_tokens(io.StringIO(text).readline)
        if t.type not in skip
    )


def test_measure_counts_code_not_comments():
    code = "def f(x):\n    return x + 1\n"
    assert code_chars(code) == len("deff(x):returnx+1")
    assert code_chars("# " + "c" * 5000 + "\n" + code) == code_chars(code)
    assert code_chars('"""' + "d" * 100 + '"""\n' + code) == code_chars(code) + 106


@pytest.mark.parametrize("path", BOARD_MODULES, ids=lambda p: p.name)
def test_module_code_size_bound(path):
    n = code_chars(path.read_text())
    assert n <= CODE_CHARS_MAX, "%s: %d characters of code (bound %d): split it" % (
        path.name, n, CODE_CHARS_MAX)


def test_every_board_module_is_installed():
    pkg = json.loads((MP_DIR / "package.json").read_text())
    listed = {src for _, src in pkg["urls"]}
    for p in BOARD_MODULES:
        assert str(p.relative_to(MP_DIR)) in listed


_SCRIPT = r"""
import json, sys
sys.path[:0] = sys.argv[1:4]
import mpshim
mpshim.install()
link = mpshim.SimLink(sys.argv[4])
mpshim.set_link(link)
import machine
from conftest import NoStreamI2C

def loaded():
    return sorted(m[len("flashbridge."):] for m in sys.modules if m.startswith("flashbridge."))

out = {}
import flashbridge
out["import"] = loaded()
i2c = NoStreamI2C(1) if sys.argv[5] == "v1.1" else machine.I2C(1)
f = flashbridge.DaplinkFlash(flashbridge.DaplinkBridge(i2c))
f.write(b"abc")
out["write"] = loaded()
assert f.read() == b"abc"
out["read"] = loaded()
f.replace_config(b"{}")
out["replace_config"] = loaded()
from flashbridge import SteamiConfig
out["SteamiConfig"] = loaded()
with f.log() as log:
    log.write_line("x")
out["log"] = loaded()
print(json.dumps(out))
"""

CORE = ["bridge", "errors", "flash", "link"]


@pytest.mark.parametrize("target", ["stream", "v1.1"])
def test_modules_load_only_when_used(sim_factory, target):
    """In a fresh interpreter: `import flashbridge` loads the core only (not const.py:
    the numbers are folded); a write loads the streaming append code (or the v1 frames
    on a target without the extension), a read the streaming read, replace_config the
    transaction and the v1 frames it writes with, SteamiConfig config.py, log() log.py."""
    sim = sim_factory(connect=False)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(HERE), str(MP_DIR), str(MP_DIR / "compat"),
         sim.socket_path, target],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    steps = json.loads(r.stdout)
    if target == "stream":
        want = {
            "import": CORE,
            "write": CORE + ["append"],
            "read": CORE + ["append", "readstream"],
            "replace_config": CORE + ["append", "frames", "readstream", "txn"],
        }
    else:
        want = {
            "import": CORE,
            "write": CORE + ["frames"],
            "read": CORE + ["frames"],
            "replace_config": CORE + ["frames", "txn"],
        }
    for step, mods in want.items():
        assert steps[step] == sorted(mods), (step, steps[step])
    assert steps["SteamiConfig"] == sorted(want["replace_config"] + ["config"])
    assert steps["log"] == sorted(want["replace_config"] + ["config", "log"])
