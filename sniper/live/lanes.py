"""The warm order connections ("lanes"): raw HTTP/1.1 keep-alive over an asyncio Protocol.

Two lanes to the REST host, resolved once (and, for a volley's further copies, ``extra`` volley
lanes beside them: :class:`OrderLanes`; the trigger never fires on those). Keep-alive requests
(unsigned ``GET /api/v2/public/time``, built by :func:`keepalive_request`) alternate between
the trigger's two and are only sent while the *other* lane is idle, so one lane is always idle
when the order fires and the order never queues behind a keep-alive. A lane the server closes is
reopened transparently.
Replies are parsed with ``httptools.HttpResponseParser``; each request's reply resolves a future
(FIFO, HTTP/1.1). Every request on these connections says ``User-Agent: sniper/<version>``
(:data:`USER_AGENT`), as a normal client does.

Each keep-alive reply's HTTP status is checked: a front door that refuses them (Cloudflare, in
front of Bitget's REST host — bitget-api.md §2 — answers a blocked client with a 403 HTML page and
no Bitget envelope) would refuse the order too, so it is logged at ERROR when it starts and again
when it ends, and kept in :attr:`OrderLanes.front_door` for the status line and ``sniper check``.

Each lane publishes its state — ``transport.write``, idle (no response outstanding), and its
:meth:`OrderLane.claim` — to a :class:`LaneBoard` on every change, and reads its idle flag back
from there (:attr:`OrderLane.idle`): in ``sniper run`` the board is the ``OrderTrigger``, whose C
flags are what the hot path checks, so the flag exists once. The trigger writes the order
itself, marks the lane busy on its board and claims the reply with :meth:`OrderLane.claim`, in
the same callback; the claim does not publish (the board already knows), so nothing calls back
into the trigger. Without a trigger (``sniper check``'s probe, tests) a :class:`LaneStates`
is the board.

Shutdown (:meth:`OrderLanes.close`) aborts the connections first, then cancels the tasks and
waits for them with a bound: no task can be left waiting on a healthy idle connection (the server
keeps those 75 s). No ``asyncio.wait_for`` here: on Python 3.11 it returns the inner result and
drops the cancel when both land in the same loop iteration; ``asyncio.timeout`` does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httptools

from sniper import __version__
from sniper.live.pacing import Backoff

log = logging.getLogger("sniper.lanes")

USER_AGENT = f"sniper/{__version__}"
"""The ``User-Agent`` of every request on the order connections (order and keep-alives)."""


def keepalive_request(
    *, path: str, host: str, locale: str, demo: bool, user_agent: str = USER_AGENT
) -> bytes:
    """The unsigned keep-alive ``GET`` (``path`` with its query, e.g. the server-time call)."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n"
        f"Connection: keep-alive\r\nlocale: {locale}\r\n"
        + ("paptrading: 1\r\n" if demo else "")
        + "\r\n"
    ).encode("ascii")


class LaneClosed(ConnectionError):
    """The lane closed before the reply arrived. ``written`` = the request had been written."""

    def __init__(self, reason: str, *, written: bool = True) -> None:
        super().__init__(reason)
        self.written = written


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    first_byte_ns: int  # ns, monotonic: when the reply's first bytes were read
    done_ns: int  # ns, monotonic: when the reply was complete


@dataclass(frozen=True)
class FrontDoor:
    """What the REST host answered to the last keep-alive on the order connections."""

    status: int | None = None  # HTTP status of the last keep-alive reply; None: none yet
    excerpt: str = ""  # a short printable excerpt of a refusing reply's body ("" when OK)
    since_ns: int = 0  # ns, monotonic: when this state (refused or not) began

    @property
    def refused(self) -> bool:
        """The last keep-alive was answered, but not with a 2xx: the order would meet the same."""
        return self.status is not None and not 200 <= self.status < 300

    def describe(self) -> str:
        """One line for the status line / ``sniper check``."""
        if self.status is None:
            return "front door not checked yet"
        if not self.refused:
            return f"front door OK (HTTP {self.status})"
        return f"front door REFUSES keep-alives (HTTP {self.status}: {self.excerpt})"


_TITLE_RE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)


