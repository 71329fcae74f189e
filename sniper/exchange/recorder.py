"""What the exchange saw and when: the measurement side of the simulator.

One clock for every timestamp here: **CLOCK_REALTIME in ns** (``time.time_ns()`` and the
kernel's ``SO_TIMESTAMPNS``, which is CLOCK_REALTIME too), so records compare with each other
and with kernel timestamps taken by a client.

* ``RequestRecord.first_byte_ns`` — when the first byte of the request reached the server's
  TCP stack (kernel receive timestamp, ``first_byte_source == "kernel"``), or, where the kernel
  timestamp is unavailable (uvloop, a platform without ``SO_TIMESTAMPNS``), ``time.time_ns()``
  at the first ``data_received`` of the request (``"user"``). Empty lines (CR/LF only) before a
  request-line do not count as its first byte. See ``sniper.exchange.net``.
* ``RequestRecord.complete_ns`` — when the request's LAST byte arrived (same clock and source):
  the read that completed the head, or the body's last byte for a request with a body. A client
  can make ``first_byte_ns`` early by writing one byte ahead of time; it cannot do that to
  ``complete_ns``, so latency comparisons between clients should use ``complete_ns`` (or both:
  ``complete_ns - first_byte_ns`` is how long the request took to arrive). Equal to
  ``first_byte_ns`` for a request that arrived in one segment.
* ``listing_ticker_ns`` — ``time.time_ns()`` taken immediately before the transport write of
  the first ticker push after a symbol went online (the frame is encoded before the stamp).
* ``RequestRecord.arrival_ns`` / ``OrderRecord.arrival_ns`` — when the request *arrived* at
  the exchange: with the simulated WAN (:mod:`.wan`) the simulated arrival of its last byte
  (its kernel stamp + the sampled one-way delay), the instant the exchange decided it at
  (not-open, matching, ``requestTime``); without a WAN equal to ``complete_ns``. The
  first-byte and complete stamps stay the kernel's (the bytes reached the loopback socket
  then). ``OrderRecord.arrival_server_ns`` is the same instant on the exchange clock (clock
  skew fault included): ``ex.arrivals(symbol)`` measures it from the open.
* With the WAN, every time of a write (``listing_ticker_ns``, ``reply_ns``, private pushes'
  ``sent_ns``) is when the exchange sent it; the client receives it one sampled one-way delay
  later.

Headers are recorded with their secrets (ACCESS-SIGN, ACCESS-PASSPHRASE): records are for tests.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, NamedTuple


@dataclass(slots=True)
class RequestRecord:
    method: str
    path: str  # path only, no query
    query: str  # raw query string as received ("" when none)
    headers: dict[str, str]  # as received, secrets kept (test-only)
    body: bytes  # exact body bytes
    first_byte_ns: int  # ns, CLOCK_REALTIME; see module docstring
    complete_ns: int  # ns, CLOCK_REALTIME: the request's last byte; see module docstring
    status: int = 0  # HTTP status answered (0 while pending / never answered)
    code: str | None = None  # envelope code answered ("00000", "40009", "429", ...)
    # "kernel" (SO_TIMESTAMPNS), "user" (time.time_ns() in data_received) or "middleware"
    # (time.time_ns() when the request reached the app: an aiohttp without the internals
    # net.py needs)
    first_byte_source: str = "user"
    # ns, CLOCK_REALTIME: the (simulated, .wan) arrival of the request's last byte; without a
    # WAN = complete_ns. See the module docstring.
    arrival_ns: int = 0


@dataclass(slots=True)
class OrderRecord:
    api_key: str
    symbol: str
    side: str
    size: str  # `size` (v2) or `qty` (v3) exactly as sent
    client_oid: str | None
    order_id: str | None  # set when accepted
    accepted: bool  # executed by the matching engine
    code: str | None  # envelope code of the answer (or of the answer that was withheld)
    first_byte_ns: int  # ns, CLOCK_REALTIME, of the HTTP request carrying the order
    complete_ns: int  # ns, CLOCK_REALTIME: that request's last byte (see the module docstring)
    replied: bool  # False while withheld (withhold_next_order_reply)
    api: str = "v2"  # "v2" or "v3"
    reply_ns: int | None = None  # ns, CLOCK_REALTIME, just before the reply was handed to aiohttp
    arrival_ns: int = 0  # ns, CLOCK_REALTIME: the request's (simulated) arrival, module docstring
    arrival_server_ns: int = 0  # ns, exchange clock: the same instant (skew included)


class WsSubscriptionRecord(NamedTuple):
    conn_id: int
    arg: dict[str, Any]
    result: str | int  # "ok" or the WS error code (30001, 30006, 30016, ...)


class PrivateLoginRecord(NamedTuple):
    """One login on the private WebSocket (see :mod:`.private_ws`)."""

    conn_id: int  # counts private sockets only
    version: str  # "v2" or "v3"
    api_key: str  # as sent ("" when absent)
    result: str | int  # "ok" or the error code (30011, 30012, ..., the wrong-account code)
    ns: int  # CLOCK_REALTIME, when the reply was written


@dataclass(slots=True)
class PrivatePushRecord:
    """One push written on a private socket: what the client could have seen, and when."""

    conn_id: int  # counts private sockets only
    version: str  # "v2" or "v3"
    api_key: str  # the socket's logged-in key
    channel: str  # v2 channel (orders / fill / account) or v3 topic (order / fill / account)
    message: dict[str, Any]  # the whole frame as written (action, arg, data, ts)
    event_ns: int  # CLOCK_REALTIME, when the exchange made the push (the order executed)
    sent_ns: int  # CLOCK_REALTIME, immediately before transport.write (after any delay fault)
    order_id: str | None = None  # order and fill pushes
    client_oid: str | None = None
    status: str | None = None  # order pushes: v2 `status` / v3 `orderStatus`


@dataclass
class Records:
    requests: list[RequestRecord] = field(default_factory=list)
    orders: list[OrderRecord] = field(default_factory=list)
    listing_ticker_ns: dict[str, int] = field(default_factory=dict)  # symbol -> ns
    # every listing push: (conn_id, symbol, ns) — one per subscribed connection
    listing_pushes: list[tuple[int, str, int]] = field(default_factory=list)
    ws_subscriptions: list[WsSubscriptionRecord] = field(default_factory=list)
    ws_connections: int = 0  # WebSocket connections accepted so far
    # the private WebSocket (.private_ws): sockets accepted, logins, subscriptions (incl.
    # 30004 before login), every push written
    private_ws_connections: int = 0
    private_logins: list[PrivateLoginRecord] = field(default_factory=list)
    private_subscriptions: list[WsSubscriptionRecord] = field(default_factory=list)
    private_pushes: list[PrivatePushRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._order_event: asyncio.Event | None = None

    def add_order(self, record: OrderRecord) -> None:
        self.orders.append(record)
        if record.accepted and self._order_event is not None:
            self._order_event.set()

    def first_accepted_order(self) -> OrderRecord | None:
        return next((o for o in self.orders if o.accepted), None)

    async def wait_for_order(self, timeout: float = 5.0) -> OrderRecord:  # noqa: ASYNC109
        """The first accepted order; raises TimeoutError if none arrives in ``timeout`` s."""
        found = self.first_accepted_order()
        if found is not None:
            return found
        if self._order_event is None:
            self._order_event = asyncio.Event()
        async with asyncio.timeout(timeout):
            while (found := self.first_accepted_order()) is None:
                await self._order_event.wait()
                self._order_event.clear()
        return found

    def clear(self) -> None:
        self.requests.clear()
        self.orders.clear()
        self.listing_ticker_ns.clear()
        self.listing_pushes.clear()
        self.ws_subscriptions.clear()
        self.private_logins.clear()
        self.private_subscriptions.clear()
        self.private_pushes.clear()
