"""The in-process integration tests run on uvloop, as ``sniper run`` does (``conftest.py``)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import uvloop

from sniper.exchange import EmbeddedExchange


async def test_an_integration_test_and_its_exchange_run_on_uvloop(ex: EmbeddedExchange) -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, uvloop.Loop)
    # the exchange fixture serves on the same loop: a request from here is answered there
    url = urlsplit(ex.rest_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(b"GET /api/v2/public/time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
