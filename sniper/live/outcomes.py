"""What an exchange answer means for the sniper: retry classification and plain-words hints.

Pure logic, no I/O. Each API generation has a :class:`CodeTable` (``V2_TABLE`` for the classic
account, ``V3_TABLE`` for UTA with its 25xxx codes, bitget-api.md §5.10-§5.11); the venue
(``venue.py``) picks its table, so the executor never spells a code.

A code is *known* when some set or hint of the table names it. Only known codes can be final:
an answer whose code no table knows is :attr:`Outcome.UNKNOWN` (looked up, then retried, paced,
within the retry window), never a rejection.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Outcome(enum.Enum):
    """What the executor does with one answer to the place-order request."""

    ACCEPTED = "accepted"  # the order exists: done
    # refused before execution (429, 25004, 25209): re-sign and resend the same clientOid,
    # paced, within the retry window
    RETRY = "retry"
    # the signature's timestamp was refused (40008): not executed; re-sync, re-sign, resend
    RESYNC = "resync"
    NOT_OPEN_YET = "not-open-yet"  # not trading yet (43115 / 25101): retry ~10/s until open
    DUPLICATE = "duplicate"  # the clientOid already exists: an earlier send landed; look it up
    # the order may or may not exist (5xx, 40015/40010/25000/25001, a body that is no
    # envelope): reconciled before any resend, exactly like a copy that got no answer
    AMBIGUOUS = "ambiguous"
    # a code no table knows: not a verdict while the pair may be opening. Look the order up;
    # not found -> try again, paced, within the retry window
    UNKNOWN = "unknown"
    REJECTED = "rejected"  # final (a code known to be final): stop, report, exit 3


# --- v2 classic tables (bitget-api.md §3.4, §6) ------------------------------------------------

V2_SUCCESS = "00000"
# Transient answers, by what they prove (issue 12, ARCHITECTURE.md "Order answers"):
# * rate limits are refused at the door: the order was NOT executed, resend after a pause;
V2_RATE_LIMITED = frozenset({"429"})
# * "system is abnormal / timed out / try again" may come from a matching engine that already
#   took the order: AMBIGUOUS — reconciled (looked up, holdings read), never resent blindly.
V2_AMBIGUOUS = frozenset({"40015", "40010", "40200", "43059", "45001", "40725"})
V2_RETRYABLE = V2_RATE_LIMITED | V2_AMBIGUOUS  # for any REST read: worth asking again later
# the signature's timestamp was refused (clock step, skew): proves NOT executed; re-sync the
# clock, re-sign and resend (§3.3)
TIMESTAMP_CODES = frozenset({"40004", "40008"})
V2_NOT_OPEN = frozenset({"43115", "43119", "43120", "50030", "41114"})
V2_DUPLICATE = frozenset({"43118", "40708", "40786", "45034", "50060"})
V2_ORDER_NOT_FOUND = frozenset({"43001", "43025", "40109"})
V2_SYMBOL_ABSENT = frozenset({"40034", "40102", "42016"})

# code -> (what it means, how to fix it). Never contains a secret: only codes and fixed words.
V2_HINTS: Mapping[str, tuple[str, str]] = {
    "40001": ("API key header missing", "set BITGET_API_KEY"),
    "40002": ("signature header missing", "set BITGET_SECRET_KEY"),
    "40003": ("signature missing", "set BITGET_SECRET_KEY"),
    "40011": ("passphrase header missing", "set BITGET_PASSPHRASE"),
    "40006": ("API key not found", "check BITGET_API_KEY (copy it again from API management)"),
    "40037": ("API key not found", "check BITGET_API_KEY (copy it again from API management)"),
    "40009": ("signature rejected", "check BITGET_SECRET_KEY"),
    "40012": ("wrong passphrase", "check BITGET_PASSPHRASE (the one chosen when the key was made)"),
    "40036": ("wrong passphrase", "check BITGET_PASSPHRASE (the one chosen when the key was made)"),
    "40004": ("timestamp rejected", "clock: sync this machine's clock (NTP) and retry"),
    "40008": ("timestamp rejected", "clock: sync this machine's clock (NTP) and retry"),
    "40005": ("timestamp rejected", "clock: sync this machine's clock (NTP) and retry"),
    "40018": ("IP not whitelisted", "add this machine's public IP to the API key's IP whitelist"),
    "40038": ("IP not whitelisted", "add this machine's public IP to the API key's IP whitelist"),
    "40014": ("key lacks permission", "enable spot trading (read + trade) on the API key"),
    "40085": (
        "this key belongs to a Unified Trading Account (UTA), not a classic one",
        "set BITGET_ACCOUNT=uta (or leave it at auto)",
    ),
    "40084": (
        "this key belongs to a classic account, not a Unified Trading Account",
        "set BITGET_ACCOUNT=classic (or leave it at auto)",
    ),
    "40099": ("wrong environment for this key", "demo keys need BITGET_DEMO=1, live keys 0"),
    "43012": (
        "insufficient balance",
        "deposit the coins or lower COIN_AMOUNT (balance is read again while waiting)",
    ),
    "45110": ("order value below the pair's minimum", "raise COIN_AMOUNT"),
    "45111": ("quantity below the pair's minimum", "raise COIN_AMOUNT"),
    "43006": ("quantity below the pair's minimum", "raise COIN_AMOUNT"),
    "45112": ("quantity above the pair's maximum", "lower COIN_AMOUNT"),
    "43007": ("quantity above the pair's maximum", "lower COIN_AMOUNT"),
    "45113": ("order value above the pair's maximum", "lower COIN_AMOUNT"),
    "40808": (
        "quantity precision rejected",
        "COIN_AMOUNT has more decimals than the pair allows (quantityPrecision)",
    ),
    "43125": ("too many decimals", "COIN_AMOUNT has more decimals than the pair allows"),
    "40034": ("symbol does not exist", "check TARGET_TOKEN"),
    "40102": ("symbol does not exist", "check TARGET_TOKEN"),
    "41113": ("the pair is offline", "check the listing announcement"),
    "40019": ("a request parameter is empty", "report this: the request is malformed"),
    "40020": ("a request parameter is invalid", "report this: the request is malformed"),
    "40304": ("clientOid rejected", "report this: the clientOid is malformed"),
    "40305": ("clientOid rejected", "report this: the clientOid is malformed"),
    "40000": ("the account is restricted (region/KYC)", "check the account on bitget.com"),
    # transient (retried; the words only show in warnings or after the retry window)
    "40015": ("exchange busy", "retried automatically"),
    "40010": ("request timed out at the exchange", "retried automatically"),
    "40200": ("exchange upgrading", "retried automatically"),
    "43059": ("request failed at the exchange", "retried automatically"),
    "45001": ("unknown exchange error", "retried automatically"),
    "40725": ("exchange service error", "retried automatically"),
    "429": ("rate limited by the exchange", "retried automatically, slower"),
    "43115": ("pair not open yet", "retried until it opens"),
    "43118": ("duplicate clientOid", "an earlier copy landed; looked up"),
    "43001": ("order does not exist", "looked up again"),
    "40035": ("the account is restricted (region/KYC)", "check the account on bitget.com"),
}

AUTH_CODES = frozenset(
    {
        "40001",
        "40002",
        "40003",
        "40004",
        "40005",
        "40006",
        "40008",
        "40009",
        "40011",
        "40012",
        "40014",
        "40018",
        "40036",
        "40037",
        "40038",
        "40084",
        "40085",
        "40099",
    }
)


# --- v3 UTA tables (bitget-api.md §5.10, §5.11) ------------------------------------------------
# UTA REST replies use the 25xxx family (§5.11, Bitget's own error-code table; 25100/25202/25204
# confirmed by probes and SDK tests). The v2 sets are kept alongside: auth and envelope-level
# codes (400xx, 429) are shared, and a v2 code met on v3 is still known.
V3_NOT_OPEN = V2_NOT_OPEN | {"25101", "25102"}  # not open for trading / closed for maintenance
# 25004 too frequent: a rate limit (not executed), retried slower; 25209 insufficient
# liquidity: a refusal (not executed), [UNCERTAIN] at a listing, retried within the bounded
# window (§5.11)
V3_RATE_LIMITED = V2_RATE_LIMITED | {"25004", "25209"}
# 25000 system error, 25003 concurrent operation (JKorf: retryable) and 25001 "operation timed
# out" (the order may or may not exist): reconciled before any resend
V3_AMBIGUOUS = V2_AMBIGUOUS | {"25000", "25001", "25003"}
V3_RETRYABLE = V3_RATE_LIMITED | V3_AMBIGUOUS
V3_DUPLICATE = V2_DUPLICATE | {"25212"}
V3_ORDER_NOT_FOUND = V2_ORDER_NOT_FOUND | {"25204"}
V3_SYMBOL_ABSENT = V2_SYMBOL_ABSENT | {"25100"}
V3_HINTS: Mapping[str, tuple[str, str]] = {
    **V2_HINTS,
    "25100": ("symbol does not exist", "check TARGET_TOKEN"),
    "25101": ("pair not open for trading yet", "retried until it opens"),
    "25102": ("pair closed for maintenance", "retried until it reopens"),
    "25000": ("exchange system error", "retried automatically"),
    "25001": ("the order timed out at the exchange", "looked up by clientOid before any resend"),
    "25003": ("concurrent operation at the exchange", "retried automatically"),
    "25004": ("rate limited by the exchange", "retried automatically, slower"),
    "25209": ("insufficient market liquidity", "retried within ORDER_RETRY_WINDOW_S"),
    "25202": (
        "insufficient balance",
        "deposit the coins or lower COIN_AMOUNT (balance is read again while waiting)",
    ),
    "25204": ("order does not exist", "looked up again"),
    "25212": ("duplicate clientOid", "an earlier copy landed; looked up"),
    "25610": (
        "quantity precision rejected",
        "COIN_AMOUNT has more decimals than the pair allows (quantityPrecision)",
    ),
    "25611": ("order value below the pair's minimum", "raise COIN_AMOUNT"),
    "25207": ("quantity outside the pair's bounds", "check COIN_AMOUNT against the pair's limits"),
    "25208": ("quantity outside the pair's bounds", "check COIN_AMOUNT against the pair's limits"),
    "25620": (
        "permission denied",
        "enable spot trading (read + trade) on the API key, and check its IP whitelist",
    ),
    "25013": ("this pair cannot be traded through the API", "check the pair on bitget.com"),
    "22004": ("this pair cannot be traded through the API", "check the pair on bitget.com"),
}
V3_AUTH = AUTH_CODES | {"25620"}


@dataclass(frozen=True)
class CodeTable:
    """The codes of one API generation, by what the sniper does with them."""

    name: str
    success: str
    retryable: frozenset[str]
    not_open: frozenset[str]
    duplicate: frozenset[str]
    order_not_found: frozenset[str]
    symbol_absent: frozenset[str]
    auth: frozenset[str]
    hints: Mapping[str, tuple[str, str]]
    ambiguous: frozenset[str] = V2_AMBIGUOUS
    rate_limited: frozenset[str] = V2_RATE_LIMITED
    timestamp: frozenset[str] = TIMESTAMP_CODES

    def knows(self, code: str) -> bool:
        """Whether any set or hint of this table names ``code``."""
        return (
            code == self.success
            or code in self.hints
            or any(
                code in group
                for group in (
                    self.retryable,
                    self.not_open,
                    self.duplicate,
                    self.order_not_found,
                    self.symbol_absent,
                    self.auth,
                    self.ambiguous,
                )
            )
        )


V2_TABLE = CodeTable(
    "v2",
    V2_SUCCESS,
    V2_RETRYABLE,
    V2_NOT_OPEN,
    V2_DUPLICATE,
    V2_ORDER_NOT_FOUND,
    V2_SYMBOL_ABSENT,
    AUTH_CODES,
    V2_HINTS,
)
V3_TABLE = CodeTable(
    "v3",
    V2_SUCCESS,
    V3_RETRYABLE,
    V3_NOT_OPEN,
    V3_DUPLICATE,
    V3_ORDER_NOT_FOUND,
    V3_SYMBOL_ABSENT,
    V3_AUTH,
    V3_HINTS,
    ambiguous=V3_AMBIGUOUS,
    rate_limited=V3_RATE_LIMITED,
)


def classify_order_reply(
    http_status: int | None, code: str | None, table: CodeTable = V2_TABLE
) -> Outcome:
    """Classify one place-order answer. ``code`` is the envelope's string code, if any."""
    if code == table.success:
        if http_status is None or 200 <= http_status < 300:
            return Outcome.ACCEPTED
        return Outcome.AMBIGUOUS  # a success code under an error status: it may exist
    if code in table.duplicate:
        return Outcome.DUPLICATE
    if code in table.not_open:
        return Outcome.NOT_OPEN_YET
    if http_status == 429 or code in table.rate_limited:
        return Outcome.RETRY  # refused at the door
    if code in table.timestamp:
        return Outcome.RESYNC
    if code in table.ambiguous:
        return Outcome.AMBIGUOUS
    if http_status is not None and http_status >= 500:
        return Outcome.AMBIGUOUS  # a gateway error says nothing about the matching engine
    if code is None:
        # No envelope (a proxy's HTML page, a truncated or empty body): the order may exist.
        return Outcome.AMBIGUOUS
    if not table.knows(code):
        return Outcome.UNKNOWN
    return Outcome.REJECTED


def is_transient(http_status: int | None, code: str | None, table: CodeTable = V2_TABLE) -> bool:
    """For any REST call: may the same request succeed if simply repeated later?"""
    if http_status == 429 or code in table.retryable or code in table.ambiguous:
        return True
    return http_status is not None and http_status >= 500


def explain(
    code: str | None, msg: str = "", hints: Mapping[str, tuple[str, str]] = V2_HINTS
) -> str:
    """One line in plain words: ``<meaning> — <fix> (exchange code N: msg)``."""
    hint = hints.get(code or "")
    tail = f"exchange code {code}" if code else "no exchange code"
    if msg:
        tail += f": {msg}"
    if hint is None:
        return f"exchange error ({tail})"
    meaning, fix = hint
    return f"{meaning} — {fix} ({tail})"
