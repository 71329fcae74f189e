"""The durable journal (``sniper.live.journal``): location, file modes, the three events,
pending orders, torn lines, a hot-path call that never raises, durability and no secrets."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import stat
import time
from pathlib import Path

import pytest

from sniper.config import Config, load_config
from sniper.errors import StartupError
from sniper.live import journal as journal_module
from sniper.live.journal import (
    FIRED_SYNC_DELAY_S,
    OUTCOMES,
    Journal,
    account_id,
    iso_now,
    journal_path,
    list_journals,
    read_events,
    read_orders,
    read_runs,
    state_dir,
)
from sniper.secrets import Secret

API_KEY = "bg_JRNLkey7DISTINCTIVEkey0001"
SECRET = "SECRETjr9DISTINCTIVEsecret00000000000002"
PASSPHRASE = "PASSjr3DISTINCTIVEpass03"
OID = "snp-00000000000000000000aaaa"
OID2 = "snp-00000000000000000000bbbb"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {
        "BITGET_API_KEY": API_KEY,
        "BITGET_SECRET_KEY": SECRET,
        "BITGET_PASSPHRASE": PASSPHRASE,
        "TARGET_TOKEN": "paws/usdt",
        "COIN_AMOUNT": "1000",
    }
    return load_config(env_file=empty, environ=env)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state" / "sniper"


@pytest.fixture
def journal(config: Config, state: Path):  # type: ignore[no-untyped-def]
    with Journal.open(config, directory=state, run_id="run-1") as j:
        yield j


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


# -------------------------------------------------------------------------------------------------
# location


def test_state_dir_resolution() -> None:
    assert state_dir({"SNIPER_STATE_DIR": "/x/y", "XDG_STATE_HOME": "/s"}) == Path("/x/y")
    assert state_dir({"XDG_STATE_HOME": "/s", "HOME": "/h"}) == Path("/s/sniper")
    # a relative XDG_STATE_HOME is invalid per the XDG spec and ignored
    assert state_dir({"XDG_STATE_HOME": "rel", "HOME": "/h"}) == Path("/h/.local/state/sniper")
    assert state_dir({"HOME": "/h"}) == Path("/h/.local/state/sniper")


def test_account_id_names_the_key_without_revealing_it() -> None:
    aid = account_id(Secret(API_KEY))
    assert len(aid) == 12 and all(c in "0123456789abcdef" for c in aid)
    assert aid == account_id(API_KEY)
    assert aid != account_id(API_KEY + "x")
    assert aid not in API_KEY and API_KEY[:6] not in aid


def test_paths_reject_odd_names(state: Path) -> None:
    with pytest.raises(ValueError):
        journal_path(state, "0123456789ab", "../etc")
    with pytest.raises(ValueError):
        journal_path(state, "nothex", "PAWSUSDT")


def test_open_creates_private_dir_and_file(journal: Journal, state: Path) -> None:
    assert journal.path == state / f"{account_id(API_KEY)}-PAWSUSDT.jsonl"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600


def test_existing_file_is_made_private(config: Config, state: Path) -> None:
    state.mkdir(parents=True)
    path = journal_path(state, account_id(API_KEY), "PAWSUSDT")
    path.write_text("")
    path.chmod(0o644)
    with Journal.open(config, directory=state):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_unusable_state_dir_is_a_startup_error(config: Config, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StartupError, match="state directory"):
        Journal.open(config, directory=blocker / "sniper")


# -------------------------------------------------------------------------------------------------
# events


async def test_a_fire_wakes_the_sync_thread_only_after_the_volley(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the event loop, ``record_fired`` writes its line at once and the sync thread's
    fdatasync comes FIRED_SYNC_DELAY_S later (the volley's copies go meanwhile, no thread
    asking for the GIL); the line is durable after it."""
    journal.record_intent(OID, amount="all", size="999.5", mode="uta", demo=False)
    assert await asyncio.to_thread(journal.wait_durable, 2.0)
    synced: list[float] = []
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        synced.append(time.monotonic())
        real(fd)

    monkeypatch.setattr(journal_module.os, "fdatasync", fdatasync)
    fired = time.monotonic()
    journal.record_fired(OID, "scheduled", 0)
    assert lines(journal.path)[-1]["event"] == "fired"  # written before anything else
    await asyncio.sleep(FIRED_SYNC_DELAY_S / 2)
    assert synced == []
    assert await asyncio.to_thread(journal.wait_durable, 2.0)
    assert synced and synced[0] - fired >= FIRED_SYNC_DELAY_S * 0.9


