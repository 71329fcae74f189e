"""Conformance of the embedded exchange with real Bitget traffic (tests/data/bitget-samples.json).

For every sample kind the running exchange is asked the equivalent request -- v2 kinds with a
classic key, v3 kinds with a UTA key -- and its reply must have the SHAPE of the real one:

* the same keys, recursively (list elements: each simulator element against the real elements,
  keys every real element has are required, keys some real element has are allowed);
* the same JSON types (string / number / bool / null / object / list);
* the same code for the same situation, and the same message where the situation is the same.

The simulator may add nothing the real venue does not send (the few documented exceptions are
:data:`EXTRA_KEYS`, each with its source) and may omit nothing the client reads (so nothing at
all: every real key is required). Kinds the exchange does not model are listed in
:data:`NOT_MODELLED` with the reason; a kind that is neither checked nor listed fails
:func:`test_every_kind_is_checked_or_listed`, and a new sample of a known kind is checked with
no new code (the tests are parametrized over the corpus).

A second part pins the code the exchange answers per situation on v2 and v3 (bitget-api.md §6,
§5.11), the open-time fields (§5.1, §5.11, §10.3) and the listing-day fields (§10.8).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
from bitget_corpus import Sample, expect_known_kinds, samples

from sniper.exchange import EmbeddedExchange

Api = Any
ExchangeFactory = Any

# --- what is not checked, and why ---------------------------------------------------------

# the private WebSocket (issue 12) has its own conformance file; test_private_kinds_are_checked
# makes sure it names every kind left to it here
PRIVATE_WS_TESTS = "test_private_ws.py"
_ISSUE_12 = f"private WebSocket (issue 12): checked by tests/exchange/{PRIVATE_WS_TESTS}"
NOT_MODELLED: dict[str, str] = {
    # futures-only frames: the exchange is spot only
    "ws_v2_ticker_futures": "futures-only (USDT-FUTURES ticker); the exchange is spot only",
    "ws_v2_books_snapshot": "futures-only order book push; order books are not modelled",
    "ws_v2_books_update": "futures-only order book push; order books are not modelled",
    "ws_v3_books_update": "futures-only order book push; order books are not modelled",
    "ws_v2_orders_push_futures": "futures-only private push; the exchange is spot only",
    # the private WebSocket (client frames, acks, pushes, login replies)
    "ws_v2_login_request": _ISSUE_12,
    "ws_v2_login_ok": _ISSUE_12,
    "ws_v2_login_ok_documented": _ISSUE_12,
    "ws_v2_login_error": _ISSUE_12,
    "ws_v2_orders_subscribe": _ISSUE_12,
    "ws_v2_orders_ack": _ISSUE_12,
    "ws_v2_orders_subscribe_default": _ISSUE_12,
    "ws_v2_orders_ack_default": _ISSUE_12,
    "ws_v2_orders_push": _ISSUE_12,
    "ws_v2_orders_push_data": _ISSUE_12,
    "ws_v2_fill_subscribe": _ISSUE_12,
    "ws_v2_fill_push": _ISSUE_12,
    "ws_v2_account_subscribe": _ISSUE_12,
    "ws_v2_account_ack": _ISSUE_12,
    "ws_v2_account_push": _ISSUE_12,
    "ws_v3_login_request": _ISSUE_12,
    "ws_v3_login_ok": _ISSUE_12,
    "ws_v3_login_error": _ISSUE_12,
    "ws_v3_error_login": _ISSUE_12,
    "ws_v3_error_not_logged_in": _ISSUE_12,
    "ws_v3_order_subscribe": _ISSUE_12,
    "ws_v3_order_ack": _ISSUE_12,
    "ws_v3_order_push": _ISSUE_12,
    "ws_v3_fill_subscribe": _ISSUE_12,
    "ws_v3_fill_push": _ISSUE_12,
    "ws_v3_account_subscribe": _ISSUE_12,
    "ws_v3_account_push": _ISSUE_12,
}

# Keys the simulator sends that a real sample of the kind lacks, each backed by another source.
# path -> keys; a path is the tuple of keys from the top, "[]" for "any element of a list".
EXTRA_KEYS: dict[str, dict[tuple[str, ...], set[str]]] = {
    # The documented SPOT instruments example predates the fields SDKs model: launchTime
    # ([CODE] JKorf BitgetUaSpotSymbol.LaunchTime; bitget-api.md §5.11 -- the open on v3) and
    # maxMarketOrderQty ([CODE] TS InstrumentV3; §5.11), the latter only on a capped symbol.
    "rest_instruments_v3": {("data", "[]"): {"launchTime", "maxMarketOrderQty"}},
    # maxMarketOrderValue is [CODE]-optional on v2 rows (§5.1: JK BitgetSymbol, TS optional);
    # sent only for a symbol with a cap, which the conformance scenario does not configure.
    "rest_symbols_v2": {("data", "[]"): {"maxMarketOrderValue"}},
}

# Where the real samples disagree among themselves about a type, both are accepted: REST
# `requestTime` is a number in the live captures and doc examples (rest_symbols_v2,
# rest_place_order_v2, rest_error_*, rest_time_v2) and a string in the ccxt recordings
# (rest_tickers_v2, rest_assets_v2, rest_*_v3). The exchange sends a number by default and a
# string with ExchangeSettings(request_time_as_string=True) (test_request_time_variants).
EITHER_TYPE: set[tuple[str, ...]] = {("requestTime",)}

# Real lists the simulator may answer empty: a spot UTA account has no futures leverage config.
EMPTY_OK: dict[str, set[tuple[str, ...]]] = {
    "rest_account_settings_v3": {("data", "symbolConfigList"), ("data", "coinConfigList")},
}

# Message templates where the real message names something the scenario cannot reproduce
# (40019 names a parameter of a v1-era request): code -> regex both messages must match.
MSG_TEMPLATES: dict[str, str] = {"40019": r"Parameter \S+ cannot be empty"}

# --- shape comparison ---------------------------------------------------------------------


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    raise TypeError(type(value))


def shape_diff(
    real: Any,
    sim: Any,
    path: tuple[str, ...] = (),
    *,
    extra: dict[tuple[str, ...], set[str]] | None = None,
    empty_ok: set[tuple[str, ...]] | None = None,
) -> list[str]:
    """Every way ``sim`` differs in shape from ``real`` (empty: same shape)."""
    extra = extra or {}
    empty_ok = empty_ok or set()
    where = "/".join(path) or "<top>"
    rt, st = json_type(real), json_type(sim)
    if rt != st:
        if path in EITHER_TYPE and {rt, st} <= {"string", "number"}:
            return []
        return [f"{where}: real {rt}, simulator {st} ({sim!r:.60})"]
    if rt == "object":
        return _object_diff([real], sim, path, extra, empty_ok)
    if rt == "list":
        if not sim:
            if real and path not in empty_ok:
                return [f"{where}: real list has elements, the simulator's is empty"]
            return []
        if not real:
            return [f"{where}: real list is empty, the simulator's is not"]
        out: list[str] = []
        element_path = (*path, "[]")
        types = {json_type(r) for r in real}
        for item in sim:
            if json_type(item) == "object" and types == {"object"}:
                out += _object_diff(real, item, element_path, extra, empty_ok)
            else:
                out += shape_diff(real[0], item, element_path, extra=extra, empty_ok=empty_ok)
        return sorted(set(out))
    return []


def _object_diff(
    reals: list[dict[str, Any]],
    sim: dict[str, Any],
    path: tuple[str, ...],
    extra: dict[tuple[str, ...], set[str]],
    empty_ok: set[tuple[str, ...]],
) -> list[str]:
    where = "/".join(path) or "<top>"
    required = set.intersection(*(set(r) for r in reals))
    allowed = set.union(*(set(r) for r in reals)) | extra.get(path, set())
    out = []
    missing = required - set(sim)
    if missing:
        out.append(f"{where}: simulator omits {sorted(missing)}")
    added = set(sim) - allowed
    if added:
        out.append(f"{where}: simulator adds {sorted(added)}")
    for key in sorted(set(sim) & set.union(*(set(r) for r in reals))):
        model = next(r[key] for r in reals if key in r)
        out += shape_diff(model, sim[key], (*path, key), extra=extra, empty_ok=empty_ok)
    return out


def test_shape_diff_catches_what_it_must() -> None:
    """The comparator itself: missing and added keys, type changes, list elements."""
    real = {"code": "00000", "requestTime": 1, "data": [{"a": "1", "b": None}, {"a": "2"}]}
    assert shape_diff(real, {"code": "00000", "requestTime": "1", "data": [{"a": "x"}]}) == []
    assert shape_diff(real, {"code": 0, "requestTime": 1, "data": []}) == [
        "code: real string, simulator number (0)",
        "data: real list has elements, the simulator's is empty",
    ]
    assert shape_diff(real, {"code": "1", "requestTime": 1, "data": [{"a": 1, "c": ""}]}) == [
        "data/[]/a: real string, simulator number (1)",
        "data/[]: simulator adds ['c']",
    ]
    assert shape_diff(real, {"code": "1", "requestTime": 1, "data": [{"b": None}]}) == [
        "data/[]: simulator omits ['a']"
    ]
    assert shape_diff({"x": None}, {"x": ""}) == ["x: real null, simulator string ('')"]


# --- running the equivalent request -------------------------------------------------------

Reply = tuple[int | None, Any]  # (HTTP status, or None for a WS frame; parsed body)


@asynccontextmanager
async def exchange(
    make_exchange: ExchangeFactory, api_for: Callable[[EmbeddedExchange], Api], **settings: Any
) -> AsyncIterator[Api]:
    """A started exchange (the suite's standard accounts and BTCUSDT) and a signed client."""
    async with make_exchange(**settings) as ex:
        yield api_for(ex)


async def ws_reply(
    api: Api, url: str, request: str, want: Callable[[Any], bool] = lambda f: True
) -> Any:
    """Send ``request`` on a fresh WS connection; the first frame ``want`` accepts."""
    async with api.session.ws_connect(url) as ws:
        await ws.send_str(request)
        for _ in range(20):
            msg = await ws.receive(timeout=2)
            frame = msg.data if msg.data == "pong" else json.loads(msg.data)
            if want(frame):
                return frame
    raise AssertionError(f"no wanted frame after {request}")


def subscribe(*args: dict[str, Any]) -> str:
    return json.dumps({"op": "subscribe", "args": list(args)})


async def add_spot(api: Api, arg: dict[str, Any]) -> None:
    """Make the spot symbol a real sample's WS arg names exist (online) on the exchange."""
    symbol = arg.get("instId") or arg.get("symbol")
    if symbol and symbol not in api.ex.state.symbols:
        api.ex.add_symbol(symbol, price="2200.1", quantity_precision=4, price_precision=2)


async def listing_rows(api: Api) -> None:
    """Rows of every status a real symbols capture holds: online, halt, gray with an announced
    open, gray without one (rest_symbols_v2; §10.3)."""
    ex = api.ex
    ex.add_symbol("MCHUSDT", status="halt", price="0.5", quantity_precision=2)
    await ex.list_symbol("AFTUSDT", open_at_ms=ex.server_time_ms() + 3_600_000, price="0.1")
    await ex.list_symbol("SLNUSDT", open_at_ms=None, announce_open_time=False, price="0.1")


Scenario = Callable[[Api, Sample], Awaitable[Reply]]


async def _v2_time(api: Api, sample: Sample) -> Reply:
    return await api.public("/api/v2/public/time")


async def _v2_symbols(api: Api, sample: Sample) -> Reply:
    await listing_rows(api)
    return await api.public("/api/v2/spot/public/symbols")


async def _v2_tickers(api: Api, sample: Sample) -> Reply:
    return await api.public("/api/v2/spot/market/tickers?symbol=BTCUSDT")


async def _v2_assets(api: Api, sample: Sample) -> Reply:
    return await api.private("GET", "/api/v2/spot/account/assets")


async def _v2_assets_data(api: Api, sample: Sample) -> Reply:
    status, body = await api.private("GET", "/api/v2/spot/account/assets")
    return status, body["data"]  # the sample is the data array alone


async def _v2_place_order(api: Api, sample: Sample) -> Reply:
    api.ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2)
    return await api.sell("PAWSUSDT", "100", client_oid="conf-1")


