"""Both venues (v2 classic, v3 UTA): exact request shapes and tolerant parsing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from sniper._fast import FrameKind, TickerScanner
from sniper.live.outcomes import Outcome
from sniper.live.venue import (
    ClassicVenue,
    UtaVenue,
    account_settings_call,
    make_venue,
    parse_envelope,
)


def env(data: object, code: str = "00000", status: int = 200):  # type: ignore[no-untyped-def]
    body = {"code": code, "msg": "x", "requestTime": 1, "data": data}
    return parse_envelope(status, json.dumps(body).encode())


def test_make_venue() -> None:
    assert isinstance(make_venue("classic", "PAWSUSDT", "PAWS"), ClassicVenue)
    assert isinstance(make_venue("uta", "PAWSUSDT", "PAWS"), UtaVenue)
    with pytest.raises(ValueError):
        make_venue("auto", "PAWSUSDT", "PAWS")
    assert account_settings_call().path_with_query == "/api/v3/account/settings"


def test_uta_order_body_and_paths_are_exact() -> None:
    v = UtaVenue("PAWSUSDT", "PAWS")
    call = v.order_call("1234.56", "snp-1")
    assert (call.method, call.path) == ("POST", "/api/v3/trade/place-order")
    assert call.body == (
        b'{"category":"SPOT","symbol":"PAWSUSDT","side":"sell","orderType":"market",'
        b'"qty":"1234.56","clientOid":"snp-1"}'
    )
    assert v.order_info_call("snp-1").path_with_query == "/api/v3/trade/order-info?clientOid=snp-1"
    assert (
        v.symbol_call().path_with_query
        == "/api/v3/market/instruments?category=SPOT&symbol=PAWSUSDT"
    )
    assert v.ticker_call().path_with_query == "/api/v3/market/tickers?category=SPOT&symbol=PAWSUSDT"
    assert v.assets_call().path == "/api/v3/account/assets"
    assert v.time_call().path == "/api/v2/public/time"  # public: open to both generations
    assert v.permission_probe_call().body == b"{}"


def test_uta_ws_subscribe_shape_and_the_scanner_recognises_its_pushes() -> None:
    v = UtaVenue("PAWSUSDT", "PAWS")
    assert v.ws_subscribe() == (
        b'{"op":"subscribe","args":[{"instType":"spot","topic":"ticker","symbol":"PAWSUSDT"}]}'
    )
    push = (
        b'{"action":"snapshot","arg":{"instType":"spot","topic":"ticker","symbol":"PAWSUSDT"},'
        b'"data":[{"symbol":"PAWSUSDT","lastPrice":"0.0123"}],"ts":1}'
    )
    assert TickerScanner("PAWSUSDT").scan(push) == FrameKind.TICKER_HIT
    arg = {"instType": "spot", "topic": "ticker", "symbol": "PAWSUSDT"}
    assert v.ws_event({"event": "subscribe", "arg": arg}) == "subscribed"
    assert v.ws_event({"event": "error", "arg": arg, "code": 30001}) == "unknown-symbol"
    other = {**arg, "symbol": "BTCUSDT"}
    assert v.ws_event({"event": "subscribe", "arg": other}) == "other"
    # the v2 venue does not take a v3 ack for its own
    assert ClassicVenue("PAWSUSDT", "PAWS").ws_event({"event": "subscribe", "arg": arg}) == "other"


NOW_MS = 1751619527420  # requestTime of the real 2025-07-04 symbols capture (§10.3)
OPEN_MS = 1751623200000  # AFTUSDT's real openTime in that capture (~1 h later)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("listed", "gray"),
        ("online", "online"),
        ("limit_close", "halt"),
        ("offline", "offline"),
        ("restrictedAPI", "restricted"),
    ],
)
def test_uta_instrument_row(raw: str, status: str) -> None:
    v = UtaVenue("PAWSUSDT", "PAWS")
    row = {
        "symbol": "PAWSUSDT",
        "status": raw,
        "quantityPrecision": "2",
        "pricePrecision": "4",
        "minOrderAmount": "1",
        "launchTime": str(OPEN_MS),
        "limitOpenTime": "",
    }
    state = v.parse_symbol(env([row]), now_ms=NOW_MS)
    assert state.status == status and state.quantity_precision == 2
    assert state.price_precision == 4
    assert state.open_time_ms == OPEN_MS and state.min_order_value == Decimal(1)
    assert state.restricted_api is (raw == "restrictedAPI")


def test_uta_open_time_is_launch_time_never_limit_open_time_or_open_time() -> None:
    """§5.11: the real v3 row has no openTime; limitOpenTime is a restriction time."""
    v = UtaVenue("PAWSUSDT", "PAWS")
    row = {"symbol": "PAWSUSDT", "status": "listed", "launchTime": "0"}
    for extra in ({"limitOpenTime": str(OPEN_MS)}, {"openTime": str(OPEN_MS)}):
        assert v.parse_symbol(env([{**row, **extra}]), now_ms=NOW_MS).open_time_ms is None
    both = {**row, "launchTime": str(OPEN_MS), "limitOpenTime": str(OPEN_MS + 60_000)}
    assert v.parse_symbol(env([both]), now_ms=NOW_MS).open_time_ms == OPEN_MS


@pytest.mark.parametrize("venue_cls", [ClassicVenue, UtaVenue])
@pytest.mark.parametrize(
    "placeholder",
    ["", "0", "-1", None, "junk", True, "2524608000000", "2556144000000", 2786745600000],
    ids=repr,
)
def test_placeholder_open_times_are_not_announced(venue_cls: type, placeholder: object) -> None:
    """Real gray rows carry "" and far-future placeholders (2030-2056, §10.3): not an open."""
    v = venue_cls("PAWSUSDT", "PAWS")
    field = "launchTime" if venue_cls is UtaVenue else "openTime"
    row = {"symbol": "PAWSUSDT", "status": "gray", field: placeholder}
    assert v.parse_symbol(env([row]), now_ms=NOW_MS).open_time_ms is None
    # an open within the year is announced
    row[field] = str(NOW_MS + 300 * 24 * 3600 * 1000)
    assert v.parse_symbol(env([row]), now_ms=NOW_MS).open_time_ms == int(row[field])


def test_market_order_caps() -> None:
    """§5.11: v2 maxMarketOrderValue (quote, optional), v3 maxMarketOrderQty (base)."""
    c = ClassicVenue("PAWSUSDT", "PAWS")
    row = {"symbol": "PAWSUSDT", "status": "gray", "openTime": ""}
    assert c.parse_symbol(env([row])).max_market_order_value is None
    state = c.parse_symbol(env([{**row, "maxMarketOrderValue": "50000"}]))
    assert state.max_market_order_value == Decimal(50000) and state.max_market_order_qty is None
    u = UtaVenue("PAWSUSDT", "PAWS")
    state = u.parse_symbol(env([{**row, "maxMarketOrderQty": "1000.5"}]))
    assert state.max_market_order_qty == Decimal("1000.5") and state.max_market_order_value is None
    assert u.parse_symbol(env([{**row, "maxMarketOrderQty": ""}])).max_market_order_qty is None
    assert u.parse_symbol(env([{**row, "maxMarketOrderQty": "0"}])).max_market_order_qty is None


def test_uta_absent_and_errors() -> None:
    v = UtaVenue("PAWSUSDT", "PAWS")
    assert v.parse_symbol(env(None, "25100", 400)).status == "absent"
    assert v.parse_symbol(env([])).status == "absent"
    with pytest.raises(ValueError):
        v.parse_symbol(env(None, "40015", 400))


def test_classic_min_order_value_and_price() -> None:
    v = ClassicVenue("PAWSUSDT", "PAWS")
    state = v.parse_symbol(
        env([{"symbol": "PAWSUSDT", "status": "gray", "minTradeUSDT": "5", "openTime": ""}])
    )
    assert state.min_order_value == Decimal(5) and state.open_time_ms is None
    assert v.parse_last_price(env([{"symbol": "PAWSUSDT", "lastPr": "0.0123"}])) == Decimal(
        "0.0123"
    )
    assert v.parse_last_price(env([])) is None
    assert v.parse_last_price(env(None, "40034", 400)) is None
    u = UtaVenue("PAWSUSDT", "PAWS")
    assert u.parse_last_price(env([{"symbol": "PAWSUSDT", "lastPrice": "2"}])) == Decimal(2)


def test_holdings_are_available_plus_frozen_plus_locked() -> None:
    v2 = ClassicVenue("PAWSUSDT", "PAWS")
    rows = [
        {"coin": "USDT", "available": "5", "frozen": "0", "locked": "0"},
        {"coin": "PAWS", "available": "10.5", "frozen": "2", "locked": "0.25"},
    ]
    assert v2.parse_available(rows) == Decimal("10.5")
    assert v2.parse_holdings(rows) == Decimal("12.75")
    assert v2.parse_holdings([]) == 0  # hold_only: zero balances are absent
    v3 = UtaVenue("PAWSUSDT", "PAWS")
    data = {"assets": [{"coin": "PAWS", "available": "7", "locked": "3", "balance": "10"}]}
    assert v3.parse_available(data) == 7 and v3.parse_holdings(data) == 10
    assert v3.parse_holdings({"assets": []}) == 0 and v3.parse_available(None) == 0


def test_uta_order_info() -> None:
    v = UtaVenue("PAWSUSDT", "PAWS")
    row = {
        "orderId": "1",
        "clientOid": "snp-1",
        "orderStatus": "filled",
        "qty": "1000",
        "cumExecQty": "1000",
        "cumExecValue": "12.3",
        "avgPrice": "0.0123",
    }
    state = v.parse_order_info(env(row))
    assert state is not None and state.status == "filled" and state.base_volume == "1000"
    assert state.quote_volume == "12.3" and state.price_avg == "0.0123"
    assert v.parse_order_info(env(None, "25204", 400)) is None
    assert v.parse_order_info(env(None, "43001", 400)) is None


@pytest.mark.parametrize(
    ("code", "outcome"),
    [("25212", Outcome.DUPLICATE), ("25202", Outcome.REJECTED), ("43115", Outcome.NOT_OPEN_YET)],
)
def test_uta_classify(code: str, outcome: Outcome) -> None:
    assert UtaVenue("PAWSUSDT", "PAWS").classify(env(None, code, 400)) is outcome


def test_uta_explain_25202_in_plain_words() -> None:
    text = UtaVenue("PAWSUSDT", "PAWS").explain(env(None, "25202", 400))
    assert "insufficient balance" in text and "25202" in text
