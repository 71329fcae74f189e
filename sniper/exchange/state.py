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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Literal

from .book import BidBook, Execution, FillRecord
from .settings import ExchangeSettings

QUOTE_COINS = ("USDT", "USDC", "BTC", "ETH", "EUR")
SYMBOL_STATUSES = ("gray", "online", "halt", "offline")

# The message each order-rejection code carries, so a test that picks another code (a setting)
# gets that code's own text. v2: Bitget's REST error table (bitget-api.md §6, real replies of
# rest_error_v2); v3/UTA: Bitget's table of the 25xxx family (§5.11). Placeholders are named
# here where Bitget's table writes {0}/{1}.
MESSAGES: dict[str, str] = {
    "40034": "Parameter {symbol} does not exist",
    "40102": "Symbol does not exist",
    "43115": (
        "The current trading pair is opening soon, please refer to the official announcement "
        "for the opening time"
    ),
    "41114": (
        "The current trading pair is under maintenance, please refer to the official "
        "announcement for the opening time"
    ),
    "40808": (
        "Parameter verification exception size checkBDScale error value={size} checkScale={scale}"
    ),
    "45110": "less than the minimum amount {min_value} {quote}",
    "45111": "less than the minimum order quantity",
    "45112": "more than the maximum order quantity",
    "43006": "The order quantity is less than the minimum transaction quantity",
    "43007": "The order quantity is greater than the maximum transaction quantity",
    "45113": "Maximum order value limit triggered",
    "43012": "Insufficient balance",
    "43118": "clientOrderId duplicate",
    "25013": "{symbol} not support API trade",
    "22004": "This symbol {symbol} not support API trade",
    "25100": "Trading pair {symbol} does not exist",
    "25101": "Trading pair not open for trading",
    "25102": "Trading pair temporarily closed for maintenance",
    "25202": "Insufficient balance",
    "25207": "{symbol} trading quantity cannot be less than {min_qty} units",
    "25208": "{symbol} trading quantity cannot exceed {max_qty} units",
    "25212": "Duplicate clientOid",
    "25610": "Order amount does not meet precision requirements",
    "25611": "Order quantity must be greater than the minimum order amount",
    # listing-day model (book.py): §6 "not trading" codes and the price scale reply (real text
    # "param price scale error error"); §5.11 25209 (thin book)
    "41103": "param price scale error error",
    "43119": "Trading is not open",
    "43120": "symbol is not open trade",
    "50030": "The trading pair will soon be available",
    "25209": "Insufficient market liquidity, please try again later",
}
# 40808 is Bitget's generic value check; the message names the internal field that failed
# (§6; ccxt#25150: the real band reply is exactly this text)
BAND_MESSAGE_40808 = "Parameter verification exception delegatePrice"
# [UNCERTAIN] no source: the post_only refusal (settings.post_only_marketable="reject") in the
# same 40808 form, naming the `force` field
POST_ONLY_MESSAGE_40808 = "Parameter verification exception force"


def message(code: str, **values: object) -> str:
    """The text of ``code`` with its placeholders filled (unknown code: a generic text)."""
    template = MESSAGES.get(code)
    if template is None:
        return f"simulated error {code}"
    try:
        return template.format(**values)
    except (KeyError, IndexError):  # a code chosen by a setting whose text needs other values
        return template


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
    # base-quantity bounds (v2 minTradeAmount/maxTradeAmount, v3 minOrderQty/maxOrderQty):
    # "0" / None = no bound (real v2 rows: "0" and "900000000000000000000", §5.1)
    min_order_qty: str = "0"
    max_order_qty: str | None = None
    # listing-day caps (§5.1, §5.11, §10.8): the largest MARKET order the pair accepts, v2 by
    # value in the quote coin (`maxMarketOrderValue`), v3 by base quantity
    # (`maxMarketOrderQty`). None: no cap, and the field is absent from the row. Over it: 45113.
    max_market_order_value: str | None = None
    max_market_order_qty: str | None = None
    # v3 status `restrictedAPI`: cannot be traded through the API (25013). No source names a v2
    # counterpart, so v2 rows and v2 orders ignore it. Mutable: a test may lift it.
    restricted_api: bool = False
    # listing-day model (book.py): the bids sells walk; None = no book, the old instant fill
    # at `price` (ExchangeState.set_book)
    bids: BidBook | None = None

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
    # every fill, in order (book.Execution); the private feed pushes one partially_filled each
    fills: list[Execution] = field(default_factory=list)

    def v2_info(self, *, cancel_reason: bool = False) -> dict[str, str]:
        fee_detail: dict[str, object] = {
            "newFees": {
                "c": 0,
                "d": 0,
                "deduction": False,
                "r": -float(self.fee),
                "t": -float(self.fee),
                "totalDeductionFee": 0,
            }
        }
        if self.fee:
            # the per-coin entry next to newFees, as in the real reply (rest_order_info_v2)
            fee_detail[self.fee_coin] = {
                "deduction": False,
                "feeCoinCode": self.fee_coin,
                "totalDeductionFee": 0,
                "totalFee": -float(self.fee),
            }
        info = {
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
            "cTime": str(self.c_time),
            "uTime": str(self.u_time),
        }
        if cancel_reason:  # §5.9 lists it; the real recorded reply has none
            info["cancelReason"] = ""
        return info

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
            # TP/SL fields: null on a plain spot order (rest_order_info_v3)
            "tpTriggerBy": None,
            "slTriggerBy": None,
            "takeProfit": None,
            "stopLoss": None,
            "tpOrderType": None,
            "slOrderType": None,
            "tpLimitPrice": None,
            "slLimitPrice": None,
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


