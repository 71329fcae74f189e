"""Notifications over real sockets to receivers on 127.0.0.1: the right content arrives (generic
JSON, Discord- and Slack-formatted bodies, Telegram's sendMessage through TELEGRAM_API_URL);
no secret in any request or log line; a receiver that hangs, answers 500 or garbage, or is not
listening costs one WARNING, never an exception, and ``drain`` keeps its bound."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from sniper.config import Config, load_config
from sniper.live.notify import EVENTS, Destination, Notifier

API_KEY = "bg_key_notify_0123456789"
API_SECRET = "secret-notify-0123456789abcdef"
PASSPHRASE = "pass-phrase-notify-42"
BOT_TOKEN = "987654321:AAHnotifyTelegramBotToken_abcdefghij"
HOOK_PATH = "/api/webhooks/112233445566/Tok3n-Webhook_SecretPart_xyz"
SECRETS = (API_KEY, API_SECRET, PASSPHRASE, BOT_TOKEN)

FIELDS: dict[str, dict[str, Any]] = {
    "armed": {"amount": "1000", "size": "1000", "mode": "classic", "client_oid": "snp-1"},
    "sold": {
        "order_id": "42",
        "client_oid": "snp-1",
        "channel": "ws",
        "filled_qty": "1000",
        "price_avg": "0.0123",
        "quote_volume": "12.3",
        "detect_to_written_us": 11.8,
        "written_to_ack_ms": 42.25,
    },
    "partial": {
        "order_id": "42",
        "client_oid": "snp-1",
        "size": "1000",
        "filled_qty": "400",
        "remaining_qty": "600",
        "rest": "resting at the floor",
    },
    "failed": {"client_oid": "snp-1", "code": "43012", "message": "balance", "exit_code": 3},
    "unconfirmed": {"client_oid": "snp-1", "message": "may have executed", "exit_code": 4},
}


@dataclass
class Request:
    method: str
    path: str  # raw path with the query
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An aiohttp server on 127.0.0.1 that records every request. Telegram-style paths
    (``/bot<token>/sendMessage``) get a Bot API answer, every other path ``status``/``reply``."""

    status: int = 204
    reply: bytes = b""
    telegram_reply: bytes = b'{"ok":true,"result":{"message_id":1}}'
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            Request(request.method, request.raw_path, dict(request.headers), await request.read())
        )
        if request.path.startswith("/bot"):
            return web.Response(body=self.telegram_reply, content_type="application/json")
        return web.Response(status=self.status, body=self.reply or None)

    def url(self, path: str = HOOK_PATH) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def by_path(self, prefix: str) -> list[Request]:
        return [r for r in self.requests if r.path.startswith(prefix)]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    rec.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield rec
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def raw_server(answer: bytes | None) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 that reads a request and writes ``answer`` raw then closes
    (garbage), or (None) never answers (hangs)."""
    got: list[bytes] = []
    writers: list[asyncio.StreamWriter] = []
    forever = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(Exception):
            got.append(await reader.read(65536))
            if answer is None:
                await forever.wait()
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, got
    finally:
        server.close()
        for w in writers:
            w.close()
        forever.set()
        await server.wait_closed()


def free_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_config(tmp_path: Path, **env: str) -> Config:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    base = {
        "BITGET_API_KEY": API_KEY,
        "BITGET_SECRET_KEY": API_SECRET,
        "BITGET_PASSPHRASE": PASSPHRASE,
        "TARGET_TOKEN": "PAWS/USDT",
        "COIN_AMOUNT": "1000",
    }
    return load_config(env_file=empty, environ={**base, **env})


def warnings_of(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.levelno >= logging.WARNING]


def assert_no_secret_in_logs(records: list[logging.LogRecord], *extra: str) -> None:
    for record in records:
        text = record.getMessage()
        for secret in (*SECRETS, HOOK_PATH, "Tok3n", *extra):
            assert secret not in text, (secret, text)


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Every context the loop's exception handler gets (a task that raised and was never
    awaited would land here)."""
    errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    try:
        yield errors
    finally:
        loop.set_exception_handler(previous)


