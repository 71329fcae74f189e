"""The listing-day model of the embedded exchange (sniper/exchange/book.py, issue 13 item 7).

A book of bids at the open that sells walk (partial fills, bitget-api.md §10.6/§10.10), limit
sells with gtc / ioc / fok / post_only (§5.6 ``force``, §5.10 ``timeInForce``), the price band
(§5.1 ``sellLimitPriceRatio``, §6 40808 ``delegatePrice``), the price scale (§6 41103), the
market-order cap with a book (§5.11 45113), market orders refused for N s after the open
(§10.10 [UNCERTAIN]), the call-auction window (§10.4 [UNCERTAIN]), the private pushes of
partial fills (§7.4), and: with the model off, nothing changes.

Real REST and WebSocket on 127.0.0.1, both account generations (v2 classic key, v3 UTA key).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from sniper.exchange import EmbeddedExchange, ExchangeSettings, Symbol

Api = Any
ExchangeFactory = Any
Ws = aiohttp.ClientWebSocketResponse
D = Decimal
VERSIONS = pytest.mark.parametrize("version", ["v2", "v3"])
BIDS = [("0.5", "100"), ("0.45", "200"), ("0.3", "300")]  # 600 PAWS bid in all


# --- helpers ------------------------------------------------------------------------------


def paws(ex: EmbeddedExchange, *, bids: list[tuple[str, str]] | None = BIDS, **kw: Any) -> Symbol:
    """PAWSUSDT online at 0.5 (2 quantity decimals, 4 price decimals), with ``bids``."""
    sym = ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2, price_precision=4, **kw)
    if bids is not None:
        ex.state.set_book("PAWSUSDT", bids)
    return sym


def key_of(api: Api, version: str) -> str:
    return str(api.KEY if version == "v2" else api.UTA_KEY)


async def place(
    api: Api,
    version: str,
    size: str,
    *,
    price: str | None = None,
    force: str | None = None,
    side: str = "sell",
    client_oid: str | None = None,
    symbol: str = "PAWSUSDT",
) -> dict[str, Any]:
    """A place-order on v2 (``force``, ``size``) or v3 (``timeInForce``, ``qty``): the reply."""
    body: dict[str, Any] = {
        "symbol": symbol,
        "side": side,
        "orderType": "market" if price is None else "limit",
    }
    if price is not None:
        body["price"] = price
    if client_oid is not None:
        body["clientOid"] = client_oid
    if version == "v2":
        body.update(size=size, force=force or "gtc")
        _, reply = await api.private("POST", "/api/v2/spot/trade/place-order", body)
    else:
        body.update(category="SPOT", qty=size)
        if force is not None:
            body["timeInForce"] = force
        _, reply = await api.private("POST", "/api/v3/trade/place-order", body, key=api.UTA_KEY)
    return dict(reply)


async def accepted(api: Api, version: str, size: str, **kw: Any) -> str:
    reply = await place(api, version, size, **kw)
    assert reply["code"] == "00000", reply
    return str(reply["data"]["orderId"])


async def info(api: Api, version: str, order_id: str) -> dict[str, Any]:
    """The order as orderInfo (v2) / order-info (v3) shows it, in neutral names."""
    if version == "v2":
        _, reply = await api.private("GET", f"/api/v2/spot/trade/orderInfo?orderId={order_id}")
        row = reply["data"][0]
        return {
            "status": row["status"],
            "base": D(row["baseVolume"]),
            "quote": D(row["quoteVolume"]),
            "avg": D(row["priceAvg"]),
        }
    _, reply = await api.private(
        "GET", f"/api/v3/trade/order-info?orderId={order_id}", key=api.UTA_KEY
    )
    row = reply["data"]
    return {
        "status": row["orderStatus"],
        "base": D(row["cumExecQty"]),
        "quote": D(row["cumExecValue"]),
        "avg": D(row["avgPrice"]),
    }


def fills_of(ex: EmbeddedExchange, order_id: str) -> list[tuple[Decimal, Decimal]]:
    return [(f.price, f.base_qty) for f in ex.state.fills if f.order_id == order_id]


def balances(ex: EmbeddedExchange, key: str) -> tuple[Decimal, Decimal, Decimal]:
    """(PAWS available, PAWS frozen, USDT available)."""
    account = ex.account(key)
    return account.balance("PAWS"), account.frozen.get("PAWS", D(0)), account.balance("USDT")


def proceeds(*fills: tuple[str, str]) -> Decimal:
    """USDT received for fills (price, qty) after the 0.1 % taker fee."""
    return sum((D(p) * D(q) * D("0.999") for p, q in fills), D(0))


# --- private WebSocket helpers (§7.4) -----------------------------------------------------


@asynccontextmanager
async def private(api: Api, version: str) -> AsyncIterator[Ws]:
    """A logged-in private socket subscribed to the order and fill channels."""
    url = api.ex.ws_private_url if version == "v2" else api.ex.ws_private_url_v3
    ts = str(api.ex.server_time_ms() // 1000)
    login = {
        "apiKey": key_of(api, version),
        "passphrase": api.PASSPHRASE,
        "timestamp": ts,
        "sign": api.sign(api.SECRET, ts + "GET" + "/user/verify"),
    }
    if version == "v2":
        args = [
            {"instType": "SPOT", "channel": "orders", "instId": "default"},
            {"instType": "SPOT", "channel": "fill", "instId": "default"},
        ]
    else:
        args = [{"instType": "UTA", "topic": "order"}, {"instType": "UTA", "topic": "fill"}]
    async with api.session.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"op": "login", "args": [login]}))
        assert (await api.recv_json(ws, 5))["code"] == 0
        await ws.send_str(json.dumps({"op": "subscribe", "args": args}))
        for _ in args:
            assert (await api.recv_json(ws, 5))["event"] == "subscribe"
        yield ws


async def order_pushes(ws: Ws, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The next ``count`` frames, split into (order pushes' data, fill pushes' data)."""
    orders, fills = [], []
    for _ in range(count):
        msg = await ws.receive(timeout=5)
        frame = json.loads(msg.data)
        channel = frame["arg"].get("channel") or frame["arg"].get("topic")
        (orders if channel in ("orders", "order") else fills).append(frame["data"][0])
    return orders, fills


