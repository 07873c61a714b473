"""Per-write-key token buckets: a sustained rate with a burst allowance."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cxlens.errors import PayloadTooLargeError, RateLimitedError


class RateLimiter:
    """One token bucket per key; a message costs one token.

    A whole request is admitted or refused (429) as one: half-accepting a batch would make the
    client's retry re-send the accepted half.
    """

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def take(self, key: str, cost: int) -> None:
        """Spend ``cost`` tokens of ``key``'s bucket or raise ``RateLimitedError`` with Retry-After.

        A request costing more than the burst can never be admitted (the bucket holds at most the
        burst), so it is refused as too large rather than with a Retry-After a client would obey forever.
        """
        if cost > self._burst:
            raise PayloadTooLargeError(
                f"this request holds {cost} events, more than one write key may send at once "
                f"({self._burst:g}, settings.rate_limit_burst); send smaller batches", events=cost)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if cost > tokens:
                self._buckets[key] = (tokens, now)
                wait = (cost - tokens) / self._rate
                raise RateLimitedError(
                    f"write key is over its limit of {self._rate:g} events/s (burst {self._burst:g}); "
                    f"retry after {wait:.2f} s", retry_after=wait)
            self._buckets[key] = (tokens - cost, now)
