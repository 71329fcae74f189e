"""Pure-Python twin of ``signer.pyx``: the readable specification of the pre-signed order request.

``sign(secret, prehash)`` is Bitget's REST signature, ``base64(HMAC-SHA256(secret, prehash))``
(docs/bitget-api.md §3.2). ``OrderTemplate`` builds one complete HTTP/1.1 request once::

    POST /api/v2/spot/trade/place-order HTTP/1.1\\r\\n
    Host: <host>\\r\\n
    User-Agent: <user_agent>\\r\\n       (only when user_agent is given, e.g. sniper/1.2.0)
    Connection: keep-alive\\r\\n
    Content-Type: application/json\\r\\n
    Content-Length: <n>\\r\\n            (POST only, also when 0; never on GET)
    locale: en-US\\r\\n
    ACCESS-KEY: <key>\\r\\n
    ACCESS-PASSPHRASE: <pass>\\r\\n
    ACCESS-TIMESTAMP: <13 digits>\\r\\n
    ACCESS-SIGN: <44 chars base64>\\r\\n
    paptrading: 1\\r\\n                  (only when demo)
    \\r\\n
    <body>

and ``resign(timestamp_ms)`` rewrites only the 13 timestamp digits and the 44 signature bytes in
place: the buffer never moves or changes size. The prehash ``timestamp + METHOD + path[?query] +
body`` is kept in its own preallocated buffer whose first 13 bytes are rewritten the same way;
the query string is signed exactly as it is sent on the request line. ``Content-Length`` follows
RFC 9110 §8.6: a POST always carries it, ``0`` for an empty body; a GET (no content) never does.
``User-Agent`` (RFC 9110 §10.1.5) is part of the pre-built bytes, so it costs nothing at the fire
and moves no offset after ``__init__``; ``user_agent=None`` (the default) sends no such header.

Validation (``ValueError``/``TypeError`` in ``__init__``) never echoes the key, secret or
passphrase; ``repr()`` never shows them nor the signature. The secret (``str``, ``bytes``,
``bytearray`` or ``sniper.secrets.Secret``) is boxed in a masked ``SecretBox`` before any
argument is checked and is checked last (``signing_key``), so no validator ever receives it and
no frame of a validation traceback holds it in a local variable (tools that print locals:
``traceback.TracebackException(..., capture_locals=True)``, Sentry, rich). Unboxed, it lives only
in the template's private ``_secret`` attribute and is passed only to ``sign``.
"""

from __future__ import annotations

import binascii
import hmac
from typing import NoReturn

from sniper.secrets import Secret

__all__ = ["SIGNATURE_LEN", "TIMESTAMP_DIGITS", "OrderTemplate", "sign"]

TIMESTAMP_DIGITS = 13
"""ACCESS-TIMESTAMP is milliseconds since the epoch, always 13 digits (2001-09-09 .. 2286)."""
SIGNATURE_LEN = 44
"""Length of base64(32-byte HMAC-SHA256 digest)."""
_TS_MIN = 10 ** (TIMESTAMP_DIGITS - 1)
_TS_MAX = 10**TIMESTAMP_DIGITS - 1
_METHODS = ("GET", "POST")


def sign(secret: bytes | bytearray, prehash: bytes | bytearray | memoryview) -> bytes:
    """``base64(HMAC-SHA256(secret, prehash))`` as 44 ASCII bytes, no newline."""
    return binascii.b2a_base64(hmac.digest(secret, prehash, "sha256"), newline=False)


def check_timestamp(timestamp_ms: object) -> int:
    """Return *timestamp_ms* if it is a 13-digit int (milliseconds), else raise."""
    if not isinstance(timestamp_ms, int) or isinstance(timestamp_ms, bool):
        raise TypeError(f"timestamp_ms must be an int, got {type(timestamp_ms).__name__}")
    if not _TS_MIN <= timestamp_ms <= _TS_MAX:
        raise ValueError(
            f"timestamp_ms must be 13 digits (milliseconds since the epoch), got {timestamp_ms}"
        )
    return timestamp_ms


