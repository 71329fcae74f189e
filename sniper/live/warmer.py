"""Keeping the receive path warm while the loop busy-polls (``SPIN_WARM``, issue 15).

A busy-polling loop no longer pays the wake-up, but the first frame after a long quiet spell
still pays a cold path: the caches and branch predictors have forgotten the loopback read,
uvloop's and picows' read path and the scanner. Measured (BENCHMARKS.md, "The busy-polling
gap"): running a frame through the same path every ~200 µs takes most of the gap to a busy C
client away.

:class:`Warmer` is an in-process loopback pair: a picows WebSocket server on ``127.0.0.1``
(ephemeral port) and a picows client connected to it the way the feed connects (picows, over
aiofastnet when it is installed, as the feed does; over TLS when the feed is ``wss://``, with a
throwaway certificate made in memory for the pair, :func:`loopback_tls`: the frame then runs
through the same TLS read path — OpenSSL's record layer and AES-GCM, aiofastnet's SSL transport
— which a plain pair leaves cold). The :class:`~sniper.live.spin.Spinner`
calls :meth:`Warmer.tick` on each busy-poll turn; every ``WARM_PERIOD_US`` the server side sends
a frame shaped like a real ticker push of **another** symbol, and the client's listener runs it
through the same compiled scanner (``TickerScanner`` for the real target) — a miss by
construction (checked when the warmer is built). That listener is its own object: it has no
reference to the order trigger and cannot fire anything. Nothing leaves the host; nothing is
ever sent to the exchange. The cost: nothing beyond the core the busy-poll already takes (a
few µs of work every 200 µs on that core, and two loopback sockets while the window lasts).
"""

from __future__ import annotations

import functools
import logging
import ssl
import time
from typing import Any

import picows

from sniper import _fast

log = logging.getLogger("sniper.run")

WARM_PERIOD_US = 200  # µs between warm frames (BENCHMARKS.md, "The busy-polling gap")
WARM_HOST = "127.0.0.1"
_TICKER_HIT = int(_fast.FrameKind.TICKER_HIT)
_OTHER_SYMBOLS = ("ETHUSDT", "BTCUSDT")  # the warm frame's symbol: the first that is not target


def warm_frame(target: str) -> bytes:
    """A ticker push (the shape of a real Bitget v2 spot ``ticker`` snapshot) for a symbol that
    is not ``target``."""
    other = next(s for s in _OTHER_SYMBOLS if s != target.upper())
    push = (
        '{"action":"snapshot","arg":{"instType":"SPOT","channel":"ticker","instId":"@"},'
        '"data":[{"instId":"@","lastPr":"2200.10","open24h":"2180.00","high24h":"2210.00",'
        '"low24h":"2170.00","change24h":"0.0092","bidPr":"2200.09","askPr":"2200.1",'
        '"bidSz":"0.0084","askSz":"19.8811","baseVolume":"1234.5678",'
        '"quoteVolume":"2716049.12","openUtc":"2190.00","changeUtc24h":"0.0046",'
        '"ts":"1695702438018"}],"ts":1695702438029}'
    )
    return push.replace("@", other).encode()


