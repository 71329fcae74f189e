"""sniper.jsonio: the JSON seam answers exactly as ``json.loads`` does.

Checked on every body of the corpus of real Bitget traffic, on random JSON documents and random
number spellings (hypothesis), on the texts simdjson refuses and ``json.loads`` takes, and on
invalid texts (both refuse, with a ``ValueError``).
"""

from __future__ import annotations

import ast
import json
import math
import threading
from pathlib import Path
from typing import Any

import pytest
import simdjson
from bitget_corpus import samples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sniper import jsonio

PACKAGE = Path(jsonio.__file__).resolve().parent


def same(a: Any, b: Any) -> bool:
    """Equal values of exactly the same types, recursively (``True`` is not ``1``, ``1.0`` is
    not ``1``, ``-0.0`` is not ``0.0``, NaN equals NaN), dict keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def reference(data: bytes | bytearray | memoryview | str) -> Any:
    return json.loads(bytes(data) if isinstance(data, memoryview) else data)


def outcome(fn: Any, data: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(data)
    except ValueError as exc:
        return "error", exc


def assert_like_json(data: bytes | bytearray | memoryview | str) -> Any:
    """jsonio.loads(data) gives what json.loads gives, or both raise a ValueError."""
    got, want = outcome(jsonio.loads, data), outcome(reference, data)
    assert got[0] == want[0], (data, got, want)
    if got[0] == "ok":
        assert same(got[1], want[1]), (data, got[1], want[1])
    return got[1]


# --- the corpus ---------------------------------------------------------------------------------
CORPUS = samples()
JSON_BODIES = [s for s in CORPUS if s.body != "pong"]


def test_the_corpus_has_json_bodies() -> None:
    assert len(JSON_BODIES) >= 30
    assert [s.kind for s in CORPUS if s.body == "pong"] == ["ws_pong"]


@pytest.mark.parametrize("sample", JSON_BODIES, ids=lambda s: s.id)
def test_every_corpus_body_parses_as_json_loads_does(sample: Any) -> None:
    raw = sample.raw
    want = json.loads(raw)
    for data in (raw, bytearray(raw), memoryview(raw), sample.body):
        assert same(jsonio.loads(data), want), type(data)


def test_pong_is_no_json() -> None:
    with pytest.raises(ValueError):
        jsonio.loads(b"pong")


def test_results_are_plain_objects_that_outlive_the_next_parse() -> None:
    """The parser is reused: nothing returned may point into its buffers (simdjson proxies)."""
    symbols = next(s for s in CORPUS if s.kind == "rest_symbols_v2")
    first = jsonio.loads(symbols.raw)
    for s in JSON_BODIES:  # reuse the parser many times
        jsonio.loads(s.raw)

    def no_proxy(value: Any) -> bool:
        if isinstance(value, (simdjson.Object, simdjson.Array)):
            return False
        if isinstance(value, dict):
            return all(type(k) is str and no_proxy(v) for k, v in value.items())
        if isinstance(value, list):
            return all(no_proxy(v) for v in value)
        return value is None or type(value) in (str, int, float, bool)

    assert type(first) is dict and no_proxy(first)
    assert same(first, json.loads(symbols.raw))


# --- texts simdjson refuses and json.loads takes: the reference answers ------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        (b"18446744073709551616", 2**64),  # beyond uint64
        (b"-9223372036854775809", -(2**63) - 1),  # below int64
        (b'{"q":"x","n":123456789012345678901234567890}', None),
        (b"1e400", math.inf),
        (b"-1e400", -math.inf),
        (b"NaN", math.nan),
        (b"[Infinity,-Infinity]", [math.inf, -math.inf]),
        (b'"\\ud800"', "\ud800"),  # lone surrogate escape
        (b'"\\udc00\\ud800x"', "\udc00\ud800x"),
        (b'"\xed\xa0\x80"', "\ud800"),  # json.loads decodes bytes with surrogatepass
        ('"\ud800"', "\ud800"),  # a str that cannot be encoded to UTF-8
        ('{"a":1}'.encode("utf-16"), {"a": 1}),  # json.loads detects UTF-16/32
        ('{"a":1}'.encode("utf-32-be"), {"a": 1}),
        (b'\xef\xbb\xbf{"a":1}', {"a": 1}),  # UTF-8 BOM in bytes: both take it
    ],
    ids=repr,
)
def test_texts_simdjson_refuses_get_json_loads_answer(text: Any, expected: Any) -> None:
    got = assert_like_json(text)
    if expected is not None:
        assert same(got, expected)


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b" \n",
        b"pong",
        b"[1,]",
        b'{"a":1,}',
        b"[1 2]",
        b"{}{}",
        b"{} x",
        b"\x00",
        b'"\t"',  # unescaped control character
        b'"\xff"',  # invalid UTF-8
        b'"\xc3"',  # truncated UTF-8
        b"01",
        b"1.",
        b"-",
        b".5",
        b"tru",
        b"nul",
        b"'a'",
        b'{"a" 1}',
        b"<html><body>403 Forbidden</body></html>",
        "\ufeff{}",  # a str BOM: json.loads refuses it, simdjson alone would skip it
    ],
    ids=repr,
)
def test_invalid_texts_raise_value_error(text: bytes | str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        jsonio.loads(text)


def test_invalid_utf8_is_a_unicode_decode_error_like_json_loads() -> None:
    with pytest.raises(UnicodeDecodeError):
        jsonio.loads(b'{"msg":"\xff"}')


def test_the_reference_error_message_locates_the_fault() -> None:
    with pytest.raises(json.JSONDecodeError) as info:
        jsonio.loads(b'{"code":"00000",}')
    assert (info.value.lineno, info.value.colno) == (1, 17)


@pytest.mark.parametrize("depth", [1025, 100_000])
def test_nesting_too_deep_is_a_value_error_not_a_crash(depth: int) -> None:
    with pytest.raises(ValueError, match="too deep"):
        jsonio.loads(b"[" * depth + b"]" * depth)


def test_moderate_nesting_parses() -> None:
    assert jsonio.loads(b"[" * 500 + b"]" * 500) == json.loads(b"[" * 500 + b"]" * 500)


def test_buffers_of_every_kind() -> None:
    raw = b'x{"a":[1,2.5,"b"]}x'
    assert jsonio.loads(memoryview(raw)[1:-1]) == {"a": [1, 2.5, "b"]}
    assert jsonio.loads(bytearray(raw[1:-1])) == {"a": [1, 2.5, "b"]}
    assert jsonio.loads(memoryview(b"[ 1 , 2 ]")[::2]) == [1, 2]  # non-contiguous: " 1,2"
    with pytest.raises(TypeError):
        jsonio.loads(12)  # type: ignore[arg-type]


def test_parallel_threads_each_get_their_own_answer() -> None:
    docs = [
        json.dumps({"i": i, "rows": [{"symbol": f"S{i}X{j}"} for j in range(50)]}).encode()
        for i in range(8)
    ]
    errors: list[str] = []

    def work(i: int) -> None:
        for _ in range(300):
            got = jsonio.loads(docs[i])
            if got["i"] != i or got["rows"][49]["symbol"] != f"S{i}X49":
                errors.append(f"thread {i} got {got['i']}")
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# --- random documents -----------------------------------------------------------------------
def _json_values() -> st.SearchStrategy[Any]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text()
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(), inner, max_size=6),
        max_leaves=40,
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=_json_values(),
    ensure_ascii=st.booleans(),
    indent=st.none() | st.integers(0, 3),
    as_str=st.booleans(),
)
def test_random_documents_parse_as_json_loads_does(
    value: Any, ensure_ascii: bool, indent: int | None, as_str: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ensure_ascii, indent=indent)
    data: bytes | str = text if as_str else text.encode("utf-8", "surrogatepass")
    assert_like_json(data)


_NUMBER = r"-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,3})?"


@settings(max_examples=500, deadline=None)
@given(st.from_regex(_NUMBER, fullmatch=True))
def test_random_number_spellings_give_the_same_number(number: str) -> None:
    got = assert_like_json(f'{{"v":{number},"w":[{number}]}}'.encode())
    assert isinstance(got["v"], (int, float))


@settings(max_examples=400, deadline=None)
@given(
    base=st.sampled_from([s.raw for s in JSON_BODIES]),
    cut=st.integers(0, 3000),
    junk=st.binary(max_size=3),
)
def test_damaged_corpus_bodies_fail_or_parse_exactly_as_json_loads(
    base: bytes, cut: int, junk: bytes
) -> None:
    cut %= len(base) + 1
    assert_like_json(base[:cut] + junk + base[cut + len(junk) :])


# --- the seam is the only parser of the live client -------------------------------------------
def _json_load_calls(path: Path) -> list[int]:
    """Lines of ``json.loads(...)`` / ``json.load(...)`` calls in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("loads", "load")
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in ("json", "simdjson")
    ]


# the modules that read what the exchange sends (REST replies, WS events, symbol rows); the
# journal (the run's own file) and the embedded exchange (a server) are not exchange traffic
TRAFFIC_MODULES = [
    "live/feed.py",
    "live/check.py",
    "live/rest.py",
    "live/executor.py",
    "live/runner.py",
    "live/lanes.py",
    "live/order.py",
    "live/hotpath_py.py",
    "demo.py",
]


@pytest.mark.parametrize("name", TRAFFIC_MODULES)
def test_exchange_traffic_is_parsed_only_through_the_seam(name: str) -> None:
    assert _json_load_calls(PACKAGE / name) == []


@pytest.mark.parametrize("name", ["live/feed.py", "live/check.py"])
def test_feed_and_check_call_the_seam(name: str) -> None:
    assert "jsonio.loads(" in (PACKAGE / name).read_text(encoding="utf-8")


def test_venue_parses_through_the_seam() -> None:
    assert _json_load_calls(PACKAGE / "live" / "venue.py") == []
