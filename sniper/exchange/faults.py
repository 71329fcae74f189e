"""Fault injection: everything a test can make the exchange do wrong on purpose.

Canned replies (``queue_order_replies``, ``fail_polls``) are given as

* a string Bitget code: HTTP 400 + JSON envelope with that code and its message from
  :data:`KNOWN_MESSAGES` (v2 codes from bitget-api.md §6, v3/UTA codes from §5.11); ``"429"``
  gives the real 429 reply;
* an int HTTP status: 429 is the real 429 JSON reply; any other status, e.g. 502/503/504, a
  small ``text/html`` body like the Cloudflare front door returns, so the client meets non-JSON;
* an :class:`OrderReply`, which says everything: code, message, HTTP status, a raw body, and
  whether the order was executed before the reply was written.

A string or an int is answered WITHOUT executing the order ("not executed, answered X": e.g. a
UTA 25000 the matching engine never saw). ``OrderReply(..., executed=True)`` runs the order
through the matching engine first (validation, fill, balances, orderInfo) and then answers X
instead of the real reply ("executed but answered X": a 5xx, a 40015 or a garbled body AFTER a
fill, §10.8 "never resend without a lookup first").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import EmbeddedExchange


@dataclass(frozen=True, slots=True)
class OrderReply:
    """One canned reply to a place-order (or to a poll, where ``executed`` must stay False).

    * ``code`` (+ ``msg``): a JSON error envelope ``{"code","msg","requestTime","data":null}``;
      ``msg`` None takes :data:`KNOWN_MESSAGES` (or a generic text). ``status`` defaults to 400
      (429 for code ``"429"``); a ``status`` of 200 gives the "HTTP 200 + error code" form some
      clients guard against (§3.4 [UNCERTAIN]).
    * no ``code``, a ``status``: the small Cloudflare-style HTML page of that status.
    * ``raw``: exactly these bytes as the body (garbled or truncated JSON, an empty body, ...)
      with ``status`` (default 200) and ``content_type``; ``code`` is then only what the
      records show.
    * ``executed``: the order goes through the matching engine first (and is filled if valid),
      then this reply is written instead of the real one. False: never executed.
    """

    code: str | None = None
    msg: str | None = None
    status: int | None = None
    raw: bytes | None = None
    content_type: str = "application/json"
    executed: bool = False

    def __post_init__(self) -> None:
        if self.code is None and self.status is None and self.raw is None:
            raise ValueError("OrderReply needs a code, a status or a raw body")


CannedReply = str | int | OrderReply

# Messages for the codes a test is likely to queue; anything else gets a generic text.
# v2 texts: bitget-api.md §6 (Bitget's REST error table); v3/UTA texts: §5.11 (Bitget's table
# of the 25xxx family UTA replies use, verbatim).
KNOWN_MESSAGES: dict[str, str] = {
    "40015": "System is abnormal, please try again later",
    "40200": "Server upgrade, please try again later",
    "40010": "Request timed out",
    "43059": "Request failed, please try again",
    "45001": "Unknown error",
    "40725": "service return an error",
    "43115": (
        "The current trading pair is opening soon, please refer to the official announcement "
        "for the opening time"
    ),
    "43012": "Insufficient balance",
    "45110": "less than the minimum amount 1 USDT",
    "43118": "clientOrderId duplicate",
    "40034": "Parameter does not exist",
    "41114": (
        "The current trading pair is under maintenance, please refer to the official "
        "announcement for the opening time"
    ),
    "45113": "Maximum order value limit triggered",
    "429": "Too Many Requests",
    # v3 / UTA (§5.11)
    "25000": "System error, please try again later",
    "25001": "Operation timed out",
    "25003": "Concurrent operation, please retry",
    "25004": "Operation too frequent, please try again later",
    "25101": "Trading pair not open for trading",
    "25102": "Trading pair temporarily closed for maintenance",
    "25202": "Insufficient balance",
    "25204": "Order does not exist",
    "25209": "Insufficient market liquidity, please try again later",
    "25212": "Duplicate clientOid",
    "25610": "Order amount does not meet precision requirements",
    "25611": "Order quantity must be greater than the minimum order amount",
    "25620": "permission denied",
}


# The page a Cloudflare front door answers a refused client with ("Attention Required!", HTTP
# 403, text/html, no Bitget envelope). Not a capture: it mimics Cloudflare's block page, short,
# because bitget-api.md §2 and §11 say the REST front door of api.bitget.com is Cloudflare.
FRONT_DOOR_403_PATH = "/api/v2/public/time"  # the keep-alive GET of the order connections
FRONT_DOOR_403_HTML = (
    b"<!DOCTYPE html>\n"
    b'<html class="no-js" lang="en-US">\n<head>\n'
    b"<title>Attention Required! | Cloudflare</title>\n"
    b'<meta charset="UTF-8" />\n'
    b'<meta name="robots" content="noindex, nofollow" />\n'
    b"</head>\n<body>\n"
    b'<div id="cf-wrapper"><div id="cf-error-details" class="cf-error-details-wrapper">\n'
    b'<h1 data-translate="block_headline">Sorry, you have been blocked</h1>\n'
    b'<h2 class="cf-subheadline">You are unable to access bitget.com</h2>\n'
    b"<p>This website is using a security service to protect itself from online attacks.</p>\n"
    b'<p class="cf-footer-item">Cloudflare Ray ID: <strong>8c3e1f2a9b7d4e60</strong></p>\n'
    b"</div></div>\n</body>\n</html>\n"
)


class Faults:
    def __init__(self, exchange: EmbeddedExchange) -> None:
        self._exchange = exchange
        # the REST front door refuses every GET of FRONT_DOOR_403_PATH (the order connections'
        # keep-alive; the client's clock sync uses the same path) with HTTP 403 and
        # FRONT_DOOR_403_HTML, before the exchange sees it: no envelope, no rate limit
        self.front_door_403: bool = False
        # ms the exchange clock runs ahead of the host clock (negative: behind)
        self.clock_skew_ms: int = 0
        # no ticker pushes at all (acks, pongs and errors still flow)
        self.mute_ws_pushes: bool = False
        # N >= 2: every JSON text message of the WS (ticker pushes, acks, errors) goes out as
        # one message in N frames (a TEXT frame without fin, then CONTINUATION frames, RFC 6455
        # §5.4), written raw on the transport by ws.py; the text pong stays one frame.
        # 0 or 1: whole frames (the real venue's behaviour as observed)
        self.fragment_ws_pushes: int = 0
        # the text `ping` of every WS client is lost on its way in, as on a half-dead connection
        # where nothing comes back: never answered with `pong`, not counted in the 10 msg/s,
        # and it does not keep the connection alive (the idle kill still comes). Pushes, acks
        # and errors still flow (add mute_ws_pushes for a fully silent connection).
        self.swallow_ws_pings: bool = False
        # private WebSocket (.private_ws; the public-socket faults above do not touch it):
        # no pushes at all, as on a feed that silently stopped (logins, acks, pongs still flow)
        self.mute_private_ws: bool = False
        # every private push is written this many ms after its event, in order (a lagging feed)
        self.private_ws_push_delay_ms: int = 0
        # orderInfo / order-info answer "does not exist" (43001 / 25204) for every order, as
        # if the order index lagged behind the matching engine; the orders still execute
        self.hide_orders_from_lookup: bool = False
        # api_key -> (available, frozen) the assets endpoints answer instead of the live
        # balances (see freeze_balances)
        self.stale_balances: dict[str, tuple[dict[str, Decimal], dict[str, Decimal]]] = {}
        self._withhold = 0
        self._drop = 0
        self._order_replies: deque[CannedReply] = deque()
        self._poll_failures: deque[CannedReply] = deque()

    # --- REST ----------------------------------------------------------------------------
    def withhold_next_order_reply(self, count: int = 1) -> None:
        """Accept and fill the next ``count`` place-orders but never answer them.

        The connection stays open; the handler waits until the exchange stops (then the
        connection is aborted). The order is findable through orderInfo / order-info.
        """
        self._withhold += count

    def drop_next_order_request(self, count: int = 1) -> None:
        """Swallow the next ``count`` place-orders: never executed, never answered.

        As if the request died between the client and the matching engine: the connection
        stays open until the exchange stops (then it is aborted); orderInfo does not know the
        order and the balance does not move. Recorded with ``replied=False``, ``code=None``.
        """
        self._drop += count

    def queue_order_replies(self, replies: list[CannedReply]) -> None:
        """Answer the next place-orders with these canned replies, in order.

        Not executed, unless a reply is an ``OrderReply(..., executed=True)`` (see the module
        docstring). Applied after authentication (a badly signed order still gets 40009).
        """
        self._order_replies.extend(replies)

    def fail_polls(self, reply: CannedReply, count: int = 1) -> None:
        """The next ``count`` public symbols / instruments calls get ``reply``."""
        if isinstance(reply, OrderReply) and reply.executed:
            raise ValueError("a poll executes nothing: OrderReply(executed=True) is for orders")
        self._poll_failures.extend([reply] * count)

    def freeze_balances(self) -> None:
        """From now on the assets endpoints (v2 and v3) answer every account's balances as
        they are at this call, as if the account index lagged behind the matching engine;
        orders still move the real balances (and are checked against them). Undo with
        :meth:`thaw_balances`."""
        self.stale_balances = {
            key: (dict(account.available), dict(account.frozen))
            for key, account in self._exchange.state.accounts.items()
        }

    def thaw_balances(self) -> None:
        self.stale_balances = {}

    def clear(self) -> None:
        self._withhold = 0
        self._drop = 0
        self.hide_orders_from_lookup = False
        self.stale_balances = {}
        self._order_replies.clear()
        self._poll_failures.clear()
        self.mute_ws_pushes = False
        self.fragment_ws_pushes = 0
        self.swallow_ws_pings = False
        self.clock_skew_ms = 0
        self.front_door_403 = False
        self.mute_private_ws = False
        self.private_ws_push_delay_ms = 0

    # consumed by the REST layer
    def front_door_page(self, path: str) -> bytes | None:
        """The 403 HTML body the front door answers ``path`` with, or None to let it through."""
        return FRONT_DOOR_403_HTML if self.front_door_403 and path == FRONT_DOOR_403_PATH else None

    def take_order_reply(self) -> CannedReply | None:
        return self._order_replies.popleft() if self._order_replies else None

    def take_withhold(self) -> bool:
        if self._withhold > 0:
            self._withhold -= 1
            return True
        return False

    def take_drop(self) -> bool:
        if self._drop > 0:
            self._drop -= 1
            return True
        return False

    def take_poll_failure(self) -> CannedReply | None:
        return self._poll_failures.popleft() if self._poll_failures else None

    # --- WebSocket -----------------------------------------------------------------------
    async def drop_ws_connections(self) -> int:
        """Abort every WebSocket connection now (no close frame: the client sees 1006)."""
        return self._exchange.ws_hub.drop_all()

    async def send_ws_frames(self, frames: list[bytes | str], *, binary: bool = False) -> int:
        """Write these frames to every connected WS client, as text (default) or binary.

        Text frames are written raw, so they may be invalid UTF-8, oversized or malformed
        JSON on purpose. Returns the number of connections written to.
        """
        return self._exchange.ws_hub.send_raw_to_all(frames, binary=binary)

    async def drop_private_ws_connections(self) -> int:
        """Abort every private WebSocket connection now (1006 for the client; pushes not yet
        written by ``private_ws_push_delay_ms`` are lost). Public sockets stay up."""
        return self._exchange.private_ws.drop_all()
