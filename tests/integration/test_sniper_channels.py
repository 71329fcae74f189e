"""Each detection channel fires, decoys never do, and whatever fires, exactly one order goes out."""

from __future__ import annotations

import asyncio
import json

from sniper_harness import (
    TARGET,
    assert_one_accepted,
    both_modes,
    code_for,
    sniper_config,
    start_sniper,
    ticker,
    ticker_for,
    wait_until,
)

from sniper.exchange import EmbeddedExchange
from sniper.live.fastpath import now_ns


@both_modes
async def test_fires_by_websocket(ex: EmbeddedExchange, mode: str) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", quantity_precision=2)
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="3000"))
    await run.armed()
    assert run.sniper.feed is not None and run.sniper.feed.subscribed
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "ws"
    assert result.order_id and result.accepted_via == "reply"
    assert_one_accepted(ex, result.client_oid)
    order = ex.records.orders[0]
    assert order.size == "1000" and order.order_id == result.order_id
    assert result.fill is not None and result.fill.status == "filled"
    assert 0 < result.detect_to_written_us < 50_000
    assert result.written_to_ack_ms is not None and result.written_to_ack_ms > 0
    text = run.out.getvalue()
    assert result.order_id in text and result.client_oid in text and "fired by ws" in text


@both_modes
async def test_fires_by_websocket_on_fragmented_messages(ex: EmbeddedExchange, mode: str) -> None:
    """Every JSON message of the WS (the subscribe ack, then the listing ticker) comes as one
    message in three frames (TEXT without fin, CONTINUATION, CONTINUATION with fin): the hot
    path assembles them and the WebSocket still fires, once."""
    ex.faults.fragment_ws_pushes = 3
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", quantity_precision=2)
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="3000"))
    await run.armed()
    feed = run.sniper.feed
    assert feed is not None and feed.subscribed  # the fragmented ack reached on_event
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "ws"
    assert_one_accepted(ex, result.client_oid)
    assert len(ex.records.orders) == 1
    assert ex.faults.fragment_ws_pushes == 3 and feed.connections == 1


@both_modes
async def test_fires_by_polling_when_feed_is_silent(ex: EmbeddedExchange, mode: str) -> None:
    ex.faults.mute_ws_pushes = True
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex))
    await run.armed()
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "poll"
    assert_one_accepted(ex, result.client_oid)


@both_modes
async def test_fires_by_schedule(ex: EmbeddedExchange, mode: str) -> None:
    ex.faults.mute_ws_pushes = True
    open_at = ex.server_time_ms() + 1200
    await ex.list_symbol(TARGET, open_at_ms=open_at, price="0.0123", announce_open_time=True)
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="5000"))
    await run.armed()
    assert run.sniper.watch is not None and run.sniper.watch.open_time_ms == open_at
    result = await run.result()
    assert result.channel == "scheduled"
    assert_one_accepted(ex, result.client_oid)
    # fired on time: the accepted order reached the exchange within ~150 ms of the open
    accepted = next(o for o in ex.records.orders if o.accepted)
    assert accepted.first_byte_ns / 1e6 - ex.faults.clock_skew_ms - open_at < 150


@both_modes
async def test_already_online_fires_at_once(ex: EmbeddedExchange, mode: str) -> None:
    ex.add_symbol(TARGET, status="online", price="0.0123", quantity_precision=2)
    run = start_sniper(sniper_config(ex))
    result = await run.result()
    assert result.channel == "startup"
    assert_one_accepted(ex, result.client_oid)


DECOYS: list[str | bytes] = [
    ticker("PAWSUSDTX"),
    ticker("XPAWSUSDT"),
    ticker("pawsusdt"),
    ticker(TARGET, channel="books"),
    ticker(TARGET, data=[]),
    json.dumps(
        {"event": "subscribe", "arg": {"instType": "SPOT", "channel": "ticker", "instId": TARGET}}
    ),
    json.dumps(
        {
            "event": "error",
            "arg": {"instType": "SPOT", "channel": "ticker", "instId": TARGET},
            "code": 30001,
            "msg": f"instType:SPOT,channel:ticker,instId:{TARGET} doesn't exist",
            "op": "subscribe",
        }
    ),
    json.dumps(
        {
            "event": "error",
            "action": "snapshot",
            "arg": {"instType": "SPOT", "channel": "ticker", "instId": TARGET},
            "data": [{"instId": TARGET}],
        }
    ),
    ticker(TARGET)[:-1],  # truncated
    TARGET,
    f'{{"arg":{{"instId":"{TARGET}"',
    "not json at all {",
    b"\xff\xfe\x00" + ticker(TARGET).encode()[3:],  # invalid UTF-8 / broken JSON
    '{"junk":"' + TARGET * 100_000 + '"}',  # oversized (~800 KB)
    "pongs",
]