# =================================================================================================
# the right content arrives
async def test_generic_json_every_event(
    tmp_path: Path, receiver: Receiver, log_records: list[logging.LogRecord]
) -> None:
    cfg = make_config(tmp_path, NOTIFY_URL=receiver.url())
    notifier = Notifier.from_config(cfg)
    assert notifier.describe() == f"JSON webhook at http://127.0.0.1:{receiver.port}"
    for event in EVENTS:
        notifier.notify(event, FIELDS[event])
    assert await notifier.drain(5.0) == 0
    assert len(receiver.requests) == len(EVENTS)
    docs = {r.json()["event"]: r for r in receiver.requests}
    assert set(docs) == set(EVENTS)
    for event, req in docs.items():
        assert req.method == "POST" and req.path == HOOK_PATH
        assert req.headers["Content-Type"] == "application/json"
        assert req.headers["User-Agent"].startswith("sniper/")
        doc = req.json()
        assert doc["target"] == "PAWSUSDT" and doc["source"] == "sniper"
        for key, value in FIELDS[event].items():
            assert doc[key] == value
    sold = docs["sold"].json()["text"]
    assert sold.startswith("sniper SOLD 1000 PAWS on PAWSUSDT at avg 0.0123 USDT")
    assert "orderId: 42" in sold and "clientOid: snp-1" in sold and "fired by: ws" in sold
    unconfirmed = docs["unconfirmed"].json()["text"]
    assert "clientOid snp-1" in unconfirmed and "check your orders" in unconfirmed
    assert sorted(notifier.delivered) == sorted((e, "json") for e in EVENTS)
    assert not notifier.failures and not warnings_of(log_records)
    assert_no_secret_in_logs(log_records)


@pytest.mark.parametrize(("fmt", "key"), [("discord", "content"), ("slack", "text")])
async def test_discord_and_slack_bodies_arrive(
    tmp_path: Path, receiver: Receiver, fmt: str, key: str
) -> None:
    """The suite reaches loopback only: the formats are forced here (auto-detection of the
    real hosts is unit-tested on the URL)."""
    receiver.status, receiver.reply = (204, b"") if fmt == "discord" else (200, b"ok")
    cfg = make_config(tmp_path, NOTIFY_URL=receiver.url(), NOTIFY_FORMAT=fmt)
    notifier = Notifier.from_config(cfg)
    notifier.notify("sold", FIELDS["sold"])
    notifier.notify("failed", FIELDS["failed"])
    await notifier.drain(5.0)
    texts = sorted(r.json()[key] for r in receiver.requests)
    assert len(texts) == 2
    assert texts[0].startswith("sniper FAILED on PAWSUSDT: nothing was sold")
    assert texts[1].startswith("sniper SOLD 1000 PAWS on PAWSUSDT")
    assert not notifier.failures


async def test_telegram_via_api_url(
    tmp_path: Path, receiver: Receiver, log_records: list[logging.LogRecord]
) -> None:
    cfg = make_config(
        tmp_path,
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_CHAT_ID="-1001234567890",
        TELEGRAM_API_URL=receiver.url("/"),
    )
    notifier = Notifier.from_config(cfg)
    for event in EVENTS:
        notifier.notify(event, FIELDS[event])
    await notifier.drain(5.0)
    assert len(receiver.requests) == len(EVENTS)
    for req in receiver.requests:
        assert req.method == "POST" and req.path == f"/bot{BOT_TOKEN}/sendMessage"
        doc = req.json()
        assert doc["chat_id"] == "-1001234567890" and doc["disable_web_page_preview"] is True
        assert BOT_TOKEN not in req.body.decode()  # the token is in the Bot API path only
    texts = " ".join(r.json()["text"] for r in receiver.requests)
    assert "sniper armed: sell 1000 PAWS on PAWSUSDT" in texts
    assert "PARTLY SOLD 400 of 1000 PAWS" in texts
    assert sorted(notifier.delivered) == sorted((e, "telegram") for e in EVENTS)
    assert_no_secret_in_logs(log_records)