@dataclass(slots=True)
class AuctionEntry:
    """An order accepted during a call auction, waiting (``live``) for the open."""

    order: Order
    account: Account
    req: OrderRequest
    size: Decimal
    limit_price: Decimal | None
    frozen_coin: str
    frozen_amount: Decimal


class ExchangeState:
    def __init__(self, settings: ExchangeSettings) -> None:
        self.settings = settings
        self.accounts: dict[str, Account] = {}
        self.symbols: dict[str, Symbol] = {}
        self.orders: dict[str, Order] = {}
        self._orders_by_oid: dict[tuple[str, str], Order] = {}
        # every order that took a clientOid, oldest first (``settings.client_oid_lookup``)
        self._all_by_oid: dict[tuple[str, str], list[Order]] = {}
        self._next_order_id = 1_323_504_373_667_975_176 + random.randint(0, 10**12)
        # every fill of every order, in order (book.FillRecord): what a test checks
        self.fills: list[FillRecord] = []
        # listing-day call auction (book.py): orders waiting for the open, in time order, and
        # the outcomes of an open not pushed yet: (order, index of its first new fill)
        self._auction: list[AuctionEntry] = []
        self._settled: list[tuple[Order, int]] = []
        # called when an auction order is accepted (the private hub's AuctionSettler.wake)
        self.on_auction_order: Callable[[], None] | None = None

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

    # --- listing-day model (book.py) -----------------------------------------------------
    def set_book(self, symbol: str, bids: Iterable[tuple[object, object]] | None) -> BidBook | None:
        """Give ``symbol`` a book of bids [(price, size), ...] that sells walk (None: no book,
        the instant fill at the symbol's price). Returns the book (``levels()`` shows what
        is left)."""
        sym = self.symbols[symbol]
        sym.bids = None if bids is None else BidBook(bids)
        return sym.bids

    def executed_qty(self, api_key: str, symbol: str | None = None, side: str = "sell") -> Decimal:
        """Base quantity executed for ``api_key`` (on ``symbol``, on ``side``), from the fills."""
        return sum(
            (
                f.base_qty
                for f in self.fills
                if f.api_key == api_key and f.side == side and symbol in (None, f.symbol)
            ),
            Decimal(0),
        )

    def in_auction(self, sym: Symbol, now_ms: int) -> bool:
        """Is ``sym`` in its call-auction window now (``settings.auction_window_s``)?"""
        window_ms = self.settings.auction_window_s * 1000
        return (
            window_ms > 0
            and sym.open_at_ms is not None
            and sym.status_at(now_ms) == "gray"
            and now_ms >= sym.open_at_ms - window_ms
        )

    def auction_orders_waiting(self) -> bool:
        return bool(self._auction or self._settled)

    def next_auction_open_ms(self) -> int | None:
        """The earliest scheduled open among the waiting auction orders' pairs (exchange clock);
        None when one of them has no scheduled open (opened by hand: due now)."""
        opens = [self.symbols[e.order.symbol].open_at_ms for e in self._auction]
        if not opens or any(t is None for t in opens):
            return None
        return min(t for t in opens if t is not None)

    def settle_auctions(self, now_ms: int) -> list[tuple[Order, int]]:
        """Execute the auction orders whose pair is online at ``now_ms``; returns every
        outcome not handed out yet: (order, index of its first new fill), for the pushes."""
        self._settle(now_ms)
        settled, self._settled = self._settled, []
        return settled

    def _opened_at(self, sym: Symbol, now_ms: int) -> int | None:
        if sym.opened_at_ms is not None:
            return sym.opened_at_ms
        if sym.open_at_ms is not None and now_ms >= sym.open_at_ms:
            return sym.open_at_ms
        return None

    def _auction_accepts(self, req: OrderRequest) -> bool:
        accepts = self.settings.auction_accepts
        return req.order_type in accepts or (req.order_type == "limit" and req.force in accepts)

    def _outside_band(self, sym: Symbol, side: str, price: Decimal) -> bool:
        """``settings.price_band``: is the limit ``price`` outside the pair's band?"""
        mode = self.settings.price_band
        if mode == "off":
            return False
        ref = sym.price
        if side == "sell":
            ratio = Decimal(sym.sell_limit_price_ratio)
            floor = ref / (1 + ratio) if mode == "divide" else ref * (1 - ratio)
            return price < floor
        return price > ref * (1 + Decimal(sym.buy_limit_price_ratio))

    # --- orders --------------------------------------------------------------------------
    def new_order_id(self) -> str:
        self._next_order_id += random.randint(1, 5000)
        return str(self._next_order_id)

    def find_order(
        self, account: Account, order_id: str | None, client_oid: str | None
    ) -> Order | None:
        """The order named by ``order_id``, else by ``client_oid``: when more than one order
        took that clientOid, the newest or the oldest per ``settings.client_oid_lookup`` ("all"
        answers the oldest here; :meth:`find_orders` gives v2 orderInfo every one)."""
        found = self.find_orders(account, order_id, client_oid)
        if not found:
            return None
        return found[-1] if self.settings.client_oid_lookup == "newest" else found[0]

    def find_orders(
        self, account: Account, order_id: str | None, client_oid: str | None
    ) -> list[Order]:
        """The order named by ``order_id`` (one), else every order that took ``client_oid``,
        oldest first (an account's own orders only)."""
        if order_id:
            order = self.orders.get(order_id)
            return [order] if order is not None and order.api_key == account.api_key else []
        if not client_oid:
            return []
        return list(self._all_by_oid.get((account.api_key, client_oid), ()))

    def place_order(
        self, account: Account, req: OrderRequest, *, now_ms: int, api: str
    ) -> Order | Rejection:
        """Validate in the order of §12.5 (after auth and parameter presence) and fill.

        Order: symbol exists (40034 / 25100) -> v3 only: restrictedAPI (25013) -> status (gray
        43115 / 25101, or in a call-auction window the auction's answer; halt, offline 41114 /
        25102) -> market orders refused after the open (``market_orders_refused_for_s``) ->
        precision (40808 / 25610; price ``price_scale_code``) -> price band (``price_band``)
        -> base-quantity bounds (45111, 45112 / 25207, 25208) -> minimum value (45110 / 25611)
        -> market-order cap (45113: v2 ``maxMarketOrderValue`` by value, v3
        ``maxMarketOrderQty`` by base quantity) -> duplicate clientOid (43118 / 25212, by
        default here: ``settings.duplicate_check``) -> balance (43012 / 25202) -> the matching
        engine's refusals (thin book, post_only; only with a book) -> accept. Every code is a
        setting (v2 / v3).

        Without a book, market orders fill at once at the symbol's current price; a limit
        order fills at once if marketable, otherwise it rests as ``live`` with its funds
        frozen. With a book (:meth:`set_book`), sells walk the bids (:meth:`_execute`).
        """
        s = self.settings
        v3 = api == "v3"

        def reject(code: str, **values: object) -> Rejection:
            return Rejection(code, message(code, symbol=req.symbol, **values))

        if self._auction:  # an open that is due executes before anything placed after it
            self._settle(now_ms)
        found = self.find_symbol(req.symbol, now_ms)
        if found is None:
            return reject(s.v3_unknown_symbol_code if v3 else s.unknown_symbol_code)
        sym, status = found
        if v3 and sym.restricted_api:
            return reject(s.v3_restricted_code)
        auction = False
        if status == "gray":
            if not self.in_auction(sym, now_ms):
                return reject(s.v3_not_open_code if v3 else s.not_open_code)
            if not self._auction_accepts(req):
                return reject(s.v3_auction_refused_code if v3 else s.auction_refused_code)
            auction = True
        if status in ("halt", "offline"):
            return reject(s.v3_halt_code if v3 else s.halt_code)
        if req.order_type == "market" and status == "online" and s.market_orders_refused_for_s:
            opened = self._opened_at(sym, now_ms)
            if opened is not None and now_ms - opened < s.market_orders_refused_for_s * 1000:
                code = s.v3_market_refused_code if v3 else s.market_refused_code
                return Rejection(code, s.market_refused_msg or message(code, symbol=req.symbol))
        size = Decimal(req.size)
        market_buy = req.order_type == "market" and req.side == "buy"
        size_scale = sym.quote_precision if market_buy else sym.quantity_precision
        if scale_of(size) > size_scale:
            return reject(s.v3_precision_code if v3 else "40808", size=req.size, scale=size_scale)
        limit_price: Decimal | None = None
        if req.order_type == "limit":
            assert req.price is not None
            limit_price = Decimal(req.price)
            if scale_of(limit_price) > sym.price_precision:
                return reject(s.v3_price_scale_code if v3 else s.price_scale_code)
            if self._outside_band(sym, req.side, limit_price):
                code = s.v3_price_band_code if v3 else s.price_band_code
                text = BAND_MESSAGE_40808 if code == "40808" else message(code, symbol=req.symbol)
                return Rejection(code, text)
        ref_price = limit_price if limit_price is not None else sym.price
        base_qty = size / ref_price if market_buy else size
        if base_qty < Decimal(sym.min_order_qty):
            return reject(s.v3_min_qty_code if v3 else s.min_qty_code, min_qty=sym.min_order_qty)
        if sym.max_order_qty is not None and base_qty > Decimal(sym.max_order_qty):
            return reject(s.v3_max_qty_code if v3 else s.max_qty_code, max_qty=sym.max_order_qty)
        value = size if market_buy else size * ref_price
        if value < Decimal(sym.min_trade_usdt):
            return reject(
                s.v3_min_value_code if v3 else "45110",
                min_value=sym.min_trade_usdt,
                quote=sym.quote_coin,
            )
        if req.order_type == "market":
            if v3:
                cap, amount = sym.max_market_order_qty, base_qty
            else:
                cap, amount = sym.max_market_order_value, value
            if cap is not None and amount > Decimal(cap):
                return reject(s.v3_max_market_code if v3 else s.max_market_code)
        client_oid = req.client_oid or str(uuid.uuid4())
        duplicate = reject(s.v3_duplicate_code if v3 else s.duplicate_code)
        check_duplicate_first = s.duplicate_check == "before_balance"
        if check_duplicate_first and self._client_oid_taken(account, client_oid, now_ms):
            return duplicate
        spend_coin = sym.quote_coin if req.side == "buy" else sym.base_coin
        spend = value if req.side == "buy" else size
        if account.balance(spend_coin) < spend:
            return reject(s.v3_balance_code if v3 else "43012")
        if not check_duplicate_first and self._client_oid_taken(account, client_oid, now_ms):
            return duplicate
        if not auction:
            refusal = self._matching_refusal(sym, req, size, limit_price, v3)
            if refusal is not None:
                return refusal
        account.client_oids[client_oid] = now_ms
        if auction:
            order = self._wait_for_open(
                account, sym, req, client_oid, size, limit_price, now_ms, api
            )
        else:
            order = self._execute(account, sym, req, client_oid, size, limit_price, now_ms, api)
        self.orders[order.order_id] = order
        self._orders_by_oid[(account.api_key, client_oid)] = order  # the newest one
        self._all_by_oid.setdefault((account.api_key, client_oid), []).append(order)
        if auction and self.on_auction_order is not None:
            self.on_auction_order()
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

    def _matching_refusal(
        self,
        sym: Symbol,
        req: OrderRequest,
        size: Decimal,
        limit_price: Decimal | None,
        v3: bool,
    ) -> Rejection | None:
        """What the matching engine refuses outright (only with a book, only sells): a market
        sell the bids cannot cover (``book_market_thin="reject"``), a post_only that would
        take (``post_only_marketable="reject"``). Nothing executes."""
        s = self.settings
        book = sym.bids
        if book is None or req.side != "sell":
            return None
        if req.order_type == "market":
            if s.book_market_thin == "reject" and book.depth() < size:
                code = s.v3_thin_book_code if v3 else s.thin_book_code
                return Rejection(code, message(code, symbol=req.symbol))
            return None
        if req.force == "post_only" and s.post_only_marketable == "reject":
            best = book.best()
            if best is not None and limit_price is not None and best >= limit_price:
                code = s.v3_post_only_reject_code if v3 else s.post_only_reject_code
                text = POST_ONLY_MESSAGE_40808 if code == "40808" else message(code)
                return Rejection(code, text)
        return None

    def _new_order(
        self,
        account: Account,
        sym: Symbol,
        req: OrderRequest,
        client_oid: str,
        now_ms: int,
        api: str,
    ) -> Order:
        return Order(
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
            fee_coin=sym.quote_coin if req.side == "sell" else sym.base_coin,
            c_time=now_ms,
            u_time=now_ms,
            api=api,
        )

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
        order = self._new_order(account, sym, req, client_oid, now_ms, api)
        if sym.bids is not None and req.side == "sell":
            fills, rest = self._plan_on_book(sym.bids, req, size, limit_price)
            self._apply_book_fills(account, sym, order, size, limit_price, fills, rest, now_ms)
        else:
            self._fill_at_price(account, sym, req, order, size, limit_price, now_ms)
        return order

    def _fill_at_price(
        self,
        account: Account,
        sym: Symbol,
        req: OrderRequest,
        order: Order,
        size: Decimal,
        limit_price: Decimal | None,
        now_ms: int,
        source: str = "price",
    ) -> None:
        """No book: a marketable order fills whole at the symbol's price, otherwise it rests
        ``live`` with its funds frozen."""
        fee_rate = Decimal(self.settings.taker_fee_rate)
        price = sym.price
        base, quote = sym.base_coin, sym.quote_coin
        marketable = limit_price is None or (
            limit_price <= price if req.side == "sell" else limit_price >= price
        )
        avail = account.available
        order.u_time = now_ms
        if not marketable:
            assert limit_price is not None
            order.status = "live"
            coin, amount = (base, size) if req.side == "sell" else (quote, size * limit_price)
            avail[coin] = avail.get(coin, Decimal(0)) - amount
            account.frozen[coin] = account.frozen.get(coin, Decimal(0)) + amount
            return
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
        order.status = "filled"
        order.price_avg = price
        order.base_volume = base_qty
        order.quote_volume = quote_gross
        order.fee = fee
        self._record(
            account,
            order,
            Execution(price, base_qty, quote_gross, fee, order.fee_coin, now_ms),
            limit_price,
            source,
        )

    @staticmethod
    def _plan_on_book(
        book: BidBook, req: OrderRequest, size: Decimal, limit_price: Decimal | None
    ) -> tuple[list[tuple[Decimal, Decimal]], str]:
        """Take from ``book`` what a SELL executes: (fills, what happens to the rest).

        The rest: "market" (a market order: ``book_market_rest_status``), "rest" (gtc, or a
        post_only that does not take: rests ``live`` at its price) or "cancel" (ioc; fok that
        the bids at or above its price cannot fill whole: nothing executes; post_only that
        would take: nothing executes)."""
        if req.order_type == "market":
            return book.take(size), "market"
        assert limit_price is not None
        if req.force == "fok":
            if book.depth(limit_price) < size:
                return [], "cancel"
            return book.take(size, limit_price), "cancel"
        if req.force == "post_only":
            best = book.best()
            return [], ("cancel" if best is not None and best >= limit_price else "rest")
        return book.take(size, limit_price), ("cancel" if req.force == "ioc" else "rest")

    def _apply_book_fills(
        self,
        account: Account,
        sym: Symbol,
        order: Order,
        size: Decimal,
        limit_price: Decimal | None,
        fills: list[tuple[Decimal, Decimal]],
        rest: str,
        now_ms: int,
        source: str = "book",
    ) -> None:
        """Book the fills of a sell (taker fee on each) and settle the rest per ``rest``."""
        fee_rate = Decimal(self.settings.taker_fee_rate)
        base, quote = sym.base_coin, sym.quote_coin
        avail = account.available
        for price, qty in fills:
            value = price * qty
            fee = value * fee_rate
            avail[base] = avail.get(base, Decimal(0)) - qty
            avail[quote] = avail.get(quote, Decimal(0)) + value - fee
            order.base_volume += qty
            order.quote_volume += value
            order.fee += fee
            self._record(
                account,
                order,
                Execution(price, qty, value, fee, quote, now_ms),
                limit_price,
                source,
            )
        if fills:
            order.price_avg = order.quote_volume / order.base_volume
            sym.price = fills[-1][0]  # the last trade
        left = size - order.base_volume
        if left == 0:
            order.status = "filled"
        elif rest == "rest":
            avail[base] = avail.get(base, Decimal(0)) - left
            account.frozen[base] = account.frozen.get(base, Decimal(0)) + left
            order.status = "partially_filled" if fills else "live"
        elif rest == "market":
            order.status = self.settings.book_market_rest_status
        else:
            order.status = "cancelled"
        order.u_time = now_ms

    def _record(
        self,
        account: Account,
        order: Order,
        execution: Execution,
        limit_price: Decimal | None,
        source: str,
    ) -> None:
        order.fills.append(execution)
        self.fills.append(
            FillRecord(
                api_key=account.api_key,
                api=order.api,
                symbol=order.symbol,
                side=order.side,
                order_type=order.order_type,
                force=order.force,
                order_id=order.order_id,
                client_oid=order.client_oid,
                limit_price=limit_price,
                price=execution.price,
                base_qty=execution.base_qty,
                quote_value=execution.quote_value,
                fee=execution.fee,
                fee_coin=execution.fee_coin,
                time_ms=execution.time_ms,
                source=source,
            )
        )

    # --- call auction (book.py) ----------------------------------------------------------
    def _wait_for_open(
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
        """Accept an order during the call auction: ``live``, its funds frozen till the open."""
        order = self._new_order(account, sym, req, client_oid, now_ms, api)
        order.status = "live"
        if req.side == "sell":
            coin, amount = sym.base_coin, size
        elif req.order_type == "market":
            coin, amount = sym.quote_coin, size
        else:
            assert limit_price is not None
            coin, amount = sym.quote_coin, size * limit_price
        account.available[coin] = account.available.get(coin, Decimal(0)) - amount
        account.frozen[coin] = account.frozen.get(coin, Decimal(0)) + amount
        self._auction.append(AuctionEntry(order, account, req, size, limit_price, coin, amount))
        return order

    def _settle(self, now_ms: int) -> None:
        """The open of every call auction that is due: its orders execute in time order
        against the bids, all at ONE clearing price -- the lowest bid any of them reached
        (a uniform-price uncross; never kinder to a seller than walking the book). Sells
        without a book, and buys, fill as continuous orders do (at the symbol's price)."""
        due = [
            e for e in self._auction if self.symbols[e.order.symbol].status_at(now_ms) == "online"
        ]
        if not due:
            return
        self._auction = [e for e in self._auction if all(e is not d for d in due)]
        by_symbol: dict[str, list[AuctionEntry]] = {}
        for entry in due:
            by_symbol.setdefault(entry.order.symbol, []).append(entry)
        for symbol, entries in by_symbol.items():
            sym = self.symbols[symbol]
            for e in entries:  # unfreeze: the matching below books what executes
                account = e.account
                account.frozen[e.frozen_coin] = (
                    account.frozen.get(e.frozen_coin, Decimal(0)) - e.frozen_amount
                )
                account.available[e.frozen_coin] = (
                    account.available.get(e.frozen_coin, Decimal(0)) + e.frozen_amount
                )
            plans: list[tuple[list[tuple[Decimal, Decimal]], str] | None] = []
            for e in entries:
                if sym.bids is not None and e.req.side == "sell":
                    plans.append(self._plan_on_book(sym.bids, e.req, e.size, e.limit_price))
                else:
                    plans.append(None)
            prices = [price for plan in plans if plan for price, _ in plan[0]]
            clearing = min(prices) if prices else None
            for e, plan in zip(entries, plans, strict=True):
                first = len(e.order.fills)
                if plan is None:
                    self._fill_at_price(
                        e.account, sym, e.req, e.order, e.size, e.limit_price, now_ms, "auction"
                    )
                    self._settled.append((e.order, first))
                    continue
                fills = [] if clearing is None else [(clearing, qty) for _, qty in plan[0]]
                self._apply_book_fills(
                    e.account,
                    sym,
                    e.order,
                    e.size,
                    e.limit_price,
                    fills,
                    plan[1],
                    now_ms,
                    "auction",
                )
                self._settled.append((e.order, first))


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
