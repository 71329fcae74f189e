"""REST conformance: envelopes, lifecycle, order validation and fills, v3, limits (§4-§6)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest

from sniper.exchange import EmbeddedExchange

Api = Any
ExchangeFactory = Any

SYMBOL_FIELDS = {
    "symbol",
    "baseCoin",
    "quoteCoin",
    "minTradeAmount",
    "maxTradeAmount",
    "takerFeeRate",
    "makerFeeRate",
    "pricePrecision",
    "quantityPrecision",
    "quotePrecision",
    "minTradeUSDT",
    "status",
    "buyLimitPriceRatio",
    "sellLimitPriceRatio",
    "orderQuantity",
    "areaSymbol",
    "openTime",
    "offTime",
}


async def test_time_and_envelope(api: Api) -> None:
    status, body = await api.public("/api/v2/public/time")
    assert status == 200
    assert body["code"] == "00000" and body["msg"] == "success"
    assert isinstance(body["requestTime"], int)
    assert abs(int(body["data"]["serverTime"]) - api.ex.server_time_ms()) < 1000


async def test_unknown_path_is_a_404_envelope(api: Api) -> None:
    status, body = await api.public("/api/v2/spot/nope")
    assert status == 404
    assert body["code"] == "40404" and body["data"] is None


async def test_symbols_rows_and_unknown_symbol(api: Api) -> None:
    status, body = await api.public("/api/v2/spot/public/symbols")
    assert status == 200
    (row,) = body["data"]
    assert set(row) >= SYMBOL_FIELDS
    assert row["status"] == "online" and row["quantityPrecision"] == "6"
    assert all(isinstance(v, str) for v in row.values())
    status, body = await api.public("/api/v2/spot/public/symbols?symbol=NOPEUSDT")
    assert (status, body["code"]) == (400, "40034")
    assert body["msg"] == "Parameter NOPEUSDT does not exist"
    assert body["data"] is None


async def test_listing_lifecycle_absent_gray_online(api: Api) -> None:
    ex = api.ex
    open_at = ex.server_time_ms() + 400
    await ex.list_symbol("PAWSUSDT", open_at_ms=open_at, price="0.0123", quantity_precision=2)
    status, body = await api.public("/api/v2/spot/public/symbols?symbol=PAWSUSDT")
    assert body["data"][0]["status"] == "gray"
    assert body["data"][0]["openTime"] == str(open_at)
    status, body = await api.sell("PAWSUSDT", "100")
    assert (status, body["code"]) == (400, "43115")
    assert "opening soon" in body["msg"]
    # tickers: no market yet
    _, body = await api.public("/api/v2/spot/market/tickers?symbol=PAWSUSDT")
    assert body["data"] == []
    await asyncio.sleep((open_at - ex.server_time_ms()) / 1000 + 0.05)
    _, body = await api.public("/api/v2/spot/public/symbols?symbol=PAWSUSDT")
    assert body["data"][0]["status"] == "online"
    _, body = await api.public("/api/v2/spot/market/tickers?symbol=PAWSUSDT")
    assert body["data"][0]["lastPr"] == "0.0123"
    status, body = await api.sell("PAWSUSDT", "100", client_oid="c1")
    assert (status, body["code"]) == (200, "00000")
    order_id = body["data"]["orderId"]
    assert body["data"]["clientOid"] == "c1"
    # 100 * 0.0123 = 1.23 USDT, minus 0.1 % fee
    assert ex.balance(api.KEY, "PAWS") == Decimal("900")
    assert ex.balance(api.KEY, "USDT") == Decimal("50") + Decimal("1.23") * Decimal("0.999")
    for query in (f"orderId={order_id}", "clientOid=c1"):
        status, body = await api.private("GET", f"/api/v2/spot/trade/orderInfo?{query}")
        assert status == 200
        (info,) = body["data"]
        assert info["status"] == "filled" and info["orderId"] == order_id
        assert info["priceAvg"] == "0.0123" and info["baseVolume"] == "100"
        assert info["quoteVolume"] == "1.23" and info["size"] == "100"
        assert isinstance(info["feeDetail"], str)


async def test_list_without_gray_stays_absent_until_open(api: Api) -> None:
    ex = api.ex
    await ex.list_symbol("NEWUSDT", open_at_ms=None, gray=False, price="2")
    _, body = await api.public("/api/v2/spot/public/symbols?symbol=NEWUSDT")
    assert body["code"] == "40034"
    await ex.list_symbol("HIDUSDT", open_at_ms=None, announce_open_time=False)
    _, body = await api.public("/api/v2/spot/public/symbols?symbol=HIDUSDT")
    assert body["data"][0]["openTime"] == "" and body["data"][0]["status"] == "gray"
    ex.open_symbol("NEWUSDT")
    _, body = await api.public("/api/v2/spot/public/symbols?symbol=NEWUSDT")
    assert body["data"][0]["status"] == "online"
    assert body["data"][0]["openTime"] != ""


async def test_order_validation_order_and_messages(api: Api) -> None:
    api.ex.settings.duplicate_scope = "any"  # the duplicate code of a filled order
    ex = api.ex
    ex.add_symbol("PAWSUSDT", price="0.0123", quantity_precision=2, min_trade_usdt="1")
    cases: list[tuple[dict[str, Any] | str, str, str]] = [
        ("not json", "40020", "Parameter body error"),
        ({"side": "sell", "orderType": "market", "size": "1"}, "40019", "symbol"),
        ({"symbol": "PAWSUSDT", "side": "hold", "orderType": "market", "size": "1"}, "40020", ""),
        ({"symbol": "PAWSUSDT", "side": "sell", "orderType": "market", "size": "-1"}, "40020", ""),
        ({"symbol": "NOPEUSDT", "side": "sell", "orderType": "market", "size": "1"}, "40034", ""),
        (
            {"symbol": "PAWSUSDT", "side": "sell", "orderType": "market", "size": "2293.577"},
            "40808",
            "Parameter verification exception size checkBDScale error value=2293.577 checkScale=2",
        ),
        (
            {"symbol": "PAWSUSDT", "side": "sell", "orderType": "market", "size": "10"},
            "45110",
            "less than the minimum amount 1 USDT",
        ),
        (
            {"symbol": "PAWSUSDT", "side": "sell", "orderType": "market", "size": "5000"},
            "43012",
            "Insufficient balance",
        ),
    ]
    for body, code, msg in cases:
        status, reply = await api.private("POST", "/api/v2/spot/trade/place-order", body)
        assert (status, reply["code"]) == (400, code), body
        assert msg in reply["msg"]
    status, reply = await api.sell("PAWSUSDT", "100.50", client_oid="dup")  # trailing zero ok
    assert reply["code"] == "00000"
    status, reply = await api.sell("PAWSUSDT", "100", client_oid="dup")
    assert (status, reply["code"], reply["msg"]) == (400, "43118", "clientOrderId duplicate")
    ex.set_symbol_status("PAWSUSDT", "halt")
    status, reply = await api.sell("PAWSUSDT", "100", client_oid="h")
    assert reply["code"] == "41114"
    accepted = [o for o in ex.records.orders if o.accepted]
    assert len(accepted) == 1 and accepted[0].client_oid == "dup"
    assert len(ex.records.orders) == len(cases) + 3


async def test_validation_codes_are_settings(make_exchange: ExchangeFactory, api_for: Any) -> None:
    async with make_exchange(
        duplicate_scope="any",
        unknown_symbol_code="40102",
        not_open_code="43119",
        duplicate_code="40786",
    ) as ex:
        api = api_for(ex)
        await ex.list_symbol("PAWSUSDT", open_at_ms=None, price="1", quantity_precision=2)
        assert (await api.sell("NOPEUSDT", "5"))[1]["code"] == "40102"
        # public endpoints keep the observed 40034
        _, body = await api.public("/api/v2/spot/public/symbols?symbol=NOPEUSDT")
        assert body["code"] == "40034"
        assert (await api.sell("PAWSUSDT", "5"))[1]["code"] == "43119"
        ex.open_symbol("PAWSUSDT")
        assert (await api.sell("PAWSUSDT", "5", client_oid="a"))[1]["code"] == "00000"
        assert (await api.sell("PAWSUSDT", "5", client_oid="a"))[1]["code"] == "40786"


async def test_market_buy_and_limit_orders(api: Api) -> None:
    ex = api.ex
    ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2, price_precision=4)
    buy = {"symbol": "PAWSUSDT", "side": "buy", "orderType": "market", "size": "10"}
    _, reply = await api.private("POST", "/api/v2/spot/trade/place-order", buy)
    assert reply["code"] == "00000"
    assert ex.balance(api.KEY, "USDT") == Decimal("40")
    assert ex.balance(api.KEY, "PAWS") == Decimal("1000") + Decimal("20") * Decimal("0.999")
    resting = {
        "symbol": "PAWSUSDT",
        "side": "sell",
        "orderType": "limit",
        "force": "gtc",
        "price": "0.9",
        "size": "10",
    }
    _, reply = await api.private("POST", "/api/v2/spot/trade/place-order", resting)
    oid = reply["data"]["orderId"]
    _, info = await api.private("GET", f"/api/v2/spot/trade/orderInfo?orderId={oid}")
    assert info["data"][0]["status"] == "live"
    _, assets = await api.private("GET", "/api/v2/spot/account/assets?coin=PAWS")
    assert Decimal(assets["data"][0]["frozen"]) == Decimal("10")
    no_price = {**resting, "price": ""}
    _, reply = await api.private("POST", "/api/v2/spot/trade/place-order", no_price)
    assert reply["code"] == "40019"
    bad_price = {**resting, "price": "0.12345"}
    _, reply = await api.private("POST", "/api/v2/spot/trade/place-order", bad_price)
    assert reply["code"] == "41103"


async def test_order_info_unknown_and_foreign(api: Api) -> None:
    status, body = await api.private("GET", "/api/v2/spot/trade/orderInfo?orderId=123")
    assert (status, body["code"]) == (400, "43001")
    status, body = await api.private("GET", "/api/v2/spot/trade/orderInfo")
    assert body["code"] == "40019"


async def test_assets_shape(api: Api) -> None:
    _, body = await api.private("GET", "/api/v2/spot/account/assets")
    coins = {row["coin"]: row for row in body["data"]}
    assert set(coins) == {"PAWS", "USDT"}
    assert coins["USDT"]["available"] == "50.0000000000000000"
    assert set(coins["USDT"]) == {
        "coin",
        "available",
        "frozen",
        "locked",
        "limitAvailable",
        "uTime",
    }
    _, body = await api.private("GET", "/api/v2/spot/account/assets?coin=BTC")
    assert body["data"][0]["available"] == "0.0000000000000000"


async def test_v3_instruments_tickers_and_orders(api: Api) -> None:
    api.ex.settings.duplicate_scope = "any"  # the duplicate code of a filled order
    ex = api.ex
    await ex.list_symbol("PAWSUSDT", open_at_ms=None, price="0.0123", quantity_precision=2)
    status, body = await api.public("/api/v3/market/instruments?category=SPOT&symbol=PAWSUSDT")
    (row,) = body["data"]
    # §5.11: no openTime on v3; launchTime "0" while not announced; limitOpenTime is no open
    assert row["status"] == "listed" and row["limitOpenTime"] == "" and "openTime" not in row
    assert row["launchTime"] == "0"
    assert row["minOrderAmount"] == "1" and row["quantityPrecision"] == "2"
    status, body = await api.public("/api/v3/market/instruments")
    assert (status, body["code"]) == (400, "40019")
    status, body = await api.public("/api/v3/market/instruments?category=SPOT&symbol=NOPEUSDT")
    assert (status, body["code"]) == (400, "25100")
    status, body = await api.sell_v3("PAWSUSDT", "100")
    assert (body["code"], body["msg"]) == ("25101", "Trading pair not open for trading")
    ex.open_symbol("PAWSUSDT")
    _, body = await api.public("/api/v3/market/instruments?category=SPOT&symbol=PAWSUSDT")
    assert body["data"][0]["status"] == "online"
    _, body = await api.public("/api/v3/market/tickers?category=SPOT&symbol=PAWSUSDT")
    assert body["data"][0]["lastPrice"] == "0.0123"
    status, body = await api.sell_v3("PAWSUSDT", "100", client_oid="u1")
    assert (status, body["code"]) == (200, "00000")
    status, body = await api.sell_v3("PAWSUSDT", "100", client_oid="u1")
    assert body["code"] == "25212"
    status, body = await api.sell_v3("PAWSUSDT", "100000")
    assert body["code"] == "25202"
    status, body = await api.private(
        "GET", "/api/v3/trade/order-info?clientOid=u1", key=api.UTA_KEY
    )
    info = body["data"]
    assert info["orderStatus"] == "filled" and info["cumExecQty"] == "100"
    assert info["avgPrice"] == "0.0123"
    status, body = await api.private("GET", "/api/v3/trade/order-info?orderId=1", key=api.UTA_KEY)
    assert body["code"] == "25204"
    _, body = await api.private("GET", "/api/v3/account/assets", key=api.UTA_KEY)
    coins = {a["coin"]: a for a in body["data"]["assets"]}
    assert coins["PAWS"]["available"] == "900"
    # classic place-order on v3 -> 40084, UTA on v2 -> 40085
    assert (await api.sell_v3("PAWSUSDT", "100", key=api.KEY))[1]["code"] == "40084"
    assert (await api.sell("PAWSUSDT", "100", key=api.UTA_KEY))[1]["code"] == "40085"


async def test_rate_limit_429_and_header(make_exchange: ExchangeFactory, api_for: Any) -> None:
    seen = []
    async with make_exchange(rate_limits=True) as ex:
        for _ in range(40):  # 20 burst + 20/s refill: runs out unless 40 take > 1 s
            async with api_for(ex).session.get(ex.rest_url + "/api/v2/public/time") as r:
                seen.append((r.status, r.headers.get("x-mbx-used-remain-limit"), await r.json()))
    assert seen[0][0] == 200 and seen[0][1] == "19"
    limited = [s for s in seen if s[0] == 429]
    assert limited, "20/s bucket never ran out"
    _, remain, body = limited[0]
    assert body["code"] == "429" and body["msg"] == "Too Many Requests" and body["data"] is None
    assert remain == "0"


async def test_private_rate_limit_is_per_key(make_exchange: ExchangeFactory, api_for: Any) -> None:
    async with make_exchange(rate_limits=True) as ex:
        await _private_rate_limit_is_per_key(api_for(ex))


async def _private_rate_limit_is_per_key(api: Api) -> None:
    ex = api.ex
    ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
    codes = [(await api.sell("PAWSUSDT", "1"))[1]["code"] for _ in range(30)]
    assert codes[:10] == ["00000"] * 10 and "429" in codes[10:]
    # another key still has its own bucket
    ex.add_account(type(ex.account(api.KEY))("k2", api.SECRET, "p", balances={"PAWS": "5"}))
    assert (await api.sell("PAWSUSDT", "1", key="k2", passphrase="p"))[1]["code"] == "00000"


async def test_rate_limits_off_and_overrides(make_exchange: ExchangeFactory, api_for: Any) -> None:
    async with make_exchange(rate_limits=False) as ex:
        api = api_for(ex)
        statuses = {(await api.public("/api/v2/public/time"))[0] for _ in range(30)}
        assert statuses == {200}
        assert (await api.public("/api/v2/public/time"))[1]["code"] == "00000"
    async with make_exchange(rate_limits={"/api/v2/public/time": 1}) as ex:
        api = api_for(ex)
        statuses = [(await api.public("/api/v2/public/time"))[0] for _ in range(2)]
        assert statuses == [200, 429]
        assert (await api.public("/api/v2/spot/public/symbols"))[0] == 200


async def test_keep_alive_and_pipelining(ex: EmbeddedExchange) -> None:
    """Two raw requests written in one segment on one connection get two answers in order."""
    reader, writer = await asyncio.open_connection("127.0.0.1", ex.port)
    try:
        req = b"GET /api/v2/public/time HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
        req2 = b"GET /api/v2/spot/public/symbols?symbol=BTCUSDT HTTP/1.1\r\nHost: x\r\n\r\n"
        writer.write(req + req2)
        await writer.drain()
        bodies = []
        for _ in range(2):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            assert head.startswith(b"HTTP/1.1 200")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            bodies.append(json.loads(await reader.readexactly(length)))
        assert "serverTime" in bodies[0]["data"]
        assert bodies[1]["data"][0]["symbol"] == "BTCUSDT"
        # the same connection is still usable
        writer.write(req)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert head.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
        await writer.wait_closed()
    first, second = ex.records.requests[0], ex.records.requests[1]
    assert first.first_byte_ns == second.first_byte_ns  # same segment, same stamp
    assert ex.records.requests[2].first_byte_ns > first.first_byte_ns


@pytest.mark.parametrize("path", ["/api/v2/spot/public/symbols", "/api/v3/market/instruments"])
async def test_request_records(api: Api, path: str) -> None:
    await api.public(path + "?category=SPOT")
    rec = api.ex.records.requests[-1]
    assert rec.method == "GET" and rec.path == path and rec.query == "category=SPOT"
    assert rec.status == 200 and rec.code == "00000"


DEEP = "[" * 100_000 + "]" * 100_000  # json.loads raises RecursionError, not ValueError


@pytest.mark.parametrize("v3", [False, True], ids=["v2", "v3"])
async def test_deeply_nested_order_body_is_a_parameter_error(api: Api, v3: bool) -> None:
    path = "/api/v3/trade/place-order" if v3 else "/api/v2/spot/trade/place-order"
    key = {"key": api.UTA_KEY} if v3 else {}
    status, reply = await api.private("POST", path, DEEP, **key)
    assert (status, reply["code"]) == (400, "40020") and reply["data"] is None
    # refused before the matching engine (bad signature): also an envelope, also recorded
    status, reply = await api.private("POST", path, DEEP, secret="wrong", **key)
    assert (status, reply["code"]) == (400, "40009")
    assert [(o.code, o.accepted, o.symbol) for o in api.ex.records.orders] == [
        ("40020", False, ""),
        ("40009", False, ""),
    ]
    assert [r.code for r in api.ex.records.requests] == ["40020", "40009"]
