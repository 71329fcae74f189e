"""Property tests: the compiled modules and the twins agree on every input; on valid JSON both
agree with a ``json.loads``-based reference classifier.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SYM = "PAWSUSDT"
OTHER, TICKER_HIT, PONG, EVENT = 0, 1, 2, 3

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HIT_FRAMES = [
    (
        b'{"action":"snapshot","arg":{"instType":"SPOT","channel":"ticker","instId":"PAWSUSDT"},'
        b'"data":[{"instId":"PAWSUSDT","lastPr":"0.00012","bidPr":"0.000119","askPr":"0.000121",'
        b'"ts":"1701842994338"}],"ts":1701842994341}'
    ),
    (
        b'{"action":"update","arg":{"instType":"spot","topic":"ticker","symbol":"PAWSUSDT"},'
        b'"data":[{"symbol":"PAWSUSDT","lastPrice":"0.00012","volume24h":"1e3"}],"ts":1}'
    ),
    b'{\n "data" : [ { } , null ],\n "arg" : { "symbol" : "PAWSUSDT" , "topic" : "ticker" } ,'
    b'\r\n "action" : "" }',
    (
        b'{"event":"error","arg":{"instType":"SPOT","channel":"ticker","instId":"PAWSUSDT"},'
        b'"code":30001,"msg":"instType:SPOT,channel:ticker,instId:PAWSUSDT doesn\'t exist",'
        b'"op":"subscribe"}'
    ),
]

FRAGMENTS = [
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b" ",
    b"\n",
    b'"',
    b"\\",
    b'"action"',
    b'"snapshot"',
    b'"arg"',
    b'"channel"',
    b'"topic"',
    b'"ticker"',
    b'"instId"',
    b'"symbol"',
    b'"instType"',
    b'"SPOT"',
    b'"spot"',
    b'"USDT-FUTURES"',
    b'"PAWSUSDT"',
    b'"PAWSUSDTX"',
    b'"data"',
    b'"event"',
    b'"\\u0065vent"',
    b'"\\"PAWSUSDT\\""',
    b"null",
    b"true",
    b"false",
    b"1.5",
    b"-0",
    b"1e3",
    b"pong",
    b"\xc3\xa9",
    b"\xff",
    b"\x00",
    b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}]}',
    b'"arg":{"channel":"ticker","instId":"PAWSUSDT"}',
    b'"data":[{}]',
    b'"action":"snapshot"',
]

jsonish = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(b"".join)
object_like = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(
    lambda parts: b"{" + b"".join(parts) + b"}"
)


@st.composite
def mutated_hits(draw: st.DrawFn) -> bytes:
    """A hit (or event) frame with a few byte flips, insertions, deletions or a truncation."""
    frame = bytearray(draw(st.sampled_from(HIT_FRAMES)))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "fragment"]))
        at = draw(st.integers(0, max(len(frame) - 1, 0)))
        if op == "flip" and frame:
            frame[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and frame:
            frame[at] = draw(st.sampled_from(b' "\\{}[],:0aAeP\x00\x80\xff'))
        elif op == "insert":
            frame[at:at] = draw(st.binary(min_size=1, max_size=3))
        elif op == "delete":
            del frame[at : at + draw(st.integers(1, 8))]
        elif op == "truncate":
            del frame[at:]
        elif op == "fragment":
            frame[at:at] = draw(st.sampled_from(FRAGMENTS))
    return bytes(frame)


# -- the json.loads reference ------------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise ValueError(name)


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def reference(payload: bytes, target: str, *, ensure_ascii: bool | None) -> int:
    """Classify with json.loads. *ensure_ascii* says how the payload was produced by json.dumps
    (to know which keys were written with escapes); ``None``: the payload has no backslash."""
    if payload.strip(b" \t\n\r") == b"pong":
        return PONG
    try:
        obj = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return OTHER
    if not isinstance(obj, dict) or _depth(obj) > 64:
        return OTHER
    if "event" in obj:
        return EVENT

    def plain(text: str) -> bool:
        if ensure_ascii is None:
            return True
        return json.dumps(text, ensure_ascii=ensure_ascii) == f'"{text}"'

    def spot(inst_type: object) -> bool:
        return isinstance(inst_type, str) and inst_type.isascii() and inst_type.lower() == "spot"

    arg, data = obj.get("arg"), obj.get("data")
    if (
        all(plain(k) for k in obj)
        and isinstance(obj.get("action"), str)
        and isinstance(arg, dict)
        and all(plain(k) for k in arg)
        # every one of these that is present holds its wanted value...
        and arg.get("channel", "ticker") == "ticker"
        and arg.get("topic", "ticker") == "ticker"
        and arg.get("instId", target) == target
        and arg.get("symbol", target) == target
        and ("instType" not in arg or spot(arg["instType"]))
        # ...and one complete pair is there: v2 channel + instId, v3 topic + symbol
        and ({"channel", "instId"} <= arg.keys() or {"topic", "symbol"} <= arg.keys())
        and isinstance(data, list)
        and data
        and isinstance(data[0], dict)
    ):
        return TICKER_HIT
    return OTHER


# -- valid JSON frames -------------------------------------------------------------------------

text = st.text(max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
symbols = st.sampled_from([SYM, "BTCUSDT", "PAWSUSDTX", "pawsusdt", "PAWSUSD", ""])
channels = st.sampled_from(["ticker", "books", "trade", "Ticker", "ticker "])
inst_types = st.sampled_from(
    ["SPOT", "spot", "Spot", "sPoT", "USDT-FUTURES", "usdt-futures", "COIN-FUTURES", "SPOTX", ""]
)


@st.composite
def frames(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A valid JSON object shaped like a Bitget push (v2 or v3), ack or error: a real hit with
    zero to three random perturbations (a member removed, replaced, renamed or added)."""
    v3 = draw(st.booleans())
    arg: dict[str, object] = {
        "instType": "spot" if v3 else "SPOT",
        ("topic" if v3 else "channel"): "ticker",
        ("symbol" if v3 else "instId"): SYM,
    }
    frame: dict[str, object] = {
        "action": draw(st.sampled_from(["snapshot", "update", ""])),
        "arg": arg,
        "data": [
            draw(st.dictionaries(text, values, max_size=3)),
            *draw(st.lists(values, max_size=2)),
        ],
        "ts": draw(st.integers(0, 2**64)),
    }
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from([frame, arg]))
        op = draw(st.sampled_from(["remove", "replace", "add"]))
        if op == "remove" and target:
            del target[draw(st.sampled_from(sorted(target)))]
        elif op == "replace" and target:
            key = draw(st.sampled_from(sorted(target)))
            target[key] = draw(symbols | channels | inst_types | values)
        else:
            key = draw(st.sampled_from(
                ["event", "channel", "topic", "instId", "symbol", "instType", "action", "data",
                 "arg"]
            ) | text)  # fmt: skip
            target[key] = draw(
                st.sampled_from(["subscribe", "error", "ticker", SYM])
                | symbols
                | inst_types
                | values
            )
    frame.update(draw(st.dictionaries(text, values, max_size=2)))
    keys = draw(st.permutations(list(frame)))
    ensure_ascii = draw(st.booleans())
    payload = json.dumps(
        {k: frame[k] for k in keys},
        ensure_ascii=ensure_ascii,
        allow_nan=False,
        indent=draw(st.sampled_from([None, 0, 2, "\t"])),
        separators=draw(st.sampled_from([None, (",", ":"), (", ", ": "), (" ,\n", " :\r\n")])),
    )
    pad = draw(st.sampled_from(["", " ", "\n", "\r\n\t "]))
    return (pad + payload + pad).encode("utf-8"), ensure_ascii