async def _v2_order_info(api: Api, sample: Sample) -> Reply:
    # the sample is a filled market BUY; so is this one
    api.ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2)
    buy = {
        "symbol": "PAWSUSDT",
        "side": "buy",
        "orderType": "market",
        "size": "6",
        "clientOid": "b",
    }
    _, placed = await api.private("POST", "/api/v2/spot/trade/place-order", buy)
    assert placed["code"] == "00000", placed
    status, body = await api.private("GET", "/api/v2/spot/trade/orderInfo?clientOid=b")
    # feeDetail is a JSON *string* (§5.9): its content has the real shape too, the per-coin
    # entry under the fee coin's name next to newFees
    real = json.loads(sample.doc()["data"][0]["feeDetail"])
    sim = json.loads(body["data"][0]["feeDetail"])

    def by_role(detail: dict[str, Any]) -> dict[str, Any]:
        return {k if k == "newFees" else "<coin>": v for k, v in detail.items()}

    assert shape_diff(by_role(real), by_role(sim)) == []
    assert "PAWS" in sim  # a buy pays its fee in the base coin, as LTC in the sample
    return status, body


async def _v3_tickers(api: Api, sample: Sample) -> Reply:
    return await api.public("/api/v3/market/tickers?category=SPOT&symbol=BTCUSDT")


