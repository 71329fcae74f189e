"""Signatures, auth error codes, timestamp window, demo header, account modes (§1, §3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import aiohttp
import pytest

from sniper.exchange import Account
from sniper.exchange import auth as exchange_auth

KEY, SECRET, UTA_KEY = "test-key", "test-secret-not-real", "uta-key"  # as in conftest
Api = Any
ExchangeFactory = Any


def bitget_sign(secret: str, prehash: str) -> str:
    """Independent of both the exchange and conftest: straight from §3.2."""
    digest = hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# bitget-api.md §3.2 (computed with the fake secret "test-secret-not-real")
VECTORS = [
    (
        '1700000000000POST/api/v2/spot/trade/place-order{"symbol":"NEWUSDT","side":"sell",'
        '"orderType":"market","force":"gtc","size":"1234.56","clientOid":"snipe-1"}',
        "l6Fr6MPNUinskcZO75drnG/JL3B7iAOZSl1xF+E9GzA=",
    ),
    (
        "1700000000000GET/api/v2/spot/account/assets?coin=USDT",
        "xyqcxZRYUngp1X6a3XzL1TjXe+3TcK3vDxlbPkNgqF0=",
    ),
    ("1700000000GET/user/verify", "A+Mb3DWZdwy4G4hg+L7zkUT7q+PwiMFB4T5cydEeqck="),
]


@pytest.mark.parametrize(("prehash", "expected"), VECTORS)
def test_signature_vectors(prehash: str, expected: str) -> None:
    assert exchange_auth.sign(SECRET, prehash) == expected
    assert bitget_sign(SECRET, prehash) == expected  # the test-side signer agrees
    assert exchange_auth.verify(SECRET, expected, prehash.encode())
    flipped = bytearray(prehash.encode())
    flipped[-1] ^= 0x01
    assert not exchange_auth.verify(SECRET, expected, bytes(flipped))
    assert not exchange_auth.verify(SECRET + "x", expected, prehash.encode())


def test_prehash_keeps_query_and_body_verbatim() -> None:
    raw = exchange_auth.prehash("1", "get", "/p?b=2&a=1", b"")
    assert raw == b"1GET/p?b=2&a=1"


async def test_signed_order_vector_is_accepted_end_to_end(api: Api) -> None:
    """The §3.2 order body, signed at the current time, passes the real verifier."""
    ex, session = api.ex, api.session
    ex.add_symbol("NEWUSDT", price="1", quantity_precision=2)
    ex.set_balance(KEY, "NEW", "5000")
    body = (
        '{"symbol":"NEWUSDT","side":"sell","orderType":"market","force":"gtc",'
        '"size":"1234.56","clientOid":"snipe-1"}'
    )
    path = "/api/v2/spot/trade/place-order"
    headers = api.headers("POST", path, body)
    async with session.post(ex.rest_url + path, data=body, headers=headers) as r:
        assert r.status == 200
        assert (await r.json())["data"]["clientOid"] == "snipe-1"


async def test_query_is_signed_exactly_as_received(api: Api) -> None:
    # unsorted query, signed as sent: accepted
    status, body = await api.private("GET", "/api/v2/spot/account/assets?coin=USDT&assetType=all")
    assert (status, body["code"]) == (200, "00000")
    # signed sorted but sent unsorted: rejected
    ts = str(api.ex.server_time_ms())
    headers = api.headers("GET", "/api/v2/spot/account/assets?assetType=all&coin=USDT")
    headers["ACCESS-TIMESTAMP"] = ts
    headers["ACCESS-SIGN"] = bitget_sign(
        SECRET, ts + "GET/api/v2/spot/account/assets?assetType=all&coin=USDT"
    )
    async with api.session.get(
        api.ex.rest_url + "/api/v2/spot/account/assets?coin=USDT&assetType=all", headers=headers
    ) as r:
        assert r.status == 400
        assert (await r.json())["code"] == "40009"


@pytest.mark.parametrize(
    ("drop", "code"),
    [("ACCESS-KEY", "40001"), ("ACCESS-SIGN", "40002"), ("ACCESS-PASSPHRASE", "40011")],
)
async def test_missing_headers(api: Api, drop: str, code: str) -> None:
    headers = api.headers("GET", "/api/v2/spot/account/assets")
    del headers[drop]
    async with api.session.get(
        api.ex.rest_url + "/api/v2/spot/account/assets", headers=headers
    ) as r:
        body = await r.json()
    assert r.status == 400
    assert body["code"] == code
    assert body["data"] is None
    assert isinstance(body["requestTime"], int)


async def test_error_codes(api: Api) -> None:
    target = "/api/v2/spot/account/assets"
    cases = [
        ({"ts": "17000abc"}, "40005"),
        ({"key": "nope"}, "40006"),
        ({"ts": str(api.ex.server_time_ms() - 31_000)}, "40008"),
        ({"passphrase": "wrong"}, "40012"),
        ({"secret": "wrong-secret"}, "40009"),
    ]
    for kw, code in cases:
        status, body = await api.private("GET", target, **kw)
        assert (status, body["code"]) == (400, code), kw
    assert [r.code for r in api.ex.records.requests] == [c for _, c in cases]


async def test_passphrase_code_is_a_setting(make_exchange: ExchangeFactory, api_for: Any) -> None:
    async with make_exchange(passphrase_error_code="40036") as ex:
        status, body = await api_for(ex).private(
            "GET", "/api/v2/spot/account/assets", passphrase="bad"
        )
        assert (status, body["code"]) == (400, "40036")


async def test_permission_and_ip_whitelist(api: Api) -> None:
    api.ex.add_account(Account("ro", SECRET, "p", balances={"PAWS": "1"}, permissions=("read",)))
    api.ex.add_account(Account("ipk", SECRET, "p", ip_whitelist=("10.0.0.1",)))
    api.ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
    status, body = await api.sell("PAWSUSDT", "1", key="ro", passphrase="p")
    assert (status, body["code"]) == (400, "40014")
    (refused,) = api.ex.records.orders  # refused before matching, still recorded
    assert (refused.api_key, refused.accepted, refused.code) == ("ro", False, "40014")
    assert refused.symbol == "PAWSUSDT" and refused.size == "1" and refused.first_byte_ns > 0
    # read-only keys still read
    status, body = await api.private("GET", "/api/v2/spot/account/assets", key="ro", passphrase="p")
    assert body["code"] == "00000"
    status, body = await api.private(
        "GET", "/api/v2/spot/account/assets", key="ipk", passphrase="p"
    )
    assert (status, body["code"]) == (400, "40018")


async def test_timestamp_window_follows_server_clock_with_skew(api: Api) -> None:
    ex = api.ex
    ex.faults.clock_skew_ms = 20_000
    host_ts = str(ex.server_time_ms() - 20_000)  # the host clock, 20 s behind the exchange
    status, body = await api.private("GET", "/api/v2/spot/account/assets", ts=host_ts)
    assert body["code"] == "00000"  # 20 s < 30 s window
    ex.faults.clock_skew_ms = 40_000
    host_ts = str(ex.server_time_ms() - 40_000)
    status, body = await api.private("GET", "/api/v2/spot/account/assets", ts=host_ts)
    assert (status, body["code"]) == (400, "40008")
    # a client that syncs to /api/v2/public/time is fine again
    _, t = await api.public("/api/v2/public/time")
    status, body = await api.private(
        "GET", "/api/v2/spot/account/assets", ts=t["data"]["serverTime"]
    )
    assert body["code"] == "00000"
    ex.settings.timestamp_window_ms = 5_000
    status, body = await api.private(
        "GET", "/api/v2/spot/account/assets", ts=str(ex.server_time_ms() + 6_000)
    )
    assert body["code"] == "40008"


async def test_account_generations(api: Api) -> None:
    status, body = await api.private("GET", "/api/v2/spot/account/assets", key=UTA_KEY)
    assert (status, body["code"]) == (400, "40085")
    assert "Unified Account mode" in body["msg"]
    status, body = await api.private("GET", "/api/v3/account/settings", key=KEY)
    assert (status, body["code"]) == (400, "40084")
    status, body = await api.private("GET", "/api/v3/account/settings", key=UTA_KEY)
    assert body["code"] == "00000"
    assert set(body["data"]) >= {"assetMode", "holdMode"}


async def test_demo_mode_requires_paptrading(
    make_exchange: ExchangeFactory, api_for: Any, session: aiohttp.ClientSession
) -> None:
    async with make_exchange(demo=True) as ex:
        api = api_for(ex)
        status, body = await api.public("/api/v2/public/time")
        assert (status, body["code"]) == (400, "40099")
        status, body = await api.public("/api/v2/public/time", headers={"paptrading": "1"})
        assert body["code"] == "00000"
        status, body = await api.private(
            "GET", "/api/v2/spot/account/assets", headers={"paptrading": "1"}
        )
        assert body["code"] == "00000"
        status, body = await api.private("GET", "/api/v2/spot/account/assets")
        assert body["code"] == "40099"
        # WS is served on the same paths in demo mode, no header needed
        async with session.ws_connect(ex.ws_url) as ws:
            await ws.send_str("ping")
            assert (await ws.receive(timeout=2)).data == "pong"


async def _raw_request(ex: Any, head: list[bytes], body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """One HTTP/1.1 request written byte for byte (headers that no client library would send)."""
    import asyncio
    import json

    reader, writer = await asyncio.open_connection("127.0.0.1", ex.port)
    try:
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        length = int(status_line.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        raw = await reader.readexactly(length)
        try:
            payload = json.loads(raw)
        except ValueError:  # e.g. aiohttp's own text "500 Internal Server Error"
            payload = {"code": None, "data": None, "raw": raw}
    finally:
        writer.close()
        await writer.wait_closed()
    return int(status_line.split()[1]), payload


def _raw_signed_head(
    api: Api, method: str, target: str, body: bytes, **replace: bytes
) -> list[bytes]:
    headers = {k: v.encode() for k, v in api.headers(method, target, body.decode()).items()}
    headers.update(replace)
    head = [f"{method} {target} HTTP/1.1".encode(), b"Host: x"]
    head += [k.encode() + b": " + v for k, v in headers.items()]
    if body:
        head.append(b"Content-Length: " + str(len(body)).encode())
    return head


@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("ACCESS-SIGN", b"\xff\xfe" + b"A" * 42, "40009"),  # not UTF-8
        ("ACCESS-SIGN", "é".encode() * 22, "40009"),  # UTF-8, not ASCII
        ("ACCESS-PASSPHRASE", b"test-pass\xff", "40012"),
        ("ACCESS-PASSPHRASE", "test-passé".encode(), "40012"),
        ("ACCESS-KEY", b"test-key\xff", "40006"),
        ("ACCESS-TIMESTAMP", b"17\xff", "40005"),
    ],
)
async def test_non_ascii_auth_headers_are_auth_errors_not_500(
    api: Api, header: str, value: bytes, code: str
) -> None:
    target = "/api/v2/spot/account/assets"
    status, body = await _raw_request(
        api.ex, _raw_signed_head(api, "GET", target, b"", **{header: value})
    )
    assert (status, body["code"]) == (400, code)
    assert body["data"] is None
    # the connection's neighbours are unaffected: a correct request still passes
    status, body = await _raw_request(api.ex, _raw_signed_head(api, "GET", target, b""))
    assert (status, body["code"]) == (200, "00000")


async def test_non_ascii_signature_on_an_order_is_recorded(api: Api) -> None:
    api.ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
    body = b'{"symbol":"PAWSUSDT","side":"sell","orderType":"market","size":"1"}'
    head = _raw_signed_head(
        api, "POST", "/api/v2/spot/trade/place-order", body, **{"ACCESS-SIGN": b"\xff" * 44}
    )
    status, reply = await _raw_request(api.ex, head, body)
    assert (status, reply["code"]) == (400, "40009")
    (order,) = api.ex.records.orders
    assert (order.code, order.accepted, order.symbol) == ("40009", False, "PAWSUSDT")
