from __future__ import annotations

import io
import logging
import pickle

import pytest

from sniper.errors import (
    ConfigError,
    ExchangeError,
    ExchangeRejected,
    ExchangeUnavailable,
    FeedError,
    SniperError,
)
from sniper.log import register_secret, setup_logging
from sniper.secrets import Secret, mask


def test_tree() -> None:
    for cls in (ConfigError, FeedError, ExchangeError, ExchangeRejected, ExchangeUnavailable):
        assert issubclass(cls, SniperError)
    assert issubclass(ExchangeRejected, ExchangeError)
    assert issubclass(ExchangeUnavailable, ExchangeError)


def test_exchange_error_fields() -> None:
    e = ExchangeRejected(400, "43012", "Insufficient balance", hint="order rejected")
    assert (e.http_status, e.code, e.msg) == (400, "43012", "Insufficient balance")
    assert "43012" in str(e) and "HTTP 400" in str(e) and str(e).startswith("order rejected")


def test_config_error_message() -> None:
    e = ConfigError("COIN_AMOUNT", "a positive decimal", "'-1'")
    assert str(e) == "COIN_AMOUNT: expected a positive decimal, got '-1'"
    assert e.exit_code == 2


def test_secret_never_printed() -> None:
    s = Secret("super-secret-value-123")
    percent = "%s" % (s,)  # noqa: UP031 - %-formatting is a path a log call takes
    for text in (str(s), repr(s), f"{s}", f"{s!r}", percent, str([s]), str({"k": s})):
        assert "super-secret-value-123" not in text
    assert s.reveal() == "super-secret-value-123"
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_mask() -> None:
    assert mask("") == "<empty>"
    assert mask("abc") == "<3 chars>"
    assert mask("abcdefghijkl") == "ab…<12 chars>"


def test_log_filter_redacts_registered_secret() -> None:
    stream = io.StringIO()
    logger = setup_logging(stream=stream)
    register_secret("leaky-secret-987")
    logger.info("header was %s", "ACCESS-PASSPHRASE: leaky-secret-987")
    logging.getLogger("sniper.sub").warning("again leaky-secret-987")
    out = stream.getvalue()
    assert "leaky-secret-987" not in out and out.count("***") == 2
