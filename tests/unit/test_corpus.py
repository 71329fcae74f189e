"""The corpus of real Bitget traffic (``tests/data/bitget-samples.json``) through the client.

Every WebSocket sample goes through both scanner implementations (compiled and twin) with the
verdict of its kind, scanned for its own symbols and for near-miss symbols; every WebSocket event
goes through the venue's event classifier; every REST sample goes through the venue's own
parsers and classifiers under HTTP 200 and HTTP 400. Bodies are never edited.

A sample is judged by its *family* (a kind's role: spot ticker push, ack, error...). The rule of
each family is written once below; a new sample of a known kind needs no new code, and a sample
of a kind no family lists fails :func:`test_every_kind_has_a_family`. Expected values are read
from the sample bodies themselves (a row's own symbol, price, balance...).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from bitget_corpus import SHARED, Sample, expect_known_kinds, samples

from sniper.live.outcomes import Outcome
from sniper.live.venue import Envelope, OrderState, SymbolState, make_venue, parse_envelope

OTHER, TICKER_HIT, PONG, EVENT = 0, 1, 2, 3  # sniper._fast FrameKind

# --- the families ----------------------------------------------------------------------------
# WebSocket: what the scanner must answer for a frame of this kind
WS_FAMILY: dict[str, str] = {
    "ws_v2_ticker": "spot-ticker",  # a hit for its own symbol
    "ws_v3_ticker": "spot-ticker",
    "ws_v2_ticker_futures": "push",  # a futures ticker of the symbol: never a hit
    "ws_v2_books_snapshot": "push",
    "ws_v2_books_update": "push",
    "ws_v3_books_update": "push",
    "ws_v2_orders_push": "push",
    "ws_v2_orders_push_futures": "push",
    "ws_v2_orders_push_data": "push",  # a push's data row alone (no envelope)
    "ws_v2_fill_push": "push",
    "ws_v2_account_push": "push",
    "ws_v3_order_push": "push",
    "ws_v3_fill_push": "push",
    "ws_v3_account_push": "push",
    "ws_v2_login_request": "request",  # what a client sends: no event, no push
    "ws_v3_login_request": "request",
    "ws_v2_orders_subscribe": "request",
    "ws_v2_orders_subscribe_default": "request",
    "ws_v2_fill_subscribe": "request",
    "ws_v2_account_subscribe": "request",
    "ws_v3_order_subscribe": "request",
    "ws_v3_fill_subscribe": "request",
    "ws_v3_account_subscribe": "request",
    "ws_v2_ack": "event",
    "ws_v2_ack_other_channel": "event",
    "ws_v3_ack": "event",
    "ws_v2_orders_ack": "event",
    "ws_v2_orders_ack_default": "event",
    "ws_v2_account_ack": "event",
    "ws_v3_order_ack": "event",
    "ws_v2_error_unknown_symbol": "event",
    "ws_v2_error_param": "event",
    "ws_v3_error_unknown_symbol": "event",
    "ws_v3_error_login": "event",
    "ws_v3_error_not_logged_in": "event",
    "ws_v2_login_ok": "event",
    "ws_v2_login_ok_documented": "event",
    "ws_v2_login_error": "event",
    "ws_v3_login_ok": "event",
    "ws_v3_login_error": "event",
    "ws_pong": "pong",
}
FAMILY_VERDICT = {"push": OTHER, "request": OTHER, "event": EVENT, "pong": PONG}

# REST: which of the venue's parsers reads a reply of this kind
REST_FAMILY: dict[str, str] = {
    "rest_time_v2": "server-time",
    "rest_symbols_v2": "symbols",
    "rest_instruments_v3": "symbols",
    "rest_tickers_v2": "ticker",
    "rest_tickers_v3": "ticker",
    "rest_assets_v2": "assets",
    "rest_assets_v2_data": "assets",  # the data array alone (no envelope)
    "rest_assets_v3": "assets",
    "rest_account_settings_v3": "envelope",  # only its code is read (account mode detection)
    "rest_place_order_v2": "order-ack",
    "rest_place_order_v3": "order-ack",
    "rest_order_info_v2": "order-info",
    "rest_order_info_v3": "order-info",
    "rest_error_v2": "error",
    "rest_error_v2_429": "error",
    "rest_error_v2_unknown_symbol": "error",
    "rest_error_v3_unknown_symbol": "error",
}

# What each error code of the corpus means for an order (bitget-api.md §4, §6, §5.11).
ERROR_OUTCOME: dict[str, Outcome] = {
    "43115": Outcome.NOT_OPEN_YET,
    "43012": Outcome.REJECTED,
    "45110": Outcome.REJECTED,
    "40019": Outcome.REJECTED,
    "40085": Outcome.REJECTED,
    "40099": Outcome.REJECTED,
    "429": Outcome.RETRY,
    "40034": Outcome.REJECTED,
    "25100": Outcome.REJECTED,
}
AUTH_ERRORS = {"40085", "40099"}  # wrong account generation, wrong environment (§1, §6)
SYMBOL_ABSENT = {"40034", "25100"}  # the symbol does not exist (§6, §5.11)

SYMBOL_RE = re.compile(r"[A-Z0-9_-]{1,40}")
MODE = {"v2": "classic", "v3": "uta"}
WS_KEYS = {"v2": ("channel", "instId"), "v3": ("topic", "symbol")}  # (channel key, symbol key)
STATUSES = (200, 400)

WS = samples("ws_")
REST = samples("rest_")
EVENTS = [s for s in WS if WS_FAMILY.get(s.kind) == "event"]


def of_kind(kind: str) -> list[Sample]:
    return [s for s in samples() if s.kind == kind]


def test_the_corpus_is_loaded() -> None:
    assert len(WS) >= 30 and len(REST) >= 20
    assert all(s.is_ws or s.kind.startswith("rest_") for s in samples())


def test_every_kind_has_a_family() -> None:
    """A sample of a new kind needs a family (and so a rule) before it counts as covered."""
    assert expect_known_kinds(set(WS_FAMILY) | set(REST_FAMILY)) == []


@pytest.mark.skipif(not SHARED.exists(), reason=f"no reference corpus at {SHARED}")
def test_every_reference_sample_is_in_the_tests_copy() -> None:
    """A sample added to the shared reference must be copied here (verbatim, with its source)."""
    ours = {(s.kind, s.source, s.body) for s in samples()}
    missing = [s.id for s in samples(path=SHARED) if (s.kind, s.source, s.body) not in ours]
    assert missing == [], f"copy these samples from {SHARED} into tests/data: {missing}"


# --- helpers that read a sample -------------------------------------------------------------
def _walk(value: Any) -> Any:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def _msg_arg(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The arg a v3 error spells inside its msg: ``{"instType":..,"symbol":..} doesn't exist``."""
    msg = doc.get("msg")
    if not isinstance(msg, str) or not msg.startswith("{"):
        return None
    try:
        arg, _ = json.JSONDecoder().raw_decode(msg)
    except ValueError:
        return None
    return arg if isinstance(arg, dict) else None


