"""Private WebSocket, v2 (``/v2/ws/private``) and v3/UTA (``/v3/ws/private``) — bitget-api.md §7.4.

The order feed a client reconciles with: login, then the v2 channels ``orders`` / ``fill`` /
``account`` or the v3 topics ``order`` / ``fill`` / ``account``, and a push on every order
state change and balance change of the logged-in account. Frames are encoded here and written
straight to the transport (like :mod:`.ws`), so a push is stamped right before its write.

Login (§7.4, samples ws_v2_login_*, ws_v3_login_*, ws_v3_error_login):

* ``{"op":"login","args":[{"apiKey","passphrase","timestamp","sign"}]}``, ``sign`` =
  Base64(HMAC-SHA256(secret, timestamp + "GET" + "/user/verify")) over the timestamp text as
  sent; timestamp in seconds (10 digits); 13-digit ms accepted per
  ``settings.ws_private_login_accept_ms`` (2026 probes: both accepted). Expired when more than
  ``ws_private_login_window_s`` (30 s) away from the exchange clock (skew fault included).
* Success ``{"event":"login","code":0}`` (v2, real replies 2024/2025; ``connId`` with
  ``ws_private_v2_login_conn_id``) / ``{"event":"login","code":0,"connId":...}`` (v3).
  ``ws_private_login_documented``: the doc's form, ``"code":"0","msg":""`` and string error codes.
* Failure ``{"event":"error","code":<n>,"msg":...}`` (+ ``connId`` on v3, as every v3 error):
  30011 unknown key, 30012 passphrase, 30013 timestamp format, 30014 expired, 30015 sign,
  30005 otherwise (malformed args). Checked in the REST order (§3): presence, timestamp format,
  key, window, passphrase, sign. A key of the other account generation (a UTA key on v2, a
  classic key on v3): ``ws_private_wrong_account_code`` (30005 by default; None: accepted, and
  the socket then never receives a push). After a failed login the socket is closed with close
  frame 1008 per ``ws_private_v2_login_error_closes`` (True: the doc's "If login fails, it will
  automatically disconnect") / ``ws_private_v3_login_error_closes`` (False: observed on v3).
* Subscribe / unsubscribe before login: ``{"event":"error","code":30004,"msg":"User not logged
  in/User must be logged in"}`` (ws_v3_error_not_logged_in; the same text on v1/v2).

Subscriptions (acks echo the arg, one per arg; no push on subscribe except ``account``):

* v2: ``{"instType":"SPOT","channel":"orders"|"fill","instId":"default"|<SYMBOL>}`` (a symbol
  that does not exist yet -> 30001 like the public socket: ``default`` is the form for a pair
  that is not listed yet) and ``{"instType":"SPOT","channel":"account","coin":"default"}`` (any
  other coin -> 30016, the doc: "Only default is supported now"). Futures instTypes are acked
  and never pushed (futures are not modelled); unknown channel / instType -> 30016.
* v3: ``{"instType":"UTA","topic":"order"|"fill"|"account"}``; an instType other than ``UTA``
  (also lowercase ``uta``) -> 30001 (observed); unknown topic -> 30016.
* ``account``: one snapshot of every coin right after the ack
  (``ws_private_account_snapshot_on_subscribe``; the official Account-Channel pages, the source
  of ws_v2_account_push / ws_v3_account_push: "push data ... for the first subscription").

Pushes (routed to the sockets logged in with the order's API key, of the generation of the
account: classic -> v2, UTA -> v3):

* v2 ``orders``: ``action:"snapshot"``, the order's current state. ``live`` on acceptance, then
  one ``partially_filled`` per fill (fill fields describe that fill, ``accBaseVolume`` /
  ``priceAvg`` / ``feeDetail`` cumulative up to it) and ``filled`` (bbgo 2023: the last
  ``partially_filled`` already at accBaseVolume = size) or ``cancelled`` (the rest cancelled:
  a market sell the bid book could not cover, ioc, fok, post_only; spelt per
  ``ws_private_cancelled_status``). A resting limit order: ``live`` only; one that took part
  of a bid book and rests: ``live`` and its ``partially_filled`` pushes.
  Key set per the spot samples (ws_v2_orders_push, ws_v2_orders_push_data): ``price`` only on
  limit orders, ``notional`` only on buys, fill fields only after a fill, ``newSize`` and
  ``stpMode`` only with ``ws_private_v2_2024_fields`` (2024+ frames; the 2023 frames lack them).
  Fees negative, as in every sample.
* v2 ``fill``: one push per fill (ws_v2_fill_push). v2 ``account``: the changed coins
  (ws_v2_account_push).
* v3 ``order``: ``ws_private_v3_order_statuses`` ``"filled"`` (one push) or ``"new_filled"``
  (``new`` then ``filled``) for an order that fills at once; ``live`` for a resting one; with
  several fills one push per fill (``partially_filled``, the completing one ``filled``), then
  ``cancelled`` when the rest was cancelled. Keys of
  ws_v3_order_push without its futures-only keys (``FUTURES_ONLY_ORDER_KEYS``; no spot UTA
  frame is public) unless ``ws_private_v3_futures_keys``; ``category`` lowercase ``spot``.
  v3 ``fill``: one push per fill (ws_v3_fill_push without ``holdSide`` / ``tradeSide``). v3
  ``account``: the snapshot after subscribing, then ``action:"update"`` with the changed coins
  (GinArea/gobitget, in the source of ws_v3_account_push).
* Order of one event's pushes on a socket: order pushes, then fill, then account.

Text ``ping`` -> ``pong``, the idle kill, the lifetime cap, 10 msg/s (30007, then close frame
1008) and 240 subscriptions/h (30006) are the public socket's rules and settings (§7.1).

Faults (:class:`~.faults.Faults`): ``mute_private_ws`` (no pushes at all; logins, acks and
pongs still flow), ``private_ws_push_delay_ms`` (every push written that much later, order
kept), ``drop_private_ws_connections()``. Records (:class:`~.recorder.Records`):
``private_logins``, ``private_subscriptions``, ``private_pushes`` (each with its write time).

The call auction's open (listing-day model, :class:`~.book.AuctionSettler`): the fills of
orders accepted during the auction are pushed when the pair opens (their ``live`` went out at
acceptance).

Not modelled: WS order placement (``op:"trade"``, §7.5 -> 30003 here), cancels, fills of a
resting order after it was placed (bids arriving later).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .auth import verify, wire
from .book import AuctionSettler
from .recorder import PrivateLoginRecord, PrivatePushRecord, WsSubscriptionRecord
from .rest import RECORD_KEY
from .state import fmt
from .ws import (
    V2_INST_TYPES,
    WS_CLOSE_TIMEOUT_S,
    WS_OVER_LIMIT_CLOSE_CODE,
    WsConnection,
    dumps,
    encode_frame,
)

if TYPE_CHECKING:
    from .server import EmbeddedExchange
    from .settings import ExchangeSettings
    from .state import Account, Order, Symbol

V2_CHANNELS = frozenset({"orders", "fill", "account"})
V3_TOPICS = frozenset({"order", "fill", "account"})
LOGIN_PREHASH_TAIL = b"GET/user/verify"  # sign = HMAC(secret, timestamp + "GET" + "/user/verify")
# [UNCERTAIN] the close code after a failed login ("it will automatically disconnect"): not
# documented; RFC 6455's "policy violation", as after 30007
LOGIN_FAILED_CLOSE_CODE = WS_OVER_LIMIT_CLOSE_CODE
NOT_LOGGED_IN_MSG = "User not logged in/User must be logged in"  # ws_v3_error_not_logged_in
# §7.3 code table; the texts of 30011 and 30015 are real (ws_v3_error_login,
# ws_v3_login_error), 30005's is the documented example's (ws_v2_login_error)
LOGIN_MESSAGES: dict[int, str] = {
    30005: "error",
    30011: "Invalid ACCESS_KEY",
    30012: "Invalid ACCESS_PASSPHRASE",
    30013: "Invalid ACCESS_TIMESTAMP",
    30014: "Request timestamp expired",
    30015: "Invalid sign",
}
# Keys of the (futures) ws_v3_order_push / ws_v3_fill_push a spot order has no use for; sent
# (empty) only with settings.ws_private_v3_futures_keys, as a real spot UTA REST order row
# carries `holdMode: ""` and `reduceOnly` (rest_order_info_v3)
FUTURES_ONLY_ORDER_KEYS: dict[str, str] = {
    "holdMode": "",
    "holdSide": "",
    "tradeSide": "",
    "marginMode": "",
    "marginCoin": "",
    "reduceOnly": "no",
    "totalProfit": "",
    "leverage": "",
}
FUTURES_ONLY_FILL_KEYS: dict[str, str] = {"holdSide": "", "tradeSide": ""}


def check_settings(s: ExchangeSettings) -> None:
    """ValueError for a private-WS setting out of its range (the hub checks at construction)."""
    if s.ws_private_v3_order_statuses not in ("filled", "new_filled"):
        raise ValueError(
            "ws_private_v3_order_statuses must be 'filled' or 'new_filled', "
            f"got {s.ws_private_v3_order_statuses!r}"
        )
    if s.ws_private_login_window_s <= 0:
        raise ValueError("ws_private_login_window_s must be > 0")


# one order push: (status, the fill it reports or None, how many of the order's fills it counts)
Step = tuple[str, "Fill | None", int]


def order_at(order: Order, upto: int) -> Order:
    """``order`` as it stood after its first ``upto`` fills (cumulative volume, average price,
    fees): what a ``partially_filled`` push reports. All fills: the order itself."""
    if upto >= len(order.fills):
        return order
    done = order.fills[:upto]
    base = sum((e.base_qty for e in done), Decimal(0))
    quote = sum((e.quote_value for e in done), Decimal(0))
    return replace(
        order,
        base_volume=base,
        quote_volume=quote,
        fee=sum((e.fee for e in done), Decimal(0)),
        price_avg=quote / base if base else Decimal(0),
        u_time=done[-1].time_ms if done else order.c_time,
    )


def fixed(value: Decimal, places: int) -> str:
    """``value`` with exactly ``places`` decimals, as the real pushes print amounts."""
    return f"{value:.{places}f}"


def negative(fee: Decimal) -> str:
    """v2 pushes print fees as negative numbers (every ws_v2_orders_push* sample)."""
    return fmt(-fee) if fee else "0"


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of an order (``Order.fills``: one, or with a bid book several), with the
    ids its pushes carry."""

    trade_id: str
    link_id: str  # v3 `execLinkId`
    price: Decimal
    base_qty: Decimal
    quote_value: Decimal
    fee: Decimal  # positive; v2 frames print it negative
    fee_coin: str
    time_ms: int  # exchange clock


