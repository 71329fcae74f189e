from __future__ import annotations

import logging
import os
import ssl
from pathlib import Path

import pytest
import trustme

from sniper.config import (
    DEFAULT_REST_URL,
    DEFAULT_WS_URL_V2,
    DEFAULT_WS_URL_V3,
    DEMO_WS_URL_V2,
    DEMO_WS_URL_V3,
    MIN_POLL_INTERVAL_MS,
    TUNABLES,
    is_loopback_host,
    load_config,
    normalise_symbol,
    parse_amount,
    parse_open_time,
)
from sniper.errors import ConfigError

BASE = {
    "BITGET_API_KEY": "bg_key_0123456789",
    "BITGET_SECRET_KEY": "secret-0123456789abcdef",
    "BITGET_PASSPHRASE": "pass-phrase-42",
    "TARGET_TOKEN": "PAWSUSDT",
    "COIN_AMOUNT": "1020200",
}


def cfg(tmp_path: Path, **over: str):
    env = {**BASE, **over}
    env = {k: v for k, v in env.items() if v is not None}
    return load_config(env_file=_empty(tmp_path), environ=env)


def _empty(tmp_path: Path) -> Path:
    p = tmp_path / "empty.env"
    p.write_text("")
    return p


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PAWSUSDT", ("PAWSUSDT", "PAWS", "USDT")),
        ("PAWS/USDT", ("PAWSUSDT", "PAWS", "USDT")),
        ("pawsusdt", ("PAWSUSDT", "PAWS", "USDT")),
        (" paws-usdc ", ("PAWSUSDC", "PAWS", "USDC")),
        ("ETHBTC", ("ETHBTC", "ETH", "BTC")),
        ("1000SATS/USDT", ("1000SATSUSDT", "1000SATS", "USDT")),
    ],
)
def test_symbol_normalised(raw: str, expected: tuple[str, str, str]) -> None:
    assert normalise_symbol(raw) == expected


@pytest.mark.parametrize("raw", ["", "USDT", "PAWS", "PAWS/", "PA WS/USDT", "PAWS$USDT"])
def test_bad_symbol(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        normalise_symbol(raw)
    assert info.value.variable == "TARGET_TOKEN"


@pytest.mark.parametrize("raw", ["1", "0.5", "1020200", "123.456000", "all", "ALL"])
def test_amount_kept_exactly(raw: str) -> None:
    assert parse_amount(raw) == (raw if raw.lower() != "all" else "all")


@pytest.mark.parametrize("raw", ["0", "0.0", "-1", "1e5", "1,000", "abc", ".5", "5.", "nan", "inf"])
def test_bad_amount(raw: str) -> None:
    with pytest.raises(ConfigError, match="COIN_AMOUNT"):
        parse_amount(raw)


def test_defaults(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    assert c.target == "PAWSUSDT" and c.base_coin == "PAWS" and c.quote_coin == "USDT"
    assert c.coin_amount == "1020200"
    assert c.rest_url == DEFAULT_REST_URL
    assert c.ws_url == DEFAULT_WS_URL_V2 and not c.ws_url_explicit
    assert c.poll_interval_ms == 55  # headroom under the 20 req/s/IP limit (issue 11 item 8)
    assert c.account == "auto" and c.demo is False


def test_uta_default_ws(tmp_path: Path) -> None:
    assert cfg(tmp_path, BITGET_ACCOUNT="uta").ws_url == DEFAULT_WS_URL_V3


@pytest.mark.parametrize(
    ("demo", "mode", "expected"),
    [
        ("0", "classic", DEFAULT_WS_URL_V2),
        ("0", "uta", DEFAULT_WS_URL_V3),
        ("1", "classic", DEMO_WS_URL_V2),
        ("1", "uta", DEMO_WS_URL_V3),
    ],
)
def test_ws_url_follows_the_detected_account_mode(
    tmp_path: Path, demo: str, mode: str, expected: str
) -> None:
    c = cfg(tmp_path, BITGET_DEMO=demo)  # BITGET_ACCOUNT=auto: resolved at start
    resolved = c.with_account(mode)
    assert resolved.account == mode and resolved.ws_url == expected
    assert not resolved.ws_url_explicit
    assert "wspap.bitget.com" in expected if demo == "1" else "ws.bitget.com" in expected


def test_explicit_ws_url_is_kept_whatever_the_account_mode(tmp_path: Path) -> None:
    url = "ws://127.0.0.1:8600/v2/ws/public"
    c = cfg(tmp_path, BITGET_WS_URL=url, BITGET_DEMO="1")
    for mode in ("classic", "uta"):
        assert c.with_account(mode).ws_url == url  # the user knows
    with pytest.raises(ValueError):
        c.with_account("auto")


def test_lookup_window_default_is_5s(tmp_path: Path) -> None:
    assert cfg(tmp_path).lookup_window_s == 5.0


def test_loopback_urls_used_as_given(tmp_path: Path) -> None:
    c = cfg(
        tmp_path,
        BITGET_REST_URL="http://127.0.0.1:8600/",
        BITGET_WS_URL="ws://127.0.0.1:8600/v2/ws/public",
    )
    assert c.rest_url == "http://127.0.0.1:8600"
    assert c.ws_url == "ws://127.0.0.1:8600/v2/ws/public" and c.ws_url_explicit


def test_env_file_and_environment_precedence(tmp_path: Path) -> None:
    env_file = tmp_path / "x.env"
    env_file.write_text("TARGET_TOKEN=FOO/USDT\nCOIN_AMOUNT=5\nBITGET_API_KEY=fromfile1234\n")
    c = load_config(env_file=env_file, environ={**BASE, "COIN_AMOUNT": "7"})
    # The process environment wins...
    assert c.coin_amount == "7" and c.target == "PAWSUSDT"
    c2 = load_config(
        env_file=env_file,
        environ={k: v for k, v in BASE.items() if k not in ("TARGET_TOKEN", "BITGET_API_KEY")},
    )
    # ...and the file fills what the environment does not set.
    assert c2.target == "FOOUSDT" and c2.api_key.reveal() == "fromfile1234"


def test_dotenv_in_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in BASE.items()))
    monkeypatch.chdir(tmp_path)
    assert load_config(environ={}).target == "PAWSUSDT"