def symbols_of(sample: Sample) -> list[str]:
    """Every symbol the frame names (``instId``/``symbol`` anywhere, and inside an error msg)."""
    try:
        doc = sample.doc()
    except ValueError:
        return []
    found: set[str] = set()
    extra = _msg_arg(doc) if isinstance(doc, dict) else None
    for node in [*_walk(doc), *([extra] if extra else [])]:
        if isinstance(node, dict):
            for key in ("instId", "symbol"):
                value = node.get(key)
                if isinstance(value, str) and SYMBOL_RE.fullmatch(value):
                    found.add(value)
    return sorted(found)


def own_symbol(sample: Sample) -> str:
    """The symbol a ticker push is for: ``arg.instId`` (v2) / ``arg.symbol`` (v3)."""
    arg = sample.doc()["arg"]
    return str(arg["instId"] if "instId" in arg else arg["symbol"])


def near_misses(symbol: str) -> list[str]:
    """Symbols that share most of ``symbol``'s bytes but are not it."""
    base = symbol.removesuffix("USDT")
    out = [
        symbol[:-1],  # ETHUSD
        symbol + "X",  # ETHUSDTX
        "X" + symbol,  # XETHUSDT
        symbol[1:],  # THUSDT
        base,  # ETH
        base + "USDC",  # ETHUSDC
        symbol + "0",  # ETHUSDT0
        "1" + symbol,  # 1ETHUSDT
        "BTCUSDT" if symbol != "BTCUSDT" else "ETHUSDT",
        "PAWSUSDT",
    ]
    return [s for s in dict.fromkeys(out) if s and s != symbol and SYMBOL_RE.fullmatch(s)]


