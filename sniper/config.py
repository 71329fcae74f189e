"""Configuration: ``.env`` (or ``--env-file``) overlaid by the process environment.

Every problem is one :class:`~sniper.errors.ConfigError` naming the variable, what was expected
and what was received (credentials only ever shown masked).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
import ssl
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from sniper.errors import ConfigError
from sniper.secrets import Secret, mask

DEFAULT_REST_URL = "https://api.bitget.com"
DEFAULT_WS_URL_V2 = "wss://ws.bitget.com/v2/ws/public"
DEFAULT_WS_URL_V3 = "wss://ws.bitget.com/v3/ws/public"
DEMO_WS_URL_V2 = "wss://wspap.bitget.com/v2/ws/public"
DEMO_WS_URL_V3 = "wss://wspap.bitget.com/v3/ws/public"
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org"
NOTIFY_FORMATS = ("auto", "json", "discord", "slack")
SPIN_MODES = ("auto", "always", "off")  # SPIN (sniper.live.spin)

# Quote coins recognised when TARGET_TOKEN is written without a separator (PAWSUSDT).
log = logging.getLogger("sniper.config")

QUOTE_COINS = ("USDT", "USDC", "USDE", "BTC", "ETH", "EUR", "BGB", "BRL")

# Documented public REST limit is 20 req/s/IP (bitget-api.md §5): never poll faster than 50 ms.
# RACE_COPIES at most (sniper.live.volley.MAX_COPIES: the 10/s place-order budget less its 2
# reserved slots)
MAX_RACE_COPIES = 8
MAX_VOLLEY_LANES = 6  # order connections beside the trigger's two, at most
MIN_SLEEP_WARM_US = 1000  # SLEEP_WARM_US: 0 (none) or at least this (uvloop's timers: 1 ms)
DEFAULT_SLEEP_WARM_US = 1000  # BENCHMARKS.md, "Where the time goes: the sleeping loop, traced"
DEFAULT_SCHED_SLICE_US = 100  # the shortest the kernel grants
MIN_SLICE_US, MAX_SLICE_US = 100, 100_000  # SCHED_SLICE_US: the kernel's clamp (0: default)
MIN_POLL_INTERVAL_MS = 50
# The default leaves headroom under that limit: `sniper check` and other tools on the same IP
# share it (issue 11, item 8).
DEFAULT_POLL_INTERVAL_MS = 55

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{1,30}$")
_DECIMAL_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")


@dataclass(frozen=True)
class Config:
    """Everything ``sniper run`` needs; built by :func:`load_config`."""

    api_key: Secret
    secret_key: Secret
    passphrase: Secret
    target: str  # normalised symbol, e.g. "PAWSUSDT"
    base_coin: str  # "PAWS"
    quote_coin: str  # "USDT"
    coin_amount: str  # exact decimal string as given, or "all"
    rest_url: str  # scheme://host[:port], no trailing slash
    ws_url: str  # full URL used as given (derived from account mode/demo when not set)
    ws_url_explicit: bool  # BITGET_WS_URL was set by the user
    account: str  # "auto" | "classic" | "uta"
    demo: bool  # paptrading: 1 on every REST call, wspap host
    locale: str = "en-US"
    # MIN_PRICE: the floor, quote coin per base unit, an exact decimal string (None: a market
    # sell). Set: the order is a LIMIT sell at the floor (never below it), FLOOR_TIF its rest.
    min_price: str | None = None
    floor_tif: str = "gtc"  # gtc: the unfilled rest waits at the floor | ioc: it is cancelled
    # the private WebSocket order feed (§7.4): fast confirmation and reconciliation evidence
    private_feed: bool = True
    ca_file: str | None = None  # extra CA bundle for TLS (e.g. the embedded exchange's)
    poll_interval_ms: int = DEFAULT_POLL_INTERVAL_MS  # ms between symbol-status polls (>= 50)
    ws_ping_interval_s: float = 25.0  # s between text pings
    ws_pong_timeout_s: float = 10.0  # s without pong before reconnect
    resign_interval_s: float = 10.0  # s between background re-signs (< 30 s window)
    keepalive_interval_s: float = 5.0  # s between cheap requests on the warm order connection
    balance_refresh_s: float = 5.0  # s between balance reads while armed
    clock_sync_interval_s: float = 30.0  # s between server-time re-syncs
    order_timeout_s: float = 3.0  # s to wait for the order's answer before looking it up
    fill_timeout_s: float = 10.0  # s to wait for the fill report after acceptance
    # ms before openTime the scheduled channel fires (may be < 0); None = auto: aimed so that
    # the order ARRIVES just after the open (sniper.live.clock: one way - margin)
    schedule_lead_ms: float | None = None
    open_time_ms: int | None = None  # announced open time (ms since epoch) when the row has none
    # copies of an aimed order in flight at once, only when a second one provably cannot sell
    # (sniper.live.volley): None = auto (what the 10/s budget leaves, at most 8), 1 = off
    race_copies: int | None = None
    # order connections opened beside the trigger's two for a volley's further copies (a TCP
    # stream never reorders: copies on one connection cannot overtake each other), only when a
    # volley can go (RACE_COPIES not 1, a measured one way of MIN_ONE_WAY_MS or more)
    volley_lanes: int = 2
    order_retry_window_s: float = 30.0  # s during which transient order errors are retried
    lookup_window_s: float = 5.0  # s of consistent "not found" lookups before a resend
    ws_resubscribe_s: float = 20.0  # s between re-subscribes while the pair is unknown (30001)
    ws_reconnect_max_s: float = 3.0  # s, cap of the feed's reconnect backoff
    # notifications (sniper.live.notify): off the hot path, never carrying a credential
    notify_url: Secret | None = None  # webhook URL; a secret (Discord/Slack embed a token)
    notify_format: str = "auto"  # auto | json | discord | slack
    telegram_bot_token: Secret | None = None
    telegram_chat_id: str = ""  # numeric id (groups/channels negative) or @channelname
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL  # Bot API base, no trailing slash
    notify_timeout_s: float = 5.0  # s, bound of one notification request
    # SPIN (sniper.live.spin): the event loop busy-polls instead of sleeping (1 CPU core at
    # 100 %) — auto: from spin_before_s before a known open until the fire or spin_max_s after
    # it (no open time: never); always: the whole time armed; off: never
    spin: str = "auto"
    spin_before_s: float = 10.0  # s before a known open the auto busy-poll starts
    spin_max_s: float = 60.0  # s after the open the auto busy-poll ends if nothing fired
    spin_warm: bool = True  # SPIN_WARM: a loopback warmer keeps the read path hot while spinning
    # while the loop sleeps between events (SPIN=off, auto outside its window): one warm frame
    # every sleep_warm_us (0: none); needs spin_warm
    sleep_warm_us: int = DEFAULT_SLEEP_WARM_US
    # SCHED_SLICE_US: the armed loop thread's time slice (0: the kernel's default)
    sched_slice_us: int = DEFAULT_SCHED_SLICE_US
    extra: Mapping[str, str] = field(default_factory=dict)
    # Start-up warnings found while loading (plain http to a remote host, a .env readable by
    # others): logged by load_config; shown by whoever reports readiness.
    warnings: tuple[str, ...] = ()

    def describe(self) -> list[tuple[str, str]]:
        """(name, value) pairs safe to print: credentials masked."""
        out = []
        for f in fields(self):
            if f.name in ("extra", "warnings"):
                continue
            out.append((f.name, str(getattr(self, f.name))))
        return out

    def with_overrides(self, **kw: object) -> Config:
        return replace(self, **kw)  # type: ignore[arg-type]

    def with_account(self, mode: str) -> Config:
        """This config for a resolved account mode (``classic`` | ``uta``): the WS URL follows
        the mode (v2 or v3, live or demo host) unless BITGET_WS_URL was set explicitly, which is
        used as given."""
        if mode not in ("classic", "uta"):
            raise ValueError(f"account mode must be classic or uta, got {mode!r}")
        ws_url = self.ws_url if self.ws_url_explicit else default_ws_url(mode, self.demo)
        return replace(self, account=mode, ws_url=ws_url)


# The tunables, parsed by _number.
TUNABLES: tuple[tuple[str, str, str, type, float], ...] = (
    # (variable, Config field, default, type, minimum)
    (
        "POLL_INTERVAL_MS",
        "poll_interval_ms",
        str(DEFAULT_POLL_INTERVAL_MS),
        int,
        MIN_POLL_INTERVAL_MS,
    ),
    ("WS_PING_INTERVAL_S", "ws_ping_interval_s", "25", float, 1),
    ("WS_PONG_TIMEOUT_S", "ws_pong_timeout_s", "10", float, 0.1),
    ("RESIGN_INTERVAL_S", "resign_interval_s", "10", float, 0.1),
    ("KEEPALIVE_INTERVAL_S", "keepalive_interval_s", "5", float, 0.1),
    ("BALANCE_REFRESH_S", "balance_refresh_s", "5", float, 0.1),
    ("CLOCK_SYNC_INTERVAL_S", "clock_sync_interval_s", "30", float, 1),
    ("ORDER_TIMEOUT_S", "order_timeout_s", "3", float, 0.05),
    ("FILL_TIMEOUT_S", "fill_timeout_s", "10", float, 0.1),
    ("SCHEDULE_LEAD_MS", "schedule_lead_ms", "auto", float, -5000),  # or "auto" (None)
    ("ORDER_RETRY_WINDOW_S", "order_retry_window_s", "30", float, 0.5),
    ("RACE_COPIES", "race_copies", "auto", int, 1),  # or "auto" (None); at most 8
    ("VOLLEY_LANES", "volley_lanes", "2", int, 0),  # at most MAX_VOLLEY_LANES
    ("LOOKUP_WINDOW_S", "lookup_window_s", "5", float, 0.1),
    ("WS_RESUBSCRIBE_S", "ws_resubscribe_s", "20", float, 0.5),
    ("WS_RECONNECT_MAX_S", "ws_reconnect_max_s", "3", float, 0.05),
    ("NOTIFY_TIMEOUT_S", "notify_timeout_s", "5", float, 0.1),
    ("SPIN_BEFORE_S", "spin_before_s", "10", float, 0),
    ("SPIN_MAX_S", "spin_max_s", "60", float, 0),
    # 0, or at least MIN_SLEEP_WARM_US; 0, or MIN_SLICE_US-MAX_SLICE_US (the kernel's clamp)
    ("SLEEP_WARM_US", "sleep_warm_us", str(DEFAULT_SLEEP_WARM_US), int, 0),
    ("SCHED_SLICE_US", "sched_slice_us", str(DEFAULT_SCHED_SLICE_US), int, 0),
)

# Every variable this module reads, with a one-line description (README table, .env.example).
VARIABLES: dict[str, str] = {
    "BITGET_API_KEY": "API key (required for run/check)",
    "BITGET_SECRET_KEY": "API secret (required for run/check)",
    "BITGET_PASSPHRASE": "API passphrase (required for run/check)",
    "TARGET_TOKEN": "pair to sell on, e.g. PAWSUSDT, PAWS/USDT or pawsusdt",
    "COIN_AMOUNT": "base-coin amount to sell: a positive decimal, or `all`",
    "MIN_PRICE": (
        "optional floor, quote coin per base unit (exact decimal): the order is then a LIMIT "
        "sell at this price — it takes every bid at or above it and never sells below"
    ),
    "FLOOR_TIF": (
        "gtc | ioc, with MIN_PRICE: gtc = the unfilled rest waits on the book at the floor, "
        "ioc = it is cancelled (default gtc)"
    ),
    "BITGET_REST_URL": (
        f"REST base URL (default {DEFAULT_REST_URL}; http:// to a non-loopback host is warned "
        "about)"
    ),
    "BITGET_WS_URL": (
        f"public WebSocket URL, used as given (default {DEFAULT_WS_URL_V2}; ws:// to a "
        "non-loopback host is warned about)"
    ),
    "BITGET_ACCOUNT": "auto | classic | uta (default auto: detected at start)",
    "BITGET_DEMO": "1 = Bitget demo trading (paptrading header, wspap host)",
    "BITGET_LOCALE": "locale header, en-US or zh-CN (default en-US)",
    "BITGET_CA_FILE": "extra CA bundle (PEM) trusted for https/wss; checked at start",
    "PRIVATE_FEED": (
        "1 = watch the account's orders on the private WebSocket (fast confirmation; the "
        "evidence that lets an unanswered order be resent safely); 0 = REST only (default 1)"
    ),
    "OPEN_TIME": "announced open time (ISO 8601 or ms) when the exchange shows none",
    "NOTIFY_URL": (
        "webhook notified on armed / sold / partial / failed / unconfirmed: a JSON POST; "
        "Discord and Slack webhook URLs are recognised (a secret: logged as scheme://host only)"
    ),
    "NOTIFY_FORMAT": "auto | json | discord | slack: the body sent to NOTIFY_URL (default auto)",
    "TELEGRAM_BOT_TOKEN": "Telegram bot token (a secret, masked) for notifications via sendMessage",
    "TELEGRAM_CHAT_ID": (
        "Telegram chat to notify: a numeric id or @channelname (required with TELEGRAM_BOT_TOKEN)"
    ),
    "TELEGRAM_API_URL": f"Telegram Bot API base URL (default {DEFAULT_TELEGRAM_API_URL})",
    "SPIN": (
        "auto | always | off: the event loop busy-polls instead of sleeping, which takes one "
        "CPU core at 100 % and cuts the wake-up from the latency; auto = from SPIN_BEFORE_S "
        "before a known open time until the order is fired or SPIN_MAX_S after the open (no "
        "open time known: off), always = the whole time armed (default auto)"
    ),
    "SPIN_WARM": (
        "1 = while busy-polling, keep the receive path warm with a loopback WebSocket pair in "
        "this process (another symbol's ticker frame every 200 µs; nothing goes to the "
        "exchange, no cost beyond the spinning core); 0 = spin without it (default 1)"
    ),
}
_TUNABLE_HELP = {
    "POLL_INTERVAL_MS": (
        "ms between symbol-status polls; never below 50 (20 req/s/IP limit, shared with "
        "`sniper check` and other tools on the same IP)"
    ),
    "WS_PING_INTERVAL_S": "s between text pings on the WebSocket",
    "WS_PONG_TIMEOUT_S": "s without pong before the WebSocket is reconnected",
    "RESIGN_INTERVAL_S": "s between background re-signs of the order (< 25)",
    "KEEPALIVE_INTERVAL_S": "s between cheap requests that keep the order connections warm",
    "BALANCE_REFRESH_S": "s between balance reads while armed",
    "CLOCK_SYNC_INTERVAL_S": "s between exchange-clock re-syncs",
    "ORDER_TIMEOUT_S": "s to wait for the order's answer before looking it up by clientOid",
    "FILL_TIMEOUT_S": "s to wait for the fill report after acceptance",
    "SCHEDULE_LEAD_MS": (
        "`auto`: the scheduled channel sends so that the order arrives just after the open "
        "(the measured one-way latency minus a jitter margin); a number: ms before the open "
        "time it sends (negative = after)"
    ),
    "ORDER_RETRY_WINDOW_S": "s during which transient order errors (429, 5xx, 40015) are retried",
    "RACE_COPIES": (
        "`auto`: when the order sells the whole balance of the coin (so a second copy can only "
        "meet 'insufficient balance'), the aimed order goes as 8 copies (what the 10/s budget "
        "leaves) a fraction of a ms apart, spaced over the measured jitter; a number 1-8: at "
        "most that many; "
        "1 = one copy in flight"
    ),
    "VOLLEY_LANES": (
        "order connections opened beside the two the trigger fires on, for a volley's further "
        "copies (copies on one connection cannot overtake each other); only when a volley can "
        "go (RACE_COPIES not 1, a measured one way of 2 ms or more); 0-6"
    ),
    "LOOKUP_WINDOW_S": (
        "s of consistent 'not found' lookups before an unanswered order may be resent "
        "(only if the coin balance did not fall)"
    ),
    "WS_RESUBSCRIBE_S": "s between WebSocket re-subscribes while the pair is unknown (30001)",
    "WS_RECONNECT_MAX_S": "s, cap of the WebSocket reconnect backoff",
    "NOTIFY_TIMEOUT_S": "s, bound of one notification request (never delays the order)",
    "SPIN_BEFORE_S": "s before a known open time the busy-poll starts (SPIN=auto)",
    "SPIN_MAX_S": "s after the open time the busy-poll ends if nothing fired (SPIN=auto)",
    "SLEEP_WARM_US": (
        "µs between warm frames while the event loop sleeps between events (SPIN=off, or auto "
        "outside its window): the SPIN_WARM loopback pair runs one frame through the receive "
        "path, so the listing frame finds it in the caches (about 7-9 % of one core at "
        "1000); 0 = none, else at least 1000 (the event loop's timers count whole ms); needs "
        "SPIN_WARM=1"
    ),
    "SCHED_SLICE_US": (
        "µs of time slice the armed event loop thread asks the Linux scheduler for (6.12 and "
        "later; no privilege, same priority): woken by the listing frame it preempts whatever "
        "runs on its CPU instead of waiting for that to yield; 0 = the kernel's default, else "
        "100-100000"
    ),
}
VARIABLES.update({t[0]: f"{_TUNABLE_HELP[t[0]]} (default {t[2]})" for t in TUNABLES})


def normalise_symbol(raw: str) -> tuple[str, str, str]:
    """``PAWS/USDT``, ``paws-usdt``, ``pawsusdt`` → (``PAWSUSDT``, ``PAWS``, ``USDT``)."""
    text = raw.strip().upper()
    for sep in ("/", "-", "_", ":"):
        if sep in text:
            base, _, quote = text.partition(sep)
            if not (_SYMBOL_RE.match(base) and _SYMBOL_RE.match(quote)):
                break
            return base + quote, base, quote
    else:
        if _SYMBOL_RE.match(text):
            for quote in QUOTE_COINS:
                if text.endswith(quote) and len(text) > len(quote):
                    return text, text[: -len(quote)], quote
    raise ConfigError(
        "TARGET_TOKEN",
        f"a spot pair like PAWSUSDT or PAWS/USDT (quote one of {', '.join(QUOTE_COINS)})",
        repr(raw),
    )


def parse_amount(raw: str) -> str:
    text = raw.strip()
    if text.lower() == "all":
        return "all"
    if not _DECIMAL_RE.match(text):
        raise ConfigError(
            "COIN_AMOUNT", "a positive decimal such as 1020200 or 0.5, or `all`", repr(raw)
        )
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise ConfigError("COIN_AMOUNT", "a positive decimal", repr(raw)) from None
    if value <= 0:
        raise ConfigError("COIN_AMOUNT", "a positive decimal (> 0)", repr(raw))
    return text


def parse_min_price(raw: str) -> str | None:
    """``MIN_PRICE``: unset/empty → None (a market sell); else a positive exact decimal string
    (quote coin per base unit), kept as given — never a float."""
    text = raw.strip()
    if not text:
        return None
    if not _DECIMAL_RE.match(text) or Decimal(text) <= 0:
        raise ConfigError(
            "MIN_PRICE",
            "a positive decimal price in the quote coin per base unit, such as 0.0123",
            repr(raw),
        )
    return text


def parse_open_time(raw: str, variable: str = "OPEN_TIME") -> int:
    """ISO 8601 (naive = UTC) or integer milliseconds since the epoch → ms."""
    from datetime import UTC, datetime

    text = raw.strip()
    if text.isdigit():
        ms = int(text)
        if len(text) == 10:  # seconds given
            ms *= 1000
        if 10**12 <= ms < 10**13:
            return ms
        raise ConfigError(variable, "milliseconds since the epoch (13 digits)", repr(raw))
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            variable, "ISO 8601 time like 2026-12-01T10:00:00Z or milliseconds", repr(raw)
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _url(variable: str, raw: str, schemes: tuple[str, ...]) -> str:
    text = raw.strip()
    parts = urlsplit(text)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(variable, f"a URL with scheme {' or '.join(schemes)}", repr(raw))
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ConfigError(variable, "a URL with a valid port", repr(raw)) from None
    return text


_TELEGRAM_TOKEN_RE = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$")
_TELEGRAM_CHAT_RE = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,64})$")


def url_origin(raw: str) -> str:
    """``scheme://host[:port]`` of a URL, or ``<n chars>``: all of a secret URL that may be
    shown."""
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        return mask(raw)
    if not parts.scheme or not parts.hostname:
        return mask(raw)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def _secret_url(variable: str, raw: str) -> Secret:
    """An http(s) URL that embeds a secret (a webhook's token): errors show only its scheme and
    host."""
    text = raw.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ConfigError(variable, "an http(s) URL with a valid port", url_origin(text)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(variable, "a URL with scheme http or https", url_origin(text))
    if any(c in text for c in " \r\n\t\0"):
        raise ConfigError(variable, "a URL without spaces or control characters", url_origin(text))
    return Secret(text)


def _notify_settings(get: Callable[[str, str], str]) -> dict[str, object]:
    """NOTIFY_URL / NOTIFY_FORMAT and TELEGRAM_*: the Config fields of the notifications."""
    out: dict[str, object] = {}
    url = get("NOTIFY_URL", "").strip()
    out["notify_url"] = _secret_url("NOTIFY_URL", url) if url else None
    fmt = get("NOTIFY_FORMAT", "auto").strip().lower() or "auto"
    if fmt not in NOTIFY_FORMATS:
        raise ConfigError(
            "NOTIFY_FORMAT", " | ".join(NOTIFY_FORMATS), repr(get("NOTIFY_FORMAT", ""))
        )
    out["notify_format"] = fmt
    token = get("TELEGRAM_BOT_TOKEN", "").strip()
    chat = get("TELEGRAM_CHAT_ID", "").strip()
    if token and not _TELEGRAM_TOKEN_RE.match(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN", "a bot token like 123456789:AA… (from @BotFather)", mask(token)
        )
    if chat and not _TELEGRAM_CHAT_RE.match(chat):
        raise ConfigError(
            "TELEGRAM_CHAT_ID",
            "a numeric chat id (e.g. -1001234567890) or @channelname",
            repr(chat),
        )
    if token and not chat:
        raise ConfigError("TELEGRAM_CHAT_ID", "a chat id (TELEGRAM_BOT_TOKEN is set)", "nothing")
    if chat and not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN", "a bot token (TELEGRAM_CHAT_ID is set)", "nothing")
    out["telegram_bot_token"] = Secret(token) if token else None
    out["telegram_chat_id"] = chat
    api = get("TELEGRAM_API_URL", "").strip() or DEFAULT_TELEGRAM_API_URL
    out["telegram_api_url"] = _url("TELEGRAM_API_URL", api, ("http", "https")).rstrip("/")
    return out


def _notify_warnings(get: Callable[[str, str], str], settings: Mapping[str, object]) -> list[str]:
    """Plain http:// to a remote host would carry the webhook's or the bot's token in clear."""
    found = []
    url = settings["notify_url"]
    if isinstance(url, Secret):
        parts = urlsplit(url.reveal())
        if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
            found.append(
                f"NOTIFY_URL is http:// to {parts.hostname}, not a loopback host: the webhook "
                "address (it embeds a secret) would travel unencrypted; use https://"
            )
    elif get("NOTIFY_FORMAT", "").strip():
        found.append("NOTIFY_FORMAT is set but NOTIFY_URL is not: no webhook will be notified")
    api = str(settings["telegram_api_url"])
    parts = urlsplit(api)
    if (
        settings["telegram_bot_token"] is not None
        and parts.scheme == "http"
        and not is_loopback_host(parts.hostname or "")
    ):
        found.append(
            f"TELEGRAM_API_URL is http:// to {parts.hostname}, not a loopback host: the bot "
            "token would travel unencrypted; use https://"
        )
    return found


def _number(variable: str, raw: str, kind: type, minimum: float) -> int | float:
    """A finite ``kind`` >= ``minimum``: nan and ±inf are errors (nan compares false with
    everything, so it would pass any bound and fail later, possibly after the order went out)."""
    expected = f"a finite {kind.__name__} >= {minimum:g}"
    try:
        value = kind(raw.strip())
    except ValueError:
        raise ConfigError(variable, expected, repr(raw)) from None
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(variable, expected, repr(raw))
    return value


def _flag(variable: str, raw: str) -> bool:
    text = raw.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(variable, "1 or 0", repr(raw))


CREDENTIAL_VARIABLES = ("BITGET_API_KEY", "BITGET_SECRET_KEY", "BITGET_PASSPHRASE")


def env_file_path(env_file: str | os.PathLike[str] | None = None) -> Path:
    """The file :func:`read_environment` reads: ``env_file``, else ``./.env``."""
    return Path(env_file) if env_file is not None else Path.cwd() / ".env"


def _is_file(path: Path, variable: str) -> bool:
    """``path.is_file()``, where a path that cannot even be looked at (a directory on the way
    refuses us) is a ConfigError naming it, not a crash."""
    try:
        return path.is_file()
    except OSError as exc:
        raise ConfigError(
            variable, "a readable file", f"{str(path)!r} ({exc.strerror or exc})"
        ) from None


def _read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of ``path``. An unreadable or non-UTF-8 file is a ConfigError naming
    the file (never its content: it holds credentials)."""
    try:
        values = dotenv_values(path, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(path),
            "a UTF-8 text file of NAME=value lines",
            f"a byte that is not UTF-8 (0x{exc.object[exc.start]:02x} at offset {exc.start})",
        ) from None
    except OSError as exc:
        raise ConfigError(
            str(path), "a readable file", f"{type(exc).__name__}: {exc.strerror or exc}"
        ) from None
    return {k: v for k, v in values.items() if v is not None}


def _read_sources(
    env_file: str | os.PathLike[str] | None, environ: Mapping[str, str] | None
) -> tuple[Path | None, dict[str, str], dict[str, str]]:
    """(the env file read or None, its values, the merge with ``environ``)."""
    path = env_file_path(env_file)
    exists = _is_file(path, "--env-file" if env_file is not None else ".env")
    if env_file is not None and not exists:
        raise ConfigError("--env-file", "an existing file", repr(str(env_file)))
    if not exists:
        return None, {}, dict(os.environ if environ is None else environ)
    from_file = _read_env_file(path)
    return path, from_file, {**from_file, **(os.environ if environ is None else environ)}


def read_environment(
    env_file: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Merge ``.env`` (or ``env_file``) and ``environ``; the environment wins."""
    return _read_sources(env_file, environ)[2]


def check_ca_bundle(raw: str, variable: str = "BITGET_CA_FILE") -> str:
    """``raw`` names a readable PEM bundle holding at least one certificate; else a ConfigError
    naming the file. Loaded into a throw-away context (no system store: quick)."""
    if not _is_file(Path(raw), variable):
        raise ConfigError(variable, "an existing PEM file of CA certificates", repr(raw))
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=raw)
    except ssl.SSLError as exc:  # before OSError: SSLError is one
        raise ConfigError(
            variable,
            "a PEM bundle of CA certificates (-----BEGIN CERTIFICATE----- blocks)",
            f"{raw!r}, which has none OpenSSL can load ({exc.reason or exc})",
        ) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            variable, "a readable PEM bundle of CA certificates", f"{raw!r} ({reason})"
        ) from None
    return raw


