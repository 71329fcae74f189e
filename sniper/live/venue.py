"""Venue calls behind one small interface, so the executor never spells a path or a code.

:class:`ClassicVenue` speaks the v2 classic-account API (bitget-api.md §5-§7);
:class:`UtaVenue` the v3 Unified Trading Account API (§5.10: ``/api/v3/...``, ``category`` /
``qty``, 25xxx codes, the v3 WS arg ``{"instType":"spot","topic":"ticker","symbol":T}``). The
executor, the poller, the feed and ``sniper check`` only use :class:`Venue`. Both run the same
code and differ only in data: a code table and an :class:`ApiGeneration` (paths, field names).
:func:`make_venue` picks one for an account mode, :func:`account_settings_call` is the signed
call that tells the modes apart (success: UTA; 40084: classic).

Both read the exchange clock from ``/api/v2/public/time``: a public endpoint, open to either
account generation (only private v2 calls answer 40085 to a UTA key).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

from sniper import jsonio
from sniper.live import outcomes
from sniper.live.outcomes import Outcome
from sniper.secrets import Secret


@dataclass(frozen=True)
class Call:
    """One REST request, before signing. ``query`` is exactly what goes on the URL and into the
    prehash (never re-encoded later)."""

    method: str  # "GET" | "POST"
    path: str  # "/api/v2/..."
    query: str = ""  # "symbol=PAWSUSDT" (no leading "?")
    body: bytes = b""  # exact JSON bytes sent and signed

    @property
    def path_with_query(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass(frozen=True)
class Envelope:
    """A parsed Bitget reply: ``{"code","msg","requestTime","data"}``."""

    http_status: int
    code: str | None  # string code ("00000", "40034", "429"); None when the body is no envelope
    msg: str
    data: Any
    # ``requestTime``: when the request ARRIVED, exchange clock ms (every reply carries it, the
    # 43115 / 25101 refusals included; bitget-api.md §4); None when absent
    request_time_ms: int | None = None

    @property
    def ok(self) -> bool:
        return self.code == outcomes.V2_SUCCESS and 200 <= self.http_status < 300


@dataclass(frozen=True)
class SymbolState:
    # "absent" | "gray" | "online" | "offline" | "halt" | "restricted" | anything else the API says
    status: str
    open_time_ms: int | None = None  # scheduled open (server clock, ms) when announced
    quantity_precision: int | None = None  # decimals allowed in the base quantity
    # minimum order value in the quote coin (v2 ``minTradeUSDT``, v3 ``minOrderAmount``)
    min_order_value: Decimal | None = None
    price_precision: int | None = None  # decimals allowed in a limit price
    # the largest market order the pair accepts (§5.11; over it: 45113, not executed):
    max_market_order_value: Decimal | None = None  # v2 ``maxMarketOrderValue``, quote coin
    max_market_order_qty: Decimal | None = None  # v3 ``maxMarketOrderQty``, base coin
    # v3 status ``restrictedAPI``: the pair cannot be traded through the API (§5.10, §5.11)
    restricted_api: bool = False
    # max deviation of a sell limit price from the current price (0.99 = 99 %; §10.6)
    sell_limit_price_ratio: Decimal | None = None


@dataclass(frozen=True)
class OrderState:
    order_id: str
    client_oid: str
    status: str  # init | live | new | partially_filled | filled | cancelled
    size: str
    base_volume: str
    quote_volume: str
    price_avg: str


def parse_envelope(http_status: int, body: bytes) -> Envelope:
    """Never raises: a body that is not an envelope gives ``code=None`` and a short excerpt."""
    try:
        doc = jsonio.loads(body)
    except (ValueError, UnicodeDecodeError):
        text = body[:120].decode("utf-8", "replace").strip().replace("\n", " ")
        return Envelope(http_status, None, text, None)
    if not isinstance(doc, dict):
        return Envelope(http_status, None, str(doc)[:120], None)
    code = doc.get("code")
    msg = doc.get("msg", doc.get("message", ""))
    return Envelope(
        http_status,
        None if code is None else str(code),
        "" if msg is None else str(msg),
        doc.get("data"),
        _ms(doc.get("requestTime")),
    )


def _ms(value: object) -> int | None:
    """A positive ms time: a ms string, a number, ``""`` or missing."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        ms = int(str(value))
    except ValueError:
        return None
    return ms if ms > 0 else None