def test_outside_an_event_loop_a_fire_wakes_the_sync_thread_itself(journal: Journal) -> None:
    """No loop to wake it later: the sync thread is woken at once (else never: not durable)."""
    journal.record_intent(OID, amount="all", size="999.5", mode="uta", demo=False)
    journal.record_fired(OID, "ws", 1)
    assert journal.wait_durable(2.0)


def test_intent_fired_outcome_round_trip(journal: Journal) -> None:
    journal.record_intent(OID, amount="all", size="999.5", mode="uta", demo=False)
    journal.record_fired(OID, "ws", 1)
    assert journal.pending()[0].client_oid == OID  # fired, no outcome yet
    fill = {"status": "filled", "baseVolume": "999.5", "priceAvg": "0.0123"}
    assert journal.record_outcome(
        OID, "filled", order_id="1234", fill=fill, exit_code=0, message="SOLD"
    )
    intent, fired, outcome = lines(journal.path)
    assert intent["event"] == "intent" and intent["v"] == 1
    assert intent["run"] == "run-1" and intent["clientOid"] == OID
    assert intent["target"] == "PAWSUSDT" and intent["amount"] == "all"
    assert intent["size"] == "999.5" and intent["mode"] == "uta" and intent["demo"] is False
    assert intent["pid"] == os.getpid() and intent["time"].endswith("Z")
    assert fired == {
        "event": "fired",
        "v": 1,
        "run": "run-1",
        "clientOid": OID,
        "pid": os.getpid(),
        "channel": "ws",
        "lane": 1,
        "time": fired["time"],
    }
    assert fired["time"] >= intent["time"]
    assert outcome["outcome"] == "filled" and outcome["orderId"] == "1234"
    assert outcome["fill"] == fill and outcome["exitCode"] == 0 and "by" not in outcome
    assert journal.pending() == []
    (order,) = read_orders(journal.path)
    assert order.state == "filled" and order.channel == "ws" and order.fill == fill
    assert order.armed_at == intent["time"] and order.fired_at == fired["time"]


def test_iso_now_is_utc_with_microseconds() -> None:
    import datetime as dt

    text = iso_now()
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    now = dt.datetime.now(dt.UTC)
    assert abs((now - parsed).total_seconds()) < 5
    assert len(text) == len("2026-12-01T17:00:03.123456Z")


def test_unknown_outcome_is_a_programming_error(journal: Journal) -> None:
    with pytest.raises(ValueError, match="outcome must be one of"):
        journal.record_outcome(OID, "sold")
    assert "interrupted-before-fire" in OUTCOMES


def test_pending_rules(journal: Journal) -> None:
    for oid in (OID, OID2, "snp-armed-only", "snp-interrupted", "snp-unconfirmed"):
        journal.record_intent(oid, amount="1", size="1", mode="classic")
    journal.record_fired(OID, "poll")  # no outcome: pending
    journal.record_fired(OID2, "ws")
    journal.record_outcome(OID2, "accepted", order_id="9")  # proven: not pending
    journal.record_outcome("snp-interrupted", "interrupted-before-fire", exit_code=130)
    journal.record_fired("snp-unconfirmed", "scheduled")
    journal.record_outcome("snp-unconfirmed", "unconfirmed", exit_code=4)  # fate unknown
    assert [o.client_oid for o in journal.pending()] == [OID, "snp-unconfirmed"]
    unfired = journal.pending(include_unfired=True)
    assert [o.client_oid for o in unfired] == [OID, "snp-armed-only", "snp-unconfirmed"]
    states = {o.client_oid: o.state for o in read_orders(journal.path)}
    assert states == {
        OID: "fired",
        OID2: "accepted",
        "snp-armed-only": "armed",
        "snp-interrupted": "interrupted-before-fire",
        "snp-unconfirmed": "unconfirmed",
    }


def test_later_run_resolves_an_earlier_runs_order(config: Config, state: Path) -> None:
    with Journal.open(config, directory=state, run_id="run-old") as old:
        old.record_intent(OID, amount="1", size="1", mode="classic")
        old.record_fired(OID, "ws")
    with Journal.open(config, directory=state, run_id="run-new") as new:
        (pending,) = new.pending()
        assert pending.run_id == "run-old" and pending.channel == "ws"
        new.record_outcome(OID, "filled", order_id="77")
        assert new.pending() == []
        outcome = lines(new.path)[-1]
        assert outcome["run"] == "run-old" and outcome["by"] == "run-new"


