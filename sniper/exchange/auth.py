"""REST signature verification (bitget-api.md §3), written independently of ``sniper._fast``.

The exchange is the oracle for the sniper's signer, so this module must not share code with it:
it uses only :mod:`hmac`, :mod:`hashlib` and :mod:`base64`.

Prehash = ``ACCESS-TIMESTAMP + METHOD + path[?query] + body`` where ``path[?query]`` is the
request target exactly as it arrived on the wire and ``body`` the exact body bytes.

Header values are untrusted text: aiohttp decodes them as UTF-8 with ``surrogateescape``, so a
value that is not UTF-8 holds lone surrogates. Every string is turned back into its wire bytes
with :func:`wire` (``encode("utf-8", "surrogateescape")``) before it is hashed or compared, so a
malformed ACCESS-SIGN / ACCESS-PASSPHRASE is an ordinary mismatch (40009 / 40012), never a
server error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .state import Account


def wire(text: str) -> bytes:
    """The bytes a header value / request target had on the wire (see the module docstring)."""
    return text.encode("utf-8", "surrogateescape")


def sign(secret: str | bytes, prehash: str | bytes) -> str:
    """Base64(HMAC-SHA256(secret, prehash)), the ACCESS-SIGN value."""
    key = wire(secret) if isinstance(secret, str) else secret
    msg = wire(prehash) if isinstance(prehash, str) else prehash
    return base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode("ascii")


def prehash(timestamp: str, method: str, target: str, body: bytes) -> bytes:
    """The signed string: timestamp + METHOD + path[?query] (as received) + body (as received)."""
    return wire(timestamp) + wire(method.upper()) + wire(target) + body


def verify(secret: str | bytes, signature: str, prehash_bytes: bytes) -> bool:
    """Constant-time comparison of a received ACCESS-SIGN with the expected one."""
    return hmac.compare_digest(sign(secret, prehash_bytes).encode("ascii"), wire(signature))


@dataclass(frozen=True, slots=True)
class AuthError:
    """A rejected private request: HTTP 400 with this code and message."""

    code: str
    msg: str


def authenticate(
    *,
    headers: Mapping[str, str],
    method: str,
    target: str,
    body: bytes,
    remote_ip: str | None,
    lookup: Callable[[str], Account | None],
    server_time_ms: int,
    window_ms: int,
    passphrase_error: tuple[str, str],
    need_trade: bool,
) -> tuple[Account | None, AuthError | None]:
    """Check the four ACCESS-* headers in Bitget's documented error order.

    Order used (the real order is not documented): presence of key / sign / passphrase /
    timestamp, timestamp format (40005), key known (40006), timestamp window (40008),
    passphrase (40012 by default), signature (40009), IP whitelist (40018), permission (40014).
    """
    key = headers.get("ACCESS-KEY", "")
    signature = headers.get("ACCESS-SIGN", "")
    passphrase = headers.get("ACCESS-PASSPHRASE", "")
    timestamp = headers.get("ACCESS-TIMESTAMP", "")
    if not key:
        return None, AuthError("40001", "ACCESS_KEY cannot be empty")
    if not signature:
        return None, AuthError("40002", "ACCESS_SIGN cannot be empty")
    if not passphrase:
        return None, AuthError("40011", "ACCESS_PASSPHRASE cannot be empty")
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit():
        return None, AuthError("40005", "Invalid ACCESS_TIMESTAMP")
    account = lookup(key)
    if account is None:
        return None, AuthError("40006", "Invalid ACCESS_KEY")
    if abs(int(timestamp) - server_time_ms) > window_ms:
        return None, AuthError("40008", "Request timestamp expired")
    if not hmac.compare_digest(wire(passphrase), wire(account.passphrase)):
        return None, AuthError(*passphrase_error)
    if not verify(account.secret, signature, prehash(timestamp, method, target, body)):
        return None, AuthError("40009", "sign signature error")
    if account.ip_whitelist is not None and remote_ip not in account.ip_whitelist:
        return None, AuthError("40018", "Invalid IP")
    if need_trade and "trade" not in account.permissions:
        return None, AuthError("40014", "Incorrect permissions, need trade permissions")
    return account, None