def is_loopback_host(host: str) -> bool:
    """``localhost`` (and ``*.localhost``) or a loopback IP address (127.0.0.0/8, ::1)."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def plaintext_url_warning(variable: str, url: str) -> str | None:
    """A warning when ``url`` is plain http:// or ws:// to a host that is not loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "ws") or is_loopback_host(parts.hostname or ""):
        return None
    if parts.scheme == "http":
        what, secure = "credentials and orders would travel unencrypted", "https"
    else:
        what, secure = "the feed that triggers the sell would travel unencrypted", "wss"
    return (
        f"{variable} is {parts.scheme}:// to {parts.hostname}, not a loopback host: {what}; "
        f"use {secure}://"
    )


def env_file_mode_warning(path: Path) -> str | None:
    """A warning when ``path`` (a file holding credentials) is open to group or others."""
    if os.name != "posix":
        return None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (
        f"{path} holds credentials and is readable or writable by other users "
        f"(mode {mode:03o}); run: chmod 600 {path}"
    )


def _startup_warnings(
    path: Path | None, from_file: Mapping[str, str], rest_url: str, ws_url: str
) -> tuple[str, ...]:
    found = [
        plaintext_url_warning("BITGET_REST_URL", rest_url),
        plaintext_url_warning("BITGET_WS_URL", ws_url),
    ]
    if path is not None and any(from_file.get(n, "").strip() for n in CREDENTIAL_VARIABLES):
        found.append(env_file_mode_warning(path))
    return tuple(w for w in found if w)