# --- frame data (pure) --------------------------------------------------------------------


def v2_order_data(
    order: Order, sym: Symbol, status: str, fill: Fill | None, *, fields_2024: bool
) -> dict[str, Any]:
    """One element of a v2 ``orders`` push: the order as it stands at ``status``."""
    size = Decimal(order.size)
    limit = order.order_type == "limit"
    buy = order.side == "buy"
    market_buy = buy and not limit
    # `size`: quote amount for buys, base quantity for sells (Order-Channel doc); `newSize`:
    # base quantity for limit orders and market sells, quote amount for market buys (= as sent)
    quote_amount = size if market_buy else size * Decimal(order.price)
    data: dict[str, Any] = {
        "instId": order.symbol,
        "orderId": order.order_id,
        "clientOid": order.client_oid,
    }
    if limit:
        data["price"] = fixed(Decimal(order.price), sym.price_precision)
    if buy:
        data["size"] = fixed(quote_amount, sym.quote_precision)
    else:
        data["size"] = fixed(size, sym.quantity_precision)
    if fields_2024:
        places = sym.quote_precision if market_buy else sym.quantity_precision
        data["newSize"] = fixed(size, places)
    if buy:
        data["notional"] = fixed(quote_amount, 6)
    data.update(orderType=order.order_type, force=order.force, side=order.side)
    done = fill is not None and status != "live"
    if done:
        assert fill is not None
        data.update(
            fillPrice=fixed(fill.price, sym.price_precision),
            tradeId=fill.trade_id,
            baseVolume=fixed(fill.base_qty, sym.quantity_precision),
            fillTime=str(fill.time_ms),
            fillFee=negative(fill.fee),
            fillFeeCoin=fill.fee_coin,
            tradeScope="T",
        )
    data.update(
        accBaseVolume=fixed(order.base_volume if done else Decimal(0), sym.quantity_precision),
        priceAvg=fixed(order.price_avg if done else Decimal(0), sym.price_precision),
        status=status,
        cTime=str(order.c_time),
        uTime=str(order.u_time if done else order.c_time),
    )
    if fields_2024:
        data["stpMode"] = "none"
    data["feeDetail"] = (
        [{"feeCoin": order.fee_coin, "fee": negative(order.fee)}] if done and order.fee else []
    )
    data["enterPointSource"] = "API"
    return data


