"""``SPIN``, ``SPIN_BEFORE_S``, ``SPIN_MAX_S``: defaults and validation (sniper.live.spin)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sniper.config import SPIN_MODES, VARIABLES, load_config
from sniper.errors import ConfigError

BASE = {
    "BITGET_API_KEY": "bg_key_0123456789",
    "BITGET_SECRET_KEY": "secret-0123456789abcdef",
    "BITGET_PASSPHRASE": "pass-phrase-42",
    "TARGET_TOKEN": "PAWSUSDT",
    "COIN_AMOUNT": "1020200",
}


def cfg(tmp_path: Path, **over: str):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return load_config(env_file=empty, environ={**BASE, **over})


def test_defaults(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    assert (c.spin, c.spin_before_s, c.spin_max_s) == ("auto", 10.0, 60.0)


@pytest.mark.parametrize(
    ("raw", "mode"),
    [("auto", "auto"), ("always", "always"), ("off", "off"), (" ALWAYS ", "always"), ("", "auto")],
)
def test_modes(tmp_path: Path, raw: str, mode: str) -> None:
    assert cfg(tmp_path, SPIN=raw).spin == mode
    assert mode in SPIN_MODES


@pytest.mark.parametrize("raw", ["on", "1", "0", "yes", "true", "busy", "auto,always"])
def test_a_bad_mode_names_spin(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigError) as err:
        cfg(tmp_path, SPIN=raw)
    assert err.value.variable == "SPIN"
    assert "auto, always or off" in str(err.value)


def test_window_settings(tmp_path: Path) -> None:
    c = cfg(tmp_path, SPIN_BEFORE_S="2.5", SPIN_MAX_S="0")
    assert (c.spin_before_s, c.spin_max_s) == (2.5, 0.0)


@pytest.mark.parametrize("variable", ["SPIN_BEFORE_S", "SPIN_MAX_S"])
@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "-inf", "ten", "1e999"])
def test_bad_window_settings_name_their_variable(tmp_path: Path, variable: str, raw: str) -> None:
    with pytest.raises(ConfigError) as err:
        cfg(tmp_path, **{variable: raw})
    assert err.value.variable == variable


def test_documented() -> None:
    for name in ("SPIN", "SPIN_BEFORE_S", "SPIN_MAX_S"):
        assert name in VARIABLES
    assert "1 CPU core" in VARIABLES["SPIN"].replace("one CPU core", "1 CPU core")
    assert "default 10" in VARIABLES["SPIN_BEFORE_S"]
    assert "default 60" in VARIABLES["SPIN_MAX_S"]


def test_spin_warm_defaults_on_and_is_validated(tmp_path: Path) -> None:
    assert cfg(tmp_path).spin_warm is True
    assert cfg(tmp_path, SPIN_WARM="0").spin_warm is False
    assert cfg(tmp_path, SPIN_WARM="1").spin_warm is True
    with pytest.raises(ConfigError, match="SPIN_WARM"):
        cfg(tmp_path, SPIN_WARM="sometimes")
    assert "default 1" in VARIABLES["SPIN_WARM"]


def test_sleep_warm_and_slice_defaults(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    assert (c.sleep_warm_us, c.sched_slice_us) == (1000, 100)
    assert "SLEEP_WARM_US" in VARIABLES and "SCHED_SLICE_US" in VARIABLES


@pytest.mark.parametrize("raw", ["0", "1000", "2500", "1000000"])
def test_sleep_warm_values(tmp_path: Path, raw: str) -> None:
    assert cfg(tmp_path, SLEEP_WARM_US=raw).sleep_warm_us == int(raw)


@pytest.mark.parametrize("raw", ["1", "200", "999", "-5", "1ms"])
def test_sleep_warm_below_a_ms_is_refused(tmp_path: Path, raw: str) -> None:
    # the event loop's timers count whole ms: a shorter period would make it busy-poll
    with pytest.raises(ConfigError) as err:
        cfg(tmp_path, SLEEP_WARM_US=raw)
    assert "SLEEP_WARM_US" in str(err.value)


@pytest.mark.parametrize("raw", ["0", "100", "250", "100000"])
def test_slice_values(tmp_path: Path, raw: str) -> None:
    assert cfg(tmp_path, SCHED_SLICE_US=raw).sched_slice_us == int(raw)


@pytest.mark.parametrize("raw", ["1", "99", "100001", "-1", "fast"])
def test_slice_outside_the_kernels_range_is_refused(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigError) as err:
        cfg(tmp_path, SCHED_SLICE_US=raw)
    assert "SCHED_SLICE_US" in str(err.value)
