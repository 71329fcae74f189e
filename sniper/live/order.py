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
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

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


def floor_price(min_price: str, precision: int | None) -> tuple[str, str | None]:
    """(the limit price to send, a warning or None) for ``MIN_PRICE``. Decimal only.

    With the pair's ``pricePrecision`` known, a floor with more decimals is rounded UP to it
    (the order must never sell below the floor) and a warning says so; a floor that fits is sent
    as given. Not known yet: sent as given (re-templated once the pair shows its precision)."""
    price = Decimal(min_price)
    if precision is None or precision < 0:
        return min_price, None
    quantum = Decimal(1).scaleb(-precision)
    rounded = price.quantize(quantum, rounding=ROUND_CEILING)
    if rounded == price:
        return min_price, None
    text = format_decimal(rounded)
    return text, (
        f"MIN_PRICE {min_price} has more than {precision} decimals (the pair's pricePrecision): "
        f"the floor sent is {text}, rounded up so that nothing sells below MIN_PRICE"
    )


def lowest_band_price(last_price: Decimal, sell_ratio: Decimal) -> Decimal:
    """The lowest sell limit price the pair's band lets through at ``last_price``: last x
    (1 - sellLimitPriceRatio) and, as the stricter reading of §10.6 [UNCERTAIN], last / (1 +
    ratio) — the higher of the two, so a floor above it is accepted under either reading."""
    by_ratio = last_price * (1 - sell_ratio)
    by_divide = last_price / (1 + sell_ratio)
    return max(by_ratio, by_divide)


def band_warning(
    price: str, last_price: Decimal | None, sell_ratio: Decimal | None, quote: str
) -> str | None:
    """A warning when the floor ``price`` is below what the pair's price band allows at the last
    price (the exchange would refuse the limit sell: 40808), else None (also when the band or
    the price is not known yet)."""
    if last_price is None or sell_ratio is None or last_price <= 0:
        return None
    lowest = lowest_band_price(last_price, sell_ratio)
    if Decimal(price) >= lowest:
        return None
    return (
        f"the floor {price} {quote} is below the pair's sell price band at the last price "
        f"{format_decimal(last_price)} (sellLimitPriceRatio {format_decimal(sell_ratio)}: "
        f"lowest ≈ {format_decimal(lowest.quantize(Decimal(1).scaleb(-12)))}): the exchange "
        "would refuse the limit sell (40808) — raise MIN_PRICE"
    )


_SECRET_HEADER_RE = re.compile(rb"^(ACCESS-(?:KEY|SIGN|PASSPHRASE)): ?(.*)$", re.I | re.M)


def masked_request(request: bytes) -> str:
    """The request as text with ACCESS-KEY / ACCESS-SIGN / ACCESS-PASSPHRASE masked."""

    def repl(m: re.Match[bytes]) -> bytes:
        value = m.group(2).rstrip(b"\r").decode("ascii", "replace")
        return m.group(1) + b": " + mask(value).encode() + b"\r"

    return _SECRET_HEADER_RE.sub(repl, request).decode("utf-8", "replace")


class PreparedOrder:
    """The pre-signed sell — a market order, or with ``MIN_PRICE`` a limit sell at the floor
    (``price``, formatted to the pair's pricePrecision; ``tif`` gtc | ioc). ``request`` is
    always freshly signed bytes."""

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
        self.price: str | None = None  # the floor as sent (None: a market order)
        # the whole sale this order starts: ``size`` unless a market-order cap splits it into
        # chunks (sniper.live.chunks), this order being the first
        self.total: str | None = None
        self.tif = config.floor_tif if config.min_price is not None else None
        self.template: OrderTemplate | None = None
        self.resigns = 0

    @property
    def kind(self) -> str:
        """``market``, or ``limit`` (a floor)."""
        return "market" if self.config.min_price is None else "limit"

    def build(self, size: str, price: str | None = None, *, total: str | None = None) -> None:
        """(Re)build the template for ``size`` (and, with a floor, the limit ``price``; None: the
        price last built, else MIN_PRICE as given) and hand the signed bytes to the trigger."""
        if self.config.min_price is not None:
            price = price or self.price or self.config.min_price
            call = self.venue.order_call(
                size, self.client_oid, price=price, tif=self.config.floor_tif
            )
        else:
            price = None
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
        self.total = total or size
        self.price = price
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
