"""REST endpoints, v2 classic and v3 UTA (bitget-api.md §3-§6, §5.10).

Request pipeline (one aiohttp middleware, then the endpoint):

1. record the request (first-byte stamp from :mod:`sniper.exchange.net`, exact body bytes);
2. unknown path -> HTTP 404 ``{"code":"40404","msg":"Request URL NOT FOUND",...}``;
3. demo mode: ``paptrading: 1`` required (``settings.demo_error_code``);
4. ``faults.fail_polls`` for the symbols / instruments endpoints;
5. token bucket (429 + ``x-mbx-used-remain-limit``; per IP public, per API key private);
6. private endpoints: signature check (:mod:`sniper.exchange.auth`), then account generation
   (classic on v3 -> 40084, UTA on v2 -> 40085);
7. the endpoint.

Errors are HTTP 400 with ``{"code":"<string>","msg":...,"requestTime":<ms>,"data":null}``
(``requestTime`` a number, or a string with ``settings.request_time_as_string``: the real
samples carry both).

Reply shapes follow the real samples of ``tests/data/bitget-samples.json`` key for key
(``tests/exchange/test_conformance.py`` checks every sample kind); where a row carries a field
the samples lack, the comment at that field names the source.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .auth import authenticate
from .faults import KNOWN_MESSAGES, CannedReply, OrderReply
from .net import RxStamp
from .recorder import OrderRecord, RequestRecord
from .state import (
    Account,
    Order,
    OrderRequest,
    Rejection,
    Symbol,
    fmt,
    fmt16,
    message,
    parse_decimal,
)

if TYPE_CHECKING:
    from .server import EmbeddedExchange

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

RECORD_KEY = web.RequestKey("record", RequestRecord)
BODY_KEY = web.RequestKey("body", bytes)
ACCOUNT_KEY = web.RequestKey("account", Account)
ORDER_KEY = web.RequestKey("order", OrderRecord)
CODE_KEY = web.ResponseKey("code", str)  # envelope code answered; "" for non-JSON replies
# The simulated arrival (CLOCK_REALTIME ns, wan.py) of the REST request being answered; 0 when
# there is no WAN (then "now" is the processing instant, as it always was).
ARRIVAL_NS: ContextVar[int] = ContextVar("arrival_ns", default=0)

HTML_ERROR = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str
    method: str
    private: bool
    api: str  # "v2" / "v3"
    trade: bool = False  # needs the `trade` permission
    poll: bool = False  # subject to faults.fail_polls


def _json_or_none(body: bytes) -> Any:
    """The parsed JSON body, or None when empty or not JSON. Nesting deeper than the parser's
    recursion limit (``[[[[...]]]]``) raises RecursionError, not ValueError: that too is a
    malformed body (40020), never an HTTP 500."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