def v2_fill_data(order: Order, sym: Symbol, fill: Fill) -> dict[str, Any]:
    """One element of a v2 ``fill`` push (ws_v2_fill_push)."""
    return {
        "orderId": order.order_id,
        "tradeId": fill.trade_id,
        "symbol": order.symbol,
        "orderType": order.order_type,
        "side": order.side,
        "priceAvg": fixed(fill.price, sym.price_precision),
        "size": fixed(fill.base_qty, sym.quantity_precision),
        "amount": fmt(fill.quote_value),
        "tradeScope": "taker",
        "feeDetail": [
            {
                "feeCoin": fill.fee_coin,
                "deduction": "no",
                "totalDeductionFee": "0",
                "totalFee": fmt(fill.fee),
            }
        ],
        "cTime": str(fill.time_ms),
        "uTime": str(fill.time_ms),
    }


def v3_order_data(
    order: Order, status: str, fill: Fill | None, *, futures_keys: bool
) -> dict[str, Any]:
    """One element of a v3 ``order`` push (ws_v3_order_push, spot)."""
    done = fill is not None and status not in ("live", "new")
    limit = order.order_type == "limit"
    cum_value = order.quote_volume if done else Decimal(0)
    # [UNCERTAIN] `amount` of a spot order: price x qty for a limit order (as the real spot
    # REST row, rest_order_info_v3), the executed value for a market order
    amount = Decimal(order.size) * Decimal(order.price) if limit else cum_value
    data: dict[str, Any] = {
        "category": "spot",
        "symbol": order.symbol,
        "orderId": order.order_id,
        "clientOid": order.client_oid,
        "price": order.price if limit else "",
        "qty": order.size,
        "amount": fmt(amount),
        "orderType": order.order_type,
        "timeInForce": order.force,
        "side": order.side,
        "cumExecQty": fmt(order.base_volume if done else Decimal(0)),
        "cumExecValue": fmt(cum_value),
        "avgPrice": fmt(order.price_avg if done else Decimal(0)),
        "orderStatus": status,
        "cancelReason": "",
        # nothing executed yet: the empty entry of the real spot REST row (rest_order_info_v3)
        "feeDetail": [
            {"feeCoin": order.fee_coin, "fee": fmt(order.fee)}
            if done
            else {"feeCoin": "", "fee": ""}
        ],
        "createdTime": str(order.c_time),
        "updatedTime": str(order.u_time if done else order.c_time),
        "stpMode": "none",
    }
    if futures_keys:
        data.update(FUTURES_ONLY_ORDER_KEYS)
    return data