def body_excerpt(body: bytes, limit: int = 100) -> str:
    """An HTML page's ``<title>``, else the body's start: printable, whitespace folded, at most
    ``limit`` characters. (A keep-alive carries no credentials, so its reply cannot echo one.)"""
    found = _TITLE_RE.search(body, 0, 8192)
    raw = found.group(1) if found else body[: limit * 4]
    text = raw.decode("utf-8", "replace")
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text or "(empty body)"


class LaneBoard(Protocol):
    """Where the lanes publish their state: the ``OrderTrigger`` (``hotpath``), or
    :class:`LaneStates`. ``index`` is 0 or 1; ``write`` None = the lane is down."""

    def set_lane(
        self,
        index: int,
        write: Callable[[bytes], object] | None,
        idle: bool,
        claim: Callable[[str, int], Any] | None = None,
    ) -> None: ...

    def lane_state(self) -> tuple[tuple[bool, bool], tuple[bool, bool]]:
        """((up0, idle0), (up1, idle1))."""
        ...


class LaneStates:
    """The board when no trigger listens: the trigger's lane API, nothing else. It also takes
    the volley lanes (index 2 and up), which the trigger never fires on."""

    def __init__(self) -> None:
        self._state: dict[int, tuple[bool, bool]] = {0: (False, False), 1: (False, False)}

    def set_lane(
        self,
        index: int,
        write: Callable[[bytes], object] | None,
        idle: bool,
        claim: Callable[[str, int], Any] | None = None,
    ) -> None:
        if index < 0:
            raise ValueError("lane index must be 0 or more")
        self._state[index] = (write is not None, bool(idle) and write is not None)

    def lane_state(self) -> tuple[tuple[bool, bool], tuple[bool, bool]]:
        return (self._state[0], self._state[1])


class _Pending:
    __slots__ = ("future", "kind", "sent_ns")

    def __init__(self, kind: str, future: asyncio.Future[Reply], sent_ns: int) -> None:
        self.kind = kind
        self.future = future
        self.sent_ns = sent_ns


