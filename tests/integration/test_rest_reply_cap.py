"""REST replies are read up to a cap (``MAX_REPLY_BYTES``): a longer body, streamed or declared,
is an ExchangeUnavailable ("reply larger than N bytes"), never a rejection, and is never
buffered whole. A local aiohttp server on 127.0.0.1 plays the misbehaving front door."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from sniper.config import load_config
from sniper.errors import ExchangeRejected, ExchangeUnavailable
from sniper.live.clock import ServerClock
from sniper.live.rest import MAX_REPLY_BYTES, ReplyTooLarge, RestClient
from sniper.live.venue import Call, make_venue

HUGE = 20 * 1024 * 1024
CHUNK = 64 * 1024
BASE = {
    "BITGET_API_KEY": "bg_KEYcapDISTINCT0001",
    "BITGET_SECRET_KEY": "SECRETcapDISTINCT000002",
    "BITGET_PASSPHRASE": "PASScapDISTINCT03",
    "TARGET_TOKEN": "PAWSUSDT",
    "COIN_AMOUNT": "1",
}


def envelope_of_size(size: int) -> bytes:
    """A valid success envelope exactly ``size`` bytes long."""
    head, tail = b'{"code":"00000","msg":"success","requestTime":1,"data":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


@dataclass
class Stream:
    written: int = 0  # bytes the handler managed to write
    finished: bool = False  # it wrote them all
    errors: list[str] = field(default_factory=list)


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Stream]]:
    stream = Stream()

    async def huge(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        if request.query.get("declared"):
            resp.content_length = HUGE
        await resp.prepare(request)
        chunk = b'{"code":"00000","data":"' + b"x" * (CHUNK - 24)
        try:
            while stream.written < HUGE:
                await resp.write(chunk)
                stream.written += len(chunk)
            stream.finished = True
        except (ConnectionError, OSError) as exc:  # the client hung up: what we want
            stream.errors.append(type(exc).__name__)
        return resp

    async def sized(request: web.Request) -> web.Response:
        return web.Response(
            body=envelope_of_size(int(request.query["n"])), content_type="application/json"
        )

    app = web.Application()
    app.router.add_get("/huge", huge)
    app.router.add_get("/sized", sized)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", stream
    finally:
        await runner.cleanup()


@pytest.fixture
async def client(server: tuple[str, Stream], tmp_path: Path) -> AsyncIterator[RestClient]:
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    config = load_config(env_file=env_file, environ={**BASE, "BITGET_REST_URL": server[0]})
    venue = make_venue("classic", config.target, config.base_coin)
    async with RestClient(config, ServerClock(), venue) as rest:
        yield rest


@pytest.mark.parametrize("declared", [False, True], ids=["streamed", "content-length"])
async def test_huge_reply_is_unavailable_and_never_buffered(
    server: tuple[str, Stream], client: RestClient, declared: bool
) -> None:
    stream = server[1]
    query = "declared=1" if declared else ""
    tracemalloc.start()
    try:
        with pytest.raises(ExchangeUnavailable) as info:
            await client.request(Call("GET", "/huge", query), signed=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(info.value, ReplyTooLarge)
    assert not isinstance(info.value, ExchangeRejected)  # an unusable answer, not a verdict
    assert f"reply larger than {MAX_REPLY_BYTES} bytes" in str(info.value)
    assert "/huge" in str(info.value)
    # the read stopped at the cap: the process never held the 20 MB (server included)
    assert peak < 2 * MAX_REPLY_BYTES, peak
    assert not stream.finished and stream.written < HUGE
    if declared:  # refused from the header: the body is not read at all
        assert peak < MAX_REPLY_BYTES // 2, peak


@pytest.mark.parametrize("size", [1024, MAX_REPLY_BYTES], ids=["small", "exactly-the-cap"])
async def test_replies_up_to_the_cap_are_read_whole(client: RestClient, size: int) -> None:
    env = await client.request(Call("GET", "/sized", f"n={size}"), signed=False)
    assert env.ok and env.http_status == 200
    assert isinstance(env.data, str) and len(env.data) > size - 100


async def test_one_byte_over_the_cap_is_refused_and_the_client_still_works(
    client: RestClient,
) -> None:
    with pytest.raises(ReplyTooLarge):
        await client.request(Call("GET", "/sized", f"n={MAX_REPLY_BYTES + 1}"), signed=False)
    env = await client.request(Call("GET", "/sized", "n=200"), signed=False)
    assert env.ok and json.loads(envelope_of_size(200))["data"] == env.data
