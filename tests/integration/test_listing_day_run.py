"""Listing-day runs end to end (issue 13) against the embedded exchange's listing-day model, in
both account modes: notifications to a receiver on 127.0.0.1 (armed, sold, partial; no secret;
a failing receiver changes nothing); a floor (``MIN_PRICE``) that never sells below itself on a
book whose bids straddle it, the rest resting (gtc) or cancelled (ioc) with exit code 5; market
orders refused after the open: with a floor it sells by limit at once, without one the market
order is retried and the log says a floor would help."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import test_notify
from sniper_harness import (
    API_KEY,
    SECRETS,
    TARGET,
    assert_no_secret,
    both_modes,
    funded_exchange,
    run_cli,
    sniper_config,
    sniper_env,
    start_sniper,
    wait_until,
)
from test_notify import Receiver

from sniper.errors import OrderRejected
from sniper.exchange import EmbeddedExchange
from sniper.live.report import EXIT_PARTIAL

# test_notify's local receiver fixture, as ``hook`` here
hook = test_notify.receiver

# the bids at the open: 300 at 0.6, 300 at 0.5 — then 1000 below a 0.5 floor
STRADDLING = [("0.6", "300"), ("0.5", "300"), ("0.4", "1000")]
DEEP = [("0.6", "300"), ("0.55", "2000")]


@contextlib.asynccontextmanager
async def listing_exchange(mode: str, **settings: Any) -> AsyncIterator[EmbeddedExchange]:
    """The integration fixture's exchange (one funded account, 1000 PAWS) with listing-day
    settings."""
    async with funded_exchange(mode, btc=False, **settings) as ex:
        yield ex


async def gray_with_book(ex: EmbeddedExchange, bids: list[tuple[str, str]]) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.5", quantity_precision=2)
    ex.state.set_book(TARGET, bids)


def our_fills(ex: EmbeddedExchange, client_oid: str | None = None) -> list[tuple[D, D]]:
    return [
        (f.price, f.base_qty)
        for f in ex.state.fills
        if f.api_key == API_KEY and f.symbol == TARGET and client_oid in (None, f.client_oid)
    ]


def order_bodies(ex: EmbeddedExchange) -> list[dict[str, Any]]:
    """Every place-order body the exchange received (a non-empty one: no permission probe)."""
    return [
        json.loads(r.body)
        for r in ex.records.requests
        if r.path.endswith("/place-order") and r.body not in (b"", b"{}")
    ]


def events(rec: Receiver) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rec.requests:
        doc = r.json()
        out.setdefault(doc["event"], []).append(doc)
    return out


def last_outcome(tmp_path: Path, client_oid: str) -> dict[str, Any]:
    """The last outcome line the journal holds for ``client_oid``."""
    lines = []
    for path in Path(tmp_path).rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            doc = json.loads(line)
            if doc.get("event") == "outcome" and doc.get("clientOid") == client_oid:
                lines.append(doc)
    assert lines, "no outcome in the journal"
    return lines[-1]


# =================================================================================================
# notifications
@both_modes
async def test_notifications_armed_then_sold_with_the_fill_report_and_no_secret(
    mode: str, hook: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    async with listing_exchange(mode) as ex:
        await gray_with_book(ex, DEEP)
        run = start_sniper(sniper_config(ex, NOTIFY_URL=hook.url("/hook")))
        await run.armed()
        await wait_until(lambda: "armed" in events(hook), within=3.0)
        armed = events(hook)["armed"][0]
        assert armed["target"] == TARGET and armed["amount"] == "1000"
        assert armed["size"] == "1000" and armed["mode"] == mode
        assert armed["client_oid"] == run.sniper.order.client_oid  # type: ignore[union-attr]
        assert "sold" not in events(hook)  # nothing before the open
        ex.open_symbol(TARGET)
        result = await run.result()
        assert result.exit_code == 0
        got = events(hook)
        assert len(got["sold"]) == 1 and set(got) == {"armed", "sold"}
        sold = got["sold"][0]
        assert sold["order_id"] == result.order_id and sold["client_oid"] == result.client_oid
        assert D(sold["filled_qty"]) == D("1000")
        # 300 at 0.6 + 700 at 0.55 = 565 USDT, avg 0.565
        assert D(sold["quote_volume"]) == D("565") and D(sold["price_avg"]) == D("0.565")
        # v2 reports baseVolume "1000.00", v3 cumExecQty "1000"
        assert re.match(r"sniper SOLD 1000(\.0+)? PAWS on PAWSUSDT at avg 0\.565", sold["text"])
        for r in hook.requests:
            assert_no_secret(r.body.decode(), json.dumps(r.headers))
        assert run.sniper.notifier.failures == []
        assert_no_secret(caplog.text)


async def test_a_failing_receiver_changes_nothing(
    hook: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    hook.status = 500
    async with listing_exchange("classic") as ex:
        await gray_with_book(ex, DEEP)
        run = start_sniper(sniper_config(ex, NOTIFY_URL=hook.url("/hook")))
        await run.armed()
        ex.open_symbol(TARGET)
        result = await run.result()
        assert result.exit_code == 0 and result.fill is not None
        assert result.fill.status == "filled"
        assert sum(q for _, q in our_fills(ex)) == D("1000")
        # both tried and refused: one WARNING each, nothing else changed
        assert {e for e, _, _ in run.sniper.notifier.failures} == {"armed", "sold"}
        warned = [r for r in caplog.records if r.name == "sniper.notify"]
        assert len(warned) == 2 and all(r.levelno == logging.WARNING for r in warned)


async def test_a_receiver_that_is_not_listening_changes_nothing() -> None:
    async with listing_exchange("uta") as ex:
        await gray_with_book(ex, DEEP)
        # a port nobody listens on: connection refused
        run = start_sniper(sniper_config(ex, NOTIFY_URL="http://127.0.0.1:9/hook"))
        await run.armed()
        ex.open_symbol(TARGET)
        result = await run.result()
        assert result.exit_code == 0
        assert sum(q for _, q in our_fills(ex)) == D("1000")


# =================================================================================================
# the floor
@both_modes
async def test_floor_gtc_on_a_straddling_book_sells_only_at_or_above_it_the_rest_rests(
    mode: str, hook: Receiver, tmp_path: Path
) -> None:
    async with listing_exchange(mode) as ex:
        await gray_with_book(ex, STRADDLING)
        run = start_sniper(sniper_config(ex, MIN_PRICE="0.5", NOTIFY_URL=hook.url("/h")))
        await run.armed()
        ex.open_symbol(TARGET)
        result = await run.result()
        fills = our_fills(ex, result.client_oid)
        assert fills == [(D("0.6"), D("300")), (D("0.5"), D("300"))]
        assert all(price >= D("0.5") for price, _ in fills)  # never below the floor
        assert ex.state.executed_qty(API_KEY, TARGET) == D("600")
        # the order was a limit sell at the floor, gtc
        assert len([o for o in ex.records.orders if o.accepted]) == 1
        (body,) = order_bodies(ex)
        assert body["orderType"] == "limit" and body["price"] == "0.5"
        assert body["force" if mode == "classic" else "timeInForce"] == "gtc"
        # the report: partial, the rest resting at the floor, exit code 5
        assert result.partial and result.exit_code == EXIT_PARTIAL == 5
        assert result.filled_qty == D("600") and result.remaining_qty == D("400")
        assert result.rest == "is resting at the floor 0.5"
        text = run.out.getvalue()
        assert "PARTLY SOLD" in text and "filled 600 of 1000 · remainder 400" in text
        assert "quote received 330" in text  # 300 x 0.6 + 300 x 0.5
        outcome = last_outcome(tmp_path, result.client_oid)
        assert outcome["outcome"] == "partially_filled" and outcome["exitCode"] == 5
        assert outcome["fill"]["remaining_qty"] == "400"
        assert outcome["fill"]["floor_price"] == "0.5"
        await wait_until(lambda: "partial" in events(hook), within=3.0)
        partial = events(hook)["partial"][0]
        assert partial["remaining_qty"] == "400" and partial["floor_price"] == "0.5"
        assert "PARTLY SOLD 600" in partial["text"] and "resting at the floor" in partial["text"]
        assert "sold" not in events(hook)


@both_modes
async def test_floor_ioc_cancels_the_rest(mode: str, tmp_path: Path) -> None:
    async with listing_exchange(mode) as ex:
        await gray_with_book(ex, STRADDLING)
        run = start_sniper(sniper_config(ex, MIN_PRICE="0.5", FLOOR_TIF="ioc"))
        await run.armed()
        ex.open_symbol(TARGET)
        result = await run.result()
        assert our_fills(ex, result.client_oid) == [(D("0.6"), D("300")), (D("0.5"), D("300"))]
        assert result.rest == "was cancelled" and result.exit_code == 5
        assert result.fill is not None and result.fill.status in ("cancelled", "canceled")
        outcome = last_outcome(tmp_path, result.client_oid)
        assert (
            outcome["outcome"] == "partially_filled" and outcome["fill"]["rest"] == "was cancelled"
        )


@both_modes
async def test_floor_sells_everything_when_the_bids_above_it_suffice(mode: str) -> None:
    async with listing_exchange(mode) as ex:
        await gray_with_book(ex, DEEP)
        run = start_sniper(sniper_config(ex, MIN_PRICE="0.5"))
        await run.armed()
        ex.open_symbol(TARGET)
        result = await run.result()
        assert not result.partial and result.exit_code == 0
        assert ex.state.executed_qty(API_KEY, TARGET) == D("1000")
        assert "SOLD" in run.out.getvalue() and "limit sell at the floor 0.5" in run.out.getvalue()


async def test_floor_is_rounded_up_to_the_price_precision(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with listing_exchange("classic") as ex:
        await gray_with_book(ex, STRADDLING)  # pricePrecision 4
        run = start_sniper(sniper_config(ex, MIN_PRICE="0.50001"))
        await run.armed()
        assert run.sniper.order is not None and run.sniper.order.price == "0.5001"
        ex.open_symbol(TARGET)
        result = await run.result()
        # 0.5 < 0.5001: only the 0.6 bids are taken
        assert our_fills(ex, result.client_oid) == [(D("0.6"), D("300"))]
        assert "rounded up so that nothing sells below MIN_PRICE" in caplog.text


# =================================================================================================
# market orders refused at the open
@both_modes
async def test_market_refused_for_3s_with_a_floor_sells_by_limit_at_once(mode: str) -> None:
    async with listing_exchange(mode, market_orders_refused_for_s=3.0) as ex:
        await gray_with_book(ex, STRADDLING)
        run = start_sniper(sniper_config(ex, MIN_PRICE="0.5", FLOOR_TIF="ioc"))
        await run.armed()
        ex.open_symbol(TARGET)
        opened = asyncio.get_running_loop().time()
        result = await run.result()
        assert asyncio.get_running_loop().time() - opened < 3.0  # not after the refusal ended
        assert not result.codes  # no refusal: a limit order is what the venue takes
        fills = our_fills(ex)
        assert fills and all(price >= D("0.5") for price, _ in fills)
        assert ex.state.executed_qty(API_KEY, TARGET) == D("600") <= D("1000")
        assert [b["orderType"] for b in order_bodies(ex)] == ["limit"]


@both_modes
async def test_market_refused_without_a_floor_retries_and_says_min_price_would_help(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with listing_exchange(mode, market_orders_refused_for_s=1.0) as ex:
        await gray_with_book(ex, DEEP)
        run = start_sniper(sniper_config(ex))
        await run.armed()
        ex.open_symbol(TARGET)
        result = await run.result()
        refused = "43119" if mode == "classic" else "25101"
        assert refused in result.codes  # refused first, then accepted: the same clientOid
        assert result.exit_code == 0
        assert ex.state.executed_qty(API_KEY, TARGET) == D("1000")
        assert len({o.client_oid for o in ex.records.orders if o.client_oid}) == 1
        hints = [r for r in caplog.records if "setting MIN_PRICE" in r.getMessage()]
        assert len(hints) == 1 and hints[0].levelno == logging.WARNING


# =================================================================================================
# the CLI
async def test_cli_partial_exits_5_and_says_so() -> None:
    async with listing_exchange("classic") as ex:
        await ex.list_symbol(TARGET, open_at_ms=None, price="0.5", quantity_precision=2)
        ex.state.set_book(TARGET, STRADDLING)
        ex.open_symbol(TARGET)
        rc, out, err = await run_cli(["run"], sniper_env(ex, MIN_PRICE="0.5"))
        assert rc == 5, err
        assert "PARTLY SOLD" in out and "remainder 400 (is resting at the floor 0.5)" in out
        assert_no_secret(out, err)
        assert all(s not in out + err for s in SECRETS)


@both_modes
async def test_a_rejected_order_notifies_failed_with_the_code(mode: str, hook: Receiver) -> None:
    async with listing_exchange(mode) as ex:
        await gray_with_book(ex, DEEP)
        run = start_sniper(sniper_config(ex, NOTIFY_URL=hook.url("/h")))
        await run.armed()
        ex.faults.queue_order_replies(["45110"])  # under the minimum: final, not executed
        ex.open_symbol(TARGET)
        with pytest.raises(OrderRejected) as info:
            await run.result()
        assert info.value.exit_code == 3
        got = events(hook)  # drained before run() returned
        assert set(got) == {"armed", "failed"}
        failed = got["failed"][0]
        assert failed["code"] == "45110" and failed["exit_code"] == 3
        assert failed["client_oid"] == run.sniper.order.client_oid  # type: ignore[union-attr]
        assert "nothing was sold" in failed["text"]
        for r in hook.requests:
            assert_no_secret(r.body.decode())


# =================================================================================================
# the market-order cap
def order_sizes(ex: EmbeddedExchange) -> list[tuple[str, D, str | None]]:
    """(clientOid, size, code) of every place-order the account sent, in order."""
    return [(o.client_oid or "", D(o.size), o.code) for o in ex.records.orders]


def capped_listing(ex: EmbeddedExchange, mode: str) -> dict[str, str]:
    """v2: maxMarketOrderValue 150 USDT at the price 0.5 (= 300 PAWS); v3: maxMarketOrderQty
    300."""
    if mode == "classic":
        return {"max_market_order_value": "150"}
    return {"max_market_order_qty": "300"}


@both_modes
async def test_cap_below_the_amount_sells_exactly_the_amount_in_chunks(
    mode: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sniper")
    async with listing_exchange(mode) as ex:
        await ex.list_symbol(
            TARGET, open_at_ms=None, price="0.5", quantity_precision=2, **capped_listing(ex, mode)
        )
        ex.state.set_book(TARGET, [("0.5", "5000")])
        run = start_sniper(sniper_config(ex))
        await run.armed()
        order = run.sniper.order
        assert order is not None and order.total == "1000"
        # v3's cap is a quantity: planned at arm time, the pre-signed order is the first chunk;
        # v2's is a value: with no price before the open it cannot be, and the first order's
        # 45113 (not executed) re-plans (cap_quantity)
        planned = mode == "uta"
        assert (D(order.size or "0") <= D("300")) is planned
        ex.open_symbol(TARGET)
        result = await run.result(within=20)
        sent = order_sizes(ex)
        accepted = [(oid, size) for oid, size, code in sent if code == "00000"]
        assert all(size <= D("300") for _, size in accepted), sent  # none over the cap
        assert sum(size for _, size in accepted) == D("1000")
        assert ex.state.executed_qty(API_KEY, TARGET) == D("1000")  # exactly COIN_AMOUNT
        oids = [oid for oid, _ in accepted]
        assert len(set(oids)) == len(oids) >= 4  # each chunk its own clientOid
        assert oids[0] == result.client_oid
        base = sent[0][0]
        first = 1 if planned else 2
        assert oids[0] == (base if planned else f"{base}-2")
        assert all(oid == f"{base}-{n}" for n, oid in enumerate(oids[1:], first + 1))
        refused = [size for _, size, code in sent if code == "45113"]
        assert refused == ([] if planned else [D("1000")])
        assert result.exit_code == 0 and not result.partial
        assert result.fill is not None and D(result.fill.base_volume) == D("1000")
        assert len(result.chunks) == len(oids)
        assert "sold in" in run.out.getvalue() and "chunks under the pair's market-order cap" in (
            run.out.getvalue()
        )
        for oid in oids:  # every chunk's outcome in the journal
            assert last_outcome(tmp_path, oid)["outcome"] == "filled"
        said = [r.getMessage() for r in caplog.records if r.name == "sniper.run"]
        if planned:  # the first chunk was accepted: said once, with its orderId
            assert sum(m.startswith("order accepted: orderId") for m in said) == 1, said


@both_modes
async def test_cap_appearing_after_arming_45113_replans_the_remainder(
    mode: str, tmp_path: Path
) -> None:
    async with listing_exchange(mode) as ex:
        await gray_with_book(ex, [("0.5", "5000")])
        run = start_sniper(sniper_config(ex))
        await run.armed()
        assert run.sniper.order is not None and run.sniper.order.size == "1000"  # no cap known
        sym = ex.state.symbols[TARGET]
        for name, value in capped_listing(ex, mode).items():
            setattr(sym, name, value)
        ex.open_symbol(TARGET)
        result = await run.result(within=20)
        sent = order_sizes(ex)
        assert sent[0][1:] == (D("1000"), "45113")  # refused whole: not executed
        accepted = [(oid, size) for oid, size, code in sent if code == "00000"]
        assert all(size <= D("300") for _, size in accepted), sent
        assert ex.state.executed_qty(API_KEY, TARGET) == D("1000")
        assert sum(size for _, size in accepted) == D("1000")
        assert result.exit_code == 0 and len(result.chunks) == len(accepted)
        first_oid = sent[0][0]
        assert last_outcome(tmp_path, first_oid)["outcome"] == "rejected"
        for oid, _ in accepted:
            assert oid.startswith(first_oid + "-")
            assert last_outcome(tmp_path, oid)["outcome"] == "filled"


# =================================================================================================
# the fill-quality report
@both_modes
async def test_fill_quality_slippage_vs_the_first_best_bid_and_open_to_first_fill(
    mode: str, tmp_path: Path, hook: Receiver
) -> None:
    async with listing_exchange(mode) as ex:
        # a market sell walks 300 @ 0.6, 300 @ 0.5, 400 @ 0.4: avg 0.49; the listing ticker's
        # best bid is the pair's price, 0.5 → slippage -2 %
        await gray_with_book(ex, STRADDLING)
        run = start_sniper(sniper_config(ex, NOTIFY_URL=hook.url("/q")))
        await run.armed()
        ex.open_symbol(TARGET)
        result = await run.result()
        assert result.channel == "ws" and result.fill is not None
        assert D(result.fill.price_avg) == D("0.49")
        q = result.quality
        assert q is not None and q.first_best_bid is not None
        assert D(q.first_best_bid) == D("0.5") and q.slippage_pct == -2.0
        assert q.open_basis == "first seen"  # no announced open: the ticker that fired
        assert q.open_to_first_fill_ms is not None and 0 < q.open_to_first_fill_ms < 1000
        text = run.out.getvalue()
        assert "fill quality: slippage -2.00 % vs the first best bid 0.5" in text
        assert "open (first seen) → first fill" in text
        outcome = last_outcome(tmp_path, result.client_oid)
        assert outcome["fill"]["slippage_pct"] == -2.0
        assert outcome["fill"]["open_to_first_fill_ms"] == q.open_to_first_fill_ms
        await wait_until(lambda: "sold" in events(hook), within=3.0)
        sold = events(hook)["sold"][0]
        assert sold["slippage_pct"] == -2.0 and "slippage vs first best bid: -2" in sold["text"]


async def test_fill_quality_from_the_announced_open() -> None:
    async with listing_exchange("classic") as ex:
        open_at = ex.server_time_ms() + 1500
        await ex.list_symbol(TARGET, open_at_ms=open_at, price="0.5", quantity_precision=2)
        ex.state.set_book(TARGET, DEEP)
        run = start_sniper(sniper_config(ex))
        result = await run.result(within=15)
        q = result.quality
        assert q is not None and q.open_basis == "announced"
        assert q.open_to_first_fill_ms is not None and -50 < q.open_to_first_fill_ms < 1000


# =================================================================================================
# sniper check shows the floor
@both_modes
@pytest.mark.parametrize(
    ("floor", "status", "shown"),
    [
        # the row's sellLimitPriceRatio is 0.05: at the last price 0.5 the lowest sell limit
        # is 0.5 / 1.05 ≈ 0.476 (the stricter reading)
        ("0.48", "OK", "limit sell at 0.48 USDT (gtc"),
        ("0.48001", "WARN", "limit sell at 0.4801 USDT (gtc"),  # rounded up to pricePrecision 4
        ("0.4", "FAIL", "limit sell at 0.4 USDT (gtc"),  # under the band
    ],
)
async def test_check_shows_the_floor_and_its_band(
    mode: str, floor: str, status: str, shown: str
) -> None:
    from sniper.live.check import run_checks

    async with listing_exchange(mode) as ex:
        ex.add_symbol(TARGET, status="online", price="0.5", quantity_precision=2)
        items = {i.item: i for i in await run_checks(sniper_config(ex, MIN_PRICE=floor))}
        row = items["floor"]
        assert row.status == status and row.value.startswith(shown), row
        if status == "FAIL":
            assert "40808" in row.hint and "raise MIN_PRICE" in row.hint
        assert items["market-order cap"].value == "n/a"  # a limit sell: no market cap