class OrderLane(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection. It publishes its state to ``board`` on every change
    (a fresh :class:`LaneStates` when none is given) and reads its idle flag back from it."""

    def __init__(
        self, index: int, on_change: Callable[[OrderLane], None], board: LaneBoard | None = None
    ) -> None:
        self.index = index
        self._on_change = on_change
        self._board: LaneBoard = board if board is not None else LaneStates()
        self._published = False  # published "up" at least once; "down" ends it for good
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.pending: deque[_Pending] = deque()
        self._parser = httptools.HttpResponseParser(self)
        self._body: list[bytes] = []
        self._feed_ns = 0
        self._first_ns = 0
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self.requests = 0

    # --- state ----------------------------------------------------------------------------------
    @property
    def up(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    @property
    def idle(self) -> bool:
        """No response outstanding: the board's flag (the one the hot path checks); a volley
        lane's own (index 2 and up: the trigger never writes on it)."""
        if self.index >= OrderLanes.LANES:
            return self.up and not self.pending
        return self.up and self._board.lane_state()[self.index][1]

    @property
    def write(self) -> Callable[[bytes], Any] | None:
        return self.transport.write if self.up and self.transport is not None else None

    def _changed(self) -> None:
        """Publish the state to the board, then tell the owner. A lane publishes from its
        connection until that connection is lost; once it published "down" it never publishes
        again (its replacement owns the slot)."""
        if self.up:
            self._published = True
            write = self.transport.write if self.transport is not None else None
            self._board.set_lane(self.index, write, not self.pending, self.claim)
        elif self._published:
            self._published = False
            self._board.set_lane(self.index, None, False, None)
        self._on_change(self)

    # --- asyncio.Protocol -----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # aiofastnet's is duck-typed
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError):  # not a TCP socket
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._changed()

    def data_received(self, data: bytes) -> None:
        self._feed_ns = time.monotonic_ns()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            log.warning("order connection %d: bad HTTP reply (%s); reopening", self.index, exc)
            self.abort()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        reason = f"connection closed ({exc})" if exc else "connection closed by the server"
        while self.pending:
            p = self.pending.popleft()
            if not p.future.done():
                p.future.set_exception(LaneClosed(reason, written=True))
                p.future.exception()  # whoever awaits still gets it; nobody else logs it
        if not self.closed.done():
            self.closed.set_result(None)
        self._changed()

    # --- httptools callbacks --------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._first_ns = self._feed_ns
        self._body.clear()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        keep_alive = self._parser.should_keep_alive()
        reply = Reply(status, b"".join(self._body), self._first_ns, time.monotonic_ns())
        self._body.clear()
        if self.pending:
            p = self.pending.popleft()
            if not p.future.done():
                p.future.set_result(reply)
        if not keep_alive and self.transport is not None:
            self.transport.close()
        self._changed()

    # --- requests -------------------------------------------------------------------------------
    def claim(self, kind: str, sent_ns: int) -> asyncio.Future[Reply]:
        """The trigger's: claim the reply to the request it just wrote on this lane. Publishes
        nothing — the trigger marked the lane busy on its board itself — so the post-write
        path stays one-way. Must be called before control returns to the event loop."""
        fut: asyncio.Future[Reply] = self._loop.create_future()
        self.pending.append(_Pending(kind, fut, sent_ns))
        self.requests += 1
        return fut

    def expect(self, kind: str, sent_ns: int | None = None) -> asyncio.Future[Reply]:
        """Claim the reply to a request this process just wrote on this lane (not through the
        trigger) and publish the lane busy. Call before control returns to the event loop."""
        fut = self.claim(kind, sent_ns or time.monotonic_ns())
        self._changed()
        return fut

    def waits_for(self, future: asyncio.Future[Reply]) -> bool:
        """``future`` is a reply this lane still owes."""
        return any(p.future is future for p in self.pending)

    def send(self, data: bytes, kind: str) -> asyncio.Future[Reply]:
        if self.transport is None or self.transport.is_closing():
            raise LaneClosed("connection is not open", written=False)
        self.transport.write(data)
        return self.expect(kind)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class OrderLanes:
    """Two warm lanes to one host, kept open and alive in the background, and ``extra`` volley
    lanes beside them (index 2 and up: a volley's further copies only, :mod:`sniper.live.volley`;
    their state goes to a :class:`LaneStates` of their own, never to the trigger's board)."""

    LANES = 2  # the trigger's

    def __init__(
        self,
        *,
        host: str,
        port: int,
        addr: str,
        ssl_context: ssl.SSLContext | None,
        keepalive_request: bytes,
        keepalive_interval_s: float,
        board: LaneBoard | None = None,
        on_change: Callable[[OrderLane], None] | None = None,
        on_front_door: Callable[[FrontDoor], None] | None = None,
        on_keepalive: Callable[[int, Reply], None] | None = None,
        use_aiofastnet: bool = True,
        extra: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.addr = addr
        self.ssl_context = ssl_context
        self.keepalive_request = keepalive_request
        self.keepalive_interval_s = keepalive_interval_s
        # where the lanes publish their state (the OrderTrigger in `sniper run`)
        self.board: LaneBoard = board if board is not None else LaneStates()
        self._on_change_cb = on_change
        self._extra_board = LaneStates()  # the volley lanes' (the trigger never fires on them)
        self.lanes: list[OrderLane | None] = [None] * (self.LANES + extra)
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._use_aiofastnet = use_aiofastnet
        self.transport_kind = "aiofastnet" if use_aiofastnet else "asyncio"
        self._up_event = asyncio.Event()
        self.reconnects = 0
        self.keepalives = 0
        self.front_door = FrontDoor()
        self._on_front_door = on_front_door
        # every answered keep-alive: (sent_ns, reply), monotonic ns — a round trip on the very
        # connections the order uses, for the run's network estimate (runner.py)
        self._on_keepalive = on_keepalive

    # --- connection management -----------------------------------------------------------------
    def _changed(self, lane: OrderLane) -> None:
        if lane.up:
            self.lanes[lane.index] = lane
        elif self.lanes[lane.index] is not lane:
            return  # a stale lane that was already replaced
        if any(ln is not None and ln.up for ln in self.lanes):
            self._up_event.set()
        else:
            self._up_event.clear()
        if self._on_change_cb is not None:
            self._on_change_cb(lane)

    async def _connect(self, index: int) -> OrderLane:
        loop = asyncio.get_running_loop()

        board = self.board if index < self.LANES else self._extra_board

        def factory() -> OrderLane:
            return OrderLane(index, self._changed, board)

        kwargs: dict[str, Any] = {}
        if self.ssl_context is not None:
            kwargs = {"ssl": self.ssl_context, "server_hostname": self.host}
        if self._use_aiofastnet:
            try:
                import aiofastnet

                _, proto = await aiofastnet.create_connection(
                    loop, factory, self.addr, self.port, **kwargs
                )
                return proto
            except (TimeoutError, OSError, ssl.SSLError):
                raise
            except Exception as exc:  # an aiofastnet problem, not a network one
                log.warning(
                    "aiofastnet.create_connection failed (%s: %s); using loop.create_connection",
                    type(exc).__name__,
                    exc,
                )
                self._use_aiofastnet = False
                self.transport_kind = "asyncio"
        _, proto = await loop.create_connection(factory, self.addr, self.port, **kwargs)
        return proto

    async def _maintain(self, index: int) -> None:
        backoff = Backoff(0.05, 2.0)
        first = True
        while not self._closing:
            try:
                async with asyncio.timeout(10):
                    lane = await self._connect(index)
            except (TimeoutError, OSError, ssl.SSLError) as exc:
                delay = backoff.next()
                log.debug(
                    "order connection %d: connect failed (%s); retry in %.2fs", index, exc, delay
                )
                await asyncio.sleep(delay)
                continue
            if self._closing:  # opened while close() ran: nothing may wait on it
                lane.abort()
                return
            if not first:
                self.reconnects += 1
                log.debug("order connection %d reopened", index)
            first = False
            backoff.reset()
            await lane.closed

    async def start(self, within_s: float = 10.0) -> None:
        """Open every lane; returns once the trigger's two are up (or raises TimeoutError). The
        volley lanes are opened meanwhile, and reopened like the others; a volley copy whose
        lane is down goes on another (:meth:`OrderSender.send`)."""
        self._tasks = [
            asyncio.create_task(self._maintain(i), name=f"sniper-lane-{i}")
            for i in range(len(self.lanes))
        ]
        deadline = time.monotonic() + within_s
        while not all(ln is not None and ln.up for ln in self.lanes[: self.LANES]):
            if time.monotonic() > deadline:
                raise TimeoutError
            await asyncio.sleep(0.005)
        # the first keep-alive goes out now: a refusing front door is known before arming
        self._tasks.append(asyncio.create_task(self._keepalive(), name="sniper-lanes-keepalive"))
        if len(self.lanes) > self.LANES:
            self._tasks.append(
                asyncio.create_task(self._keepalive_volley(), name="sniper-lanes-keepalive-volley")
            )

    async def close(self, within_s: float = 1.0) -> None:
        """Abort every connection, then cancel the tasks and wait for them at most ``within_s``.

        Connections first: once they are aborted no task can wait on one, even a task whose
        cancel was lost. Nothing here waits on the peer (no TLS close_notify, no FIN): a
        request still unanswered at shutdown has already been given up by its owner.
        """
        self._closing = True
        self._abort_all()
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        closing = [ln.closed for ln in self.lanes if ln is not None and not ln.closed.done()]
        if tasks or closing:
            _, pending = await asyncio.wait([*tasks, *closing], timeout=within_s)
            if pending:
                log.warning(
                    "order connections: %d task(s) still running %.1f s after close; "
                    "not waiting for them",
                    len(pending),
                    within_s,
                )
        self._abort_all()  # a connection that completed while the tasks stopped
        for t in tasks:
            if t.done() and not t.cancelled() and t.exception() is not None:
                log.debug("order connection task %s ended with %r", t.get_name(), t.exception())

    def _abort_all(self) -> None:
        for ln in self.lanes:
            if ln is not None:
                ln.abort()

    # --- picking a lane -------------------------------------------------------------------------
    def idle_lane(self) -> OrderLane | None:
        for ln in self.lanes:
            if ln is not None and ln.idle:
                return ln
        return None

    @property
    def volley_lanes_up(self) -> int:
        """Volley lanes (beside the trigger's two) open now."""
        return sum(1 for ln in self.lanes[self.LANES :] if ln is not None and ln.up)

    def abort_waiting(self, future: asyncio.Future[Reply]) -> bool:
        """Abort the connection that still owes ``future`` (its FIFO is stuck behind a reply
        that never came); False when no lane owes it (answered, or already closed)."""
        for ln in self.lanes:
            if ln is not None and ln.waits_for(future):
                ln.abort()
                return True
        return False

    def any_lane(self) -> OrderLane | None:
        return self.idle_lane() or next((ln for ln in self.lanes if ln is not None and ln.up), None)

    async def wait_lane(self, within_s: float) -> OrderLane:
        """An idle lane if there is one, else any open lane; waits up to ``within_s`` for one."""
        deadline = time.monotonic() + within_s
        while True:
            lane = self.any_lane()
            if lane is not None:
                return lane
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LaneClosed("no order connection could be opened", written=False)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._up_event.wait()

    # --- keep-alive -----------------------------------------------------------------------------
    async def _keepalive(self) -> None:
        """Every interval/2, ping the next lane in turn, but only if the other lane is idle."""
        turn = 0
        half = self.keepalive_interval_s / 2
        while not self._closing:
            lane, other = self.lanes[turn], self.lanes[1 - turn]
            turn = 1 - turn
            if lane is not None and lane.idle and other is not None and other.idle:
                await self._ping(lane, max(2.0, half))
            await asyncio.sleep(half)

    async def _keepalive_volley(self) -> None:
        """Every interval, one keep-alive on each idle volley lane, staggered between them (the
        trigger never fires on them: no lane has to stay free)."""
        extra = self.lanes[self.LANES :]
        step = self.keepalive_interval_s / len(extra)
        turn = 0
        while not self._closing:
            await asyncio.sleep(step)
            lane = self.lanes[self.LANES + turn]
            turn = (turn + 1) % len(extra)
            if lane is not None and lane.idle:
                await self._ping(lane, max(2.0, step))

    async def _ping(self, lane: OrderLane, within_s: float) -> None:
        """One keep-alive on ``lane``; its reply's status goes to :meth:`_front_door_answered`."""
        sent_ns = time.monotonic_ns()
        try:
            fut = lane.send(self.keepalive_request, "keepalive")
        except LaneClosed:
            return
        self.keepalives += 1
        try:
            async with asyncio.timeout(within_s):
                reply = await asyncio.shield(fut)
        except TimeoutError:
            log.debug("order connection %d: keep-alive unanswered; reopening", lane.index)
            lane.abort()
            return
        except LaneClosed:
            return
        self._front_door_answered(lane.index, reply)
        if self._on_keepalive is not None and 200 <= reply.status < 300:
            self._on_keepalive(sent_ns, reply)

    def _front_door_answered(self, index: int, reply: Reply) -> None:
        """Record a keep-alive reply; log at ERROR when refusals start and when they end (both at
        ERROR, so a log filtered to errors shows the end of the problem too)."""
        before = self.front_door
        refused = not 200 <= reply.status < 300
        if before.status is not None and before.refused == refused:
            if before.status != reply.status:  # still refused (or OK), another status: no log
                self._set_front_door(
                    FrontDoor(reply.status, body_excerpt(reply.body) if refused else "",
                              before.since_ns)
                )  # fmt: skip
            return
        now = time.monotonic_ns()
        state = FrontDoor(reply.status, body_excerpt(reply.body) if refused else "", now)
        if refused:
            log.error(
                "order connections: %s REFUSES keep-alives: HTTP %d on order connection %d "
                "(%r). The order would likely be refused too: check this IP / network / "
                "proxy against the exchange's front door",
                self.host,
                reply.status,
                index,
                state.excerpt,
            )
        elif before.refused:
            log.error(
                "order connections: %s answers keep-alives again (HTTP %d) after refusing "
                "them for %.1f s",
                self.host,
                reply.status,
                (now - before.since_ns) / 1e9,
            )
        self._set_front_door(state)

    def _set_front_door(self, state: FrontDoor) -> None:
        self.front_door = state
        if self._on_front_door is not None:
            self._on_front_door(state)

    async def probe(self, within_s: float = 5.0) -> FrontDoor:
        """Send one keep-alive now and return :attr:`front_door` once it is answered. As for
        the periodic ones, only while both lanes are idle (one lane stays free for the order);
        otherwise, or without a reply within ``within_s``, the state is returned unchanged."""
        lane, other = self.lanes[0], self.lanes[1]
        if lane is not None and lane.idle and other is not None and other.idle:
            await self._ping(lane, within_s)
        return self.front_door