async def test_both_destinations_and_no_secret_anywhere(
    tmp_path: Path, receiver: Receiver, log_records: list[logging.LogRecord]
) -> None:
    """Webhook and Telegram together: each gets every event; no request carries the API
    credentials, the webhook never sees the bot token, Telegram never sees the webhook URL —
    even when a field (by a bug) holds them."""
    cfg = make_config(
        tmp_path,
        NOTIFY_URL=receiver.url(),
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_CHAT_ID="@mychannel",
        TELEGRAM_API_URL=receiver.url("/tg"),
    )
    notifier = Notifier.from_config(cfg)
    leak = f"{API_KEY} {API_SECRET} {PASSPHRASE} {BOT_TOKEN} {receiver.url()}"
    for event in EVENTS:
        notifier.notify(event, {**FIELDS[event], "note": leak})
    await notifier.drain(5.0)
    hooks, tg = receiver.by_path(HOOK_PATH), receiver.by_path("/tg/bot")
    assert len(hooks) == len(tg) == len(EVENTS)
    for req in receiver.requests:
        sent = req.body.decode() + json.dumps(req.headers)
        for secret in (API_KEY, API_SECRET, PASSPHRASE, BOT_TOKEN, HOOK_PATH, "Tok3n"):
            assert secret not in sent
        assert "***" in sent
    for req in hooks:
        assert BOT_TOKEN not in req.path
    assert_no_secret_in_logs(log_records)


# =================================================================================================
# failures: one WARNING, never an exception, drain keeps its bound
async def test_http_500_is_one_warning(
    tmp_path: Path,
    receiver: Receiver,
    log_records: list[logging.LogRecord],
    loop_errors: list[dict[str, Any]],
) -> None:
    receiver.status, receiver.reply = 500, b"<html>Internal Server Error</html>"
    notifier = Notifier.from_config(make_config(tmp_path, NOTIFY_URL=receiver.url()))
    notifier.notify("sold", FIELDS["sold"])
    assert await notifier.drain(5.0) == 0
    assert len(receiver.requests) == 1  # never retried
    warned = warnings_of(log_records)
    assert len(warned) == 1
    assert warned[0].startswith(
        f"notification 'sold' to JSON webhook at {receiver.url('')} not delivered: HTTP 500"
    )
    assert "HTTP 500" in warned[0] and "the run is not affected" in warned[0]
    assert notifier.failures[0][:2] == ("sold", "json") and not notifier.delivered
    assert not loop_errors
    assert_no_secret_in_logs(log_records)


async def test_not_listening_is_one_warning(
    tmp_path: Path, log_records: list[logging.LogRecord], loop_errors: list[dict[str, Any]]
) -> None:
    port = free_port()
    cfg = make_config(
        tmp_path,
        NOTIFY_URL=f"http://127.0.0.1:{port}{HOOK_PATH}",
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_CHAT_ID="1",
        TELEGRAM_API_URL=f"http://127.0.0.1:{port}",
    )
    notifier = Notifier.from_config(cfg)
    started = time.monotonic()
    notifier.notify("failed", FIELDS["failed"])
    assert await notifier.drain(5.0) == 0
    assert time.monotonic() - started < 2.0
    warned = warnings_of(log_records)
    assert len(warned) == 2  # one per destination
    assert all("cannot connect" in w for w in warned)
    assert any(w.startswith("notification 'failed' to Telegram chat 1 via http") for w in warned)
    assert not loop_errors
    assert_no_secret_in_logs(log_records)


async def test_hanging_receiver_times_out(
    tmp_path: Path, log_records: list[logging.LogRecord], loop_errors: list[dict[str, Any]]
) -> None:
    async with raw_server(None) as (port, got):
        cfg = make_config(
            tmp_path, NOTIFY_URL=f"http://127.0.0.1:{port}{HOOK_PATH}", NOTIFY_TIMEOUT_S="0.3"
        )
        notifier = Notifier.from_config(cfg)
        started = time.monotonic()
        notifier.notify("sold", FIELDS["sold"])
        assert time.monotonic() - started < 0.05  # notify never waits for the network
        assert notifier.pending == 1
        assert await notifier.drain(5.0) == 0  # the request's own bound ended it
        elapsed = time.monotonic() - started
    assert 0.25 < elapsed < 2.0
    assert got and got[0].startswith(b"POST " + HOOK_PATH.encode())
    warned = warnings_of(log_records)
    assert len(warned) == 1 and "no answer within 0.3 s" in warned[0]
    assert not loop_errors
    assert_no_secret_in_logs(log_records)