# --- WebSocket: both scanners -------------------------------------------------------------------
def _scan(impl: Any, symbol: str, sample: Sample) -> int:
    scanner = impl.TickerScanner(symbol)
    verdict = scanner.scan(sample.raw)
    assert scanner.scan(bytearray(sample.raw)) == verdict  # the buffer protocol agrees
    return int(verdict)


def _ws_targets(sample: Sample) -> list[str]:
    return symbols_of(sample) or ["BTCUSDT"]


@pytest.mark.parametrize("sample", WS, ids=lambda s: s.id)
def test_ws_sample_verdict(impl: Any, sample: Sample) -> None:
    family = WS_FAMILY.get(sample.kind)
    if family is None:
        pytest.fail(f"kind {sample.kind} has no family (see test_every_kind_has_a_family)")
    if family == "spot-ticker":
        doc = sample.doc()
        channel_key, symbol_key = WS_KEYS[sample.generation]
        assert doc["arg"][channel_key] == "ticker" and doc["arg"][symbol_key] == own_symbol(sample)
        assert str(doc["arg"].get("instType", "spot")).lower() == "spot"
        own = own_symbol(sample)
        assert _scan(impl, own, sample) == TICKER_HIT
        for other in _ws_targets(sample):
            assert _scan(impl, other, sample) == (TICKER_HIT if other == own else OTHER)
        return
    for symbol in _ws_targets(sample):
        assert _scan(impl, symbol, sample) == FAMILY_VERDICT[family], symbol


@pytest.mark.parametrize("sample", WS, ids=lambda s: s.id)
def test_ws_sample_never_hits_a_near_miss_symbol(impl: Any, sample: Sample) -> None:
    family = WS_FAMILY.get(sample.kind)
    if family is None:
        pytest.fail(f"kind {sample.kind} has no family")
    expected = OTHER if family == "spot-ticker" else FAMILY_VERDICT[family]
    for symbol in _ws_targets(sample):
        for miss in near_misses(symbol):
            assert _scan(impl, miss, sample) == expected, (symbol, miss)


def test_the_futures_ticker_names_the_symbol_of_a_spot_ticker() -> None:
    """The near miss that matters most: a futures ticker of exactly the symbol. The corpus has
    one (BTCUSDT), and the v3 spot ticker of that same symbol is a hit."""
    futures = of_kind("ws_v2_ticker_futures")
    assert futures and all(own_symbol(s) == "BTCUSDT" for s in futures)
    assert "BTCUSDT" in {own_symbol(s) for s in of_kind("ws_v3_ticker")}


# --- WebSocket: the venue's event classifier ---------------------------------------------------
def _ours_spot_ticker(arg: Any, generation: str, target: str) -> bool:
    channel_key, symbol_key = WS_KEYS[generation]
    return (
        isinstance(arg, dict)
        and arg.get(channel_key) == "ticker"
        and str(arg.get("instType", "spot")).lower() == "spot"
        and arg.get(symbol_key) == target
    )


def _named_symbol(doc: dict[str, Any], generation: str) -> Any:
    """The symbol an event is about: its arg's (v2 instId / v3 symbol), or, for a v3 error
    without arg (§5.11), the symbol its msg spells."""
    arg = doc.get("arg")
    if isinstance(arg, dict):
        return arg.get(WS_KEYS[generation][1])
    inner = _msg_arg(doc)
    return inner.get("symbol", inner.get("instId")) if inner else None


def expected_ws_event(doc: dict[str, Any], generation: str, target: str) -> str:
    """``subscribed`` only for the ack of our own spot ticker subscription (the ack echoes the
    arg, §7.2); ``unknown-symbol`` for 30001 about our spot ticker (the arg, or for v3 the msg,
    names it; §7.3, §5.11) — a 30001 about our symbol on another channel (futures books) is not
    about our subscription; any other error ``error``; anything else ``other``."""
    event = doc.get("event")
    if event == "subscribe":
        return "subscribed" if _ours_spot_ticker(doc.get("arg"), generation, target) else "other"
    if event == "error":
        arg = doc["arg"] if isinstance(doc.get("arg"), dict) else _msg_arg(doc)
        unknown = str(doc.get("code")) == "30001" and _ours_spot_ticker(arg, generation, target)
        return "unknown-symbol" if unknown else "error"
    return "other"


def _event_cases() -> list[Any]:
    return [
        pytest.param(sample, target, id=f"{sample.id}-{target}")
        for sample in EVENTS
        for target in dict.fromkeys([*symbols_of(sample), "PAWSUSDT"])
    ]