async def quiet(ws: Ws, wait: float = 0.3) -> None:
    with pytest.raises(asyncio.TimeoutError):
        msg = await ws.receive(timeout=wait)
        pytest.fail(f"unexpected frame {msg!r}")


def v2_pushed(data: dict[str, Any]) -> tuple[str, str, str]:
    return data["status"], data.get("baseVolume", ""), data["accBaseVolume"]


def v3_pushed(data: dict[str, Any]) -> tuple[str, str]:
    return data["orderStatus"], data["cumExecQty"]


# --- market sells walk the book -----------------------------------------------------------


@VERSIONS
async def test_market_sell_walks_the_bids_best_first_at_their_prices(
    api: Api, version: str
) -> None:
    ex = api.ex
    paws(ex)
    key = key_of(api, version)
    order_id = await accepted(api, version, "150")
    assert fills_of(ex, order_id) == [(D("0.5"), D("100")), (D("0.45"), D("50"))]
    got = await info(api, version, order_id)
    assert got == {
        "status": "filled",
        "base": D("150"),
        "quote": D("72.5"),
        "avg": D("72.5") / D("150"),
    }
    assert balances(ex, key) == (
        D("850"),
        D("0"),
        D("50") + proceeds(("0.5", "100"), ("0.45", "50")),
    )
    book = ex.state.symbols["PAWSUSDT"].bids
    assert book is not None and book.levels() == [(D("0.45"), D("150")), (D("0.3"), D("300"))]
    assert ex.state.symbols["PAWSUSDT"].price == D("0.45")  # the last trade
    assert {f.source for f in ex.state.fills} == {"book"}


@VERSIONS
@pytest.mark.parametrize("rest_status", ["cancelled", "filled", "partially_filled"])
async def test_market_sell_larger_than_the_book_executes_what_it_holds(
    make_exchange: ExchangeFactory, api_for: Any, version: str, rest_status: str
) -> None:
    """The rest is cancelled, not frozen; the final status is a setting ([UNCERTAIN])."""
    async with make_exchange(book_market_rest_status=rest_status) as ex:
        api = api_for(ex)
        paws(ex)
        key = key_of(api, version)
        order_id = await accepted(api, version, "700")
        assert fills_of(ex, order_id) == [(D(p), D(q)) for p, q in BIDS]
        got = await info(api, version, order_id)
        assert got["status"] == rest_status
        assert (got["base"], got["quote"]) == (D("600"), D("230"))
        assert got["avg"] == D("230") / D("600")
        assert balances(ex, key) == (D("400"), D("0"), D("50") + proceeds(*BIDS))
        assert ex.state.executed_qty(key, "PAWSUSDT") == D("600")
        book = ex.state.symbols["PAWSUSDT"].bids
        assert book is not None and book.levels() == [] and book.best() is None


