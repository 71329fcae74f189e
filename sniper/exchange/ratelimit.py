"""Per-endpoint token buckets (bitget-api.md §4, §5, §12.3).

Each (endpoint, caller) pair has its own bucket holding at most ``rate`` tokens (one second of
burst) and refilling at ``rate`` tokens per second. The caller is the client IP for public
endpoints and the API key for private ones. The remaining whole tokens after a request are
reported in ``x-mbx-used-remain-limit``, as Bitget does.

Every request that reaches the bucket takes a token, whatever it is answered afterwards: a
place-order refused as not open (43115 / 25101) or by the matching engine counts like an
accepted one (``settings.place_order_limit_counts_refused``; ``refund`` gives the token back
for the kinder variant). A request refused with 429 takes nothing (the bucket never goes
below 0). With the simulated WAN the REST layer passes the request's arrival as ``now``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens per second, also the capacity
    tokens: float
    updated: float  # s, time.monotonic()

    def take(self, now: float) -> bool:
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RateLimiter:
    """Buckets created on first use; ``check`` returns (allowed, remaining) or None if unlimited."""

    def __init__(self, table: dict[str, float]) -> None:
        self._table = table
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def check(
        self, endpoint: str, caller: str, now: float | None = None
    ) -> tuple[bool, int] | None:
        """``now``: s, ``time.monotonic()`` scale (default: now)."""
        rate = self._table.get(endpoint)
        if rate is None:
            return None
        if now is None:
            now = time.monotonic()
        bucket = self._buckets.get((endpoint, caller))
        if bucket is None:
            bucket = self._buckets[(endpoint, caller)] = TokenBucket(rate, rate, now)
        allowed = bucket.take(max(now, bucket.updated))  # never refill backwards
        return allowed, int(bucket.tokens)

    def refund(self, endpoint: str, caller: str) -> None:
        """Give back the token an allowed request took (capped at the bucket's capacity)."""
        bucket = self._buckets.get((endpoint, caller))
        if bucket is not None:
            bucket.tokens = min(bucket.rate, bucket.tokens + 1.0)

    def reset(self) -> None:
        self._buckets.clear()