def load_config(
    env_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    need_credentials: bool = True,
) -> Config:
    path, from_file, env = _read_sources(env_file, environ)

    def get(name: str, default: str = "") -> str:
        return env.get(name, default)

    creds = {}
    for name in CREDENTIAL_VARIABLES:
        value = get(name).strip()
        if need_credentials and not value:
            raise ConfigError(name, "a non-empty credential", "nothing (unset or empty)")
        if any(c in value for c in "\r\n\0"):
            raise ConfigError(name, "a single-line value", mask(value))
        creds[name] = Secret(value)

    if not get("TARGET_TOKEN").strip():
        raise ConfigError("TARGET_TOKEN", "a spot pair like PAWSUSDT", "nothing (unset or empty)")
    target, base, quote = normalise_symbol(get("TARGET_TOKEN"))
    if not get("COIN_AMOUNT").strip():
        raise ConfigError("COIN_AMOUNT", "a positive decimal or `all`", "nothing (unset or empty)")
    amount = parse_amount(get("COIN_AMOUNT"))
    min_price = parse_min_price(get("MIN_PRICE"))
    floor_tif = get("FLOOR_TIF", "gtc").strip().lower() or "gtc"
    if floor_tif not in ("gtc", "ioc"):
        raise ConfigError("FLOOR_TIF", "gtc or ioc", repr(get("FLOOR_TIF")))

    account = get("BITGET_ACCOUNT", "auto").strip().lower() or "auto"
    if account not in ("auto", "classic", "uta"):
        raise ConfigError("BITGET_ACCOUNT", "auto, classic or uta", repr(get("BITGET_ACCOUNT")))
    demo = _flag("BITGET_DEMO", get("BITGET_DEMO", "0"))
    private_feed = _flag("PRIVATE_FEED", get("PRIVATE_FEED", "1"))
    spin = get("SPIN", "auto").strip().lower() or "auto"
    if spin not in SPIN_MODES:
        raise ConfigError("SPIN", "auto, always or off", repr(get("SPIN")))
    spin_warm = _flag("SPIN_WARM", get("SPIN_WARM", "1"))
    rest_url = _url(
        "BITGET_REST_URL", get("BITGET_REST_URL") or DEFAULT_REST_URL, ("http", "https")
    )
    rest_url = rest_url.rstrip("/")
    ws_explicit = bool(get("BITGET_WS_URL").strip())
    if ws_explicit:
        ws_url = _url("BITGET_WS_URL", get("BITGET_WS_URL"), ("ws", "wss"))
    else:
        ws_url = default_ws_url(account, demo)
    locale = get("BITGET_LOCALE", "en-US").strip() or "en-US"
    if locale not in ("en-US", "zh-CN"):
        raise ConfigError("BITGET_LOCALE", "en-US or zh-CN", repr(locale))
    ca_file = get("BITGET_CA_FILE").strip() or None
    if ca_file is not None:
        check_ca_bundle(ca_file)
    open_time = get("OPEN_TIME").strip()

    tunables: dict[str, int | float | None] = {}
    for name, attr, default, kind, minimum in TUNABLES:
        raw = get(name, default) or default
        if name in ("SCHEDULE_LEAD_MS", "RACE_COPIES") and raw.strip().lower() == "auto":
            tunables[attr] = None  # aimed at the measured network (sniper.live.clock, .volley)
            continue
        tunables[attr] = _number(name, raw, kind, minimum)
    if (tunables["race_copies"] or 0) > MAX_RACE_COPIES:
        raise ConfigError(
            "RACE_COPIES", f"auto or a whole number 1-{MAX_RACE_COPIES}", repr(get("RACE_COPIES"))
        )
    if (tunables["volley_lanes"] or 0) > MAX_VOLLEY_LANES:
        raise ConfigError(
            "VOLLEY_LANES", f"a whole number 0-{MAX_VOLLEY_LANES}", repr(get("VOLLEY_LANES"))
        )
    if 0 < (tunables["sleep_warm_us"] or 0) < MIN_SLEEP_WARM_US:
        raise ConfigError(
            "SLEEP_WARM_US",
            f"0 or a whole number >= {MIN_SLEEP_WARM_US}",
            repr(get("SLEEP_WARM_US")),
        )
    if not (
        tunables["sched_slice_us"] == 0
        or MIN_SLICE_US <= (tunables["sched_slice_us"] or 0) <= MAX_SLICE_US
    ):
        raise ConfigError(
            "SCHED_SLICE_US",
            f"0 or a whole number {MIN_SLICE_US}-{MAX_SLICE_US}",
            repr(get("SCHED_SLICE_US")),
        )
    if (tunables["resign_interval_s"] or 0) >= 25:
        raise ConfigError(
            "RESIGN_INTERVAL_S",
            "a value < 25 s (signatures expire after 30 s)",
            repr(get("RESIGN_INTERVAL_S")),
        )

    notify = _notify_settings(get)
    warnings = _startup_warnings(path, from_file, rest_url, ws_url)
    warnings += tuple(_notify_warnings(get, notify))
    for warning in warnings:
        log.warning("%s", warning)

    return Config(
        api_key=creds["BITGET_API_KEY"],
        secret_key=creds["BITGET_SECRET_KEY"],
        passphrase=creds["BITGET_PASSPHRASE"],
        target=target,
        base_coin=base,
        quote_coin=quote,
        coin_amount=amount,
        min_price=min_price,
        floor_tif=floor_tif,
        rest_url=rest_url,
        ws_url=ws_url,
        ws_url_explicit=ws_explicit,
        account=account,
        demo=demo,
        private_feed=private_feed,
        spin=spin,
        spin_warm=spin_warm,
        locale=locale,
        ca_file=ca_file,
        open_time_ms=parse_open_time(open_time) if open_time else None,
        warnings=warnings,
        **notify,  # type: ignore[arg-type]
        **tunables,  # type: ignore[arg-type]
    )


def default_ws_url(account: str, demo: bool) -> str:
    """The public WS URL for an account mode (``auto`` resolves later; v2 until then)."""
    if account == "uta":
        return DEMO_WS_URL_V3 if demo else DEFAULT_WS_URL_V3
    return DEMO_WS_URL_V2 if demo else DEFAULT_WS_URL_V2