@VERSIONS
async def test_market_sell_on_a_thin_book_refused_variant(
    make_exchange: ExchangeFactory, api_for: Any, version: str
) -> None:
    """``book_market_thin="reject"``: §5.11's 25209, nothing executed, the book untouched."""
    async with make_exchange(book_market_thin="reject") as ex:
        api = api_for(ex)
        paws(ex)
        reply = await place(api, version, "601")
        assert reply["code"] == "25209" and "liquidity" in reply["msg"]
        assert ex.state.fills == [] and balances(ex, key_of(api, version))[0] == D("1000")
        await accepted(api, version, "600")  # covered: walks the whole book


@VERSIONS
async def test_cap_applies_with_a_book(api: Api, version: str) -> None:
    """45113 (§5.11) before the book is touched: v2 by value at the current price, v3 by
    base quantity."""
    ex = api.ex
    paws(ex, max_market_order_value="40", max_market_order_qty="80")
    reply = await place(api, version, "100")  # v2: 100 x 0.5 = 50 > 40; v3: 100 > 80
    assert reply["code"] == "45113" and reply["msg"] == "Maximum order value limit triggered"
    assert ex.state.fills == []
    book = ex.state.symbols["PAWSUSDT"].bids
    assert book is not None and book.depth() == D("600")
    order_id = await accepted(api, version, "80")  # at the cap: accepted, walks the book
    assert sum(q for _, q in fills_of(ex, order_id)) == D("80")


# --- limit sells: gtc / ioc / fok / post_only ---------------------------------------------


@VERSIONS
async def test_limit_gtc_takes_the_bids_at_or_above_its_price_and_rests(
    api: Api, version: str
) -> None:
    ex = api.ex
    paws(ex)
    order_id = await accepted(api, version, "400", price="0.45", force="gtc")
    assert fills_of(ex, order_id) == [(D("0.5"), D("100")), (D("0.45"), D("200"))]
    assert all(f.price >= D("0.45") for f in ex.state.fills)  # never below the floor
    got = await info(api, version, order_id)
    assert got == {
        "status": "partially_filled",
        "base": D("300"),
        "quote": D("140"),
        "avg": D("140") / D("300"),
    }
    key = key_of(api, version)
    assert balances(ex, key) == (
        D("600"),
        D("100"),
        D("50") + proceeds(("0.5", "100"), ("0.45", "200")),
    )
    book = ex.state.symbols["PAWSUSDT"].bids
    assert book is not None and book.levels() == [(D("0.3"), D("300"))]
    # nothing at or above the price: rests `live`, nothing executed
    order_id = await accepted(api, version, "10", price="0.4", force="gtc")
    assert (await info(api, version, order_id))["status"] == "live"
    assert fills_of(ex, order_id) == []


@VERSIONS
async def test_limit_ioc_cancels_the_rest(api: Api, version: str) -> None:
    ex = api.ex
    paws(ex)
    order_id = await accepted(api, version, "400", price="0.45", force="ioc")
    assert fills_of(ex, order_id) == [(D("0.5"), D("100")), (D("0.45"), D("200"))]
    got = await info(api, version, order_id)
    assert (got["status"], got["base"]) == ("cancelled", D("300"))
    assert balances(ex, key_of(api, version))[:2] == (D("700"), D("0"))  # nothing frozen
    whole = await accepted(api, version, "100", price="0.3", force="ioc")
    assert (await info(api, version, whole))["status"] == "filled"


@VERSIONS
async def test_limit_fok_is_all_or_nothing(api: Api, version: str) -> None:
    ex = api.ex
    paws(ex)
    order_id = await accepted(api, version, "301", price="0.45", force="fok")
    got = await info(api, version, order_id)
    assert (got["status"], got["base"]) == ("cancelled", D("0"))
    assert ex.state.fills == [] and balances(ex, key_of(api, version))[:2] == (D("1000"), D("0"))
    book = ex.state.symbols["PAWSUSDT"].bids
    assert book is not None and book.depth() == D("600")
    order_id = await accepted(api, version, "300", price="0.45", force="fok")
    assert (await info(api, version, order_id))["status"] == "filled"
    assert fills_of(ex, order_id) == [(D("0.5"), D("100")), (D("0.45"), D("200"))]