@pytest.mark.parametrize("sample, target", _event_cases())
def test_ws_event_classification(sample: Sample, target: str) -> None:
    doc = sample.doc()
    venue = make_venue(MODE[sample.generation], target, target.removesuffix("USDT"))
    assert venue.ws_event(doc) == expected_ws_event(doc, sample.generation, target)


def test_ws_event_cases_cover_the_answers_that_matter() -> None:
    """The corpus gives these answers of ws_event at least once, for both generations. (Its
    30001 frames are about futures books, so ``unknown-symbol`` for our spot ticker is checked
    on frames derived from them: test_the_real_v3_unknown_symbol_error_without_arg and
    test_the_real_v2_unknown_symbol_error.)"""
    seen = set()
    for sample in EVENTS:
        doc = sample.doc()
        for target in [*symbols_of(sample), "PAWSUSDT"]:
            seen.add((sample.generation, expected_ws_event(doc, sample.generation, target)))
    for generation in ("v2", "v3"):
        for answer in ("subscribed", "error"):
            assert (generation, answer) in seen
    assert ("v2", "other") in seen


def test_the_real_v3_unknown_symbol_error_without_arg() -> None:
    """bitget-api.md §5.11: the v3 30001 carries no ``arg``; the symbol is only in its msg."""
    (sample,) = of_kind("ws_v3_error_unknown_symbol")
    doc = sample.doc()
    assert "arg" not in doc and _named_symbol(doc, "v3") == "NOPEUSDT"
    # the real frame is about futures books: not our spot ticker subscription
    assert make_venue("uta", "NOPEUSDT", "NOPE").ws_event(doc) == "error"
    # the same frame about the spot ticker (the msg's arg as a v3 ticker subscribe sends it)
    spot = {**doc, "msg": doc["msg"].replace("usdt-futures", "spot").replace("books", "ticker")}
    assert make_venue("uta", "NOPEUSDT", "NOPE").ws_event(spot) == "unknown-symbol"
    assert make_venue("uta", "PAWSUSDT", "PAWS").ws_event(spot) == "error"


def test_the_real_v2_unknown_symbol_error() -> None:
    """§7.3: the v2 30001 carries the arg; about our spot ticker it is ``unknown-symbol``."""
    (sample,) = of_kind("ws_v2_error_unknown_symbol")
    doc = sample.doc()
    assert make_venue("classic", "NOPEUSDT", "NOPE").ws_event(doc) == "error"  # futures books
    spot = {**doc, "arg": {"instType": "SPOT", "channel": "ticker", "instId": "NOPEUSDT"}}
    assert make_venue("classic", "NOPEUSDT", "NOPE").ws_event(spot) == "unknown-symbol"
    assert make_venue("classic", "PAWSUSDT", "PAWS").ws_event(spot) == "error"


# --- REST: envelopes --------------------------------------------------------------------------
def _envelope(sample: Sample, status: int) -> Envelope:
    return parse_envelope(status, sample.raw)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("sample", REST, ids=lambda s: s.id)
def test_rest_envelope(sample: Sample, status: int) -> None:
    if sample.kind not in REST_FAMILY:
        pytest.fail(f"kind {sample.kind} has no family")
    doc = sample.doc()
    env = _envelope(sample, status)
    assert env.http_status == status
    if not isinstance(doc, dict):  # a data array alone: no envelope
        assert env.code is None and env.data is None
        return
    assert env.code == str(doc["code"]) and isinstance(env.code, str)
    assert env.msg == doc["msg"]
    assert env.data == doc["data"]
    assert env.ok == (status == 200 and doc["code"] == "00000")
    for mode in ("classic", "uta"):
        venue = make_venue(mode, "BTCUSDT", "BTC")
        if env.ok:
            assert venue.classify(env) is Outcome.ACCEPTED
            assert not venue.is_auth_error(env) and not venue.is_transient(env)
        else:
            assert venue.classify(env) is not Outcome.ACCEPTED


def _venue_for(sample: Sample, target: str = "BTCUSDT", base_coin: str = "BTC") -> Any:
    return make_venue(MODE[sample.generation], target, base_coin)


def _family(kind: str) -> list[Sample]:
    return [s for s in REST if REST_FAMILY.get(s.kind) == kind]


def test_every_rest_family_has_samples() -> None:
    assert {REST_FAMILY[s.kind] for s in REST if s.kind in REST_FAMILY} == set(REST_FAMILY.values())


