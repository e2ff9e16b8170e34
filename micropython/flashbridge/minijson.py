# The part of JSON that SteamiConfig stores (objects, arrays, strings, numbers, true,
# false, null), for MicroPython builds without the json module: it is an EXTRA-feature-
# level module (MICROPY_PY_JSON in py/mpconfig.h), so nRF51 and nRF52832 builds, among
# others, lack it. Imported only when `json` is missing. Same output as json.dumps with
# separators=(",", ":") for what SteamiConfig stores; loads() raises ValueError on
# anything that is not JSON.

_ESC_OUT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\b": "\\b", "\f": "\\f"}
_ESC_IN = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n",
           "r": "\r", "t": "\t"}


def _str(s, out):
    out.append('"')
    for c in s:
        e = _ESC_OUT.get(c)
        if e is not None:
            out.append(e)
        elif ord(c) < 0x20:
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    out.append('"')


def _dump(obj, out):
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        _str(obj, out)
    elif isinstance(obj, (int, float)):
        out.append(repr(obj))
    elif isinstance(obj, dict):
        out.append("{")
        first = True
        for k in obj:
            if not isinstance(k, str):
                raise TypeError("JSON object keys must be str")
            if not first:
                out.append(",")
            first = False
            _str(k, out)
            out.append(":")
            _dump(obj[k], out)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i in range(len(obj)):
            if i:
                out.append(",")
            _dump(obj[i], out)
        out.append("]")
    else:
        raise TypeError("not JSON serializable: %s" % type(obj).__name__)


def dumps(obj, separators=None):
    if separators is not None and tuple(separators) != (",", ":"):
        raise ValueError("minijson writes compact JSON only")
    out = []
    _dump(obj, out)
    return "".join(out)


class _Parser(object):
    def __init__(self, s):
        self.s = s
        self.i = 0

    def fail(self, what):
        raise ValueError("JSON: %s at %d" % (what, self.i))

    def ws(self):
        s = self.s
        while self.i < len(s) and s[self.i] in " \t\r\n":
            self.i += 1

    def value(self):
        self.ws()
        s = self.s
        if self.i >= len(s):
            self.fail("unexpected end")
        c = s[self.i]
        if c == "{":
            self.i += 1
            obj = {}
            self.ws()
            if s[self.i : self.i + 1] == "}":
                self.i += 1
                return obj
            while True:
                self.ws()
                if s[self.i : self.i + 1] != '"':
                    self.fail("expected a key")
                k = self.string()
                self.ws()
                if s[self.i : self.i + 1] != ":":
                    self.fail("expected ':'")
                self.i += 1
                obj[k] = self.value()
                self.ws()
                c = s[self.i : self.i + 1]
                self.i += 1
                if c == "}":
                    return obj
                if c != ",":
                    self.fail("expected ',' or '}'")
        if c == "[":
            self.i += 1
            arr = []
            self.ws()
            if s[self.i : self.i + 1] == "]":
                self.i += 1
                return arr
            while True:
                arr.append(self.value())
                self.ws()
                c = s[self.i : self.i + 1]
                self.i += 1
                if c == "]":
                    return arr
                if c != ",":
                    self.fail("expected ',' or ']'")
        if c == '"':
            return self.string()
        for word, val in (("true", True), ("false", False), ("null", None)):
            if s[self.i : self.i + len(word)] == word:
                self.i += len(word)
                return val
        return self.number()

    def string(self):
        s = self.s
        self.i += 1
        out = []
        while True:
            if self.i >= len(s):
                self.fail("unterminated string")
            c = s[self.i]
            self.i += 1
            if c == '"':
                return "".join(out)
            if c == "\\":
                e = s[self.i : self.i + 1]
                self.i += 1
                if e == "u":
                    h = s[self.i : self.i + 4]
                    if len(h) != 4:
                        self.fail("bad \\u escape")
                    out.append(chr(int(h, 16)))
                    self.i += 4
                elif e in _ESC_IN:
                    out.append(_ESC_IN[e])
                else:
                    self.fail("bad escape")
            elif ord(c) < 0x20:
                self.fail("control character in string")
            else:
                out.append(c)

    def number(self):
        s = self.s
        start = self.i
        while self.i < len(s) and s[self.i] in "+-0123456789.eE":
            self.i += 1
        text = s[start : self.i]
        if not text:
            self.fail("unexpected character")
        try:
            if "." in text or "e" in text or "E" in text:
                return float(text)
            return int(text)
        except ValueError:
            self.fail("bad number")


def loads(s):
    p = _Parser(s)
    v = p.value()
    p.ws()
    if p.i != len(s):
        p.fail("extra data")
    return v
