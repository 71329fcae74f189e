"""The one sell order of the run: its size, its clientOid, its pre-signed request bytes.

``PreparedOrder`` owns the ``OrderTemplate`` (compiled core), re-signs it with server time and
hands each fresh copy of the bytes to the ``OrderTrigger``. The request says
``User-Agent: sniper/<version>`` (``lanes.USER_AGENT``), like the keep-alives on the same
connections. The clientOid is chosen once per run
and never changes, whatever is rebuilt or resent.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal

from sniper._fast import OrderTemplate
from sniper.config import Config
from sniper.errors import ConfigError
from sniper.live.clock import ServerClock
from sniper.live.lanes import USER_AGENT
from sniper.live.venue import Venue
from sniper.secrets import mask

CLIENT_OID_PREFIX = "snp-"


def new_client_oid() -> str:
    """``snp-`` + 24 hex chars: unique per run, valid for Bitget (<= 40 chars, [0-9A-Za-z-])."""
    return CLIENT_OID_PREFIX + uuid.uuid4().hex[:24]


def format_decimal(value: Decimal) -> str:
    """Plain notation, no exponent, no trailing zeros (``1020200``, ``0.5``)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def order_size(
    coin_amount: str, available: Decimal | None, precision: int | None
) -> tuple[str | None, str | None]:
    """(size to send or None if nothing can be sold yet, a warning or None). Decimal only.

    An explicit amount is sent as given unless it has more decimals than the pair allows; then it
    is floored to ``precision`` decimals (never sells more than asked) and a warning says so; an
    explicit amount smaller than one step (``10**-precision``) raises :class:`ConfigError`.
    ``all`` sells the available balance, floored the same way (a balance below one step is
    "nothing to sell yet", not an error: dust, or the deposit has not landed).
    """
    warning = None
    if coin_amount == "all":
        if available is None or available <= 0:
            return None, None
        amount = available
    else:
        amount = Decimal(coin_amount)
    if precision is not None and precision >= 0:
        quantum = Decimal(1).scaleb(-precision)
        truncated = amount.quantize(quantum, rounding=ROUND_DOWN)
        if truncated != amount:
            if coin_amount != "all":
                warning = (
                    f"COIN_AMOUNT {coin_amount} has more than {precision} decimals "
                    f"(the pair's quantityPrecision): selling {format_decimal(truncated)}"
                )
            amount = truncated
    if amount <= 0:
        if coin_amount != "all" and precision is not None:
            step = format_decimal(Decimal(1).scaleb(-precision))
            raise ConfigError(
                "COIN_AMOUNT",
                f"at least one step of the pair's quantityPrecision ({precision} decimals: {step})",
                f"{coin_amount}, which floors to 0",
            )
        return None, warning
    if coin_amount != "all" and warning is None:
        return coin_amount, None
    return format_decimal(amount), warning


_SECRET_HEADER_RE = re.compile(rb"^(ACCESS-(?:KEY|SIGN|PASSPHRASE)): ?(.*)$", re.I | re.M)


def masked_request(request: bytes) -> str:
    """The request as text with ACCESS-KEY / ACCESS-SIGN / ACCESS-PASSPHRASE masked."""

    def repl(m: re.Match[bytes]) -> bytes:
        value = m.group(2).rstrip(b"\r").decode("ascii", "replace")
        return m.group(1) + b": " + mask(value).encode() + b"\r"

    return _SECRET_HEADER_RE.sub(repl, request).decode("utf-8", "replace")


class PreparedOrder:
    """The pre-signed market sell. ``request`` is always freshly signed bytes."""

    def __init__(
        self,
        config: Config,
        venue: Venue,
        clock: ServerClock,
        host_header: str,
        on_request: Callable[[bytes], None],
        client_oid: str | None = None,
    ) -> None:
        self.config = config
        self.venue = venue
        self.clock = clock
        self.host_header = host_header
        self.client_oid = client_oid or new_client_oid()
        self._on_request = on_request
        self.size: str | None = None
        self.template: OrderTemplate | None = None
        self.resigns = 0

    def build(self, size: str) -> None:
        """(Re)build the template for ``size`` and hand the signed bytes to the trigger."""
        call = self.venue.order_call(size, self.client_oid)
        self.template = OrderTemplate(
            method=call.method,
            host=self.host_header,
            path=call.path,
            query=call.query,
            body=call.body,
            api_key=self.config.api_key.reveal(),
            secret=self.config.secret_key,  # a Secret: revealed only inside sign()
            passphrase=self.config.passphrase.reveal(),
            locale=self.config.locale,
            demo=self.config.demo,
            timestamp_ms=self.clock.now_ms(),
            user_agent=USER_AGENT,  # in the pre-built bytes: costs nothing at the fire
        )
        self.size = size
        self._on_request(self.template.request)

    def resign(self) -> bytes | None:
        """Re-sign with the current server time; returns the new bytes (None if not built)."""
        if self.template is None:
            return None
        self.template.resign(self.clock.now_ms())
        self.resigns += 1
        request: bytes = self.template.request
        self._on_request(request)
        return request

    @property
    def request(self) -> bytes | None:
        return None if self.template is None else self.template.request
