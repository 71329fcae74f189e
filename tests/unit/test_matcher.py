"""TargetMatcher: exact symbol tokens, run against the compiled module and the twin."""

from __future__ import annotations

import array
import pickle

import pytest

SYM = "PAWSUSDT"


@pytest.fixture
def matcher(impl):
    return impl.TargetMatcher(SYM)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'"PAWSUSDT"', 0),  # the whole buffer
        (b'{"instId":"PAWSUSDT"}', 10),
        (b'xx"PAWSUSDT"', 2),  # at the end
        (b'"PAWSUSDT"xx', 0),  # at the start
        (b'""PAWSUSDT""', 1),  # adjacent quotes
        (b'"PAWSUSDT""PAWSUSDT"', 0),
        (b'"PAWSUSDTX"', -1),
        (b'"XPAWSUSDT"', -1),
        (b'"pawsusdt"', -1),
        (b"PAWSUSDT", -1),  # not a string
        (b'"PAWSUSDT', -1),  # unterminated
        (b'PAWSUSDT"', -1),
        (b'"PAWS USDT"', -1),
        (b"", -1),
        (b'"', -1),
        (b'""', -1),
        (b'"PAWSUSD"', -1),
        (b"\x00\xff" * 100, -1),
    ],
)
def test_find(matcher, payload, expected):
    assert matcher.find(payload) == expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'\\"PAWSUSDT"', -1),  # escaped quote before the symbol: inside another string
        (b'x\\"PAWSUSDT"', -1),
        (b'\\\\"PAWSUSDT"', 2),  # escaped backslash, then a real quote
        (b'\\\\\\"PAWSUSDT"', -1),  # three backslashes: the quote is escaped
        (b'\\\\\\\\"PAWSUSDT"', 4),
        (b'\\"PAWSUSDT"PAWSUSDT"', 10),  # the overlapping second occurrence is unescaped
        (b'{"msg":"a \\"PAWSUSDT\\" b","instId":"PAWSUSDT"}', 35),
    ],
)
def test_find_escaped_quote(matcher, payload, expected):
    assert matcher.find(payload) == expected


def test_find_accepts_buffers(matcher):
    payload = b'{"instId":"PAWSUSDT"}'
    assert matcher.find(bytearray(payload)) == 10
    assert matcher.find(memoryview(payload)) == 10
    assert matcher.find(memoryview(payload)[5:]) == 5
    assert matcher.find(memoryview(bytearray(payload)).toreadonly()) == 10
    assert matcher.find(array.array("B", payload)) == 10


@pytest.mark.parametrize(
    "payload",
    ["str payload", 123, None, array.array("i", [1, 2, 3]), memoryview(b"abcdef")[::2]],
    ids=["str", "int", "None", "int-array", "strided"],
)
def test_find_rejects_non_bytes(matcher, payload):
    with pytest.raises(TypeError):
        matcher.find(payload)


def test_find_large(matcher):
    payload = b"x" * 1_000_000 + b'"PAWSUSDT"'
    assert matcher.find(payload) == 1_000_000
    assert matcher.find(payload[:-1]) == -1


@pytest.mark.parametrize(
    "symbol", ["PAWSUSDT", "A", "X" * 40, "BTC-USDT", "BTC_USDT_SPBL", "1INCH"]
)
def test_valid_symbols(impl, symbol):
    m = impl.TargetMatcher(symbol)
    assert m.symbol == symbol
    assert m.find(f'"{symbol}"'.encode()) == 0
    assert symbol in repr(m)


@pytest.mark.parametrize(
    "symbol", ["", "X" * 41, "pawsusdt", "PAWS USDT", 'PAWS"', "PAWS\\", "PAWS\n", "PÄWS", "PAWS/"]
)
def test_invalid_symbols(impl, symbol):
    with pytest.raises(ValueError, match="symbol must be"):
        impl.TargetMatcher(symbol)


@pytest.mark.parametrize("symbol", [b"PAWSUSDT", None, 42])
def test_symbol_type(impl, symbol):
    with pytest.raises(TypeError):
        impl.TargetMatcher(symbol)


def test_pickle_roundtrip(matcher):
    clone = pickle.loads(pickle.dumps(matcher))
    assert clone.symbol == SYM
    assert clone.find(b'"PAWSUSDT"') == 0


@pytest.mark.parametrize("symbol", ["QQQ", "BTCUSDT", "PAWSUSDT", "1000SATSUSDT", "A-B_C"])
def test_many_false_candidates(impl, symbol):
    """Payloads dense in every symbol byte (false candidates, escaped occurrences) still give
    the first unescaped token (the compiled search falls back from memchr to memmem)."""
    m = impl.TargetMatcher(symbol)
    token = f'"{symbol}"'.encode()
    noise = symbol.encode() * 500 + (b"\\" + token) * 100 + (token[:-1] + b" ") * 50
    assert m.find(noise) == -1
    assert m.find(noise + token) == len(noise)
    assert m.find(noise + b"\\\\" + token + token) == len(noise) + 2
    assert m.find(token + noise) == 0
