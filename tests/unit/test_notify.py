"""Notifications without a network: URL detection, the body of each event in each format,
scrubbing, the fields built from a run's result or error, the configuration (secrets masked),
and a notifier that can never raise into its caller."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sniper.config import load_config
from sniper.errors import ConfigError, OrderRejected, OrderUnconfirmed
from sniper.live.notify import (
    EVENTS,
    MAX_TEXT,
    Destination,
    Notifier,
    detect_format,
    failure_fields,
    message_text,
    request_body,
    resolve_format,
    result_fields,
    scrub,
)
from sniper.live.report import RunResult
from sniper.live.venue import OrderState
from sniper.log import setup_logging
from sniper.secrets import Secret

API_KEY = "bg_key_0123456789"
API_SECRET = "secret-0123456789abcdef"
PASSPHRASE = "pass-phrase-42"
BOT_TOKEN = "123456789:AAHsecretTelegramBotToken_abcdefghij"
DISCORD = "https://discord.com/api/webhooks/112233445566/Tok3n-Discord_SecretPart_xyz"
SLACK = "https://hooks.slack.com/services/T000/B000/XXXXslackSecretXXXX"
BASE_ENV = {
    "BITGET_API_KEY": API_KEY,
    "BITGET_SECRET_KEY": API_SECRET,
    "BITGET_PASSPHRASE": PASSPHRASE,
    "TARGET_TOKEN": "PAWSUSDT",
    "COIN_AMOUNT": "1000",
}

FILL = {
    "target": "PAWSUSDT",
    "base_coin": "PAWS",
    "quote_coin": "USDT",
    "order_id": "1234567890",
    "client_oid": "snp-0a1b2c",
    "channel": "ws",
    "size": "1000",
    "status": "filled",
    "filled_qty": "1000",
    "price_avg": "0.0123",
    "quote_volume": "12.3",
    "detect_to_written_us": 11.8,
    "written_to_ack_ms": 42.25,
    "attempts": 1,
    "accepted_via": "reply",
}
EVENT_FIELDS: dict[str, dict[str, Any]] = {
    "armed": {
        "target": "PAWSUSDT",
        "base_coin": "PAWS",
        "amount": "1000",
        "size": "1000",
        "mode": "classic",
        "client_oid": "snp-0a1b2c",
        "open_time": "2026-12-01 10:00:00.000Z",
    },
    "sold": FILL,
    "partial": {
        **FILL,
        "status": "partially_filled",
        "filled_qty": "400",
        "remaining_qty": "600",
        "rest": "resting at the floor",
        "floor_price": "0.01",
    },
    "failed": {
        "target": "PAWSUSDT",
        "client_oid": "snp-0a1b2c",
        "code": "43012",
        "message": "Insufficient balance (HTTP 400, code 43012)",
        "exit_code": 3,
    },
    "unconfirmed": {
        "target": "PAWSUSDT",
        "client_oid": "snp-0a1b2c",
        "message": "the order probably executed",
        "exit_code": 4,
    },
}
# What the text of each event must say (the facts a user acts on).
EXPECTED: dict[str, tuple[str, ...]] = {
    "armed": ("sniper armed: sell 1000 PAWS on PAWSUSDT", "clientOid: snp-0a1b2c", "opens: 2026"),
    "sold": (
        "sniper SOLD 1000 PAWS on PAWSUSDT at avg 0.0123 USDT, received 12.3 USDT",
        "orderId: 1234567890",
        "clientOid: snp-0a1b2c",
        "fired by: ws",
        "detect → written: 11.8 µs",
        "written → acknowledged: 42.25 ms",
    ),
    "partial": (
        "sniper PARTLY SOLD 400 of 1000 PAWS on PAWSUSDT at avg 0.0123 USDT, received 12.3 USDT;"
        " the rest (600 PAWS) resting at the floor",
        "floor: 0.01",
        "orderId: 1234567890",
    ),
    "failed": (
        "sniper FAILED on PAWSUSDT: nothing was sold",
        "Insufficient balance",
        "code: 43012",
        "exit code: 3",
    ),
    "unconfirmed": (
        "sniper UNCONFIRMED on PAWSUSDT: clientOid snp-0a1b2c was sent and may have executed",
        "check your orders on Bitget",
        "exit code: 4",
    ),
}


def test_events_are_the_five_of_the_issue() -> None:
    assert EVENTS == ("armed", "sold", "partial", "failed", "unconfirmed")
    assert set(EVENT_FIELDS) == set(EVENTS) == set(EXPECTED)


# =================================================================================================
# URL detection
@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (DISCORD, "discord"),
        ("https://discordapp.com/api/webhooks/1/abc", "discord"),
        ("https://canary.discord.com/api/webhooks/1/abc", "discord"),
        ("https://ptb.discord.com/api/webhooks/1/abc", "discord"),
        ("https://discord.com/api/v10/webhooks/1/abc", "discord"),
        ("https://DISCORD.com/api/webhooks/1/abc", "discord"),
        ("https://discord.com/channels/1/2", "json"),  # not a webhook
        ("https://evil.example/api/webhooks/1/abc", "json"),
        ("https://discord.com.evil.example/api/webhooks/1/abc", "json"),
        (SLACK, "slack"),
        ("https://hooks.slack.com/triggers/T1/2/3", "slack"),
        ("https://slack.com/api/chat.postMessage", "json"),
        ("https://example.com/hook", "json"),
        ("http://127.0.0.1:8080/api/webhooks/1/abc", "json"),
    ],
)
def test_detect_format(url: str, kind: str) -> None:
    assert detect_format(url) == kind
    assert resolve_format(url, "auto") == kind


@pytest.mark.parametrize("fmt", ["json", "discord", "slack"])
def test_format_override_wins(fmt: str) -> None:
    assert resolve_format("http://127.0.0.1:1/x", fmt) == fmt
    assert resolve_format(DISCORD, fmt) == fmt


def test_format_unknown_refused() -> None:
    with pytest.raises(ValueError, match="teams"):
        resolve_format(DISCORD, "teams")


def test_destination_shows_only_scheme_and_host() -> None:
    dest = Destination.webhook(DISCORD)
    assert dest.kind == "discord"
    assert dest.describe() == "Discord webhook at https://discord.com"
    for text in (dest.describe(), repr(dest), str(dest)):
        assert "Tok3n" not in text and "112233445566" not in text
    assert dest.url.reveal() == DISCORD
    slack = Destination.webhook(SLACK)
    assert slack.describe() == "Slack webhook at https://hooks.slack.com"
    assert "slackSecret" not in repr(slack)
    plain = Destination.webhook("http://127.0.0.1:8099/hooks/abc?token=zzzz-secret", "auto")
    assert plain.describe() == "JSON webhook at http://127.0.0.1:8099"


def test_telegram_destination_url_and_description() -> None:
    dest = Destination.telegram(BOT_TOKEN, "-1001234567890", "https://api.telegram.org/")
    assert dest.url.reveal() == f"https://api.telegram.org/bot{BOT_TOKEN}/sendMessage"
    assert dest.describe() == "Telegram chat -1001234567890 via https://api.telegram.org"
    assert BOT_TOKEN not in repr(dest) and "AAHsecret" not in repr(dest)


# =================================================================================================
# bodies: each event in each format
@pytest.mark.parametrize("event", EVENTS)
def test_json_body(event: str) -> None:
    doc = json.loads(request_body("json", event, EVENT_FIELDS[event], sent_at="T"))
    assert doc["event"] == event
    assert doc["source"] == "sniper" and doc["sent_at"] == "T" and doc["version"]
    for key, value in EVENT_FIELDS[event].items():
        assert doc[key] == value  # every event field, as given
    for snippet in EXPECTED[event]:
        assert snippet in doc["text"]


@pytest.mark.parametrize("event", EVENTS)
def test_discord_body(event: str) -> None:
    doc = json.loads(request_body("discord", event, EVENT_FIELDS[event]))
    assert set(doc) == {"content", "allowed_mentions"}
    assert doc["allowed_mentions"] == {"parse": []}  # a message can never ping @everyone
    for snippet in EXPECTED[event]:
        assert snippet in doc["content"]


@pytest.mark.parametrize("event", EVENTS)
def test_slack_body(event: str) -> None:
    doc = json.loads(request_body("slack", event, EVENT_FIELDS[event]))
    assert set(doc) == {"text"}
    for snippet in EXPECTED[event]:
        assert snippet in doc["text"]


@pytest.mark.parametrize("event", EVENTS)
def test_telegram_body(event: str) -> None:
    doc = json.loads(request_body("telegram", event, EVENT_FIELDS[event], chat_id="@mychan"))
    assert doc["chat_id"] == "@mychan"
    assert doc["disable_web_page_preview"] is True
    assert "parse_mode" not in doc  # plain text: nothing to escape, nothing to break
    for snippet in EXPECTED[event]:
        assert snippet in doc["text"]


def test_unknown_fields_are_passed_through() -> None:
    fields = {**FILL, "chunks": 3, "slippage_pct": -1.25, "open_to_first_fill_ms": 7.5}
    text = message_text("sold", fields)
    assert "chunks=3" in text
    assert "slippage vs first best bid: -1.25 %" in text
    assert "open → first fill: 7.5 ms" in text
    doc = json.loads(request_body("json", "sold", fields))
    assert doc["chunks"] == 3 and doc["slippage_pct"] == -1.25


def test_reserved_keys_cannot_be_overridden_by_fields() -> None:
    doc = json.loads(request_body("json", "sold", {**FILL, "event": "armed", "text": "x"}))
    assert doc["event"] == "sold" and doc["text"].startswith("sniper SOLD")


def test_slack_text_escaped() -> None:
    doc = json.loads(request_body("slack", "failed", {"message": "<!channel> a & b > c"}))
    assert "&lt;!channel&gt; a &amp; b &gt; c" in doc["text"]
    assert "<" not in doc["text"]


@pytest.mark.parametrize("kind", ["discord", "telegram", "slack", "json"])
def test_text_clipped_to_the_destination_limit(kind: str) -> None:
    body = request_body(kind, "failed", {"message": "x" * 10_000}, chat_id="1")
    doc = json.loads(body)
    text = {"discord": "content", "telegram": "text", "slack": "text", "json": "text"}[kind]
    assert len(doc[text]) == MAX_TEXT[kind]
    assert doc[text].endswith("…")


def test_non_finite_and_odd_values_give_valid_json() -> None:
    fields = {
        "a": float("nan"),
        "b": float("inf"),
        "c": Decimal("1.50"),
        "d": Decimal("NaN"),
        "e": b"\xffbytes",
        "f": {"nested": (1, 2)},
        "g": ValueError("boom"),
    }
    doc = json.loads(request_body("json", "sold", fields))
    assert doc["a"] is None and doc["b"] is None and doc["c"] == "1.50" and doc["d"] is None
    assert doc["e"] == "\ufffdbytes" and doc["f"] == {"nested": [1, 2]} and doc["g"] == "boom"


def test_scrub_removes_secrets_everywhere() -> None:
    secrets = (API_SECRET, API_KEY)
    value = {
        f"key {API_KEY}": [f"a{API_SECRET}b", {"deep": (API_KEY,)}],
        "state": OrderState("1", API_KEY, "filled", "1", "1", "1", "1"),
        "masked": Secret(PASSPHRASE),
    }
    flat = json.dumps(scrub(value, secrets))
    assert API_KEY not in flat and API_SECRET not in flat and PASSPHRASE not in flat
    assert "key ***" in flat and "a***b" in flat


@pytest.mark.parametrize("kind", ["json", "discord", "slack", "telegram"])
@pytest.mark.parametrize("event", EVENTS)
def test_no_secret_in_any_body(kind: str, event: str) -> None:
    """Even a field that (by a bug) carried a credential leaves it behind."""
    leaky = {
        **EVENT_FIELDS[event],
        "message": f"oops {API_SECRET} / {PASSPHRASE} / {BOT_TOKEN}",
        API_KEY: "as a key",
    }
    body = request_body(
        kind, event, leaky, chat_id="1", secrets=(BOT_TOKEN, API_SECRET, PASSPHRASE, API_KEY)
    ).decode()
    for secret in (API_KEY, API_SECRET, PASSPHRASE, BOT_TOKEN):
        assert secret not in body


# =================================================================================================
# fields from the run
def test_result_fields_carry_the_fill_report() -> None:
    fill = OrderState("99", "snp-x", "filled", "1000", "1000", "12.3", "0.0123")
    result = RunResult(
        client_oid="snp-x",
        channel="poll",
        order_id="99",
        size="1000",
        detect_ns=1_000_000,
        written_ns=1_012_000,
        ack_ns=51_012_000,
        fill=fill,
        attempts=2,
        codes=["43115"],
    )
    f = result_fields(result, target="PAWSUSDT")
    assert f["order_id"] == "99" and f["client_oid"] == "snp-x" and f["channel"] == "poll"
    assert f["filled_qty"] == "1000" and f["price_avg"] == "0.0123" and f["quote_volume"] == "12.3"
    assert f["detect_to_written_us"] == 12.0
    assert f["written_to_ack_ms"] == 50.0 and f["fired_to_ack_ms"] == 50.0
    assert f["attempts"] == 2 and f["target"] == "PAWSUSDT" and f["status"] == "filled"
    unconfirmed_fill = RunResult("snp-y", "ws", "7", "5", 1, 2, fill=None)
    g = result_fields(unconfirmed_fill)
    assert g["filled_qty"] is None and g["status"] == "not confirmed yet"
    assert g["fired_to_ack_ms"] is None  # no retries: the same as written → acknowledged


def test_failure_fields() -> None:
    rejected = OrderRejected(400, "43012", "Insufficient balance", hint="not enough PAWS")
    f = failure_fields(rejected, client_oid="snp-x")
    assert f == {
        "client_oid": "snp-x",
        "code": "43012",
        "message": "not enough PAWS",
        "exit_code": 3,
    }
    unconfirmed = OrderUnconfirmed("clientOid snp-x: may have executed —\n check your orders")
    g = failure_fields(unconfirmed, client_oid="snp-x", target="PAWSUSDT")
    assert g["exit_code"] == 4 and g["code"] is None and g["target"] == "PAWSUSDT"
    assert g["message"] == "clientOid snp-x: may have executed — check your orders"
    assert "check your orders on Bitget" in g["action"]


# =================================================================================================
# configuration
def _cfg(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return load_config(env_file=empty, environ={**BASE_ENV, **env})


def test_config_defaults_off(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    assert cfg.notify_url is None and cfg.telegram_bot_token is None
    assert cfg.notify_format == "auto" and cfg.notify_timeout_s == 5.0
    assert cfg.telegram_api_url == "https://api.telegram.org"
    assert not Notifier.from_config(cfg).enabled
    assert Notifier.from_config(cfg).describe() == "off"


def test_config_secrets_masked(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        NOTIFY_URL=DISCORD,
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_CHAT_ID="-1001234567890",
        NOTIFY_TIMEOUT_S="2.5",
    )
    assert isinstance(cfg.notify_url, Secret) and cfg.notify_url.reveal() == DISCORD
    assert isinstance(cfg.telegram_bot_token, Secret)
    assert cfg.telegram_bot_token.reveal() == BOT_TOKEN
    assert cfg.notify_timeout_s == 2.5
    shown = repr(cfg) + str(cfg.describe())
    for secret in (DISCORD, "Tok3n", BOT_TOKEN, "AAHsecret"):
        assert secret not in shown
    notifier = Notifier.from_config(cfg)
    assert notifier.describe() == (
        "Discord webhook at https://discord.com, Telegram chat -1001234567890 via "
        "https://api.telegram.org"
    )
    assert notifier.timeout_s == 2.5


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"NOTIFY_URL": "ftp://discord.com/api/webhooks/1/Tok3nSecretValue"}, "NOTIFY_URL"),
        ({"NOTIFY_URL": "discord.com/api/webhooks/1/Tok3nSecretValue"}, "NOTIFY_URL"),
        ({"NOTIFY_URL": "https://discord.com:99999/api/webhooks/1/Tok3nSecretValue"}, "NOTIFY_URL"),
        ({"NOTIFY_URL": "https://discord.com/api/webhooks/1/Tok3n SecretValue"}, "NOTIFY_URL"),
        ({"NOTIFY_FORMAT": "teams", "NOTIFY_URL": "https://x.example/h"}, "NOTIFY_FORMAT"),
        ({"TELEGRAM_BOT_TOKEN": BOT_TOKEN}, "TELEGRAM_CHAT_ID"),
        ({"TELEGRAM_CHAT_ID": "12345"}, "TELEGRAM_BOT_TOKEN"),
        (
            {"TELEGRAM_BOT_TOKEN": "AAHsecretTelegram/../x", "TELEGRAM_CHAT_ID": "1"},
            "TELEGRAM_BOT_TOKEN",
        ),
        ({"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_CHAT_ID": "my chat"}, "TELEGRAM_CHAT_ID"),
        (
            {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_CHAT_ID": "1", "TELEGRAM_API_URL": "x"},
            "TELEGRAM_API_URL",
        ),
        ({"NOTIFY_TIMEOUT_S": "0"}, "NOTIFY_TIMEOUT_S"),
        ({"NOTIFY_TIMEOUT_S": "nan"}, "NOTIFY_TIMEOUT_S"),
    ],
)
def test_config_errors_name_the_variable_never_the_secret(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _cfg(tmp_path, **env)
    assert info.value.variable == variable
    text = str(info.value)
    for secret in ("Tok3nSecretValue", "Tok3n SecretValue", "AAHsecret", BOT_TOKEN):
        assert secret not in text


def test_config_error_shows_only_scheme_and_host(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _cfg(tmp_path, NOTIFY_URL="https://discord.com/api/webhooks/1/Tok3n SecretValue")
    assert "https://discord.com" in str(info.value)


@pytest.mark.parametrize("fmt", ["auto", "JSON", "discord", "Slack"])
def test_config_format_accepted(tmp_path: Path, fmt: str) -> None:
    cfg = _cfg(tmp_path, NOTIFY_URL="https://example.com/h", NOTIFY_FORMAT=fmt)
    assert cfg.notify_format == fmt.lower()


def test_config_warnings(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        NOTIFY_URL="http://hooks.example.net/h/Tok3nSecretValue",
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_CHAT_ID="@mychannel",
        TELEGRAM_API_URL="http://tg.example.net",
    )
    text = " | ".join(cfg.warnings)
    assert "NOTIFY_URL is http:// to hooks.example.net" in text
    assert "TELEGRAM_API_URL is http:// to tg.example.net" in text
    assert "Tok3nSecretValue" not in text and BOT_TOKEN not in text
    loopback = _cfg(tmp_path, NOTIFY_URL="http://127.0.0.1:9/h", TELEGRAM_API_URL="http://x.test")
    assert not loopback.warnings  # loopback is fine; an API URL without a token carries nothing
    stray = _cfg(tmp_path, NOTIFY_FORMAT="discord")
    assert any("NOTIFY_FORMAT is set but NOTIFY_URL is not" in w for w in stray.warnings)


# =================================================================================================
# the notifier never raises, and registers its secrets with the log filter
@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    got: list[logging.LogRecord] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            got.append(record)

    logger = logging.getLogger("sniper.notify")
    handler = _Collect(level=logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield got
    finally:
        logger.removeHandler(handler)


def test_notify_outside_a_loop_logs_and_returns(records: list[logging.LogRecord]) -> None:
    notifier = Notifier([Destination.webhook("http://127.0.0.1:9/h")])
    notifier.notify("armed", {"target": "PAWSUSDT"})  # no running loop: must not raise
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "notification armed not sent" in warnings[0].getMessage()


async def test_notify_with_bad_fields_never_raises(records: list[logging.LogRecord]) -> None:
    notifier = Notifier([Destination.webhook("http://127.0.0.1:9/h")])
    notifier.notify("sold", 42)  # type: ignore[arg-type]
    assert notifier.pending == 0
    assert [r.levelno for r in records] == [logging.WARNING]
    assert await notifier.drain(0.1) == 0


async def test_disabled_notifier_does_nothing() -> None:
    notifier = Notifier([])
    notifier.notify("sold", FILL)
    assert notifier.pending == 0 and not notifier.enabled
    assert await notifier.drain(0.0) == 0


def test_from_config_registers_every_secret_with_the_log_filter(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        NOTIFY_URL=DISCORD,
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_CHAT_ID="42",
    )
    Notifier.from_config(cfg)
    stream = io.StringIO()
    before = logging.getLogger("sniper")
    saved = (list(before.handlers), before.level, before.propagate)
    logger = setup_logging(stream=stream)
    try:
        logger.info("url %s", DISCORD)
        logger.info("path %s", "/api/webhooks/112233445566/Tok3n-Discord_SecretPart_xyz")
        logger.info("token %s", BOT_TOKEN)
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    out = stream.getvalue()
    assert "Tok3n" not in out and BOT_TOKEN not in out and "AAHsecret" not in out
    assert out.count("***") == 3


def test_from_config_context_and_redactions(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, NOTIFY_URL=SLACK, BITGET_DEMO="1")
    notifier = Notifier.from_config(cfg, mode="uta")
    assert notifier.context == {
        "target": "PAWSUSDT",
        "base_coin": "PAWS",
        "quote_coin": "USDT",
        "demo": True,
        "mode": "uta",
    }
    assert set(notifier._secrets) >= {API_KEY, API_SECRET, PASSPHRASE, SLACK}
