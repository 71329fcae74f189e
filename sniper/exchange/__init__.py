"""The embedded exchange: a Bitget-shaped spot REST + WebSocket server on 127.0.0.1.

Used by ``sniper demo``, ``sniper exchange``, every integration test and the end-to-end
benchmarks. It follows ``bitget-api.md`` (the project's reference); every behaviour that
reference marks [UNCERTAIN] is a field of :class:`ExchangeSettings`. It never connects
anywhere: it only listens, by default on 127.0.0.1.

Quick tour::

    from sniper.exchange import Account, EmbeddedExchange, ExchangeSettings

    async with EmbeddedExchange(ExchangeSettings(port=0)) as ex:
        ex.add_account(Account(api_key="k", secret="s", passphrase="p",
                               balances={"PAWS": "1000", "USDT": "50"}))
        ex.add_symbol("BTCUSDT", price="43000", quantity_precision=6, price_precision=2)
        await ex.list_symbol("PAWSUSDT", open_at_ms=ex.server_time_ms() + 3000,
                             price="0.0123", quantity_precision=2,
                             max_market_order_value="50000")  # listing-day cap (45113)
        ...  # point the sniper at ex.rest_url / ex.ws_url (ex.ws_url_v3 for UTA)
        order = await ex.wait_for_order(timeout=10)
        latency_ns = order.first_byte_ns - ex.records.listing_ticker_ns["PAWSUSDT"]

What is modelled
----------------
Reply shapes are those of the real captured traffic in ``tests/data/bitget-samples.json``
(copy of ``shared/bitget-samples.json``), key for key and type for type;
``tests/exchange/test_conformance.py`` asks the exchange the equivalent of every sample kind
and lists the kinds not modelled with the reason. The source of each behaviour below is in
brackets (a bitget-api.md section or a sample kind).

* REST v2 classic: ``/api/v2/public/time``, ``/api/v2/spot/public/symbols``,
  ``/api/v2/spot/market/tickers``, ``/api/v2/spot/account/assets``,
  ``/api/v2/spot/trade/place-order``, ``/api/v2/spot/trade/orderInfo``. Symbol rows carry
  exactly the keys of the real rows [rest_symbols_v2] incl. ``openTime`` (the announced or
  actual open; unannounced: ``""`` or a far-future placeholder, ``v2_unannounced_open_time``
  [§10.3, rest_symbols_v2 rows SLNUSDT / CARUSDT]); ``maxMarketOrderValue`` only on a capped
  symbol [§5.1, [CODE]-optional]. orderInfo rows have no ``cancelReason`` by default
  [rest_order_info_v2; §5.9 lists it: ``v2_order_info_cancel_reason``] and a ``feeDetail``
  string with ``newFees`` and the fee coin's entry [rest_order_info_v2].
* REST v3 UTA: ``/api/v3/market/instruments``, ``/api/v3/market/tickers`` (with ``ts``
  [rest_tickers_v3]), ``/api/v3/account/settings`` (the keys of rest_account_settings_v3),
  ``/api/v3/account/assets``, ``/api/v3/trade/place-order``, ``/api/v3/trade/order-info``
  (with the null TP/SL fields [rest_order_info_v3]). Classic keys on v3 -> 40084, UTA keys on
  v2 -> 40085 [§1, rest_error_v2]. Instrument rows [rest_instruments_v3, §5.11] carry NO
  ``openTime``: the open is ``launchTime`` ([CODE] JKorf BitgetUaSpotSymbol; unannounced:
  ``"0"``, ``""``, null, a far-future placeholder or absent, ``v3_unannounced_launch_time``);
  ``limitOpenTime`` is a restriction time, ``""`` or ``"-1"`` (``v3_limit_open_time``), never
  the open; ``maxMarketOrderQty`` only on a capped symbol [§5.11, [CODE] TS InstrumentV3];
  status ``restrictedAPI`` for a symbol made with ``restricted_api=True`` [§5.10, §5.11].
* Envelope ``{"code":"00000","msg":"success","requestTime":ms,"data":...}`` [§4]; errors HTTP
  400 with ``data: null``; ``requestTime`` a number, or a string with
  ``request_time_as_string`` (the real samples carry both); HTTP 429
  ``{"code":"429","msg":"Too Many Requests"}`` [rest_error_v2_429]; header
  ``x-mbx-used-remain-limit``; unknown path HTTP 404 code ``40404``.
* Authentication exactly per §3 (independent HMAC implementation in :mod:`.auth`): prehash
  over the request target and body *as received*; 40001/40002/40011/40005/40006/40008/
  40012 (setting)/40009/40018/40014 (on v3 ``v3_permission_code``: 25620 by default, §5.11);
  timestamp window against the exchange clock incl. skew.
* Demo mode (``paptrading: 1`` required, code a setting) [§2, rest_error_v2 40099].
* Token buckets per endpoint (per IP public, per API key private), §5 numbers.
* Symbol lifecycle absent -> gray (``openTime`` / ``launchTime`` announced or a placeholder)
  -> online at ``open_at_ms`` -> halt / offline [§10]. Order validation in the order of §12.5,
  every code a setting, with the real messages of Bitget's tables: unknown symbol 40034 / v3
  25100; v3 ``restrictedAPI`` 25013 [§5.11; no v2 counterpart is documented, v2 ignores the
  flag]; not open 43115 [rest_error_v2] / v3 25101 [§5.11]; halt, offline 41114 / v3 25102;
  quantity precision 40808 / v3 25610; base-quantity bounds 45111, 45112 / v3 25207, 25208;
  minimum value 45110 [rest_error_v2] / v3 25611; a market order over the symbol's cap 45113,
  not executed [§5.11, §10.8]; duplicate clientOid 43118 / v3 25212 (checked before the
  balance by default; position, scope — any order or unfilled ones only — and 6 h expiry are
  settings, §5.6); balance 43012 [rest_error_v2] / v3 25202. Instant fills of market orders at
  the current price with a 0.1 % taker fee; limit orders fill if marketable, else rest
  ``live`` with frozen funds (no cancel endpoint).
* Listing-day model (:mod:`.book`, issue 13), off by default (no book, every setting off:
  matching as above). ``ex.state.set_book(symbol, bids=[(price, size), ...])``: a SELL walks
  the bids best first at the bids' prices, consuming them, one fill each [§10.6, §10.10 thin
  book]; the symbol's price follows the last trade. Market sell: what the bids hold, the rest
  cancelled (final status ``book_market_rest_status``: ``cancelled`` [§5.9] / ``filled`` /
  ``partially_filled`` [UNCERTAIN]) or refused whole with 25209 [§5.11]
  (``book_market_thin="reject"``). Limit sell at P [§5.6 ``force``, §5.10 ``timeInForce``]:
  every bid >= P, then gtc rests ``live`` / ``partially_filled`` at P with the rest frozen, ioc
  cancels the rest, fok all-or-nothing (else ``cancelled``, nothing executed), post_only that
  would take: ``cancelled`` or refused (``post_only_marketable`` [UNCERTAIN]). Buys ignore the
  book. Limit price band ``price_band`` (``ratio``: sell < price x (1 - sellLimitPriceRatio);
  ``divide``; [§10.6 UNCERTAIN]) -> 40808 "Parameter verification exception delegatePrice"
  [§6, ccxt#25150] / ``v3_price_band_code``; price decimals -> ``price_scale_code`` 41103 [§6]
  / ``v3_price_scale_code``; the 45113 cap is checked before the book. Market orders refused
  for ``market_orders_refused_for_s`` after the open with ``market_refused_code`` 43119 / v3
  25101 [§10.10 UNCERTAIN, §6 not-trading codes], limits accepted. Call auction
  ``auction_window_s`` before a scheduled open [§10.4 UNCERTAIN]: kinds in ``auction_accepts``
  wait ``live`` (frozen) and execute at the open at one clearing price (the lowest bid any of
  them reached), others get ``auction_refused_code`` 43115 / v3 25101. Every fill is on
  ``ex.state.fills`` (:class:`~.book.FillRecord`; ``ex.state.executed_qty(key, symbol)``) and
  on ``Order.fills``; orderInfo / order-info show the cumulative volume and average price;
  the private feed pushes one ``partially_filled`` per fill, then ``filled`` / ``cancelled``.
* Public WS v2 and v3: subscribe / unsubscribe acks [ws_v2_ack, ws_v3_ack], 30001 for unknown
  symbols (not remembered) — v2 with ``arg`` and ``op`` and the real message
  [ws_v2_error_unknown_symbol], v3 WITHOUT ``arg``, with a ``connId`` and the arg as JSON in
  ``msg`` [ws_v3_error_unknown_symbol]; every v3 error event has that shape
  [ws_v3_error_login]; text ping/pong [ws_pong], idle kill, 24 h forced disconnect, 10 msg/s
  (30007, then a graceful close frame 1008), optionally one zero-price snapshot after a gray
  pair's ack (``ws_gray_snapshot``), 240 subscriptions/h (30006), bad JSON 30002, unknown op
  30003, bad args or channel 30016 [ws_v2_error_param]; ticker snapshots every
  ``ticker_interval_s`` in the shape of ws_v2_ticker / ws_v3_ticker (no ``symbol`` inside v3
  ``data``); a snapshot right after a ticker ack for a trading pair; the *listing ticker*
  written the moment a pair goes online.
* Faults (:class:`~.faults.Faults`): clock skew, WS drop, withheld order reply, dropped order
  request (never executed nor answered), orders hidden from orderInfo / order-info, balance
  reads that lag behind fills (``freeze_balances``), canned order replies — any v2 or v3
  code (e.g. the transient 25000/25001/25003/25004/25209 of §5.11), an HTTP status, a raw
  body — either not executed or, with ``OrderReply(..., executed=True)``, executed first and
  then answered; failing polls, raw WS frames, muted pushes, JSON WS messages fragmented into
  several frames (``fragment_ws_pushes``), text pings that are never answered
  (``swallow_ws_pings``), a Cloudflare-style 403 page on the keep-alive GET
  (``front_door_403``).
* Records (:class:`~.recorder.Records`): every request with its first-byte time, every order,
  listing ticker times, WS subscriptions.
* A simulated WAN (:mod:`.wan`; settings ``wan_one_way_ms``, ``wan_jitter_ms``, ``wan_seed``;
  ``sniper exchange --wan-ms``), off by default: every chunk each way is delayed by one_way ±
  a uniform jitter, FIFO per connection. A request *arrives* that much after its bytes reach
  the socket and is decided at that instant (not open 43115 / 25101 [§10.5], the matching,
  the timestamp window, the rate limit) and stamped with it (``requestTime`` [§4],
  ``serverTime`` [§3.3]); replies and every WS frame reach the client that much after the
  exchange wrote them, so a client's round trip is 2x one way. ``ex.arrivals(symbol)``:
  every place-order of the trial as (arrival offset from the open in ms, code, accepted).
* place-order budget 10/s per UID [§5]: refused attempts (43115 / 25101) count too;
  ``place_order_limit_counts_refused=False`` is the kinder variant [UNCERTAIN].
* Private WS (:mod:`.private_ws`, §7.4) on ``ex.ws_private_url`` (``/v2/ws/private``) and
  ``ex.ws_private_url_v3`` (``/v3/ws/private``): login signed over ``timestamp + "GET" +
  "/user/verify"`` (seconds, ms per setting, 30 s window on the exchange clock; 30011-30015,
  30005; a key of the other generation refused per ``ws_private_wrong_account_code``), 30004
  before login; v2 ``orders`` / ``fill`` / ``account`` and v3 ``order`` / ``fill`` /
  ``account``; on every order the owner's sockets get ``live`` -> ``partially_filled`` ->
  ``filled`` (v2) or ``filled`` / ``new`` -> ``filled`` (v3, a setting), the fill and the
  balance change, deposits (``set_balance``) too; faults ``mute_private_ws``,
  ``private_ws_push_delay_ms``, ``drop_private_ws_connections()``; records
  ``private_logins`` / ``private_subscriptions`` / ``private_pushes`` (with write times).

Not modelled: futures
(tickers, books of USDT-FUTURES are "unknown symbols"), WS order placement, call
auction stages (one window, no ``/market/auction``), the ask side and the public books /
trades channels (the bid book is private to the matching engine), bids arriving later (a
resting order never fills after it was placed), cancel and batch endpoints,
``receiveWindow``, ``/api/v2/public/annoucements``, RSA keys, the 6000/min per-IP overall
cap, connection-count limits, price movement (the price changes only through ``set_price``
and trades on a bid book).

Clock and timestamps
--------------------
Every recorded time is CLOCK_REALTIME ns (``time.time_ns()`` / kernel ``SO_TIMESTAMPNS``).
A request's ``first_byte_ns`` is the kernel receive time of its first segment (the accepted
sockets read with ``recvmsg`` and ``SO_TIMESTAMPNS``; ``first_byte_source == "kernel"``), or
``time.time_ns()`` in ``data_received`` when that is unavailable (uvloop; ``"user"``); a
stray CRLF before a request-line does not start it. ``complete_ns`` is the same stamp for the
request's last byte (end of head, or of body), which a client cannot move early.
``listing_ticker_ns`` is ``time.time_ns()`` right before ``transport.write`` of the
pre-encoded first push (measured ~0.1-0.2 ms after ``open_at_ms``). ``ex.kernel_stamping``
says whether ``start()`` saw the kernel stamp a loopback packet. See :mod:`.net` and
:mod:`.recorder`.

With the simulated WAN (:mod:`.wan`) the stamps above stay those of the loopback socket (the
kernel's first-byte and complete stamps; write times are when the exchange sent), and
``arrival_ns`` (requests and orders) is the simulated arrival: ``complete_ns`` + the sampled
one-way delay (without a WAN, ``complete_ns``). The exchange decides a REST request at its
arrival, on the exchange clock (``ex.to_server_ns``): ``requestTime`` and ``serverTime`` are
that ms, even though the request is processed a few µs later (``ex.symbol_as_of`` keeps a
listing flip in between from letting an order that arrived before the open through). The
open of ``ex.arrivals`` is ``ex.open_instant_ms(symbol)``: the scheduled ``open_at_ms``, or
the instant the pair went online.

Accounts: ``Account.balances`` is the starting balance; the live balances are
``Account.available`` / ``Account.frozen`` (``ex.balance(key, coin)``, ``ex.set_balance``).
Symbols: ``add_symbol`` (visible now, any status), ``list_symbol`` (a scheduled listing),
``open_symbol``, ``set_symbol_status`` (halt / offline / gray / online), ``set_price``. Both
``add_symbol`` and ``list_symbol`` take the listing-day fields ``max_market_order_value`` (v2
cap, quote coin), ``max_market_order_qty`` (v3 cap, base coin), ``restricted_api`` (v3
``restrictedAPI``) and the base-quantity bounds ``min_order_qty`` / ``max_order_qty``.
"""

from .faults import Faults, OrderReply
from .recorder import (
    OrderRecord,
    PrivateLoginRecord,
    PrivatePushRecord,
    Records,
    RequestRecord,
    WsSubscriptionRecord,
)
from .server import EmbeddedExchange
from .settings import DEFAULT_RATE_LIMITS, ExchangeSettings
from .state import Account, Symbol, random_credentials

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "Account",
    "EmbeddedExchange",
    "ExchangeSettings",
    "Faults",
    "OrderRecord",
    "OrderReply",
    "PrivateLoginRecord",
    "PrivatePushRecord",
    "Records",
    "RequestRecord",
    "Symbol",
    "WsSubscriptionRecord",
    "random_credentials",
]