async def _v3_instruments(api: Api, sample: Sample) -> Reply:
    await listing_rows(api)
    return await api.public("/api/v3/market/instruments?category=SPOT")


async def _v3_assets(api: Api, sample: Sample) -> Reply:
    return await api.private("GET", "/api/v3/account/assets", key=api.UTA_KEY)


async def _v3_settings(api: Api, sample: Sample) -> Reply:
    return await api.private("GET", "/api/v3/account/settings", key=api.UTA_KEY)


async def _v3_place_order(api: Api, sample: Sample) -> Reply:
    api.ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2)
    return await api.sell_v3("PAWSUSDT", "100", client_oid="conf-3")


async def _v3_order_info(api: Api, sample: Sample) -> Reply:
    api.ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2)
    _, placed = await api.sell_v3("PAWSUSDT", "100", client_oid="conf-3")
    assert placed["code"] == "00000", placed
    return await api.private("GET", "/api/v3/trade/order-info?clientOid=conf-3", key=api.UTA_KEY)


async def _v2_unknown_symbol(api: Api, sample: Sample) -> Reply:
    return await api.public("/api/v2/spot/public/symbols?symbol=NOPEUSDT")


async def _v3_unknown_symbol(api: Api, sample: Sample) -> Reply:
    # the sample answered a v3 market-data call (orderbook, not modelled); tickers is one too
    return await api.public("/api/v3/market/tickers?category=SPOT&symbol=NOPEUSDT")


