from __future__ import annotations

from pathlib import Path

import pytest

from sniper.config import (
    DEFAULT_REST_URL,
    DEFAULT_WS_URL_V2,
    DEFAULT_WS_URL_V3,
    DEMO_WS_URL_V2,
    DEMO_WS_URL_V3,
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
    assert c.poll_interval_ms == 50
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
