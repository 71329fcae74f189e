"""REST off the hot path (aiohttp): clock samples, credential check, balance, symbol polls,
order lookups. Every signed call is signed with SERVER time (``ServerClock``).

Replies are read up to :data:`MAX_REPLY_BYTES`: a longer one is never buffered whole, it is an
:class:`~sniper.errors.ExchangeUnavailable` (an unusable answer, never a rejection)."""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from sniper._fast import sign
from sniper.config import Config
from sniper.errors import ExchangeUnavailable, StartupError
from sniper.live.clock import ServerClock
from sniper.live.venue import Call, Envelope, Venue, parse_envelope

# The largest REST reply read: far above any real one (a symbols row is about 1 KB, so even the
# whole ~800-pair list is under 1 MB), far below harm (one unbounded reply seen in review took the
# process to 975 MB).
MAX_REPLY_BYTES = 4 * 1024 * 1024
_READ_CHUNK = 64 * 1024


def client_ssl_context(config: Config) -> ssl.SSLContext:
    """The system trust store, plus ``BITGET_CA_FILE`` when set. A CA file that cannot be loaded
    (unreadable, not PEM) is a :class:`StartupError` naming the file (exit 2)."""
    ctx = ssl.create_default_context()
    if config.ca_file:
        try:
            ctx.load_verify_locations(cafile=config.ca_file)
        except ssl.SSLError as exc:  # before OSError: SSLError is one
            raise StartupError(
                f"BITGET_CA_FILE: expected a PEM bundle of CA certificates, got "
                f"{config.ca_file!r}, which has none OpenSSL can load ({exc.reason or exc})"
            ) from None
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise StartupError(
                f"BITGET_CA_FILE: expected a readable PEM bundle of CA certificates, got "
                f"{config.ca_file!r} ({reason})"
            ) from None
    return ctx


class ReplyTooLarge(ExchangeUnavailable):
    """A REST reply longer than the cap: unusable, and not read further."""


async def read_capped(resp: aiohttp.ClientResponse, limit: int = MAX_REPLY_BYTES) -> bytes:
    """The body of ``resp``, or :class:`ReplyTooLarge` as soon as it exceeds ``limit`` bytes
    (a declared Content-Length over it is refused before reading). Never holds more than
    ``limit`` plus one chunk."""
    declared = resp.content_length
    if declared is not None and declared > limit:
        raise ReplyTooLarge(None, None, f"reply larger than {limit} bytes (HTTP {resp.status})")
    body = bytearray()
    async for chunk in resp.content.iter_chunked(_READ_CHUNK):
        body += chunk
        if len(body) > limit:
            raise ReplyTooLarge(None, None, f"reply larger than {limit} bytes (HTTP {resp.status})")
    return bytes(body)


def auth_headers(config: Config, call: Call, timestamp_ms: int) -> dict[str, str]:
    prehash = f"{timestamp_ms}{call.method}{call.path_with_query}".encode() + call.body
    signature = sign(config.secret_key.reveal().encode(), prehash)
    headers = {
        "ACCESS-KEY": config.api_key.reveal(),
        "ACCESS-SIGN": signature.decode() if isinstance(signature, bytes) else str(signature),
        "ACCESS-TIMESTAMP": str(timestamp_ms),
        "ACCESS-PASSPHRASE": config.passphrase.reveal(),
        "Content-Type": "application/json",
        "locale": config.locale,
    }
    if config.demo:
        headers["paptrading"] = "1"
    return headers


class RestClient:
    """One aiohttp session for everything that is not the order itself."""

    def __init__(self, config: Config, clock: ServerClock, venue: Venue) -> None:
        self.config = config
        self.clock = clock
        self.venue = venue
        self.host = urlsplit(config.rest_url).hostname or ""
        self._session: aiohttp.ClientSession | None = None
        self.calls = 0  # requests made (status line)

    async def __aenter__(self) -> RestClient:
        ssl_ctx: ssl.SSLContext | bool = (
            client_ssl_context(self.config) if self.config.rest_url.startswith("https") else False
        )
        connector = aiohttp.TCPConnector(ssl=ssl_ctx, limit=8, ttl_dns_cache=3600)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=10)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, call: Call, *, signed: bool, time_limit_s: float = 5.0) -> Envelope:
        """Send one call and parse the envelope. Network trouble, or a reply longer than
        :data:`MAX_REPLY_BYTES` (:class:`ReplyTooLarge`) → :class:`ExchangeUnavailable`
        (``http_status=None``); any other HTTP answer (even 4xx/5xx) comes back as an
        Envelope."""
        assert self._session is not None, "RestClient used outside `async with`"
        headers = {"locale": self.config.locale}
        if call.body:
            headers["Content-Type"] = "application/json"
        if self.config.demo:  # demo trading: on every REST call, public ones too (§2, §9)
            headers["paptrading"] = "1"
        if signed:
            headers = auth_headers(self.config, call, self.clock.now_ms())
        url = URL(self.config.rest_url + call.path_with_query, encoded=True)
        self.calls += 1
        try:
            async with self._session.request(
                call.method,
                url,
                data=call.body or None,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=time_limit_s),
            ) as resp:
                try:
                    body = await read_capped(resp)
                except ReplyTooLarge as exc:
                    resp.close()  # drop the connection: the rest of the body is never read
                    raise ReplyTooLarge(None, None, exc.msg, hint=call.path) from None
                return parse_envelope(resp.status, body)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            reason = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
            raise ExchangeUnavailable(None, None, reason, hint=f"{call.path} unreachable") from None

    async def server_time_ms(self) -> int:
        env = await self.request(self.venue.time_call(), signed=False)
        if not env.ok:
            raise ExchangeUnavailable(env.http_status, env.code, env.msg, hint="server time")
        return self.venue.parse_server_time(env.data)
