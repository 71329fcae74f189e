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
# shows is not documented, "listed" is the closest reading. A symbol made with
# ``restricted_api=True`` shows ``restrictedAPI`` whatever its lifecycle status (§5.10, §5.11).
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
    # --- REST envelope (§4) ---
    # `requestTime` as a JSON number (default: the live captures rest_symbols_v2,
    # rest_place_order_v2, the error replies rest_error_v2*, doc examples rest_time_v2) or as a
    # string (the ccxt recordings rest_tickers_v2, rest_assets_v2 and every rest_*_v3 sample).
    # The real samples disagree among themselves, so a client must read both.
    request_time_as_string: bool = False
    # --- order validation (§6, §12.5) ---
    # place-order on an unknown symbol [UNCERTAIN]; alt "40102". Public v2 endpoints always
    # answer 40034 (observed).
    unknown_symbol_code: str = "40034"
    not_open_code: str = "43115"  # gray symbol (rest_error_v2 sample, §10.5)
    halt_code: str = "41114"  # halt / offline symbol (§6)
    # base-quantity bounds (symbol `min_order_qty` / `max_order_qty`): §6 "45111 / 45112"
    # [DOC]; the table also lists 43006 / 43007 for the same situation [UNCERTAIN]
    min_qty_code: str = "45111"
    max_qty_code: str = "45112"
    # a market order over the symbol's cap (`maxMarketOrderValue` v2 / `maxMarketOrderQty`
    # v3): 45113 "Maximum order value limit triggered", NOT executed (§5.11, §10.8; seen on a
    # real demo market sell — which generation is not stated, so v3 uses it too by default)
    max_market_code: str = "45113"
    v3_max_market_code: str = "45113"
    duplicate_code: str = "43118"
    # clientOid idempotency (§5.6: "idempotency time is 6 hours, only valid when orders are
    # unfilled"; §12.5). Each of the three is [UNCERTAIN]:
    # * where the duplicate check sits. §12.5 suggests last (after the balance check), but then a
    #   resend of a sell-all that FILLED answers 43012 "Insufficient balance" instead of 43118,
    #   which hides from the client that an earlier copy landed. Default: just before balance.
    duplicate_check: Literal["before_balance", "after_balance"] = "before_balance"
    # * which orders hold their clientOid: only "unfilled" (resting) ones (default: the
    #   place-order doc says idempotency is "only valid when orders are unfilled", §5.6, §10.8),
    #   so that a resend of a FILLED order is executed as a NEW order (a second sale); or "any"
    #   order (a kinder venue, kept as a variant the client is tested against too).
    duplicate_scope: Literal["any", "unfilled"] = "unfilled"
    # which order a lookup by clientOid answers when more than one order took it (a resend of a
    # FILLED order under duplicate_scope="unfilled", copies in flight accepted one after another
    # once an ioc copy was cancelled unfilled). §5.9 says only that v2 orderInfo's `data` is an
    # array; which order(s) it holds is [UNCERTAIN]: "newest" (the default), "oldest", or "all"
    # (v2: every order of the clientOid, oldest first; v3 order-info answers one object, so
    # "all" answers the oldest there).
    client_oid_lookup: Literal["newest", "oldest", "all"] = "newest"
    # * for how long after the order (exchange clock): then the clientOid is free again.
    duplicate_expiry_s: float = 6 * 3600.0
    taker_fee_rate: str = "0.001"  # charged on the received coin of a fill
    # v2 orderInfo rows: §5.9 [DOC] lists `cancelReason`, the real recorded reply
    # (rest_order_info_v2, 2024-03) has none. False (default): as recorded.
    v2_order_info_cancel_reason: bool = False
    # v3 (UTA) codes: bitget-api.md §5.11, Bitget's own table of the 25xxx family UTA REST
    # replies use (25100/25202/25204 also seen live / in SDK tests). Each is a field so a test
    # can choose a variant; the message follows the code (state.MESSAGES).
    v3_unknown_symbol_code: str = "25100"  # "Trading pair {0} does not exist"
    v3_not_open_code: str = "25101"  # "Trading pair not open for trading" (NOT 43115)
    v3_halt_code: str = "25102"  # "Trading pair temporarily closed for maintenance"
    v3_precision_code: str = "25610"  # "Order amount does not meet precision requirements"
    v3_min_value_code: str = "25611"  # "...greater than the minimum order amount"
    v3_min_qty_code: str = "25207"  # "{0} trading quantity cannot be less than {1} units"
    v3_max_qty_code: str = "25208"  # "{0} trading quantity cannot exceed {1} units"
    v3_restricted_code: str = "25013"  # "{0} not support API trade" (status restrictedAPI)
    v3_balance_code: str = "25202"
    v3_duplicate_code: str = "25212"
    v3_order_not_found_code: str = "25204"
    # [UNCERTAIN] what a UTA key without trade permission gets on a v3 trade endpoint: §5.11's
    # 25620 "permission denied" (the 25xxx family of UTA replies; default) or the shared
    # auth layer's 40014 "Incorrect permissions" (§3.4)
    v3_permission_code: str = "25620"
    v3_status_map: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_V3_STATUS_MAP))
    # --- open time on the symbol rows (§5.1, §5.11, §10.3) ---
    # v2 `openTime` of a row whose open is not announced: "" (default; real gray rows SLNUSDT,
    # PREMARKET3USDT of rest_symbols_v2) or "far_future" (`placeholder_open_time_ms`; the real
    # gray row CARUSDT carried 2056266000000, other gray rows 2030-2049 values) [UNCERTAIN].
    v2_unannounced_open_time: Literal["", "far_future"] = ""
    # v3 rows carry NO `openTime` (rest_instruments_v3, §5.11); the launch is `launchTime`
    # ([CODE] JKorf BitgetUaSpotSymbol.LaunchTime, nullable). For a row whose open is not
    # announced [UNCERTAIN]: "0" (default, §5.11 "0 or null for some pairs"; the least kind:
    # a client that parses it as a time sees an open in the past), "" , "null" (JSON null),
    # "far_future" (`placeholder_open_time_ms`) or "absent" (no launchTime key at all, as in the
    # documented example rest_instruments_v3).
    v3_unannounced_launch_time: Literal["0", "", "null", "far_future", "absent"] = "0"
    placeholder_open_time_ms: int = 2_056_266_000_000  # rest_symbols_v2 row CARUSDT
    # v3 `limitOpenTime` is a RESTRICTION time ("" or "-1" when none, §5.11), never the open;
    # "" in the documented example rest_instruments_v3, "-1" in a futures instruments row.
    v3_limit_open_time: Literal["", "-1"] = ""
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
    # [UNCERTAIN] v3 subscribe acks: the documented ack (ws_v3_ack) has no `connId`, live acks
    # reportedly carry one (GinArea/gobitget ws_response.go). v3 error events always carry
    # `connId` and no `arg` (real frames ws_v3_error_unknown_symbol, ws_v3_error_login).
    ws_v3_ack_conn_id: bool = False
    ticker_interval_s: tuple[float, float] = (0.1, 0.3)  # push period range, random in range
    # --- private WebSocket (§7.4; sniper/exchange/private_ws.py, checked by its check_settings)
    # login timestamp: seconds (every client, the v1 doc); 13-digit ms too (2026 probes: both
    # accepted on v2 and v3) [UNCERTAIN]; False: ms -> 30013
    ws_private_login_accept_ms: bool = True
    ws_private_login_window_s: float = 30.0  # login "expires 30 s after timestamp" -> 30014
    # [UNCERTAIN] `connId` in the v2 login ack: absent in the real 2024/2025 replies
    # (ws_v2_login_ok), present in a 2026 probe of both hosts (§7.4)
    ws_private_v2_login_conn_id: bool = False
    # the documented form (ws_v2_login_ok_documented, ws_v2_login_error): `"code":"0","msg":""`
    # and string error codes in login replies; False: the numeric codes of real replies
    ws_private_login_documented: bool = False
    # [UNCERTAIN] after a failed login the socket is closed (close frame 1008): the doc says it
    # disconnects; v3 was observed NOT to close within 8 s (ws_v3_login_error)
    ws_private_v2_login_error_closes: bool = True
    ws_private_v3_login_error_closes: bool = False
    # [UNCERTAIN] a key of the other account generation (UTA key on v2, classic key on v3):
    # refused with this code (30005, the generic "login failed" of §7.3: no source names a
    # dedicated code and REST's 40084/40085 have no WS counterpart), or None: logged in, acked,
    # and never sent a push (the least kind variant)
    ws_private_wrong_account_code: int | None = 30005
    # v2 order pushes with the 2024+ keys `newSize` and `stpMode` (the documented push,
    # ws_v2_orders_push); False: the 2023 key set of the real bbgo/ccxt frames (§7.4 drift)
    ws_private_v2_2024_fields: bool = True
    # [UNCERTAIN] v3 `order` pushes of an order that fills at once: one `filled` push, or
    # `new` then `filled` (§7.4: both observed on futures)
    ws_private_v3_order_statuses: Literal["filled", "new_filled"] = "filled"
    # [UNCERTAIN] v3 spot order / fill pushes also carry the futures-only keys of
    # ws_v3_order_push / ws_v3_fill_push (holdMode, marginCoin, ... empty), as the real spot
    # REST row carries holdMode "" (rest_order_info_v3); False: left out (no spot frame known)
    ws_private_v3_futures_keys: bool = False
    # one `account` snapshot of every coin right after its ack (the Account-Channel pages, the
    # source of ws_v2_account_push / ws_v3_account_push: "push ... for the first subscription")
    ws_private_account_snapshot_on_subscribe: bool = True
    # --- listing-day model (sniper/exchange/book.py; issue 13). Everything here is OFF by
    # default: without a bid book (`ex.state.set_book`) and with these defaults, orders match
    # exactly as before (marketable -> filled at once at the symbol's price). ---
    # With a bid book: a market SELL whose size the bids cannot cover executes what they hold
    # (§10.6/§10.10 thin book) and the rest is cancelled; the order's final status then is
    # [UNCERTAIN] (§5.9 lists `cancelled`; some venues report such a market order `filled`; a
    # dead order left `partially_filled` never sends a final push -- the least kind):
    book_market_rest_status: Literal["cancelled", "filled", "partially_filled"] = "cancelled"
    # ... or [UNCERTAIN] the venue refuses such a market order outright, nothing executed, with
    # §5.11's 25209 "Insufficient market liquidity, please try again later" (Bitget's table of
    # the 25xxx family, which the v2 error page carries too): "reject"
    book_market_thin: Literal["partial", "reject"] = "partial"
    thin_book_code: str = "25209"
    v3_thin_book_code: str = "25209"
    # a post_only limit that would take at once (§5.6 force post_only): [UNCERTAIN] no source
    # names Bitget's answer. "cancel": accepted, then `cancelled`, nothing executed (no code to
    # invent); "reject": refused with `post_only_reject_code` (an invented placeholder)
    post_only_marketable: Literal["cancel", "reject"] = "cancel"
    post_only_reject_code: str = "40808"
    v3_post_only_reject_code: str = "40808"
    # The price band of a LIMIT order (§5.1 buy/sellLimitPriceRatio, §10.6 "interpretation
    # [UNCERTAIN]", §6 40808 `delegatePrice`): "off" (default, as before); "ratio": a sell below
    # price x (1 - sellLimitPriceRatio) or a buy above price x (1 + buyLimitPriceRatio) is
    # refused; "divide" (stricter for sells): a sell below price / (1 + sellLimitPriceRatio).
    # `price` is the symbol's current (last) price. v2 answer: the real 40808 "Parameter
    # verification exception delegatePrice" (ccxt#25150); §6 also lists 43008/43009.
    price_band: Literal["off", "ratio", "divide"] = "off"
    price_band_code: str = "40808"
    v3_price_band_code: str = "40808"  # [UNCERTAIN] no v3 source; 40808 is the generic check
    # price decimals above pricePrecision (§5.6, §6 real "param price scale error error"): v2
    # 41103; v3 [UNCERTAIN] 41103 (as before) or the 25xxx precision code 25610 (§5.11)
    price_scale_code: str = "41103"
    v3_price_scale_code: str = "41103"
    # [UNCERTAIN for Bitget] §10.10: other venues refuse MARKET orders for the first minutes
    # after a listing (Bybit: 5 min). > 0: market orders are refused for that many seconds
    # after the pair went online (limit orders accepted); code: one of §6's undocumented
    # "not trading" codes (43119 "Trading is not open"; 43120, 50030 are alternatives), v3:
    # §5.11's 25101 "Trading pair not open for trading". `market_refused_msg` None: the code's
    # text from state.MESSAGES.
    market_orders_refused_for_s: float = 0.0
    market_refused_code: str = "43119"
    v3_market_refused_code: str = "25101"
    market_refused_msg: str | None = None
    # The call auction before the open (§5.3, §10.4: stages, which order types each accepts
    # [UNCERTAIN]; other venues' auctions take limit orders only). > 0: for that many seconds
    # before a scheduled open (`open_at_ms`) the gray pair is in its auction: an order whose
    # orderType ("market" / "limit") or, for a limit, whose force ("gtc", "normal", "ioc",
    # "fok", "post_only") is in `auction_accepts` is accepted and waits `live` (funds frozen)
    # for the open, where the waiting orders execute together against the bids at ONE
    # clearing price (the lowest bid any of them reached; without a book, the symbol's price);
    # others get `auction_refused_code` (default the not-open code 43115 / v3 25101, §10.5).
    auction_window_s: float = 0.0
    auction_accepts: tuple[str, ...] = ("limit",)
    auction_refused_code: str = "43115"
    v3_auction_refused_code: str = "25101"
    # §7.4: the spot `cancelled` push; futures frames spell it `canceled` [UNCERTAIN for spot]
    ws_private_cancelled_status: Literal["cancelled", "canceled"] = "cancelled"
    # --- simulated WAN (sniper/exchange/wan.py; issue 14). 0 / 0 (default): loopback, every
    # byte flows as before. Otherwise each chunk, per direction and connection, is delayed by
    # one_way + U(-jitter, +jitter) ms (uniform, clamped at 0), FIFO per connection (TCP never
    # reorders): requests ARRIVE that much later (not-open 43115 / 25101, matching,
    # `requestTime` and `serverTime` use that instant, §3.3, §4), replies and WS frames reach
    # the client that much later. Read at every chunk; `wan_seed` (the jitter's RNG) at
    # construction. ---
    wan_one_way_ms: float = 0.0
    wan_jitter_ms: float = 0.0
    wan_seed: int | None = None
    # place-order is 10/s per UID (§5, §12.3). Whether an attempt the venue REFUSES as not open
    # (43115 / 25101, §10.5) consumes that budget is [UNCERTAIN]: True (default, the stricter
    # reading): every attempt that passes the bucket counts, refused or not; False: a not-open
    # refusal gives its token back.
    place_order_limit_counts_refused: bool = True

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
        if self.client_oid_lookup not in ("newest", "oldest", "all"):
            raise ValueError(
                "client_oid_lookup must be 'newest', 'oldest' or 'all', "
                f"got {self.client_oid_lookup!r}"
            )
        if self.v2_unannounced_open_time not in ("", "far_future"):
            raise ValueError(
                "v2_unannounced_open_time must be '' or 'far_future', "
                f"got {self.v2_unannounced_open_time!r}"
            )
        if self.v3_unannounced_launch_time not in ("0", "", "null", "far_future", "absent"):
            raise ValueError(
                "v3_unannounced_launch_time must be one of '0', '', 'null', 'far_future', "
                f"'absent', got {self.v3_unannounced_launch_time!r}"
            )
        if self.v3_limit_open_time not in ("", "-1"):
            raise ValueError(
                f"v3_limit_open_time must be '' or '-1', got {self.v3_limit_open_time!r}"
            )
        self._check_listing_day()

    def _check_listing_day(self) -> None:
        """ValueError for a listing-day setting out of its range."""
        choices: dict[str, tuple[str, ...]] = {
            "book_market_rest_status": ("cancelled", "filled", "partially_filled"),
            "book_market_thin": ("partial", "reject"),
            "post_only_marketable": ("cancel", "reject"),
            "price_band": ("off", "ratio", "divide"),
            "ws_private_cancelled_status": ("cancelled", "canceled"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.market_orders_refused_for_s < 0 or self.auction_window_s < 0:
            raise ValueError("market_orders_refused_for_s and auction_window_s must be >= 0")
        kinds = {"market", "limit", "gtc", "normal", "ioc", "fok", "post_only"}
        unknown = set(self.auction_accepts) - kinds
        if unknown:
            raise ValueError(f"auction_accepts: unknown order kinds {sorted(unknown)}")

    def rate_limit_table(self) -> dict[str, float]:
        """The effective path -> requests/s table (empty when limits are off)."""
        if self.rate_limits is False:
            return {}
        table = dict(DEFAULT_RATE_LIMITS)
        if isinstance(self.rate_limits, Mapping):
            table.update(self.rate_limits)
        return {path: rate for path, rate in table.items() if rate > 0}
