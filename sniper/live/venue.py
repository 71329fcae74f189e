"""Venue calls behind one small interface, so the executor never spells a path or a code.

:class:`ClassicVenue` speaks the v2 classic-account API (bitget-api.md §5-§7). A ``UtaVenue``
(v3: ``/api/v3/...``, ``category``/``qty``, 25xxx codes, v3 WS ``{"instType":"spot",
"topic":"ticker","symbol":T}``) can be added by implementing :class:`Venue`; the executor, the
poller and the feed only use this interface.
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
    min_trade_usdt: str | None = None


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


class Venue(Protocol):
    """What the sniper needs from one API generation."""

    name: str
    hints: Mapping[str, tuple[str, str]]

    def time_call(self) -> Call: ...
    def parse_server_time(self, data: Any) -> int: ...
    def symbol_call(self) -> Call: ...
    def parse_symbol(self, env: Envelope) -> SymbolState: ...
    def assets_call(self) -> Call: ...
    def parse_available(self, data: Any) -> Decimal: ...
    def order_call(self, size: str, client_oid: str) -> Call: ...
    def parse_order_ack(self, data: Any) -> str: ...
    def order_info_call(self, client_oid: str) -> Call: ...
    def parse_order_info(self, env: Envelope) -> OrderState | None: ...
    def classify(self, env: Envelope) -> Outcome: ...
    def explain(self, env: Envelope) -> str: ...
    def is_auth_error(self, env: Envelope) -> bool: ...
    def ws_subscribe(self) -> bytes: ...
    def ws_event(self, event: Mapping[str, Any]) -> str: ...


class ClassicVenue:
    """Bitget v2, classic account."""

    name = "classic-v2"
    hints = outcomes.V2_HINTS

    def __init__(self, target: str, base_coin: str) -> None:
        self.target = target
        self.base_coin = base_coin

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
        return Call("GET", "/api/v2/spot/public/symbols", urlencode({"symbol": self.target}))

    def parse_symbol(self, env: Envelope) -> SymbolState:
        if env.code in outcomes.V2_SYMBOL_ABSENT:
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
                    min_trade_usdt=row.get("minTradeUSDT"),
                )
        return SymbolState("absent")

    # --- private ------------------------------------------------------------------------------
    def assets_call(self) -> Call:
        return Call("GET", "/api/v2/spot/account/assets", urlencode({"coin": self.base_coin}))

    def parse_available(self, data: Any) -> Decimal:
        rows = data if isinstance(data, list) else []
        for row in rows:
            if isinstance(row, dict) and str(row.get("coin", "")).upper() == self.base_coin:
                try:
                    return Decimal(str(row.get("available", "0")))
                except InvalidOperation:
                    return Decimal(0)
        return Decimal(0)  # hold_only: a zero balance is simply absent

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
        return Call("POST", "/api/v2/spot/trade/place-order", "", body)

    def parse_order_ack(self, data: Any) -> str:
        if isinstance(data, dict) and data.get("orderId"):
            return str(data["orderId"])
        return ""

    def order_info_call(self, client_oid: str) -> Call:
        return Call("GET", "/api/v2/spot/trade/orderInfo", urlencode({"clientOid": client_oid}))

    def parse_order_info(self, env: Envelope) -> OrderState | None:
        """``None`` = the exchange says the order does not exist (43001 or an empty list)."""
        if env.code in outcomes.V2_ORDER_NOT_FOUND:
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

    def classify(self, env: Envelope) -> Outcome:
        return outcomes.classify_order_reply(env.http_status, env.code)

    def explain(self, env: Envelope) -> str:
        if env.http_status == 429 and env.code in (None, "429"):
            return f"rate limited by the exchange (HTTP 429: {env.msg or 'Too Many Requests'})"
        if env.code is None:
            return f"unexpected HTTP {env.http_status} reply ({env.msg or 'empty body'})"
        return outcomes.explain(env.code, env.msg, self.hints)

    def is_auth_error(self, env: Envelope) -> bool:
        return env.code in outcomes.AUTH_CODES

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
