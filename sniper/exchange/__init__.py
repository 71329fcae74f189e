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
                             price="0.0123", quantity_precision=2)
        ...  # point the sniper at ex.rest_url / ex.ws_url (ex.ws_url_v3 for UTA)
        order = await ex.wait_for_order(timeout=10)
        latency_ns = order.first_byte_ns - ex.records.listing_ticker_ns["PAWSUSDT"]

What is modelled
----------------
* REST v2 classic: ``/api/v2/public/time``, ``/api/v2/spot/public/symbols`` (every §5.1 field
  incl. ``openTime``), ``/api/v2/spot/market/tickers``, ``/api/v2/spot/account/assets``,
  ``/api/v2/spot/trade/place-order``, ``/api/v2/spot/trade/orderInfo``.
* REST v3 UTA: ``/api/v3/market/instruments``, ``/api/v3/market/tickers``,
  ``/api/v3/account/settings``, ``/api/v3/account/assets``, ``/api/v3/trade/place-order``,
  ``/api/v3/trade/order-info``. Classic keys on v3 -> 40084, UTA keys on v2 -> 40085.
* Envelope ``{"code":"00000","msg":"success","requestTime":ms,"data":...}``; errors HTTP 400
  with ``data: null``; HTTP 429 ``{"code":"429","msg":"Too Many Requests"}``; header
  ``x-mbx-used-remain-limit``; unknown path HTTP 404 code ``40404``.
* Authentication exactly per §3 (independent HMAC implementation in :mod:`.auth`): prehash
  over the request target and body *as received*; 40001/40002/40011/40005/40006/40008/
  40012 (setting)/40009/40018/40014; timestamp window against the exchange clock incl. skew.
* Demo mode (``paptrading: 1`` required, code a setting).
* Token buckets per endpoint (per IP public, per API key private), §5 numbers.
* Symbol lifecycle absent -> gray (``openTime`` or "") -> online at ``open_at_ms`` -> halt /
  offline; order validation in the order of §12.5 with real-looking messages (the duplicate
  clientOid check before the balance check by default; its position, scope — any order or
  unfilled ones only — and 6 h expiry are settings, §5.6); instant fills
  of market orders at the current price with a 0.1 % taker fee; limit orders fill if
  marketable, else rest ``live`` with frozen funds (no cancel endpoint).
* Public WS v2 and v3: subscribe / unsubscribe acks, 30001 for unknown symbols (not
  remembered), text ping/pong, idle kill, 24 h forced disconnect, 10 msg/s (30007, then a
  graceful close frame 1008), optionally one zero-price snapshot after a gray pair's ack
  (``ws_gray_snapshot``),
  240 subscriptions/h (30006), bad JSON 30002, unknown op 30003, bad args 30016; ticker
  snapshots every ``ticker_interval_s``; a snapshot right after a ticker ack for a trading
  pair; the *listing ticker* written the moment a pair goes online.
* Faults (:class:`~.faults.Faults`): clock skew, WS drop, withheld order reply, dropped order
  request (never executed nor answered), orders hidden from orderInfo / order-info, balance
  reads that lag behind fills (``freeze_balances``), canned
  order replies (codes / HTTP statuses, not executed), failing polls, raw WS frames, muted
  pushes, JSON WS messages fragmented into several frames (``fragment_ws_pushes``), text
  pings that are never answered (``swallow_ws_pings``).
* Records (:class:`~.recorder.Records`): every request with its first-byte time, every order,
  listing ticker times, WS subscriptions.

Not modelled: private WebSocket (login, orders/account channels), WS order placement, call
auction stages, order book / trades, cancel and batch endpoints, ``receiveWindow``,
``/api/v2/public/annoucements``, RSA keys, the 6000/min per-IP overall cap, connection-count
limits, price movement (the price changes only through ``set_price``), partial fills.

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

Accounts: ``Account.balances`` is the starting balance; the live balances are
``Account.available`` / ``Account.frozen`` (``ex.balance(key, coin)``, ``ex.set_balance``).
Symbols: ``add_symbol`` (visible now, any status), ``list_symbol`` (a scheduled listing),
``open_symbol``, ``set_symbol_status`` (halt / offline / gray / online), ``set_price``.
"""

from .faults import Faults, OrderReply
from .recorder import OrderRecord, Records, RequestRecord, WsSubscriptionRecord
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
    "Records",
    "RequestRecord",
    "Symbol",
    "WsSubscriptionRecord",
    "random_credentials",
]