@VERSIONS
async def test_limit_post_only(api: Api, version: str) -> None:
    """A post_only that would take: cancelled, nothing executed (default), or refused
    (``post_only_marketable="reject"``); one that would not: rests."""
    ex = api.ex
    paws(ex)
    order_id = await accepted(api, version, "10", price="0.5", force="post_only")
    got = await info(api, version, order_id)
    assert (got["status"], got["base"]) == ("cancelled", D("0"))
    resting = await accepted(api, version, "10", price="0.5001", force="post_only")
    assert (await info(api, version, resting))["status"] == "live"
    ex.settings.post_only_marketable = "reject"
    reply = await place(api, version, "10", price="0.5", force="post_only")
    assert reply["code"] == "40808"
    assert ex.state.fills == []


# --- price band and price scale -----------------------------------------------------------


@VERSIONS
async def test_price_band_ratio(api: Api, version: str) -> None:
    """sell below price x (1 - sellLimitPriceRatio): 40808 ``delegatePrice`` (ccxt#25150)."""
    ex = api.ex
    sym = paws(ex, bids=None)
    sym.sell_limit_price_ratio = "0.5"  # floor 0.25
    sym.buy_limit_price_ratio = "0.2"  # ceiling 0.6
    assert (await place(api, version, "100", price="0.01", force="gtc"))["code"] == "00000"  # off
    ex.settings.price_band = "ratio"
    reply = await place(api, version, "10", price="0.2499", force="gtc")
    assert (reply["code"], reply["msg"]) == (
        "40808",
        "Parameter verification exception delegatePrice",
    )
    assert (await place(api, version, "10", price="0.25", force="gtc"))["code"] == "00000"
    buy = await place(api, version, "10", price="0.6001", force="gtc", side="buy")
    assert buy["code"] == "40808"
    assert (await place(api, version, "10", price="0.6", force="gtc", side="buy"))[
        "code"
    ] == "00000"


@VERSIONS
async def test_price_band_divide_and_v3_code(
    make_exchange: ExchangeFactory, api_for: Any, version: str
) -> None:
    """The stricter reading: a sell below price / (1 + ratio); the v3 code is a setting."""
    async with make_exchange(price_band="divide", v3_price_band_code="25610") as ex:
        api = api_for(ex)
        sym = paws(ex, bids=None)
        sym.sell_limit_price_ratio = "0.5"  # floor 0.5 / 1.5 = 0.3333...
        reply = await place(api, version, "10", price="0.3333", force="gtc")
        assert reply["code"] == ("40808" if version == "v2" else "25610")
        assert (await place(api, version, "10", price="0.3334", force="gtc"))["code"] == "00000"


@VERSIONS
async def test_price_scale(api: Api, version: str) -> None:
    ex = api.ex
    paws(ex)
    reply = await place(api, version, "10", price="0.45001", force="gtc")
    assert (reply["code"], reply["msg"]) == ("41103", "param price scale error error")
    ex.settings.v3_price_scale_code = "25610"
    reply = await place(api, version, "10", price="0.45001", force="gtc")
    assert reply["code"] == ("41103" if version == "v2" else "25610")
    assert ex.state.fills == []


# --- market orders refused after the open -------------------------------------------------


@VERSIONS
async def test_market_orders_refused_for_n_seconds_after_the_open(
    make_exchange: ExchangeFactory, api_for: Any, version: str
) -> None:
    async with make_exchange(market_orders_refused_for_s=0.6) as ex:
        api = api_for(ex)
        await ex.list_symbol("PAWSUSDT", price="0.5", quantity_precision=2, price_precision=4)
        ex.state.set_book("PAWSUSDT", BIDS)
        ex.open_symbol("PAWSUSDT")
        opened_ms = ex.server_time_ms()
        reply = await place(api, version, "100")
        if version == "v2":
            assert (reply["code"], reply["msg"]) == ("43119", "Trading is not open")
        else:
            assert reply["code"] == "25101"
        # a limit order is accepted meanwhile, and walks the book
        order_id = await accepted(api, version, "100", price="0.45", force="ioc")
        assert fills_of(ex, order_id) == [(D("0.5"), D("100"))]
        await asyncio.sleep(max(0.0, (opened_ms + 650 - ex.server_time_ms()) / 1000))
        order_id = await accepted(api, version, "100")
        assert fills_of(ex, order_id) == [(D("0.45"), D("100"))]


