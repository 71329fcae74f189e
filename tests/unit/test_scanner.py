"""TickerScanner: real-shaped frames per class, run against the compiled module and the twin.

Frame shapes: bitget-api.md §7 (v2 push, acks, 30001 errors, pong) and the v3/UTA public push
(``arg: {instType: "spot", topic: "ticker", symbol}``, ``data[0].symbol``, ``lastPrice``...).
"""

from __future__ import annotations

import json

import pytest

SYM = "PAWSUSDT"

OTHER, TICKER_HIT, PONG, EVENT = 0, 1, 2, 3

V2_HIT = (
    b'{"action":"snapshot","arg":{"instType":"SPOT","channel":"ticker","instId":"PAWSUSDT"},'
    b'"data":[{"instId":"PAWSUSDT","lastPr":"0.00012","open24h":"0.0001","high24h":"0.00013",'
    b'"low24h":"0.0001","change24h":"0.2","bidPr":"0.000119","askPr":"0.000121","bidSz":"1000",'
    b'"askSz":"2000","baseVolume":"1500000","quoteVolume":"180.5","openUtc":"0.0001",'
    b'"changeUtc24h":"0.2","ts":"1701842994338"}],"ts":1701842994341}'
)
V3_HIT = (
    b'{"action":"snapshot","arg":{"instType":"spot","topic":"ticker","symbol":"PAWSUSDT"},'
    b'"data":[{"symbol":"PAWSUSDT","lastPrice":"0.00012","openPrice24h":"0.0001",'
    b'"highPrice24h":"0.00013","lowPrice24h":"0.0001","ask1Price":"0.000121","bid1Price":'
    b'"0.000119","bid1Size":"1000","ask1Size":"2000","price24hPcnt":"0.2","volume24h":"1500000",'
    b'"turnover24h":"180.5"}],"ts":1730711866716}'
)


def _v2(
    sym: str = SYM,
    channel: str = "ticker",
    action: str = "snapshot",
    data=None,
    inst_type: str = "SPOT",
) -> bytes:
    if data is None:
        data = [{"instId": sym, "lastPr": "1.5", "ts": "1701842994338"}]
    frame = {
        "action": action,
        "arg": {"instType": inst_type, "channel": channel, "instId": sym},
        "data": data,
        "ts": 1701842994341,
    }
    return json.dumps(frame, separators=(",", ":")).encode()


def _v3(
    sym: str = SYM, topic: str = "ticker", action: str = "snapshot", inst_type: str = "spot"
) -> bytes:
    frame = {
        "action": action,
        "arg": {"instType": inst_type, "topic": topic, "symbol": sym},
        "data": [{"symbol": sym, "lastPrice": "1.5"}],
        "ts": 1730711866716,
    }
    return json.dumps(frame, separators=(",", ":")).encode()


