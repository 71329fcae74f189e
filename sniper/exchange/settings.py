"""Every knob of the embedded exchange, with the reference section it comes from.

Where ``/work/shared/bitget-api.md`` marks a behaviour [UNCERTAIN], the behaviour is a field
here so a test can pin down the variant it wants. Codes are strings for REST (Bitget's REST
envelope carries ``"code":"40034"``) and ints for WebSocket events (``"code":30001``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# Requests per second, per endpoint (§5 table; v3 mirrors v2). Public endpoints are counted per
# client IP, private ones per API key.
DEFAULT_RATE_LIMITS: dict[str, float] = {
    "/api/v2/public/time": 20,
    "/api/v2/spot/public/symbols": 20,
    "/api/v2/spot/market/tickers": 20,
    "/api/v2/spot/account/assets": 10,
    "/api/v2/spot/trade/place-order": 10,
    "/api/v2/spot/trade/orderInfo": 20,
    "/api/v3/market/instruments": 20,
    "/api/v3/market/tickers": 20,
    "/api/v3/account/settings": 10,
    "/api/v3/account/assets": 10,
    "/api/v3/trade/place-order": 10,
    "/api/v3/trade/order-info": 20,
}

# How a v2 symbol status reads in the v3 instruments list (§5.10). [UNCERTAIN]: UTA statuses
# are listed/online/limit_open/limit_close/offline/restrictedAPI; which one a pre-open pair
# shows is not documented, "listed" is the closest reading.
DEFAULT_V3_STATUS_MAP: dict[str, str] = {
    "gray": "listed",
    "online": "online",
    "halt": "limit_close",
    "offline": "offline",
}


@dataclass
class ExchangeSettings:
    """Configuration of one :class:`~sniper.exchange.EmbeddedExchange`.

    Mutable on purpose: a test may flip a field between two requests (for example
    ``timestamp_window_ms``); fields read at start only are marked so.
    """

    # --- transport (read at start) ---
    host: str = "127.0.0.1"
    port: int = 0  # 0 = ephemeral; REST and WS share this one port
    tls: bool = False  # throwaway trustme CA + cert; https:// and wss://
    # an idle keep-alive HTTP connection is closed after this long (aiohttp's default; the real
    # front door's value is not documented)
    http_keepalive_timeout_s: float = 75.0
    # keep at most this many RequestRecords (oldest dropped); None = all (tests). The CLI,
    # which may run for hours under a polling client, sets a cap.
    max_request_records: int | None = None
    # --- environment ---
    demo: bool = False  # every REST call must carry `paptrading: 1` (§2, §9)
    demo_error_code: str = "40099"  # [UNCERTAIN] "exchange environment is incorrect"
    demo_error_msg: str = "exchange environment is incorrect"
    # --- authentication (§3) ---
    timestamp_window_ms: int = 30_000  # |ACCESS-TIMESTAMP - server clock| allowed
    passphrase_error_code: str = "40012"  # [UNCERTAIN] alt "40036"
    passphrase_error_msg: str = "apikey/password is incorrect"
    # --- account generation (§1) ---
    classic_on_v3_code: str = "40084"  # [OBS] code only, message text unknown
    # [UNCERTAIN] wording, modelled on the real 40085 text
    classic_on_v3_msg: str = (
        "You are in Classic Account mode, and the Unified Account API is not supported"
    )
    uta_on_v2_code: str = "40085"
    # real reply text, ccxt#26838
    uta_on_v2_msg: str = (
        "You are in Unified Account mode, and the Classic Account API is not supported at this time"
    )
    # --- order validation (§6, §12.5) ---
    # place-order on an unknown symbol [UNCERTAIN]; alt "40102". Public v2 endpoints always
    # answer 40034 (observed).
    unknown_symbol_code: str = "40034"
    not_open_code: str = "43115"  # gray symbol
    halt_code: str = "41114"  # halt / offline symbol
    duplicate_code: str = "43118"
    # clientOid idempotency (§5.6: "idempotency time is 6 hours, only valid when orders are
    # unfilled"; §12.5). Each of the three is [UNCERTAIN]:
    # * where the duplicate check sits. §12.5 suggests last (after the balance check), but then a
    #   resend of a sell-all that FILLED answers 43012 "Insufficient balance" instead of 43118,
    #   which hides from the client that an earlier copy landed. Default: just before balance.
    duplicate_check: Literal["before_balance", "after_balance"] = "before_balance"
    # * which orders hold their clientOid: "any" order (default), or only "unfilled" (resting)
    #   ones, so that a resend of a FILLED order is executed as a NEW order (a second sale).
    duplicate_scope: Literal["any", "unfilled"] = "any"
    # * for how long after the order (exchange clock): then the clientOid is free again.
    duplicate_expiry_s: float = 6 * 3600.0
    taker_fee_rate: str = "0.001"  # charged on the received coin of a fill
    # v3 (UTA) codes. 25202/25212/25204/25100 are seen in SDKs or probes; the not-open,
    # precision and min-value codes for UTA are not documented anywhere found, so the v2
    # codes are reused by default [UNCERTAIN].
    v3_unknown_symbol_code: str = "25100"
    v3_not_open_code: str = "43115"
    v3_halt_code: str = "41114"
    v3_precision_code: str = "40808"
    v3_min_value_code: str = "45110"
    v3_balance_code: str = "25202"
    v3_duplicate_code: str = "25212"
    v3_order_not_found_code: str = "25204"
    v3_status_map: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_V3_STATUS_MAP))
    v3_include_open_time: bool = True  # also emit `openTime` next to `limitOpenTime`
    # --- rate limits (§4, §5, §12.3) ---
    # True: DEFAULT_RATE_LIMITS. False: none. A mapping: DEFAULT_RATE_LIMITS overlaid by it
    # (path -> requests/s; 0 or a negative number disables that endpoint's bucket).
    rate_limits: bool | Mapping[str, float] = True
    # --- WebSocket (§7) ---
    ws_idle_timeout_s: float = 120.0  # close (abort, like the real 1006) without a text ping
    ws_max_lifetime_s: float | None = 24 * 3600.0  # forced disconnect (newer doc revision)
    ws_max_msgs_per_s: int = 10  # client->server messages incl. `ping`; exceed -> 30007 + close
    ws_max_subs_per_hour: int = 240  # subscribe args per connection; exceed -> 30006 per arg
    ws_gray_subscribable: bool = True  # [UNCERTAIN] gray pairs acked (no pushes) or 30001
    # [UNCERTAIN] §7.3: a clone acked a gray pair and sent a (probably empty) snapshot. True:
    # one snapshot right after the ack of a gray ticker, data[0] an object with every price "0"
    # (a client that takes any ticker data as "open" fires early and meets 43115)
    ws_gray_snapshot: bool = False
    ticker_interval_s: tuple[float, float] = (0.1, 0.3)  # push period range, random in range

    def __post_init__(self) -> None:
        if self.duplicate_check not in ("before_balance", "after_balance"):
            raise ValueError(
                "duplicate_check must be 'before_balance' or 'after_balance', "
                f"got {self.duplicate_check!r}"
            )
        if self.duplicate_scope not in ("any", "unfilled"):
            raise ValueError(
                f"duplicate_scope must be 'any' or 'unfilled', got {self.duplicate_scope!r}"
            )

    def rate_limit_table(self) -> dict[str, float]:
        """The effective path -> requests/s table (empty when limits are off)."""
        if self.rate_limits is False:
            return {}
        table = dict(DEFAULT_RATE_LIMITS)
        if isinstance(self.rate_limits, Mapping):
            table.update(self.rate_limits)
        return {path: rate for path, rate in table.items() if rate > 0}
