"""Order size, masking, clientOid, venue parsing."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from sniper.errors import ConfigError
from sniper.live.order import format_decimal, masked_request, new_client_oid, order_size
from sniper.live.venue import ClassicVenue, parse_envelope


def test_client_oid_shape_and_uniqueness() -> None:
    oids = {new_client_oid() for _ in range(100)}
    assert len(oids) == 100
    assert all(re.fullmatch(r"snp-[0-9a-f]{24}", o) for o in oids)


@pytest.mark.parametrize(
    ("amount", "available", "precision", "size", "warns"),
    [
        ("1020200", Decimal(5), 2, "1020200", False),  # as given (balance is not our call)
        ("0.5", None, None, "0.5", False),
        ("100.123", None, 2, "100.12", True),  # truncated DOWN, with a warning
        ("100.129", None, 2, "100.12", True),
        ("100.12", None, 2, "100.12", False),
        ("5", None, 0, "5", False),
        ("0.129", None, 2, "0.12", True),  # floored, never rounded up
        ("5.7", None, 0, "5", True),  # precision 0: whole coins
        ("7", None, 0, "7", False),
        ("123456789.123456789", None, 8, "123456789.12345678", True),  # a float would not
        ("0.3", None, 1, "0.3", False),  # a float would say 0.29999...
        ("all", Decimal("0.129"), 2, "0.12", False),
        ("all", Decimal("5.999"), 0, "5", False),
        ("all", Decimal("0.009"), 2, None, False),  # dust: nothing to sell yet, not an error
        ("all", Decimal("1234.5678"), 2, "1234.56", False),
        ("all", Decimal("1234.5678"), None, "1234.5678", False),
        ("all", Decimal("0"), 2, None, False),
        ("all", None, 2, None, False),
        ("all", Decimal("1000.0000000000000000"), 4, "1000", False),
    ],
)
def test_order_size(
    amount: str, available: Decimal | None, precision: int | None, size: str | None, warns: bool
) -> None:
    got, warning = order_size(amount, available, precision)
    assert got == size
    assert (warning is not None) is warns


@pytest.mark.parametrize(("amount", "precision"), [("0.001", 2), ("0.5", 0), ("0.00000009", 7)])
def test_order_size_smaller_than_one_step_is_a_clear_config_error(
    amount: str, precision: int
) -> None:
    with pytest.raises(ConfigError) as info:
        order_size(amount, Decimal(1000), precision)
    text = str(info.value)
    assert info.value.variable == "COIN_AMOUNT" and info.value.exit_code == 2
    assert "one step" in text and "quantityPrecision" in text and amount in text


def test_order_size_never_uses_floats() -> None:
    # every size is an exact decimal string of the input: no binary float rounding anywhere
    for i in range(1, 2000):
        amount = f"{i}.{i:04d}"
        size, _ = order_size(amount, None, 3)
        assert isinstance(size, str)
        assert Decimal(size) == Decimal(amount[:-1])  # the 4th decimal dropped, exactly


def test_format_decimal() -> None:
    assert format_decimal(Decimal("1E+3")) == "1000"
    assert format_decimal(Decimal("0.50")) == "0.5"
    assert format_decimal(Decimal("12.000")) == "12"


def test_masked_request_hides_credentials() -> None:
    req = (
        b"POST /api/v2/spot/trade/place-order HTTP/1.1\r\nHost: h\r\n"
        b"ACCESS-KEY: bg_verysecretkey123\r\nACCESS-PASSPHRASE: mypassphrase99\r\n"
        b"ACCESS-TIMESTAMP: 1700000000000\r\n"
        b"ACCESS-SIGN: l6Fr6MPNUinskcZO75drnG/JL3B7iAOZSl1xF+E9GzA=\r\n\r\n{}"
    )
    text = masked_request(req)
    for secret in ("bg_verysecretkey123", "mypassphrase99", "l6Fr6MPNUinskcZO75drnG"):
        assert secret not in text
    assert "ACCESS-TIMESTAMP: 1700000000000" in text
    assert text.endswith("{}")
    assert text.count("\r\n") == req.count(b"\r\n")


def test_classic_venue_order_body_is_exact() -> None:
    v = ClassicVenue("PAWSUSDT", "PAWS")
    call = v.order_call("1234.56", "snipe-1")
    assert call.method == "POST" and call.path == "/api/v2/spot/trade/place-order"
    assert call.body == (
        b'{"symbol":"PAWSUSDT","side":"sell","orderType":"market","force":"gtc",'
        b'"size":"1234.56","clientOid":"snipe-1"}'
    )
    assert (
        v.order_info_call("snp-x").path_with_query == "/api/v2/spot/trade/orderInfo?clientOid=snp-x"
    )
    assert v.symbol_call().path_with_query == "/api/v2/spot/public/symbols?symbol=PAWSUSDT"
    assert v.ws_subscribe() == (
        b'{"op":"subscribe","args":[{"instType":"SPOT","channel":"ticker","instId":"PAWSUSDT"}]}'
    )


def test_classic_venue_parses_symbol_rows() -> None:
    v = ClassicVenue("PAWSUSDT", "PAWS")
    gray = parse_envelope(
        200,
        b'{"code":"00000","msg":"success","data":[{"symbol":"PAWSUSDT","status":"gray",'
        b'"openTime":"1751623200000","quantityPrecision":"2","minTradeUSDT":"1"}]}',
    )
    s = v.parse_symbol(gray)
    assert (s.status, s.open_time_ms, s.quantity_precision) == ("gray", 1751623200000, 2)
    no_time = parse_envelope(
        200, b'{"code":"00000","data":[{"symbol":"PAWSUSDT","status":"gray","openTime":""}]}'
    )
    assert v.parse_symbol(no_time).open_time_ms is None
    absent = parse_envelope(400, b'{"code":"40034","msg":"Parameter PAWSUSDT does not exist"}')
    assert v.parse_symbol(absent).status == "absent"
    assert v.parse_symbol(parse_envelope(200, b'{"code":"00000","data":[]}')).status == "absent"
    with pytest.raises(ValueError):
        v.parse_symbol(parse_envelope(429, b'{"code":"429","msg":"Too Many Requests"}'))


def test_classic_venue_parses_balances_orders_and_events() -> None:
    v = ClassicVenue("PAWSUSDT", "PAWS")
    assert v.parse_available([{"coin": "paws", "available": "12.50"}]) == Decimal("12.50")
    assert v.parse_available([]) == 0
    info = parse_envelope(
        200,
        b'{"code":"00000","data":[{"orderId":"1","clientOid":"c",'
        b'"status":"filled","size":"5","baseVolume":"5","priceAvg":"0.1",'
        b'"quoteVolume":"0.5"}]}',
    )
    state = v.parse_order_info(info)
    assert state is not None and state.order_id == "1" and state.status == "filled"
    assert v.parse_order_info(parse_envelope(400, b'{"code":"43001","msg":"no"}')) is None
    assert v.parse_order_info(parse_envelope(200, b'{"code":"00000","data":[]}')) is None
    assert v.parse_order_ack({"orderId": "9", "clientOid": "c"}) == "9"
    arg = {"instType": "SPOT", "channel": "ticker", "instId": "PAWSUSDT"}
    assert v.ws_event({"event": "subscribe", "arg": arg}) == "subscribed"
    assert v.ws_event({"event": "error", "arg": arg, "code": 30001}) == "unknown-symbol"
    assert v.ws_event({"event": "error", "arg": arg, "code": "30001"}) == "unknown-symbol"
    assert v.ws_event({"event": "error", "code": 30007}) == "error"
    other = {**arg, "instId": "PAWSUSDTX"}
    assert v.ws_event({"event": "subscribe", "arg": other}) == "other"


def test_parse_envelope_never_raises() -> None:
    env = parse_envelope(502, b"<html>Bad gateway</html>")
    assert env.code is None and "Bad gateway" in env.msg
    env = parse_envelope(200, b'{"code":"00000","message":"success","data":{"serverTime":"1"}}')
    assert env.ok and env.msg == "success"
    assert parse_envelope(200, b"[1,2]").code is None