HITS = {
    "v2-snapshot": V2_HIT,
    "v3-snapshot": V3_HIT,
    "v2-update": _v2(action="update"),
    "v3-update": _v3(action="update"),
    "v2-pretty": json.dumps(json.loads(V2_HIT), indent=2).encode(),
    "v3-pretty-crlf": json.dumps(json.loads(V3_HIT), indent="\t").replace("\n", "\r\n").encode(),
    "v2-spaces": json.dumps(json.loads(V2_HIT), separators=(" , ", " : ")).encode(),
    "ws-around": b" \r\n\t" + V2_HIT + b"\n\n ",
    "reordered": (
        b'{"ts":1,"data":[{"instId":"PAWSUSDT"}],"arg":{"instId":"PAWSUSDT","channel":"ticker",'
        b'"instType":"SPOT"},"action":"snapshot"}'
    ),
    "reordered-v3": (
        b'{"data":[{}],"arg":{"symbol":"PAWSUSDT","topic":"ticker"},"action":"update","ts":1}'
    ),
    # instType absent: accepted (robustness); present: "spot" in any ASCII case
    "minimal-v2": b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}]}',
    "minimal-v3": b'{"action":"x","arg":{"topic":"ticker","symbol":"PAWSUSDT"},"data":[{}]}',
    "insttype-mixed-case": _v2(inst_type="Spot"),
    "insttype-upper-v3": _v3(inst_type="SPOT"),
    "insttype-last-wins": (
        b'{"action":"x","arg":{"instType":"USDT-FUTURES","channel":"ticker","instId":"PAWSUSDT",'
        b'"instType":"SPOT"},"data":[{}]}'
    ),
    "empty-action": b'{"action":"","arg":{"topic":"ticker","symbol":"PAWSUSDT"},"data":[{}]}',
    # both pairs present and both consistent
    "channel-and-topic-ticker": (
        b'{"action":"x","arg":{"channel":"ticker","topic":"ticker","instId":"PAWSUSDT"},'
        b'"data":[{}]}'
    ),
    "both-pairs": (
        b'{"action":"x","arg":{"channel":"ticker","topic":"ticker","instId":"PAWSUSDT",'
        b'"symbol":"PAWSUSDT"},"data":[{}]}'
    ),
    "duplicate-channel-last-wins": (
        b'{"action":"x","arg":{"channel":"books","channel":"ticker","instId":"PAWSUSDT"},'
        b'"data":[{}]}'
    ),
    "two-data-items": _v2(data=[{"instId": SYM}, {"instId": SYM}]),
    "data-first-object-then-anything": _v2(data=[{}, 1, "x", None, [1, [2, {}]]]),
    "nested-extra-arg-keys": (
        b'{"action":"x","arg":{"extra":{"channel":"books","instId":"X"},"channel":"ticker",'
        b'"instId":"PAWSUSDT","list":[1,2,{"a":null}]},"data":[{"a":[true,false,null,-0.5e+3]}]}'
    ),
    "escaped-strings-elsewhere": (
        b'{"action":"snapshot","arg":{"channel":"ticker","instId":"PAWSUSDT"},'
        b'"data":[{"note":"a \\"quoted\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00"}],'
        b'"msg":"\\u0041"}'
    ),
    "utf8-elsewhere": (
        '{"action":"snapshot","arg":{"channel":"ticker","instId":"PAWSUSDT"},'
        '"data":[{"name":"pâws 🐾 ✓"}]}'
    ).encode(),
    "duplicate-data-last-wins": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[],"data":[{}]}'
    ),
    "duplicate-instid-last-wins": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"OTHER","instId":"PAWSUSDT"},'
        b'"data":[{}]}'
    ),
    "numbers": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{"a":0,"b":-1,'
        b'"c":1.25,"d":1e9,"e":1E-9,"f":-0.0e+0,"g":123456789012345678901234567890}],"ts":0}'
    ),
}

EVENTS = {
    "subscribe-ack": (
        b'{"event":"subscribe","arg":{"instType":"SPOT","channel":"ticker","instId":"PAWSUSDT"}}'
    ),
    "subscribe-ack-v3": (
        b'{"event":"subscribe","arg":{"instType":"spot","topic":"ticker","symbol":"PAWSUSDT"}}'
    ),
    "unsubscribe-ack": (
        b'{"event":"unsubscribe","arg":{"instType":"SPOT","channel":"ticker","instId":"BTCUSDT"}}'
    ),
    "error-30001": (
        b'{"event":"error","arg":{"instType":"SPOT","channel":"ticker","instId":"PAWSUSDT"},'
        b'"code":30001,"msg":"instType:SPOT,channel:ticker,instId:PAWSUSDT doesn\'t exist",'
        b'"op":"subscribe"}'
    ),
    "error-30001-other-symbol": (
        b'{"event":"error","arg":{"instType":"SPOT","channel":"books","instId":"NOPEUSDT"},'
        b'"code":30001,"msg":"instType:SPOT,channel:books,instId:NOPEUSDT doesn\'t exist",'
        b'"op":"subscribe"}'
    ),
    "login": b'{"event":"login","code":0,"msg":""}',
    "login-string-code": b'{"event":"login","code":"0","msg":""}',
    "error-30002": b'{"event":"error","code":30002,"msg":"Unrecognized request"}',
    # an event frame shaped like a hit is still an event
    "event-with-hit-shape": V2_HIT[:-1] + b',"event":"snapshot"}',
    "event-last-key": (
        b'{"action":"snapshot","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}],'
        b'"event":"error"}'
    ),
    "event-null": b'{"event":null}',
    "event-pretty": b'{\n  "event" : "subscribe"\n}\n',
    "trade-ack-v3": (
        b'{"event":"trade","id":"1","category":"spot","topic":"place-order","args":[{"symbol":'
        b'"PAWSUSDT","orderId":"1","clientOid":"c","cTime":"1"}],"code":"0","msg":"success",'
        b'"ts":"1"}'
    ),
}

PONGS = {
    "pong": b"pong",
    "pong-nl": b"pong\n",
    "pong-ws": b" \t\r\npong \r\n",
}