def test_several_orders_per_run_and_runs_grouped(journal: Journal, config: Config) -> None:
    journal.record_intent(OID, amount="10", size="5", mode="classic", chunk=1)
    journal.record_intent(OID2, amount="10", size="5", mode="classic", chunk=2)
    journal.record_fired(OID, "ws")
    journal.record_fired(OID2, "ws")
    journal.record_outcome(OID, "filled")
    assert [o.client_oid for o in journal.pending()] == [OID2]
    with Journal.open(config, directory=journal.path.parent, run_id="run-2") as second:
        second.record_intent("snp-c", amount="1", size="1", mode="classic")
    runs = read_runs(journal.path)
    assert [(r.run_id, [o.client_oid for o in r.orders]) for r in runs] == [
        ("run-1", [OID, OID2]),
        ("run-2", ["snp-c"]),
    ]


def test_open_schema_record(journal: Journal) -> None:
    assert journal.record("resent", {"run": "run-1", "clientOid": OID, "lane": 0})
    assert lines(journal.path)[-1] == {
        "event": "resent",
        "v": 1,
        "run": "run-1",
        "clientOid": OID,
        "lane": 0,
    }
    with pytest.raises(ValueError, match="names its run and its clientOid"):
        journal.record("resent", {"run": "run-1"})


def test_list_journals(config: Config, state: Path) -> None:
    assert list_journals(state) == []
    with Journal.open(config, directory=state):
        pass
    other = config.with_overrides(target="BTCUSDT")
    with Journal.open(other, directory=state):
        pass
    (state / "notes.txt").write_text("x")
    found = list_journals(state)
    assert [(j.account, j.target) for j in found] == [
        (account_id(API_KEY), "BTCUSDT"),
        (account_id(API_KEY), "PAWSUSDT"),
    ]


# -------------------------------------------------------------------------------------------------
# torn and foreign lines


