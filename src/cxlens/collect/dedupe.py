"""The request path's bounded memory of recently accepted messageIds.

A cheap first line against client retries: a retried batch is answered 200 without touching the
WAL. It is bounded (two generations of at most ``capacity`` ids each, the older dropped whole
when the newer fills) and forgets on restart; the definitive check happens at load time against
the store (``cxlens.collect.pipeline``, ADR 0002).
"""

from __future__ import annotations

from collections.abc import Iterable


class RecentIds:
    """Remembers at least the last ``capacity`` ids added, at most twice that."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self._capacity = capacity
        self._young: set[str] = set()
        self._old: set[str] = set()

    def __contains__(self, message_id: str) -> bool:
        return message_id in self._young or message_id in self._old

    def __len__(self) -> int:
        return len(self._young | self._old)

    def add_all(self, message_ids: Iterable[str]) -> None:
        self._young.update(message_ids)
        if len(self._young) >= self._capacity:
            self._old, self._young = self._young, set()