async def _v2_429(api: Api, sample: Sample) -> Reply:
    for _ in range(5):  # the bucket of /api/v2/public/time is set to 1 request/s
        status, body = await api.public("/api/v2/public/time")
        if status == 429:
            return status, body
    raise AssertionError("the 1/s bucket never ran out")


# rest_error_v2: one situation per code a real reply carries (a new sample with one of these
# codes is checked with no new code; a code without a situation fails loudly)
async def _gray(api: Api) -> Reply:
    await api.ex.list_symbol("PAWSUSDT", open_at_ms=None, price="0.5")
    return await api.sell("PAWSUSDT", "100")


async def _halt(api: Api) -> Reply:
    api.ex.add_symbol("PAWSUSDT", status="halt", price="0.5", quantity_precision=2)
    return await api.sell("PAWSUSDT", "100")


async def _balance(api: Api) -> Reply:
    api.ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2)
    return await api.sell("PAWSUSDT", "5000")


async def _min_value(api: Api) -> Reply:
    api.ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2, min_trade_usdt="5")
    return await api.sell("PAWSUSDT", "2")


async def _empty_param(api: Api) -> Reply:
    body = {"side": "sell", "orderType": "market", "force": "gtc", "size": "1"}
    return await api.private("POST", "/api/v2/spot/trade/place-order", body)


async def _uta_key_on_v2(api: Api) -> Reply:
    return await api.private("GET", "/api/v2/spot/account/assets", key=api.UTA_KEY)


async def _duplicate(api: Api) -> Reply:
    api.ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2)
    assert (await api.sell("PAWSUSDT", "10", client_oid="d"))[1]["code"] == "00000"
    return await api.sell("PAWSUSDT", "10", client_oid="d")


async def _precision(api: Api) -> Reply:
    api.ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2)
    return await api.sell("PAWSUSDT", "100.123")


async def _over_cap(api: Api) -> Reply:
    api.ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2, max_market_order_value="20")
    return await api.sell("PAWSUSDT", "100")


async def _order_not_found(api: Api) -> Reply:
    return await api.private("GET", "/api/v2/spot/trade/orderInfo?orderId=1")


async def _bad_signature(api: Api) -> Reply:
    return await api.private("GET", "/api/v2/spot/account/assets", secret="wrong")


V2_ERROR_SITUATIONS: dict[str, Callable[[Api], Awaitable[Reply]]] = {
    "43115": _gray,
    "41114": _halt,
    "43012": _balance,
    "45110": _min_value,
    "40019": _empty_param,
    "40085": _uta_key_on_v2,
    "43118": _duplicate,
    "40808": _precision,
    "45113": _over_cap,
    "43001": _order_not_found,
    "40009": _bad_signature,
}
# settings a situation needs (the exchange is made with them)
SITUATION_SETTINGS: dict[str, dict[str, Any]] = {
    "40099": {"demo": True},  # a key of the other environment: the demo exchange, no header
}


async def _v2_error(api: Api, sample: Sample) -> Reply:
    code = sample.doc()["code"]
    if code == "40099":
        return await api.private("GET", "/api/v2/spot/account/assets")
    situation = V2_ERROR_SITUATIONS.get(code)
    assert situation is not None, f"no situation reproduces real code {code}: add one"
    return await situation(api)


# WS: the request is derived from the sample wherever it can be
def _sample_arg(sample: Sample) -> dict[str, Any]:
    doc = sample.doc()
    if "arg" in doc:
        return dict(doc["arg"])
    # v3 errors carry no arg: its JSON is at the head of msg (ws_v3_error_unknown_symbol)
    head = doc["msg"].removesuffix(" doesn't exist")
    return dict(json.loads(head))


async def _ws_push(api: Api, sample: Sample) -> Reply:
    arg = _sample_arg(sample)
    await add_spot(api, arg)
    url = api.ex.ws_url if sample.generation == "v2" else api.ex.ws_url_v3
    frame = await ws_reply(api, url, subscribe(arg), lambda f: "action" in f)
    assert frame["arg"] == arg  # the push names exactly what was subscribed
    return None, frame


async def _ws_ack(api: Api, sample: Sample) -> Reply:
    arg = _sample_arg(sample)
    await add_spot(api, arg)
    url = api.ex.ws_url if sample.generation == "v2" else api.ex.ws_url_v3
    frame = await ws_reply(api, url, subscribe(arg), lambda f: "event" in f)
    assert frame == sample.doc()  # same arg: the whole ack is the real one
    return None, frame