def v3_fill_data(order: Order, fill: Fill, *, futures_keys: bool) -> dict[str, Any]:
    """One element of a v3 ``fill`` push (ws_v3_fill_push, spot)."""
    data: dict[str, Any] = {
        "symbol": order.symbol,
        "orderType": order.order_type,
        "updatedTime": str(fill.time_ms),
        "side": order.side,
        "orderId": order.order_id,
        "execPnl": "0",
        "feeDetail": [{"feeCoin": fill.fee_coin, "fee": fmt(fill.fee)}],
        "execTime": str(fill.time_ms),
        "tradeScope": "taker",
        "execId": fill.trade_id,
        "execLinkId": fill.link_id,
        "execPrice": fmt(fill.price),
        "execValue": fmt(fill.quote_value),
        "category": "spot",
        "execQty": fmt(fill.base_qty),
        "clientOid": order.client_oid,
    }
    if futures_keys:
        data.update(FUTURES_ONLY_FILL_KEYS)
    return data


def v2_account_rows(account: Account, coins: Iterable[str], now_ms: int) -> list[dict[str, Any]]:
    """The v2 ``account`` push data for ``coins`` (ws_v2_account_push)."""
    return [
        {
            "coin": coin,
            "available": fmt(account.available.get(coin, Decimal(0))),
            "frozen": fmt(account.frozen.get(coin, Decimal(0))),
            "locked": "0",  # fiat-merchant locks: not modelled
            "limitAvailable": "0",  # spot copy trading: not modelled
            "uTime": str(now_ms),
        }
        for coin in coins
    ]


def account_coins(account: Account) -> list[str]:
    return sorted(set(account.available) | set(account.frozen))


# --- connections ---------------------------------------------------------------------------


@dataclass(eq=False)
class PrivateConnection(WsConnection):
    """A private socket: the public connection's state plus login, subscriptions, pending
    (delayed) pushes. ``conn_id`` counts private sockets only."""

    account: Account | None = None  # set by a successful login
    # subscription key -> the arg as subscribed (echoed in every push)
    subs: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    close_code: int | None = None  # set: the handler closes the socket gracefully next
    # pushes waiting for the delay fault: (due, loop time; frame bytes; record)
    pending: deque[tuple[float, bytes, PrivatePushRecord]] = field(default_factory=deque)
    timer: asyncio.TimerHandle | None = None

    def event(self, obj: dict[str, Any]) -> bool:
        return self.write(encode_frame(dumps(obj)))


