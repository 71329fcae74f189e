"""Venue calls behind one small interface, so the executor never spells a path or a code.

:class:`ClassicVenue` speaks the v2 classic-account API (bitget-api.md §5-§7);
:class:`UtaVenue` the v3 Unified Trading Account API (§5.10: ``/api/v3/...``, ``category`` /
``qty``, 25xxx codes, the v3 WS arg ``{"instType":"spot","topic":"ticker","symbol":T}``). The
executor, the poller, the feed and ``sniper check`` only use :class:`Venue`;
:func:`make_venue` picks one for an account mode, :func:`account_settings_call` is the signed
call that tells the modes apart (success: UTA; 40084: classic).

Both read the exchange clock from ``/api/v2/public/time``: a public endpoint, open to either
account generation (only private v2 calls answer 40085 to a UTA key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from urllib.parse import urlencode

from sniper.live import outcomes
from sniper.live.outcomes import Outcome


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

    @property
    def ok(self) -> bool:
        return self.code == outcomes.V2_SUCCESS and 200 <= self.http_status < 300


@dataclass(frozen=True)
class SymbolState:
    status: str  # "absent" | "gray" | "online" | "offline" | "halt" | anything else the API says
    open_time_ms: int | None = None  # scheduled open (server clock, ms) when known
    quantity_precision: int | None = None  # decimals allowed in the base quantity
    # minimum order value in the quote coin (v2 ``minTradeUSDT``, v3 ``minOrderAmount``)
    min_order_value: Decimal | None = None


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
        doc = json.loads(body)
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
    )


def _ms(value: object) -> int | None:
    """openTime: a ms string, a number, ``""`` or missing."""
    if value is None or value == "":
        return None
    try:
        ms = int(str(value))
    except ValueError:
        return None
    return ms if ms > 0 else None


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
    def parse_symbol(self, env: Envelope) -> SymbolState: ...
    def ticker_call(self) -> Call: ...
    def parse_last_price(self, env: Envelope) -> Decimal | None: ...
    def assets_call(self) -> Call: ...
    def parse_available(self, data: Any) -> Decimal: ...
    def parse_holdings(self, data: Any) -> Decimal: ...
    def order_call(self, size: str, client_oid: str) -> Call: ...
    def permission_probe_call(self) -> Call: ...
    def parse_order_ack(self, data: Any) -> str: ...
    def order_info_call(self, client_oid: str) -> Call: ...
    def parse_order_info(self, env: Envelope) -> OrderState | None: ...
    def classify(self, env: Envelope) -> Outcome: ...
    def explain(self, env: Envelope) -> str: ...
    def is_auth_error(self, env: Envelope) -> bool: ...
    def is_transient(self, env: Envelope) -> bool: ...
    def ws_subscribe(self) -> bytes: ...
    def ws_event(self, event: Mapping[str, Any]) -> str: ...


class _VenueBase:
    """What both generations share: the clock, the envelope verdicts, the order ack."""

    name = ""
    mode = ""
    table = outcomes.V2_TABLE
    order_path = ""

    def __init__(self, target: str, base_coin: str) -> None:
        self.target = target
        self.base_coin = base_coin

    @property
    def hints(self) -> Mapping[str, tuple[str, str]]:
        return self.table.hints

    def time_call(self) -> Call:
        return Call("GET", "/api/v2/public/time")

    def parse_server_time(self, data: Any) -> int:
        if isinstance(data, dict):
            data = data.get("serverTime")
        ms = _ms(data)
        if ms is None:
            raise ValueError(f"no serverTime in {data!r:.80}")
        return ms

    def permission_probe_call(self) -> Call:
        """A place-order with an empty body (``{}``): never an order. The exchange checks the
        key's trade permission before the parameters, so 40014 means no trade permission and a
        parameter error (40019/40020) means the permission is there (``sniper check``)."""
        return Call("POST", self.order_path, "", b"{}")

    def parse_order_ack(self, data: Any) -> str:
        if isinstance(data, dict) and data.get("orderId"):
            return str(data["orderId"])
        return ""

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


class ClassicVenue(_VenueBase):
    """Bitget v2, classic account."""

    name = "classic-v2"
    mode = "classic"
    table = outcomes.V2_TABLE
    order_path = "/api/v2/spot/trade/place-order"

    # --- public -------------------------------------------------------------------------------
    def symbol_call(self) -> Call:
        return Call("GET", "/api/v2/spot/public/symbols", urlencode({"symbol": self.target}))

    def parse_symbol(self, env: Envelope) -> SymbolState:
        if env.code in self.table.symbol_absent:
            return SymbolState("absent")
        if not env.ok:
            raise ValueError(f"symbols: {env.code} {env.msg}")
        rows = env.data if isinstance(env.data, list) else []
        for row in rows:
            if isinstance(row, dict) and row.get("symbol") == self.target:
                return SymbolState(
                    status=str(row.get("status", "")).lower(),
                    open_time_ms=_ms(row.get("openTime")),
                    quantity_precision=_int(row.get("quantityPrecision")),
                    min_order_value=_dec(row.get("minTradeUSDT")),
                )
        return SymbolState("absent")

    def ticker_call(self) -> Call:
        return Call("GET", "/api/v2/spot/market/tickers", urlencode({"symbol": self.target}))

    def parse_last_price(self, env: Envelope) -> Decimal | None:
        """``lastPr`` of our row; None when there is none (a gray pair has no ticker yet)."""
        if not env.ok:
            return None
        for row in _envelope_rows(env):
            if isinstance(row, dict) and row.get("symbol") == self.target:
                price = _dec(row.get("lastPr"))
                return price if price is not None and price > 0 else None
        return None

    # --- private ------------------------------------------------------------------------------
    def assets_call(self) -> Call:
        return Call("GET", "/api/v2/spot/account/assets", urlencode({"coin": self.base_coin}))

    def _row(self, data: Any) -> Mapping[str, Any] | None:
        rows = data if isinstance(data, list) else []
        for row in rows:
            if isinstance(row, dict) and str(row.get("coin", "")).upper() == self.base_coin:
                return row
        return None  # hold_only: a zero balance is simply absent

    def parse_available(self, data: Any) -> Decimal:
        row = self._row(data)
        value = _dec(row.get("available")) if row is not None else None
        return value if value is not None else Decimal(0)

    def parse_holdings(self, data: Any) -> Decimal:
        """available + frozen + locked: everything the account holds of the base coin."""
        row = self._row(data)
        return _holdings(row) if row is not None else Decimal(0)

    def order_call(self, size: str, client_oid: str) -> Call:
        body = json.dumps(
            {
                "symbol": self.target,
                "side": "sell",
                "orderType": "market",
                "force": "gtc",
                "size": size,
                "clientOid": client_oid,
            },
            separators=(",", ":"),
        ).encode()
        return Call("POST", self.order_path, "", body)

    def order_info_call(self, client_oid: str) -> Call:
        return Call("GET", "/api/v2/spot/trade/orderInfo", urlencode({"clientOid": client_oid}))

    def parse_order_info(self, env: Envelope) -> OrderState | None:
        """``None`` = the exchange says the order does not exist (43001 or an empty list)."""
        if env.code in self.table.order_not_found:
            return None
        if not env.ok:
            raise ValueError(f"orderInfo: {env.code} {env.msg}")
        rows = env.data if isinstance(env.data, list) else [env.data] if env.data else []
        for row in rows:
            if isinstance(row, dict) and row.get("orderId"):
                return OrderState(
                    order_id=str(row.get("orderId")),
                    client_oid=str(row.get("clientOid", "")),
                    status=str(row.get("status", "")),
                    size=str(row.get("size", "")),
                    base_volume=str(row.get("baseVolume", "")),
                    quote_volume=str(row.get("quoteVolume", "")),
                    price_avg=str(row.get("priceAvg", "")),
                )
        return None

    # --- WebSocket ----------------------------------------------------------------------------
    def ws_subscribe(self) -> bytes:
        arg = {"instType": "SPOT", "channel": "ticker", "instId": self.target}
        return json.dumps({"op": "subscribe", "args": [arg]}, separators=(",", ":")).encode()

    def ws_event(self, event: Mapping[str, Any]) -> str:
        """``subscribed`` | ``unknown-symbol`` (30001 for our pair) | ``error`` | ``other``."""
        kind = event.get("event")
        arg = event.get("arg")
        ours = isinstance(arg, dict) and arg.get("instId") == self.target
        if kind == "subscribe" and ours:
            return "subscribed"
        if kind == "error":
            if str(event.get("code")) == "30001" and (ours or arg is None):
                return "unknown-symbol"
            return "error"
        return "other"


# v3 instrument status -> the sniper's words (bitget-api.md §5.10; UTA statuses are listed,
# online, limit_open, limit_close, offline, restrictedAPI). "listed" is the pre-open state the
# v2 API calls gray [UNCERTAIN]; anything not mapped is kept as the API says it (and is not
# "online", so only a ticker or the schedule fires for it).
V3_STATUS: Mapping[str, str] = {
    "listed": "gray",
    "online": "online",
    "limit_close": "halt",
    "offline": "offline",
}


class UtaVenue(_VenueBase):
    """Bitget v3, Unified Trading Account (bitget-api.md §5.10)."""

    name = "uta-v3"
    mode = "uta"
    table = outcomes.V3_TABLE
    order_path = "/api/v3/trade/place-order"

    # --- public -------------------------------------------------------------------------------
    def symbol_call(self) -> Call:
        return Call(
            "GET",
            "/api/v3/market/instruments",
            urlencode({"category": "SPOT", "symbol": self.target}),
        )

    def parse_symbol(self, env: Envelope) -> SymbolState:
        if env.code in self.table.symbol_absent:
            return SymbolState("absent")
        if not env.ok:
            raise ValueError(f"instruments: {env.code} {env.msg}")
        for row in _envelope_rows(env):
            if isinstance(row, dict) and row.get("symbol") == self.target:
                raw = str(row.get("status", "")).lower()
                # openTime when the venue gives one; limitOpenTime otherwise [UNCERTAIN]
                open_ms = _ms(row.get("openTime")) or _ms(row.get("limitOpenTime"))
                return SymbolState(
                    status=V3_STATUS.get(raw, raw),
                    open_time_ms=open_ms,
                    quantity_precision=_int(row.get("quantityPrecision")),
                    min_order_value=_dec(row.get("minOrderAmount")),
                )
        return SymbolState("absent")

    def ticker_call(self) -> Call:
        return Call(
            "GET", "/api/v3/market/tickers", urlencode({"category": "SPOT", "symbol": self.target})
        )

    def parse_last_price(self, env: Envelope) -> Decimal | None:
        if not env.ok:
            return None
        for row in _envelope_rows(env):
            if isinstance(row, dict) and row.get("symbol") == self.target:
                price = _dec(row.get("lastPrice"))
                return price if price is not None and price > 0 else None
        return None

    # --- private ------------------------------------------------------------------------------
    def assets_call(self) -> Call:
        return Call("GET", "/api/v3/account/assets")

    def _row(self, data: Any) -> Mapping[str, Any] | None:
        assets = data.get("assets") if isinstance(data, dict) else None
        for row in assets if isinstance(assets, list) else []:
            if isinstance(row, dict) and str(row.get("coin", "")).upper() == self.base_coin:
                return row
        return None

    def parse_available(self, data: Any) -> Decimal:
        row = self._row(data)
        value = _dec(row.get("available")) if row is not None else None
        return value if value is not None else Decimal(0)

    def parse_holdings(self, data: Any) -> Decimal:
        """available + frozen + locked of the base coin (v3 rows carry available and locked)."""
        row = self._row(data)
        return _holdings(row) if row is not None else Decimal(0)

    def order_call(self, size: str, client_oid: str) -> Call:
        body = json.dumps(
            {
                "category": "SPOT",
                "symbol": self.target,
                "side": "sell",
                "orderType": "market",
                "qty": size,
                "clientOid": client_oid,
            },
            separators=(",", ":"),
        ).encode()
        return Call("POST", self.order_path, "", body)

    def order_info_call(self, client_oid: str) -> Call:
        return Call("GET", "/api/v3/trade/order-info", urlencode({"clientOid": client_oid}))

    def parse_order_info(self, env: Envelope) -> OrderState | None:
        """``None`` = the exchange says the order does not exist (25204/43001 or no row)."""
        if env.code in self.table.order_not_found:
            return None
        if not env.ok:
            raise ValueError(f"order-info: {env.code} {env.msg}")
        for row in _envelope_rows(env):
            if isinstance(row, dict) and row.get("orderId"):
                return OrderState(
                    order_id=str(row.get("orderId")),
                    client_oid=str(row.get("clientOid", "")),
                    status=str(row.get("orderStatus", row.get("status", ""))),
                    size=str(row.get("qty", "")),
                    base_volume=str(row.get("cumExecQty", "")),
                    quote_volume=str(row.get("cumExecValue", "")),
                    price_avg=str(row.get("avgPrice", "")),
                )
        return None

    # --- WebSocket ----------------------------------------------------------------------------
    def ws_subscribe(self) -> bytes:
        arg = {"instType": "spot", "topic": "ticker", "symbol": self.target}
        return json.dumps({"op": "subscribe", "args": [arg]}, separators=(",", ":")).encode()

    def ws_event(self, event: Mapping[str, Any]) -> str:
        """``subscribed`` | ``unknown-symbol`` (30001 for our pair) | ``error`` | ``other``."""
        kind = event.get("event")
        arg = event.get("arg")
        ours = isinstance(arg, dict) and arg.get("symbol") == self.target
        if kind == "subscribe" and ours:
            return "subscribed"
        if kind == "error":
            if str(event.get("code")) == "30001" and (ours or arg is None):
                return "unknown-symbol"
            return "error"
        return "other"


def make_venue(mode: str, target: str, base_coin: str) -> Venue:
    """The venue of an account mode: ``classic`` (v2) or ``uta`` (v3)."""
    if mode == "uta":
        return UtaVenue(target, base_coin)
    if mode == "classic":
        return ClassicVenue(target, base_coin)
    raise ValueError(f"account mode must be classic or uta, got {mode!r}")
