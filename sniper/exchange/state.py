"""Accounts, symbols, orders and the (instant-fill) matching engine.

No I/O here: the REST layer hands in parsed parameters and gets back an order or an error.
All amounts are :class:`~decimal.Decimal`; they are formatted as strings only at the edge.
Times are ms on the *exchange* clock (host clock + ``faults.clock_skew_ms``).
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Literal

from .settings import ExchangeSettings

QUOTE_COINS = ("USDT", "USDC", "BTC", "ETH", "EUR")
SYMBOL_STATUSES = ("gray", "online", "halt", "offline")


def fmt(value: Decimal) -> str:
    """A decimal as a plain string without exponent or trailing zeros ("0" for zero)."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def fmt16(value: Decimal) -> str:
    """Balances as the real venue prints them: 16 decimals (§5.5 real capture)."""
    return f"{value.quantize(Decimal('1e-16'), rounding=ROUND_DOWN):f}"


def scale_of(value: Decimal) -> int:
    """Decimal places after stripping trailing zeros (BigDecimal.stripTrailingZeros().scale())."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def split_symbol(symbol: str) -> tuple[str, str]:
    for quote in QUOTE_COINS:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    raise ValueError(f"cannot split {symbol!r} into base and quote coin; pass base_coin/quote_coin")


@dataclass
class Account:
    """One API key. ``balances`` is the starting balance; the live one is ``available``."""

    api_key: str
    secret: str
    passphrase: str
    mode: Literal["classic", "uta"] = "classic"
    balances: Mapping[str, str | int | Decimal] = field(default_factory=dict)
    permissions: tuple[str, ...] = ("read", "trade")
    ip_whitelist: tuple[str, ...] | None = None  # None: any IP
    uid: str = field(default_factory=lambda: str(random.randint(10**9, 10**10 - 1)))
    available: dict[str, Decimal] = field(init=False)
    frozen: dict[str, Decimal] = field(init=False)
    # clientOid -> when (ms, exchange clock) an order last took it (the duplicate check)
    client_oids: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        if self.mode not in ("classic", "uta"):
            raise ValueError(f"Account.mode must be 'classic' or 'uta', got {self.mode!r}")
        self.available = {c.upper(): Decimal(str(v)) for c, v in self.balances.items()}
        self.frozen = {}
        self.client_oids = {}

    def __repr__(self) -> str:  # never show the secret or passphrase
        return f"Account(api_key={self.api_key!r}, mode={self.mode!r}, uid={self.uid!r})"

    def balance(self, coin: str) -> Decimal:
        return self.available.get(coin.upper(), Decimal(0))


@dataclass
class Symbol:
    symbol: str
    base_coin: str
    quote_coin: str
    status: str  # one of SYMBOL_STATUSES (meaningful only while visible)
    price: Decimal
    quantity_precision: int
    price_precision: int
    quote_precision: int
    min_trade_usdt: str
    visible: bool = True  # False: absent from every list (not listed yet)
    open_at_ms: int | None = None  # scheduled open (exchange clock), None = not scheduled
    open_time_ms: int | None = None  # what `openTime` shows (None -> "")
    listing_pushed: bool = False  # the first online ticker push has been written
    taker_fee_rate: str = "0.001"
    maker_fee_rate: str = "0.001"
    buy_limit_price_ratio: str = "0.05"
    sell_limit_price_ratio: str = "0.05"
    opened_at_ms: int | None = None  # when it actually went online

    def status_at(self, now_ms: int) -> str | None:
        """Status as seen by a client at ``now_ms``; None while absent."""
        if self.open_at_ms is not None and now_ms >= self.open_at_ms:
            return "online"
        return self.status if self.visible else None


@dataclass
class Order:
    order_id: str
    client_oid: str
    api_key: str
    user_id: str
    symbol: str
    side: str
    order_type: str
    size: str  # as sent: base qty (limit, market sell) or quote amount (market buy)
    price: str  # "0" for market
    force: str
    status: str  # "filled" or "live"
    price_avg: Decimal
    base_volume: Decimal
    quote_volume: Decimal
    fee: Decimal
    fee_coin: str
    c_time: int
    u_time: int
    api: str  # "v2" or "v3"

    def v2_info(self) -> dict[str, str]:
        fee_detail = {
            "newFees": {
                "c": 0,
                "d": 0,
                "deduction": False,
                "r": -float(self.fee),
                "t": -float(self.fee),
                "totalDeductionFee": 0,
            }
        }
        return {
            "userId": self.user_id,
            "symbol": self.symbol,
            "orderId": self.order_id,
            "clientOid": self.client_oid,
            "price": self.price,
            "size": self.size,
            "orderType": self.order_type,
            "side": self.side,
            "status": self.status,
            "priceAvg": fmt(self.price_avg),
            "baseVolume": fmt(self.base_volume),
            "quoteVolume": fmt(self.quote_volume),
            "enterPointSource": "API",
            "feeDetail": json.dumps(fee_detail, separators=(",", ":")),
            "orderSource": f"{self.order_type}",
            "cancelReason": "",
            "cTime": str(self.c_time),
            "uTime": str(self.u_time),
        }

    def v3_info(self) -> dict[str, object]:
        return {
            "orderId": self.order_id,
            "clientOid": self.client_oid,
            "category": "SPOT",
            "symbol": self.symbol,
            "orderType": self.order_type,
            "side": self.side,
            "price": self.price,
            "qty": self.size,
            "amount": fmt(self.quote_volume),
            "cumExecQty": fmt(self.base_volume),
            "cumExecValue": fmt(self.quote_volume),
            "avgPrice": fmt(self.price_avg),
            "timeInForce": self.force,
            "orderStatus": self.status,
            "posSide": "",
            "holdMode": "",
            "reduceOnly": "NO",
            "feeDetail": [{"feeCoin": self.fee_coin, "fee": fmt(self.fee)}],
            "cancelReason": "",
            "execType": "normal",
            "stpMode": "none",
            "createdTime": str(self.c_time),
            "updatedTime": str(self.u_time),
        }


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    msg: str


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """Parsed place-order parameters, API-neutral."""

    symbol: str
    side: str
    order_type: str
    size: str
    price: str | None
    force: str
    client_oid: str | None


class ExchangeState:
    def __init__(self, settings: ExchangeSettings) -> None:
        self.settings = settings
        self.accounts: dict[str, Account] = {}
        self.symbols: dict[str, Symbol] = {}
        self.orders: dict[str, Order] = {}
        self._orders_by_oid: dict[tuple[str, str], Order] = {}
        self._next_order_id = 1_323_504_373_667_975_176 + random.randint(0, 10**12)

    # --- symbols -------------------------------------------------------------------------
    def visible_symbols(self, now_ms: int) -> list[tuple[Symbol, str]]:
        rows = []
        for sym in self.symbols.values():
            status = sym.status_at(now_ms)
            if status is not None:
                rows.append((sym, status))
        return rows

    def find_symbol(self, name: str, now_ms: int) -> tuple[Symbol, str] | None:
        sym = self.symbols.get(name)
        if sym is None:
            return None
        status = sym.status_at(now_ms)
        return None if status is None else (sym, status)

    # --- orders --------------------------------------------------------------------------
    def new_order_id(self) -> str:
        self._next_order_id += random.randint(1, 5000)
        return str(self._next_order_id)

    def find_order(
        self, account: Account, order_id: str | None, client_oid: str | None
    ) -> Order | None:
        order = None
        if order_id:
            order = self.orders.get(order_id)
        elif client_oid:
            order = self._orders_by_oid.get((account.api_key, client_oid))
        if order is None or order.api_key != account.api_key:
            return None
        return order

    def place_order(
        self, account: Account, req: OrderRequest, *, now_ms: int, api: str
    ) -> Order | Rejection:
        """Validate in the order of §12.5 (after auth and parameter presence) and fill.

        Order: symbol exists -> status (gray 43115 / halt,offline 41114) -> precision (40808;
        price 41103) -> minimum value (45110) -> duplicate clientOid (43118, by default here:
        ``settings.duplicate_check``) -> balance (43012) -> accept. Market orders fill at once
        at the symbol's current price; a limit order fills at once if marketable, otherwise it
        rests as ``live`` with its funds frozen.
        """
        s = self.settings
        v3 = api == "v3"
        found = self.find_symbol(req.symbol, now_ms)
        if found is None:
            if v3:
                return Rejection(
                    s.v3_unknown_symbol_code, f"Trading pair {req.symbol} does not exist"
                )
            return Rejection(s.unknown_symbol_code, f"Parameter {req.symbol} does not exist")
        sym, status = found
        if status == "gray":
            return Rejection(
                s.v3_not_open_code if v3 else s.not_open_code,
                "The current trading pair is opening soon, please refer to the official "
                "announcement for the opening time",
            )
        if status in ("halt", "offline"):
            return Rejection(
                s.v3_halt_code if v3 else s.halt_code,
                "The current trading pair is under maintenance, please refer to the official "
                "announcement for the opening time",
            )
        size = Decimal(req.size)
        market_buy = req.order_type == "market" and req.side == "buy"
        size_scale = sym.quote_precision if market_buy else sym.quantity_precision
        if scale_of(size) > size_scale:
            return Rejection(
                s.v3_precision_code if v3 else "40808",
                f"Parameter verification exception size checkBDScale error value={req.size} "
                f"checkScale={size_scale}",
            )
        limit_price: Decimal | None = None
        if req.order_type == "limit":
            assert req.price is not None
            limit_price = Decimal(req.price)
            if scale_of(limit_price) > sym.price_precision:
                return Rejection("41103", "param price scale error error")
        ref_price = limit_price if limit_price is not None else sym.price
        value = size if market_buy else size * ref_price
        if value < Decimal(sym.min_trade_usdt):
            return Rejection(
                s.v3_min_value_code if v3 else "45110",
                f"less than the minimum amount {sym.min_trade_usdt} {sym.quote_coin}",
            )
        client_oid = req.client_oid or str(uuid.uuid4())
        duplicate = Rejection(
            s.v3_duplicate_code if v3 else s.duplicate_code,
            "clientOrderId duplicate" if not v3 else "Duplicate clientOid",
        )
        check_duplicate_first = s.duplicate_check == "before_balance"
        if check_duplicate_first and self._client_oid_taken(account, client_oid, now_ms):
            return duplicate
        spend_coin = sym.quote_coin if req.side == "buy" else sym.base_coin
        spend = value if req.side == "buy" else size
        if account.balance(spend_coin) < spend:
            return Rejection(
                s.v3_balance_code if v3 else "43012",
                "Insufficient balance",
            )
        if not check_duplicate_first and self._client_oid_taken(account, client_oid, now_ms):
            return duplicate
        account.client_oids[client_oid] = now_ms
        order = self._execute(account, sym, req, client_oid, size, limit_price, now_ms, api)
        self.orders[order.order_id] = order
        self._orders_by_oid[(account.api_key, client_oid)] = order  # the newest one
        return order

    def _client_oid_taken(self, account: Account, client_oid: str, now_ms: int) -> bool:
        """Is ``client_oid`` a duplicate now? Per ``duplicate_scope`` / ``duplicate_expiry_s``."""
        s = self.settings
        taken_ms = account.client_oids.get(client_oid)
        if taken_ms is None or now_ms - taken_ms >= s.duplicate_expiry_s * 1000:
            return False
        if s.duplicate_scope == "any":
            return True
        # "unfilled": only an order that is still open holds its clientOid
        order = self._orders_by_oid.get((account.api_key, client_oid))
        return order is not None and order.status in ("live", "new", "init", "partially_filled")

    def _execute(
        self,
        account: Account,
        sym: Symbol,
        req: OrderRequest,
        client_oid: str,
        size: Decimal,
        limit_price: Decimal | None,
        now_ms: int,
        api: str,
    ) -> Order:
        fee_rate = Decimal(self.settings.taker_fee_rate)
        price = sym.price
        base, quote = sym.base_coin, sym.quote_coin
        marketable = limit_price is None or (
            limit_price <= price if req.side == "sell" else limit_price >= price
        )
        order = Order(
            order_id=self.new_order_id(),
            client_oid=client_oid,
            api_key=account.api_key,
            user_id=account.uid,
            symbol=sym.symbol,
            side=req.side,
            order_type=req.order_type,
            size=req.size,
            price=req.price if req.order_type == "limit" and req.price else "0",
            force=req.force,
            status="filled",
            price_avg=Decimal(0),
            base_volume=Decimal(0),
            quote_volume=Decimal(0),
            fee=Decimal(0),
            fee_coin=quote if req.side == "sell" else base,
            c_time=now_ms,
            u_time=now_ms,
            api=api,
        )
        avail = account.available
        if not marketable:
            assert limit_price is not None
            order.status = "live"
            coin, amount = (base, size) if req.side == "sell" else (quote, size * limit_price)
            avail[coin] = avail.get(coin, Decimal(0)) - amount
            account.frozen[coin] = account.frozen.get(coin, Decimal(0)) + amount
            return order
        if req.side == "sell":
            base_qty = size
            quote_gross = base_qty * price
            fee = quote_gross * fee_rate
            avail[base] = avail.get(base, Decimal(0)) - base_qty
            avail[quote] = avail.get(quote, Decimal(0)) + quote_gross - fee
        else:
            quote_amt = size if req.order_type == "market" else size * price
            base_qty = size if req.order_type == "limit" else quote_amt / price
            if req.order_type == "market":
                base_qty = base_qty.quantize(
                    Decimal(1).scaleb(-sym.quantity_precision), rounding=ROUND_DOWN
                )
                quote_amt = base_qty * price
            quote_gross = quote_amt
            fee = base_qty * fee_rate
            avail[quote] = avail.get(quote, Decimal(0)) - quote_amt
            avail[base] = avail.get(base, Decimal(0)) + base_qty - fee
        order.price_avg = price
        order.base_volume = base_qty
        order.quote_volume = quote_gross
        order.fee = fee
        return order


def random_credentials() -> tuple[str, str, str]:
    """Throwaway (api_key, secret, passphrase) in Bitget's shapes."""
    return "bg_" + secrets.token_hex(16), secrets.token_hex(32), secrets.token_urlsafe(12)


def parse_decimal(text: object) -> Decimal | None:
    """A finite, positive decimal from a JSON string/number, else None."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        return None
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value <= 0:
        return None
    return value