async def _ws_ack_other_channel(api: Api, sample: Sample) -> Reply:
    # the sample acks a USDT-FUTURES book; spot only here, so the equivalent is a spot book
    arg = {**_sample_arg(sample), "instType": "SPOT"}
    await add_spot(api, arg)
    return None, await ws_reply(api, api.ex.ws_url, subscribe(arg), lambda f: "event" in f)


async def _ws_error(api: Api, sample: Sample) -> Reply:
    """The very request the real error answered (an unknown or futures symbol, a bad channel):
    the whole frame must be the real one (v3: but for the connId value)."""
    arg = _sample_arg(sample)
    url = api.ex.ws_url if sample.generation == "v2" else api.ex.ws_url_v3
    frame = await ws_reply(api, url, subscribe(arg), lambda f: "event" in f)
    real = sample.doc()
    if "connId" in real:
        assert isinstance(frame.get("connId"), str) and frame["connId"]
        frame_cmp = {**frame, "connId": real["connId"]}
    else:
        frame_cmp = frame
    assert frame_cmp == real
    return None, frame


async def _ws_pong(api: Api, sample: Sample) -> Reply:
    for url in (api.ex.ws_url, api.ex.ws_url_v3):  # both generations answer the text ping
        assert await ws_reply(api, url, "ping") == sample.body
    return None, "pong"


SCENARIOS: dict[str, Scenario] = {
    "rest_time_v2": _v2_time,
    "rest_symbols_v2": _v2_symbols,
    "rest_tickers_v2": _v2_tickers,
    "rest_assets_v2": _v2_assets,
    "rest_assets_v2_data": _v2_assets_data,
    "rest_place_order_v2": _v2_place_order,
    "rest_order_info_v2": _v2_order_info,
    "rest_error_v2": _v2_error,
    "rest_error_v2_429": _v2_429,
    "rest_error_v2_unknown_symbol": _v2_unknown_symbol,
    "rest_tickers_v3": _v3_tickers,
    "rest_instruments_v3": _v3_instruments,
    "rest_assets_v3": _v3_assets,
    "rest_account_settings_v3": _v3_settings,
    "rest_place_order_v3": _v3_place_order,
    "rest_order_info_v3": _v3_order_info,
    "rest_error_v3_unknown_symbol": _v3_unknown_symbol,
    "ws_v2_ticker": _ws_push,
    "ws_v3_ticker": _ws_push,
    "ws_v2_ack": _ws_ack,
    "ws_v3_ack": _ws_ack,
    "ws_v2_ack_other_channel": _ws_ack_other_channel,
    "ws_v2_error_unknown_symbol": _ws_error,
    "ws_v2_error_param": _ws_error,
    "ws_v3_error_unknown_symbol": _ws_error,
    "ws_pong": _ws_pong,
}
KIND_SETTINGS: dict[str, dict[str, Any]] = {
    "rest_error_v2_429": {"rate_limits": {"/api/v2/public/time": 1}},
}


def test_every_kind_is_checked_or_listed() -> None:
    """A new kind in the corpus must get a scenario or a reason here: never silently ignored."""
    assert not set(SCENARIOS) & set(NOT_MODELLED)
    assert expect_known_kinds(set(SCENARIOS) | set(NOT_MODELLED)) == []


def test_private_kinds_are_checked_elsewhere() -> None:
    """Every kind left to the private WebSocket's conformance file is named there."""
    from pathlib import Path

    private = (Path(__file__).parent / PRIVATE_WS_TESTS).read_text(encoding="utf-8")
    left = [kind for kind, why in NOT_MODELLED.items() if why == _ISSUE_12]
    assert left and [kind for kind in left if f'"{kind}"' not in private] == []


def test_every_listed_kind_is_in_the_corpus() -> None:
    """No stale entries: whatever is listed or checked exists in the corpus."""
    corpus = {s.kind for s in samples()}
    assert set(SCENARIOS) | set(NOT_MODELLED) <= corpus


CHECKED = [s for s in samples() if s.kind not in NOT_MODELLED]


@pytest.mark.parametrize("sample", CHECKED, ids=[s.id for s in CHECKED])
async def test_reply_has_the_shape_of_the_real_one(
    sample: Sample, make_exchange: ExchangeFactory, api_for: Any
) -> None:
    scenario = SCENARIOS.get(sample.kind)
    assert scenario is not None, f"kind {sample.kind} has no scenario (add one or list it)"
    real = sample.doc() if sample.kind != "ws_pong" else sample.body
    settings = dict(KIND_SETTINGS.get(sample.kind, {}))
    if isinstance(real, dict) and sample.kind == "rest_error_v2":
        settings.update(SITUATION_SETTINGS.get(real["code"], {}))
    async with exchange(make_exchange, api_for, **settings) as api:
        status, sim = await scenario(api, sample)
    if sample.kind == "ws_pong":
        assert sim == real
        return
    diffs = shape_diff(
        real,
        sim,
        extra=EXTRA_KEYS.get(sample.kind),
        empty_ok=EMPTY_OK.get(sample.kind),
    )
    assert diffs == [], f"{sample.id} ({sample.source[:80]})"
    if not isinstance(real, dict) or "code" not in real:
        return
    assert sim["code"] == real["code"], "same situation, same code"
    template = MSG_TEMPLATES.get(str(real["code"]))
    if template is not None:
        assert re.fullmatch(template, real["msg"]) and re.fullmatch(template, sim["msg"])
    else:
        assert sim["msg"] == real["msg"]
    if status is not None:  # REST: 200 for success, 429 for the limit, else 400 (§4)
        code = real["code"]
        expected = 200 if code == "00000" else 429 if code == "429" else 400
        assert status == expected