# An announced open more than this far ahead is a placeholder, not a date: real gray rows carry
# ``openTime`` values in 2030-2056 (bitget-api.md §10.3, §5.11), v3 rows ``launchTime`` "0".
OPEN_TIME_HORIZON_MS = 366 * 24 * 3600 * 1000


def announced_open_ms(value: object, now_ms: int) -> int | None:
    """The scheduled open from a symbol row's open-time field, or None when it is not announced:
    ``""``, ``"0"``, ``"-1"``, null, junk, or more than ~1 year after ``now_ms`` (a placeholder)."""
    ms = _ms(value)
    if ms is None or ms - now_ms > OPEN_TIME_HORIZON_MS:
        return None
    return ms


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _dec(value: object) -> Decimal | None:
    """A finite decimal from a JSON string/number; None for ``""``, junk or a bool."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _holdings(row: Mapping[str, Any]) -> Decimal:
    """available + frozen + locked, whichever of them the row carries (missing = 0)."""
    total = Decimal(0)
    for name in ("available", "frozen", "locked"):
        value = _dec(row.get(name))
        if value is not None:
            total += value
    return total


def _envelope_rows(env: Envelope) -> list[Any]:
    data = env.data
    return data if isinstance(data, list) else [data] if isinstance(data, dict) else []


def _arg_in_message(msg: object) -> Mapping[str, Any] | None:
    """The subscription arg a v3 error names in its msg (bitget-api.md §5.11:
    ``{"instType":"spot","topic":"ticker","symbol":"NOPEUSDT"} doesn't exist``), else None."""
    if not isinstance(msg, str) or not msg.startswith("{"):
        return None
    end = msg.rfind("}")
    try:
        doc = jsonio.loads(msg[: end + 1])
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def account_settings_call() -> Call:
    """Signed v3 call that tells the account generations apart (bitget-api.md §1): a UTA key
    gets ``00000``, a classic key ``40084``."""
    return Call("GET", "/api/v3/account/settings")


class Venue(Protocol):
    """What the sniper needs from one API generation."""

    name: str
    mode: str  # "classic" | "uta"
    table: outcomes.CodeTable

    @property
    def hints(self) -> Mapping[str, tuple[str, str]]: ...

    def time_call(self) -> Call: ...
    def parse_server_time(self, data: Any) -> int: ...
    def symbol_call(self) -> Call: ...
    def parse_symbol(self, env: Envelope, now_ms: int | None = None) -> SymbolState: ...
    def ticker_call(self) -> Call: ...
    def parse_last_price(self, env: Envelope) -> Decimal | None: ...
    def assets_call(self) -> Call: ...
    def parse_available(self, data: Any) -> Decimal: ...
    def parse_holdings(self, data: Any) -> Decimal: ...
    def order_call(
        self, size: str, client_oid: str, *, price: str | None = None, tif: str = "gtc"
    ) -> Call: ...
    def permission_probe_call(self) -> Call: ...
    def parse_order_ack(self, data: Any) -> str: ...
    def order_info_call(self, client_oid: str, *, order_id: str | None = None) -> Call: ...
    def parse_order_info(self, env: Envelope) -> OrderState | None: ...
    def parse_order_infos(self, env: Envelope) -> list[OrderState]: ...
    def classify(self, env: Envelope) -> Outcome: ...
    def explain(self, env: Envelope) -> str: ...
    def is_auth_error(self, env: Envelope) -> bool: ...
    def is_transient(self, env: Envelope) -> bool: ...
    def is_rate_limited(self, env: Envelope) -> bool: ...
    def ws_subscribe(self) -> bytes: ...
    def ws_event(self, event: Mapping[str, Any]) -> str: ...
    def private_login(
        self,
        *,
        api_key: Secret | str,
        passphrase: Secret | str,
        secret: Secret | str,
        timestamp_s: int,
    ) -> bytes: ...
    def order_subscribe(self) -> bytes: ...
    def private_ws_url(self, public_url: str) -> str: ...
    def private_event(self, event: Mapping[str, Any]) -> str: ...
    def parse_order_push(self, doc: Any) -> list[OrderState]: ...


@dataclass(frozen=True)
class ApiGeneration:
    """Everything one API generation spells differently: paths, request and reply field names,
    the WebSocket arg. The logic that reads them is :class:`_VenueBase`, shared by both."""

    # REST paths
    symbols_path: str
    tickers_path: str
    assets_path: str
    order_path: str
    order_info_path: str
    # requests
    category: Mapping[str, str]  # leads the symbol/ticker queries and the order body ({} in v2)
    assets_by_coin: bool  # the assets call asks for the base coin only (``?coin=``)
    order_extra: Mapping[str, str]  # order body fields after ``orderType``
    size_field: str  # order body field of the base quantity
    tif_field: str  # a limit order's time in force: v2 ``force``, v3 ``timeInForce`` (§5.6)
    # replies
    symbol_rows_list_only: bool  # symbol rows come only from a list (a lone object is no row)
    status_map: Mapping[str, str]  # the API's symbol status -> the sniper's; unmapped kept as is
    open_time_field: str  # scheduled open (ms): v2 ``openTime``, v3 ``launchTime``
    min_order_value_field: str
    max_market_order_field: str  # v2 ``maxMarketOrderValue`` (quote), v3 ``maxMarketOrderQty``
    last_price_field: str
    assets_key: str | None  # the asset rows are ``data[assets_key]`` (None: ``data`` itself)
    order_info_fields: Mapping[str, tuple[str, ...]]  # OrderState field -> reply fields, first wins
    # WebSocket ticker arg: {"instType": ws_inst_type, ws_channel_key: "ticker", ws_symbol_key: T}
    ws_inst_type: str
    ws_channel_key: str
    ws_symbol_key: str
    # private WebSocket (§7.4): its URL path, the order channel's subscribe arg (all symbols:
    # the pair may not exist yet), the push fields of an OrderState (first present wins), and
    # the row field naming the product line (v3 ``category``; v2 says it in the arg's instType)
    ws_private_path: str
    ws_order_arg: Mapping[str, str]
    ws_order_fields: Mapping[str, tuple[str, ...]]
    ws_order_row_category: str | None


CLASSIC_V2 = ApiGeneration(
    symbols_path="/api/v2/spot/public/symbols",
    tickers_path="/api/v2/spot/market/tickers",
    assets_path="/api/v2/spot/account/assets",
    order_path="/api/v2/spot/trade/place-order",
    order_info_path="/api/v2/spot/trade/orderInfo",
    category={},
    assets_by_coin=True,
    order_extra={"force": "gtc"},
    size_field="size",
    tif_field="force",
    symbol_rows_list_only=True,
    status_map={},
    open_time_field="openTime",  # §5.1: present on every real row, "" when unknown
    min_order_value_field="minTradeUSDT",
    max_market_order_field="maxMarketOrderValue",  # optional (§5.1), quote coin
    last_price_field="lastPr",
    assets_key=None,  # hold_only: a zero balance is simply absent
    order_info_fields={
        "status": ("status",),
        "size": ("size",),
        "base_volume": ("baseVolume",),
        "quote_volume": ("quoteVolume",),
        "price_avg": ("priceAvg",),
    },
    ws_inst_type="SPOT",
    ws_channel_key="channel",
    ws_symbol_key="instId",
    ws_private_path="/v2/ws/private",
    ws_order_arg={"instType": "SPOT", "channel": "orders", "instId": "default"},
    ws_order_fields={
        "status": ("status",),
        "size": ("size",),
        # cumulative; the push's ``baseVolume`` is the size of the one fill it reports (§7.4)
        "base_volume": ("accBaseVolume",),
        "quote_volume": ("quoteVolume",),  # not in v2 pushes: derived (parse_order_push)
        "price_avg": ("priceAvg",),
    },
    ws_order_row_category=None,
)

# v3 instrument status -> the sniper's words (bitget-api.md §5.10; UTA statuses are listed,
# online, limit_open, limit_close, offline, restrictedAPI). "listed" is the pre-open state the
# v2 API calls gray [UNCERTAIN]; anything not mapped is kept as the API says it (and is not
# "online", so only a ticker or the schedule fires for it). Keys are lower case (the status is
# compared case-insensitively).
V3_STATUS: Mapping[str, str] = {
    "listed": "gray",
    "online": "online",
    "limit_close": "halt",
    "offline": "offline",
    "restrictedapi": "restricted",
}

UTA_V3 = ApiGeneration(
    symbols_path="/api/v3/market/instruments",
    tickers_path="/api/v3/market/tickers",
    assets_path="/api/v3/account/assets",
    order_path="/api/v3/trade/place-order",
    order_info_path="/api/v3/trade/order-info",
    category={"category": "SPOT"},
    assets_by_coin=False,
    order_extra={},
    size_field="qty",
    tif_field="timeInForce",
    symbol_rows_list_only=False,
    status_map=V3_STATUS,
    # §5.11: the real v3 row has no openTime; launchTime is the launch ("0"/null for some
    # pairs). limitOpenTime is a *restriction* time and is never taken for the open.
    open_time_field="launchTime",
    min_order_value_field="minOrderAmount",
    max_market_order_field="maxMarketOrderQty",  # base coin
    last_price_field="lastPrice",
    assets_key="assets",  # v3 rows carry available and locked
    order_info_fields={
        "status": ("orderStatus", "status"),
        "size": ("qty",),
        "base_volume": ("cumExecQty",),
        "quote_volume": ("cumExecValue",),
        "price_avg": ("avgPrice",),
    },
    ws_inst_type="spot",
    ws_channel_key="topic",
    ws_symbol_key="symbol",
    ws_private_path="/v3/ws/private",
    ws_order_arg={"instType": "UTA", "topic": "order"},  # upper-case UTA (lower case: 30001)
    ws_order_fields={
        "status": ("orderStatus", "status"),
        "size": ("qty",),
        "base_volume": ("cumExecQty",),
        "quote_volume": ("cumExecValue",),
        "price_avg": ("avgPrice",),
    },
    ws_order_row_category="category",  # lower case on the wire (``spot``)
)


def _first(row: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """The value of the first of ``names`` the row carries (even a null), else ``""``."""
    for name in names:
        if name in row:
            return row[name]
    return ""


def _endpoint(path: str) -> str:
    """The last path segment, to name a call in an error: ``symbols``, ``order-info``."""
    return path.rsplit("/", 1)[-1]


class _PrivateFeed:
    """The private WebSocket of :class:`Venue` (§7.4): login, the order channel, its events and
    pushes — everything the order feed (``orderfeed.py``) asks of the venue."""

    api: ApiGeneration

    def private_login(
        self,
        *,
        api_key: Secret | str,
        passphrase: Secret | str,
        secret: Secret | str,
        timestamp_s: int,
    ) -> bytes:
        """The login frame: ``sign = Base64(HMAC_SHA256(secret, ts + "GET" + "/user/verify"))``
        with ``ts`` in SECONDS of the exchange clock (§3.2 test vector, §7.4). The frame holds
        the key and passphrase: never log it."""
        from sniper._fast import sign  # the compiled signer (loaded only when logging in)

        if isinstance(timestamp_s, bool) or not 10**9 <= timestamp_s < 10**10:
            raise ValueError(f"timestamp_s must be 10 digits (seconds), got {timestamp_s!r}")
        prehash = f"{timestamp_s}GET/user/verify".encode()
        signature = sign(_reveal(secret).encode(), prehash).decode("ascii")
        arg = {
            "apiKey": _reveal(api_key),
            "passphrase": _reveal(passphrase),
            "timestamp": str(timestamp_s),
            "sign": signature,
        }
        return json.dumps({"op": "login", "args": [arg]}, separators=(",", ":")).encode()

    def order_subscribe(self) -> bytes:
        """Subscribe to the spot order channel for every symbol (v2 ``orders`` with
        ``instId: default``, v3 topic ``order``)."""
        arg = dict(self.api.ws_order_arg)
        return json.dumps({"op": "subscribe", "args": [arg]}, separators=(",", ":")).encode()

    def private_ws_url(self, public_url: str) -> str:
        """The private WebSocket URL beside a public one: its scheme and host with this
        generation's private path (``wss://ws.bitget.com/v2/ws/private``, ``/v3/ws/private``;
        demo: the ``wspap`` host of a demo public URL, §2)."""
        parts = urlsplit(public_url)
        return urlunsplit((parts.scheme, parts.netloc, self.api.ws_private_path, "", ""))

    def private_event(self, event: Mapping[str, Any]) -> str:
        """What a private-WS event says: ``logged-in`` (login code 0 or "0") |
        ``login-refused`` (a :data:`WS_LOGIN_REFUSED` code, or a login event with any other
        code) | ``subscribed`` (the order channel's ack) | ``not-logged-in`` (30004) |
        ``error`` (any other error) | ``other``."""
        kind = event.get("event")
        code = event.get("code")
        code_text = "" if code is None or isinstance(code, bool) else str(code)
        if kind == "login":
            return "logged-in" if code_text == "0" else "login-refused"
        if kind == "subscribe":
            return "subscribed" if self._is_order_arg(event.get("arg")) else "other"
        if kind == "error":
            if code_text in WS_LOGIN_REFUSED:
                return "login-refused"
            return "not-logged-in" if code_text == WS_NOT_LOGGED_IN else "error"
        return "other"

    def _is_order_arg(self, arg: object) -> bool:
        """``arg`` names the order channel: same instType and channel/topic name (any case);
        v2 echoes the instId (``default`` or a symbol), which does not matter here."""
        if not isinstance(arg, dict):
            return False
        api = self.api
        key = api.ws_channel_key
        for name in ("instType", key):
            if str(arg.get(name, "")).lower() != api.ws_order_arg[name].lower():
                return False
        return True

    def parse_order_push(self, doc: Any) -> list[OrderState]:
        """The spot orders of one order-channel push (tolerant: the field set drifts, §7.4).

        ``[]`` for anything else: an event, another channel, another product line (a v2 arg
        instType or a v3 row ``category`` that is not spot — a row without ``category`` is
        kept), a row with neither orderId nor clientOid. Statuses are lower case, with the
        spellings ``canceled`` / ``full_fill`` / ``partial_fill`` read as ``cancelled`` /
        ``filled`` / ``partially_filled``. Missing fields are ``""``; v2 pushes carry no
        cumulative quote volume, so it is ``accBaseVolume * priceAvg`` when both are numbers."""
        if not isinstance(doc, dict) or "event" in doc or not self._is_order_arg(doc.get("arg")):
            return []
        rows = doc.get("data")
        api = self.api
        out = []
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                continue
            category = api.ws_order_row_category
            if category is not None and str(row.get(category, "spot")).lower() != "spot":
                continue
            order_id, client_oid = _text(row.get("orderId")), _text(row.get("clientOid"))
            if not order_id and not client_oid:
                continue
            values = {f: _text(_first(row, names)) for f, names in api.ws_order_fields.items()}
            status = values["status"].lower()
            values["status"] = ORDER_STATUS_ALIASES.get(status, status)
            if not values["quote_volume"]:
                values["quote_volume"] = _product(values["base_volume"], values["price_avg"])
            out.append(OrderState(order_id=order_id, client_oid=client_oid, **values))
        return out


class _VenueBase(_PrivateFeed):
    """The one implementation of :class:`Venue`; each venue supplies these four."""

    name: str
    mode: str
    table: outcomes.CodeTable
    api: ApiGeneration

    def __init__(self, target: str, base_coin: str) -> None:
        self.target = target
        self.base_coin = base_coin

    @property
    def hints(self) -> Mapping[str, tuple[str, str]]:
        return self.table.hints

    # --- public -------------------------------------------------------------------------------
    def time_call(self) -> Call:
        return Call("GET", "/api/v2/public/time")

    def parse_server_time(self, data: Any) -> int:
        if isinstance(data, dict):
            data = data.get("serverTime")
        ms = _ms(data)
        if ms is None:
            raise ValueError(f"no serverTime in {data!r:.80}")
        return ms

    def symbol_call(self) -> Call:
        query = urlencode({**self.api.category, "symbol": self.target})
        return Call("GET", self.api.symbols_path, query)

    def parse_symbol(self, env: Envelope, now_ms: int | None = None) -> SymbolState:
        """Our row of a symbols / instruments reply. ``now_ms`` (exchange clock; default the
        local clock) tells an announced open time from a far-future placeholder."""
        api = self.api
        if now_ms is None:
            now_ms = time.time_ns() // 1_000_000
        if env.code in self.table.symbol_absent:
            return SymbolState("absent")
        if not env.ok:
            raise ValueError(f"{_endpoint(api.symbols_path)}: {env.code} {env.msg}")
        if api.symbol_rows_list_only:
            rows = env.data if isinstance(env.data, list) else []
        else:
            rows = _envelope_rows(env)
        for row in rows:
            if isinstance(row, dict) and row.get("symbol") == self.target:
                raw = str(row.get("status", "")).lower()
                cap = _dec(row.get(api.max_market_order_field))
                cap = cap if cap is not None and cap > 0 else None
                cap_field = (
                    "max_market_order_qty"
                    if api.max_market_order_field.endswith("Qty")
                    else "max_market_order_value"
                )
                status = api.status_map.get(raw, raw)
                return SymbolState(
                    status=status,
                    open_time_ms=announced_open_ms(row.get(api.open_time_field), now_ms),
                    quantity_precision=_int(row.get("quantityPrecision")),
                    min_order_value=_dec(row.get(api.min_order_value_field)),
                    price_precision=_int(row.get("pricePrecision")),
                    restricted_api=raw == "restrictedapi",
                    sell_limit_price_ratio=_dec(row.get("sellLimitPriceRatio")),
                    **{cap_field: cap},
                )
        return SymbolState("absent")

    def ticker_call(self) -> Call:
        query = urlencode({**self.api.category, "symbol": self.target})
        return Call("GET", self.api.tickers_path, query)

    def parse_last_price(self, env: Envelope) -> Decimal | None:
        """The last price of our row; None when there is none (a gray pair has no ticker yet)."""
        if not env.ok:
            return None
        for row in _envelope_rows(env):
            if isinstance(row, dict) and row.get("symbol") == self.target:
                price = _dec(row.get(self.api.last_price_field))
                return price if price is not None and price > 0 else None
        return None

    # --- private ------------------------------------------------------------------------------
    def assets_call(self) -> Call:
        query = urlencode({"coin": self.base_coin}) if self.api.assets_by_coin else ""
        return Call("GET", self.api.assets_path, query)

    def _row(self, data: Any) -> Mapping[str, Any] | None:
        key = self.api.assets_key
        if key is not None:
            data = data.get(key) if isinstance(data, dict) else None
        for row in data if isinstance(data, list) else []:
            if isinstance(row, dict) and str(row.get("coin", "")).upper() == self.base_coin:
                return row
        return None

    def parse_available(self, data: Any) -> Decimal:
        row = self._row(data)
        value = _dec(row.get("available")) if row is not None else None
        return value if value is not None else Decimal(0)

    def parse_holdings(self, data: Any) -> Decimal:
        """available + frozen + locked: everything the account holds of the base coin."""
        row = self._row(data)
        return _holdings(row) if row is not None else Decimal(0)

    def order_call(
        self, size: str, client_oid: str, *, price: str | None = None, tif: str = "gtc"
    ) -> Call:
        """The sell: a market order, or (``price``: the floor, already formatted to the pair's
        pricePrecision) a LIMIT sell at ``price`` whose rest is ``tif`` (gtc | ioc) — v2
        ``orderType limit, price, force``, v3 ``orderType limit, price, timeInForce``."""
        api = self.api
        if price is None:
            fields = {
                **api.category,
                "symbol": self.target,
                "side": "sell",
                "orderType": "market",
                **api.order_extra,
                api.size_field: size,
                "clientOid": client_oid,
            }
        else:
            fields = {
                **api.category,
                "symbol": self.target,
                "side": "sell",
                "orderType": "limit",
                "price": price,
                api.tif_field: tif,
                api.size_field: size,
                "clientOid": client_oid,
            }
        body = json.dumps(fields, separators=(",", ":")).encode()
        return Call("POST", api.order_path, "", body)

    def permission_probe_call(self) -> Call:
        """A place-order with an empty body (``{}``): never an order. The exchange checks the
        key's trade permission before the parameters, so 40014 means no trade permission and a
        parameter error (40019/40020) means the permission is there (``sniper check``)."""
        return Call("POST", self.api.order_path, "", b"{}")

    def parse_order_ack(self, data: Any) -> str:
        if isinstance(data, dict) and data.get("orderId"):
            return str(data["orderId"])
        return ""

    def order_info_call(self, client_oid: str, *, order_id: str | None = None) -> Call:
        """The order by clientOid, or by ``order_id`` when given (§5.9 v2 ``orderInfo``, §5.10
        v3 ``order-info``: either key): copies of one volley share their clientOid, so each
        accepted copy is read by its own orderId."""
        if order_id:
            return Call("GET", self.api.order_info_path, urlencode({"orderId": order_id}))
        return Call("GET", self.api.order_info_path, urlencode({"clientOid": client_oid}))

    def parse_order_info(self, env: Envelope) -> OrderState | None:
        """``None`` = the exchange says the order does not exist (a not-found code, or no row).
        The first row: where a clientOid may name more than one venue order (copies in flight),
        :meth:`parse_order_infos` reads them all."""
        rows = self.parse_order_infos(env)
        return rows[0] if rows else None

    def parse_order_infos(self, env: Envelope) -> list[OrderState]:
        """Every order row of an order lookup (v2 ``data`` is an array, §5.9: which orders a
        clientOid shared by several answers with is not documented); ``[]`` = not found."""
        if env.code in self.table.order_not_found:
            return []
        if not env.ok:
            raise ValueError(f"{_endpoint(self.api.order_info_path)}: {env.code} {env.msg}")
        return [
            OrderState(
                order_id=str(row.get("orderId")),
                client_oid=str(row.get("clientOid", "")),
                **{
                    field: str(_first(row, names))
                    for field, names in self.api.order_info_fields.items()
                },
            )
            for row in _envelope_rows(env)
            if isinstance(row, dict) and row.get("orderId")
        ]

    # --- verdicts -----------------------------------------------------------------------------
    def classify(self, env: Envelope) -> Outcome:
        return outcomes.classify_order_reply(env.http_status, env.code, self.table)

    def explain(self, env: Envelope) -> str:
        if env.http_status == 429 and env.code in (None, "429"):
            return f"rate limited by the exchange (HTTP 429: {env.msg or 'Too Many Requests'})"
        if env.code is None:
            return f"unexpected HTTP {env.http_status} reply ({env.msg or 'empty body'})"
        return outcomes.explain(env.code, env.msg, self.table.hints)

    def is_auth_error(self, env: Envelope) -> bool:
        return env.code in self.table.auth

    def is_transient(self, env: Envelope) -> bool:
        return outcomes.is_transient(env.http_status, env.code, self.table)

    def is_rate_limited(self, env: Envelope) -> bool:
        """HTTP 429, or a rate-limit code (``429``; v3 ``25004``): slow down."""
        return env.http_status == 429 or env.code in self.table.rate_limited

    # --- WebSocket ----------------------------------------------------------------------------
    def ws_subscribe(self) -> bytes:
        api = self.api
        arg = {
            "instType": api.ws_inst_type,
            api.ws_channel_key: "ticker",
            api.ws_symbol_key: self.target,
        }
        return json.dumps({"op": "subscribe", "args": [arg]}, separators=(",", ":")).encode()

    def ws_event(self, event: Mapping[str, Any]) -> str:
        """``subscribed`` | ``unknown-symbol`` (30001 for our pair) | ``error`` | ``other``."""
        kind = event.get("event")
        arg = event.get("arg")
        if arg is None and kind == "error":
            # v3 errors carry no arg; the msg names it as JSON: '{"instType":…} doesn't exist'
            arg = _arg_in_message(event.get("msg"))
        ours = isinstance(arg, dict) and self._our_ticker_arg(arg)
        if kind == "subscribe" and ours:
            return "subscribed"
        if kind == "error":
            if str(event.get("code")) == "30001" and (ours or arg is None):
                return "unknown-symbol"
            return "error"
        return "other"

    def _our_ticker_arg(self, arg: Mapping[str, Any]) -> bool:
        """The spot ticker arg of our pair (an ack for our symbol on another channel, or on
        futures, is not our subscription)."""
        api = self.api
        inst_type = arg.get("instType")
        return (
            arg.get(api.ws_symbol_key) == self.target
            and arg.get(api.ws_channel_key) == "ticker"
            and (inst_type is None or str(inst_type).lower() == "spot")
        )


# Order status spellings read as the documented ones: futures frames spell ``canceled``
# (§7.4; the spot spelling is [UNCERTAIN]), v1 and old examples ``full_fill`` /
# ``partial_fill`` (§5.9, §8).
ORDER_STATUS_ALIASES: Mapping[str, str] = {
    "canceled": "cancelled",
    "full_fill": "filled",
    "partial_fill": "partially_filled",
}
# An order in one of these states will not change any more.
ORDER_DONE_STATUSES = frozenset({"filled", "cancelled"})

# Private WS login refusals (§7.3, §7.4), numeric or string on the wire, in plain words. They
# never quote the exchange's msg: nothing a server echoes about a credential reaches a log.
WS_LOGIN_REFUSED: Mapping[str, str] = {
    "30005": "the exchange refused the WebSocket login (30005): check BITGET_API_KEY, "
    "BITGET_SECRET_KEY and BITGET_PASSPHRASE",
    "30011": "the API key was not accepted (30011 invalid ACCESS_KEY): check BITGET_API_KEY "
    "(and BITGET_DEMO: demo keys work only in demo trading)",
    "30012": "the passphrase was not accepted (30012 invalid ACCESS_PASSPHRASE): check "
    "BITGET_PASSPHRASE",
    "30013": "the login timestamp was not accepted (30013 invalid ACCESS_TIMESTAMP)",
    "30014": "the login timestamp had expired (30014): the exchange clock is off by more than 30 s",
    "30015": "the login signature was not accepted (30015 invalid sign): check BITGET_SECRET_KEY",
}
# Refusals about time, not about the credentials: a later attempt may well succeed.
WS_LOGIN_CLOCK_CODES = frozenset({"30013", "30014"})
WS_NOT_LOGGED_IN = "30004"


def ws_login_refusal(event: Mapping[str, Any]) -> tuple[str, str]:
    """(code, plain words) of a refused login event; the code is ``""`` when there is none."""
    code = event.get("code")
    text = "" if code is None or isinstance(code, bool) else str(code)
    words = WS_LOGIN_REFUSED.get(text, f"the exchange refused the WebSocket login ({text or '?'})")
    return text, words


def order_done(state: OrderState) -> bool:
    """The order is final: filled or cancelled (possibly partly filled before it was)."""
    return state.status in ORDER_DONE_STATUSES


def _reveal(value: Secret | str) -> str:
    return value.reveal() if isinstance(value, Secret) else value


def _text(value: object) -> str:
    """A push field as text: ``""`` for a missing or null value."""
    return "" if value is None else str(value)


def _product(a: str, b: str) -> str:
    """``a * b`` as a plain decimal string, ``""`` unless both are finite numbers."""
    x, y = _dec(a), _dec(b)
    if x is None or y is None:
        return ""
    return format((x * y).normalize(), "f")


class ClassicVenue(_VenueBase):
    """Bitget v2, classic account."""

    name = "classic-v2"
    mode = "classic"
    table = outcomes.V2_TABLE
    api = CLASSIC_V2


class UtaVenue(_VenueBase):
    """Bitget v3, Unified Trading Account (bitget-api.md §5.10)."""

    name = "uta-v3"
    mode = "uta"
    table = outcomes.V3_TABLE
    api = UTA_V3


def make_venue(mode: str, target: str, base_coin: str) -> Venue:
    """The venue of an account mode: ``classic`` (v2) or ``uta`` (v3)."""
    if mode == "uta":
        return UtaVenue(target, base_coin)
    if mode == "classic":
        return ClassicVenue(target, base_coin)
    raise ValueError(f"account mode must be classic or uta, got {mode!r}")