def test_missing_env_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--env-file"):
        load_config(env_file=tmp_path / "nope.env", environ=BASE)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("BITGET_API_KEY", ""),
        ("BITGET_SECRET_KEY", ""),
        ("BITGET_PASSPHRASE", ""),
        ("TARGET_TOKEN", ""),
        ("COIN_AMOUNT", "-3"),
        ("BITGET_REST_URL", "ftp://x"),
        ("BITGET_WS_URL", "http://127.0.0.1:1/ws"),
        ("BITGET_ACCOUNT", "futures"),
        ("BITGET_DEMO", "maybe"),
        ("POLL_INTERVAL_MS", "10"),
        ("POLL_INTERVAL_MS", "fast"),
        ("RESIGN_INTERVAL_S", "29"),
        ("OPEN_TIME", "tomorrow"),
        ("BITGET_CA_FILE", "/nonexistent.pem"),
    ],
)
def test_bad_variable_named(tmp_path: Path, var: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        cfg(tmp_path, **{var: value})
    assert info.value.variable == var
    assert var in str(info.value) and "expected" in str(info.value)


def test_credentials_optional_when_not_needed(tmp_path: Path) -> None:
    env = {"TARGET_TOKEN": "PAWSUSDT", "COIN_AMOUNT": "1"}
    c = load_config(env_file=_empty(tmp_path), environ=env, need_credentials=False)
    assert not c.api_key


def test_secrets_masked_everywhere(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    text = repr(c) + str(c) + f"{c}" + " ".join(v for _, v in c.describe())
    for secret in (BASE["BITGET_API_KEY"], BASE["BITGET_SECRET_KEY"], BASE["BITGET_PASSPHRASE"]):
        assert secret not in text
    assert c.secret_key.reveal() == BASE["BITGET_SECRET_KEY"]


def test_secret_in_bad_value_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        cfg(tmp_path, BITGET_SECRET_KEY="line1-very-secret\nline2")
    assert "very-secret" not in str(info.value)


def test_open_time_forms() -> None:
    assert parse_open_time("1751623200000") == 1751623200000
    assert parse_open_time("1751623200") == 1751623200000
    assert parse_open_time("2025-07-04T10:00:00Z") == 1751623200000
    assert parse_open_time("2025-07-04T10:00:00") == 1751623200000
    assert parse_open_time("2025-07-04T12:00:00+02:00") == 1751623200000


def test_poll_interval_hard_minimum_stays_50(tmp_path: Path) -> None:
    assert MIN_POLL_INTERVAL_MS == 50
    assert cfg(tmp_path, POLL_INTERVAL_MS="50").poll_interval_ms == 50
    with pytest.raises(ConfigError, match="POLL_INTERVAL_MS"):
        cfg(tmp_path, POLL_INTERVAL_MS="49")


# ---- non-finite numbers ------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "NaN", "+Infinity", " nan ", "1e999"])
@pytest.mark.parametrize("variable", [t[0] for t in TUNABLES])
def test_non_finite_tunable_is_a_config_error(tmp_path: Path, variable: str, raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        cfg(tmp_path, **{variable: raw})
    assert info.value.variable == variable
    assert info.value.exit_code == 2
    assert "finite" in info.value.expected


# ---- the .env file itself ----------------------------------------------------------------------
def test_non_utf8_env_file_names_the_file_not_its_content(tmp_path: Path) -> None:
    env_file = tmp_path / "latin1.env"
    env_file.write_bytes(b"BITGET_SECRET_KEY=very-secret-value\nTARGET_TOKEN=PAWS\xe9USDT\n")
    with pytest.raises(ConfigError) as info:
        load_config(env_file=env_file, environ=BASE)
    text = str(info.value)
    assert str(env_file) in text and "UTF-8" in text and "0xe9" in text
    assert "very-secret" not in text
    assert info.value.exit_code == 2


def test_non_utf8_dotenv_in_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_bytes(b"COIN_AMOUNT=\xff\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"\.env: expected a UTF-8"):
        load_config(environ=BASE)


# ---- BITGET_CA_FILE ----------------------------------------------------------------------------
def test_ca_file_pem_bundle_accepted(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    assert cfg(tmp_path, BITGET_CA_FILE=str(ca)).ca_file == str(ca)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01\xffgarbage that is not PEM",
        b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        "der",
    ],
    ids=["empty", "binary", "broken-pem", "der"],
)
def test_ca_file_that_is_not_a_pem_bundle(tmp_path: Path, content: bytes | str) -> None:
    ca = tmp_path / "ca.pem"
    if content == "der":
        content = ssl.PEM_cert_to_DER_cert(trustme.CA().cert_pem.bytes().decode())
    assert isinstance(content, bytes)
    ca.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        cfg(tmp_path, BITGET_CA_FILE=str(ca))
    assert info.value.variable == "BITGET_CA_FILE"
    assert "PEM" in info.value.expected and str(ca) in info.value.received


def test_ca_file_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="BITGET_CA_FILE"):
        cfg(tmp_path, BITGET_CA_FILE=str(tmp_path))


# ---- start-up warnings -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("api.localhost", True),
        ("10.0.0.5", False),
        ("192.168.1.2", False),
        ("api.bitget.com", False),
        ("localhost.evil.com", False),
        ("", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("var", "url", "secure"),
    [
        ("BITGET_REST_URL", "http://api.example.com", "https://"),
        ("BITGET_REST_URL", "http://10.1.2.3:8080/", "https://"),
        ("BITGET_WS_URL", "ws://ws.example.com/v2/ws/public", "wss://"),
    ],
)
def test_plain_http_to_a_remote_host_is_warned_about(
    tmp_path: Path, var: str, url: str, secure: str
) -> None:
    c = cfg(tmp_path, **{var: url})
    assert len(c.warnings) == 1
    (warning,) = c.warnings
    assert warning.startswith(var) and "unencrypted" in warning and secure in warning


@pytest.mark.parametrize(
    "over",
    [
        {},  # the defaults: https and wss
        {"BITGET_REST_URL": "http://127.0.0.1:8600", "BITGET_WS_URL": "ws://127.0.0.1:8600/ws"},
        {"BITGET_REST_URL": "http://localhost:1", "BITGET_WS_URL": "ws://[::1]:2/v3/ws/public"},
        {"BITGET_REST_URL": "https://api.example.com", "BITGET_WS_URL": "wss://x.example.com/"},
    ],
)
def test_no_warning_for_tls_or_loopback(tmp_path: Path, over: dict[str, str]) -> None:
    assert cfg(tmp_path, **over).warnings == ()


def test_warnings_are_logged_and_not_part_of_describe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("sniper.config")
    monkeypatch.setattr(logger, "level", logging.WARNING)
    logger.addHandler(handler)
    try:
        c = cfg(tmp_path, BITGET_REST_URL="http://api.example.com")
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in records] == list(c.warnings)
    assert all(r.levelno == logging.WARNING for r in records)
    assert "warnings" not in dict(c.describe())


def _env_file_with(tmp_path: Path, mode: int, *, credentials: bool) -> Path:
    env_file = tmp_path / "creds.env"
    keys = BASE if credentials else {"TARGET_TOKEN": "PAWSUSDT"}
    env_file.write_text("".join(f"{k}={v}\n" for k, v in keys.items()))
    env_file.chmod(mode)
    return env_file


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666, 0o620])
def test_env_file_open_to_others_is_warned_about(tmp_path: Path, mode: int) -> None:
    env_file = _env_file_with(tmp_path, mode, credentials=True)
    c = load_config(env_file=env_file, environ={})
    assert len(c.warnings) == 1
    (warning,) = c.warnings
    assert str(env_file) in warning and f"{mode:03o}" in warning
    assert f"chmod 600 {env_file}" in warning
    for secret in (BASE["BITGET_SECRET_KEY"], BASE["BITGET_PASSPHRASE"]):
        assert secret not in warning


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_private_env_file_is_not_warned_about(tmp_path: Path, mode: int) -> None:
    env_file = _env_file_with(tmp_path, mode, credentials=True)
    assert load_config(env_file=env_file, environ={}).warnings == ()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_readable_env_file_without_credentials_is_not_warned_about(tmp_path: Path) -> None:
    env_file = _env_file_with(tmp_path, 0o644, credentials=False)
    assert load_config(env_file=env_file, environ=BASE).warnings == ()
