"""First-byte receive timestamps for HTTP requests, from the kernel where possible.

Why this shape (measured on Linux 6.x, see tests/exchange/test_timestamps.py):

* ``ioctl(SIOCGSTAMPNS)`` on a TCP socket fails with ENOENT, before and after the read: the
  TCP receive path does not maintain the socket's last-packet stamp that the ioctl reports.
* ``SO_TIMESTAMPNS`` + ``recvmsg`` does work for TCP: each read returns an
  ``SCM_TIMESTAMPNS`` control message with the CLOCK_REALTIME time at which the kernel received
  the data (measured: ~20 µs after the client's send on loopback, independent of how late the
  event loop reads it). For a read that drains several segments Linux reports the last one's
  time, so a stamp is never earlier than the true arrival.

So the listening socket is a :class:`StampingListener` whose ``accept`` hands out
:class:`StampingSocket` objects; those enable ``SO_TIMESTAMPNS`` and implement ``recv`` /
``recv_into`` (what asyncio's selector transports call, plain and TLS) with ``recvmsg``,
storing the kernel time of the latest read in :data:`KERNEL_RX_NS` keyed by file descriptor.
:class:`StampingRequestHandler` (aiohttp's protocol) reads it in ``data_received`` — which
asyncio calls synchronously right after that read — and falls back to ``time.time_ns()`` at
the same point when there is no kernel time (uvloop does its own reads in C).

A request's first-byte stamp is the stamp of the first chunk of bytes that belongs to it: the
chunk that arrived while no request was in progress on the connection and holds a byte other
than CR/LF (RFC 9112 §2.2 lets a client send empty lines before a request-line; a stray CRLF
must not give the next request an early stamp). Pipelined requests that arrive in one segment
share that segment's stamp. A request whose first bytes arrive in the same segment as the end
of the previous request's *body* gets the next chunk's stamp (later, never earlier, than the
truth).

A request's complete stamp is the stamp of the chunk that completed it: the one in which the
parser finished its head and, for a request with a body, the one that delivered the body's
last byte. A client that writes one byte early gets an early first-byte stamp, never an early
complete stamp.

The simulated WAN (:mod:`.wan`, settings ``wan_one_way_ms`` / ``wan_jitter_ms``) sits here too:
when the server carries a :class:`~.wan.WanModel` (``StampingServer.wan``), each chunk is stamped
as it comes off the socket and handed to the parser at its simulated arrival (FIFO), the
request's ``RxStamp.arrival_ns`` is that arrival for the chunk that completed it, and the
connection's transport is a :class:`~.wan.DelayedTransport` (every write delayed, FIFO). A
connection lost while chunks are still on the simulated wire is reported to aiohttp after them:
what a client sent before closing still arrives. Without a WAN ``arrival_ns`` stays 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web_protocol, web_server
from aiohttp.http import RawRequestMessage

from .wan import DelayedTransport, DelayLine, Link, WanModel

SO_TIMESTAMPNS: int = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS: int = getattr(socket, "SCM_TIMESTAMPNS", SO_TIMESTAMPNS)
_CMSG_SPACE = socket.CMSG_SPACE(16) if hasattr(socket, "CMSG_SPACE") else 0
_TIMESPEC = struct.Struct("@qq")

# fd -> CLOCK_REALTIME ns of the most recent read on that socket (kernel receive time)
KERNEL_RX_NS: dict[int, int] = {}


def _kernel_ns(ancdata: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = _TIMESPEC.unpack_from(data)
            return sec * 1_000_000_000 + nsec
    return None


class StampingSocket(socket.socket):
    """An accepted TCP socket whose reads record the kernel receive time."""

    def enable(self) -> bool:
        try:
            self.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            return False
        return True

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data, ancdata, _, _ = self.recvmsg(bufsize, _CMSG_SPACE, flags)
        self._note(_kernel_ns(ancdata))
        return data

    def _note(self, ns: int | None) -> None:
        # Always reflect the latest read: a read without a stamp must not leave an older one.
        if ns is not None:
            KERNEL_RX_NS[self.fileno()] = ns
        else:
            KERNEL_RX_NS.pop(self.fileno(), None)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer)
        if nbytes:
            view = view[:nbytes]
        n, ancdata, _, _ = self.recvmsg_into([view], _CMSG_SPACE, flags)
        self._note(_kernel_ns(ancdata))
        return n

    def close(self) -> None:
        with contextlib.suppress(OSError):
            KERNEL_RX_NS.pop(self.fileno(), None)
        super().close()


class StampingListener(socket.socket):
    """A listening socket whose ``accept`` returns :class:`StampingSocket` objects."""

    def accept(self) -> tuple[socket.socket, Any]:
        fd, addr = self._accept()  # type: ignore[attr-defined]
        sock = StampingSocket(self.family, self.type, self.proto, fileno=fd)
        if socket.getdefaulttimeout() is None and self.gettimeout():
            sock.setblocking(True)
        sock.enable()
        return sock, addr


def make_listener(host: str, port: int) -> StampingListener:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = StampingListener(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Enabled on the listener too: Linux stamps packets only while some socket asks for
        # it, and switches that on lazily (a deferred static key). Holding it on for the
        # listener's lifetime means the first packet of each new connection is stamped.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.bind((host, port))
        sock.listen(512)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def wait_kernel_stamping(limit_s: float = 0.5) -> bool:
    """Wait until the kernel stamps received TCP packets (True), or give up (False).

    Probes with a throwaway loopback TCP pair: send one byte, look for SCM_TIMESTAMPNS. Right
    after the first socket in the system enables timestamps, Linux may take a moment to turn
    packet stamping on.
    """
    if not _CMSG_SPACE:
        return False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        with socket.create_connection(srv.getsockname(), timeout=1) as cli:
            conn, _ = srv.accept()
            with conn:
                conn.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                conn.settimeout(1)
                while True:
                    cli.sendall(b"x")
                    _, ancdata, _, _ = conn.recvmsg(16, _CMSG_SPACE)
                    if _kernel_ns(ancdata) is not None:
                        return True
                    if loop.time() > deadline:
                        return False
                    await asyncio.sleep(0.001)


@dataclass(slots=True)
class RxStamp:
    """When one HTTP request arrived (ns, CLOCK_REALTIME; kernel stamps where available)."""

    first_ns: int  # the first chunk that belongs to the request
    source: str  # "kernel" or "user": how first_ns was taken
    complete_ns: int = 0  # the chunk that completed head + body; 0 while the body is arriving
    # the simulated arrival (.wan) of that completing chunk, CLOCK_REALTIME ns; 0 without a WAN
    arrival_ns: int = 0


def _only_crlf(data: bytes) -> bool:
    """Empty lines only (checks the first byte before copying anything)."""
    return data[0] in (13, 10) and not data.strip(b"\r\n")


class StampingRequestHandler(web_protocol.RequestHandler):
    """aiohttp's HTTP protocol, plus first-byte and complete stamps for every parsed request."""

    __slots__ = ("_fd", "_rx_body", "_rx_line", "_rx_link", "_rx_start", "_wan", "rx_stamps")

    def connection_made(self, transport: Any) -> None:
        wan: WanModel | None = getattr(self._manager, "wan", None)
        self._wan = wan
        self._rx_link: Link | None = None
        self._rx_line: DelayLine | None = None
        if wan is not None:
            transport = DelayedTransport(transport, wan)  # outbound: every write delayed
            self._rx_link = wan.link()
            self._rx_line = DelayLine(self._loop)
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        self._fd = sock.fileno() if sock is not None else -1
        self._rx_start: tuple[int, str] | None = None
        # the latest request whose body is still arriving, and its payload stream
        self._rx_body: tuple[RxStamp, Any] | None = None
        # one RxStamp per parsed request, in arrival order; aiohttp runs the requests of one
        # connection strictly in order, so the exchange's middleware pops from the left.
        self.rx_stamps: deque[RxStamp] = deque()

    def data_received(self, data: bytes) -> None:
        if not data:
            super().data_received(data)
            return
        user_ns = time.time_ns()
        kernel_ns = KERNEL_RX_NS.get(self._fd)
        # A kernel stamp is trusted only if it is not older than 1 s (a stale entry would
        # mean our recv wrapper was bypassed, e.g. by uvloop).
        if kernel_ns is not None and 0 <= user_ns - kernel_ns < 1_000_000_000:
            stamp = (kernel_ns, "kernel")
        else:
            stamp = (user_ns, "user")
        line, link, wan = self._rx_line, self._rx_link, self._wan
        if (
            line is not None
            and link is not None
            and wan is not None
            and (wan.active or line.pending)
        ):
            # inbound WAN: parsed at its simulated arrival, after the chunks before it
            due = link.due_ns(stamp[0])
            line.push(due, self._feed, data, stamp, due)
            return
        self._feed(data, stamp, 0)

    def _feed(self, data: bytes, stamp: tuple[int, str], arrival_ns: int) -> None:
        """Parse one chunk that came off the socket at ``stamp``; ``arrival_ns``: its simulated
        arrival (CLOCK_REALTIME ns; now or just before), 0 without a WAN."""
        body = self._rx_body
        if self._rx_start is None and body is None and not _only_crlf(data):
            self._rx_start = stamp
        before = len(self._messages)
        super().data_received(data)
        if body is not None and body[1].is_eof():
            body[0].complete_ns = stamp[0]  # this chunk carried the body's last byte
            body[0].arrival_ns = arrival_ns
            self._rx_body = None
        new = list(self._messages)[before:] if len(self._messages) > before else []
        for i, (msg, payload) in enumerate(new):
            if not isinstance(msg, RawRequestMessage):
                continue  # answered by aiohttp itself, never reaches the middleware
            first = self._rx_start if i == 0 and self._rx_start is not None else stamp
            rx = RxStamp(first[0], first[1])
            if payload.is_eof():
                rx.complete_ns = stamp[0]
                rx.arrival_ns = arrival_ns
            else:
                self._rx_body = (rx, payload)
            self.rx_stamps.append(rx)
        if new:
            self._rx_start = None

    def connection_lost(self, exc: BaseException | None) -> None:
        line = self._rx_line
        if line is not None and line.pending:
            # the bytes still on the simulated wire arrive first, then the loss
            line.push(0, self._lost_after_arrivals, exc, 0)
            return
        self._lost(exc)

    def _lost_after_arrivals(self, exc: BaseException | None, tries: int) -> None:
        """The deferred loss: once every request that arrived has reached the exchange's
        middleware (aiohttp drops a parsed request whose connection is lost before it starts,
        and a venue does not), or after ~2 s."""
        if (self._messages or self.rx_stamps) and tries < 2000:
            self._loop.call_later(0.001, self._lost_after_arrivals, exc, tries + 1)
            return
        self._lost(exc)

    def _lost(self, exc: BaseException | None) -> None:
        self.rx_stamps.clear()
        self._rx_body = None
        super().connection_lost(exc)


# The stamping protocol relies on two aiohttp internals: ``Server._kwargs`` and the
# ``RequestHandler._messages`` queue. If a future aiohttp drops them, the exchange still runs
# with plain aiohttp protocols and stamps requests in its middleware ("middleware" source).
STAMPING_SUPPORTED = "_messages" in getattr(web_protocol.RequestHandler, "__slots__", ()) and (
    "_kwargs" in web_server.Server.__init__.__code__.co_names
)


class StampingServer(web_server.Server):
    """aiohttp's Server, producing :class:`StampingRequestHandler` protocols."""

    def __call__(self) -> web_protocol.RequestHandler:
        return StampingRequestHandler(self, loop=self._loop, **self._kwargs)