# --- the code for each situation, v2 (classic) and v3 (UTA) -------------------------------


async def _order(api: Api, v3: bool, size: str = "100", client_oid: str | None = None) -> Reply:
    if v3:
        return await api.sell_v3("PAWSUSDT", size, client_oid=client_oid)
    return await api.sell("PAWSUSDT", size, client_oid=client_oid)


# situation -> (setup, order size, v2 code, v3 code, v3 message). v2: §6 and real replies
# (rest_error_v2); v3: §5.11, Bitget's table of the 25xxx codes UTA replies use.
CODE_TABLE: dict[str, tuple[dict[str, Any], str, str, str, str]] = {
    "not open yet (gray)": (
        {"status": "gray"},
        "100",
        "43115",
        "25101",
        "Trading pair not open for trading",
    ),
    "halt": (
        {"status": "halt"},
        "100",
        "41114",
        "25102",
        "Trading pair temporarily closed for maintenance",
    ),
    "offline": (
        {"status": "offline"},
        "100",
        "41114",
        "25102",
        "Trading pair temporarily closed for maintenance",
    ),
    "quantity precision": (
        {},
        "100.123",
        "40808",
        "25610",
        "Order amount does not meet precision requirements",
    ),
    "below the minimum value": (
        {"min_trade_usdt": "100"},
        "100",
        "45110",
        "25611",
        "Order quantity must be greater than the minimum order amount",
    ),
    "below the minimum quantity": (
        {"min_order_qty": "500"},
        "100",
        "45111",
        "25207",
        "PAWSUSDT trading quantity cannot be less than 500 units",
    ),
    "above the maximum quantity": (
        {"max_order_qty": "50"},
        "100",
        "45112",
        "25208",
        "PAWSUSDT trading quantity cannot exceed 50 units",
    ),
    "market order over the cap": (
        {"max_market_order_value": "20", "max_market_order_qty": "50"},
        "100",
        "45113",
        "45113",
        "Maximum order value limit triggered",
    ),
    "insufficient balance": ({}, "5000", "43012", "25202", "Insufficient balance"),
    # no source names a v2 counterpart of restrictedAPI: v2 ignores the flag
    "restrictedAPI": ({"restricted_api": True}, "100", "00000", "25013", ""),
}


@pytest.mark.parametrize("situation", list(CODE_TABLE))
@pytest.mark.parametrize("v3", [False, True], ids=["v2-classic", "v3-uta"])
async def test_code_for_each_situation(api: Api, situation: str, v3: bool) -> None:
    setup, size, v2_code, v3_code, v3_msg = CODE_TABLE[situation]
    ex = api.ex
    key = api.UTA_KEY if v3 else api.KEY
    ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2, **setup)
    status, body = await _order(api, v3, size)
    code = v3_code if v3 else v2_code
    assert body["code"] == code, body
    if code == "00000":
        assert status == 200
        return
    assert (status, body["data"]) == (400, None)
    if v3 and code == "25013":
        assert body["msg"] == "PAWSUSDT not support API trade"  # "{0} not support API trade"
    elif v3:
        assert body["msg"] == v3_msg
    # refused: nothing executed
    assert ex.balance(key, "PAWS") == Decimal("1000")
    assert not any(o.accepted for o in ex.records.orders)


@pytest.mark.parametrize("v3", [False, True], ids=["v2-classic", "v3-uta"])
async def test_unknown_symbol_and_duplicate_codes(api: Api, v3: bool) -> None:
    # the duplicate code of a FILLED order's clientOid: only a venue holding every clientOid
    # (duplicate_scope="any") answers one; the default frees it once filled (§5.6)
    api.ex.settings.duplicate_scope = "any"
    api.ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2)
    if v3:
        _, body = await api.sell_v3("NOPEUSDT", "1")
        assert (body["code"], body["msg"]) == ("25100", "Trading pair NOPEUSDT does not exist")
    else:
        _, body = await api.sell("NOPEUSDT", "1")
        assert (body["code"], body["msg"]) == ("40034", "Parameter NOPEUSDT does not exist")
    assert (await _order(api, v3, "10", "dup"))[1]["code"] == "00000"
    _, body = await _order(api, v3, "10", "dup")
    expected = ("25212", "Duplicate clientOid") if v3 else ("43118", "clientOrderId duplicate")
    assert (body["code"], body["msg"]) == expected