async def test_decoys_never_fire(ex: EmbeddedExchange) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="3000"))
    await run.armed()
    feed = run.sniper.feed
    assert feed is not None and feed.subscribed
    await ex.faults.send_ws_frames(DECOYS)
    await ex.faults.send_ws_frames([ticker(TARGET)], binary=True)  # right shape, binary frame
    await asyncio.sleep(0.5)
    assert run.sniper.trigger is not None and not run.sniper.trigger.fired
    assert ex.records.orders == []
    assert feed.up, "a decoy must not break the feed"
    # and the real thing still fires
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "ws"
    assert_one_accepted(ex, result.client_oid)


@both_modes
async def test_many_hits_at_once_give_one_order(ex: EmbeddedExchange, mode: str) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex))
    await run.armed()
    trigger = run.sniper.trigger
    assert trigger is not None
    ex.open_symbol(TARGET)  # the listing ticker
    await ex.faults.send_ws_frames([ticker_for(ex), ticker_for(ex)])  # twice more
    trigger.fire("poll", now_ns())  # and a poll hit in the same instant
    result = await run.result()
    await asyncio.sleep(0.3)  # anything late would show up now
    assert_one_accepted(ex, result.client_oid)
    assert len(ex.records.orders) == 1
    assert run.sniper.executor is not None and run.sniper.executor.seen  # later hits were seen


async def test_feed_dropped_before_listing_reconnects_and_fires(ex: EmbeddedExchange) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="3000"))
    await run.armed()
    feed = run.sniper.feed
    assert feed is not None and feed.connections == 1
    await ex.faults.drop_ws_connections()
    await wait_until(lambda: feed.connections >= 2 and feed.subscribed)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "ws"
    assert_one_accepted(ex, result.client_oid)


async def test_unknown_pair_is_resubscribed_when_it_appears(ex: EmbeddedExchange) -> None:
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="50", WS_RESUBSCRIBE_S="30"))
    await run.armed()
    feed = run.sniper.feed
    assert feed is not None and feed.symbol_unknown and not feed.subscribed
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    # the poller sees the pair exist and pokes the feed: subscribed long before the 30 s timer
    await wait_until(lambda: feed.subscribed, within=2.0)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)


async def test_feed_pings_with_text_ping_and_the_status_line_shows_it(ex: EmbeddedExchange) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex, WS_PING_INTERVAL_S="1", WS_PONG_TIMEOUT_S="0.5"))
    await run.armed()
    feed = run.sniper.feed
    assert feed is not None
    await wait_until(lambda: feed.last_rtt_ms is not None, within=3)
    assert feed.connections == 1  # pongs came back in time: no reconnect
    line = run.sniper.status_text()
    assert "feed up" in line and "ping " in line and "polls " in line and "balance 1000" in line
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)


async def test_missing_pong_reconnects_and_still_fires_by_websocket(ex: EmbeddedExchange) -> None:
    """The exchange stops answering the text ping (a half-dead connection): the feed notices
    the missing pong, drops the connection, connects and subscribes again, and the open still
    fires by ws, once."""
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    ex.faults.swallow_ws_pings = True
    run = start_sniper(
        sniper_config(ex, POLL_INTERVAL_MS="3000", WS_PING_INTERVAL_S="1", WS_PONG_TIMEOUT_S="0.5")
    )
    await run.armed()
    feed = run.sniper.feed
    assert feed is not None and feed.subscribed
    # first ping at ~1 s, no pong by ~1.5 s: reconnect (generous bound for a loaded machine)
    await wait_until(lambda: feed.connections >= 2 and feed.subscribed, within=10)
    assert feed.last_rtt_ms is None  # no pong ever came back
    ex.faults.swallow_ws_pings = False
    # the exchange saw a second connection subscribe, and the dead one was closed by the client
    # (the exchange's own idle kill is 120 s away)
    assert ex.records.ws_connections >= 2
    assert len({s.conn_id for s in ex.records.ws_subscriptions if s.result == "ok"}) >= 2
    await wait_until(lambda: len(ex.ws_hub.conns) == 1, within=5)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "ws"
    assert_one_accepted(ex, result.client_oid)
    assert len(ex.records.orders) == 1


@both_modes
async def test_gray_pair_snapshot_fires_early_then_sells_once_at_the_open(
    ex: EmbeddedExchange, mode: str
) -> None:
    """§7.3 (a clone): a gray pair is acked and sends a snapshot (zero prices). The WS channel
    takes it for the open and fires; the 43115 that follows makes the executor stop trusting
    that channel and pace its retries; the pair then really opens and exactly one order sells."""
    ex.settings.ws_gray_snapshot = True
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", quantity_precision=2)
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="200"))
    await run.armed()
    not_open = code_for(ex, "43115")  # 25101 on UTA (§5.11)
    await wait_until(lambda: any(o.code == not_open for o in ex.records.orders), within=3)
    await asyncio.sleep(0.5)
    early = [o for o in ex.records.orders if o.code == not_open]
    assert 2 <= len(early) <= 9, len(early)  # paced at ~100 ms, not hammered
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "ws" and not_open in result.codes
    assert_one_accepted(ex, result.client_oid)
    assert ex.records.orders[-1].accepted
    assert all(o.code == not_open for o in ex.records.orders[:-1])
