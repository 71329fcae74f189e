"""The backstop copies in flight rely on (sniper.live.volley; bitget-api.md §10.8: "selling the
whole balance makes 43012 the backstop"; §5.6: clientOid idempotency "only valid when orders are
unfilled"): the embedded exchange must be no kinder than that. With the default settings
(``duplicate_scope="unfilled"``, duplicate check before the balance):

* a second copy of a whole-balance market sell that FILLED is checked as a new order and meets
  the balance: 43012 / 25202 — never a second sale;
* while the first order rests unfilled (a limit at a floor), the same clientOid is a duplicate:
  43118 / 25212;
* after a partial fill and cancel the unsold rest is back, but under the order's size: 43012.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

Api = Any


def _key(api: Api, v3: bool) -> str:
    return str(api.UTA_KEY if v3 else api.KEY)


async def _order(api: Api, v3: bool, size: str, oid: str, price: str | None = None) -> str:
    """A sell of PAWSUSDT (market, or a gtc limit at ``price``): the answer's code."""
    if v3:
        body: dict[str, Any] = {"category": "SPOT", "symbol": "PAWSUSDT", "side": "sell"}
        body |= {"orderType": "market", "qty": size, "clientOid": oid}
        if price is not None:
            body |= {"orderType": "limit", "price": price, "timeInForce": "gtc"}
        path, kw = "/api/v3/trade/place-order", {"key": api.UTA_KEY}
    else:
        body = {"symbol": "PAWSUSDT", "side": "sell", "orderType": "market", "size": size}
        body |= {"clientOid": oid, "force": "gtc"}
        if price is not None:
            body |= {"orderType": "limit", "price": price}
        path, kw = "/api/v2/spot/trade/place-order", {}
    return str((await api.private("POST", path, body, **kw))[1]["code"])


@pytest.mark.parametrize("v3", [False, True], ids=["v2", "v3"])
async def test_a_copy_after_a_filled_whole_balance_sell_meets_the_balance(
    api: Api, v3: bool
) -> None:
    api.ex.add_symbol("PAWSUSDT", price="0.0123", quantity_precision=2)
    assert await _order(api, v3, "1000", "w-1") == "00000"
    assert await _order(api, v3, "1000", "w-1") == ("25202" if v3 else "43012")
    assert sum(o.accepted for o in api.ex.records.orders) == 1
    assert api.ex.state.executed_qty(_key(api, v3), "PAWSUSDT") == Decimal("1000")


@pytest.mark.parametrize("v3", [False, True], ids=["v2", "v3"])
async def test_a_copy_while_the_whole_balance_rests_unfilled_is_a_duplicate(
    api: Api, v3: bool
) -> None:
    api.ex.add_symbol("PAWSUSDT", price="0.0123", quantity_precision=2, price_precision=4)
    assert await _order(api, v3, "1000", "r-1", price="1") == "00000"  # rests: nothing fills
    assert await _order(api, v3, "1000", "r-1", price="1") == ("25212" if v3 else "43118")
    assert sum(o.accepted for o in api.ex.records.orders) == 1


@pytest.mark.parametrize("v3", [False, True], ids=["v2", "v3"])
async def test_a_copy_after_a_partial_fill_and_cancel_meets_the_balance(api: Api, v3: bool) -> None:
    api.ex.add_symbol("PAWSUSDT", price="0.0123", quantity_precision=2)
    api.ex.state.set_book("PAWSUSDT", [("0.0123", "600")])  # 600 of the 1000 sell
    assert await _order(api, v3, "1000", "p-1") == "00000"
    assert api.ex.balance(_key(api, v3), "PAWS") == Decimal("400")  # the rest, unfrozen
    assert await _order(api, v3, "1000", "p-1") == ("25202" if v3 else "43012")
    assert api.ex.state.executed_qty(_key(api, v3), "PAWSUSDT") == Decimal("600")