class ApiError(Exception):
    def __init__(self, code: str, msg: str, status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status


class RestApi:
    def __init__(self, exchange: EmbeddedExchange) -> None:
        self.ex = exchange
        self.endpoints: dict[str, Endpoint] = {}

    # --- clock ----------------------------------------------------------------------------
    def now_ms(self) -> int:
        """The exchange clock (ms) for the request being answered: its simulated arrival under
        the WAN (``requestTime``, ``serverTime``, the open decision, the timestamp window), else
        the processing instant."""
        arrival = ARRIVAL_NS.get()
        if arrival:
            return self.ex.to_server_ns(arrival) // 1_000_000
        return self.ex.server_time_ms()

    def _at_arrival(self, symbol: str, now_ms: int) -> contextlib.AbstractContextManager[None]:
        """The symbol as it stood at the request's simulated arrival (``ex.symbol_as_of``):
        a request that arrived before the listing flip but is processed after it meets the gray
        pair. Without a WAN: the symbol as it is."""
        if ARRIVAL_NS.get():
            return self.ex.symbol_as_of(symbol, now_ms)
        return contextlib.nullcontext()

    # --- response helpers -----------------------------------------------------------------
    def envelope(
        self, code: str, msg: str, data: Any, status: int = 200, remain: int | None = None
    ) -> web.Response:
        now: int | str = self.now_ms()
        if self.ex.settings.request_time_as_string:
            now = str(now)
        body = {"code": code, "msg": msg, "requestTime": now, "data": data}
        resp = web.Response(
            status=status,
            body=json.dumps(body, separators=(",", ":")).encode(),
            content_type="application/json",
        )
        resp[CODE_KEY] = code
        if remain is not None:
            resp.headers["x-mbx-used-remain-limit"] = str(remain)
        return resp

    def ok(self, data: Any) -> web.Response:
        return self.envelope("00000", "success", data)

    def error(self, code: str, msg: str, status: int = 400) -> web.Response:
        return self.envelope(code, msg, None, status=status)

    def canned(self, reply: CannedReply) -> web.Response:
        """The response of a canned reply (see :mod:`.faults`)."""
        if isinstance(reply, OrderReply):
            if reply.raw is not None:
                resp = web.Response(
                    status=reply.status or 200, body=reply.raw, content_type=reply.content_type
                )
                resp[CODE_KEY] = reply.code or ""
                return resp
            if reply.code is None:
                assert reply.status is not None  # OrderReply.__post_init__
                return self.html_error(reply.status)
            msg = reply.msg
            if msg is None:
                msg = KNOWN_MESSAGES.get(reply.code, f"simulated error {reply.code}")
            status = reply.status or (429 if reply.code == "429" else 400)
            return self.envelope(
                reply.code, msg, None, status=status, remain=0 if status == 429 else None
            )
        if reply == 429 or reply == "429":
            return self.envelope("429", "Too Many Requests", None, status=429, remain=0)
        if isinstance(reply, str):
            return self.error(reply, KNOWN_MESSAGES.get(reply, f"simulated error {reply}"))
        return self.html_error(reply)

    def html_error(self, status: int) -> web.Response:
        """The front door's small HTML error page (Cloudflare, §2), not JSON."""
        reason = {
            403: "Forbidden",
            502: "Bad Gateway",
            503: "Service Temporarily Unavailable",
            504: "Gateway Time-out",
        }
        text = HTML_ERROR.format(status=status, reason=reason.get(status, "Error"))
        resp = web.Response(status=status, text=text, content_type="text/html")
        resp[CODE_KEY] = ""
        return resp

    # --- app ------------------------------------------------------------------------------
    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware], client_max_size=1 << 20)
        routes: list[tuple[Endpoint, Handler]] = [
            (Endpoint("/api/v2/public/time", "GET", False, "v2"), self.v2_time),
            (
                Endpoint("/api/v2/spot/public/symbols", "GET", False, "v2", poll=True),
                self.v2_symbols,
            ),
            (Endpoint("/api/v2/spot/market/tickers", "GET", False, "v2"), self.v2_tickers),
            (Endpoint("/api/v2/spot/account/assets", "GET", True, "v2"), self.v2_assets),
            (
                Endpoint("/api/v2/spot/trade/place-order", "POST", True, "v2", trade=True),
                self.place_order,
            ),
            (Endpoint("/api/v2/spot/trade/orderInfo", "GET", True, "v2"), self.v2_order_info),
            (
                Endpoint("/api/v3/market/instruments", "GET", False, "v3", poll=True),
                self.v3_instruments,
            ),
            (Endpoint("/api/v3/market/tickers", "GET", False, "v3"), self.v3_tickers),
            (Endpoint("/api/v3/account/settings", "GET", True, "v3"), self.v3_settings),
            (Endpoint("/api/v3/account/assets", "GET", True, "v3"), self.v3_assets),
            (
                Endpoint("/api/v3/trade/place-order", "POST", True, "v3", trade=True),
                self.place_order,
            ),
            (Endpoint("/api/v3/trade/order-info", "GET", True, "v3"), self.v3_order_info),
        ]
        for endpoint, handler in routes:
            self.endpoints[endpoint.path] = endpoint
            app.router.add_route(endpoint.method, endpoint.path, handler)
        app.router.add_get("/v2/ws/public", self.ws_v2)
        app.router.add_get("/v3/ws/public", self.ws_v3)
        return app

    async def ws_v2(self, request: web.Request) -> web.StreamResponse:
        request[RECORD_KEY].status = 101
        return await self.ex.ws_hub.handle(request, "v2")

    async def ws_v3(self, request: web.Request) -> web.StreamResponse:
        request[RECORD_KEY].status = 101
        return await self.ex.ws_hub.handle(request, "v3")

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        protocol: Any = request.protocol
        stamps: deque[RxStamp] | None = getattr(protocol, "rx_stamps", None)
        stamp = stamps.popleft() if stamps else None
        if stamp is None:  # only without the stamping protocol (see net.STAMPING_SUPPORTED)
            stamp = RxStamp(time.time_ns(), "middleware")
        body = await request.read() if request.can_read_body else b""
        # set by the protocol in the same callback that completed the body, so known by now;
        # the fallback (no stamping protocol) is the time the body was read
        complete_ns = stamp.complete_ns or time.time_ns()
        raw = request.raw_path
        path, _, query = raw.partition("?")
        record = RequestRecord(
            method=request.method,
            path=path,
            query=query,
            headers=dict(request.headers),
            body=body,
            first_byte_ns=stamp.first_ns,
            complete_ns=complete_ns,
            first_byte_source=stamp.source,
            arrival_ns=stamp.arrival_ns or complete_ns,
        )
        requests = self.ex.records.requests
        requests.append(record)
        cap = self.ex.settings.max_request_records
        if cap is not None and len(requests) > cap:
            del requests[: len(requests) - cap]
        request[RECORD_KEY] = record
        request[BODY_KEY] = body
        # REST requests that crossed the simulated WAN are decided at their arrival (wan.py);
        # WebSocket upgrades never (their handler runs for the socket's whole life)
        token = ARRIVAL_NS.set(stamp.arrival_ns) if path in self.endpoints else None
        try:
            resp = await self._dispatch(request, handler)
        except web.HTTPException as exc:
            if exc.status in (404, 405):
                resp = self.error("40404", "Request URL NOT FOUND", status=404)
            else:
                raise
        finally:
            if token is not None:
                ARRIVAL_NS.reset(token)
        if record.status == 0:
            record.status = resp.status
        if not isinstance(resp, web.WebSocketResponse):
            record.code = resp.get(CODE_KEY) or None
        return resp

    async def _dispatch(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        endpoint = self.endpoints.get(request.path)
        if endpoint is None:
            return await handler(request)  # WS routes, or aiohttp raises 404/405
        resp = await self._dispatch_endpoint(request, handler, endpoint)
        if endpoint.trade and ORDER_KEY not in request:
            # a place-order refused before the matching engine (demo, 429, auth, generation)
            order_rec = self._order_record(request, endpoint.api == "v3")
            order_rec.code = resp.get(CODE_KEY) or None
            order_rec.reply_ns = time.time_ns()
            self.ex.records.add_order(order_rec)
        return resp

    async def _dispatch_endpoint(
        self, request: web.Request, handler: Handler, endpoint: Endpoint
    ) -> web.StreamResponse:
        ex = self.ex
        s = ex.settings
        page = ex.faults.front_door_page(endpoint.path)  # Cloudflare answers before the origin
        if page is not None:
            refusal = web.Response(status=403, body=page, content_type="text/html", charset="UTF-8")
            refusal[CODE_KEY] = ""
            return refusal
        if s.demo and request.headers.get("paptrading", "").strip() != "1":
            return self.error(s.demo_error_code, s.demo_error_msg)
        if endpoint.poll:
            fault = ex.faults.take_poll_failure()
            if fault is not None:
                return self.canned(fault)
        caller = request.remote or "?"
        if endpoint.private:  # per UID (§5): the account behind the key, else the key as sent
            key = request.headers.get("ACCESS-KEY", caller)
            owner = ex.state.accounts.get(key)
            caller = f"uid:{owner.uid}" if owner is not None else "key:" + key
        arrival = ARRIVAL_NS.get()  # counted at the (simulated) arrival, not the processing
        at = time.monotonic() - (time.time_ns() - arrival) / 1e9 if arrival else None
        verdict = ex.limiter.check(endpoint.path, caller, at)
        remain = None
        if verdict is not None:
            allowed, remain = verdict
            if not allowed:
                return self.envelope("429", "Too Many Requests", None, status=429, remain=0)
        try:
            if endpoint.private:
                request[ACCOUNT_KEY] = self._authenticate(request, endpoint)
            resp = await handler(request)
        except ApiError as err:
            resp = self.error(err.code, err.msg, status=err.status)
        if endpoint.trade and verdict is not None and not s.place_order_limit_counts_refused:
            not_open = s.v3_not_open_code if endpoint.api == "v3" else s.not_open_code
            if resp.get(CODE_KEY) == not_open:  # the kinder variant: a not-open refusal is free
                ex.limiter.refund(endpoint.path, caller)
        if remain is not None and isinstance(resp, web.Response):
            resp.headers["x-mbx-used-remain-limit"] = str(remain)
        return resp

    def _authenticate(self, request: web.Request, endpoint: Endpoint) -> Account:
        ex = self.ex
        s = ex.settings
        account, err = authenticate(
            headers=request.headers,
            method=request.method,
            target=request.raw_path,
            body=request[BODY_KEY],
            remote_ip=request.remote,
            lookup=ex.state.accounts.get,
            server_time_ms=self.now_ms(),
            window_ms=s.timestamp_window_ms,
            passphrase_error=(s.passphrase_error_code, s.passphrase_error_msg),
            need_trade=endpoint.trade,
        )
        if err is not None:
            if err.code == "40014" and endpoint.api == "v3" and s.v3_permission_code != "40014":
                code = s.v3_permission_code  # [UNCERTAIN] settings.v3_permission_code
                raise ApiError(code, KNOWN_MESSAGES.get(code, err.msg))
            raise ApiError(err.code, err.msg)
        assert account is not None
        if endpoint.api == "v2" and account.mode == "uta":
            raise ApiError(s.uta_on_v2_code, s.uta_on_v2_msg)
        if endpoint.api == "v3" and account.mode == "classic":
            raise ApiError(s.classic_on_v3_code, s.classic_on_v3_msg)
        return account

    # --- public v2 ------------------------------------------------------------------------
    async def v2_time(self, request: web.Request) -> web.Response:
        # stamped at the (simulated) arrival: a client's RTT midpoint estimate sees the WAN
        return self.ok({"serverTime": str(self.now_ms())})

    def _open_time(self, sym: Symbol, status: str) -> int | None:
        """The open a row shows: the announced/actual open, or for a pre-existing market the
        time it came online (real online rows carry their past open, rest_symbols_v2)."""
        if sym.open_time_ms is not None:
            return sym.open_time_ms
        if status != "gray" and sym.opened_at_ms is not None:
            return sym.opened_at_ms
        return None

    async def v2_symbols(self, request: web.Request) -> web.Response:
        s = self.ex.settings
        now_ms = self.now_ms()
        wanted = request.query.get("symbol")
        rows = []
        for sym, status in self.ex.state.visible_symbols(now_ms):
            if wanted and sym.symbol != wanted:
                continue
            open_ms = self._open_time(sym, status)
            if open_ms is not None:
                open_time = str(open_ms)
            elif s.v2_unannounced_open_time == "far_future":
                open_time = str(s.placeholder_open_time_ms)
            else:
                open_time = ""
            # exactly the keys of the real rows (rest_symbols_v2, 2025-07 capture)
            row = {
                "symbol": sym.symbol,
                "baseCoin": sym.base_coin,
                "quoteCoin": sym.quote_coin,
                "minTradeAmount": sym.min_order_qty,
                "maxTradeAmount": sym.max_order_qty or "900000000000000000000",
                "takerFeeRate": sym.taker_fee_rate,
                "makerFeeRate": sym.maker_fee_rate,
                "pricePrecision": str(sym.price_precision),
                "quantityPrecision": str(sym.quantity_precision),
                "quotePrecision": str(sym.quote_precision),
                "status": status,
                "minTradeUSDT": sym.min_trade_usdt,
                "buyLimitPriceRatio": sym.buy_limit_price_ratio,
                "sellLimitPriceRatio": sym.sell_limit_price_ratio,
                "areaSymbol": "no",
                "orderQuantity": "200",
                "openTime": open_time,
                "offTime": "",
            }
            # [CODE]-optional (§5.1: JK BitgetSymbol, TS types mark it optional; no real row
            # of the capture has it): only on a symbol with a cap configured
            if sym.max_market_order_value is not None:
                row["maxMarketOrderValue"] = sym.max_market_order_value
            rows.append(row)
        if wanted and not rows:
            raise ApiError(
                "40034",
                f"Parameter {wanted} does not exist",  # observed on public endpoints
            )
        return self.ok(rows)

    def _tradable(self, wanted: str | None, v3: bool) -> list[Any]:
        """(symbol, status) rows with a market (gray pairs have none yet)."""
        now_ms = self.now_ms()
        if wanted:
            found = self.ex.state.find_symbol(wanted, now_ms)
            if found is None:
                s = self.ex.settings
                if v3:
                    raise ApiError(
                        s.v3_unknown_symbol_code, message(s.v3_unknown_symbol_code, symbol=wanted)
                    )
                raise ApiError("40034", f"Parameter {wanted} does not exist")
            rows = [found]
        else:
            rows = self.ex.state.visible_symbols(now_ms)
        return [sym for sym, status in rows if status != "gray"]

    async def v2_tickers(self, request: web.Request) -> web.Response:
        now = str(self.now_ms())
        rows = []
        for sym in self._tradable(request.query.get("symbol"), v3=False):
            p = self.ex.format_price(sym)
            rows.append(
                {
                    "symbol": sym.symbol,
                    "high24h": p,
                    "open": p,
                    "low24h": p,
                    "lastPr": p,
                    "quoteVolume": "0",
                    "baseVolume": "0",
                    "usdtVolume": "0",
                    "bidPr": p,
                    "askPr": p,
                    "bidSz": "0",
                    "askSz": "0",
                    "openUtc": p,
                    "ts": now,
                    "changeUtc24h": "0",
                    "change24h": "0",
                }
            )
        return self.ok(rows)

    # --- public v3 ------------------------------------------------------------------------
    def _require_spot_category(self, request: web.Request) -> bool:
        category = request.query.get("category")
        if not category:
            raise ApiError("40019", "Parameter category cannot be empty")
        return category.upper() == "SPOT"

    async def v3_instruments(self, request: web.Request) -> web.Response:
        s = self.ex.settings
        if not self._require_spot_category(request):
            return self.ok([])
        now_ms = self.now_ms()
        wanted = request.query.get("symbol")
        rows = []
        for sym, status in self.ex.state.visible_symbols(now_ms):
            if wanted and sym.symbol != wanted:
                continue
            # the keys of the documented SPOT row (rest_instruments_v3): no `openTime`
            row: dict[str, Any] = {
                "symbol": sym.symbol,
                "category": "SPOT",
                "baseCoin": sym.base_coin,
                "quoteCoin": sym.quote_coin,
                "buyLimitPriceRatio": sym.buy_limit_price_ratio,
                "sellLimitPriceRatio": sym.sell_limit_price_ratio,
                "feeRateUpRatio": "",
                "minOrderQty": sym.min_order_qty,
                "maxOrderQty": sym.max_order_qty or "",
                "pricePrecision": str(sym.price_precision),
                "quantityPrecision": str(sym.quantity_precision),
                "quotePrecision": str(sym.quote_precision),
                "minOrderAmount": sym.min_trade_usdt,
                "maxSymbolOrderNum": "",
                "maxProductOrderNum": "",
                "status": "restrictedAPI"
                if sym.restricted_api
                else s.v3_status_map.get(status, status),
                "offTime": "",
                # a restriction time, never the open (§5.11)
                "limitOpenTime": s.v3_limit_open_time,
                "maintainTime": "",
                "areaSymbol": "no",
            }
            # the launch: [CODE] JKorf BitgetUaSpotSymbol.LaunchTime (§5.11); the documented
            # example predates it. Placeholder for an unannounced open: a setting.
            open_ms = self._open_time(sym, status)
            if open_ms is not None:
                row["launchTime"] = str(open_ms)
            else:
                placeholder = s.v3_unannounced_launch_time
                if placeholder == "far_future":
                    row["launchTime"] = str(s.placeholder_open_time_ms)
                elif placeholder == "null":
                    row["launchTime"] = None
                elif placeholder != "absent":
                    row["launchTime"] = placeholder
            # [CODE] TS InstrumentV3 (§5.11); absent from the documented example: only on a
            # symbol with a cap configured
            if sym.max_market_order_qty is not None:
                row["maxMarketOrderQty"] = sym.max_market_order_qty
            rows.append(row)
        if wanted and not rows:
            raise ApiError(
                s.v3_unknown_symbol_code, message(s.v3_unknown_symbol_code, symbol=wanted)
            )
        return self.ok(rows)

    async def v3_tickers(self, request: web.Request) -> web.Response:
        if not self._require_spot_category(request):
            return self.ok([])
        now = str(self.now_ms())
        rows = []
        for sym in self._tradable(request.query.get("symbol"), v3=True):
            p = self.ex.format_price(sym)
            rows.append(
                {
                    "category": "SPOT",
                    "symbol": sym.symbol,
                    "ts": now,  # rest_tickers_v3
                    "lastPrice": p,
                    "openPrice24h": p,
                    "highPrice24h": p,
                    "lowPrice24h": p,
                    "ask1Price": p,
                    "bid1Price": p,
                    "bid1Size": "0",
                    "ask1Size": "0",
                    "price24hPcnt": "0",
                    "volume24h": "0",
                    "turnover24h": "0",
                }
            )
        return self.ok(rows)

    # --- private: account -----------------------------------------------------------------
    def _balances(self, account: Account) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        """(available, frozen) as the assets endpoints show them (faults.freeze_balances)."""
        stale = self.ex.faults.stale_balances.get(account.api_key)
        return stale if stale is not None else (account.available, account.frozen)

    def _coins(
        self,
        available: dict[str, Decimal],
        frozen: dict[str, Decimal],
        coin: str | None,
        everything: bool,
    ) -> list[str]:
        if coin:
            return [coin.upper()]
        coins = set(available) | set(frozen)
        if not everything:
            coins = {
                c for c in coins if available.get(c, Decimal(0)) != 0 or frozen.get(c, Decimal(0))
            }
        return sorted(coins)

    async def v2_assets(self, request: web.Request) -> web.Response:
        available, frozen = self._balances(request[ACCOUNT_KEY])
        everything = request.query.get("assetType") == "all"
        now = str(self.now_ms())
        rows = [
            {
                "coin": coin,
                "available": fmt16(available.get(coin, Decimal(0))),
                "frozen": fmt16(frozen.get(coin, Decimal(0))),
                "locked": fmt16(Decimal(0)),
                "limitAvailable": "0",
                "uTime": now,
            }
            for coin in self._coins(available, frozen, request.query.get("coin"), everything)
        ]
        return self.ok(rows)

    async def v3_settings(self, request: web.Request) -> web.Response:
        # the keys (and the mode values) of the real reply rest_account_settings_v3; a spot
        # account has no per-symbol or per-coin leverage configured, so both lists are empty
        return self.ok(
            {
                "uid": request[ACCOUNT_KEY].uid,
                "accountMode": "hybrid",
                "assetMode": "multi_assets",
                "accountLevel": "advanced",
                "holdMode": "one_way_mode",
                "stpMode": "none",
                "symbolConfigList": [],
                "coinConfigList": [],
            }
        )

    async def v3_assets(self, request: web.Request) -> web.Response:
        available, frozen = self._balances(request[ACCOUNT_KEY])
        assets = []
        total = Decimal(0)
        for coin in self._coins(available, frozen, None, everything=False):
            balance = available.get(coin, Decimal(0)) + frozen.get(coin, Decimal(0))
            usd = balance * self.ex.usdt_price(coin)
            total += usd
            assets.append(
                {
                    "coin": coin,
                    "equity": fmt(balance),
                    "usdValue": fmt(usd),
                    "balance": fmt(balance),
                    "available": fmt(available.get(coin, Decimal(0))),
                    "debt": "0",
                    "locked": fmt(frozen.get(coin, Decimal(0))),
                }
            )
        btc = self.ex.usdt_price("BTC")
        data = {
            "accountEquity": fmt(total),
            "usdtEquity": fmt(total),
            "btcEquity": fmt(total / btc) if btc else "0",
            "unrealisedPnl": "0",
            "usdtUnrealisedPnl": "0",
            "btcUnrealizedPnl": "0",
            "effEquity": fmt(total),
            "mmr": "0",
            "imr": "0",
            "mgnRatio": "0",
            "positionMgnRatio": "0",
            "assets": assets,
        }
        return self.ok(data)

    # --- private: orders ------------------------------------------------------------------
    def _parse_order(self, body: bytes, v3: bool) -> OrderRequest:
        params = _json_or_none(body)
        if not isinstance(params, dict):
            raise ApiError("40020", "Parameter body error")

        def text(name: str) -> str:
            value = params.get(name)
            if value is None or value == "":
                raise ApiError("40019", f"Parameter {name} cannot be empty")
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ApiError("40020", f"Parameter {name} error")
            return str(value)

        if v3:
            category = text("category")
            if category.upper() != "SPOT":
                raise ApiError("40020", "Parameter category error")
        symbol = text("symbol")
        size_name = "qty" if v3 else "size"
        size = text(size_name)
        side = text("side").lower()
        order_type = text("orderType").lower()
        if side not in ("buy", "sell"):
            raise ApiError("40020", "Parameter side error")
        if order_type not in ("limit", "market"):
            raise ApiError("40020", "Parameter orderType error")
        if parse_decimal(size) is None:
            raise ApiError("40020", f"Parameter {size_name} error")
        force_name = "timeInForce" if v3 else "force"
        force = str(params.get(force_name) or "gtc").lower()
        if force not in ("gtc", "post_only", "fok", "ioc", "normal"):
            raise ApiError("40020", f"Parameter {force_name} error")
        price: str | None = None
        if order_type == "limit":
            price = text("price")
            if parse_decimal(price) is None:
                raise ApiError("40020", "Parameter price error")
        oid = params.get("clientOid")
        client_oid = str(oid) if oid not in (None, "") else None
        return OrderRequest(symbol, side, order_type, size, price, force, client_oid)

    def _order_record(self, request: web.Request, v3: bool) -> OrderRecord:
        """An OrderRecord for a place-order request, filled from its body where parseable."""
        record = request[RECORD_KEY]
        order_rec = OrderRecord(
            api_key=request.headers.get("ACCESS-KEY", ""),
            symbol="",
            side="",
            size="",
            client_oid=None,
            order_id=None,
            accepted=False,
            code=None,
            first_byte_ns=record.first_byte_ns,
            complete_ns=record.complete_ns,
            replied=True,
            api="v3" if v3 else "v2",
            arrival_ns=record.arrival_ns,
            arrival_server_ns=self.ex.to_server_ns(record.arrival_ns),
        )
        params = _json_or_none(request[BODY_KEY])
        if isinstance(params, dict):
            order_rec.symbol = str(params.get("symbol", ""))
            order_rec.side = str(params.get("side", ""))
            order_rec.size = str(params.get("qty" if v3 else "size", ""))
            oid = params.get("clientOid")
            order_rec.client_oid = None if oid is None else str(oid)
        request[ORDER_KEY] = order_rec
        return order_rec

    async def place_order(self, request: web.Request) -> web.StreamResponse:
        ex = self.ex
        v3 = request.path.startswith("/api/v3/")
        account = request[ACCOUNT_KEY]
        order_rec = self._order_record(request, v3)
        if ex.faults.take_drop():  # lost before the matching engine: no order, no answer
            order_rec.replied = False
            ex.records.add_order(order_rec)
            await ex.wait_stopped(request)
            return self.error("40010", "Request timed out")  # never written: aborted at stop
        withhold = ex.faults.take_withhold()
        canned = ex.faults.take_order_reply()
        executed = isinstance(canned, OrderReply) and canned.executed
        if canned is not None and not executed:
            resp = self.canned(canned)  # never reached the matching engine
        else:
            try:
                req = self._parse_order(request[BODY_KEY], v3)
                now_ms = self.now_ms()  # the (simulated) arrival decides open / not open
                with self._at_arrival(req.symbol, now_ms):
                    result = ex.state.place_order(account, req, now_ms=now_ms, api=order_rec.api)
            except ApiError as err:
                result = Rejection(err.code, err.msg)
            if isinstance(result, Order):
                order_rec.accepted = True
                order_rec.order_id = result.order_id
                order_rec.client_oid = result.client_oid
                ex.private_ws.publish_order(result)  # private WS pushes (before the reply)
                resp = self.ok({"orderId": result.order_id, "clientOid": result.client_oid})
            else:
                resp = self.error(result.code, result.msg)
            if canned is not None:  # executed (if valid), then answered with the canned reply
                resp = self.canned(canned)
        order_rec.code = resp.get(CODE_KEY) or None
        if withhold:
            order_rec.replied = False
            ex.records.add_order(order_rec)
            await ex.wait_stopped(request)  # returns at stop(), the connection already aborted
            return resp
        order_rec.reply_ns = time.time_ns()
        ex.records.add_order(order_rec)
        return resp

    def _lookup_order(self, request: web.Request, v3: bool) -> Order:
        """The order named by ``orderId`` or ``clientOid``; the generation's not-found error."""
        account = request[ACCOUNT_KEY]
        order_id = request.query.get("orderId")
        client_oid = request.query.get("clientOid")
        if not order_id and not client_oid:
            raise ApiError("40019", "Parameter orderId cannot be empty")
        order = self.ex.state.find_order(account, order_id, client_oid)
        if order is None or self.ex.faults.hide_orders_from_lookup:
            if v3:
                raise ApiError(self.ex.settings.v3_order_not_found_code, "Order does not exist")
            raise ApiError("43001", "The order does not exist")
        return order

    async def v2_order_info(self, request: web.Request) -> web.Response:
        order = self._lookup_order(request, v3=False)
        rows = [order]
        if self.ex.settings.client_oid_lookup == "all" and not request.query.get("orderId"):
            # §5.9: `data` is an array — here every order that took the clientOid, oldest first
            rows = self.ex.state.find_orders(
                request[ACCOUNT_KEY], None, request.query.get("clientOid")
            )
        reason = self.ex.settings.v2_order_info_cancel_reason
        return self.ok([o.v2_info(cancel_reason=reason) for o in rows])

    async def v3_order_info(self, request: web.Request) -> web.Response:
        return self.ok(self._lookup_order(request, v3=True).v3_info())