# --- REST: success bodies through their parsers ------------------------------------------------
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("sample", _family("server-time"), ids=lambda s: s.id)
def test_server_time(sample: Sample, status: int) -> None:
    env = _envelope(sample, status)
    assert _venue_for(sample).parse_server_time(env.data) == int(sample.doc()["data"]["serverTime"])


def _rows(sample: Sample) -> list[dict[str, Any]]:
    doc = sample.doc()
    data = doc["data"] if isinstance(doc, dict) else doc
    if isinstance(data, dict):
        data = data.get("assets", [data])
    return [row for row in data if isinstance(row, dict)]


def _expected_open(row: dict[str, Any], generation: str, now_ms: int) -> int | None:
    """v2 ``openTime`` / v3 ``launchTime`` (never ``limitOpenTime``): a ms time, unless it is a
    placeholder ("", "0", "-1", null, or more than a year after the reply)."""
    raw = row.get("openTime" if generation == "v2" else "launchTime")
    try:
        ms = int(str(raw))
    except ValueError:
        return None
    return ms if ms > 0 and ms - now_ms <= 365 * 24 * 3600 * 1000 else None


def _symbol_rows() -> list[Any]:
    return [
        pytest.param(sample, row, id=f"{sample.id}-{row['symbol']}")
        for sample in _family("symbols")
        for row in _rows(sample)
    ]


@pytest.mark.parametrize("sample, row", _symbol_rows())
def test_symbol_row(sample: Sample, row: dict[str, Any]) -> None:
    generation = sample.generation
    venue = _venue_for(sample, row["symbol"], row["baseCoin"])
    now_ms = int(sample.doc()["requestTime"])  # the reply's own clock
    state = venue.parse_symbol(_envelope(sample, 200), now_ms=now_ms)
    status = row["status"].lower()
    if generation == "v3":
        status = {"listed": "gray", "limit_close": "halt", "restrictedapi": "restricted"}.get(
            status, status
        )
    min_value = row["minTradeUSDT" if generation == "v2" else "minOrderAmount"]
    cap_field = "maxMarketOrderValue" if generation == "v2" else "maxMarketOrderQty"
    cap = Decimal(row[cap_field]) if row.get(cap_field) else None
    assert state.status == status
    assert state.open_time_ms == _expected_open(row, generation, now_ms)
    assert state.quantity_precision == int(row["quantityPrecision"])
    assert state.price_precision == int(row["pricePrecision"])
    assert state.min_order_value == Decimal(min_value)
    if generation == "v2":
        assert state.max_market_order_value == cap and state.max_market_order_qty is None
    else:
        assert state.max_market_order_qty == cap and state.max_market_order_value is None
    assert state.restricted_api is (row["status"].lower() == "restrictedapi")
    # under HTTP 400 the same body is no answer: parse_symbol refuses it
    with pytest.raises(ValueError):
        venue.parse_symbol(_envelope(sample, 400), now_ms=now_ms)


def test_symbol_rows_of_the_real_capture() -> None:
    """The excerpt's gray rows: AFTUSDT opened 1 h after the capture (announced), CARUSDT carries
    a 2035 placeholder, SLNUSDT an empty openTime (both not announced)."""
    (sample,) = of_kind("rest_symbols_v2")
    env, now_ms = _envelope(sample, 200), int(sample.doc()["requestTime"])

    def state(symbol: str) -> SymbolState:
        return make_venue("classic", symbol, "X").parse_symbol(env, now_ms=now_ms)

    aft = state("AFTUSDT")
    assert (aft.status, aft.open_time_ms) == ("gray", 1751623200000)
    assert 1751623200000 - now_ms == 3672580  # ~1 h after the capture: announced
    assert (aft.quantity_precision, aft.min_order_value) == (1, Decimal("1"))
    car = state("CARUSDT")  # openTime "2056266000000": 2035-02-28, a placeholder
    assert (car.status, car.open_time_ms, car.quantity_precision) == ("gray", None, 2)
    assert state("SLNUSDT").open_time_ms is None
    assert state("MCHUSDT").status == "halt"
    assert state("NOPEUSDT").status == "absent"  # not in the reply