# -- properties --------------------------------------------------------------------------------


def _agree(compiled, twin, payload: bytes) -> int:
    c_scanner = compiled.TickerScanner(SYM)
    t_scanner = twin.TickerScanner(SYM)
    kind = c_scanner.scan(payload)
    assert kind == t_scanner.scan(payload), payload
    assert c_scanner.scan(bytearray(payload)) == kind
    assert c_scanner.scan(memoryview(payload)) == kind
    c_matcher, t_matcher = compiled.TargetMatcher(SYM), twin.TargetMatcher(SYM)
    assert c_matcher.find(payload) == t_matcher.find(payload), payload
    return kind


@SETTINGS
@given(payload=st.binary(max_size=600))
def test_random_bytes_agree(compiled, twin, payload):
    _agree(compiled, twin, payload)


@SETTINGS
@given(payload=jsonish | object_like)
def test_jsonish_fragments_agree(compiled, twin, payload):
    _agree(compiled, twin, payload)


@SETTINGS
@given(payload=mutated_hits())
def test_mutated_hits_agree(compiled, twin, payload):
    kind = _agree(compiled, twin, payload)
    if b"\\" not in payload:
        assert kind == reference(payload, SYM, ensure_ascii=None), payload


@SETTINGS
@given(frame=frames())
def test_valid_frames_match_json_reference(compiled, twin, frame):
    payload, ensure_ascii = frame
    kind = _agree(compiled, twin, payload)
    assert kind == reference(payload, SYM, ensure_ascii=ensure_ascii), payload


@SETTINGS
@given(frame=frames(), cut=st.integers(min_value=0))
def test_truncated_valid_frames_are_never_hits(compiled, twin, frame, cut):
    payload = frame[0].rstrip()
    cut %= max(len(payload), 1)
    assert _agree(compiled, twin, payload[:cut]) != TICKER_HIT


@SETTINGS
@given(
    prefix=st.binary(max_size=40),
    suffix=st.binary(max_size=40),
    symbol=st.from_regex(r"[A-Z0-9_-]{1,40}", fullmatch=True),
)
def test_matcher_agrees_with_any_symbol(compiled, twin, prefix, suffix, symbol):
    needle = f'"{symbol}"'.encode()
    for payload in (prefix + needle + suffix, prefix + b"\\" + needle + suffix, prefix + suffix):
        c = compiled.TargetMatcher(symbol).find(payload)
        assert c == twin.TargetMatcher(symbol).find(payload)
        if needle not in payload:
            assert c == -1
        else:
            assert c == -1 or payload[c : c + len(needle)] == needle


def test_reference_sanity():
    hit = HIT_FRAMES[0]
    assert reference(hit, SYM, ensure_ascii=None) == TICKER_HIT
    for arg in (
        b'{"channel":"books","topic":"ticker","instId":"PAWSUSDT"}',
        b'{"channel":"ticker","instId":"BTCUSDT","symbol":"PAWSUSDT"}',
        b'{"topic":"ticker","instId":"PAWSUSDT"}',
        b'{"instType":"USDT-FUTURES","channel":"ticker","instId":"PAWSUSDT"}',
    ):
        frame = b'{"action":"x","arg":' + arg + b',"data":[{}]}'
        assert reference(frame, SYM, ensure_ascii=None) == OTHER, arg
    assert reference(HIT_FRAMES[3], SYM, ensure_ascii=None) == EVENT
    assert reference(b" pong ", SYM, ensure_ascii=None) == PONG
    assert reference(hit[:-1], SYM, ensure_ascii=None) == OTHER
