"""The pre-signed order request and Bitget's REST signature (compiled).

Semantics are those of the twin ``sniper/_fast/signer_py.py`` (layout in its module docstring).
Argument validation is shared with the twin (``check_request_parts``, ``check_user_agent``,
``check_timestamp``, ``signing_key``) so that both raise the same errors; the request layout and
the in-place re-signing are separate code. The secret is checked last, boxed (``SecretBox``,
masked repr), and never passed to the validators of the other arguments: no Python frame of a
validation traceback holds it in a local (this module's own frames carry no locals). HMAC and
base64 are CPython's own C implementations (``hmac.digest`` on ``_hashlib``, ``binascii``);
nothing else is linked.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING
from libc.string cimport memcpy

import binascii
import hmac

from sniper._fast.signer_py import (
    SecretBox,
    check_request_parts,
    check_timestamp,
    check_user_agent,
    signing_key,
)

cdef enum:
    TIMESTAMP_DIGITS = 13   # ms since the epoch, 2001-09-09 .. 2286
    SIGNATURE_LEN = 44      # base64 of a 32-byte digest

cdef object _hmac_digest = hmac.digest
cdef object _b2a_base64 = binascii.b2a_base64


def sign(secret, prehash):
    """sign(secret: bytes, prehash: bytes) -> bytes

    ``base64(HMAC-SHA256(secret, prehash))`` as 44 ASCII bytes, no newline.
    """
    return _b2a_base64(_hmac_digest(secret, prehash, "sha256"), newline=False)


cdef inline void _write_digits(char* out, long long ts) noexcept nogil:
    # ts is 13 digits (checked by the caller): write them most significant first into out[0:13]
    cdef int k
    for k in range(TIMESTAMP_DIGITS - 1, -1, -1):
        out[k] = <char>(0x30 + ts % 10)
        ts //= 10


cdef class OrderTemplate:
    """OrderTemplate(*, method, host, path, query="", body=b"", api_key, secret, passphrase,
    locale="en-US", demo=False, timestamp_ms, user_agent=None)

    One complete, signed HTTP/1.1 request that can be re-signed in place.
    """

    def __init__(self, *, method, host, path, query="", body=b"", api_key, secret, passphrase,
                 locale="en-US", demo=False, timestamp_ms, user_agent=None):
        cdef char digits[TIMESTAMP_DIGITS]
        cdef long long ts
        if self._buf is not None:
            raise RuntimeError("OrderTemplate is already initialised")
        (method, host, path, query, body, api_key, passphrase, locale, demo) = (
            check_request_parts(method, host, path, query, body, api_key, passphrase, locale, demo)
        )
        user_agent = check_user_agent(user_agent)
        ts = check_timestamp(timestamp_ms)
        self._secret = signing_key(SecretBox(secret))  # the secret is checked last
        _write_digits(digits, ts)
        cdef bytes ts_digits = digits[:TIMESTAMP_DIGITS]
        cdef str target = f"{path}?{query}" if query else path
        cdef bytes head

        prehash = bytearray(ts_digits + method.encode("ascii") + target.encode("ascii") + body)
        signature = sign(self._secret, prehash)
        if len(signature) != SIGNATURE_LEN:
            raise RuntimeError("unexpected signature length")

        head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n".encode("ascii")
        if user_agent is not None:  # part of the pre-built bytes: free at the fire
            head += f"User-Agent: {user_agent}\r\n".encode("ascii")
        head += b"Connection: keep-alive\r\nContent-Type: application/json\r\n"
        if method == "POST":  # RFC 9110 §8.6: also when 0; a GET has no content, no header
            head += f"Content-Length: {len(body)}\r\n".encode("ascii")
        head += (f"locale: {locale}\r\n"
                 f"ACCESS-KEY: {api_key}\r\n"
                 f"ACCESS-PASSPHRASE: {passphrase}\r\n"
                 f"ACCESS-TIMESTAMP: ").encode("ascii")
        self._ts_offset = len(head)
        head += ts_digits + b"\r\nACCESS-SIGN: "
        self._sign_offset = len(head)
        head += signature + b"\r\n"
        if demo:
            head += b"paptrading: 1\r\n"
        head += b"\r\n"

        self._buf = bytearray(head + body)
        self._prehash = prehash
        self._method = method
        self._target = target
        self._body = body
        self._ts = ts
        self.data = PyByteArray_AS_STRING(self._buf)
        self.size = len(self._buf)

    def resign(self, timestamp_ms):
        """resign(timestamp_ms: int) -> None

        Rewrite the timestamp and the signature in place for a new 13-digit ms timestamp.
        """
        cdef char digits[TIMESTAMP_DIGITS]
        cdef char* out
        cdef long long ts
        cdef bytes signature
        if self._buf is None:
            raise RuntimeError("OrderTemplate is not initialised")
        ts = check_timestamp(timestamp_ms)
        _write_digits(digits, ts)
        memcpy(PyByteArray_AS_STRING(self._prehash), digits, TIMESTAMP_DIGITS)
        signature = _b2a_base64(_hmac_digest(self._secret, self._prehash, "sha256"),
                                newline=False)
        if len(signature) != SIGNATURE_LEN:
            raise RuntimeError("unexpected signature length")
        # The request changes only once the new signature exists (an exception above leaves
        # the previous, consistent request in place). Offsets were fixed in __init__.
        out = PyByteArray_AS_STRING(self._buf)
        memcpy(out + self._ts_offset, digits, TIMESTAMP_DIGITS)
        memcpy(out + self._sign_offset, <const char*>signature, SIGNATURE_LEN)
        self._ts = ts

    @property
    def request(self):
        """A copy of the current request bytes."""
        return bytes(self._buf)

    @property
    def view(self):
        """A read-only view of the live request buffer (changes on ``resign``)."""
        return memoryview(self._buf).toreadonly()

    @property
    def timestamp_ms(self):
        """The timestamp the request is currently signed with (ms)."""
        return self._ts

    @property
    def body(self):
        """The request body (bytes, possibly empty)."""
        return self._body

    @property
    def path_with_query(self):
        """The request target as sent and signed: path, plus ``?query`` when there is one."""
        return self._target

    def __repr__(self):
        if self._buf is None:
            return "<OrderTemplate (not initialised)>"
        return (
            f"<OrderTemplate {self._method} {self._target} body={len(self._body)}B "
            f"timestamp_ms={self._ts} key=<masked> sign=<masked>>"
        )

    def __reduce__(self):
        raise TypeError("OrderTemplate holds credentials and cannot be pickled")