OTHERS = {
    "other-symbol-v2": _v2("BTCUSDT"),
    "other-symbol-v3": _v3("BTCUSDT"),
    "near-miss-suffix": _v2("PAWSUSDTX"),
    "near-miss-prefix": _v2("XPAWSUSDT"),
    "near-miss-lower": _v2("pawsusdt"),
    "near-miss-short": _v2("PAWSUSD"),
    "v3-near-miss": _v3("PAWSUSDT2"),
    "symbol-only-in-data": _v2("BTCUSDT", data=[{"instId": SYM, "lastPr": "1"}]),
    "symbol-only-in-data-v3": (
        b'{"action":"snapshot","arg":{"instType":"spot","topic":"ticker","symbol":"BTCUSDT"},'
        b'"data":[{"symbol":"PAWSUSDT"}]}'
    ),
    "books": _v2(channel="books"),
    "books5": _v2(channel="books5"),
    "trade": _v2(channel="trade", data=[{"ts": "1", "price": "1", "size": "1", "side": "buy"}]),
    "candle": _v2(channel="candle1m", data=[["1", "2", "3"]]),
    "v3-books": _v3(topic="books"),
    # arg must name the spot ticker of the target with one consistent key pair
    "mixed-pair-topic-instid": (
        b'{"action":"x","arg":{"topic":"ticker","instId":"PAWSUSDT"},"data":[{}]}'
    ),
    "mixed-pair-channel-symbol": (
        b'{"action":"x","arg":{"channel":"ticker","symbol":"PAWSUSDT"},"data":[{}]}'
    ),
    "channel-books-topic-ticker": (
        b'{"action":"x","arg":{"channel":"books","topic":"ticker","instId":"PAWSUSDT"},"data":[{}]}'
    ),
    "channel-books-topic-ticker-symbol": (
        b'{"action":"x","arg":{"channel":"books","topic":"ticker","symbol":"PAWSUSDT"},"data":[{}]}'
    ),
    "topic-books-channel-ticker": (
        b'{"action":"x","arg":{"channel":"ticker","topic":"books","instId":"PAWSUSDT"},"data":[{}]}'
    ),
    "channel-null-topic-ticker": (
        b'{"action":"x","arg":{"channel":null,"topic":"ticker","symbol":"PAWSUSDT"},"data":[{}]}'
    ),
    "instid-other-symbol-target": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"BTCUSDT","symbol":"PAWSUSDT"},'
        b'"data":[{}]}'
    ),
    "instid-target-symbol-other": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT","symbol":"BTCUSDT"},'
        b'"data":[{}]}'
    ),
    "symbol-other-v3-pair": (
        b'{"action":"x","arg":{"topic":"ticker","symbol":"PAWSUSDT","instId":"BTCUSDT"},'
        b'"data":[{}]}'
    ),
    "duplicate-channel-last-books": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT","channel":"books"},'
        b'"data":[{}]}'
    ),
    "usdt-futures-v2": _v2(inst_type="USDT-FUTURES"),
    "coin-futures-v2": _v2(inst_type="COIN-FUTURES"),
    "usdc-futures-v2": _v2(inst_type="USDC-FUTURES"),
    "usdt-futures-v3": _v3(inst_type="usdt-futures"),
    "margin-v3": _v3(inst_type="margin"),
    "insttype-spot-suffix": _v2(inst_type="SPOTX"),
    "insttype-spot-space": _v2(inst_type="SPOT "),
    "insttype-spo": _v2(inst_type="SPO"),
    "insttype-empty": _v2(inst_type=""),
    "insttype-null": (
        b'{"action":"x","arg":{"instType":null,"channel":"ticker","instId":"PAWSUSDT"},"data":[{}]}'
    ),
    "insttype-array": (
        b'{"action":"x","arg":{"instType":["SPOT"],"channel":"ticker","instId":"PAWSUSDT"},'
        b'"data":[{}]}'
    ),
    "insttype-escaped": (
        b'{"action":"x","arg":{"instType":"\\u0053POT","channel":"ticker","instId":"PAWSUSDT"},'
        b'"data":[{}]}'
    ),
    "insttype-last-futures": (
        b'{"action":"x","arg":{"instType":"SPOT","channel":"ticker","instId":"PAWSUSDT",'
        b'"instType":"USDT-FUTURES"},"data":[{}]}'
    ),
    "ticker-prefix-channel": _v2(channel="tickers"),
    "ticker-upper-channel": _v2(channel="TICKER"),
    "empty-data": _v2(data=[]),
    "data-null": (
        b'{"action":"snapshot","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":null}'
    ),
    "data-object": (
        b'{"action":"snapshot","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":{"a":1}}'
    ),
    "data-first-not-object": _v2(data=[[{}]]),
    "data-first-string": _v2(data=["x", {}]),
    "data-first-null": _v2(data=[None, {}]),
    "no-data": b'{"action":"snapshot","arg":{"channel":"ticker","instId":"PAWSUSDT"}}',
    "data-nested-not-top": (
        b'{"action":"snapshot","arg":{"channel":"ticker","instId":"PAWSUSDT"},"x":{"data":[{}]}}'
    ),
    "no-action": b'{"arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}]}',
    "action-not-string": b'{"action":1,"arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}]}',
    "action-null": b'{"action":null,"arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}]}',
    "no-arg": b'{"action":"snapshot","instId":"PAWSUSDT","channel":"ticker","data":[{}]}',
    "arg-not-object": b'{"action":"x","arg":["channel","ticker","instId","PAWSUSDT"],"data":[{}]}',
    "arg-string": b'{"action":"x","arg":"PAWSUSDT","data":[{}]}',
    "arg-empty": b'{"action":"x","arg":{},"data":[{"instId":"PAWSUSDT"}]}',
    "arg-no-channel": b'{"action":"x","arg":{"instId":"PAWSUSDT"},"data":[{}]}',
    "arg-no-symbol": b'{"action":"x","arg":{"channel":"ticker"},"data":[{"instId":"PAWSUSDT"}]}',
    "arg-symbol-nested": (
        b'{"action":"x","arg":{"channel":"ticker","x":{"instId":"PAWSUSDT"}},"data":[{}]}'
    ),
    "arg-channel-not-string": (
        b'{"action":"x","arg":{"channel":["ticker"],"instId":"PAWSUSDT"},"data":[{}]}'
    ),
    "arg-instid-not-string": (
        b'{"action":"x","arg":{"channel":"ticker","instId":{"s":"PAWSUSDT"}},"data":[{}]}'
    ),
    "duplicate-arg-last-wins": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},'
        b'"arg":{"channel":"ticker","instId":"BTCUSDT"},"data":[{}]}'
    ),
    "duplicate-data-last-empty": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}],"data":[]}'
    ),
    "duplicate-instid-last-other": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT","instId":"OTHER"},'
        b'"data":[{}]}'
    ),
    "duplicate-action-last-null": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}],"action":null}'
    ),
    # escaped spellings never match (conservative rule, see scanner_py docstring)
    "escaped-symbol": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWS\\u0055SDT"},"data":[{}]}'
    ),
    "escaped-channel": (
        b'{"action":"x","arg":{"channel":"tick\\u0065r","instId":"PAWSUSDT"},"data":[{}]}'
    ),
    "escaped-arg-key": (
        b'{"action":"x","arg":{"chann\\u0065l":"ticker","instId":"PAWSUSDT"},"data":[{}]}'
    ),
    "escaped-extra-arg-key": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT","\\u0078":1},"data":[{}]}'
    ),
    "escaped-top-key": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}],"\\u0078":1}'
    ),
    "escaped-event-key": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}],'
        b'"\\u0065vent":"subscribe"}'
    ),
    "escaped-quote-symbol": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"\\"PAWSUSDT\\""},"data":[{}]}'
    ),
    "escaped-event-only": b'{"\\u0065vent":"subscribe"}',
    "event-in-value": b'{"op":"event","args":["event"]}',
    "event-nested": b'{"arg":{"event":"subscribe"}}',
    "event-in-array": b'[{"event":"subscribe"}]',
    "event-truncated": b'{"event":"subscribe","arg":{"instType":"SPOT"',
    "event-trailing-garbage": b'{"event":"subscribe"}x',
    "event-two-objects": b'{"event":"subscribe"}{"event":"subscribe"}',
    "ping": b"ping",
    "pong-upper": b"PONG",
    "pong-quoted": b'"pong"',
    "pong-twice": b"pongpong",
    "pong-inner-space": b"po ng",
    "pong-nul": b"pong\x00",
    "pong-vt": b"\x0bpong",
    "empty": b"",
    "whitespace": b" \r\n\t ",
    "nul": b"\x00",
    "nuls": b"\x00" * 1000,
    "binary": bytes(range(256)) * 4,
    "binary-with-symbol": bytes(range(256)) + b'"PAWSUSDT"' + bytes(range(256)),
    "json-array": b'[{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}]}]',
    "json-string": b'"PAWSUSDT"',
    "json-number": b"1",
    "json-null": b"null",
    "empty-object": b"{}",
    "trailing-garbage": V2_HIT + b"x",
    "trailing-comma-object": V2_HIT[:-1] + b",}",
    "two-objects": V2_HIT + V2_HIT,
    "trailing-nul": V2_HIT + b"\x00",
    "leading-bom": b"\xef\xbb\xbf" + V2_HIT,
    "single-quotes": V2_HIT.replace(b'"', b"'"),
    "unquoted-keys": b'{action:"x",arg:{channel:"ticker",instId:"PAWSUSDT"},data:[{}]}',
    "nan": V2_HIT[:-1] + b',"x":NaN}',
    "infinity": V2_HIT[:-1] + b',"x":-Infinity}',
    "leading-zero": V2_HIT[:-1] + b',"x":01}',
    "bare-minus": V2_HIT[:-1] + b',"x":-}',
    "bad-fraction": V2_HIT[:-1] + b',"x":1.}',
    "bad-exponent": V2_HIT[:-1] + b',"x":1e}',
    "plus-number": V2_HIT[:-1] + b',"x":+1}',
    "hex-number": V2_HIT[:-1] + b',"x":0x10}',
    "bad-literal": V2_HIT[:-1] + b',"x":tru}',
    "upper-literal": V2_HIT[:-1] + b',"x":True}',
    "bad-escape": V2_HIT[:-1] + b',"x":"\\x41"}',
    "short-unicode-escape": V2_HIT[:-1] + b',"x":"\\u12"}',
    "bad-unicode-escape": V2_HIT[:-1] + b',"x":"\\u12G4"}',
    "raw-newline-in-string": V2_HIT[:-1] + b',"x":"a\nb"}',
    "raw-tab-in-string": V2_HIT[:-1] + b',"x":"a\tb"}',
    "nul-in-string": V2_HIT[:-1] + b',"x":"a\x00b"}',
    "latin1-in-string": V2_HIT[:-1] + b',"x":"caf\xe9"}',
    "overlong-utf8": V2_HIT[:-1] + b',"x":"\xc0\xaf"}',
    "surrogate-utf8": V2_HIT[:-1] + b',"x":"\xed\xa0\x80"}',
    "above-max-utf8": V2_HIT[:-1] + b',"x":"\xf4\x90\x80\x80"}',
    "truncated-utf8": V2_HIT[:-1] + b',"x":"\xe2\x82"}',
    "lone-continuation": V2_HIT[:-1] + b',"x":"\x80"}',
    "utf8-outside-string": V2_HIT[:-1] + b',"x":\xc3\xa9}',
    "missing-colon": b'{"action" "x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}]}',
    "missing-comma": b'{"action":"x" "arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}]}',
    "double-comma": b'{"action":"x",,"arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}]}',
    "array-trailing-comma": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{},]}'
    ),
    "mismatched-brackets": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"],"data":[{}]}'
    ),
    "non-string-key": (
        b'{"action":"x",1:2,"arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{}]}'
    ),
    "vertical-tab-ws": V2_HIT.replace(b',"data"', b',\x0b"data"'),
    "form-feed-ws": V2_HIT.replace(b',"data"', b',\x0c"data"'),
    "nbsp-ws": V2_HIT.replace(b',"data"', b',\xc2\xa0"data"'),
    "too-deep": (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{"x":'
        + b"[" * 70
        + b"]" * 70
        + b"}]}"
    ),
}