async def test_v3_codes_are_settings(make_exchange: ExchangeFactory, api_for: Any) -> None:
    """Each v3 code is an ExchangeSettings field (default: §5.11); a variant brings its own
    message when the exchange knows the code."""
    async with make_exchange(
        v3_not_open_code="43115", v3_halt_code="41114", v3_restricted_code="22004"
    ) as ex:
        api = api_for(ex)
        await ex.list_symbol("PAWSUSDT", open_at_ms=None, price="0.5")
        _, body = await api.sell_v3("PAWSUSDT", "100")
        assert body["code"] == "43115" and "opening soon" in body["msg"]
        ex.set_symbol_status("PAWSUSDT", "halt")
        assert (await api.sell_v3("PAWSUSDT", "100"))[1]["code"] == "41114"
        ex.state.symbols["PAWSUSDT"].restricted_api = True
        _, body = await api.sell_v3("PAWSUSDT", "100")
        assert (body["code"], body["msg"]) == (
            "22004",
            "This symbol PAWSUSDT not support API trade",
        )


async def test_market_cap_boundaries(api: Api) -> None:
    """§10.8: at the cap an order passes, over it 45113 and nothing is sold; limit orders are
    not capped by the market cap."""
    ex = api.ex
    ex.add_symbol(
        "PAWSUSDT",
        price="0.5",
        quantity_precision=2,
        max_market_order_value="25",
        max_market_order_qty="50",
    )
    assert (await api.sell("PAWSUSDT", "50.01"))[1]["code"] == "45113"  # 25.005 USDT
    assert (await api.sell("PAWSUSDT", "50"))[1]["code"] == "00000"  # exactly 25 USDT
    assert (await api.sell_v3("PAWSUSDT", "50.01"))[1]["code"] == "45113"
    assert (await api.sell_v3("PAWSUSDT", "50"))[1]["code"] == "00000"
    limit = {
        "symbol": "PAWSUSDT",
        "side": "sell",
        "orderType": "limit",
        "force": "gtc",
        "price": "0.4",
        "size": "100",
    }
    _, body = await api.private("POST", "/api/v2/spot/trade/place-order", limit)
    assert body["code"] == "00000"
    assert [o.code for o in ex.records.orders] == ["45113", "00000", "45113", "00000", "00000"]


# --- rows: open time, caps, restrictedAPI --------------------------------------------------


async def _v2_row(api: Api, symbol: str = "PAWSUSDT") -> dict[str, Any]:
    _, body = await api.public(f"/api/v2/spot/public/symbols?symbol={symbol}")
    row: dict[str, Any] = body["data"][0]
    return row


async def _v3_row(api: Api, symbol: str = "PAWSUSDT") -> dict[str, Any]:
    _, body = await api.public(f"/api/v3/market/instruments?category=SPOT&symbol={symbol}")
    row: dict[str, Any] = body["data"][0]
    return row


async def test_open_time_announced_v2_and_v3(api: Api) -> None:
    """§5.1 / §5.11: v2 `openTime` and v3 `launchTime` carry the announced open; the v3 row has
    no openTime and its limitOpenTime is never the open."""
    ex = api.ex
    open_at = ex.server_time_ms() + 300
    await ex.list_symbol("PAWSUSDT", open_at_ms=open_at, price="0.5")
    v2, v3 = await _v2_row(api), await _v3_row(api)
    assert (v2["status"], v2["openTime"]) == ("gray", str(open_at))
    assert (v3["status"], v3["launchTime"], v3["limitOpenTime"]) == ("listed", str(open_at), "")
    assert "openTime" not in v3
    await asyncio.sleep((open_at - ex.server_time_ms()) / 1000 + 0.05)
    v2, v3 = await _v2_row(api), await _v3_row(api)
    assert (v2["status"], v2["openTime"]) == ("online", str(open_at))
    assert (v3["status"], v3["launchTime"], v3["limitOpenTime"]) == ("online", str(open_at), "")
    assert "openTime" not in v3


