"""The floor (MIN_PRICE / FLOOR_TIF): configuration, the limit order's exact body on both API
generations, the price formatted to pricePrecision (rounded up), the price-band check; a
partial fill's report and exit code."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from sniper.config import load_config
from sniper.errors import ConfigError
from sniper.live.order import band_warning, floor_price, lowest_band_price
from sniper.live.preflight import Readiness, floor_check, market_cap_check
from sniper.live.report import EXIT_PARTIAL, RunResult, write_result
from sniper.live.venue import ClassicVenue, OrderState, SymbolState, UtaVenue

ENV = {
    "BITGET_API_KEY": "k" * 12,
    "BITGET_SECRET_KEY": "s" * 12,
    "BITGET_PASSPHRASE": "p" * 8,
    "TARGET_TOKEN": "PAWSUSDT",
    "COIN_AMOUNT": "1000",
}


def config(**over: str):  # type: ignore[no-untyped-def]
    return load_config(environ={**ENV, **over})


# --- configuration -----------------------------------------------------------------------------
def test_no_floor_by_default() -> None:
    cfg = config()
    assert cfg.min_price is None and cfg.floor_tif == "gtc"


@pytest.mark.parametrize("raw", ["0.0123", "12", "0.00000001", " 0.5 "])
def test_min_price_kept_exactly(raw: str) -> None:
    assert config(MIN_PRICE=raw).min_price == raw.strip()


@pytest.mark.parametrize("raw", ["0", "0.000", "-1", "1e-3", "abc", "nan", "inf", "1,5"])
def test_bad_min_price_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        config(MIN_PRICE=raw)
    assert info.value.variable == "MIN_PRICE" and info.value.exit_code == 2


def test_floor_tif() -> None:
    assert config(MIN_PRICE="1", FLOOR_TIF="IOC").floor_tif == "ioc"
    with pytest.raises(ConfigError) as info:
        config(MIN_PRICE="1", FLOOR_TIF="fok")
    assert info.value.variable == "FLOOR_TIF"


# --- the order ---------------------------------------------------------------------------------
def test_v2_limit_body_is_exact() -> None:
    call = ClassicVenue("PAWSUSDT", "PAWS").order_call("1000", "snp-1", price="0.5", tif="ioc")
    assert call.path == "/api/v2/spot/trade/place-order"
    assert call.body == (
        b'{"symbol":"PAWSUSDT","side":"sell","orderType":"limit","price":"0.5","force":"ioc",'
        b'"size":"1000","clientOid":"snp-1"}'
    )


def test_v3_limit_body_is_exact() -> None:
    call = UtaVenue("PAWSUSDT", "PAWS").order_call("1000", "snp-1", price="0.5", tif="gtc")
    assert call.path == "/api/v3/trade/place-order"
    assert call.body == (
        b'{"category":"SPOT","symbol":"PAWSUSDT","side":"sell","orderType":"limit",'
        b'"price":"0.5","timeInForce":"gtc","qty":"1000","clientOid":"snp-1"}'
    )


def test_market_body_unchanged_without_a_price() -> None:
    body = json.loads(ClassicVenue("PAWSUSDT", "PAWS").order_call("1", "x").body)
    assert body["orderType"] == "market" and "price" not in body


@pytest.mark.parametrize(
    ("floor", "precision", "sent", "warned"),
    [
        ("0.5", 4, "0.5", False),
        ("0.50001", 4, "0.5001", True),  # up: never below the floor
        ("0.12349", 4, "0.1235", True),
        ("0.12341", 4, "0.1235", True),
        ("3", 0, "3", False),
        ("2.1", 0, "3", True),
        ("0.123456789", None, "0.123456789", False),  # precision not known yet: as given
    ],
)
def test_floor_price_rounds_up_to_the_precision(
    floor: str, precision: int | None, sent: str, warned: bool
) -> None:
    price, warning = floor_price(floor, precision)
    assert price == sent and (warning is not None) == warned
    assert D(price) >= D(floor)


def test_band() -> None:
    # ratio reading: 1 x (1 - 0.99) = 0.01; divide reading: 1 / 1.99 ≈ 0.5025 (stricter)
    assert lowest_band_price(D("1"), D("0.99")) == D("1") / D("1.99")
    assert band_warning("0.6", D("1"), D("0.99"), "USDT") is None
    warning = band_warning("0.4", D("1"), D("0.99"), "USDT")
    assert warning is not None and "40808" in warning and "raise MIN_PRICE" in warning
    assert band_warning("0.4", None, D("0.99"), "USDT") is None  # no price yet: not checkable
    assert band_warning("0.4", D("1"), None, "USDT") is None


def readiness(**over: str) -> Readiness:
    cfg = config(**over)
    return Readiness(config=cfg, venue=ClassicVenue(cfg.target, cfg.base_coin))


def test_floor_check_verdicts() -> None:
    assert floor_check(readiness()).verdict == "none"
    sym = SymbolState("gray", price_precision=4, sell_limit_price_ratio=D("0.99"))
    r = readiness(MIN_PRICE="0.6")
    assert floor_check(r).verdict == "unknown"  # no last price, no band yet
    from dataclasses import replace

    r = replace(r, symbol=sym, last_price=D("1"))
    check = floor_check(r)
    assert check.verdict == "ok" and "limit sell at 0.6 USDT (gtc" in check.short
    assert floor_check(replace(r, config=config(MIN_PRICE="0.3"))).verdict == "below"
    rounded = floor_check(replace(r, config=config(MIN_PRICE="0.600001")))
    assert rounded.verdict == "rounded" and "0.6001" in rounded.short


def test_a_limit_order_has_no_market_cap() -> None:
    from dataclasses import replace

    r = replace(
        readiness(MIN_PRICE="0.5"),
        symbol=SymbolState("gray", max_market_order_qty=D("10"), quantity_precision=2),
        available=D("1000"),
    )
    assert market_cap_check(r, None).verdict == "none"
    r = replace(r, config=config())
    assert market_cap_check(r, None).verdict == "over"


# --- partial fills -------------------------------------------------------------------------------
def result(status: str, filled: str, *, floor: str | None = "0.5") -> RunResult:
    fill = OrderState("1", "snp-1", status, "1000", filled, "330", "0.55")
    return RunResult(
        client_oid="snp-1",
        channel="ws",
        order_id="1",
        size="1000",
        detect_ns=1,
        written_ns=2,
        fill=fill,
        floor_price=floor,
        floor_tif="gtc" if floor else None,
    )


def test_all_sold_is_exit_0() -> None:
    r = result("filled", "1000.00")
    assert not r.partial and r.exit_code == 0 and r.rest is None
    assert r.remaining_qty == 0


def test_partly_sold_resting_is_exit_5() -> None:
    r = result("partially_filled", "600")
    assert r.partial and r.exit_code == EXIT_PARTIAL == 5
    assert (r.filled_qty, r.remaining_qty) == (D("600"), D("400"))
    assert r.rest == "is resting at the floor 0.5"
    doc = r.as_dict()
    assert doc["filled_qty"] == "600" and doc["remaining_qty"] == "400" and doc["exit_code"] == 5


def test_partly_sold_cancelled_is_exit_5() -> None:
    r = result("cancelled", "600", floor=None)
    assert r.partial and r.exit_code == 5 and r.rest == "was cancelled"


def test_no_fill_report_is_no_partial() -> None:
    r = result("filled", "1000")
    r.fill = None
    assert not r.partial and r.exit_code == 0


def test_partial_text_and_json() -> None:
    import io

    out = io.StringIO()
    write_result(result("partially_filled", "600"), out, json_output=False)
    text = out.getvalue()
    assert text.startswith("PARTLY SOLD: orderId 1")
    assert "filled 600 of 1000 · remainder 400 (is resting at the floor 0.5)" in text
    assert "average price 0.55 · quote received 330" in text and "exit code 5" in text
    out = io.StringIO()
    write_result(result("partially_filled", "600"), out, json_output=True)
    doc = json.loads(out.getvalue())
    assert doc["event"] == "partial" and doc["rest"] == "is resting at the floor 0.5"
