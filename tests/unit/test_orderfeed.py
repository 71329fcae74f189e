"""The private order feed's pure parts: the login frame, the order channel, every private-WS
sample of the corpus through the venue's parsers, the order book and the ready history."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from bitget_corpus import Sample, samples

from sniper.live.clock import ServerClock
from sniper.live.orderfeed import OrderBook, OrderFeed, ReadyHistory
from sniper.live.venue import (
    WS_LOGIN_REFUSED,
    ClassicVenue,
    OrderState,
    UtaVenue,
    Venue,
    ws_login_refusal,
)
from sniper.secrets import Secret

V2 = ClassicVenue("PAWSUSDT", "PAWS")
V3 = UtaVenue("PAWSUSDT", "PAWS")
VENUES: dict[str, Venue] = {"v2": V2, "v3": V3}

KEY = "bg_KEYorderfeedDISTINCT01"
SECRET = "SECRETorderfeedDISTINCT0000002"
PASS = "PASSorderfeedDISTINCT03"

# bitget-api.md §3.2: the WS login test vector
VECTOR_SECRET = "test-secret-not-real"
VECTOR_TS = 1700000000
VECTOR_SIGN = "A+Mb3DWZdwy4G4hg+L7zkUT7q+PwiMFB4T5cydEeqck="


def state(status: str = "live", oid: str = "snp-1", **kw: str) -> OrderState:
    fields = {"size": "10", "base_volume": "0", "quote_volume": "", "price_avg": "0"}
    fields.update(kw)
    return OrderState(order_id="1", client_oid=oid, status=status, **fields)


# --- the login frame -----------------------------------------------------------------------------
@pytest.mark.parametrize("gen", ["v2", "v3"])
def test_login_frame_matches_the_reference_test_vector(gen: str) -> None:
    frame = VENUES[gen].private_login(
        api_key="k", passphrase="p", secret=VECTOR_SECRET, timestamp_s=VECTOR_TS
    )
    assert frame == (
        b'{"op":"login","args":[{"apiKey":"k","passphrase":"p","timestamp":"1700000000",'
        b'"sign":"' + VECTOR_SIGN.encode() + b'"}]}'
    )
    # the field set and order of the documented and captured requests (ws_*_login_request)
    for sample in samples("ws_v2_login_request") + samples("ws_v3_login_request"):
        assert list(sample.doc()["args"][0]) == list(json.loads(frame)["args"][0])


def test_login_frame_takes_secrets_and_escapes_values() -> None:
    frame = V2.private_login(
        api_key=Secret('k"1'),
        passphrase=Secret("p\\2"),
        secret=Secret(VECTOR_SECRET),
        timestamp_s=VECTOR_TS,
    )
    arg = json.loads(frame)["args"][0]
    assert (arg["apiKey"], arg["passphrase"], arg["sign"]) == ('k"1', "p\\2", VECTOR_SIGN)


@pytest.mark.parametrize("ts", [1700000000000, 170000000, -1, True])
def test_login_timestamp_must_be_seconds_and_the_error_shows_no_secret(ts: int) -> None:
    with pytest.raises(ValueError, match="seconds") as info:
        V2.private_login(api_key=KEY, passphrase=PASS, secret=SECRET, timestamp_s=ts)
    assert not any(s in str(info.value) for s in (KEY, SECRET, PASS))


def test_order_subscribe_frames_are_the_documented_all_symbols_ones() -> None:
    (v2,) = samples("ws_v2_orders_subscribe_default")
    (v3,) = samples("ws_v3_order_subscribe")
    assert V2.order_subscribe() == v2.raw
    assert V3.order_subscribe() == v3.raw


@pytest.mark.parametrize(
    ("public", "gen", "private"),
    [
        ("wss://ws.bitget.com/v2/ws/public", "v2", "wss://ws.bitget.com/v2/ws/private"),
        ("wss://ws.bitget.com/v3/ws/public", "v3", "wss://ws.bitget.com/v3/ws/private"),
        ("wss://wspap.bitget.com/v2/ws/public", "v2", "wss://wspap.bitget.com/v2/ws/private"),
        ("wss://wspap.bitget.com/v3/ws/public", "v3", "wss://wspap.bitget.com/v3/ws/private"),
        ("ws://127.0.0.1:8443/v2/ws/public", "v2", "ws://127.0.0.1:8443/v2/ws/private"),
        ("ws://[::1]:9/v2/ws/public?x=1", "v3", "ws://[::1]:9/v3/ws/private"),
    ],
)
def test_private_url_is_the_generation_path_on_the_public_host(
    public: str, gen: str, private: str
) -> None:
    assert VENUES[gen].private_ws_url(public) == private


# --- every private-WS sample of the corpus -------------------------------------------------------
# kind -> (venue generation, what private_event says) for the events
EVENTS = {
    "ws_v2_login_ok": ("v2", "logged-in"),
    "ws_v2_login_ok_documented": ("v2", "logged-in"),  # string "0"
    "ws_v2_login_error": ("v2", "login-refused"),  # string "30005"
    "ws_v3_login_ok": ("v3", "logged-in"),
    "ws_v3_login_error": ("v3", "login-refused"),  # numeric 30015
    "ws_v3_error_login": ("v3", "login-refused"),  # numeric 30011
    "ws_v3_error_not_logged_in": ("v3", "not-logged-in"),
    "ws_v3_error_unknown_symbol": ("v3", "error"),
    "ws_v2_orders_ack": ("v2", "subscribed"),
    "ws_v2_orders_ack_default": ("v2", "subscribed"),
    "ws_v3_order_ack": ("v3", "subscribed"),
    "ws_v2_account_ack": ("v2", "other"),
}
PRIVATE_PREFIXES = (
    "ws_v2_login",
    "ws_v2_orders",
    "ws_v2_account",
    "ws_v2_fill",
    "ws_v3_login",
    "ws_v3_order",
    "ws_v3_error",
    "ws_v3_fill",
    "ws_v3_account",
)
REQUESTS = {
    "ws_v2_login_request",
    "ws_v3_login_request",
    "ws_v2_orders_subscribe",
    "ws_v2_orders_subscribe_default",
    "ws_v3_order_subscribe",
    "ws_v2_fill_subscribe",
    "ws_v3_fill_subscribe",
    "ws_v2_account_subscribe",
    "ws_v3_account_subscribe",
}
PUSHES_OF_OTHER_CHANNELS = {
    "ws_v2_account_push",
    "ws_v2_fill_push",
    "ws_v3_fill_push",
    "ws_v3_account_push",
}
SPOT_ORDER_PUSHES = {"ws_v2_orders_push", "ws_v2_orders_push_data"}
FUTURES_ORDER_PUSHES = {"ws_v2_orders_push_futures", "ws_v3_order_push"}

PRIVATE = tuple(s for s in samples() if s.kind.startswith(PRIVATE_PREFIXES))


def test_every_private_kind_has_a_rule() -> None:
    rules = set(EVENTS) | REQUESTS | PUSHES_OF_OTHER_CHANNELS
    rules |= SPOT_ORDER_PUSHES | FUTURES_ORDER_PUSHES
    assert sorted({s.kind for s in PRIVATE} - rules) == []
    assert len(PRIVATE) >= 30


def _frame(sample: Sample) -> Any:
    """The sample as a push frame: a bare v2 data row (ws_v2_orders_push_data) goes into the
    envelope of an all-symbols subscription, as the venue sends it."""
    doc = sample.doc()
    if sample.kind == "ws_v2_orders_push_data":
        arg = {"instType": "SPOT", "channel": "orders", "instId": "default"}
        return {"action": "snapshot", "arg": arg, "data": [doc], "ts": 1}
    return doc


@pytest.mark.parametrize("sample", [s for s in PRIVATE if s.kind in EVENTS], ids=lambda s: s.id)
def test_private_events(sample: Sample) -> None:
    gen, kind = EVENTS[sample.kind]
    assert VENUES[gen].private_event(sample.doc()) == kind
    other = VENUES["v3" if gen == "v2" else "v2"]
    if kind == "subscribed":  # the other generation's order ack is not ours
        assert other.private_event(sample.doc()) == "other"
    if kind == "login-refused":
        code, words = ws_login_refusal(sample.doc())
        assert words == WS_LOGIN_REFUSED[code]
        assert str(sample.doc().get("msg", "")) not in words or not sample.doc().get("msg")


@pytest.mark.parametrize(
    "sample",
    [s for s in PRIVATE if s.kind not in EVENTS and s.kind not in REQUESTS],
    ids=lambda s: s.id,
)
def test_private_pushes(sample: Sample) -> None:
    frame = _frame(sample)
    states = {gen: venue.parse_order_push(frame) for gen, venue in VENUES.items()}
    if sample.kind not in SPOT_ORDER_PUSHES:  # futures orders, fills, balances: nothing
        assert states == {"v2": [], "v3": []}
        return
    assert states["v3"] == []  # a v2 frame is no v3 order push
    rows = frame["data"]
    assert [s.client_oid for s in states["v2"]] == [r["clientOid"] for r in rows]
    for st, row in zip(states["v2"], rows, strict=True):
        assert st.order_id == row["orderId"]
        assert st.status == row["status"]
        assert st.size == row["size"]
        assert st.base_volume == row["accBaseVolume"]  # cumulative, never the fill's baseVolume
        assert st.price_avg == row["priceAvg"]


def test_v2_push_values_and_the_derived_quote_volume() -> None:
    (doc,) = [
        s.doc()
        for s in samples("ws_v2_orders_push")
        if s.kind == "ws_v2_orders_push" and "fillPrice" in s.body
    ]
    (st,) = V2.parse_order_push(doc)
    assert st == OrderState(
        order_id="1",
        client_oid="1",
        status="partially_filled",
        size="8.0000",
        base_volume="0.0003",
        quote_volume="7.8768",  # accBaseVolume 0.0003 x priceAvg 26256.0
        price_avg="26256.0",
    )


def _v3_spot(**changes: Any) -> dict[str, Any]:
    """The documented v3 order push (a futures example) with its row turned into spot."""
    (sample,) = samples("ws_v3_order_push")
    doc = sample.doc()
    doc["data"][0].update({"category": "spot", **changes})
    return doc  # type: ignore[no-any-return]


def test_v3_spot_push_values() -> None:
    doc = _v3_spot(clientOid="snp-9", orderId="77")
    (st,) = V3.parse_order_push(doc)
    assert st == OrderState(
        order_id="77",
        client_oid="snp-9",
        status="filled",
        size="0.001",
        base_volume="0.001",
        quote_volume="83.1315",
        price_avg="83131.5",
    )
    assert V2.parse_order_push(doc) == []


@pytest.mark.parametrize("category", ["spot", "SPOT", "Spot", None])
def test_v3_category_spot_in_any_case_or_absent_is_kept(category: str | None) -> None:
    doc = _v3_spot()
    if category is None:
        del doc["data"][0]["category"]
    else:
        doc["data"][0]["category"] = category
    assert len(V3.parse_order_push(doc)) == 1


@pytest.mark.parametrize("category", ["usdt-futures", "USDT-FUTURES", "margin", ""])
def test_v3_other_categories_are_ignored(category: str) -> None:
    assert V3.parse_order_push(_v3_spot(category=category)) == []


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("canceled", "cancelled"),
        ("cancelled", "cancelled"),
        ("CANCELED", "cancelled"),
        ("full_fill", "filled"),
        ("partial_fill", "partially_filled"),
        ("new", "new"),
        ("Live", "live"),
    ],
)
def test_status_spellings(raw: str, status: str) -> None:
    (st,) = V3.parse_order_push(_v3_spot(orderStatus=raw))
    assert st.status == status
    push = _frame(samples("ws_v2_orders_push_data")[0])
    push["data"][0]["status"] = raw
    (st,) = V2.parse_order_push(push)
    assert st.status == status


def test_tolerant_parsing() -> None:
    arg = {"instType": "SPOT", "channel": "orders", "instId": "default"}
    rows: list[Any] = [
        "junk",
        None,
        {"status": "live"},  # neither orderId nor clientOid
        {"clientOid": "snp-2", "status": "live", "priceAvg": None},  # nulls and missing: ""
        {"orderId": "3", "clientOid": "snp-3", "status": "filled", "accBaseVolume": "x"},
    ]
    got = V2.parse_order_push({"action": "snapshot", "arg": arg, "data": rows})
    assert got == [
        OrderState("", "snp-2", "live", "", "", "", ""),
        OrderState("3", "snp-3", "filled", "", "x", "", ""),
    ]
    for junk in (None, [], "x", {"arg": arg}, {"arg": arg, "data": {"a": 1}}, {"data": rows}):
        assert V2.parse_order_push(junk) == []
    # an event that echoes the order arg is no push
    assert V2.parse_order_push({"event": "subscribe", "arg": arg, "data": rows}) == []
    # the arg names the generation: v2 ``channel`` + SPOT, v3 ``topic`` + UTA
    v3_arg = {"instType": "UTA", "topic": "order"}
    assert V2.parse_order_push({"arg": v3_arg, "data": rows}) == []
    assert len(V3.parse_order_push({"arg": v3_arg, "data": rows})) == 2


def test_login_refusals_are_plain_words_and_never_the_server_msg() -> None:
    code, words = ws_login_refusal({"event": "error", "code": 30011, "msg": f"bad key {KEY}"})
    assert code == "30011"
    assert "BITGET_API_KEY" in words and KEY not in words
    code, words = ws_login_refusal({"event": "login", "code": "1", "msg": SECRET})
    assert code == "1" and SECRET not in words
    assert V2.private_event({"event": "login", "code": 1}) == "login-refused"
    assert V2.private_event({"event": "login"}) == "login-refused"  # no code is no success


# --- the order book ------------------------------------------------------------------------------
async def test_wait_returns_the_first_push_and_wait_done_the_final_one() -> None:
    book = OrderBook()
    first = asyncio.create_task(book.wait("snp-1", 5, done_only=False))
    done = asyncio.create_task(book.wait("snp-1", 5, done_only=True))
    await asyncio.sleep(0)
    book.apply(state("live"))
    assert (await first).status == "live"
    assert not done.done()
    book.apply(state("partially_filled"))
    await asyncio.sleep(0)
    assert not done.done()
    book.apply(state("filled", base_volume="10"))
    assert (await done).status == "filled"
    # known already: at once, even with no time left
    assert (await book.wait("snp-1", 0, done_only=True)).status == "filled"  # type: ignore[union-attr]
    assert book.latest("snp-1") == state("filled", base_volume="10")


async def test_wait_times_out_with_none() -> None:
    book = OrderBook()
    assert await book.wait("snp-1", 0.02, done_only=False) is None
    book.apply(state("live"))
    assert await book.wait("snp-1", 0.02, done_only=True) is None
    assert await book.wait("snp-1", 0, done_only=True) is None


async def test_a_finished_order_never_goes_back() -> None:
    book = OrderBook()
    book.apply(state("filled", base_volume="10"))
    book.apply(state("live"))  # a stale push
    assert book.latest("snp-1").status == "filled"  # type: ignore[union-attr]
    book.apply(state("cancelled", oid="snp-2"))
    book.apply(state("partially_filled", oid="snp-2"))
    assert book.latest("snp-2").status == "cancelled"  # type: ignore[union-attr]
    book.apply(state("live", oid=""))  # no clientOid: not kept
    assert book.latest("") is None


async def test_a_cancelled_waiter_is_cancelled_and_forgotten() -> None:
    book = OrderBook()
    task = asyncio.create_task(book.wait("snp-1", 5, done_only=False))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    book.apply(state("live"))  # the cancelled waiter is not woken (no InvalidStateError)
    assert book.latest("snp-1") is not None


async def test_release_all_answers_pending_waits_with_what_is_known() -> None:
    book = OrderBook()
    book.apply(state("live"))
    waits = [
        asyncio.create_task(book.wait("snp-1", 5, done_only=False)),  # answered at once
        asyncio.create_task(book.wait("snp-1", 5, done_only=True)),
        asyncio.create_task(book.wait("snp-9", 5, done_only=False)),
    ]
    await asyncio.sleep(0)
    book.release_all()
    got = await asyncio.gather(*waits)
    assert [g.status if g else None for g in got] == ["live", None, None]
    # closed: later waits answer at once
    assert await asyncio.wait_for(book.wait("snp-9", 60, done_only=False), 1) is None
    assert (await book.wait("snp-1", 60, done_only=False)).status == "live"  # type: ignore[union-attr]


async def test_the_book_is_bounded_but_keeps_orders_someone_waits_for() -> None:
    book = OrderBook(limit=3)
    book.apply(state("live", oid="watched"))
    task = asyncio.create_task(book.wait("watched", 5, done_only=True))
    await asyncio.sleep(0)
    for i in range(10):
        book.apply(state("live", oid=f"other-{i}"))
    assert book.latest("watched") is not None
    assert book.latest("other-0") is None and book.latest("other-9") is not None
    book.apply(state("filled", oid="watched"))
    assert (await task).status == "filled"  # type: ignore[union-attr]


# --- covered() -----------------------------------------------------------------------------------
def test_ready_history() -> None:
    h = ReadyHistory(limit=2)
    assert not h.covered(0)
    h.begin(100)
    h.begin(150)  # already ready: the interval keeps its start
    assert h.since_ns == 100
    assert h.covered(100) and h.covered(500) and not h.covered(99)
    assert h.covered(100, 10**12)  # ready now: any end up to now
    h.end(200)
    assert h.since_ns is None
    assert not h.covered(150)  # "until now" needs the feed ready now
    assert h.covered(100, 200) and h.covered(150, 160)
    assert not h.covered(100, 201) and not h.covered(99, 150)
    h.begin(300)
    assert not h.covered(150, 350)  # the gap 200..300 breaks it
    assert h.covered(300, 350) and h.covered(310)
    h.end(400)
    h.begin(500)
    h.end(600)  # limit 2: the first interval is forgotten (unknown = not covered)
    assert not h.covered(100, 200) and h.covered(300, 400) and h.covered(500, 600)
    with pytest.raises(ValueError):
        h.covered(10, 5)


# --- no secret in a repr ------------------------------------------------------------------------
def test_repr_shows_no_secret() -> None:
    feed = OrderFeed(
        url="ws://127.0.0.1:9/v2/ws/private",
        venue=V2,
        api_key=KEY,
        secret_key=Secret(SECRET),
        passphrase=PASS,
        clock=ServerClock(),
    )
    shown = [repr(feed), str(feed), repr(vars(feed)), repr(feed.orders), repr(feed.history)]
    assert "ws://127.0.0.1:9/v2/ws/private" in shown[0]
    for text in shown:
        assert not any(s in text for s in (KEY, SECRET, PASS)), text
    assert feed.ready_since_ns is None and not feed.ready.is_set()
    assert not feed.covered(0) and feed.latest("snp-1") is None
