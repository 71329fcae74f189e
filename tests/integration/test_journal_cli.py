"""``sniper journal`` through a real subprocess: it finds the configured account's journal from
BITGET_API_KEY + TARGET_TOKEN alone, shows it as a table or JSON lines, lists every journal with
``--all``, survives a torn line, and never prints a credential."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sniper_harness import API_KEY, PASSPHRASE, SECRET, assert_no_secret, run_cli

from sniper.config import Config, load_config
from sniper.live.journal import Journal, account_id

FILLED = "snp-000000000000000000f111ed"
PENDING = "snp-0000000000000000000pend1"
OTHER = "snp-0000000000000000000other"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture(autouse=True)
def empty(tmp_path: Path) -> Path:
    """An empty env file: the tests never read a stray ./.env."""
    path = tmp_path / "empty.env"
    path.write_text("")
    return path


@pytest.fixture
def config(empty: Path) -> Config:
    env = {
        "BITGET_API_KEY": API_KEY,
        "BITGET_SECRET_KEY": SECRET,
        "BITGET_PASSPHRASE": PASSPHRASE,
        "TARGET_TOKEN": "PAWSUSDT",
        "COIN_AMOUNT": "1000",
    }
    return load_config(env_file=empty, environ=env)


@pytest.fixture
def journals(config: Config, state: Path) -> Path:
    """Two runs on PAWSUSDT (one filled, one fired and never confirmed) and one on BTCUSDT."""
    with Journal.open(config, directory=state, run_id="20261201T170003Z-aaaaaa") as j:
        j.record_intent(FILLED, amount="1000", size="1000", mode="classic")
        j.record_fired(FILLED, "ws", 0)
        j.record_outcome(
            FILLED,
            "filled",
            order_id="1234567890",
            fill={"status": "filled", "baseVolume": "1000", "priceAvg": "0.0123"},
            exit_code=0,
            message=f"SOLD (the key {API_KEY} must never show)",
        )
    with Journal.open(config, directory=state, run_id="20261202T080000Z-bbbbbb") as j:
        j.record_intent(PENDING, amount="all", size="999.5", mode="uta")
        j.record_fired(PENDING, "poll", 1)
    other = config.with_overrides(target="BTCUSDT", base_coin="BTC")
    with Journal.open(other, directory=state, run_id="20261203T000000Z-cccccc") as j:
        j.record_intent(OTHER, amount="0.5", size="0.5", mode="classic")
        j.record_outcome(OTHER, "interrupted-before-fire", exit_code=130, message="interrupted")
    return state


def journal_texts(directory: Path) -> list[str]:
    return [path.read_text() for path in directory.iterdir()]


def tear(path: Path) -> None:
    """A crash in the middle of writing an outcome line."""
    with open(path, "ab") as f:
        f.write(b'{"event":"outcome","run":"20261202T080000Z-bbbbbb","clientOid":"snp-0')


def env_for(state: Path, **extra: str) -> dict[str, str]:
    return {"SNIPER_STATE_DIR": str(state), **extra}


async def test_table_of_the_configured_account_and_target(
    journals: Path, tmp_path: Path, empty: Path
) -> None:
    # only the key (hashed) and the target: no secret, no passphrase, no amount
    env = env_for(journals, BITGET_API_KEY=API_KEY, TARGET_TOKEN="paws/usdt")
    code, out, err = await run_cli(["journal", "--env-file", str(empty)], env)
    assert code == 0, err
    assert f"{account_id(API_KEY)}-PAWSUSDT.jsonl" in out
    assert FILLED in out and PENDING in out and OTHER not in out
    filled_row = next(line for line in out.splitlines() if FILLED in line)
    assert "filled" in filled_row and "1234567890" in filled_row
    assert "classic" in filled_row
    pending_row = next(line for line in out.splitlines() if PENDING in line)
    assert "FIRED (pending)" in pending_row and "poll" in pending_row and "999.5" in pending_row
    assert "fill: status filled · baseVolume 1000 · priceAvg 0.0123" in out
    assert f"1 order(s) sent without a proven outcome ({PENDING})" in out
    assert "***" in out  # the scrubbed message
    assert_no_secret(out, err)
    assert_no_secret(*journal_texts(journals))


async def test_json_lines(journals: Path, tmp_path: Path, empty: Path) -> None:
    env = env_for(journals, BITGET_API_KEY=API_KEY, TARGET_TOKEN="PAWSUSDT")
    code, out, err = await run_cli(["journal", "--json", "--env-file", str(empty)], env)
    assert code == 0, err
    docs = [json.loads(line) for line in out.splitlines()]
    assert [d["clientOid"] for d in docs] == [FILLED, PENDING]
    filled, pending = docs
    assert filled["state"] == "filled" and filled["pending"] is False
    assert filled["orderId"] == "1234567890" and filled["exitCode"] == 0
    assert filled["channel"] == "ws" and filled["run"] == "20261201T170003Z-aaaaaa"
    assert pending["state"] == "fired" and pending["pending"] is True
    assert pending["size"] == "999.5" and pending["amount"] == "all" and pending["mode"] == "uta"
    assert all(d["account"] == account_id(API_KEY) and d["target"] == "PAWSUSDT" for d in docs)
    assert_no_secret(out, err)


async def test_all_needs_no_configuration(journals: Path, tmp_path: Path, empty: Path) -> None:
    code, out, err = await run_cli(
        ["journal", "--all", "--env-file", str(empty)], env_for(journals)
    )
    assert code == 0, err
    assert FILLED in out and PENDING in out and OTHER in out
    assert "interrupted-before-fire" in out and "BTCUSDT" in out
    code, out, err = await run_cli(
        ["journal", "--all", "--json", "--env-file", str(empty)], env_for(journals)
    )
    assert code == 0, err
    assert sorted(json.loads(line)["clientOid"] for line in out.splitlines()) == sorted(
        [FILLED, PENDING, OTHER]
    )
    assert_no_secret(out, err)


async def test_nothing_recorded_yet_exit_0(tmp_path: Path, empty: Path) -> None:
    state = tmp_path / "nowhere"
    env = env_for(state, BITGET_API_KEY=API_KEY, TARGET_TOKEN="PAWSUSDT")
    code, out, err = await run_cli(["journal", "--env-file", str(empty)], env)
    assert code == 0, err
    assert "no run recorded yet for PAWSUSDT" in out and account_id(API_KEY) in out
    code, out, err = await run_cli(["journal", "--all", "--env-file", str(empty)], env)
    assert code == 0 and f"no journal in {state}" in out
    assert not state.exists()  # reading never creates the state directory


async def test_torn_line_is_a_warning_not_a_failure(
    journals: Path, tmp_path: Path, empty: Path
) -> None:
    tear(journals / f"{account_id(API_KEY)}-PAWSUSDT.jsonl")
    env = env_for(journals, BITGET_API_KEY=API_KEY, TARGET_TOKEN="PAWSUSDT")
    code, out, err = await run_cli(["journal", "--env-file", str(empty)], env)
    assert code == 0, err
    assert "torn last line" in err and PENDING in out


async def test_without_key_or_target_exit_2(tmp_path: Path, empty: Path) -> None:
    env = env_for(tmp_path, TARGET_TOKEN="PAWSUSDT")
    code, out, err = await run_cli(["journal", "--env-file", str(empty)], env)
    assert code == 2 and "BITGET_API_KEY" in err and "--all" in err
    assert "Traceback" not in err
    env = env_for(tmp_path, BITGET_API_KEY=API_KEY)
    code, out, err = await run_cli(["journal", "--env-file", str(empty)], env)
    assert code == 2 and "TARGET_TOKEN" in err
    assert_no_secret(out, err)


async def test_key_and_target_from_the_env_file(
    journals: Path, tmp_path: Path, empty: Path
) -> None:
    env_file = tmp_path / "run.env"
    env_file.write_text(f"BITGET_API_KEY={API_KEY}\nTARGET_TOKEN=PAWSUSDT\n")
    code, out, err = await run_cli(["journal", "--env-file", str(env_file)], env_for(journals))
    assert code == 0, err
    assert PENDING in out
    assert_no_secret(out, err)