class PrivateWsHub:
    def __init__(self, exchange: EmbeddedExchange) -> None:
        check_settings(exchange.settings)
        self._ex = exchange
        self.conns: dict[int, PrivateConnection] = {}
        self._ids = itertools.count(1)
        self._sweeper: asyncio.Task[None] | None = None
        self.feed = PrivateFeed(exchange, self.conns)
        # the open of the call auction (listing-day model): fills of orders accepted before it
        self.auctions = AuctionSettler(
            exchange, lambda order, first: self.feed.publish_order(order, first, accepted=False)
        )
        exchange.state.on_auction_order = self.auctions.wake

    def publish_order(self, order: Order) -> None:
        """See :meth:`PrivateFeed.publish_order` (called by the REST layer). An auction open
        that is due is pushed first (its orders executed before this one)."""
        if self._ex.state.auction_orders_waiting():
            self.auctions.settle_now()
        self.feed.publish_order(order)

    def publish_balance(self, api_key: str, coins: Iterable[str]) -> None:
        """See :meth:`PrivateFeed.publish_balance` (called by ``ex.set_balance``)."""
        self.feed.publish_balance(api_key, coins)

    # --- lifecycle ------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v2/ws/private", functools.partial(self.handle, version="v2"))
        app.router.add_get("/v3/ws/private", functools.partial(self.handle, version="v3"))

    def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def stop(self) -> None:
        await self.auctions.stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        self.drop_all()

    def drop_all(self) -> int:
        """Abort every private socket now (no close frame: the client sees 1006)."""
        conns = list(self.conns.values())
        for conn in conns:
            self.feed.discard_pending(conn)
            conn.abort()
        return len(conns)

    async def _sweep(self) -> None:
        """The public socket's idle kill and lifetime cap (§7.1), for private sockets."""
        while True:
            s = self._ex.settings
            await asyncio.sleep(max(0.01, min(1.0, s.ws_idle_timeout_s / 10)))
            now = time.monotonic()
            for conn in list(self.conns.values()):
                idle = now - conn.last_ping > s.ws_idle_timeout_s
                old = s.ws_max_lifetime_s is not None and now - conn.opened > s.ws_max_lifetime_s
                if idle or old:
                    self.feed.discard_pending(conn)
                    conn.abort()

    # --- connection handler ---------------------------------------------------------------
    async def handle(self, request: web.Request, version: str) -> web.StreamResponse:
        request[RECORD_KEY].status = 101
        ws = web.WebSocketResponse(
            autoping=True, compress=False, max_msg_size=1 << 20, timeout=WS_CLOSE_TIMEOUT_S
        )
        await ws.prepare(request)
        transport = request.transport
        assert transport is not None
        now = time.monotonic()
        conn = PrivateConnection(next(self._ids), version, ws, transport, now, now)
        self.conns[conn.conn_id] = conn
        self._ex.records.private_ws_connections += 1
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    if self._count_message(conn):
                        conn.send_error(30002, "Illegal request")
                elif msg.type == WSMsgType.ERROR:
                    break
                if conn.close_code is not None:
                    # graceful, as after 30007 in ws.py: the error frame is queued first
                    await ws.close(code=conn.close_code)
                    break
        finally:
            self.conns.pop(conn.conn_id, None)
            self.feed.discard_pending(conn)
        return ws

    def _count_message(self, conn: PrivateConnection) -> bool:
        """10 msg/s per connection, ``ping`` included (§7.1): 30007, then a close frame."""
        limit = self._ex.settings.ws_max_msgs_per_s
        now = time.monotonic()
        times = conn.msg_times
        while times and now - times[0] >= 1.0:
            times.popleft()
        times.append(now)
        if conn.over_limit:
            return False
        if limit and len(times) > limit:
            conn.send_error(30007, "request over limit,connection close")
            conn.over_limit = True
            conn.close_code = WS_OVER_LIMIT_CLOSE_CODE
            return False
        return True

    def _on_text(self, conn: PrivateConnection, text: str) -> None:
        if not self._count_message(conn):
            return
        if text == "ping":
            conn.last_ping = time.monotonic()
            conn.write(encode_frame(b"pong"))
            return
        try:
            req = json.loads(text)
        except (ValueError, RecursionError):
            conn.send_error(30002, "Illegal request")
            return
        if not isinstance(req, dict) or "op" not in req:
            conn.send_error(30002, "Illegal request")
            return
        op = req.get("op")
        if op == "login":
            self._login(conn, req.get("args"))
            return
        if op not in ("subscribe", "unsubscribe"):
            conn.send_error(30003, "Invalid op", op=op if isinstance(op, str) else None)
            return
        args = req.get("args")
        if not isinstance(args, list) or not args:
            conn.send_error(30016, "Param error", op=op)
            return
        if conn.account is None:
            conn.send_error(30004, NOT_LOGGED_IN_MSG)
            for arg in args:
                self._record_sub(conn, arg, 30004)
            return
        for arg in args:
            if op == "subscribe":
                self._subscribe(conn, arg)
            else:
                self._unsubscribe(conn, arg)

    # --- login ----------------------------------------------------------------------------
    def _login(self, conn: PrivateConnection, args: Any) -> None:
        ex = self._ex
        s = ex.settings
        first = args[0] if isinstance(args, list) and args else None
        params = first if isinstance(first, dict) else {}
        key = params.get("apiKey")
        account, code, msg = self._check_login(conn, params)
        if code == 0:
            assert account is not None
            conn.account = account
            reply: dict[str, Any] = {"event": "login", "code": 0}
            if s.ws_private_login_documented:
                reply = {"event": "login", "code": "0", "msg": ""}
            if conn.version == "v3" or s.ws_private_v2_login_conn_id:
                reply["connId"] = conn.conn_id_text
            conn.event(reply)
        else:
            err: dict[str, Any] = {"event": "error", "code": code, "msg": msg}
            if s.ws_private_login_documented:
                err["code"] = str(code)
            if conn.version == "v3":
                err["connId"] = conn.conn_id_text
            conn.event(err)
            closes = (
                s.ws_private_v3_login_error_closes
                if conn.version == "v3"
                else s.ws_private_v2_login_error_closes
            )
            if closes:
                conn.close_code = LOGIN_FAILED_CLOSE_CODE
        ex.records.private_logins.append(
            PrivateLoginRecord(
                conn.conn_id,
                conn.version,
                key if isinstance(key, str) else "",
                "ok" if code == 0 else code,
                time.time_ns(),
            )
        )

    def _check_login(
        self, conn: PrivateConnection, params: dict[str, Any]
    ) -> tuple[Account | None, int, str]:
        """(account, 0, "") or (None, code, message), in the REST order of checks (§3)."""
        ex = self._ex
        s = ex.settings

        def fail(code: int) -> tuple[Account | None, int, str]:
            return None, code, LOGIN_MESSAGES[code]

        if not params:
            return fail(30005)
        key, passphrase = params.get("apiKey"), params.get("passphrase")
        timestamp, signature = params.get("timestamp"), params.get("sign")
        if not isinstance(key, str) or not key:
            return fail(30011)
        if not isinstance(signature, str) or not signature:
            return fail(30015)
        if not isinstance(passphrase, str) or not passphrase:
            return fail(30012)
        if not isinstance(timestamp, str) or not timestamp.isascii() or not timestamp.isdigit():
            return fail(30013)
        ms = len(timestamp) == 13
        if ms and not s.ws_private_login_accept_ms:
            return fail(30013)
        account = ex.state.accounts.get(key)
        if account is None:
            return fail(30011)
        sent_ms = int(timestamp) if ms else int(timestamp) * 1000
        if abs(ex.server_time_ms() - sent_ms) > s.ws_private_login_window_s * 1000:
            return fail(30014)
        if wire(passphrase) != wire(account.passphrase):
            return fail(30012)
        if not verify(account.secret, signature, wire(timestamp) + LOGIN_PREHASH_TAIL):
            return fail(30015)
        wrong = (conn.version == "v2") != (account.mode == "classic")
        if wrong and s.ws_private_wrong_account_code is not None:
            text = s.uta_on_v2_msg if conn.version == "v2" else s.classic_on_v3_msg
            return None, s.ws_private_wrong_account_code, text
        return account, 0, ""

    # --- subscriptions --------------------------------------------------------------------
    def _record_sub(self, conn: PrivateConnection, arg: Any, result: str | int) -> None:
        record_arg = dict(arg) if isinstance(arg, dict) else {"raw": arg}
        self._ex.records.private_subscriptions.append(
            WsSubscriptionRecord(conn.conn_id, record_arg, result)
        )

    def _sub_key(self, conn: PrivateConnection, arg: Any) -> tuple[str, ...] | int:
        """The subscription key of a valid arg, else the error code to answer."""
        if not isinstance(arg, dict):
            return 30016
        if conn.version == "v3":
            inst_type, topic = arg.get("instType"), arg.get("topic")
            if not isinstance(topic, str) or topic not in V3_TOPICS:
                return 30016
            if inst_type != "UTA":
                return 30001  # also lowercase "uta" (GinArea/gobitget, §7.4)
            return (topic,)
        inst_type, channel = arg.get("instType"), arg.get("channel")
        if channel not in V2_CHANNELS or inst_type not in V2_INST_TYPES:
            return 30016
        if channel == "account":
            if inst_type != "SPOT" or arg.get("coin") != "default":
                return 30016
            return ("account",)
        inst_id = arg.get("instId")
        if not isinstance(inst_id, str) or not inst_id:
            return 30016
        if inst_id != "default":
            found = self._ex.state.find_symbol(inst_id, self._ex.server_time_ms())
            if inst_type != "SPOT" or found is None:
                return 30001
            if found[1] == "gray" and not self._ex.settings.ws_gray_subscribable:
                return 30001
        return (channel, inst_type, inst_id)

    def _error_msg(self, conn: PrivateConnection, arg: Any, code: int) -> str:
        if code != 30001:
            return "Param error"
        if conn.version == "v3":  # ws_v3_error_unknown_symbol: the arg as sorted JSON
            return json.dumps(arg, separators=(",", ":"), sort_keys=True) + " doesn't exist"
        return (
            f"instType:{arg.get('instType')},channel:{arg.get('channel')},"
            f"instId:{arg.get('instId')} doesn't exist"
        )

    def _subscribe(self, conn: PrivateConnection, arg: Any) -> None:
        s = self._ex.settings
        now = time.monotonic()
        while conn.sub_times and now - conn.sub_times[0] >= 3600.0:
            conn.sub_times.popleft()
        if s.ws_max_subs_per_hour and len(conn.sub_times) >= s.ws_max_subs_per_hour:
            conn.send_error(30006, "request too many", arg=arg, op="subscribe")
            self._record_sub(conn, arg, 30006)
            return
        conn.sub_times.append(now)
        key = self._sub_key(conn, arg)
        if isinstance(key, int):
            conn.send_error(key, self._error_msg(conn, arg, key), arg=arg, op="subscribe")
            self._record_sub(conn, arg, key)
            return
        conn.subs[key] = dict(arg)
        ack: dict[str, Any] = {"event": "subscribe", "arg": arg}
        if conn.version == "v3" and s.ws_v3_ack_conn_id:
            ack["connId"] = conn.conn_id_text
        conn.event(ack)
        self._record_sub(conn, arg, "ok")
        if key[0] == "account" and s.ws_private_account_snapshot_on_subscribe:
            assert conn.account is not None
            self.feed.push_account(conn, conn.account, account_coins(conn.account), "snapshot")

    def _unsubscribe(self, conn: PrivateConnection, arg: Any) -> None:
        key = self._sub_key(conn, arg)
        if isinstance(key, int):
            conn.send_error(key, self._error_msg(conn, arg, key), arg=arg, op="unsubscribe")
            return
        conn.subs.pop(key, None)
        conn.event({"event": "unsubscribe", "arg": arg})