async def test_market_refused_code_and_message_are_settings(
    make_exchange: ExchangeFactory, api_for: Any
) -> None:
    async with make_exchange(
        market_orders_refused_for_s=30, market_refused_code="50030", market_refused_msg="later"
    ) as ex:
        api = api_for(ex)
        paws(ex)  # an online pair counts from when it was added
        reply = await place(api, "v2", "10")
        assert (reply["code"], reply["msg"]) == ("50030", "later")
        reply = await place(api, "v3", "10")
        assert reply["code"] == "25101"  # v3_market_refused_code


# --- the call auction ---------------------------------------------------------------------


@VERSIONS
async def test_call_auction_window(
    make_exchange: ExchangeFactory, api_for: Any, version: str
) -> None:
    """In the window: a market order gets the auction's answer, a limit waits ``live`` with
    its funds frozen; at the open the waiting orders execute at one clearing price."""
    async with make_exchange(auction_window_s=5) as ex:
        api = api_for(ex)
        key = key_of(api, version)
        open_at = ex.server_time_ms() + 1500
        await ex.list_symbol(
            "PAWSUSDT", open_at_ms=open_at, price="0.5", quantity_precision=2, price_precision=4
        )
        ex.state.set_book("PAWSUSDT", BIDS)
        reply = await place(api, version, "100")
        assert reply["code"] == ("43115" if version == "v2" else "25101")
        async with private(api, version) as ws:
            first = await accepted(api, version, "150", price="0.45", force="gtc")
            second = await accepted(api, version, "100", price="0.45", force="ioc")
            assert (await info(api, version, first))["status"] == "live"
            assert balances(ex, key)[:2] == (D("750"), D("250"))
            assert ex.state.fills == []
            live, _ = await order_pushes(ws, 2)
            assert [d.get("status", d.get("orderStatus")) for d in live] == ["live", "live"]
            await asyncio.sleep(max(0.0, (open_at - ex.server_time_ms()) / 1000))
            # first: 100 @ 0.5-level + 50 @ 0.45-level; second: 100 @ 0.45-level -> all at 0.45
            v2 = version == "v2"
            orders, fills = await order_pushes(ws, (5 if v2 else 3) + 3)
            await quiet(ws)
        assert fills_of(ex, first) == [(D("0.45"), D("100")), (D("0.45"), D("50"))]
        assert fills_of(ex, second) == [(D("0.45"), D("100"))]
        assert {f.source for f in ex.state.fills} == {"auction"}
        assert (await info(api, version, first))["status"] == "filled"
        assert (await info(api, version, second))["status"] == "filled"
        assert balances(ex, key)[:2] == (D("750"), D("0"))
        assert len(fills) == 3
        statuses = [d.get("status", d.get("orderStatus")) for d in orders]
        if v2:  # first: one partially_filled per fill, then filled; then second
            assert statuses == ["partially_filled"] * 2 + ["filled", "partially_filled", "filled"]
        else:  # the fill that completes an order is its `filled` push
            assert statuses == ["partially_filled", "filled", "filled"]


async def test_call_auction_settings(make_exchange: ExchangeFactory, api_for: Any) -> None:
    """Outside the window: the not-open code; which kinds the auction takes, and the code the
    others get, are settings."""
    async with make_exchange(
        auction_window_s=1, auction_accepts=("post_only", "market"), auction_refused_code="43120"
    ) as ex:
        api = api_for(ex)
        await ex.list_symbol(
            "PAWSUSDT", open_at_ms=ex.server_time_ms() + 60_000, price="0.5", quantity_precision=2
        )
        assert (await place(api, "v2", "10", price="0.5", force="post_only"))["code"] == "43115"
        ex.state.symbols["PAWSUSDT"].open_at_ms = ex.server_time_ms() + 500  # window now
        assert (await place(api, "v2", "10", price="0.5", force="gtc"))["code"] == "43120"
        assert (await place(api, "v2", "10", price="0.5", force="post_only"))["code"] == "00000"
        assert (await place(api, "v2", "10"))["code"] == "00000"
    with pytest.raises(ValueError, match="auction_accepts"):
        ExchangeSettings(auction_accepts=("stop",))


# --- private pushes of partial fills ------------------------------------------------------