def _check_text(name: str, value: object, *, secret: bool, allow_empty: bool = False) -> str:
    """A header/request-line value: str of printable ASCII (0x21-0x7E, plus space if not a
    URL part). Messages about credentials (``secret=True``) never include the value."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    bad = next((ch for ch in value if not 0x21 <= ord(ch) <= 0x7E), None)
    if bad is not None:
        what = "CR/LF" if bad in "\r\n" else "whitespace, control or non-ASCII characters"
        shown = "" if secret else f": {value[:80]!r}"
        raise ValueError(f"{name} must be printable ASCII without {what}{shown}")
    return value


class SecretBox:
    """The ``secret`` argument exactly as given, unchecked, behind a masked ``repr``.

    ``OrderTemplate.__init__`` boxes it before anything can raise and unboxes it with
    :func:`signing_key` only after every other argument is valid. Cannot be pickled.
    """

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<secret: masked>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a secret cannot be pickled")


def _non_empty_key(key: bytes) -> bytes:
    if not key:
        raise ValueError("secret must not be empty")
    return key


def signing_key(box: SecretBox) -> bytes:
    """The HMAC key from a boxed secret: the UTF-8 bytes of a ``str`` or ``Secret``, or the
    ``bytes``/``bytearray`` given. ``TypeError``/``ValueError`` never echo it, and at every raise
    the only local that refers to it is *box* (masked). Shared by both implementations."""
    if isinstance(box.value, Secret):
        box = SecretBox(box.value.reveal())
    if isinstance(box.value, str):
        try:
            return _non_empty_key(box.value.encode("utf-8"))
        except UnicodeEncodeError:  # the error object would quote the secret
            raise ValueError("secret must be valid Unicode (no lone surrogates)") from None
    if isinstance(box.value, bytes | bytearray):
        return _non_empty_key(bytes(box.value))
    raise TypeError(
        f"secret must be str, bytes or sniper.secrets.Secret, got {type(box.value).__name__}"
    )


def check_request_parts(
    method: object,
    host: object,
    path: object,
    query: object,
    body: object,
    api_key: object,
    passphrase: object,
    locale: object,
    demo: object,
) -> tuple[str, str, str, str, bytes, str, str, str, bool]:
    """Validate and normalise the ``OrderTemplate`` arguments other than the secret (shared by
    both implementations; the secret is never passed here: see :func:`signing_key`)."""
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, got {type(method).__name__}")
    if method not in _METHODS:
        raise ValueError(f"method must be 'GET' or 'POST', got {method[:20]!r}")
    host = _check_text("host", host, secret=False)
    path = _check_text("path", path, secret=False)
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/', got {path[:80]!r}")
    if "?" in path or "#" in path:
        raise ValueError(f"path must not contain '?' or '#' (pass query=...), got {path[:80]!r}")
    query = _check_text("query", query, secret=False, allow_empty=True)
    if query.startswith("?") or "#" in query:
        raise ValueError(f"query must not start with '?' nor contain '#', got {query[:80]!r}")
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif isinstance(body, bytes | bytearray):
        body = bytes(body)
    else:
        raise TypeError(f"body must be bytes or str, got {type(body).__name__}")
    if method == "GET" and body:
        raise ValueError("a GET request must not have a body (put parameters in query=...)")
    api_key = _check_text("api_key", api_key, secret=True)
    passphrase = _check_text("passphrase", passphrase, secret=True)
    locale = _check_text("locale", locale, secret=False)
    if not isinstance(demo, bool):
        raise TypeError(f"demo must be a bool, got {type(demo).__name__}")
    return method, host, path, query, body, api_key, passphrase, locale, demo


def check_user_agent(user_agent: object) -> str | None:
    """``None`` (no header), or a ``User-Agent`` value (RFC 9110 §10.1.5: products and
    comments separated by spaces): printable ASCII 0x20-0x7E, not empty, no leading or trailing
    space. Shared by both implementations."""
    if user_agent is None:
        return None
    if not isinstance(user_agent, str):
        raise TypeError(f"user_agent must be a str or None, got {type(user_agent).__name__}")
    if not user_agent or user_agent != user_agent.strip(" "):
        raise ValueError(f"user_agent must be non-empty without outer spaces, got {user_agent!r}")
    bad = next((ch for ch in user_agent if not 0x20 <= ord(ch) <= 0x7E), None)
    if bad is not None:
        what = "CR/LF" if bad in "\r\n" else "control or non-ASCII characters"
        raise ValueError(f"user_agent must be printable ASCII without {what}: {user_agent[:80]!r}")
    return user_agent


def build_request(
    method: str,
    host: str,
    user_agent: str | None,
    target: str,
    body: bytes,
    api_key: str,
    passphrase: str,
    locale: str,
    demo: bool,
    timestamp: bytes,
    signature: bytes,
) -> tuple[bytes, int, int]:
    """The request bytes and the offsets of its timestamp digits and of its signature."""
    head = (
        f"{method} {target} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        + (f"User-Agent: {user_agent}\r\n" if user_agent is not None else "")
        + "Connection: keep-alive\r\n"
        "Content-Type: application/json\r\n"
        # RFC 9110 §8.6: POST defines content, so it says how long, even 0; GET has none
        + (f"Content-Length: {len(body)}\r\n" if method == "POST" else "")
        + f"locale: {locale}\r\n"
        f"ACCESS-KEY: {api_key}\r\n"
        f"ACCESS-PASSPHRASE: {passphrase}\r\n"
        "ACCESS-TIMESTAMP: "
    ).encode("ascii")
    ts_offset = len(head)
    head += timestamp + b"\r\nACCESS-SIGN: "
    sign_offset = len(head)
    head += signature + b"\r\n" + (b"paptrading: 1\r\n" if demo else b"") + b"\r\n"
    return head + body, ts_offset, sign_offset


class OrderTemplate:
    """One complete, signed HTTP/1.1 request that can be re-signed in place."""

    __slots__ = (
        "_body",
        "_buf",
        "_method",
        "_path",
        "_prehash",
        "_secret",
        "_sign_offset",
        "_target",
        "_ts",
        "_ts_offset",
    )

    def __init__(
        self,
        *,
        method: str,
        host: str,
        path: str,
        query: str = "",
        body: bytes | str = b"",
        api_key: str,
        secret: str | bytes | bytearray | Secret,
        passphrase: str,
        locale: str = "en-US",
        demo: bool = False,
        timestamp_ms: int,
        user_agent: str | None = None,
    ) -> None:
        # Box the secret before anything can raise: from here on no local of any frame holds it.
        boxed = SecretBox(secret)
        del secret
        if getattr(self, "_buf", None) is not None:
            raise RuntimeError("OrderTemplate is already initialised")
        (method, host, path, query, body, api_key, passphrase, locale, demo) = check_request_parts(
            method, host, path, query, body, api_key, passphrase, locale, demo
        )
        user_agent = check_user_agent(user_agent)
        ts = check_timestamp(timestamp_ms)
        self._secret = signing_key(boxed)  # the secret is checked last
        target = f"{path}?{query}" if query else path
        digits = b"%d" % ts
        # prehash = timestamp + METHOD + path[?query] + body; digits live in prehash[0:13]
        self._prehash = bytearray(digits + method.encode("ascii") + target.encode("ascii") + body)
        request, self._ts_offset, self._sign_offset = build_request(
            method, host, user_agent, target, body, api_key, passphrase, locale, demo,
            digits, sign(self._secret, self._prehash),
        )  # fmt: skip
        self._method = method
        self._path = path
        self._target = target
        self._body = body
        self._ts = ts
        self._buf = bytearray(request)  # last: __repr__ tells a half-built template by it

    def resign(self, timestamp_ms: int) -> None:
        """Rewrite the timestamp and the signature in place for a new 13-digit ms timestamp."""
        ts = check_timestamp(timestamp_ms)
        digits = b"%d" % ts
        self._prehash[0:TIMESTAMP_DIGITS] = digits
        signature = sign(self._secret, self._prehash)
        self._buf[self._ts_offset : self._ts_offset + TIMESTAMP_DIGITS] = digits
        self._buf[self._sign_offset : self._sign_offset + SIGNATURE_LEN] = signature
        self._ts = ts

    @property
    def request(self) -> bytes:
        """A copy of the current request bytes."""
        return bytes(self._buf)

    @property
    def view(self) -> memoryview:
        """A read-only view of the live request buffer (changes on ``resign``)."""
        return memoryview(self._buf).toreadonly()

    @property
    def timestamp_ms(self) -> int:
        """The timestamp the request is currently signed with (ms)."""
        return self._ts

    @property
    def size(self) -> int:
        """Length of the request in bytes (constant)."""
        return len(self._buf)

    @property
    def body(self) -> bytes:
        """The request body (bytes, possibly empty)."""
        return self._body

    @property
    def path_with_query(self) -> str:
        """The request target as sent and signed: path, plus ``?query`` when there is one."""
        return self._target

    def __repr__(self) -> str:
        if getattr(self, "_buf", None) is None:  # __init__ not run or failed (e.g. in a traceback)
            return "<OrderTemplate (not initialised)>"
        return (
            f"<OrderTemplate {self._method} {self._target} body={len(self._body)}B "
            f"timestamp_ms={self._ts} key=<masked> sign=<masked>>"
        )

    def __reduce__(self) -> NoReturn:
        raise TypeError("OrderTemplate holds credentials and cannot be pickled")