class PrivateFeed:
    """The pushes of the private sockets: who gets what for an order or a balance change, and
    the writing (with the mute and delay faults and the push records)."""

    def __init__(self, exchange: EmbeddedExchange, conns: dict[int, PrivateConnection]) -> None:
        self._ex = exchange
        self._conns = conns  # the hub's live registry
        self._trade_ids = itertools.count(1_107_950_490_073_112_582)

    def _listeners(self, account: Account) -> list[PrivateConnection]:
        """The sockets logged in with this key, on the account's own generation (a socket of
        the other generation, let in by ``ws_private_wrong_account_code=None``, gets nothing)."""
        version = "v2" if account.mode == "classic" else "v3"
        return [
            c
            for c in self._conns.values()
            if c.account is not None
            and c.account.api_key == account.api_key
            and c.version == version
            and not c.transport.is_closing()
        ]

    def publish_order(self, order: Order, first_fill: int = 0, *, accepted: bool = True) -> None:
        """Push an order to its owner's sockets: order pushes, fill pushes, then the balance
        change. Called by the REST layer right after the matching engine accepted the order
        (``accepted``: its first push, ``live``, goes out too), and by the call auction's open
        for the fills of an order accepted before (``first_fill``: index of its first new fill
        in ``order.fills``)."""
        ex = self._ex
        account = ex.state.accounts.get(order.api_key)
        sym = ex.state.symbols.get(order.symbol)
        if account is None or sym is None:
            return
        conns = self._listeners(account)
        if not conns:
            return
        now_ms = ex.server_time_ms()
        fills = [
            Fill(
                trade_id=str(next(self._trade_ids)),
                link_id=str(next(self._trade_ids)),
                price=execution.price,
                base_qty=execution.base_qty,
                quote_value=execution.quote_value,
                fee=execution.fee,
                fee_coin=execution.fee_coin,
                time_ms=execution.time_ms,
            )
            for execution in order.fills[first_fill:]
        ]
        v2_steps = self._v2_steps(order, first_fill, fills, accepted)
        v3_steps = self._v3_steps(order, first_fill, fills, accepted)
        coins = [sym.base_coin, sym.quote_coin]
        for conn in conns:
            if conn.version == "v2":
                if not v2_steps:
                    continue
                self._publish_v2(conn, order, sym, v2_steps, fills, now_ms)
            else:
                if not v3_steps:
                    continue
                self._publish_v3(conn, order, v3_steps, fills, now_ms)
            self.push_account(conn, account, coins, "update")

    def _final_status(self, order: Order) -> str | None:
        """The last push of a finished order (``filled`` / ``cancelled`` spelt per
        ``ws_private_cancelled_status``); None while it is open."""
        if order.status == "filled":
            return "filled"
        if order.status == "cancelled":
            return self._ex.settings.ws_private_cancelled_status
        return None

    def _v2_steps(
        self, order: Order, first_fill: int, fills: list[Fill], accepted: bool
    ) -> list[Step]:
        """v2 ``orders`` pushes (§7.4): ``live`` on acceptance, one ``partially_filled`` per
        fill (bbgo 2023: the last one already at accBaseVolume = size), then ``filled`` or
        ``cancelled``."""
        steps: list[Step] = []
        if accepted:
            steps.append(("live", None, first_fill))
        for k, fill in enumerate(fills):
            steps.append(("partially_filled", fill, first_fill + k + 1))
        final = self._final_status(order)
        if final is not None:
            steps.append((final, fills[-1] if fills else None, len(order.fills)))
        return steps

    def _v3_steps(
        self, order: Order, first_fill: int, fills: list[Fill], accepted: bool
    ) -> list[Step]:
        """v3 ``order`` pushes: an order resting untouched: ``live``; otherwise ``new`` first
        with ``ws_private_v3_order_statuses="new_filled"``, one push per fill
        (``partially_filled``, the one that completes the order ``filled``), then
        ``cancelled`` for an order whose rest was cancelled."""
        steps: list[Step] = []
        total = len(order.fills)
        if accepted:
            if not fills and order.status in ("live", "partially_filled"):
                steps.append(("live", None, first_fill))
            elif self._ex.settings.ws_private_v3_order_statuses == "new_filled":
                steps.append(("new", None, first_fill))
        for k, fill in enumerate(fills):
            upto = first_fill + k + 1
            done = upto == total and order.status == "filled"
            steps.append(("filled" if done else "partially_filled", fill, upto))
        if order.status == "cancelled":
            cancelled = self._ex.settings.ws_private_cancelled_status
            steps.append((cancelled, fills[-1] if fills else None, total))
        return steps

    def publish_balance(self, api_key: str, coins: Iterable[str]) -> None:
        """Push a balance change that is not an order (a deposit: ``ex.set_balance``)."""
        account = self._ex.state.accounts.get(api_key)
        if account is None:
            return
        for conn in self._listeners(account):
            self.push_account(conn, account, [c.upper() for c in coins], "update")

    def _publish_v2(
        self,
        conn: PrivateConnection,
        order: Order,
        sym: Symbol,
        steps: list[Step],
        fills: list[Fill],
        now_ms: int,
    ) -> None:
        s = self._ex.settings
        for key, arg in list(conn.subs.items()):
            if key[0] not in ("orders", "fill") or key[1] != "SPOT":
                continue
            if key[2] not in ("default", order.symbol):
                continue
            if key[0] == "orders":
                for status, fill, upto in steps:
                    data = v2_order_data(
                        order_at(order, upto),
                        sym,
                        status,
                        fill,
                        fields_2024=s.ws_private_v2_2024_fields,
                    )
                    self._push(conn, "orders", "snapshot", arg, [data], now_ms, order, status)
            else:
                for fill in fills:
                    data = v2_fill_data(order, sym, fill)
                    self._push(conn, "fill", "snapshot", arg, [data], now_ms, order, None)

    def _publish_v3(
        self,
        conn: PrivateConnection,
        order: Order,
        steps: list[Step],
        fills: list[Fill],
        now_ms: int,
    ) -> None:
        s = self._ex.settings
        futures_keys = s.ws_private_v3_futures_keys
        if ("order",) in conn.subs:
            arg = conn.subs[("order",)]
            for status, fill, upto in steps:
                data = v3_order_data(order_at(order, upto), status, fill, futures_keys=futures_keys)
                self._push(conn, "order", "snapshot", arg, [data], now_ms, order, status)
        if ("fill",) in conn.subs:
            for fill in fills:
                data = v3_fill_data(order, fill, futures_keys=futures_keys)
                arg = conn.subs[("fill",)]
                self._push(conn, "fill", "snapshot", arg, [data], now_ms, order, None)

    def push_account(
        self, conn: PrivateConnection, account: Account, coins: list[str], action: str
    ) -> None:
        key = ("account",)
        if key not in conn.subs:
            return
        now_ms = self._ex.server_time_ms()
        arg = conn.subs[key]
        if conn.version == "v2":
            # v2 account pushes are snapshots, also on a change (ws_v2_account_push)
            self._push(conn, "account", "snapshot", arg, v2_account_rows(account, coins, now_ms))
            return
        self._push(conn, "account", action, arg, [self._v3_account(account, coins)])

    def _v3_account(self, account: Account, coins: list[str]) -> dict[str, Any]:
        """ws_v3_account_push data: account totals over every coin, rows for ``coins``."""
        ex = self._ex
        total = Decimal(0)
        rows = []
        for coin in account_coins(account):
            available = account.available.get(coin, Decimal(0))
            locked = account.frozen.get(coin, Decimal(0))
            balance = available + locked
            usd = balance * ex.usdt_price(coin)
            total += usd
            if coin in coins:
                rows.append(
                    {
                        "debts": "0",
                        "balance": fmt(balance),
                        "available": fmt(available),
                        "borrow": "0",
                        "locked": fmt(locked),
                        "equity": fmt(balance),
                        "coin": coin,
                        "usdValue": fmt(usd),
                    }
                )
        return {
            "unrealisedPnL": "0",
            "totalEquity": fmt(total),
            "positionMgnRatio": "0",
            "mmr": "0",
            "effEquity": fmt(total),
            "imr": "0",
            "mgnRatio": "0",
            "coin": rows,
        }

    # --- writing (mute / delay faults) ----------------------------------------------------
    def _push(
        self,
        conn: PrivateConnection,
        channel: str,
        action: str,
        arg: dict[str, Any],
        data: list[dict[str, Any]],
        now_ms: int | None = None,
        order: Order | None = None,
        status: str | None = None,
    ) -> None:
        faults = self._ex.faults
        if faults.mute_private_ws:
            return
        ts = self._ex.server_time_ms() if now_ms is None else now_ms
        message = {"action": action, "arg": arg, "data": data, "ts": ts}
        record = PrivatePushRecord(
            conn_id=conn.conn_id,
            version=conn.version,
            api_key=conn.account.api_key if conn.account is not None else "",
            channel=channel,
            message=message,
            event_ns=time.time_ns(),
            sent_ns=0,
            order_id=order.order_id if order is not None else None,
            client_oid=order.client_oid if order is not None else None,
            status=status,
        )
        frame = encode_frame(dumps(message))
        delay_ms = faults.private_ws_push_delay_ms
        if delay_ms <= 0 and not conn.pending:
            self._write(conn, frame, record)
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + max(0, delay_ms) / 1000
        if conn.pending:
            due = max(due, conn.pending[-1][0])  # never overtake an earlier push
        conn.pending.append((due, frame, record))
        if conn.timer is None:
            conn.timer = loop.call_at(due, self._flush, conn)

    def _write(self, conn: PrivateConnection, frame: bytes, record: PrivatePushRecord) -> None:
        if conn.transport.is_closing():
            return
        record.sent_ns = time.time_ns()  # CLOCK_REALTIME, immediately before the write
        conn.transport.write(frame)
        self._ex.records.private_pushes.append(record)

    def _flush(self, conn: PrivateConnection) -> None:
        conn.timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        while conn.pending and conn.pending[0][0] <= now:
            _, frame, record = conn.pending.popleft()
            self._write(conn, frame, record)
        if conn.pending:
            conn.timer = loop.call_at(conn.pending[0][0], self._flush, conn)

    def discard_pending(self, conn: PrivateConnection) -> None:
        if conn.timer is not None:
            conn.timer.cancel()
            conn.timer = None
        conn.pending.clear()
