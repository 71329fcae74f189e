"""Notifications: ``armed``, ``sold``, ``partial``, ``failed`` and ``unconfirmed`` sent to a
webhook (``NOTIFY_URL``: generic JSON, Discord or Slack) and/or a Telegram chat.

The contract, in the order it matters:

* **Never on the hot path.** :meth:`Notifier.notify` copies the fields and schedules a task;
  it never awaits, never formats a request, never touches the network, never raises. The run
  calls it only after the moments that matter (armed, or the outcome known).
* **Never carrying a secret.** The API key/secret/passphrase, the bot token and the webhook
  URL are scrubbed (``***``) from every value sent; the Telegram token travels only in the
  Bot API's own URL path, never in a body. The webhook URL is a secret as a whole (Discord and
  Slack embed a token in its path): logs and :meth:`Notifier.describe` show only
  ``scheme://host[:port]``; :meth:`Notifier.from_config` registers every such value with
  :func:`sniper.log.register_secret`, so no log line can print it either.
* **Bounded.** Each request is bounded by ``NOTIFY_TIMEOUT_S`` (default 5 s) and a reply is
  read up to 64 KiB; :meth:`Notifier.drain` waits at most its ``within_s`` (the run: at most
  :data:`DRAIN_TIMEOUT_S`) and then cancels what is left.
* **A failed notification changes nothing.** Connection refused, an HTTP error, a timeout, a
  reply that is no HTTP or (Telegram) no Bot API answer: one WARNING line naming the event
  and the destination (scheme and host only), never an exception into the caller, never a
  retry, never a different exit code.

Formats (``NOTIFY_FORMAT=auto`` picks by URL, :func:`detect_format`):

=========== ====================================================================================
``json``    ``{"event", "text", "source": "sniper", "version", "sent_at", ...the event fields}``
``discord`` ``{"content": text, "allowed_mentions": {"parse": []}}`` (≤ 2000 chars; no pings)
``slack``   ``{"text": text}`` (``&``, ``<``, ``>`` escaped as Slack asks)
Telegram    ``POST <TELEGRAM_API_URL>/bot<token>/sendMessage`` with ``{"chat_id", "text",
            "disable_web_page_preview": true}`` (plain text, ≤ 4096 chars)
=========== ====================================================================================

The event fields (all optional; any other key is passed through, and shown in the text as
``key=value``): see :data:`FIELD_LABELS`. :func:`result_fields` and :func:`failure_fields`
build them from a :class:`~sniper.live.report.RunResult` and a ``SniperError``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from sniper import __version__, jsonio
from sniper.config import url_origin
from sniper.secrets import Secret

if TYPE_CHECKING:
    from sniper.config import Config
    from sniper.errors import SniperError
    from sniper.live.report import RunResult

log = logging.getLogger("sniper.notify")

EVENTS = ("armed", "sold", "partial", "failed", "unconfirmed")
DRAIN_TIMEOUT_S = 2.0  # s the run waits at its end for notifications still in flight
MAX_REPLY_BYTES = 64 * 1024  # a webhook's answer is read this far, never further
MAX_TEXT = {"discord": 2000, "telegram": 4096, "slack": 4000, "json": 4000}  # chars
# Shorter strings are no tokens; registering them with the log filter would redact ordinary text
# (a webhook path that embeds a token — Discord's, Slack's — is far longer).
_MIN_SECRET_PATH = 16

_DISCORD_HOSTS = frozenset(
    {"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"}
)
_SLACK_HOSTS = frozenset({"hooks.slack.com"})

# The known fields: (label, unit) in the order the text shows them after the headline.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "target": ("pair", ""),
    "mode": ("account", ""),
    "demo": ("demo", ""),
    "amount": ("amount", ""),
    "size": ("order size", ""),
    "open_time": ("opens", ""),
    "seconds_to_open": ("opens in", "s"),
    "channel": ("fired by", ""),
    "order_id": ("orderId", ""),
    "client_oid": ("clientOid", ""),
    "status": ("status", ""),
    "filled_qty": ("filled", ""),
    "remaining_qty": ("remaining", ""),
    "price_avg": ("avg price", ""),
    "quote_volume": ("received", ""),
    "floor_price": ("floor", ""),
    "rest": ("the rest", ""),
    "slippage_pct": ("slippage vs first best bid", "%"),
    "open_to_first_fill_ms": ("open → first fill", "ms"),
    "detect_to_written_us": ("detect → written", "µs"),
    "written_to_ack_ms": ("written → acknowledged", "ms"),
    "fired_to_ack_ms": ("first write → accepted", "ms"),
    "attempts": ("attempts", ""),
    "accepted_via": ("confirmed by", ""),
    "code": ("code", ""),
    "exit_code": ("exit code", ""),
    "message": ("message", ""),
    "action": ("what to do", ""),
}
# Shown only inside the headline (never repeated as a detail).
_HEADLINE_ONLY = ("base_coin", "quote_coin")


# =================================================================================================
# destinations
def detect_format(url: str) -> str:
    """``discord`` for a Discord webhook (``https://discord.com/api/webhooks/…``, also
    ``discordapp.com``, ``ptb.``/``canary.``, ``/api/v10/webhooks/…``), ``slack`` for a Slack
    incoming webhook (``https://hooks.slack.com/…``), else ``json``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    path = parts.path.lower()
    if host in _DISCORD_HOSTS and path.startswith("/api/"):
        segments = path.split("/")
        if "webhooks" in segments[2:4]:  # /api/webhooks/… or /api/v10/webhooks/…
            return "discord"
    if host in _SLACK_HOSTS:
        return "slack"
    return "json"


def resolve_format(url: str, fmt: str = "auto") -> str:
    """``NOTIFY_FORMAT`` as given, or (``auto``) what the URL looks like."""
    if fmt not in ("auto", "json", "discord", "slack"):
        raise ValueError(f"notify format must be auto, json, discord or slack, got {fmt!r}")
    return detect_format(url) if fmt == "auto" else fmt


@dataclass(frozen=True)
class Destination:
    """Where one copy of each notification goes. ``url`` is the full request URL and holds a
    secret (the webhook's token, or the bot token): only ``origin`` is ever shown."""

    kind: str  # "json" | "discord" | "slack" | "telegram"
    url: Secret
    origin: str  # scheme://host[:port]
    chat_id: str = ""  # Telegram only

    @classmethod
    def webhook(cls, url: str, fmt: str = "auto") -> Destination:
        return cls(resolve_format(url, fmt), Secret(url), url_origin(url))

    @classmethod
    def telegram(cls, token: str, chat_id: str, api_url: str) -> Destination:
        base = api_url.rstrip("/")
        return cls("telegram", Secret(f"{base}/bot{token}/sendMessage"), url_origin(base), chat_id)

    def describe(self) -> str:
        if self.kind == "telegram":
            return f"Telegram chat {self.chat_id} via {self.origin}"
        name = {"json": "JSON webhook", "discord": "Discord webhook", "slack": "Slack webhook"}
        return f"{name[self.kind]} at {self.origin}"


# =================================================================================================
# formatting (pure: tested on its own)
def scrub(value: Any, secrets: Sequence[str] = ()) -> Any:
    """``value`` as plain JSON data (str, int, float, bool, None, dict, list), every occurrence
    of each of ``secrets`` replaced by ``***``. Decimals and other objects become strings
    (a :class:`Secret` its mask), dataclasses dicts, non-finite floats None."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, Mapping):
        return {scrub(str(k), secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(v, secrets) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return scrub(asdict(value), secrets)
    if isinstance(value, bytes | bytearray):
        return scrub(bytes(value).decode("utf-8", "replace"), secrets)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else None
    return scrub(str(value), secrets)


def _text_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _headline(event: str, f: dict[str, Any]) -> str:
    """The first line; consumes (pops) the fields it shows."""
    target = f.pop("target", None)
    base = f.pop("base_coin", None) or ""
    quote = f.pop("quote_coin", None) or ""
    on = f" on {target}" if target else ""

    def qty(value: Any, coin: str) -> str:
        return f"{value} {coin}" if coin else str(value)

    if event == "armed":
        amount = f.pop("amount", None)
        what = f": sell {qty(amount, base)}" if amount not in (None, "") else ""
        return f"sniper armed{what}{on}"
    if event in ("sold", "partial"):
        text = "sniper SOLD" if event == "sold" else "sniper PARTLY SOLD"
        filled = f.pop("filled_qty", None)
        if filled not in (None, ""):
            size = f.get("size") if event == "partial" else None
            text += f" {filled} of {qty(size, base)}" if size else f" {qty(filled, base)}"
        text += on
        avg = f.pop("price_avg", None)
        if avg not in (None, ""):
            text += f" at avg {qty(avg, quote)}"
        got = f.pop("quote_volume", None)
        if got not in (None, ""):
            text += f", received {qty(got, quote)}"
        if event == "partial":
            rest = f.pop("remaining_qty", None)
            how = f.pop("rest", None)
            if rest not in (None, ""):
                text += f"; the rest ({qty(rest, base)})" + (f" {how}" if how else "")
            elif how:
                text += f"; the rest {how}"
        return text
    if event == "failed":
        return f"sniper FAILED{on}: nothing was sold"
    if event == "unconfirmed":
        oid = f.get("client_oid")
        which = f"clientOid {oid}" if oid else "the order"
        f.setdefault("action", "check your orders on Bitget before running again")
        return f"sniper UNCONFIRMED{on}: {which} was sent and may have executed"
    return f"sniper {event}{on}"


def message_text(event: str, fields: Mapping[str, Any]) -> str:
    """The human text of one notification: a headline, then one ``label: value unit`` detail
    per line in :data:`FIELD_LABELS` order, then any other field as ``key=value``."""
    f = dict(fields)
    lines = [_headline(event, f)]
    for key, (label, unit) in FIELD_LABELS.items():
        value = f.pop(key, None)
        if value is None or value == "":
            continue
        lines.append(f"{label}: {_text_value(value)}" + (f" {unit}" if unit else ""))
    for key in _HEADLINE_ONLY:
        f.pop(key, None)
    extra = [f"{k}={_text_value(v)}" for k, v in f.items() if v is not None and v != ""]
    if extra:
        lines.append(" · ".join(extra))
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def request_body(
    kind: str,
    event: str,
    fields: Mapping[str, Any],
    *,
    chat_id: str = "",
    secrets: Sequence[str] = (),
    sent_at: str | None = None,
) -> bytes:
    """The JSON body of one notification to a destination of ``kind``; every value scrubbed of
    ``secrets`` first (:func:`scrub`)."""
    clean = scrub(dict(fields), secrets)
    text = _clip(message_text(event, clean), MAX_TEXT[kind])
    doc: dict[str, Any]
    if kind == "discord":
        doc = {"content": text, "allowed_mentions": {"parse": []}}
    elif kind == "slack":
        doc = {"text": _slack_escape(text)}
    elif kind == "telegram":
        doc = {"chat_id": chat_id, "text": text, "disable_web_page_preview": True}
    elif kind == "json":
        doc = {
            **clean,
            "event": event,
            "text": text,
            "source": "sniper",
            "version": __version__,
            "sent_at": sent_at or datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
    else:
        raise ValueError(f"unknown notification kind {kind!r}")
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


# =================================================================================================
# the fields of the run's events
def result_fields(result: RunResult, **extra: Any) -> dict[str, Any]:
    """The fill report of a sold (or partly sold) run: orderId, clientOid, channel, filled
    quantity, average price, quote received, latencies; ``extra`` added (e.g. ``target``,
    ``remaining_qty``, ``rest``, ``slippage_pct``, ``open_to_first_fill_ms``)."""
    fill = result.fill
    out: dict[str, Any] = {
        "order_id": result.order_id,
        "client_oid": result.client_oid,
        "channel": result.channel,
        "size": result.size,
        "status": fill.status if fill is not None else "not confirmed yet",
        "filled_qty": fill.base_volume if fill is not None else None,
        "price_avg": fill.price_avg if fill is not None else None,
        "quote_volume": fill.quote_volume if fill is not None else None,
        "detect_to_written_us": round(result.detect_to_written_us, 1)
        if result.written_ns
        else None,
        "written_to_ack_ms": _round(result.written_to_ack_ms),
        "fired_to_ack_ms": _round(result.fired_to_ack_ms) if result.codes else None,
        "attempts": result.attempts,
        "accepted_via": result.accepted_via,
    }
    out.update(extra)
    return out


def failure_fields(exc: SniperError, *, client_oid: str | None, **extra: Any) -> dict[str, Any]:
    """A run that ended without a sale it could report: ``failed`` (rejected, exit 3) or
    ``unconfirmed`` (exit 4) — the message (errors never hold a secret), the code when the
    exchange gave one, the exit code."""
    out: dict[str, Any] = {
        "client_oid": client_oid,
        "code": getattr(exc, "code", None),
        "message": " ".join(str(exc).split()),
        "exit_code": exc.exit_code,
    }
    if exc.exit_code == 4:
        out["action"] = "check your orders on Bitget before running again"
    out.update(extra)
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# =================================================================================================
# sending
class Notifier:
    """Sends each event to every destination, in the background.

    ``notify(event, fields)`` returns at once (a task per destination, each with its own
    short-lived HTTP session); ``await drain(s)`` at the end of the run waits at most ``s`` seconds
    for them and cancels the rest. ``context`` is merged under every event's fields (e.g. the
    pair); ``redact`` are the values scrubbed from everything sent (the run's credentials)."""

    def __init__(
        self,
        destinations: Sequence[Destination],
        *,
        timeout_s: float = 5.0,
        redact: Iterable[str] = (),
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self.destinations = tuple(destinations)
        self.timeout_s = timeout_s
        self.context = dict(context or {})
        secrets = {s for s in redact if s and len(s) >= 4}
        secrets.update(d.url.reveal() for d in self.destinations)
        # longest first: a URL is replaced whole before the token inside it
        self._secrets = tuple(sorted(secrets, key=len, reverse=True))
        self._tasks: set[asyncio.Task[None]] = set()
        self.delivered: list[tuple[str, str]] = []  # (event, destination kind)
        self.failures: list[tuple[str, str, str]] = []  # (event, destination kind, problem)

    @classmethod
    def from_config(cls, config: Config, **context: Any) -> Notifier:
        """The notifier ``config`` asks for (none: a notifier that sends nothing). Registers
        the webhook URL, its token-bearing path and the bot token with the log filter."""
        from sniper.log import register_secret

        destinations: list[Destination] = []
        if config.notify_url is not None:
            url = config.notify_url.reveal()
            destinations.append(Destination.webhook(url, config.notify_format))
        if config.telegram_bot_token is not None and config.telegram_chat_id:
            token = config.telegram_bot_token.reveal()
            destinations.append(
                Destination.telegram(token, config.telegram_chat_id, config.telegram_api_url)
            )
            register_secret(token)
        for d in destinations:
            url = d.url.reveal()
            register_secret(url)
            parts = urlsplit(url)
            tail = parts.path + (f"?{parts.query}" if parts.query else "")
            if len(tail) >= _MIN_SECRET_PATH:
                register_secret(tail)
        redact = [
            s.reveal()
            for s in (config.api_key, config.secret_key, config.passphrase)
            if isinstance(s, Secret)
        ]
        if config.telegram_bot_token is not None:
            redact.append(config.telegram_bot_token.reveal())
        base: dict[str, Any] = {
            "target": config.target,
            "base_coin": config.base_coin,
            "quote_coin": config.quote_coin,
        }
        if config.demo:
            base["demo"] = True
        base.update(context)
        return cls(destinations, timeout_s=config.notify_timeout_s, redact=redact, context=base)

    @property
    def enabled(self) -> bool:
        return bool(self.destinations)

    @property
    def pending(self) -> int:
        """Notifications still in flight."""
        return sum(1 for t in self._tasks if not t.done())

    def describe(self) -> str:
        """``Discord webhook at https://discord.com, Telegram chat … via https://…`` (never a
        token), or ``off``."""
        return ", ".join(d.describe() for d in self.destinations) or "off"

    def notify(self, event: str, fields: Mapping[str, Any] | None = None) -> None:
        """Send ``event`` with ``fields`` to every destination, in the background. Returns at
        once and never raises (outside a running event loop it logs and drops)."""
        if not self.destinations:
            return
        try:
            loop = asyncio.get_running_loop()
            doc = {**self.context, **(fields or {})}  # copied now: the caller may reuse its own
            sent_at = datetime.now(UTC).isoformat(timespec="milliseconds")
            for dest in self.destinations:
                task = loop.create_task(
                    self._send(dest, event, doc, sent_at), name=f"notify-{event}-{dest.kind}"
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except Exception as exc:  # no loop, a loop shutting down, fields that are no mapping
            log.warning("notification %s not sent: %s", event, type(exc).__name__)

    async def drain(self, within_s: float = DRAIN_TIMEOUT_S) -> int:
        """Wait at most ``within_s`` for the notifications in flight, then cancel the rest (each
        logs its one WARNING). Returns how many were cancelled. Never raises, except a cancel
        of the caller itself, which cancels every notification in flight first."""
        tasks = [t for t in self._tasks if not t.done()]
        if not tasks:
            return 0
        try:
            _, left = await asyncio.wait(tasks, timeout=max(within_s, 0.0))
        except asyncio.CancelledError:
            for t in tasks:
                t.cancel()
            raise
        for t in left:
            t.cancel()
        if left:  # each closes its own connection on the way out: a few ms
            await asyncio.wait(left, timeout=0.5)
        return len(left)

    # ---------------------------------------------------------------------------------------------
    async def _send(self, dest: Destination, event: str, doc: dict[str, Any], sent_at: str) -> None:
        t0 = asyncio.get_running_loop().time()
        problem: str | None
        try:
            body = request_body(
                dest.kind, event, doc, chat_id=dest.chat_id, secrets=self._secrets, sent_at=sent_at
            )
            async with (
                asyncio.timeout(self.timeout_s),
                _session(self.timeout_s) as session,
                session.post(
                    URL(dest.url.reveal(), encoded=True),
                    data=body,
                    headers={"Content-Type": "application/json"},
                    allow_redirects=False,  # a redirect would carry the token elsewhere
                ) as resp,
            ):
                reply = await _read_reply(resp)
                problem = _reply_problem(dest.kind, resp.status, reply)
        except asyncio.CancelledError:
            self._failed(
                dest, event, "cancelled at the end of the run (still waiting for an answer)"
            )
            raise
        except TimeoutError:
            problem = f"no answer within {self.timeout_s:g} s"
        except Exception as exc:  # never into the caller: connection, protocol, our own bug
            problem = _error_text(exc)
        if problem is not None:
            self._failed(dest, event, problem)
            return
        self.delivered.append((event, dest.kind))
        elapsed_ms = (asyncio.get_running_loop().time() - t0) * 1e3
        log.debug("notification %s sent to %s (%.0f ms)", event, dest.describe(), elapsed_ms)

    def _failed(self, dest: Destination, event: str, problem: str) -> None:
        problem = scrub(problem, self._secrets)
        self.failures.append((event, dest.kind, problem))
        log.warning(
            "notification %r to %s not delivered: %s (the run is not affected)",
            event,
            dest.describe(),
            problem,
        )


def _session(timeout_s: float) -> aiohttp.ClientSession:
    """One session per notification (a few per run): it is closed by its own task, even when
    that task is cancelled, so nothing is left for anyone else to close."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(force_close=True, limit=1),
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        headers={"User-Agent": f"sniper/{__version__}"},
    )


async def _read_reply(resp: aiohttp.ClientResponse) -> bytes:
    """The answer's body to its end (a truncated one raises ``ClientPayloadError``), but never
    more than :data:`MAX_REPLY_BYTES`."""
    body = bytearray()
    async for chunk in resp.content.iter_chunked(16 * 1024):
        body += chunk
        if len(body) >= MAX_REPLY_BYTES:
            break
    return bytes(body[:MAX_REPLY_BYTES])


def _reply_problem(kind: str, status: int, reply: bytes) -> str | None:
    """None when the destination took the notification; else what went wrong."""
    excerpt = " ".join(reply[:120].decode("utf-8", "replace").split())
    if not 200 <= status < 300:
        return f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    if kind != "telegram":
        return None  # Discord answers 204, Slack "ok", a generic receiver anything
    try:
        doc = jsonio.loads(reply)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("ok") is True:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("description"), str):
        return f"Telegram refused: {doc['description'][:120]}"
    return f"HTTP {status} but not a Bot API answer: {excerpt or '(empty)'}"


def _error_text(exc: BaseException) -> str:
    """What went wrong, without the URL (aiohttp's messages may hold it)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return f"cannot connect ({reason})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without an answer"
    if isinstance(exc, aiohttp.ClientResponseError):
        return " ".join(f"unreadable answer (HTTP {exc.status}: {exc.message})"[:200].split())
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the answer was cut off (ClientPayloadError)"
    if isinstance(exc, aiohttp.ClientError | OSError):
        return f"{type(exc).__name__}"
    return f"unexpected {type(exc).__name__}"


__all__ = [
    "DRAIN_TIMEOUT_S",
    "EVENTS",
    "FIELD_LABELS",
    "Destination",
    "Notifier",
    "detect_format",
    "failure_fields",
    "message_text",
    "request_body",
    "resolve_format",
    "result_fields",
    "scrub",
]
