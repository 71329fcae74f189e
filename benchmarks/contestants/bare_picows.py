"""Diagnostic contestant ``bare_picows*``: the smallest Python client on the sniper's stack.

Not part of the budget. It answers one question: is the busy-polling sniper's distance to the
busy-polling floor (ticker written → ``on_ws_frame`` entered) the cost of the stack the sniper
runs on (uvloop + aiofastnet + picows), or of the sniper's own code? It runs what the sniper's
hot path needs and nothing else:

* a uvloop event loop (``BARE_LOOP=asyncio``: the default asyncio loop instead);
* the order connection opened up front (keep-alive; ``aiofastnet.create_connection`` as
  ``sniper.live.lanes`` does, or ``loop.create_connection`` with ``BARE_AIOFASTNET=0``) and the
  whole request built and signed before subscribing, as ``floor.c`` does;
* a picows WebSocket (``picows.ws_connect``, ``use_aiofastnet`` as ``BARE_AIOFASTNET`` says; the
  sniper takes picows' default, aiofastnet when installed) whose listener's ``on_ws_frame``
  stamps a monotonic ns, does a plain bytes check (``"action"`` and ``"instId":"<TARGET>"``)
  and writes the request on the order transport — no scanner, no trigger, no journal, no REST
  poll;
* ``BARE_SPIN=busy``: the loop busy-polls with a ``call_soon`` callback that schedules itself
  (what ``sniper.live.spin.Spinner`` does, without ``gc.freeze()``); ``off``: the loop sleeps.

After the response it prints one JSON line with ``detect_ns`` (``on_ws_frame`` entered) and
``written_ns`` (the order transport's ``write`` returned), CLOCK_MONOTONIC, like the floor and
``sniper run --json``; exit 0 on ``"code":"00000"``, 1 otherwise, 3 on timeout.

Environment: the contestants' contract (``BITGET_API_KEY/SECRET_KEY/PASSPHRASE``,
``TARGET_TOKEN``, ``COIN_AMOUNT``, ``BITGET_REST_URL``, ``BITGET_WS_URL``; plain only) plus
``BARE_SPIN``, ``BARE_AIOFASTNET``, ``BARE_LOOP``, ``BARE_WS`` (``picows``; ``raw``: no picows,
the WebSocket by hand on the transport and the bytes check in ``data_received`` — splits picows'
share from the loop's and the transport's), ``BARE_WARM_US`` (default 0: off; with
``BARE_SPIN=busy``, a ticker-shaped frame for another symbol through a second, in-process picows
connection every that many µs: is the gap a cold-cache cost?).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import picows

ORDER_PATH = "/api/v2/spot/trade/place-order"
TIMEOUT_S = 60.0


def build_request(host: str, port: int, target: str, amount: str) -> bytes:
    """The whole pre-signed place-order request, as floor.c builds it."""
    ts = int(time.time() * 1000)
    body = (
        f'{{"symbol":"{target}","side":"sell","orderType":"market","force":"gtc",'
        f'"size":"{amount}","clientOid":"bare-{ts}-{os.getpid()}"}}'
    )
    mac = hmac.new(
        os.environ["BITGET_SECRET_KEY"].encode(),
        f"{ts}POST{ORDER_PATH}{body}".encode(),
        hashlib.sha256,
    ).digest()
    sign = base64.b64encode(mac).decode()
    head = (
        f"POST {ORDER_PATH} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Connection: keep-alive\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "locale: en-US\r\n"
        f"ACCESS-KEY: {os.environ['BITGET_API_KEY']}\r\n"
        f"ACCESS-PASSPHRASE: {os.environ['BITGET_PASSPHRASE']}\r\n"
        f"ACCESS-TIMESTAMP: {ts}\r\n"
        f"ACCESS-SIGN: {sign}\r\n"
        "\r\n"
    )
    return head.encode() + body.encode()


class OrderConn(asyncio.Protocol):
    """The order connection: collects one HTTP response (headers + Content-Length body)."""

    def __init__(self, done: asyncio.Future[bytes]) -> None:
        self.done = done
        self.transport: asyncio.Transport | None = None
        self.buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0 or self.done.done():
            return
        length = 0
        for line in self.buf[:end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(self.buf) >= end + 4 + length:
            self.done.set_result(self.buf[end + 4 : end + 4 + length])

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"order connection lost: {exc}"))


class Listener(picows.WSListener):
    """Fires the pre-built request on the first frame naming the target with an ``action``."""

    def __init__(self, subscribe: bytes, needle: bytes, order: OrderConn, request: bytes) -> None:
        self.subscribe = subscribe
        self.needle = needle
        self.order = order
        self.request = request
        self.detect_ns = 0
        self.written_ns = 0

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        if self.subscribe:
            transport.send(picows.WSMsgType.TEXT, self.subscribe)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        t0 = time.monotonic_ns()
        if self.written_ns or frame.msg_type != picows.WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        if self.needle in payload and b'"action"' in payload:
            self.order.transport.write(self.request)  # type: ignore[union-attr]
            self.written_ns = time.monotonic_ns()
            self.detect_ns = t0


class RawWS(asyncio.Protocol):
    """``BARE_WS=raw``: no picows — the WebSocket handshake and the masked subscribe frame by
    hand (as floor.c does) on a plain transport, the same bytes check in ``data_received``."""

    def __init__(
        self,
        path: str,
        netloc: str,
        subscribe: bytes,
        needle: bytes,
        order: OrderConn,
        request: bytes,
    ) -> None:
        self.handshake = (
            f"GET {path} HTTP/1.1\r\nHost: {netloc}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.subscribe = subscribe
        self.needle = needle
        self.order = order
        self.request = request
        self.upgraded = False
        self.head = b""
        self.transport: asyncio.Transport | None = None
        self.detect_ns = 0
        self.written_ns = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.handshake)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        t0 = time.monotonic_ns()
        if not self.upgraded:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.head.startswith(b"HTTP/1.1 101"):
                raise ConnectionError("WebSocket handshake refused")
            self.upgraded = True
            data = self.head[end + 4 :]
            mask = os.urandom(4)
            n = len(self.subscribe)
            header = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0xFE, n >> 8, n & 255])
            masked = bytes(b ^ mask[i % 4] for i, b in enumerate(self.subscribe))
            self.transport.write(header + mask + masked)  # type: ignore[union-attr]
        if self.written_ns or not data:
            return
        # the bytes check on the raw read (server frames are unmasked; a ping would need a pong,
        # but a round lasts well under the exchange's ping interval)
        if self.needle in data and b'"action"' in data:
            self.order.transport.write(self.request)  # type: ignore[union-attr]
            self.written_ns = time.monotonic_ns()
            self.detect_ns = t0


async def run() -> int:
    loop = asyncio.get_running_loop()
    use_fastnet = os.environ.get("BARE_AIOFASTNET", "1") != "0"
    spin = os.environ.get("BARE_SPIN", "busy")
    target = "".join(c for c in os.environ["TARGET_TOKEN"].upper() if c not in "/-_ ")
    rest = urlsplit(os.environ["BITGET_REST_URL"])
    host, port = rest.hostname or "127.0.0.1", rest.port or 80

    done: asyncio.Future[bytes] = loop.create_future()
    order = OrderConn(done)
    if use_fastnet:
        import aiofastnet

        await aiofastnet.create_connection(loop, lambda: order, host, port)
    else:
        await loop.create_connection(lambda: order, host, port)
    request = build_request(host, port, target, os.environ["COIN_AMOUNT"])

    subscribe = json.dumps(
        {"op": "subscribe", "args": [{"instType": "SPOT", "channel": "ticker", "instId": target}]},
        separators=(",", ":"),
    ).encode()
    needle = f'"instId":"{target}"'.encode()
    ws_kind = os.environ.get("BARE_WS", "picows")
    listener: Any  # Listener or RawWS: both carry detect_ns / written_ns
    if ws_kind == "raw":
        ws = urlsplit(os.environ["BITGET_WS_URL"])
        raw = RawWS(ws.path or "/", ws.netloc, subscribe, needle, order, request)
        ws_host, ws_port = ws.hostname or "127.0.0.1", ws.port or 80
        if use_fastnet:
            import aiofastnet

            await aiofastnet.create_connection(loop, lambda: raw, ws_host, ws_port)
        else:
            await loop.create_connection(lambda: raw, ws_host, ws_port)
        listener = raw
        disconnect = raw.transport.close  # type: ignore[union-attr]
    else:
        transport, listener = await picows.ws_connect(
            lambda: Listener(subscribe, needle, order, request),
            os.environ["BITGET_WS_URL"],
            use_aiofastnet=use_fastnet,
        )
        disconnect = transport.disconnect

    # BARE_WARM=1 (diagnostic of the diagnostic): a second picows connection, to a picows
    # server in this process, gets a ticker-shaped frame for another symbol every
    # WARM_PERIOD_NS from the spin turn, so the read path (epoll → transport → picows →
    # on_ws_frame) and the send path run often and stay in the CPU caches
    warm_tx: list[picows.WSTransport] = []
    warm_period_ns = int(float(os.environ.get("BARE_WARM_US", "0")) * 1000)
    warm_frame = (
        b'{"action":"snapshot","arg":{"instType":"SPOT","channel":"ticker","instId":"WARMUSDT"},'
        b'"data":[{"instId":"WARMUSDT","lastPr":"1","open24h":"1","high24h":"1","low24h":"1",'
        b'"change24h":"0","bidPr":"1","askPr":"1","bidSz":"1","askSz":"1","baseVolume":"0",'
        b'"quoteVolume":"0","openUtc":"1","changeUtc24h":"0","ts":"1700000000000"}],'
        b'"ts":1700000000000}'
    )
    if warm_period_ns:

        class WarmServer(picows.WSListener):
            def on_ws_connected(self, transport: picows.WSTransport) -> None:
                warm_tx.append(transport)

        server = await picows.ws_create_server(
            lambda _request: WarmServer(), "127.0.0.1", 0, use_aiofastnet=use_fastnet
        )
        warm_port = server.sockets[0].getsockname()[1]
        await picows.ws_connect(
            lambda: Listener(b"", needle, order, request),
            f"ws://127.0.0.1:{warm_port}/",
            use_aiofastnet=use_fastnet,
        )
    spinning = spin == "busy"
    next_warm = [time.monotonic_ns()]

    def turn() -> None:
        if spinning and not done.done():
            if warm_tx and time.monotonic_ns() >= next_warm[0]:
                next_warm[0] += warm_period_ns
                warm_tx[0].send(picows.WSMsgType.TEXT, warm_frame)
            loop.call_soon(turn)

    if spinning:
        loop.call_soon(turn)
    try:
        body = await asyncio.wait_for(done, TIMEOUT_S)
    except TimeoutError:
        print("bare_picows: timed out waiting for the listing ticker", file=sys.stderr)
        return 3
    finally:
        spinning = False
        disconnect()
    print(
        json.dumps(
            {
                "contestant": "bare_picows",
                "spin": spin,
                "aiofastnet": use_fastnet,
                "ws": ws_kind,
                "loop": type(loop).__module__,
                "detect_ns": listener.detect_ns,
                "written_ns": listener.written_ns,
            }
        ),
        flush=True,
    )
    if json.loads(body).get("code") == "00000":
        return 0
    print(f"bare_picows: order not accepted: {body[:200]!r}", file=sys.stderr)
    return 1


def main() -> int:
    if os.environ.get("BARE_LOOP", "uvloop") == "asyncio":
        return asyncio.run(run())
    import uvloop

    return uvloop.run(run())


if __name__ == "__main__":
    sys.exit(main())