def _ids(cases: dict[str, bytes]) -> list[str]:
    return list(cases)


@pytest.fixture
def scanner(impl):
    return impl.TickerScanner(SYM)


@pytest.mark.parametrize("frame", list(HITS.values()), ids=_ids(HITS))
def test_hits(scanner, frame):
    assert scanner.scan(frame) == TICKER_HIT


@pytest.mark.parametrize("frame", list(EVENTS.values()), ids=_ids(EVENTS))
def test_events(scanner, frame):
    assert scanner.scan(frame) == EVENT


@pytest.mark.parametrize("frame", list(PONGS.values()), ids=_ids(PONGS))
def test_pongs(scanner, frame):
    assert scanner.scan(frame) == PONG


@pytest.mark.parametrize("frame", list(OTHERS.values()), ids=_ids(OTHERS))
def test_others(scanner, frame):
    assert scanner.scan(frame) == OTHER


def test_corpus_is_valid_json_where_expected():
    """The hit and event corpora are valid JSON (guards the fixtures themselves)."""
    for frame in (*HITS.values(), *EVENTS.values()):
        assert isinstance(json.loads(frame), dict)


@pytest.mark.parametrize("name", ["v2-snapshot", "v3-snapshot", "reordered", "v2-pretty"])
def test_truncated_hit_is_never_a_hit(scanner, name):
    frame = HITS[name]
    trailing_ws = len(frame) - len(frame.rstrip())
    for cut in range(len(frame) - trailing_ws):
        assert scanner.scan(frame[:cut]) == OTHER, cut
    assert scanner.scan(frame) == TICKER_HIT


