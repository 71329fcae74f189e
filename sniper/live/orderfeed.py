"""The private WebSocket order feed: the account's order pushes, the fast fill confirmation.

bitget-api.md §7.4. One picows connection to the private URL (``/v2/ws/private`` or
``/v3/ws/private`` on the public feed's host, :meth:`Venue.private_ws_url`):

1. log in: ``{"op":"login","args":[{apiKey, passphrase, timestamp, sign}]}`` with the timestamp
   in SECONDS of the exchange clock (:meth:`Venue.private_login`); the reply is
   ``{"event":"login","code":0}`` (or ``"0"``); a refusal is an error event 30005 / 30011-30015
   (numeric or string), reported once in plain words (never a credential);
2. subscribe to the spot order channel for every symbol (v2 ``orders`` + ``instId: default``,
   v3 topic ``order``): the pair may not exist yet; the feed is *ready* at the ack;
3. keep alive: text ``ping`` every ``ping_interval_s`` through picows' auto-ping; no ``pong``
   within ``min(pong_timeout_s, ping_interval_s)`` → picows drops the connection;
4. on any loss: not ready at once, reconnect with backoff (30 s between attempts after a
   credentials refusal), log in and subscribe again.

Pushes become :class:`~sniper.live.venue.OrderState` (:meth:`Venue.parse_order_push`: spot only,
tolerant of the drifting field set) kept per clientOid; the executor asks :meth:`latest`,
:meth:`wait`, :meth:`wait_done`.

Silence as evidence: :meth:`covered` says whether the feed was ready — logged in, the order
channel acknowledged, the connection not known to be lost — during a whole interval of
``time.monotonic_ns()``. Readiness starts when the ack is *received* (after the venue registered
the subscription) and ends when a loss is *noticed* (picows' close, a missed pong, our own
drop), so a push the venue wrote just before a silent break may never arrive although
``covered`` holds up to the moment the break is noticed. :meth:`confirm_covered` closes that
gap: it sends a ping and waits for its pong on the same connection, so every frame the venue
wrote to the socket before it read that ping has been processed. What it cannot see is lag
inside the venue between the match and the push being written ([UNCERTAIN] on Bitget): silence
is evidence only together with a margin after the order went out, which is the caller's call.

Shutdown (:meth:`close`) closes the connection first, then cancels the tasks, and never waits
through ``asyncio.wait_for`` (Python 3.11 can swallow a cancel there); pending waits are
released with what is known.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import picows

from sniper import jsonio
from sniper.config import Config
from sniper.live.clock import ServerClock
from sniper.live.pacing import Backoff
from sniper.live.venue import (
    WS_LOGIN_CLOCK_CODES,
    OrderState,
    Venue,
    order_done,
    ws_login_refusal,
)
from sniper.secrets import Secret

__all__ = ["LoginStatus", "OrderBook", "OrderFeed", "ReadyHistory"]

log = logging.getLogger("sniper.orderfeed")
# picows' own messages are never ours to show: its lowest level logs received bytes.
_picows_log = logging.getLogger("sniper.orderfeed.picows")
_picows_log.setLevel(logging.WARNING)

REPLY_TIMEOUT_S = 10.0  # s for the login reply and the subscribe ack (the venue answers in ~0.1 s)
CREDENTIALS_RETRY_S = 30.0  # s between logins after a credentials refusal (not a clock one)
STABLE_CONNECTION_S = 10.0  # a connection that lived this long resets the backoff
MAX_ORDERS = 4096  # clientOids remembered (other orders of the account push too)
MAX_READY_INTERVALS = 256  # past ready intervals remembered for covered()
MAX_MESSAGE_SIZE = 1 << 20  # bytes: the largest fragmented text message assembled
PONG_MAX_SIZE = 16


class ReadyHistory:
    """When the feed was ready: past closed intervals and the current one, monotonic ns."""

    def __init__(self, limit: int = MAX_READY_INTERVALS) -> None:
        self.since_ns: int | None = None  # start of the current ready interval; None: not ready
        self._past: deque[tuple[int, int]] = deque(maxlen=limit)

    def begin(self, now_ns: int) -> None:
        if self.since_ns is None:
            self.since_ns = now_ns

    def end(self, now_ns: int) -> None:
        if self.since_ns is not None:
            self._past.append((self.since_ns, now_ns))
            self.since_ns = None

    def covered(self, since_ns: int, until_ns: int | None = None) -> bool:
        """Ready at every instant of [since_ns, until_ns]; ``until_ns=None`` means "until now",
        which needs the feed ready now."""
        if until_ns is not None and until_ns < since_ns:
            raise ValueError("until_ns is before since_ns")
        if self.since_ns is not None and self.since_ns <= since_ns:
            return True
        if until_ns is None:
            return False
        return any(start <= since_ns and until_ns <= end for start, end in self._past)


class OrderBook:
    """The latest pushed state of each clientOid, and the tasks waiting for one."""

    def __init__(self, limit: int = MAX_ORDERS) -> None:
        self._states: OrderedDict[str, OrderState] = OrderedDict()
        self._waiters: dict[str, list[tuple[asyncio.Future[OrderState | None], bool]]] = {}
        self._limit = limit
        self._released = False  # the feed closed: waits answer at once with what is known

    def latest(self, client_oid: str) -> OrderState | None:
        return self._states.get(client_oid)

    def apply(self, state: OrderState) -> None:
        """Keep ``state`` as the latest for its clientOid (a finished order never goes back to
        an unfinished state: a stale push cannot undo a fill) and wake its waiters."""
        oid = state.client_oid
        if not oid:
            return
        known = self._states.get(oid)
        if known is not None and order_done(known) and not order_done(state):
            return
        self._states[oid] = state
        self._states.move_to_end(oid)
        while len(self._states) > self._limit:
            stale = next(iter(self._states))
            if stale in self._waiters:  # never forget an order someone waits for
                self._states.move_to_end(stale)
                break
            del self._states[stale]
        for fut, done_only in self._waiters.get(oid, ()):
            if not fut.done() and (order_done(state) or not done_only):
                fut.set_result(state)

    async def wait(
        self,
        client_oid: str,
        timeout: float,  # noqa: ASYNC109 - a deadline per wait
        *,
        done_only: bool,
    ) -> OrderState | None:
        """The first state (``done_only``: the first finished state) for ``client_oid``, the
        one already known if any; None after ``timeout`` s."""
        known = self._states.get(client_oid)
        if known is not None and (order_done(known) or not done_only):
            return known
        if timeout <= 0 or self._released:
            return None
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[OrderState | None] = loop.create_future()
        entry = (fut, done_only)
        waiters = self._waiters.setdefault(client_oid, [])
        waiters.append(entry)
        timer = loop.call_later(timeout, _settle, fut, None)
        try:
            return await fut  # a plain future: a cancel of the caller is never swallowed
        finally:
            timer.cancel()
            waiters.remove(entry)
            if not waiters:
                self._waiters.pop(client_oid, None)

    def release_all(self) -> None:
        """Answer every pending wait, and every later one at once, with what is known (the
        feed is closing)."""
        self._released = True
        for oid, waiters in self._waiters.items():
            known = self._states.get(oid)
            for fut, done_only in waiters:
                if known is not None and (order_done(known) or not done_only):
                    _settle(fut, known)
                else:
                    _settle(fut, None)


def _settle(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


class LoginStatus:
    """The last login refusal, in plain words (never a credential or the server's msg): logged
    at ERROR once per code, then quietly while it repeats; cleared by an accepted login."""

    def __init__(self) -> None:
        self.error: str | None = None
        self.code: str | None = None  # "30015", "30005", ... ("" when the venue gave none)

    @property
    def credentials_rejected(self) -> bool:
        """Refused for the credentials: not 30013/30014 (the clock), which may pass later."""
        return self.code is not None and self.code not in WS_LOGIN_CLOCK_CODES

    def refused(self, event: dict[str, Any]) -> None:
        code, words = ws_login_refusal(event)
        if code != self.code or self.error is None:
            log.error("order feed: %s", words)
        else:
            log.debug("order feed: login refused again (%s)", code)
        self.error, self.code = words, code

    def accepted(self) -> None:
        if self.error is not None:
            log.info("order feed: login accepted")
        self.error = self.code = None


class _PrivateListener(picows.WSListener):
    """One per connection: text ``ping``/``pong`` (in order, so a pong answers the oldest
    ping), fragmented messages assembled, every other text message handed on whole."""

    def __init__(
        self,
        on_message: Callable[[_PrivateListener, bytes], object],
        on_connected: Callable[[_PrivateListener, picows.WSTransport], object],
        on_disconnected: Callable[[_PrivateListener], object],
    ) -> None:
        super().__init__()
        self._on_message = on_message
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self.transport: picows.WSTransport | None = None
        self._pings: deque[asyncio.Future[bool] | None] = deque()  # unanswered, oldest first
        self._message = bytearray()
        self._assembling = False

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.transport = transport
        self._on_connected(self, transport)

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        while self._pings:
            fut = self._pings.popleft()
            if fut is not None:
                _settle(fut, False)
        self._on_disconnected(self)

    def send_user_specific_ping(self, transport: picows.WSTransport) -> None:
        self._pings.append(None)
        transport.send(picows.WSMsgType.TEXT, b"ping")

    def ping(self) -> asyncio.Future[bool]:
        """Send a ping now; the future is True when its pong (or a later one) arrives, False
        when the connection drops first."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self.transport is None:
            fut.set_result(False)
            return fut
        self._pings.append(fut)
        self.transport.send(picows.WSMsgType.TEXT, b"ping")
        return fut

    def is_user_specific_pong(self, frame: picows.WSFrame) -> bool:
        if frame.msg_type != picows.WSMsgType.TEXT or not frame.fin:
            return False
        if frame.payload_size > PONG_MAX_SIZE or frame.get_payload_as_bytes() != b"pong":
            return False
        self._pong()
        return True

    def _pong(self) -> None:
        if self._pings:
            fut = self._pings.popleft()
            if fut is not None:
                _settle(fut, True)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type == picows.WSMsgType.CONTINUATION:
            if self._assembling:
                self._append(frame)
                if frame.fin and self._assembling:
                    message = bytes(self._message)
                    self._reset()
                    self._handle(message)
            return
        if frame.msg_type != picows.WSMsgType.TEXT:
            return
        if not frame.fin:
            self._reset()
            self._assembling = True
            self._append(frame)
            return
        self._handle(frame.get_payload_as_bytes())

    def _handle(self, payload: bytes) -> None:
        if payload == b"pong":  # a pong picows did not offer to is_user_specific_pong
            self._pong()
        else:
            self._on_message(self, payload)

    def _append(self, frame: picows.WSFrame) -> None:
        if frame.payload_size > MAX_MESSAGE_SIZE - len(self._message):
            self._reset()
            log.debug("order feed: dropped a fragmented message over %d bytes", MAX_MESSAGE_SIZE)
            return
        self._message += frame.get_payload_as_memoryview()

    def _reset(self) -> None:
        self._assembling = False
        self._message = bytearray()


class OrderFeed:
    """The private order feed of one account (see the module docstring)."""

    def __init__(
        self,
        *,
        url: str,
        venue: Venue,
        api_key: Secret | str,
        secret_key: Secret | str,
        passphrase: Secret | str,
        clock: ServerClock,
        ssl_context: ssl.SSLContext | None = None,
        ping_interval_s: float = 25.0,
        pong_timeout_s: float = 10.0,
        reconnect_max_s: float = 3.0,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        credentials_retry_s: float = CREDENTIALS_RETRY_S,
    ) -> None:
        self.url = url
        self.venue = venue
        # (key, secret, passphrase), boxed: a repr or a traceback shows only masks
        self._creds = tuple(_boxed(v) for v in (api_key, secret_key, passphrase))
        self._clock = clock
        self._ssl = ssl_context if url.startswith("wss") else None
        self._ping_interval_s = ping_interval_s
        self._pong_timeout_s = min(pong_timeout_s, ping_interval_s)
        self._reply_timeout_s = reply_timeout_s
        self._credentials_retry_s = credentials_retry_s
        self._backoff = Backoff(0.1, max(0.1, reconnect_max_s))
        self.ready = asyncio.Event()  # set while ready (logged in, order channel acked)
        self.history = ReadyHistory()
        self.orders = OrderBook()
        self.connections = 0  # connections established
        self.logins = 0  # logins accepted
        self.pushes = 0  # order pushes received (any order of the account)
        self.login = LoginStatus()
        self._listener: _PrivateListener | None = None  # of the current connection
        self._step: asyncio.Future[str] | None = None  # the login / subscribe reply awaited
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        venue: Venue,
        clock: ServerClock,
        ssl_context: ssl.SSLContext | None = None,
        **tunables: float,
    ) -> OrderFeed:
        """The feed for a resolved config (account mode known): the private URL on the host
        of ``config.ws_url``, the config's credentials and WS timings."""
        options: dict[str, float] = {
            "ping_interval_s": config.ws_ping_interval_s,
            "pong_timeout_s": config.ws_pong_timeout_s,
            "reconnect_max_s": config.ws_reconnect_max_s,
            **tunables,
        }
        return cls(
            url=venue.private_ws_url(config.ws_url),
            venue=venue,
            api_key=config.api_key,
            secret_key=config.secret_key,
            passphrase=config.passphrase,
            clock=clock,
            ssl_context=ssl_context,
            **options,
        )

    def __repr__(self) -> str:
        return (
            f"OrderFeed(url={self.url!r}, venue={self.venue.name}, ready={self.ready.is_set()}, "
            f"connections={self.connections}, logins={self.logins}, pushes={self.pushes})"
        )

    # --- what the executor asks -----------------------------------------------------------------
    @property
    def ready_since_ns(self) -> int | None:
        """monotonic ns since which the current subscription is acknowledged; None when down."""
        return self.history.since_ns

    @property
    def login_error(self) -> str | None:
        """The last login refusal in plain words; None once a login is accepted."""
        return self.login.error

    @property
    def credentials_rejected(self) -> bool:
        """The last login was refused for the credentials (not for the clock)."""
        return self.login.credentials_rejected

    def latest(self, client_oid: str) -> OrderState | None:
        """The last pushed state of the order (None: no push seen for it)."""
        return self.orders.latest(client_oid)

    async def wait(self, client_oid: str, *, timeout: float) -> OrderState | None:  # noqa: ASYNC109
        """The first push for ``client_oid`` (at once if one came already); None after
        ``timeout`` s or when the feed closes."""
        return await self.orders.wait(client_oid, timeout, done_only=False)

    async def wait_done(
        self,
        client_oid: str,
        *,
        timeout: float,  # noqa: ASYNC109 - the executor's API
    ) -> OrderState | None:
        """The order's finished state (``filled`` or ``cancelled``; at once if known); None after
        ``timeout`` s or when the feed closes (:meth:`latest` still tells what is known)."""
        return await self.orders.wait(client_oid, timeout, done_only=True)

    def covered(self, since_ns: int, until_ns: int | None = None) -> bool:
        """The feed was ready continuously from ``since_ns`` to ``until_ns`` (None: to now, and
        it is ready now) — monotonic ns (``time.monotonic_ns()``, like the trigger's stamps)."""
        return self.history.covered(since_ns, until_ns)

    async def confirm_covered(self, since_ns: int, *, timeout: float) -> bool:  # noqa: ASYNC109
        """:meth:`covered` from ``since_ns`` until a ping sent now is answered on the same
        connection: every order push the venue wrote before it read the ping has been
        applied. False when not covered, on a drop, or after ``timeout`` s without the pong."""
        listener = self._listener
        if listener is None or not self.covered(since_ns):
            return False
        fut = listener.ping()
        timer = asyncio.get_running_loop().call_later(timeout, _settle, fut, False)
        try:
            answered = await fut
        finally:
            timer.cancel()
        return answered and self._listener is listener and self.covered(since_ns)

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sniper-orderfeed")

    async def close(self) -> None:
        """Close the connection, then stop the task; pending waits get what is known."""
        self._closing = True
        listener = self._listener
        if listener is not None and listener.transport is not None:
            listener.transport.disconnect(graceful=False)
        self._set_down()
        if self._step is not None:
            _settle(self._step, "closed")
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.orders.release_all()

    # --- the connection loop --------------------------------------------------------------------
    async def _run(self) -> None:
        failures = 0
        while not self._closing:
            try:
                transport = await self._connect()
            except Exception as exc:  # refused, TLS, handshake, timeout: all mean "retry later"
                failures += 1
                delay = self._backoff.next()
                log.log(
                    logging.WARNING if failures % 20 == 1 else logging.DEBUG,
                    "order feed: cannot connect (%s); retrying in %.2fs (attempt %d)",
                    _short(exc),
                    delay,
                    failures,
                )
                await asyncio.sleep(delay)
                continue
            failures = 0
            connected_at = time.monotonic()
            try:
                retry_in = await self._session(transport)
            except Exception as exc:  # a bug or a broken clock: never a silent, dead feed
                log.error("order feed: session failed (%s)", _short(exc))
                retry_in = None
            self._set_down()
            transport.disconnect(graceful=False)
            await transport.wait_disconnected()
            self._listener = None
            if self._closing:
                return
            if time.monotonic() - connected_at > STABLE_CONNECTION_S:
                self._backoff.reset()
            delay = retry_in if retry_in is not None else self._backoff.next()
            log.warning("order feed: disconnected; reconnecting in %.2fs", delay)
            await asyncio.sleep(delay)

    async def _connect(self) -> picows.WSTransport:
        def factory() -> _PrivateListener:
            return _PrivateListener(self._on_message, self._on_connected, self._on_disconnected)

        transport, _ = await picows.ws_connect(
            factory,
            self.url,
            ssl_context=self._ssl,
            websocket_handshake_timeout=5,
            enable_auto_ping=True,
            auto_ping_idle_timeout=self._ping_interval_s,
            auto_ping_reply_timeout=self._pong_timeout_s,
            auto_ping_strategy=picows.WSAutoPingStrategy.PING_PERIODICALLY,
            logger_name=_picows_log,
        )
        return transport

    async def _session(self, transport: picows.WSTransport) -> float | None:
        """Log in, subscribe, then hold the connection until it drops. Returns the delay before
        the next attempt when it is not the backoff's (a credentials refusal)."""
        self.connections += 1
        if self.connections > 1:
            log.info("order feed: reconnected (connection #%d)", self.connections)
        login = self.venue.private_login(
            api_key=self._creds[0],
            secret=self._creds[1],
            passphrase=self._creds[2],
            timestamp_s=self._clock.now_ms() // 1000,
        )
        reply = await self._request(transport, login)
        if reply != "logged-in":
            return self._login_failed(reply)
        self.logins += 1
        self.login.accepted()
        reply = await self._request(transport, self.venue.order_subscribe())
        if reply != "subscribed":
            log.warning("order feed: the order channel was not acknowledged (%s)", reply)
            return None
        if self._listener is None or self._listener.transport is not transport:
            return None  # dropped in the meantime
        self.history.begin(time.monotonic_ns())
        self.ready.set()
        log.info("order feed: subscribed to the %s order channel", self.venue.name)
        await transport.wait_disconnected()
        return None

    async def _request(self, transport: picows.WSTransport, frame: bytes) -> str:
        """Send ``frame`` and wait for the reply event's kind (:meth:`Venue.private_event`), or
        ``timeout`` / ``disconnected`` / ``closed``."""
        loop = asyncio.get_running_loop()
        step: asyncio.Future[str] = loop.create_future()
        self._step = step
        timer = loop.call_later(self._reply_timeout_s, _settle, step, "timeout")
        try:
            if self._closing or self._listener is None:
                return "closed"
            transport.send(picows.WSMsgType.TEXT, frame)
            return await step
        finally:
            timer.cancel()
            self._step = None

    def _login_failed(self, reply: str) -> float | None:
        if reply != "login-refused":
            log.warning("order feed: no login reply (%s)", reply)
            return None
        return self._credentials_retry_s if self.login.credentials_rejected else None

    # --- callbacks from the listener ------------------------------------------------------------
    def _on_connected(self, listener: _PrivateListener, transport: picows.WSTransport) -> None:
        if self._closing:
            transport.disconnect(graceful=False)
            return
        self._listener = listener

    def _on_disconnected(self, listener: _PrivateListener) -> None:
        if listener is self._listener:
            self._listener = None
            self._set_down()
            if self._step is not None:
                _settle(self._step, "disconnected")

    def _set_down(self) -> None:
        """Not ready from now on (a loss noticed, or a drop decided)."""
        self.history.end(time.monotonic_ns())
        self.ready.clear()

    def _on_message(self, listener: _PrivateListener, payload: bytes) -> None:
        try:
            doc = jsonio.loads(payload)
        except ValueError:
            log.debug("order feed: a message that is not JSON (%d bytes)", len(payload))
            return
        if not isinstance(doc, dict):
            return
        if "event" in doc:
            if listener is self._listener:
                self._on_event(listener, doc)
            return
        for state in self.venue.parse_order_push(doc):
            self.pushes += 1
            self.orders.apply(state)

    def _on_event(self, listener: _PrivateListener, doc: dict[str, Any]) -> None:
        kind = self.venue.private_event(doc)
        if kind == "login-refused":
            self.login.refused(doc)
        step = self._step
        if step is not None and kind != "other":
            _settle(step, kind)
            return
        if kind in ("login-refused", "not-logged-in"):
            # the session is no longer logged in: drop it, log in again
            log.warning("order feed: the exchange ended the login (%s); reconnecting", kind)
            if listener.transport is not None:
                self._set_down()
                listener.transport.disconnect(graceful=False)
        elif kind == "error":
            msg = _scrub(str(doc.get("msg", ""))[:200], self._creds)
            log.warning("order feed: error event %s: %s", str(doc.get("code"))[:16], msg)


def _scrub(text: str, secrets: tuple[Secret, ...]) -> str:
    """``text`` with any credential replaced by its mask (a server may echo what it got)."""
    for secret in secrets:
        value = secret.reveal()
        if value and value in text:
            text = text.replace(value, repr(secret))
    return text


def _boxed(value: Secret | str) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
