"""flashbridge.minijson, SteamiConfig's JSON on builds without the json module, writes
what json.dumps(separators=(",", ":")) writes and reads what json.loads reads, for the
values a configuration holds; it refuses what is not JSON."""
import json

import pytest

from flashbridge import minijson

SAMPLES = [
    {},
    {"rev": 3, "name": "STeaMi-01", "boot": 42},
    {"tc": {"hts": {"g": 1.0, "o": -0.5}, "mag": {"g": 0.98, "o": 1.25e-3}}},
    {"cm": {"hx": 12.3, "hy": -5.1, "hz": 0.0, "sx": 1.01, "sy": 0.98, "sz": 1.0}},
    {"s": 'quote " back \\ nl \n tab \t ctl \x01 slash /', "l": [1, -2, [], {}, None, True, False]},
    {"name": "caf\u00e9 \u2603"},
]


@pytest.mark.parametrize("obj", SAMPLES)
def test_round_trip_matches_json(obj):
    text = minijson.dumps(obj, separators=(",", ":"))
    assert text == json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    assert minijson.loads(text) == obj
    assert minijson.loads(json.dumps(obj, indent=2)) == obj  # whitespace, \u escapes


@pytest.mark.parametrize(
    "text",
    ["", "{", '{"a":1,}', '{"a" 1}', "[1 2]", '"abc', '{"a":1} x', "nul", '"\\q"',
     '"a\nb"', "1.2.3", "{1:2}"],
)
def test_not_json_is_a_value_error(text):
    with pytest.raises(ValueError):
        minijson.loads(text)


def test_unsupported_values_are_refused():
    with pytest.raises(TypeError):
        minijson.dumps({"a": object()})
    with pytest.raises(TypeError):
        minijson.dumps({1: 2})
    with pytest.raises(ValueError):
        minijson.dumps({}, separators=(", ", ": "))