@pytest.mark.parametrize(
    ("setting", "v2_value"), [("", ""), ("far_future", "2056266000000")], ids=["empty", "far"]
)
async def test_v2_unannounced_open_time_variants(
    make_exchange: ExchangeFactory, api_for: Any, setting: str, v2_value: str
) -> None:
    """[UNCERTAIN] §10.3: real gray rows show "" (SLNUSDT) or a far-future placeholder
    (CARUSDT 2056266000000); an online row shows its past open (LUMIAUSDT)."""
    async with make_exchange(v2_unannounced_open_time=setting) as ex:
        api = api_for(ex)
        await ex.list_symbol("PAWSUSDT", open_at_ms=None, announce_open_time=False)
        assert (await _v2_row(api))["openTime"] == v2_value
        btc = await _v2_row(api, "BTCUSDT")  # online since the exchange started
        assert btc["status"] == "online" and 0 < int(btc["openTime"]) <= ex.server_time_ms()
        ex.add_symbol("MCHUSDT", status="halt")  # a halted market opened before, too
        mch = await _v2_row(api, "MCHUSDT")
        assert mch["status"] == "halt" and 0 < int(mch["openTime"]) <= ex.server_time_ms()


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("0", "0"), ("", ""), ("null", None), ("far_future", "2056266000000"), ("absent", ...)],
    ids=["zero", "empty", "null", "far", "absent"],
)
async def test_v3_unannounced_launch_time_variants(
    make_exchange: ExchangeFactory, api_for: Any, setting: str, expected: Any
) -> None:
    """[UNCERTAIN] §5.11: launchTime "0" or null for some pairs; "" or a far-future
    placeholder as on v2; or no launchTime at all (the documented example)."""
    async with make_exchange(v3_unannounced_launch_time=setting, v3_limit_open_time="-1") as ex:
        api = api_for(ex)
        await ex.list_symbol("PAWSUSDT", open_at_ms=None, announce_open_time=False)
        row = await _v3_row(api)
        if expected is ...:
            assert "launchTime" not in row
        else:
            assert row["launchTime"] == expected
        assert row["limitOpenTime"] == "-1" and "openTime" not in row


def test_open_time_settings_are_checked() -> None:
    from sniper.exchange import ExchangeSettings

    for bad in (
        {"v2_unannounced_open_time": "0"},
        {"v3_unannounced_launch_time": "-1"},
        {"v3_limit_open_time": "0"},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ExchangeSettings(**bad)


async def test_listing_day_fields_on_rows(api: Api) -> None:
    """§5.1 / §5.11 / §10.8: the caps appear only on a capped symbol (v2 by value, v3 by
    quantity); restrictedAPI is a v3 status (no v2 counterpart is documented)."""
    ex = api.ex
    ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2)
    assert "maxMarketOrderValue" not in await _v2_row(api)
    assert "maxMarketOrderQty" not in await _v3_row(api)
    await ex.list_symbol(
        "CAPUSDT",
        open_at_ms=None,
        price="0.5",
        max_market_order_value="50000",
        max_market_order_qty="1000.5",
        restricted_api=True,
    )
    v2, v3 = await _v2_row(api, "CAPUSDT"), await _v3_row(api, "CAPUSDT")
    assert (v2["maxMarketOrderValue"], v2["status"]) == ("50000", "gray")
    assert (v3["maxMarketOrderQty"], v3["status"]) == ("1000.5", "restrictedAPI")
    assert "maxMarketOrderQty" not in v2 and "maxMarketOrderValue" not in v3


async def test_request_time_variants(make_exchange: ExchangeFactory, api_for: Any) -> None:
    """The real samples carry `requestTime` as a number and as a string (EITHER_TYPE)."""
    for as_string, kind in ((False, int), (True, str)):
        async with make_exchange(request_time_as_string=as_string) as ex:
            api = api_for(ex)
            for path in ("/api/v2/public/time", "/api/v2/spot/public/symbols?symbol=NOPEUSDT"):
                _, body = await api.public(path)
                assert isinstance(body["requestTime"], kind)
                assert abs(int(body["requestTime"]) - ex.server_time_ms()) < 5000


async def test_v3_ws_errors_have_no_arg_and_a_conn_id(api: Api) -> None:
    """ws_v3_error_unknown_symbol, ws_v3_error_login: a v3 error never carries `arg`; every
    error of one connection carries that connection's connId; v2 errors keep arg and op."""
    ex = api.ex
    async with api.session.ws_connect(ex.ws_url_v3) as ws:
        await ws.send_str(api.sub_v3("NOPEUSDT"))
        unknown = await api.recv_json(ws)
        await ws.send_str(subscribe({"instType": "spot", "topic": "books400", "symbol": "X"}))
        param = await api.recv_json(ws)
        await ws.send_str("{not json")
        illegal = await api.recv_json(ws)
    for err in (unknown, param, illegal):
        assert set(err) == {"event", "code", "msg", "connId"}, err
    assert (unknown["code"], param["code"], illegal["code"]) == (30001, 30016, 30002)
    assert unknown["connId"] == param["connId"] == illegal["connId"]
    assert re.fullmatch(
        r"[0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{16}-[0-9a-f]{8}", unknown["connId"]
    )
    async with api.session.ws_connect(ex.ws_url) as ws:
        await ws.send_str(api.sub_v2("NOPEUSDT"))
        assert set(await api.recv_json(ws)) == {"event", "arg", "code", "msg", "op"}


async def test_v3_ack_conn_id_setting(make_exchange: ExchangeFactory, api_for: Any) -> None:
    """[UNCERTAIN]: the documented v3 ack has no connId (default), live acks reportedly do."""
    async with make_exchange(ws_v3_ack_conn_id=True) as ex:
        api = api_for(ex)
        async with api.session.ws_connect(ex.ws_url_v3) as ws:
            await ws.send_str(api.sub_v3("BTCUSDT"))
            ack = await api.recv_json(ws)
        assert ack["event"] == "subscribe" and isinstance(ack["connId"], str)