@VERSIONS
async def test_private_pushes_one_per_fill_then_final(api: Api, version: str) -> None:
    ex = api.ex
    paws(ex)
    async with private(api, version) as ws:
        await accepted(api, version, "700")  # 600 executed in 3 fills, the rest cancelled
        if version == "v2":
            orders, fills = await order_pushes(ws, 5 + 3)
            assert [v2_pushed(d) for d in orders] == [
                ("live", "", "0.00"),
                ("partially_filled", "100.00", "100.00"),
                ("partially_filled", "200.00", "300.00"),
                ("partially_filled", "300.00", "600.00"),
                ("cancelled", "300.00", "600.00"),
            ]
            assert [d["fillPrice"] for d in orders[1:4]] == ["0.5000", "0.4500", "0.3000"]
            assert [d["priceAvg"] for d in orders[1:4]] == ["0.5000", "0.4667", "0.3833"]
            assert [(d["priceAvg"], d["size"]) for d in fills] == [
                ("0.5000", "100.00"),
                ("0.4500", "200.00"),
                ("0.3000", "300.00"),
            ]
            assert len({d["tradeId"] for d in fills}) == 3
        else:
            orders, fills = await order_pushes(ws, 4 + 3)
            assert [v3_pushed(d) for d in orders] == [
                ("partially_filled", "100"),
                ("partially_filled", "300"),
                ("partially_filled", "600"),
                ("cancelled", "600"),
            ]
            assert [d["cumExecValue"] for d in orders] == ["50", "140", "230", "230"]
            assert [(d["execPrice"], d["execQty"]) for d in fills] == [
                ("0.5", "100"),
                ("0.45", "200"),
                ("0.3", "300"),
            ]
        await quiet(ws)


@VERSIONS
async def test_private_pushes_of_a_resting_partial_fill(api: Api, version: str) -> None:
    """gtc that takes two levels and rests: no final push (the order is still open)."""
    ex = api.ex
    paws(ex)
    ex.settings.ws_private_cancelled_status = "canceled"
    async with private(api, version) as ws:
        await accepted(api, version, "400", price="0.45", force="gtc")
        if version == "v2":
            orders, fills = await order_pushes(ws, 3 + 2)
            assert [v2_pushed(d) for d in orders] == [
                ("live", "", "0.00"),
                ("partially_filled", "100.00", "100.00"),
                ("partially_filled", "200.00", "300.00"),
            ]
        else:
            orders, fills = await order_pushes(ws, 2 + 2)
            assert [v3_pushed(d) for d in orders] == [
                ("partially_filled", "100"),
                ("partially_filled", "300"),
            ]
        assert len(fills) == 2
        await quiet(ws)
        # an ioc that takes nothing: cancelled, spelt per the setting
        await accepted(api, version, "10", price="0.9", force="ioc")
        orders, _ = await order_pushes(ws, 2 if version == "v2" else 1)
        assert orders[-1].get("status", orders[-1].get("orderStatus")) == "canceled"


# --- the model off: nothing changes -------------------------------------------------------


@VERSIONS
async def test_without_a_book_nothing_changes(api: Api, version: str) -> None:
    """Defaults: every listing-day setting off; a market sell fills whole at the price, a
    non-marketable ioc/fok limit rests ``live`` as before, a far-off limit is not banded."""
    defaults = ExchangeSettings()
    assert defaults.price_band == "off" and defaults.market_orders_refused_for_s == 0
    assert defaults.auction_window_s == 0
    ex = api.ex
    paws(ex, bids=None)
    key = key_of(api, version)
    order_id = await accepted(api, version, "700")
    got = await info(api, version, order_id)
    assert got == {"status": "filled", "base": D("700"), "quote": D("350"), "avg": D("0.5")}
    assert fills_of(ex, order_id) == [(D("0.5"), D("700"))]
    assert [f.source for f in ex.state.fills] == ["price"]
    for force in ("ioc", "fok", "post_only"):
        resting = await accepted(api, version, "10", price="0.9", force=force)
        assert (await info(api, version, resting))["status"] == "live"
    assert (await place(api, version, "200", price="0.01", force="gtc"))["code"] == "00000"
    assert ex.state.symbols["PAWSUSDT"].price == D("0.5")
    assert balances(ex, key)[1] == D("30")  # the three resting orders; the last one filled
    await ex.list_symbol(
        "NEWUSDT", open_at_ms=ex.server_time_ms() + 60_000, price="1", quantity_precision=2
    )
    reply = await place(api, version, "10", price="1", symbol="NEWUSDT")
    assert reply["code"] == ("43115" if version == "v2" else "25101")  # no auction window
