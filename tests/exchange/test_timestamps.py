"""The measurement clock: kernel first-byte stamps, listing ticker stamps, TLS mode."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import socket
import sys
import time
from typing import Any

import aiohttp
import pytest

from sniper.exchange import net

Api = Any
ExchangeFactory = Any

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="SO_TIMESTAMPNS probe is Linux")


@linux_only
def test_kernel_timestamp_sources_on_tcp() -> None:
    """Why net.py uses recvmsg: SIOCGSTAMPNS gives nothing for TCP, SO_TIMESTAMPNS cmsg does."""
    siocgstampns = 0x8907
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        with socket.create_connection(srv.getsockname()) as cli:
            conn, _ = srv.accept()
            with conn:
                conn.setsockopt(socket.SOL_SOCKET, net.SO_TIMESTAMPNS, 1)
                sent = time.time_ns()
                cli.sendall(b"x")
                time.sleep(0.02)
                with pytest.raises(OSError) as info:
                    fcntl.ioctl(conn.fileno(), siocgstampns, b"\0" * 16)
                assert info.value.errno == errno.ENOENT
                data, anc, _, _ = conn.recvmsg(16, socket.CMSG_SPACE(16))
                read = time.time_ns()
                kernel = net._kernel_ns(anc)
                assert data == b"x" and kernel is not None
                # the kernel stamp is the arrival (~µs after send), not the read (20 ms later)
                assert sent <= kernel < sent + 10_000_000 < read


async def test_stamping_protocol_is_active(ex: Any) -> None:
    """Fails loudly if an aiohttp upgrade removed the internals net.py hooks into."""
    assert net.STAMPING_SUPPORTED
    assert ex.kernel_stamping == (sys.platform == "linux")


async def test_first_byte_is_the_first_segment(ex: Any) -> None:
    """A request split over two segments is stamped at its first segment, by the kernel."""
    reader, writer = await asyncio.open_connection("127.0.0.1", ex.port)
    try:
        before = time.time_ns()
        writer.write(b"GET /api/v2/public/time HTTP/1.1\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        between = time.time_ns()
        writer.write(b"Host: x\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert head.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
        await writer.wait_closed()
    (rec,) = ex.records.requests
    expected = "kernel" if sys.platform == "linux" else "user"
    assert rec.first_byte_source == expected
    assert before <= rec.first_byte_ns < between


async def test_post_body_in_later_segment_keeps_header_stamp(ex: Any) -> None:
    ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
    reader, writer = await asyncio.open_connection("127.0.0.1", ex.port)
    try:
        before = time.time_ns()
        writer.write(b"POST /api/v2/spot/trade/place-order HTTP/1.1\r\nHost: x\r\n")
        writer.write(b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        between = time.time_ns()
        writer.write(b"{}")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert head.startswith(b"HTTP/1.1 400")  # unsigned
        await reader.read(1000)
        writer.write(b"GET /api/v2/public/time HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    finally:
        writer.close()
        await writer.wait_closed()
    post, get = ex.records.requests
    assert before <= post.first_byte_ns < between
    assert get.first_byte_ns > between


async def test_listing_ticker_then_order_on_warm_connection(api: Api) -> None:
    """The latency pair: ticker written -> order first byte, both CLOCK_REALTIME."""
    ex = api.ex
    open_at = ex.server_time_ms() + 300
    await ex.list_symbol("PAWSUSDT", open_at_ms=open_at, price="0.0123", quantity_precision=2)
    reader, writer = await asyncio.open_connection("127.0.0.1", ex.port)
    # warm the connection
    writer.write(b"GET /api/v2/public/time HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    await reader.readexactly(length)
    try:
        async with api.session.ws_connect(ex.ws_url) as ws:
            await ws.send_str(api.sub_v2("PAWSUSDT"))
            assert (await api.recv_json(ws))["event"] == "subscribe"
            push = await api.recv_json(ws, 3.0)
            assert push["arg"]["instId"] == "PAWSUSDT"
            body = json.dumps(
                {"symbol": "PAWSUSDT", "side": "sell", "orderType": "market", "size": "100"}
            )
            path = "/api/v2/spot/trade/place-order"
            headers = api.headers("POST", path, body)
            raw = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            raw += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n" + body
            writer.write(raw.encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            assert head.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
        await writer.wait_closed()
    order = await ex.wait_for_order(timeout=1)
    ticker_ns = ex.records.listing_ticker_ns["PAWSUSDT"]
    assert open_at * 1_000_000 <= ticker_ns < open_at * 1_000_000 + 50_000_000
    assert ticker_ns < order.first_byte_ns < order.reply_ns  # type: ignore[operator]
    assert order.first_byte_ns - ticker_ns < 1_000_000_000


async def test_tls_mode(make_exchange: ExchangeFactory, api_for: Any) -> None:
    async with make_exchange(tls=True) as ex:
        assert ex.rest_url.startswith("https://127.0.0.1:")
        assert ex.ws_url.startswith("wss://") and ex.ws_url_v3.startswith("wss://")
        assert ex.ca_pem is not None and ex.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
        ctx = ex.client_ssl_context()
        connector = aiohttp.TCPConnector(ssl=ctx)
        async with aiohttp.ClientSession(connector=connector) as session:
            api = type(api_for(ex))(ex, session)
            status, body = await api.private("GET", "/api/v2/spot/account/assets")
            assert (status, body["code"]) == (200, "00000")
            async with session.ws_connect(ex.ws_url) as ws:
                await ws.send_str(api.sub_v2("BTCUSDT"))
                assert (await api.recv_json(ws))["event"] == "subscribe"
        expected = "kernel" if sys.platform == "linux" else "user"
        assert {r.first_byte_source for r in ex.records.requests} == {expected}
        # a client without the CA is refused
        async with aiohttp.ClientSession() as plain:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await plain.get(ex.rest_url + "/api/v2/public/time")


async def test_no_tls_has_no_ca(ex: Any) -> None:
    assert ex.ca_pem is None
    with pytest.raises(RuntimeError):
        ex.client_ssl_context()


async def test_stray_crlf_between_requests_does_not_start_a_stamp(ex: Any) -> None:
    """RFC 9112 §2.2 lets a client send empty lines before a request-line: a CRLF alone must not
    stamp the next request (it would look as if its first byte came early)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", ex.port)
    try:
        for lead in (b"\r\n", b"\r\n\r\n"):  # on a fresh connection, then between requests
            writer.write(lead)
            await writer.drain()
            await asyncio.sleep(0.05)
            between = time.time_ns()
            writer.write(b"GET /api/v2/public/time HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            rec = ex.records.requests[-1]
            assert rec.first_byte_ns >= between, "stamped by the stray CRLF"
            assert rec.complete_ns >= rec.first_byte_ns
    finally:
        writer.close()
        await writer.wait_closed()
    assert len(ex.records.requests) == 2


async def test_complete_stamp_is_the_last_byte(ex: Any) -> None:
    """A client that dribbles its first byte early gets an early first_byte_ns but not an early
    complete_ns: the request is complete only when its last byte (end of body) arrived."""
    ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
    reader, writer = await asyncio.open_connection("127.0.0.1", ex.port)
    try:
        before = time.time_ns()
        writer.write(b"P")  # one byte, early
        await writer.drain()
        await asyncio.sleep(0.05)
        mid = time.time_ns()
        writer.write(b"OST /api/v2/spot/trade/place-order HTTP/1.1\r\nHost: x\r\n")
        writer.write(b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{")
        await writer.drain()
        await asyncio.sleep(0.05)
        late = time.time_ns()
        writer.write(b"}")  # the last body byte
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert head.startswith(b"HTTP/1.1 400")  # unsigned
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        # a GET complete in one segment: first and complete from the same read
        writer.write(b"GET /api/v2/public/time HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    finally:
        writer.close()
        await writer.wait_closed()
    post, get = ex.records.requests
    assert before <= post.first_byte_ns < mid
    assert post.complete_ns >= late > post.first_byte_ns
    (order,) = ex.records.orders
    assert (order.first_byte_ns, order.complete_ns) == (post.first_byte_ns, post.complete_ns)
    assert get.complete_ns == get.first_byte_ns
