"""Public WebSocket, v2 (``/v2/ws/public``) and v3/UTA (``/v3/ws/public``) — bitget-api.md §7.

aiohttp does the handshake, reads client frames and answers protocol-level ping/close. Every
frame the exchange *sends* is encoded here and written straight to the transport, so that

* the listing ticker can be stamped immediately before ``transport.write`` (the frame bytes
  are built first), and
* fault injection can send frames aiohttp would refuse to build (invalid UTF-8 text, ...) or
  cannot send at all (a message fragmented into a TEXT frame and CONTINUATION frames:
  ``faults.fragment_ws_pushes``; aiohttp's ``WebSocketResponse`` always sends whole messages).

Compression is never negotiated (the real venue offers no permessage-deflate either, §2), so
raw frames are valid frames.

Under the simulated WAN (:mod:`.wan`) a connection's transport is a
:class:`~.wan.DelayedTransport`: a frame stamped and written here (the listing ticker
included) reaches the client one sampled one-way delay later, in order; a client's ``ping``
is read one one-way delay after it reached the socket, so its ``pong`` round trip is 2x.

Event shapes follow the real frames of ``tests/data/bitget-samples.json``: a v2 error carries
``arg`` and ``op`` (ws_v2_error_unknown_symbol, ws_v2_error_param); a v3 error carries NO
``arg`` and a ``connId`` (ws_v3_error_unknown_symbol, ws_v3_error_login, §5.11); a v3 ticker
push has no ``symbol`` inside ``data`` (ws_v3_ticker).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import secrets
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .recorder import WsSubscriptionRecord

if TYPE_CHECKING:
    from .server import EmbeddedExchange
    from .state import Symbol

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2

# After 30007 the server closes the connection with a close frame. The real venue's close code
# is not documented ([UNCERTAIN]); 1008 is RFC 6455's "policy violation".
WS_OVER_LIMIT_CLOSE_CODE = 1008
WS_CLOSE_TIMEOUT_S = 2.0  # then the socket is closed without the client's close frame

V2_ARG_KEYS = ("instType", "channel", "instId")
V3_ARG_KEYS = ("instType", "topic", "symbol")
V2_CHANNELS = frozenset(
    {"ticker", "trade", "books", "books1", "books5", "books15", "auction"}
    | {f"candle{p}" for p in ("1m", "5m", "15m", "30m", "1H", "4H", "6H", "12H", "1D", "1W")}
)
V3_TOPICS = frozenset({"ticker", "kline", "books", "books1", "books5", "books50", "publicTrade"})
# Futures instTypes are valid but not modelled: their symbols "don't exist" (30001).
V2_INST_TYPES = frozenset({"SPOT", "USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES"})
V3_INST_TYPES = frozenset({"spot", "usdt-futures", "coin-futures", "usdc-futures"})


def encode_frame(payload: bytes, opcode: int = OP_TEXT, *, fin: bool = True) -> bytes:
    """One unmasked server->client WebSocket frame (final unless ``fin=False``)."""
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    if n < 126:
        header = struct.pack("!BB", first, n)
    elif n < 65536:
        header = struct.pack("!BBH", first, 126, n)
    else:
        header = struct.pack("!BBQ", first, 127, n)
    return header + payload


def encode_fragmented(payload: bytes, parts: int, opcode: int = OP_TEXT) -> bytes:
    """``payload`` as one message in ``parts`` frames of near-equal size (RFC 6455 §5.4): the
    first carries ``opcode`` without fin, the others are CONTINUATION frames, the last with fin.
    ``parts`` <= 1 (or a payload shorter than 2 bytes) gives one ordinary frame; never more
    frames than payload bytes."""
    parts = min(parts, len(payload))
    if parts <= 1:
        return encode_frame(payload, opcode)
    step, extra = divmod(len(payload), parts)
    frames = []
    start = 0
    for i in range(parts):
        end = start + step + (1 if i < extra else 0)
        frames.append(
            encode_frame(
                payload[start:end], opcode if i == 0 else OP_CONTINUATION, fin=end == len(payload)
            )
        )
        start = end
    return b"".join(frames)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def new_conn_id() -> str:
    """A v3 ``connId`` in the shape of the real one (ws_v3_error_unknown_symbol):
    ``0ac601fffe2331d1-0000b8a2-02ec8f7d-12be2501ca6d557e-522cdcdf``."""
    return "-".join(secrets.token_hex(n) for n in (8, 4, 4, 8, 4))


@dataclass(eq=False)
class WsConnection:
    conn_id: int
    version: str  # "v2" or "v3"
    ws: web.WebSocketResponse
    transport: asyncio.Transport
    opened: float  # s, monotonic
    last_ping: float  # s, monotonic, last text `ping`
    tickers: set[str] = field(default_factory=set)  # subscribed ticker symbols
    others: set[str] = field(default_factory=set)  # other acked channels (never pushed)
    msg_times: deque[float] = field(default_factory=deque)
    sub_times: deque[float] = field(default_factory=deque)
    over_limit: bool = False  # 30007 sent: the handler closes the connection next
    # a JSON text message -> the bytes written (the hub's encode_text: one frame, or fragments)
    encode_text: Callable[[bytes], bytes] = encode_frame
    conn_id_text: str = field(default_factory=new_conn_id)  # v3 `connId`

    def write(self, frame: bytes) -> bool:
        if self.transport.is_closing():
            return False
        self.transport.write(frame)
        return True

    def send_json(self, obj: Any) -> bool:
        return self.write(self.encode_text(dumps(obj)))

    def send_error(self, code: int, msg: str, *, arg: Any = None, op: str | None = None) -> bool:
        """An error event in this socket's generation. v2: ``{"event","arg"?,"code","msg","op"?}``
        (ws_v2_error_*); v3: ``{"event","code","msg","connId"}``, never an ``arg``
        (ws_v3_error_unknown_symbol, ws_v3_error_login)."""
        event: dict[str, Any] = {"event": "error"}
        if self.version == "v3":
            event.update(code=code, msg=msg, connId=self.conn_id_text)
            return self.send_json(event)
        if arg is not None:
            event["arg"] = arg
        event.update(code=code, msg=msg)
        if op is not None:
            event["op"] = op
        return self.send_json(event)

    def abort(self) -> None:
        self.transport.abort()


class WsHub:
    def __init__(self, exchange: EmbeddedExchange) -> None:
        self._ex = exchange
        self.conns: dict[int, WsConnection] = {}
        self._ids = itertools.count(1)
        self._ticker_tasks: dict[str, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def stop(self) -> None:
        tasks = list(self._ticker_tasks.values())
        if self._sweeper is not None:
            tasks.append(self._sweeper)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._ticker_tasks.clear()
        self._sweeper = None
        self.drop_all()

    def drop_all(self) -> int:
        conns = list(self.conns.values())
        for conn in conns:
            conn.abort()
        return len(conns)

    def encode_text(self, payload: bytes) -> bytes:
        """A JSON text message (push, ack, error) as it goes on the wire: one frame, or
        ``faults.fragment_ws_pushes`` fragments. The text ``pong`` is always one frame."""
        return encode_fragmented(payload, self._ex.faults.fragment_ws_pushes)

    def send_raw_to_all(self, frames: list[bytes | str], *, binary: bool) -> int:
        opcode = OP_BINARY if binary else OP_TEXT
        encoded = [encode_frame(f.encode() if isinstance(f, str) else f, opcode) for f in frames]
        n = 0
        for conn in list(self.conns.values()):
            for frame in encoded:
                conn.write(frame)
            n += 1
        return n

    async def _sweep(self) -> None:
        """Idle kill (no text ping for ws_idle_timeout_s) and the forced lifetime disconnect."""
        while True:
            s = self._ex.settings
            await asyncio.sleep(max(0.01, min(1.0, s.ws_idle_timeout_s / 10)))
            now = time.monotonic()
            for conn in list(self.conns.values()):
                idle = now - conn.last_ping > s.ws_idle_timeout_s
                old = s.ws_max_lifetime_s is not None and now - conn.opened > s.ws_max_lifetime_s
                if idle or old:
                    conn.abort()

    # --- tickers --------------------------------------------------------------------------
    def ensure_ticker(self, symbol: str) -> None:
        task = self._ticker_tasks.get(symbol)
        if task is None or task.done():
            loop = asyncio.get_running_loop()
            self._ticker_tasks[symbol] = loop.create_task(self._ticker_loop(symbol))

    async def _ticker_loop(self, symbol: str) -> None:
        while True:
            low, high = self._ex.settings.ticker_interval_s
            await asyncio.sleep(random.uniform(low, high))
            self.push_ticker(symbol)

    def _ticker_frames(
        self, sym: Symbol, now_ms: int, price: str | None = None
    ) -> tuple[bytes, bytes]:
        """The (v2, v3) snapshot frames; ``price`` defaults to the symbol's current price."""
        if price is None:
            price = self._ex.format_price(sym)
        v2 = {
            "action": "snapshot",
            "arg": {"instType": "SPOT", "channel": "ticker", "instId": sym.symbol},
            "data": [
                {
                    "instId": sym.symbol,
                    "lastPr": price,
                    "open24h": price,
                    "high24h": price,
                    "low24h": price,
                    "change24h": "0",
                    "bidPr": price,
                    "askPr": price,
                    "bidSz": "0",
                    "askSz": "0",
                    "baseVolume": "0",
                    "quoteVolume": "0",
                    "openUtc": price,
                    "changeUtc24h": "0",
                    "ts": str(now_ms),
                }
            ],
            "ts": now_ms,
        }
        v3 = {
            "action": "snapshot",
            "arg": {"instType": "spot", "topic": "ticker", "symbol": sym.symbol},
            "data": [
                {
                    "lastPrice": price,
                    "openPrice24h": price,
                    "highPrice24h": price,
                    "lowPrice24h": price,
                    "ask1Price": price,
                    "bid1Price": price,
                    "bid1Size": "0",
                    "ask1Size": "0",
                    "price24hPcnt": "0",
                    "volume24h": "0",
                    "turnover24h": "0",
                }
            ],
            "ts": now_ms,
        }
        return self.encode_text(dumps(v2)), self.encode_text(dumps(v3))

    def push_ticker(self, symbol: str, only: WsConnection | None = None) -> int:
        """Write one snapshot to every subscriber (or to ``only``); returns connections written.

        The first push written after the symbol went online is the *listing ticker*: its time
        is ``time.time_ns()`` taken right before ``transport.write`` of the pre-built frame.
        """
        ex = self._ex
        if ex.faults.mute_ws_pushes:
            return 0
        sym = ex.state.symbols.get(symbol)
        now_ms = ex.server_time_ms()
        if sym is None or sym.status_at(now_ms) != "online":
            return 0
        targets = [only] if only is not None else list(self.conns.values())
        targets = [c for c in targets if symbol in c.tickers]
        if not targets:
            return 0
        v2_frame, v3_frame = self._ticker_frames(sym, now_ms)
        records = ex.records
        listing_round = not sym.listing_pushed
        written = 0
        for conn in targets:
            frame = v2_frame if conn.version == "v2" else v3_frame
            if conn.transport.is_closing():
                continue
            ns = time.time_ns()  # CLOCK_REALTIME, immediately before the write
            conn.transport.write(frame)
            written += 1
            if listing_round:
                records.listing_pushes.append((conn.conn_id, symbol, ns))
                records.listing_ticker_ns.setdefault(symbol, ns)
        if written:
            sym.listing_pushed = True
        return written

    def _push_gray_snapshot(self, conn: WsConnection, sym: Symbol) -> None:
        """``settings.ws_gray_snapshot``: one zero-price snapshot of a gray (not yet open) pair.
        Not the listing ticker (that is still the first push after the open)."""
        if self._ex.faults.mute_ws_pushes:
            return
        v2_frame, v3_frame = self._ticker_frames(sym, self._ex.server_time_ms(), price="0")
        conn.write(v2_frame if conn.version == "v2" else v3_frame)

    # --- connection handler ---------------------------------------------------------------
    async def handle(self, request: web.Request, version: str) -> web.StreamResponse:
        # timeout: how long a close we start (30007) waits for the client's close frame
        ws = web.WebSocketResponse(
            autoping=True, compress=False, max_msg_size=1 << 20, timeout=WS_CLOSE_TIMEOUT_S
        )
        await ws.prepare(request)
        transport = request.transport
        assert transport is not None
        now = time.monotonic()
        conn = WsConnection(
            next(self._ids), version, ws, transport, now, now, encode_text=self.encode_text
        )
        self.conns[conn.conn_id] = conn
        self._ex.records.ws_connections += 1
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    if self._count_message(conn):
                        conn.send_error(30002, "Illegal request")
                elif msg.type == WSMsgType.ERROR:
                    break
                if conn.over_limit:
                    # Graceful: the 30007 frame is already queued; the close frame follows it,
                    # then aiohttp reads (and drops) what the client still sends until its
                    # close frame, and only then closes the socket. An abort here would reset
                    # the connection while client data sits unread, and the client's kernel
                    # would throw away the 30007 frame with it.
                    await ws.close(code=WS_OVER_LIMIT_CLOSE_CODE, message=b"request over limit")
                    break
        finally:
            self.conns.pop(conn.conn_id, None)
        return ws

    def _count_message(self, conn: WsConnection) -> bool:
        """The 10 msg/s rule: False (and the connection closed with 30007) when exceeded."""
        limit = self._ex.settings.ws_max_msgs_per_s
        now = time.monotonic()
        times = conn.msg_times
        while times and now - times[0] >= 1.0:
            times.popleft()
        times.append(now)
        if conn.over_limit:
            return False  # closing: nothing more is answered
        if limit and len(times) > limit:
            conn.send_error(30007, "request over limit,connection close")
            conn.over_limit = True  # the handler closes gracefully (see handle)
            return False
        return True

    def _on_text(self, conn: WsConnection, text: str) -> None:
        if text == "ping" and self._ex.faults.swallow_ws_pings:
            return  # lost before the venue saw it: no pong, no count, no keep-alive
        if not self._count_message(conn):
            return
        if text == "ping":
            conn.last_ping = time.monotonic()
            conn.write(encode_frame(b"pong"))
            return
        try:
            req = json.loads(text)
        except (ValueError, RecursionError):  # deep nesting raises RecursionError
            conn.send_error(30002, "Illegal request")
            return
        if not isinstance(req, dict) or "op" not in req:
            conn.send_error(30002, "Illegal request")
            return
        op = req.get("op")
        if op not in ("subscribe", "unsubscribe"):
            conn.send_error(30003, "Invalid op", op=op)
            return
        args = req.get("args")
        if not isinstance(args, list) or not args:
            conn.send_error(30016, "Param error", op=op)
            return
        for arg in args:
            if op == "subscribe":
                self._subscribe(conn, arg)
            else:
                self._unsubscribe(conn, arg)

    def _parse_arg(self, conn: WsConnection, arg: Any) -> tuple[str, str, str] | None:
        """(instType, channel, symbol) from a v2 or v3 arg, or None if malformed."""
        if not isinstance(arg, dict):
            return None
        keys = V2_ARG_KEYS if conn.version == "v2" else V3_ARG_KEYS
        values = [arg.get(k) for k in keys]
        strings = [v for v in values if isinstance(v, str) and v]
        if len(strings) != 3:
            return None
        return strings[0], strings[1], strings[2]

    def _error(self, conn: WsConnection, arg: Any, code: int, msg: str, op: str) -> None:
        conn.send_error(code, msg, arg=arg, op=op)

    def _subscribe(self, conn: WsConnection, arg: Any) -> None:
        ex = self._ex
        s = ex.settings
        record_arg = dict(arg) if isinstance(arg, dict) else {"raw": arg}
        parsed = self._parse_arg(conn, arg)
        if parsed is None:
            self._error(conn, arg, 30016, "Param error", "subscribe")
            ex.records.ws_subscriptions.append(
                WsSubscriptionRecord(conn.conn_id, record_arg, 30016)
            )
            return
        inst_type, channel, symbol = parsed
        now = time.monotonic()
        while conn.sub_times and now - conn.sub_times[0] >= 3600.0:
            conn.sub_times.popleft()
        if s.ws_max_subs_per_hour and len(conn.sub_times) >= s.ws_max_subs_per_hour:
            self._error(conn, arg, 30006, "request too many", "subscribe")
            ex.records.ws_subscriptions.append(
                WsSubscriptionRecord(conn.conn_id, record_arg, 30006)
            )
            return
        conn.sub_times.append(now)
        v2 = conn.version == "v2"
        channels = V2_CHANNELS if v2 else V3_TOPICS
        inst_types = V2_INST_TYPES if v2 else V3_INST_TYPES
        if channel not in channels or inst_type not in inst_types:
            self._error(conn, arg, 30016, "Param error", "subscribe")
            ex.records.ws_subscriptions.append(
                WsSubscriptionRecord(conn.conn_id, record_arg, 30016)
            )
            return
        found = ex.state.find_symbol(symbol, ex.server_time_ms())
        spot = inst_type in ("SPOT", "spot")
        exists = spot and found is not None
        if exists and found is not None and found[1] == "gray" and not s.ws_gray_subscribable:
            exists = False
        if not exists:
            if v2:
                # ws_v2_error_unknown_symbol: book channels add their precision
                msg = f"instType:{inst_type},channel:{channel},instId:{symbol}"
                if channel.startswith("books"):
                    msg += ",precision:null"
                msg += " doesn't exist"
            else:
                # ws_v3_error_unknown_symbol: the arg as compact JSON, keys in sorted order
                described = {"instType": inst_type, "symbol": symbol, "topic": channel}
                msg = json.dumps(described, separators=(",", ":")) + " doesn't exist"
            self._error(conn, arg, 30001, msg, "subscribe")
            ex.records.ws_subscriptions.append(
                WsSubscriptionRecord(conn.conn_id, record_arg, 30001)
            )
            return
        ack: dict[str, Any] = {"event": "subscribe", "arg": arg}
        if not v2 and s.ws_v3_ack_conn_id:
            ack["connId"] = conn.conn_id_text
        conn.send_json(ack)
        ex.records.ws_subscriptions.append(WsSubscriptionRecord(conn.conn_id, record_arg, "ok"))
        if channel == "ticker":
            conn.tickers.add(symbol)
            # A snapshot right after the ack when the pair already trades (real venues do).
            self.push_ticker(symbol, only=conn)
            if found is not None and found[1] == "gray" and s.ws_gray_snapshot:
                self._push_gray_snapshot(conn, found[0])
        else:
            conn.others.add(f"{channel}:{symbol}")

    def _unsubscribe(self, conn: WsConnection, arg: Any) -> None:
        parsed = self._parse_arg(conn, arg)
        if parsed is None:
            self._error(conn, arg, 30016, "Param error", "unsubscribe")
            return
        _, channel, symbol = parsed
        if channel == "ticker":
            conn.tickers.discard(symbol)
        else:
            conn.others.discard(f"{channel}:{symbol}")
        conn.send_json({"event": "unsubscribe", "arg": arg})