def test_torn_last_line_is_ignored_with_a_warning_and_the_next_event_is_whole(
    journal: Journal, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    journal.record_intent(OID, amount="1", size="1", mode="classic")
    journal.close()
    with open(journal.path, "ab") as f:  # a crash in the middle of the fired line
        f.write(b'{"event":"fired","v":1,"run":"run-1","clientOid":"snp-00')
    with caplog.at_level(logging.WARNING, logger="sniper.journal"):
        assert [o.state for o in read_orders(journal.path)] == ["armed"]
    assert "torn last line" in caplog.text
    caplog.clear()
    directory = journal.path.parent
    with (
        caplog.at_level(logging.WARNING, logger="sniper.journal"),
        Journal.open(config, directory=directory, run_id="run-2") as again,
    ):
        again.record_intent(OID2, amount="1", size="1", mode="classic")
        again.record_fired(OID2, "ws")
    assert "torn line" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sniper.journal"):
        events = read_events(journal.path)
    assert [(e["event"], e["clientOid"]) for e in events] == [
        ("intent", OID),
        ("intent", OID2),
        ("fired", OID2),
    ]
    assert "line 2 is not a journal event" in caplog.text  # the old fragment, now mid-file


def test_garbage_lines_never_crash_a_reader(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(
        b'[1,2]\n\xff\xfe\n{"event":"intent"}\n"text"\n'
        b'{"event":"intent","run":"r","clientOid":"c","pid":"x","time":5}\n'
    )
    with caplog.at_level(logging.WARNING, logger="sniper.journal"):
        (order,) = read_orders(path)
    assert order.client_oid == "c" and order.pid is None and order.armed_at == "5"
    assert caplog.text.count("not a journal event") == 4
    assert read_orders(tmp_path / "missing.jsonl") == []


# -------------------------------------------------------------------------------------------------
# the hot-path call


def test_record_fired_is_one_write_of_one_line(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal.record_intent(OID, amount="1", size="1", mode="classic")
    writes: list[bytes] = []
    real_write = os.write

    def spy(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    journal.record_fired(OID, "scheduled", 0)
    monkeypatch.undo()
    assert len(writes) == 1 and writes[0].endswith(b"}\n") and writes[0].count(b"\n") == 1
    assert json.loads(writes[0])["channel"] == "scheduled"


def test_record_fired_is_made_durable_off_the_caller(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal.record_intent(OID, amount="1", size="1", mode="classic")
    synced: list[int] = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counting)
    journal.record_fired(OID, "ws")
    assert journal.wait_durable(5)
    assert synced  # the sync thread ran fdatasync for the fired line


def test_a_failed_sync_is_reported_not_raised(
    journal: Journal, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    journal.record_intent(OID, amount="1", size="1", mode="classic")

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", broken)
    with caplog.at_level(logging.WARNING, logger="sniper.journal"):
        journal.record_fired(OID, "ws")
        assert journal.wait_durable(5) is False
    assert "fsync" in caplog.text and "Input/output error" in caplog.text


def test_record_fired_never_raises(
    journal: Journal, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    journal.record_intent(OID, amount="1", size="1", mode="classic")

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with caplog.at_level(logging.ERROR, logger="sniper.journal"):
        journal.record_fired(OID, "ws")
    monkeypatch.undo()
    assert "No space left" in caplog.text and OID in caplog.text and "WAS sent" in caplog.text
    caplog.clear()
    journal.close()
    with caplog.at_level(logging.ERROR, logger="sniper.journal"):
        journal.record_fired(OID, "ws")  # after close: logged, not raised
    assert "could not record" in caplog.text


def test_record_fired_of_an_unannounced_order_is_still_recorded(journal: Journal) -> None:
    journal.record_fired("snp-surprise", 'odd"channel')
    (fired,) = lines(journal.path)
    assert fired["clientOid"] == "snp-surprise" and fired["run"] == "run-1"
    assert fired["channel"] == 'odd"channel'


def test_short_write_leaves_no_glued_line(
    journal: Journal, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    journal.record_intent(OID, amount="1", size="1", mode="classic")
    real_write = os.write

    def short(fd: int, data: bytes) -> int:
        return real_write(fd, bytes(data)[:10])

    monkeypatch.setattr(os, "write", short)
    with caplog.at_level(logging.ERROR, logger="sniper.journal"):
        journal.record_fired(OID, "ws")
    monkeypatch.undo()
    assert "short write" in caplog.text
    journal.record_outcome(OID, "filled", order_id="5")  # starts on a new line
    journal.record_intent(OID2, amount="1", size="1", mode="classic")
    monkeypatch.setattr(os, "write", short)
    journal.record_outcome(OID2, "cancelled")
    monkeypatch.undo()
    journal.record_fired(OID2, "poll")  # the hot-path line starts on a new line too
    journal.record_outcome(OID2, "accepted")
    with caplog.at_level(logging.WARNING, logger="sniper.journal"):
        first, second = read_orders(journal.path)
    assert first.outcome == "filled" and first.order_id == "5"
    assert second.channel == "poll" and second.outcome == "accepted"
    assert "\n\n" not in journal.path.read_text()  # no blank line once the tear is closed


def test_intent_that_cannot_be_made_durable_stops_the_start(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", broken)
    with pytest.raises(StartupError, match="cannot write the journal"):
        journal.record_intent(OID, amount="1", size="1", mode="classic")


def test_outcome_write_failure_returns_false(
    journal: Journal, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with caplog.at_level(logging.ERROR, logger="sniper.journal"):
        assert journal.record_outcome(OID, "filled") is False
    assert "No space left" in caplog.text


def test_close_is_idempotent_and_waits_for_the_sync_thread(journal: Journal) -> None:
    journal.record_intent(OID, amount="1", size="1", mode="classic")
    journal.record_fired(OID, "ws")
    journal.close()
    journal.close()
    assert not any(t.name == "sniper-journal-sync" and t.is_alive() for t in _threads())


def _threads():  # type: ignore[no-untyped-def]
    import threading

    return threading.enumerate()


# -------------------------------------------------------------------------------------------------
# secrets


def test_the_journal_never_holds_a_credential(journal: Journal, config: Config) -> None:
    journal.record_intent(OID, amount="1", size="1", mode="classic", note=f"key {API_KEY}")
    journal.record_fired(OID, "ws")
    journal.record_outcome(
        OID,
        "rejected",
        exit_code=3,
        message=f"echo of {SECRET} and {PASSPHRASE}",
        fill={"raw": [f"x{API_KEY}y"]},
    )
    journal.record("resent", {"run": "run-1", "clientOid": OID, "why": config.secret_key})
    data = journal.path.read_text()
    for secret in (API_KEY, SECRET, PASSPHRASE):
        assert secret not in data and secret[:12] not in data
    assert "***" in data
    assert API_KEY not in repr(journal) and SECRET not in repr(vars(journal))
