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
        (400, "40015", Outcome.RETRY),
        (400, "40010", Outcome.RETRY),
        (400, "40200", Outcome.RETRY),
        (400, "43059", Outcome.RETRY),
        (400, "45001", Outcome.RETRY),
        (429, "429", Outcome.RETRY),
        (429, None, Outcome.RETRY),
        (502, None, Outcome.RETRY),
        (503, "50000", Outcome.RETRY),
        (400, None, Outcome.RETRY),  # a front door page, not a verdict
        (400, "43115", Outcome.NOT_OPEN_YET),
        (400, "43118", Outcome.DUPLICATE),
        (400, "43012", Outcome.REJECTED),
        (400, "45110", Outcome.REJECTED),
        (400, "40808", Outcome.REJECTED),
        (400, "40009", Outcome.REJECTED),
        (400, "40006", Outcome.REJECTED),
        (400, "40034", Outcome.REJECTED),
        (400, "99999", Outcome.REJECTED),  # unknown codes are final: never spam the venue
        (200, "40015", Outcome.RETRY),  # HTTP 200 with an error code: the code decides
    ],
)
def test_classify_order_reply(status: int, code: str | None, outcome: Outcome) -> None:
    assert classify_order_reply(status, code) is outcome


def test_success_code_on_an_error_status_is_not_acceptance() -> None:
    assert classify_order_reply(500, "00000") is Outcome.RETRY


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
        (400, "40015", Outcome.RETRY),
        (429, "429", Outcome.RETRY),
        (400, "25202", Outcome.REJECTED),
        (400, "25100", Outcome.REJECTED),
        (400, "25013", Outcome.REJECTED),
        (400, "40808", Outcome.REJECTED),
    ],
)
def test_classify_order_reply_v3(status: int, code: str, outcome: Outcome) -> None:
    assert classify_order_reply(status, code, V3_TABLE) is outcome


def test_v2_table_does_not_know_the_25xxx_codes() -> None:
    assert classify_order_reply(400, "25212", V2_TABLE) is Outcome.REJECTED
    assert classify_order_reply(400, "25212") is Outcome.REJECTED


def test_venue_explain_http_only() -> None:
    venue = ClassicVenue("PAWSUSDT", "PAWS")
    assert "rate limited" in venue.explain(parse_envelope(429, b"Too Many"))
    assert "HTTP 502" in venue.explain(parse_envelope(502, b"<html>bad gateway</html>"))
