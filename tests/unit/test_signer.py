"""sign() and OrderTemplate, run against the compiled module and the twin.

Test vectors: bitget-api.md §3.2 (fake secret ``test-secret-not-real``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import pickle
import traceback

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniper.secrets import Secret

SECRET = "test-secret-not-real"
KEY = "bg_0123456789abcdefKEYMARK"
PASSPHRASE = "PassMark8"
TS = 1700000000000
BODY = (
    b'{"symbol":"NEWUSDT","side":"sell","orderType":"market","force":"gtc",'
    b'"size":"1234.56","clientOid":"snipe-1"}'
)
PLACE = "/api/v2/spot/trade/place-order"

VECTORS = [
    (
        b"1700000000000POST/api/v2/spot/trade/place-order" + BODY,
        b"l6Fr6MPNUinskcZO75drnG/JL3B7iAOZSl1xF+E9GzA=",
    ),
    (
        b"1700000000000GET/api/v2/spot/account/assets?coin=USDT",
        b"xyqcxZRYUngp1X6a3XzL1TjXe+3TcK3vDxlbPkNgqF0=",
    ),
    (b"1700000000GET/user/verify", b"A+Mb3DWZdwy4G4hg+L7zkUT7q+PwiMFB4T5cydEeqck="),
]


def _reference_sign(secret: bytes, prehash: bytes) -> bytes:
    return base64.b64encode(hmac.new(secret, prehash, hashlib.sha256).digest())


def _post(impl, **overrides):
    kwargs = dict(
        method="POST",
        host="api.bitget.com",
        path=PLACE,
        body=BODY,
        api_key=KEY,
        secret=SECRET,
        passphrase=PASSPHRASE,
        timestamp_ms=TS,
    )
    kwargs.update(overrides)
    return impl.OrderTemplate(**kwargs)


def _header(request: bytes, name: bytes) -> bytes:
    for line in request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        key, _, value = line.partition(b": ")
        if key == name:
            return value
    raise KeyError(name)


@pytest.mark.parametrize(("prehash", "expected"), VECTORS)
def test_sign_vectors(impl, prehash, expected):
    assert impl.sign(SECRET.encode(), prehash) == expected
    assert _reference_sign(SECRET.encode(), prehash) == expected


def test_sign_accepts_bytearray(impl):
    prehash, expected = VECTORS[0]
    assert impl.sign(SECRET.encode(), bytearray(prehash)) == expected


def test_post_layout_exact(impl):
    t = _post(impl)
    expected = (
        b"POST /api/v2/spot/trade/place-order HTTP/1.1\r\n"
        b"Host: api.bitget.com\r\n"
        b"Connection: keep-alive\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
        b"locale: en-US\r\n"
        b"ACCESS-KEY: " + KEY.encode() + b"\r\n"
        b"ACCESS-PASSPHRASE: " + PASSPHRASE.encode() + b"\r\n"
        b"ACCESS-TIMESTAMP: 1700000000000\r\n"
        b"ACCESS-SIGN: l6Fr6MPNUinskcZO75drnG/JL3B7iAOZSl1xF+E9GzA=\r\n"
        b"\r\n" + BODY
    )
    assert t.request == expected
    assert t.size == len(expected)
    assert bytes(t.view) == expected
    assert t.body == BODY
    assert t.timestamp_ms == TS
    assert t.path_with_query == PLACE


def test_get_with_query_layout_exact(impl):
    t = impl.OrderTemplate(
        method="GET",
        host="api.bitget.com",
        path="/api/v2/spot/account/assets",
        query="coin=USDT",
        api_key=KEY,
        secret=SECRET.encode(),
        passphrase=PASSPHRASE,
        locale="zh-CN",
        timestamp_ms=TS,
    )
    expected = (
        b"GET /api/v2/spot/account/assets?coin=USDT HTTP/1.1\r\n"
        b"Host: api.bitget.com\r\n"
        b"Connection: keep-alive\r\n"
        b"Content-Type: application/json\r\n"
        b"locale: zh-CN\r\n"
        b"ACCESS-KEY: " + KEY.encode() + b"\r\n"
        b"ACCESS-PASSPHRASE: " + PASSPHRASE.encode() + b"\r\n"
        b"ACCESS-TIMESTAMP: 1700000000000\r\n"
        b"ACCESS-SIGN: xyqcxZRYUngp1X6a3XzL1TjXe+3TcK3vDxlbPkNgqF0=\r\n"
        b"\r\n"
    )
    assert t.request == expected
    assert b"Content-Length" not in t.request  # a GET has no content: no Content-Length
    assert t.body == b""
    assert t.path_with_query == "/api/v2/spot/account/assets?coin=USDT"


def test_demo_header(impl):
    t = _post(impl, demo=True)
    head = t.request.split(b"\r\n\r\n", 1)[0]
    assert head.endswith(
        b"\r\nACCESS-SIGN: l6Fr6MPNUinskcZO75drnG/JL3B7iAOZSl1xF+E9GzA=\r\npaptrading: 1"
    )
    assert b"paptrading" not in _post(impl).request


def test_content_length_counts_bytes(impl):
    body = '{"clientOid":"é✓"}'
    t = _post(impl, body=body)
    assert t.body == body.encode()
    assert _header(t.request, b"Content-Length") == str(len(body.encode())).encode()
    assert t.request.endswith(body.encode())


def test_post_with_empty_body_says_content_length_0(impl):
    """RFC 9110 §8.6: a POST carries Content-Length even when the content is empty."""
    t = _post(impl, host="h", path="/p", body=b"")
    head = (
        b"POST /p HTTP/1.1\r\n"
        b"Host: h\r\n"
        b"Connection: keep-alive\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: 0\r\n"
        b"locale: en-US\r\n"
    )
    assert t.request.startswith(head)
    assert t.request.endswith(b"\r\n\r\n")
    assert _header(t.request, b"ACCESS-SIGN") == _reference_sign(
        SECRET.encode(), b"1700000000000POST/p"
    )
    assert t.body == b""
    assert _post(impl, body="").request == _post(impl, body=b"").request


def test_resign_changes_only_timestamp_and_signature(impl):
    t = _post(impl)
    before = t.request
    view = t.view
    new_ts = 1712345678901
    t.resign(new_ts)
    after = t.request
    assert len(after) == len(before) == t.size
    changed = [i for i in range(len(before)) if before[i] != after[i]]
    ts_at = before.index(b"ACCESS-TIMESTAMP: ") + len(b"ACCESS-TIMESTAMP: ")
    sign_at = before.index(b"ACCESS-SIGN: ") + len(b"ACCESS-SIGN: ")
    allowed = set(range(ts_at, ts_at + 13)) | set(range(sign_at, sign_at + 44))
    assert changed and set(changed) <= allowed
    assert _header(after, b"ACCESS-TIMESTAMP") == b"1712345678901"
    prehash = b"1712345678901POST" + PLACE.encode() + BODY
    assert _header(after, b"ACCESS-SIGN") == _reference_sign(SECRET.encode(), prehash)
    assert t.timestamp_ms == new_ts
    assert bytes(view) == after  # the view is live
    t.resign(TS)
    assert t.request == before


def test_resign_get_with_query_signs_the_query(impl):
    t = impl.OrderTemplate(
        method="GET",
        host="api.bitget.com",
        path="/api/v2/spot/account/assets",
        query="coin=USDT&assetType=all",
        api_key=KEY,
        secret=SECRET,
        passphrase=PASSPHRASE,
        timestamp_ms=TS,
    )
    for ts in (1700000000001, 9999999999999, 1000000000000):
        t.resign(ts)
        prehash = f"{ts}GET/api/v2/spot/account/assets?coin=USDT&assetType=all".encode()
        assert _header(t.request, b"ACCESS-SIGN") == _reference_sign(SECRET.encode(), prehash)


def test_view_is_read_only(impl):
    view = _post(impl).view
    assert view.readonly
    with pytest.raises(TypeError):
        view[0] = 0


def test_request_is_a_copy(impl):
    t = _post(impl)
    copy = t.request
    t.resign(TS + 1)
    assert copy != t.request
    assert isinstance(copy, bytes)


@pytest.mark.parametrize("ts", [999999999999, 10000000000000, -1, 0, 1700000000])
def test_bad_timestamps(impl, ts):
    with pytest.raises(ValueError, match="13 digits"):
        _post(impl, timestamp_ms=ts)
    t = _post(impl)
    before = t.request
    with pytest.raises(ValueError, match="13 digits"):
        t.resign(ts)
    assert t.request == before
    assert t.timestamp_ms == TS


@pytest.mark.parametrize("ts", [1700000000000.0, "1700000000000", True, None])
def test_timestamp_types(impl, ts):
    with pytest.raises(TypeError):
        _post(impl, timestamp_ms=ts)
    with pytest.raises(TypeError):
        _post(impl).resign(ts)


MARK = "XSECRETMARKX"


@pytest.mark.parametrize(
    ("overrides", "exc"),
    [
        ({"api_key": MARK + "\r\nX-Injected: 1"}, ValueError),
        ({"api_key": MARK + "\n"}, ValueError),
        ({"api_key": MARK + " with space"}, ValueError),
        ({"api_key": MARK + "é"}, ValueError),
        ({"api_key": ""}, ValueError),
        ({"api_key": MARK.encode()}, TypeError),
        ({"passphrase": MARK + "\r\n"}, ValueError),
        ({"passphrase": MARK + "\x00"}, ValueError),
        ({"passphrase": ""}, ValueError),
        ({"passphrase": None}, TypeError),
        ({"secret": ""}, ValueError),
        ({"secret": b""}, ValueError),
        ({"secret": 12345}, TypeError),
        ({"secret": None}, TypeError),
        ({"method": "DELETE"}, ValueError),
        ({"method": "post"}, ValueError),
        ({"method": b"POST"}, TypeError),
        ({"path": "api/v2/x"}, ValueError),
        ({"path": "/api/v2/x?coin=USDT"}, ValueError),
        ({"path": "/api v2"}, ValueError),
        ({"path": "/api\r\nHost: evil"}, ValueError),
        ({"path": ""}, ValueError),
        ({"query": "?coin=USDT"}, ValueError),
        ({"query": "coin=USDT\r\n"}, ValueError),
        ({"host": "api.bitget.com\r\nX: 1"}, ValueError),
        ({"host": ""}, ValueError),
        ({"locale": "en-US\r\n"}, ValueError),
        ({"body": 123}, TypeError),
        ({"demo": 1}, TypeError),
        ({"method": "GET"}, ValueError),  # GET with a body
    ],
)
def test_validation_never_leaks(impl, overrides, exc):
    kwargs = {"api_key": MARK + "key", "passphrase": MARK + "pass", "secret": MARK + "secret"}
    kwargs.update(overrides)
    with pytest.raises(exc) as info:
        _post(impl, **kwargs)
    message = str(info.value)
    assert MARK not in message
    assert message  # says what was expected


def test_secret_str_and_bytes_equivalent(impl):
    assert _post(impl, secret=SECRET).request == _post(impl, secret=SECRET.encode()).request
    assert _post(impl, secret=bytearray(SECRET.encode())).request == _post(impl).request


def test_secret_may_be_a_secret(impl):
    """``sniper.secrets.Secret`` is accepted and revealed only to sign."""
    t = _post(impl, secret=Secret(SECRET))
    assert t.request == _post(impl).request
    t.resign(TS + 1)
    prehash = f"{TS + 1}POST{PLACE}".encode() + BODY
    assert _header(t.request, b"ACCESS-SIGN") == _reference_sign(SECRET.encode(), prehash)
    with pytest.raises(ValueError, match="secret must not be empty"):
        _post(impl, secret=Secret(""))


LEAK = "XLEAKSECRETX"  # the secret of the traceback tests: must never be formatted


def _leak_secret(kind: str) -> object:
    """The secret, built in a frame that has returned before the template raises (a local of
    the test itself would be captured with the test's own frame)."""
    return {
        "str": LEAK + "-0123456789",
        "bytes": (LEAK + "-0123456789").encode(),
        "Secret": Secret(LEAK + "-0123456789"),
        "surrogate": LEAK + "\ud800",  # cannot be encoded: fails inside signing_key
    }[kind]


INVALID_PARTS = [
    {"host": "bad host"},
    {"path": "no-slash"},
    {"method": "PUT"},
    {"api_key": ""},
    {"passphrase": "pass\r\n"},
    {"locale": None},
    {"body": 1},
    {"demo": "yes"},
    {"timestamp_ms": 17},
]


@pytest.mark.parametrize(
    ("overrides", "kind"),
    [(o, k) for o in INVALID_PARTS for k in ("str", "bytes", "Secret", "surrogate")]
    + [({}, "surrogate")],  # everything else valid: the secret itself fails
    ids=lambda v: v if isinstance(v, str) else next(iter(v), "valid"),
)
def test_validation_traceback_locals_never_hold_the_secret(impl, overrides, kind):
    """``capture_locals=True`` (as Sentry, rich, ``traceback`` can) shows no validator's locals
    holding the secret: it is boxed first, checked last, and never passed to a validator."""
    kwargs = {
        "method": "POST",
        "host": "h",
        "path": "/p",
        "api_key": KEY,
        "passphrase": PASSPHRASE,
        "timestamp_ms": TS,
        **overrides,
    }
    with pytest.raises((TypeError, ValueError)) as info:
        impl.OrderTemplate(secret=_leak_secret(kind), **kwargs)
    report = traceback.TracebackException.from_exception(info.value, capture_locals=True)
    text = "".join(report.format())
    assert report.stack[-1].locals, text  # the validator's locals were captured...
    assert LEAK not in text  # ...and none of them, in any frame, shows the secret
    assert LEAK not in str(info.value)


def test_secret_is_checked_after_everything_else(impl):
    """An invalid secret is reported only once every other argument is valid."""
    with pytest.raises(ValueError, match="host"):
        _post(impl, host="bad host", secret=12345)
    with pytest.raises(ValueError, match="13 digits"):
        _post(impl, timestamp_ms=17, secret="")
    with pytest.raises(TypeError, match="secret must be"):
        _post(impl, secret=12345)


def test_repr_masks_credentials(impl):
    t = _post(impl, api_key=MARK + "key", passphrase=MARK + "pass", secret=MARK + "secret")
    text = repr(t)
    signature = _header(t.request, b"ACCESS-SIGN").decode()
    assert MARK not in text
    assert signature not in text
    assert "POST" in text and PLACE in text and str(TS) in text and f"{len(BODY)}B" in text
    t.resign(TS + 5)
    assert _header(t.request, b"ACCESS-SIGN").decode() not in repr(t)


def test_repr_of_a_half_built_template(impl):
    """repr() never raises, even before or after a failed __init__ (traceback locals call it)."""
    blank = impl.OrderTemplate.__new__(impl.OrderTemplate)
    assert repr(blank) == "<OrderTemplate (not initialised)>"
    with pytest.raises(ValueError):
        blank.__init__(
            method="POST",
            host="bad host",
            path="/p",
            api_key=KEY,
            secret=SECRET,
            passphrase=PASSPHRASE,
            timestamp_ms=TS,
        )
    assert repr(blank) == "<OrderTemplate (not initialised)>"


def test_init_twice_is_refused(impl):
    t = _post(impl)
    with pytest.raises(RuntimeError, match="already initialised"):
        t.__init__(
            method="GET",
            host="h",
            path="/p",
            api_key=KEY,
            secret=SECRET,
            passphrase=PASSPHRASE,
            timestamp_ms=TS,
        )
    assert t.request == _post(impl).request


def test_not_picklable(impl):
    with pytest.raises(TypeError):
        pickle.dumps(_post(impl))


def test_keyword_only(impl):
    with pytest.raises(TypeError):
        impl.OrderTemplate("POST", "h", "/p")


def test_compiled_and_twin_build_identical_requests(compiled, twin):
    for kwargs in (
        {},
        {"demo": True},
        {"body": b""},
        {"body": b"", "secret": Secret(SECRET)},
        {"method": "GET", "body": b"", "query": "coin=USDT"},
        {"locale": "zh-CN", "host": "127.0.0.1:8443"},
    ):
        a, b = _post(compiled, **kwargs), _post(twin, **kwargs)
        assert a.request == b.request
        a.resign(1799999999999)
        b.resign(1799999999999)
        assert a.request == b.request
        assert repr(a) == repr(b)


# --- User-Agent (issue 11 item 7: the raw order connections look like a normal client) -----------
UA = "sniper/1.2.3"


def test_no_user_agent_by_default(impl):
    assert b"User-Agent" not in _post(impl).request
    assert _post(impl, user_agent=None).request == _post(impl).request


def test_post_with_user_agent_layout_exact(impl):
    t = _post(impl, user_agent=UA, demo=True)
    expected = (
        b"POST /api/v2/spot/trade/place-order HTTP/1.1\r\n"
        b"Host: api.bitget.com\r\n"
        b"User-Agent: sniper/1.2.3\r\n"
        b"Connection: keep-alive\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
        b"locale: en-US\r\n"
        b"ACCESS-KEY: " + KEY.encode() + b"\r\n"
        b"ACCESS-PASSPHRASE: " + PASSPHRASE.encode() + b"\r\n"
        b"ACCESS-TIMESTAMP: 1700000000000\r\n"
        b"ACCESS-SIGN: l6Fr6MPNUinskcZO75drnG/JL3B7iAOZSl1xF+E9GzA=\r\n"
        b"paptrading: 1\r\n"
        b"\r\n" + BODY
    )
    assert t.request == expected
    assert (
        t.size
        == len(expected)
        == _post(impl, demo=True).size + len(b"User-Agent: \r\n" + UA.encode())
    )


def test_get_with_user_agent_layout_exact(impl):
    t = impl.OrderTemplate(
        method="GET",
        host="127.0.0.1:8443",
        path="/api/v2/spot/account/assets",
        query="coin=USDT",
        api_key=KEY,
        secret=SECRET,
        passphrase=PASSPHRASE,
        timestamp_ms=TS,
        user_agent="sniper/0.0.0+unknown (linux; x86_64)",
    )
    assert t.request == (
        b"GET /api/v2/spot/account/assets?coin=USDT HTTP/1.1\r\n"
        b"Host: 127.0.0.1:8443\r\n"
        b"User-Agent: sniper/0.0.0+unknown (linux; x86_64)\r\n"
        b"Connection: keep-alive\r\n"
        b"Content-Type: application/json\r\n"
        b"locale: en-US\r\n"
        b"ACCESS-KEY: " + KEY.encode() + b"\r\n"
        b"ACCESS-PASSPHRASE: " + PASSPHRASE.encode() + b"\r\n"
        b"ACCESS-TIMESTAMP: 1700000000000\r\n"
        b"ACCESS-SIGN: xyqcxZRYUngp1X6a3XzL1TjXe+3TcK3vDxlbPkNgqF0=\r\n"
        b"\r\n"
    )


def test_resign_with_user_agent_changes_only_timestamp_and_signature(impl):
    t = _post(impl, user_agent=UA)
    before, size, view = t.request, t.size, t.view
    t.resign(1712345678901)
    after = t.request
    assert len(after) == len(before) == size == t.size  # the buffer never changes size
    ts_at = before.index(b"ACCESS-TIMESTAMP: ") + len(b"ACCESS-TIMESTAMP: ")
    sign_at = before.index(b"ACCESS-SIGN: ") + len(b"ACCESS-SIGN: ")
    allowed = set(range(ts_at, ts_at + 13)) | set(range(sign_at, sign_at + 44))
    changed = {i for i in range(len(before)) if before[i] != after[i]}
    assert changed and changed <= allowed
    assert _header(after, b"User-Agent") == UA.encode()
    assert _header(after, b"ACCESS-TIMESTAMP") == b"1712345678901"
    prehash = b"1712345678901POST" + PLACE.encode() + BODY  # the header is not signed
    assert _header(after, b"ACCESS-SIGN") == _reference_sign(SECRET.encode(), prehash)
    assert bytes(view) == after  # same live buffer
    t.resign(TS)
    assert t.request == before


@pytest.mark.parametrize(
    ("user_agent", "exc"),
    [
        ("", ValueError),
        (" sniper/1", ValueError),
        ("sniper/1 ", ValueError),
        ("sniper/1\r\nX-Injected: 1", ValueError),
        ("sniper/1\n", ValueError),
        ("sniper/1\x00", ValueError),
        ("sniper/1\t(x)", ValueError),
        ("sniper/é", ValueError),
        (b"sniper/1", TypeError),
        (1, TypeError),
    ],
)
def test_bad_user_agent(impl, user_agent, exc):
    with pytest.raises(exc, match="user_agent"):
        _post(impl, user_agent=user_agent, api_key=MARK + "key", secret=MARK + "secret")


def test_compiled_and_twin_agree_with_user_agent(compiled, twin):
    for kwargs in (
        {"user_agent": UA},
        {"user_agent": UA, "demo": True, "body": b""},
        {"user_agent": "a b/c (d; e)", "method": "GET", "body": b"", "query": "x=1"},
    ):
        a, b = _post(compiled, **kwargs), _post(twin, **kwargs)
        assert a.request == b.request
        a.resign(1799999999999)
        b.resign(1799999999999)
        assert a.request == b.request and a.size == b.size


@settings(max_examples=200, deadline=None)
@given(user_agent=st.one_of(st.none(), st.text(max_size=40), st.binary(max_size=4)))
def test_compiled_and_twin_agree_on_any_user_agent(compiled, twin, user_agent):
    """Same bytes, or the same exception type and message, for any value."""
    results = []
    for impl in (compiled, twin):
        try:
            results.append(_post(impl, user_agent=user_agent).request)
        except (TypeError, ValueError) as exc:
            results.append((type(exc), str(exc)))
    assert results[0] == results[1]
