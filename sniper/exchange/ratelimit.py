"""Per-endpoint token buckets (bitget-api.md §4, §5, §12.3).

Each (endpoint, caller) pair has its own bucket holding at most ``rate`` tokens (one second of
burst) and refilling at ``rate`` tokens per second. The caller is the client IP for public
endpoints and the API key for private ones. The remaining whole tokens after a request are
reported in ``x-mbx-used-remain-limit``, as Bitget does.
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

    def check(self, endpoint: str, caller: str) -> tuple[bool, int] | None:
        rate = self._table.get(endpoint)
        if rate is None:
            return None
        now = time.monotonic()
        bucket = self._buckets.get((endpoint, caller))
        if bucket is None:
            bucket = self._buckets[(endpoint, caller)] = TokenBucket(rate, rate, now)
        allowed = bucket.take(now)
        return allowed, int(bucket.tokens)

    def reset(self) -> None:
        self._buckets.clear()
