"""clientOid idempotency (bitget-api.md §5.6, §6, §12.5): where the duplicate check sits, which
orders it covers, and how long it lasts — each an [UNCERTAIN] behaviour, so each a setting."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

Api = Any
ExchangeFactory = Any

SIX_HOURS_MS = 6 * 3600 * 1000


async def _sell(api: Api, v3: bool, size: str, client_oid: str) -> str:
    """The envelope code of a market sell of PAWSUSDT on the v2 (classic) or v3 (UTA) key."""
    if v3:
        return str((await api.sell_v3("PAWSUSDT", size, client_oid=client_oid))[1]["code"])
    return str((await api.sell("PAWSUSDT", size, client_oid=client_oid))[1]["code"])


def _key(api: Api, v3: bool) -> str:
    return str(api.UTA_KEY if v3 else api.KEY)


@pytest.mark.parametrize("v3", [False, True], ids=["v2", "v3"])
async def test_resend_after_sell_all_fill_is_a_duplicate_not_insufficient_balance(
    api: Api, v3: bool
) -> None:
    """The duplicate check runs before the balance check (default), so on a venue that holds
    the clientOid of any order (``duplicate_scope="any"``) resending the clientOid of a sell-all
    that filled answers 43118/25212 (an earlier copy landed), not 43012/25202."""
    api.ex.settings.duplicate_scope = "any"
    api.ex.add_symbol("PAWSUSDT", price="0.0123", quantity_precision=2)
    assert await _sell(api, v3, "1000", "all-1") == "00000"
    assert api.ex.balance(_key(api, v3), "PAWS") == 0
    assert await _sell(api, v3, "1000", "all-1") == ("25212" if v3 else "43118")
    # a new clientOid still meets the balance check
    assert await _sell(api, v3, "1000", "all-2") == ("25202" if v3 else "43012")
    assert [o.accepted for o in api.ex.records.orders] == [True, False, False]


@pytest.mark.parametrize("v3", [False, True], ids=["v2", "v3"])
async def test_duplicate_check_after_balance_setting(
    make_exchange: ExchangeFactory, api_for: Any, v3: bool
) -> None:
    """§12.5's suggested order (duplicate last): the sell-all resend meets the balance check."""
    async with make_exchange(duplicate_check="after_balance", duplicate_scope="any") as ex:
        api = api_for(ex)
        ex.add_symbol("PAWSUSDT", price="0.0123", quantity_precision=2)
        assert await _sell(api, v3, "1000", "all-1") == "00000"
        assert await _sell(api, v3, "1000", "all-1") == ("25202" if v3 else "43012")
        ex.set_balance(_key(api, v3), "PAWS", "1000")  # funds again: now the duplicate shows
        assert await _sell(api, v3, "1000", "all-1") == ("25212" if v3 else "43118")
        assert sum(o.accepted for o in ex.records.orders) == 1


async def test_duplicate_check_setting_is_validated(make_exchange: ExchangeFactory) -> None:
    with pytest.raises(ValueError, match="duplicate_check"):
        async with make_exchange(duplicate_check="last"):
            pass
    with pytest.raises(ValueError, match="duplicate_scope"):
        async with make_exchange(duplicate_scope="filled"):
            pass


@pytest.mark.parametrize("v3", [False, True], ids=["v2", "v3"])
async def test_unfilled_scope_takes_a_resend_of_a_filled_order_as_a_new_order(
    make_exchange: ExchangeFactory, api_for: Any, v3: bool
) -> None:
    """§5.6 "idempotency ... only valid when orders are unfilled": with duplicate_scope="unfilled"
    a resend of a FILLED market order is a second order (sold twice); an unfilled (resting)
    order's clientOid is still a duplicate."""
    async with make_exchange(duplicate_scope="unfilled") as ex:
        api = api_for(ex)
        ex.add_symbol("PAWSUSDT", price="0.0123", quantity_precision=2, price_precision=4)
        assert await _sell(api, v3, "100", "m-1") == "00000"
        assert await _sell(api, v3, "100", "m-1") == "00000"  # executed again
        accepted = [o for o in ex.records.orders if o.accepted]
        assert len(accepted) == 2 and accepted[0].order_id != accepted[1].order_id
        assert ex.balance(_key(api, v3), "PAWS") == Decimal("800")
        # a resting limit sell is unfilled: its clientOid stays taken
        if v3:
            body: dict[str, Any] = {
                "category": "SPOT",
                "symbol": "PAWSUSDT",
                "side": "sell",
                "orderType": "limit",
                "price": "1",
                "qty": "10",
                "clientOid": "l-1",
            }
            path, kw = "/api/v3/trade/place-order", {"key": api.UTA_KEY}
        else:
            body = {
                "symbol": "PAWSUSDT",
                "side": "sell",
                "orderType": "limit",
                "force": "gtc",
                "price": "1",
                "size": "10",
                "clientOid": "l-1",
            }
            path, kw = "/api/v2/spot/trade/place-order", {}
        assert (await api.private("POST", path, body, **kw))[1]["code"] == "00000"
        assert (await api.private("POST", path, body, **kw))[1]["code"] == (
            "25212" if v3 else "43118"
        )


@pytest.mark.parametrize("scope", ["any", "unfilled"])
async def test_idempotency_expires_after_six_hours(
    make_exchange: ExchangeFactory, api_for: Any, scope: str
) -> None:
    """A clientOid is taken for ``duplicate_expiry_s`` (6 h by default), then free again."""
    async with make_exchange(duplicate_scope=scope) as ex:
        api = api_for(ex)
        ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2, price_precision=4)
        limit = {
            "symbol": "PAWSUSDT",
            "side": "sell",
            "orderType": "limit",
            "force": "gtc",
            "price": "5",
            "size": "10",
            "clientOid": "old",
        }
        path = "/api/v2/spot/trade/place-order"
        assert (await api.private("POST", path, limit))[1]["code"] == "00000"  # rests, unfilled
        ex.faults.clock_skew_ms = SIX_HOURS_MS - 5_000  # the client signs on the exchange clock
        assert (await api.private("POST", path, limit))[1]["code"] == "43118"
        ex.faults.clock_skew_ms = SIX_HOURS_MS + 5_000
        assert (await api.private("POST", path, limit))[1]["code"] == "00000"
        assert sum(o.accepted for o in ex.records.orders) == 2
        # a lookup by clientOid shows the newest order of that clientOid
        _, info = await api.private("GET", "/api/v2/spot/trade/orderInfo?clientOid=old")
        assert info["data"][0]["orderId"] == ex.records.orders[-1].order_id


async def test_expiry_is_a_setting(make_exchange: ExchangeFactory, api_for: Any) -> None:
    async with make_exchange(duplicate_expiry_s=60.0, duplicate_scope="any") as ex:
        api = api_for(ex)
        ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
        assert (await api.sell("PAWSUSDT", "10", client_oid="x"))[1]["code"] == "00000"
        assert (await api.sell("PAWSUSDT", "10", client_oid="x"))[1]["code"] == "43118"
        ex.faults.clock_skew_ms = 61_000
        assert (await api.sell("PAWSUSDT", "10", client_oid="x"))[1]["code"] == "00000"