@pytest.mark.parametrize("name", ["subscribe-ack", "error-30001"])
def test_truncated_event_is_other(scanner, name):
    frame = EVENTS[name]
    for cut in range(len(frame)):
        assert scanner.scan(frame[:cut]) == OTHER, cut


def test_deep_but_allowed_nesting(scanner):
    depth_inside = 64 - 3  # top object, data array, data[0] object already open
    frame = (
        b'{"action":"x","arg":{"channel":"ticker","instId":"PAWSUSDT"},"data":[{"x":'
        + b"[" * depth_inside
        + b"]" * depth_inside
        + b"}]}"
    )
    assert scanner.scan(frame) == TICKER_HIT
    deeper = frame.replace(b"[" * depth_inside, b"[" * (depth_inside + 1)).replace(
        b"]" * depth_inside, b"]" * (depth_inside + 1)
    )
    assert scanner.scan(deeper) == OTHER


def test_deeply_nested_junk_does_not_crash(scanner):
    assert scanner.scan(b'{"instId":"PAWSUSDT","x":' + b"[" * 1_000_000) == OTHER
    assert scanner.scan(b'{"event":' + b'{"a":' * 200_000) == OTHER


def test_huge_frames(scanner):
    filler = json.dumps([{"k": "v" * 50, "n": 1.5}] * 15_000, separators=(",", ":")).encode()
    assert len(filler) > 1_000_000
    big_hit = V2_HIT[:-1] + b',"filler":' + filler + b"}"
    assert scanner.scan(big_hit) == TICKER_HIT
    assert scanner.scan(big_hit[:-1]) == OTHER
    big_other = _v2("BTCUSDT")[:-1] + b',"filler":' + filler + b"}"
    assert scanner.scan(big_other) == OTHER
    assert scanner.scan(b"\xff" * 1_000_000) == OTHER
    assert scanner.scan(b"{" + b" " * 1_000_000) == OTHER
    assert scanner.scan(b" " * 1_000_000 + b"pong" + b" " * 1_000_000) == PONG