def test_v3_instrument_row_has_no_open_time() -> None:
    """The official v3 SPOT row: no openTime, limitOpenTime "" — never taken for the open."""
    (sample,) = of_kind("rest_instruments_v3")
    (row,) = _rows(sample)
    assert "openTime" not in row and "launchTime" not in row and row["limitOpenTime"] == ""
    state = make_venue("uta", "BTCUSDT", "BTC").parse_symbol(_envelope(sample, 200))
    assert (state.status, state.open_time_ms) == ("online", None)
    assert (state.quantity_precision, state.price_precision) == (6, 2)
    assert state.min_order_value == Decimal("1") and not state.restricted_api
    assert make_venue("uta", "ETHUSDT", "ETH").parse_symbol(_envelope(sample, 200)).status == (
        "absent"
    )


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("sample", _family("ticker"), ids=lambda s: s.id)
def test_last_price(sample: Sample, status: int) -> None:
    field = "lastPr" if sample.generation == "v2" else "lastPrice"
    for row in _rows(sample):
        price = _venue_for(sample, row["symbol"]).parse_last_price(_envelope(sample, status))
        assert price == (Decimal(row[field]) if status == 200 else None)
    assert _venue_for(sample, "NOPEUSDT").parse_last_price(_envelope(sample, 200)) is None


@pytest.mark.parametrize("sample", _family("assets"), ids=lambda s: s.id)
def test_available_and_holdings(sample: Sample) -> None:
    doc = sample.doc()
    data = doc["data"] if isinstance(doc, dict) else doc  # rest_assets_v2_data is data alone
    rows = _rows(sample)
    assert rows
    for row in rows:
        venue = _venue_for(sample, f"{row['coin']}USDT", row["coin"])
        held = sum((Decimal(row.get(k, "0")) for k in ("available", "frozen", "locked")), Decimal())
        assert venue.parse_available(data) == Decimal(row["available"])
        assert venue.parse_holdings(data) == held
    absent = _venue_for(sample, "NOPEUSDT", "NOPE")
    assert absent.parse_available(data) == 0 and absent.parse_holdings(data) == 0


def test_holdings_count_frozen_coins() -> None:
    """The v2 USDT row holds 17.85159289 available and 5.5 frozen."""
    (sample,) = of_kind("rest_assets_v2")
    venue = make_venue("classic", "USDTX", "USDT")
    assert venue.parse_available(sample.doc()["data"]) == Decimal("17.85159289")
    assert venue.parse_holdings(sample.doc()["data"]) == Decimal("23.35159289")


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("sample", _family("order-ack"), ids=lambda s: s.id)
def test_order_ack(sample: Sample, status: int) -> None:
    env = _envelope(sample, status)
    venue = _venue_for(sample)
    assert venue.parse_order_ack(env.data) == sample.doc()["data"]["orderId"]
    if status == 200:
        assert venue.classify(env) is Outcome.ACCEPTED
    else:
        assert venue.classify(env) is not Outcome.ACCEPTED


@pytest.mark.parametrize("sample", _family("order-info"), ids=lambda s: s.id)
def test_order_info(sample: Sample) -> None:
    (row,) = _rows(sample)
    names = {
        "v2": ("status", "size", "baseVolume", "quoteVolume", "priceAvg"),
        "v3": ("orderStatus", "qty", "cumExecQty", "cumExecValue", "avgPrice"),
    }[sample.generation]
    venue = _venue_for(sample)
    assert venue.parse_order_info(_envelope(sample, 200)) == OrderState(
        row["orderId"], row["clientOid"], *(row[n] for n in names)
    )
    with pytest.raises(ValueError):  # the same body under HTTP 400 is no answer
        venue.parse_order_info(_envelope(sample, 400))


# --- REST: error bodies through the classifiers ------------------------------------------------
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("sample", _family("error"), ids=lambda s: s.id)
def test_error_reply(sample: Sample, status: int) -> None:
    doc = sample.doc()
    code = str(doc["code"])
    if code not in ERROR_OUTCOME:
        pytest.fail(f"code {code} ({sample.id}): write what it means in ERROR_OUTCOME")
    env = _envelope(sample, status)
    venue = _venue_for(sample)
    assert (env.code, env.msg, env.data) == (code, doc["msg"], None)
    assert venue.classify(env) is ERROR_OUTCOME[code]
    assert venue.is_auth_error(env) == (code in AUTH_ERRORS)
    assert venue.is_transient(env) == (code == "429")
    if code in SYMBOL_ABSENT:
        assert venue.parse_symbol(env) == SymbolState("absent")
    else:
        with pytest.raises(ValueError):
            venue.parse_symbol(env)
    assert code in venue.explain(env) and doc["msg"] in venue.explain(env)


def test_error_codes_of_the_corpus_have_meanings() -> None:
    codes = {str(s.doc()["code"]) for s in _family("error")}
    assert codes == set(ERROR_OUTCOME)
