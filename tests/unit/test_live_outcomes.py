"""Retry classification and the error-code → plain-words map."""

from __future__ import annotations

import pytest

from sniper.live.outcomes import (
    V2_HINTS,
    V2_TABLE,
    V3_HINTS,
    V3_TABLE,
    Outcome,
    classify_order_reply,
    explain,
    is_transient,
)
from sniper.live.venue import ClassicVenue, parse_envelope


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (200, "00000", Outcome.ACCEPTED),
        # "abnormal / timed out / try again": the matching engine may have taken the order
        (400, "40015", Outcome.AMBIGUOUS),
        (400, "40010", Outcome.AMBIGUOUS),
        (400, "40200", Outcome.AMBIGUOUS),
        (400, "43059", Outcome.AMBIGUOUS),
        (400, "45001", Outcome.AMBIGUOUS),
        (429, "429", Outcome.RETRY),  # refused at the door: not executed
        (429, None, Outcome.RETRY),
        (502, None, Outcome.AMBIGUOUS),  # a gateway error says nothing about the engine
        (503, "50000", Outcome.AMBIGUOUS),
        (400, None, Outcome.AMBIGUOUS),  # a front door page, not a verdict
        (400, "40008", Outcome.RESYNC),  # timestamp refused: not executed, re-sync and resend
        (400, "40004", Outcome.RESYNC),
        (400, "43115", Outcome.NOT_OPEN_YET),
        (400, "43118", Outcome.DUPLICATE),
        (400, "43012", Outcome.REJECTED),
        (400, "45110", Outcome.REJECTED),
        (400, "40808", Outcome.REJECTED),
        (400, "40009", Outcome.REJECTED),
        (400, "40006", Outcome.REJECTED),
        (400, "40034", Outcome.REJECTED),
        # a code no table knows is no verdict: looked up, then retried, paced (issue 11)
        (400, "99999", Outcome.UNKNOWN),
        (200, "40015", Outcome.AMBIGUOUS),  # HTTP 200 with an error code: the code decides
        (200, None, Outcome.AMBIGUOUS),  # a 200 that is no envelope: the order may exist
    ],
)
def test_classify_order_reply(status: int, code: str | None, outcome: Outcome) -> None:
    assert classify_order_reply(status, code) is outcome


def test_success_code_on_an_error_status_is_not_acceptance() -> None:
    assert classify_order_reply(500, "00000") is Outcome.AMBIGUOUS
    assert classify_order_reply(400, "00000") is Outcome.AMBIGUOUS  # it may exist: reconciled


def test_is_transient() -> None:
    assert is_transient(429, None) and is_transient(400, "40015") and is_transient(503, None)
    assert not is_transient(400, "40009") and not is_transient(200, "00000")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("40006", "API key not found"),
        ("40037", "API key not found"),
        ("40009", "signature rejected — check BITGET_SECRET_KEY"),
        ("40012", "wrong passphrase"),
        ("40036", "wrong passphrase"),
        ("40008", "timestamp rejected — clock"),
        ("40004", "timestamp rejected — clock"),
        ("40018", "IP not whitelisted"),
        ("40038", "IP not whitelisted"),
        ("40014", "key lacks permission"),
        ("40085", "Unified Trading Account (UTA), not a classic one — set BITGET_ACCOUNT=uta"),
        ("40084", "a classic account, not a Unified Trading Account — set BITGET_ACCOUNT=classic"),
        ("25202", "insufficient balance"),
        ("25100", "symbol does not exist"),
        ("43012", "insufficient balance"),
        ("45110", "below the pair's minimum"),
        ("40808", "precision"),
    ],
)
def test_explain_in_plain_words(code: str, words: str) -> None:
    text = explain(code, "whatever the exchange said", V3_HINTS)  # v3 = v2 + the 25xxx codes
    assert words in text
    assert f"exchange code {code}: whatever the exchange said" in text


def test_explain_unknown_code_and_no_code() -> None:
    assert explain("12345", "odd") == "exchange error (exchange code 12345: odd)"
    assert explain(None) == "exchange error (no exchange code)"


def test_every_hint_has_a_fix() -> None:
    for code, (meaning, fix) in V3_HINTS.items():
        assert code.isdigit() and meaning and fix
    assert set(V2_HINTS) < set(V3_HINTS)


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (200, "00000", Outcome.ACCEPTED),
        (400, "25212", Outcome.DUPLICATE),
        (400, "43118", Outcome.DUPLICATE),
        (400, "43115", Outcome.NOT_OPEN_YET),
        (400, "40015", Outcome.AMBIGUOUS),
        (429, "429", Outcome.RETRY),
        (400, "25202", Outcome.REJECTED),
        (400, "25100", Outcome.REJECTED),
        (400, "25013", Outcome.REJECTED),
        (400, "40808", Outcome.REJECTED),
        # §5.11, Bitget's own 25xxx table
        (400, "25101", Outcome.NOT_OPEN_YET),  # not open for trading: retried until the open
        (400, "25102", Outcome.NOT_OPEN_YET),  # closed for maintenance, like 41114
        (400, "25000", Outcome.AMBIGUOUS),  # system error: reconciled, then retried
        (400, "25003", Outcome.AMBIGUOUS),
        (400, "25004", Outcome.RETRY),  # too frequent: a rate limit, not executed
        (400, "25209", Outcome.RETRY),  # thin book: refused, within the retry window
        (400, "25001", Outcome.AMBIGUOUS),  # timed out: the order may exist — look it up
        (400, "25610", Outcome.REJECTED),
        (400, "25611", Outcome.REJECTED),
        (400, "25207", Outcome.REJECTED),
        (400, "25208", Outcome.REJECTED),
        (400, "25620", Outcome.REJECTED),
        (400, "25999", Outcome.UNKNOWN),
    ],
)
def test_classify_order_reply_v3(status: int, code: str, outcome: Outcome) -> None:
    assert classify_order_reply(status, code, V3_TABLE) is outcome


def test_v2_table_does_not_know_the_25xxx_codes() -> None:
    # on a classic account a 25xxx code is unknown: no verdict, never "rejected"
    assert classify_order_reply(400, "25212", V2_TABLE) is Outcome.UNKNOWN
    assert classify_order_reply(400, "25101") is Outcome.UNKNOWN


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("25610", "precision"),
        ("25611", "below the pair's minimum"),
        ("25207", "bounds"),
        ("25208", "bounds"),
        ("25013", "cannot be traded through the API"),
        ("25620", "permission denied"),
    ],
)
def test_v3_final_codes_have_plain_words_hints(code: str, words: str) -> None:
    assert words in explain(code, "m", V3_HINTS)


def test_25620_is_a_permission_failure_and_25004_a_rate_limit() -> None:
    from sniper.live.venue import UtaVenue

    venue = UtaVenue("PAWSUSDT", "PAWS")
    assert venue.is_auth_error(parse_envelope(400, b'{"code":"25620","msg":"permission denied"}'))
    limited = parse_envelope(400, b'{"code":"25004","msg":"Operation too frequent"}')
    assert venue.is_rate_limited(limited) and venue.is_transient(limited)
    assert not ClassicVenue("PAWSUSDT", "PAWS").is_rate_limited(limited)


def test_venue_explain_http_only() -> None:
    venue = ClassicVenue("PAWSUSDT", "PAWS")
    assert "rate limited" in venue.explain(parse_envelope(429, b"Too Many"))
    assert "HTTP 502" in venue.explain(parse_envelope(502, b"<html>bad gateway</html>"))