@functools.cache
def loopback_tls(host: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Server and client TLS contexts for the loopback pair only: a throwaway CA made in memory
    (``trustme``, ECDSA), and a certificate for ``host``; the client trusts that CA and nothing
    else. Nothing of it is written to disk or used for any other connection. Made once per
    process (~0.1 s of CPU on the event loop): every busy-poll window's pair reuses it."""
    import trustme  # a runtime dependency (the embedded exchange's TLS mode uses it too)

    ca = trustme.CA()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(host).configure_cert(server)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, checks the name; no system store
    client.load_verify_locations(cadata=ca.cert_pem.bytes().decode("ascii"))
    return server, client


class _WarmListener(picows.WSListener):
    """The warm client's listener: scans each frame with the target's scanner and counts. No
    trigger, no callback: whatever it reads, it can only count."""

    def __init__(self, scanner: Any) -> None:
        super().__init__()
        self._scanner = scanner
        self.frames = 0
        self.hits = 0  # frames the scanner called a hit on the target: must stay 0

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type != picows.WSMsgType.TEXT:
            return
        self.frames += 1
        if self._scanner.scan(frame.get_payload_as_memoryview()) == _TICKER_HIT:
            self.hits += 1


class _ServerSide(picows.WSListener):
    def __init__(self, warmer: Warmer) -> None:
        super().__init__()
        self._warmer = warmer

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self._warmer._server_connected(transport)

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        self._warmer._server_disconnected(transport)


class Warmer:
    """One loopback pair for one busy-poll window: :meth:`open` (async), :meth:`tick` from each
    busy-poll turn, :meth:`close` (synchronous, idempotent; also undoes a half-done open).

    Observable: ``sent`` (warm frames sent), ``received`` / ``hits`` (read and scanned by the
    client; ``hits`` stays 0), ``port``, ``ready``, ``closed``."""

    def __init__(
        self,
        target: str,
        *,
        period_us: float = WARM_PERIOD_US,
        host: str = WARM_HOST,
        tls: bool = False,
    ) -> None:
        self.tls = tls  # the pair speaks TLS, as a wss:// feed does (:func:`loopback_tls`)
        self.scanner = _fast.TickerScanner(target)
        self.frame = warm_frame(target)
        if self.scanner.scan(self.frame) == _TICKER_HIT:  # never: another symbol's push
            raise ValueError(f"the warm frame would be a hit on {target}")
        self.period_ns = int(period_us * 1000)
        self.host = host
        self.port: int | None = None
        self.sent = 0
        self.closed = False
        self._server: Any = None
        self._client: picows.WSTransport | None = None
        self._listener: _WarmListener | None = None
        self._tx: picows.WSTransport | None = None  # the server side of the pair: it sends
        self._next_ns = 0

    @property
    def ready(self) -> bool:
        return self._tx is not None

    @property
    def received(self) -> int:
        return self._listener.frames if self._listener is not None else 0

    @property
    def hits(self) -> int:
        return self._listener.hits if self._listener is not None else 0

    @property
    def serving(self) -> bool:
        """The loopback server still listens (False once closed)."""
        return self._server is not None and bool(self._server.is_serving())

    async def open(self) -> None:
        """Bind the server, connect the client. Raises (after undoing what was done) if the pair
        cannot be set up, or if :meth:`close` ran meanwhile."""
        try:
            server_ssl, client_ssl = loopback_tls(self.host) if self.tls else (None, None)
            self._server = await picows.ws_create_server(
                lambda _request: _ServerSide(self),
                self.host,
                0,
                websocket_handshake_timeout=5,
                ssl=server_ssl,
            )
            self.port = int(self._server.sockets[0].getsockname()[1])
            if self.closed:
                raise ConnectionAbortedError("warmer closed while opening")
            scanner = self.scanner
            self._client, listener = await picows.ws_connect(
                lambda: _WarmListener(scanner),
                f"{'wss' if self.tls else 'ws'}://{self.host}:{self.port}/",
                ssl_context=client_ssl,
                websocket_handshake_timeout=5,
            )
            self._listener = listener  # type: ignore[assignment]
            if self.closed or self._tx is None:
                raise ConnectionAbortedError("warmer closed while opening")
        except BaseException:
            self.close()
            raise
        self._next_ns = time.monotonic_ns()

    def tick(self) -> None:
        """From a busy-poll turn: one warm frame if ``WARM_PERIOD_US`` went by since the last."""
        tx = self._tx
        if tx is None:
            return
        now = time.monotonic_ns()
        if now >= self._next_ns:
            self._next_ns = now + self.period_ns
            tx.send(picows.WSMsgType.TEXT, self.frame)
            self.sent += 1

    def close(self) -> None:
        """Close both ends and the listening socket, now."""
        self.closed = True
        tx, self._tx = self._tx, None
        client, self._client = self._client, None
        if tx is not None:
            tx.disconnect(graceful=False)
        if client is not None:
            client.disconnect(graceful=False)
        if self._server is not None:
            self._server.close()

    # --- the server side's callbacks -----------------------------------------------------------
    def _server_connected(self, transport: picows.WSTransport) -> None:
        if self.closed or self._tx is not None:  # one client only: ours
            transport.disconnect(graceful=False)
            return
        self._tx = transport

    def _server_disconnected(self, transport: picows.WSTransport) -> None:
        if self._tx is transport:
            self._tx = None


__all__ = ["WARM_HOST", "WARM_PERIOD_US", "Warmer", "loopback_tls", "warm_frame"]
