"""REST off the hot path (aiohttp): clock samples, credential check, balance, symbol polls,
order lookups. Every signed call is signed with SERVER time (``ServerClock``)."""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from sniper._fast import sign
from sniper.config import Config
from sniper.errors import ExchangeUnavailable
from sniper.live.clock import ServerClock
from sniper.live.venue import Call, Envelope, Venue, parse_envelope


def client_ssl_context(config: Config) -> ssl.SSLContext:
    """The system trust store, plus ``BITGET_CA_FILE`` when set."""
    ctx = ssl.create_default_context()
    if config.ca_file:
        ctx.load_verify_locations(cafile=config.ca_file)
    return ctx


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
        """Send one call and parse the envelope. Network trouble → :class:`ExchangeUnavailable`
        (``http_status=None``); any HTTP answer (even 4xx/5xx) comes back as an Envelope."""
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
                body = await resp.read()
                return parse_envelope(resp.status, body)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            reason = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
            raise ExchangeUnavailable(None, None, reason, hint=f"{call.path} unreachable") from None

    async def server_time_ms(self) -> int:
        env = await self.request(self.venue.time_call(), signed=False)
        if not env.ok:
            raise ExchangeUnavailable(env.http_status, env.code, env.msg, hint="server time")
        return self.venue.parse_server_time(env.data)