def test_payload_types(scanner):
    assert scanner.scan(bytearray(V2_HIT)) == TICKER_HIT
    assert scanner.scan(memoryview(V2_HIT)) == TICKER_HIT
    assert scanner.scan(memoryview(b"xx" + V2_HIT + b"yy")[2:-2]) == TICKER_HIT
    assert scanner.scan(memoryview(bytearray(b"pong")).toreadonly()) == PONG
    with pytest.raises(TypeError):
        scanner.scan(V2_HIT.decode())
    with pytest.raises(TypeError):
        scanner.scan(memoryview(V2_HIT)[::2])
    with pytest.raises(TypeError):
        scanner.scan(None)


def test_other_target(impl):
    scanner = impl.TickerScanner("BTCUSDT")
    assert scanner.symbol == "BTCUSDT"
    assert scanner.scan(OTHERS["other-symbol-v2"]) == TICKER_HIT
    assert scanner.scan(OTHERS["other-symbol-v3"]) == TICKER_HIT
    assert scanner.scan(V2_HIT) == OTHER


def test_symbol_validation(impl):
    with pytest.raises(ValueError):
        impl.TickerScanner("pawsusdt")
    with pytest.raises(TypeError):
        impl.TickerScanner(b"PAWSUSDT")


def test_result_is_framekind_compatible(impl, scanner):
    kind = scanner.scan(V2_HIT)
    assert kind == impl.FrameKind.TICKER_HIT
    assert impl.FrameKind(kind) is impl.FrameKind.TICKER_HIT
    assert isinstance(kind, int)


def test_repr_and_pickle(scanner):
    import pickle

    assert "PAWSUSDT" in repr(scanner)
    clone = pickle.loads(pickle.dumps(scanner))
    assert clone.scan(V2_HIT) == TICKER_HIT