async def test_drain_keeps_its_bound(
    tmp_path: Path, log_records: list[logging.LogRecord], loop_errors: list[dict[str, Any]]
) -> None:
    """A request bound longer than the drain: the drain cancels it when its own time is up."""
    async with raw_server(None) as (port, _got):
        cfg = make_config(
            tmp_path,
            NOTIFY_URL=f"http://127.0.0.1:{port}{HOOK_PATH}",
            TELEGRAM_BOT_TOKEN=BOT_TOKEN,
            TELEGRAM_CHAT_ID="1",
            TELEGRAM_API_URL=f"http://127.0.0.1:{port}",
            NOTIFY_TIMEOUT_S="30",
        )
        notifier = Notifier.from_config(cfg)
        notifier.notify("unconfirmed", FIELDS["unconfirmed"])
        await asyncio.sleep(0.1)  # both requests written, both waiting
        started = time.monotonic()
        assert await notifier.drain(0.3) == 2
        assert time.monotonic() - started < 1.0
        assert notifier.pending == 0
    warned = warnings_of(log_records)
    assert len(warned) == 2 and all("cancelled at the end of the run" in w for w in warned)
    gc.collect()  # an unclosed session or connection would warn (an error under this suite)
    await asyncio.sleep(0)
    assert not loop_errors
    assert_no_secret_in_logs(log_records)


@pytest.mark.parametrize(
    "answer",
    [
        b"garbage that is no HTTP at all\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",  # truncated body
        b"",  # closed without a byte
    ],
)
async def test_garbage_reply_is_one_warning(
    tmp_path: Path,
    answer: bytes,
    log_records: list[logging.LogRecord],
    loop_errors: list[dict[str, Any]],
) -> None:
    async with raw_server(answer) as (port, _got):
        cfg = make_config(tmp_path, NOTIFY_URL=f"http://127.0.0.1:{port}{HOOK_PATH}")
        notifier = Notifier.from_config(cfg)
        notifier.notify("sold", FIELDS["sold"])
        assert await notifier.drain(5.0) == 0
    warned = warnings_of(log_records)
    assert len(warned) == 1 and "notification 'sold' to JSON webhook" in warned[0]
    assert not notifier.delivered
    assert not loop_errors
    assert_no_secret_in_logs(log_records)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b'{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}', "chat not"),
        (b"<html>not the bot api</html>", "not a Bot API answer"),
        (b"", "not a Bot API answer"),
    ],
)
async def test_telegram_refusal_is_one_warning(
    tmp_path: Path,
    receiver: Receiver,
    reply: bytes,
    expected: str,
    log_records: list[logging.LogRecord],
) -> None:
    receiver.telegram_reply = reply
    cfg = make_config(
        tmp_path,
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_CHAT_ID="1",
        TELEGRAM_API_URL=receiver.url("/"),
    )
    notifier = Notifier.from_config(cfg)
    notifier.notify("armed", FIELDS["armed"])
    await notifier.drain(5.0)
    warned = warnings_of(log_records)
    assert len(warned) == 1 and expected in warned[0]
    assert_no_secret_in_logs(log_records)


async def test_a_failing_notifier_does_not_change_the_outcome(
    tmp_path: Path, loop_errors: list[dict[str, Any]]
) -> None:
    """A run-shaped caller: notify on the way, drain at the end, its own result untouched."""
    notifier = Notifier([Destination.webhook(f"http://127.0.0.1:{free_port()}/h")], timeout_s=0.5)

    async def run() -> str:
        notifier.notify("armed", FIELDS["armed"])
        await asyncio.sleep(0)
        notifier.notify("sold", FIELDS["sold"])
        return "sold"

    outcome = await run()
    await notifier.drain(2.0)
    assert outcome == "sold" and len(notifier.failures) == 2
    assert not loop_errors
