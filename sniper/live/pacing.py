"""Backoff and rate pacing: pure arithmetic, injectable randomness, no sleeping here."""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable


class Backoff:
    """Exponential backoff with full jitter on the upper half, capped.

    ``next()`` gives the delay (s) before attempt n+1: ``min(cap, base * 2**n)`` scaled by a random
    factor in [0.5, 1.0] so that many clients do not reconnect in lock step. ``reset()`` after a
    success.
    """

    def __init__(
        self, base: float = 0.1, cap: float = 3.0, rand: Callable[[], float] = random.random
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError("need 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rand = rand

    def next(self) -> float:
        ceiling = min(self.cap, self.base * (2**self.attempt))
        self.attempt = min(self.attempt + 1, 32)
        return ceiling * (0.5 + 0.5 * self._rand())

    def reset(self) -> None:
        self.attempt = 0


class PollPacer:
    """The poller's interval: never below ``base`` (the 20 req/s/IP limit), doubled on 429 up to
    ``ceiling``, and recovered gradually (-``recover`` fraction per success) afterwards."""

    def __init__(self, base_ms: float, ceiling_ms: float = 2000.0, recover: float = 0.1) -> None:
        self.base_ms = float(base_ms)
        self.ceiling_ms = max(float(ceiling_ms), self.base_ms)
        self.recover = recover
        self.interval_ms = self.base_ms

    def throttled(self) -> float:
        self.interval_ms = min(self.ceiling_ms, self.interval_ms * 2)
        return self.interval_ms

    def ok(self) -> float:
        if self.interval_ms > self.base_ms:
            self.interval_ms = max(self.base_ms, self.interval_ms * (1 - self.recover))
        return self.interval_ms


class RateWindow:
    """A sliding-window budget: at most ``limit`` events per ``window`` seconds.

    Used for the WS subscribe budget (240/h/connection; we keep a margin) and the
    place-order limit (10/s/UID).
    """

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self._events and now - self._events[0] >= self.window:
            self._events.popleft()

    def available(self) -> int:
        self._trim(self._clock())
        return self.limit - len(self._events)

    def try_take(self) -> bool:
        now = self._clock()
        self._trim(now)
        if len(self._events) >= self.limit:
            return False
        self._events.append(now)
        return True

    def wait_time(self) -> float:
        """Seconds until one more event fits (0 if it fits now)."""
        now = self._clock()
        self._trim(now)
        if len(self._events) < self.limit:
            return 0.0
        return max(0.0, self._events[0] + self.window - now)

    def reset(self) -> None:
        self._events.clear()
