"""The private order feed over real sockets, under the default asyncio loop and under uvloop.

The server here is a small private WebSocket speaking bitget-api.md §7.4 (login in seconds with
the HMAC of ``ts + "GET" + "/user/verify"``, 30004/30011/30012/30014/30015 and the documented
string ``"30005"``, the order channel's ack, text ping/pong, ``action: snapshot`` pushes in each
generation's shape: v2 ``orders`` rows in an arg with instType SPOT, v3 ``order`` rows with a
``category``). It checks every login independently of the client (its own ``hmac``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import pytest
import uvloop
from aiohttp import WSMsgType, web
from sniper_harness import both_modes, sniper_config, ws_url_for

from sniper.exchange import EmbeddedExchange
from sniper.live.clock import ClockSample, ServerClock
from sniper.live.orderfeed import OrderFeed
from sniper.live.rest import RestClient
from sniper.live.venue import ClassicVenue, UtaVenue, Venue, make_venue
from sniper.secrets import Secret

T = TypeVar("T")
LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}
KEY = "bg_KEYprivfeedDISTINCTkey01"
SECRET = "SECRETprivfeedDISTINCTsecret000002"
PASSPHRASE = "PASSprivfeedDISTINCT03"
CREDENTIALS = (KEY, SECRET, PASSPHRASE)
both_generations = pytest.mark.parametrize("gen", ["v2", "v3"])


@pytest.fixture(params=list(LOOPS))
def run(request: pytest.FixtureRequest) -> Iterator[Callable[[Callable[[], Awaitable[T]]], T]]:
    """Run a coroutine function to completion in a fresh loop of the parametrized kind."""
    with asyncio.Runner(loop_factory=LOOPS[request.param]) as runner:
        yield lambda main: runner.run(main())  # type: ignore[arg-type, return-value]


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Every record of the ``sniper`` logger (DEBUG and up)."""
    got: list[logging.LogRecord] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            got.append(record)

    logger = logging.getLogger("sniper")
    handler, old = _Collect(level=logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield got
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def assert_no_secret(records: list[logging.LogRecord], *texts: str) -> None:
    shown = [r.getMessage() for r in records] + [str(r.exc_info) for r in records] + list(texts)
    for text in shown:
        assert not any(s in text for s in CREDENTIALS), text


# --- the server ----------------------------------------------------------------------------------
@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport
    logged_in: bool = False
    subscribed: bool = False


@dataclass
class PrivateServer:
    gen: str  # "v2" | "v3"
    secret: str = SECRET
    skew_ms: int = 0  # the server clock is ahead of the host's by this much
    login_ok_code: Any = 0  # the documented v2 reply uses the string "0"
    refusal: Any = None  # when set: this code answers a login with bad credentials
    answer_pings: bool = True
    ack: bool = True  # False: subscriptions are never acknowledged
    conns: list[_Conn] = field(default_factory=list)
    logins: int = 0  # accepted
    refused: int = 0
    subscribes: list[Any] = field(default_factory=list)
    url: str = ""
    on_ping: Callable[[_Conn], Awaitable[None]] | None = None  # before the pong

    @property
    def order_arg(self) -> dict[str, str]:
        if self.gen == "v2":
            return {"instType": "SPOT", "channel": "orders", "instId": "default"}
        return {"instType": "UTA", "topic": "order"}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, compress=False)
        await ws.prepare(request)
        assert request.transport is not None
        conn = _Conn(ws, request.transport)
        self.conns.append(conn)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(conn, msg.data)
        finally:
            self.conns.remove(conn)
        return ws

    async def _on_text(self, conn: _Conn, text: str) -> None:
        if text == "ping":
            if self.on_ping is not None:
                await self.on_ping(conn)
            if self.answer_pings:
                await conn.ws.send_str("pong")
            return
        doc = json.loads(text)
        if doc.get("op") == "login":
            await self._login(conn, doc["args"][0])
        elif doc.get("op") == "subscribe":
            (arg,) = doc["args"]
            self.subscribes.append(arg)
            if not conn.logged_in:
                await self._error(conn, 30004, "User not logged in/User must be logged in")
            elif arg == self.order_arg:
                if not self.ack:
                    return
                conn.subscribed = True
                await conn.ws.send_json({"event": "subscribe", "arg": arg})
            else:
                await self._error(conn, 30016, "param error")

    async def _login(self, conn: _Conn, arg: dict[str, str]) -> None:
        ts = arg["timestamp"]
        now_s = (time.time_ns() // 1_000_000 + self.skew_ms) // 1000
        digest = hmac.new(self.secret.encode(), f"{ts}GET/user/verify".encode(), hashlib.sha256)
        want = base64.b64encode(digest.digest()).decode()
        code = None
        if arg["apiKey"] != KEY:
            code = 30011
        elif arg["passphrase"] != PASSPHRASE:
            code = 30012
        elif not (len(ts) == 10 and ts.isdigit()) or abs(int(ts) - now_s) > 30:
            code = 30014
        elif arg["sign"] != want:
            code = 30015
        if code is not None:
            self.refused += 1
            await self._error(conn, self.refusal if self.refusal is not None else code, "error")
            return
        conn.logged_in = True
        self.logins += 1
        await conn.ws.send_json({"event": "login", "code": self.login_ok_code})

    async def _error(self, conn: _Conn, code: Any, msg: str) -> None:
        await conn.ws.send_json({"event": "error", "code": code, "msg": msg})

    def push_frame(self, row: dict[str, Any], *, futures: bool = False) -> dict[str, Any]:
        """One order push in this generation's shape (ws_v2_orders_push, ws_v3_order_push)."""
        if self.gen == "v2":
            inst_type = "USDT-FUTURES" if futures else "SPOT"
            arg = {"instType": inst_type, "channel": "orders", "instId": "default"}
            data = {
                "instId": "PAWSUSDT",
                "orderId": row["orderId"],
                "clientOid": row["clientOid"],
                "size": row["size"],
                "orderType": "market",
                "force": "gtc",
                "side": "sell",
                "accBaseVolume": row["filled"],
                "priceAvg": row["price"],
                "status": row["status"],
                "cTime": "1701923297267",
                "uTime": "1701923297267",
                "feeDetail": [],
                "enterPointSource": "API",
            }
        else:
            arg = {"instType": "UTA", "topic": "order"}
            data = {
                "category": "usdt-futures" if futures else "spot",
                "symbol": "PAWSUSDT",
                "orderId": row["orderId"],
                "clientOid": row["clientOid"],
                "qty": row["size"],
                "orderType": "market",
                "side": "sell",
                "cumExecQty": row["filled"],
                "cumExecValue": row["value"],
                "avgPrice": row["price"],
                "orderStatus": row["status"],
                "createdTime": "1742367838101",
                "updatedTime": "1742367838115",
            }
        return {"action": "snapshot", "arg": arg, "data": [data], "ts": 1}

    async def push(self, row: dict[str, Any], *, futures: bool = False) -> int:
        sent = 0
        for conn in list(self.conns):
            if conn.subscribed:
                await conn.ws.send_json(self.push_frame(row, futures=futures))
                sent += 1
        return sent

    def drop_all(self) -> None:
        for conn in list(self.conns):
            conn.transport.abort()


def order(status: str, oid: str = "snp-1", filled: str = "0", price: str = "0") -> dict[str, Any]:
    value = str(float(filled) * float(price)) if filled != "0" else "0"
    return {
        "orderId": "1001",
        "clientOid": oid,
        "size": "100",
        "filled": filled,
        "price": price,
        "value": value,
        "status": status,
    }


@contextlib.asynccontextmanager
async def serve(server: PrivateServer) -> AsyncIterator[PrivateServer]:
    app = web.Application()
    app.router.add_get(f"/{server.gen}/ws/private", server.handle)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"ws://{host}:{port}/{server.gen}/ws/public"  # the public URL beside it
    try:
        yield server
    finally:
        server.drop_all()
        await runner.cleanup()


def venue(gen: str) -> Venue:
    return ClassicVenue("PAWSUSDT", "PAWS") if gen == "v2" else UtaVenue("PAWSUSDT", "PAWS")


def make_feed(
    server: PrivateServer, *, secret: str = SECRET, clock: ServerClock | None = None, **kw: Any
) -> OrderFeed:
    v = venue(server.gen)
    options: dict[str, Any] = {
        "ping_interval_s": 5.0,
        "pong_timeout_s": 2.0,
        "reconnect_max_s": 0.1,
        "reply_timeout_s": 2.0,
        **kw,
    }
    return OrderFeed(
        url=v.private_ws_url(server.url),
        venue=v,
        api_key=KEY,
        secret_key=Secret(secret),
        passphrase=Secret(PASSPHRASE),
        clock=clock or ServerClock(),
        **options,
    )


async def until(predicate: Callable[[], bool], within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def ready(feed: OrderFeed, within_s: float = 5.0) -> None:
    await asyncio.wait_for(feed.ready.wait(), within_s)


# --- tests ---------------------------------------------------------------------------------------
@both_generations
def test_login_subscribe_and_order_pushes(run: Any, gen: str) -> None:
    async def main() -> None:
        async with serve(PrivateServer(gen)) as srv:
            feed = make_feed(srv)
            feed.start()
            try:
                before = time.monotonic_ns()
                await ready(feed)
                assert srv.logins == 1 and srv.subscribes == [srv.order_arg]
                assert feed.ready_since_ns is not None and feed.ready_since_ns > before
                assert feed.covered(feed.ready_since_ns) and not feed.covered(before)
                first = asyncio.create_task(feed.wait("snp-1", timeout=5))
                done = asyncio.create_task(feed.wait_done("snp-1", timeout=5))
                await asyncio.sleep(0.05)
                # a futures order with the same clientOid is not ours
                await srv.push(order("filled", filled="100", price="1"), futures=True)
                await srv.push(order("live"))
                got = await first
                assert got is not None
                assert (got.client_oid, got.order_id, got.status) == ("snp-1", "1001", "live")
                assert not done.done()
                await srv.push(order("partially_filled", filled="40", price="0.5"))
                await srv.push(order("filled", filled="100", price="0.5"))
                final = await done
                assert final is not None and final.status == "filled"
                assert (final.base_volume, final.price_avg) == ("100", "0.5")
                assert final.quote_volume in ("50", "50.0")
                assert feed.latest("snp-1") == final and feed.pushes == 3
                assert await feed.wait("snp-other", timeout=0.05) is None
            finally:
                await feed.close()

    run(main)


@both_generations
def test_reconnect_after_a_drop_logs_in_and_subscribes_again(run: Any, gen: str) -> None:
    async def main() -> None:
        async with serve(PrivateServer(gen)) as srv:
            feed = make_feed(srv)
            feed.start()
            try:
                await ready(feed)
                first_since = feed.ready_since_ns
                assert first_since is not None
                srv.drop_all()
                await until(lambda: not feed.ready.is_set())
                dropped = time.monotonic_ns()
                assert feed.ready_since_ns is None and not feed.covered(first_since)
                assert feed.covered(first_since, first_since + 1)  # the past interval
                await ready(feed)
                assert srv.logins == 2 and srv.subscribes == [srv.order_arg] * 2
                assert feed.connections == 2
                assert feed.ready_since_ns is not None and feed.ready_since_ns > dropped
                assert not feed.covered(first_since, time.monotonic_ns())  # the gap
                await srv.push(order("filled", filled="100", price="2"))
                got = await feed.wait_done("snp-1", timeout=5)
                assert got is not None and got.status == "filled"
            finally:
                await feed.close()

    run(main)


def test_ready_only_after_the_ack(run: Any) -> None:
    async def main() -> None:
        async with serve(PrivateServer("v3", ack=False)) as srv:
            feed = make_feed(srv, reply_timeout_s=0.2)
            feed.start()
            try:
                # no ack: dropped, logged in and subscribed again
                await until(lambda: srv.logins >= 2 and len(srv.subscribes) >= 2, 5)
                assert not feed.ready.is_set() and feed.ready_since_ns is None
                assert not feed.covered(0, 1)
                srv.ack = True
                await ready(feed)
            finally:
                await feed.close()

    run(main)


def test_a_missing_pong_drops_the_connection_and_reconnects(run: Any) -> None:
    async def main() -> None:
        async with serve(PrivateServer("v2", answer_pings=False)) as srv:
            feed = make_feed(srv, ping_interval_s=0.3, pong_timeout_s=0.2)
            feed.start()
            try:
                await ready(feed)
                await until(lambda: feed.connections >= 2 and srv.logins >= 2, 10)
            finally:
                await feed.close()

    run(main)


@both_generations
def test_pings_keep_a_healthy_connection(run: Any, gen: str) -> None:
    async def main() -> None:
        async with serve(PrivateServer(gen)) as srv:
            feed = make_feed(srv, ping_interval_s=0.1, pong_timeout_s=0.08)
            feed.start()
            try:
                await ready(feed)
                since = feed.ready_since_ns
                await asyncio.sleep(0.6)  # ~6 ping/pong rounds
                assert feed.connections == 1 and feed.ready_since_ns == since
            finally:
                await feed.close()

    run(main)


@pytest.mark.parametrize(
    ("gen", "refusal", "variable"),
    [
        ("v3", None, "BITGET_SECRET_KEY"),  # real v3: numeric 30015 "Invalid sign"
        ("v2", None, "BITGET_SECRET_KEY"),
        ("v2", "30005", "BITGET_PASSPHRASE"),  # the documented v2 string code
    ],
)
def test_a_refused_login_is_reported_once_in_plain_words(
    run: Any, records: list[logging.LogRecord], gen: str, refusal: str | None, variable: str
) -> None:
    async def main() -> None:
        async with serve(PrivateServer(gen, refusal=refusal)) as srv:
            feed = make_feed(srv, secret="not-the-secret", credentials_retry_s=0.05)
            feed.start()
            try:
                await until(lambda: srv.refused >= 3)
                assert not feed.ready.is_set() and feed.credentials_rejected
                assert feed.login_error is not None and variable in feed.login_error
                errors = [r for r in records if r.levelno >= logging.ERROR]
                assert [r.getMessage() for r in errors] == [f"order feed: {feed.login_error}"]
                assert_no_secret(records, repr(feed), feed.login_error)
                # the secret fixed on the exchange side: the next attempt logs in
                srv.secret = "not-the-secret"
                await ready(feed)
                assert feed.login_error is None and not feed.credentials_rejected
            finally:
                await feed.close()

    run(main)


def test_the_login_uses_the_exchange_clock_in_seconds(run: Any) -> None:
    async def main() -> None:
        skew = 120_000  # the exchange is 2 min ahead: the local clock would be refused (30014)
        async with serve(PrivateServer("v3", skew_ms=skew)) as srv:
            local = make_feed(srv, credentials_retry_s=5)
            local.start()
            await until(lambda: srv.refused >= 1)
            assert local.login.code == "30014" and not local.credentials_rejected
            await local.close()
            clock = ServerClock()
            now = clock.wall_ms()
            clock.apply(ClockSample(now, now, int(now) + skew))
            feed = make_feed(srv, clock=clock)
            feed.start()
            try:
                await ready(feed)
                assert srv.logins == 1
            finally:
                await feed.close()

    run(main)


def test_a_failing_session_is_logged_and_retried_never_a_dead_feed(
    run: Any, records: list[logging.LogRecord]
) -> None:
    async def main() -> None:
        wall = [0.0]  # a clock before 2001: no 10-digit login timestamp can be made
        async with serve(PrivateServer("v2")) as srv:
            feed = make_feed(srv, clock=ServerClock(lambda: wall[0]))
            feed.start()
            try:
                await until(lambda: any("session failed" in r.getMessage() for r in records))
                assert not feed.ready.is_set()
                wall[0] = time.time_ns() / 1e6
                await ready(feed)
            finally:
                await feed.close()

    run(main)


def test_the_documented_string_code_zero_is_a_login(run: Any) -> None:
    async def main() -> None:
        async with serve(PrivateServer("v2", login_ok_code="0")) as srv:
            feed = make_feed(srv)
            feed.start()
            try:
                await ready(feed)
                assert feed.logins == 1
            finally:
                await feed.close()

    run(main)


@both_generations
def test_a_not_logged_in_event_makes_the_feed_log_in_again(run: Any, gen: str) -> None:
    async def main() -> None:
        async with serve(PrivateServer(gen)) as srv:
            feed = make_feed(srv)
            feed.start()
            try:
                await ready(feed)
                for conn in srv.conns:
                    await srv._error(conn, 30004, "User not logged in")
                await until(lambda: srv.logins == 2 and feed.ready.is_set())
                assert feed.connections == 2
            finally:
                await feed.close()

    run(main)


@both_generations
def test_confirm_covered_sees_every_push_written_before_the_pong(run: Any, gen: str) -> None:
    async def main() -> None:
        srv = PrivateServer(gen)

        async def push_first(conn: _Conn) -> None:  # a push the venue wrote before the ping
            if conn.subscribed and srv.pushing:
                await conn.ws.send_json(srv.push_frame(order("filled", "snp-7", "100", "3")))

        srv.pushing = False  # type: ignore[attr-defined]
        srv.on_ping = push_first
        async with serve(srv):
            feed = make_feed(srv)
            feed.start()
            try:
                await ready(feed)
                written = time.monotonic_ns()
                srv.pushing = True  # type: ignore[attr-defined]
                assert feed.latest("snp-7") is None
                assert await feed.confirm_covered(written, timeout=2)
                got = feed.latest("snp-7")
                assert got is not None and got.status == "filled"
                # before the subscription: not covered, whatever the pong says
                assert not await feed.confirm_covered(feed.ready_since_ns - 1, timeout=2)  # type: ignore[operator]
                srv.answer_pings = False
                assert not await feed.confirm_covered(written, timeout=0.2)
            finally:
                await feed.close()

    run(main)


def test_close_is_prompt_and_releases_waits(run: Any) -> None:
    async def main() -> None:
        async with serve(PrivateServer("v2")) as srv:
            feed = make_feed(srv)
            feed.start()
            await ready(feed)
            waiting = asyncio.create_task(feed.wait_done("snp-1", timeout=60))
            await srv.push(order("live"))
            await until(lambda: feed.latest("snp-1") is not None)
            t0 = time.monotonic()
            await feed.close()
            assert time.monotonic() - t0 < 0.5
            assert await waiting is None  # released: not done, and the feed is gone
            assert not feed.ready.is_set() and feed.ready_since_ns is None

    run(main)


def test_close_while_the_handshake_hangs_or_before_start(run: Any) -> None:
    async def main() -> None:
        release = asyncio.Event()
        peers: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peers.append(writer)
            await reader.read(1 << 16)  # takes the upgrade request, never answers
            await release.wait()
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            feed = OrderFeed(
                url=f"ws://127.0.0.1:{port}/v2/ws/private",
                venue=venue("v2"),
                api_key=KEY,
                secret_key=SECRET,
                passphrase=PASSPHRASE,
                clock=ServerClock(),
            )
            feed.start()
            await until(lambda: bool(peers))
            await asyncio.sleep(0.05)  # inside the handshake
            t0 = time.monotonic()
            await feed.close()
            assert time.monotonic() - t0 < 0.5
            never = make_feed(PrivateServer("v2", url="ws://127.0.0.1:9/v2/ws/public"))
            await never.close()  # never started: nothing to wait for
        finally:
            # the half-open socket is picows': its handshake timeout (5 s) or the peer's close
            # ends it; here the peer closes, so the test leaves nothing open
            release.set()
            server.close()
            await server.wait_closed()
            await asyncio.sleep(0.05)

    run(main)


# --- against the embedded exchange's private WebSocket (sniper/exchange/private_ws.py) -----------
@contextlib.asynccontextmanager
async def exchange_feed(
    ex: EmbeddedExchange, mode: str, **tunables: float
) -> AsyncIterator[tuple[OrderFeed, RestClient, Venue]]:
    """A ready feed for the test account (its generation), and a REST client to place orders."""
    ex.add_symbol("PAWSUSDT", status="online", price="0.5", quantity_precision=2)
    config = sniper_config(ex).with_account(mode)
    v = make_venue(mode, config.target, config.base_coin)
    clock = ServerClock()
    async with RestClient(config, clock, v) as rest:
        await clock.sync(rest.server_time_ms, samples=2)
        feed = OrderFeed.from_config(config, venue=v, clock=clock, **tunables)
        feed.start()
        try:
            await ready(feed)
            yield feed, rest, v
        finally:
            await feed.close()


async def sell(rest: RestClient, v: Venue, client_oid: str, size: str = "10") -> None:
    env = await rest.request(v.order_call(size, client_oid), signed=True)
    assert env.ok, (env.code, env.msg)


@both_modes
async def test_an_order_placed_over_rest_is_on_the_feed(ex: EmbeddedExchange, mode: str) -> None:
    async with exchange_feed(ex, mode) as (feed, rest, v):
        assert feed.url == v.private_ws_url(ws_url_for(ex))
        assert feed.url == (ex.ws_private_url_v3 if mode == "uta" else ex.ws_private_url)
        written = time.monotonic_ns()
        await sell(rest, v, "snp-feed-1")
        first = await feed.wait("snp-feed-1", timeout=5)
        assert first is not None and first.client_oid == "snp-feed-1"
        assert first.status in ("live", "new", "filled")
        done = await feed.wait_done("snp-feed-1", timeout=5)
        assert done is not None and done.status == "filled"
        assert Decimal(done.base_volume) == 10 and Decimal(done.price_avg) > 0
        assert Decimal(done.quote_volume) == Decimal(done.base_volume) * Decimal(done.price_avg)
        assert done.order_id == ex.records.orders[-1].order_id
        assert feed.covered(written) and await feed.confirm_covered(written, timeout=2)
        assert feed.latest("snp-other") is None


@both_modes
async def test_after_a_dropped_connection_the_feed_logs_in_and_subscribes_again(
    ex: EmbeddedExchange, mode: str
) -> None:
    async with exchange_feed(ex, mode, reconnect_max_s=0.1) as (feed, rest, v):
        first_since = feed.ready_since_ns
        assert first_since is not None
        assert [r.result for r in ex.records.private_logins] == ["ok"]
        assert await ex.faults.drop_private_ws_connections() == 1
        await until(lambda: feed.ready_since_ns != first_since and feed.ready.is_set())
        assert [r.result for r in ex.records.private_logins] == ["ok", "ok"]
        subs = [(r.arg, r.result) for r in ex.records.private_subscriptions]
        assert subs == [(json.loads(v.order_subscribe())["args"][0], "ok")] * 2
        assert not feed.covered(first_since)
        await sell(rest, v, "snp-feed-2")
        done = await feed.wait_done("snp-feed-2", timeout=5)
        assert done is not None and done.status == "filled"


@both_modes
async def test_a_lagging_push_is_why_silence_needs_a_margin(
    ex: EmbeddedExchange, mode: str
) -> None:
    """confirm_covered proves the socket delivered everything written before the pong; a push
    the venue writes later (its own lag) is not covered by it."""
    async with exchange_feed(ex, mode) as (feed, rest, v):
        ex.faults.private_ws_push_delay_ms = 800
        written = time.monotonic_ns()
        await sell(rest, v, "snp-feed-3")
        assert await feed.confirm_covered(written, timeout=2)
        assert feed.latest("snp-feed-3") is None  # executed, not yet pushed
        done = await feed.wait_done("snp-feed-3", timeout=5)
        assert done is not None and done.status == "filled"


@both_modes
async def test_a_key_of_the_other_generation_is_refused_in_plain_words(
    ex: EmbeddedExchange, mode: str, records: list[logging.LogRecord]
) -> None:
    ex.add_symbol("PAWSUSDT", status="online", price="0.5", quantity_precision=2)
    other = "classic" if mode == "uta" else "uta"
    config = sniper_config(ex).with_account(other)
    v = make_venue(other, config.target, config.base_coin)
    feed = OrderFeed.from_config(config, venue=v, clock=ServerClock(), credentials_retry_s=5)
    feed.start()
    try:
        await until(lambda: feed.login_error is not None)
        assert not feed.ready.is_set() and feed.credentials_rejected
        assert [r.result for r in ex.records.private_logins] == [30005]
        assert_no_secret(records, repr(feed), str(feed.login_error))
    finally:
        await feed.close()
