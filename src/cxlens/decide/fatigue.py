"""Contact fatigue: frequency caps per person and channel, and quiet hours in the person's local time.

Both are hard guarantees. Caps are reserved atomically: under one lock the ledger checks every window
and records the contact before answering, so concurrent requests for one person can never overshoot.
The ledger lives in memory (the decision path must not wait on disk) and is rebuilt from
``decide_contacts`` at start; contacts are written there by the decision log. One server process owns
the store (DuckDB is single-writer), so one in-process ledger is the whole truth.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from cxlens.store import Store


@dataclass(frozen=True)
class Cap:
    channel: str
    window_seconds: int
    max_contacts: int

    def describe(self) -> str:
        return f"at most {self.max_contacts} per {_window(self.window_seconds)} on {self.channel}"


def _window(seconds: int) -> str:
    for unit, size in (("week", 604_800), ("day", 86_400), ("hour", 3_600)):
        if seconds % size == 0:
            n = seconds // size
            return unit if n == 1 else f"{n} {unit}s"
    return f"{seconds} s"


@dataclass(frozen=True)
class QuietHours:
    channel: str
    start_minute: int
    end_minute: int

    def contains(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        if self.start_minute <= self.end_minute:
            return self.start_minute <= minute < self.end_minute
        return minute >= self.start_minute or minute < self.end_minute  # wraps midnight

    def describe(self) -> str:
        def hm(m: int) -> str:
            return time(m // 60, m % 60).strftime("%H:%M")
        return f"quiet hours {hm(self.start_minute)}–{hm(self.end_minute)} local time on {self.channel}"


def local_time(now: datetime, local: datetime | None, zone: str | None,
               default_zone: str = "UTC") -> datetime:
    """The person's local time: as the caller sent it, else in their zone, else ``default_zone``."""
    if local is not None:
        # the caller's clock may be off; keep its offset but take the instant from ours
        return now.astimezone(local.tzinfo)
    return now.astimezone(ZoneInfo(zone or default_zone))


class FatigueLedger:
    """Per (person, channel) contact times, with atomic check-and-reserve against every cap."""

    def __init__(self, caps: list[Cap], quiet: list[QuietHours]) -> None:
        self.caps: dict[str, list[Cap]] = {}
        for cap in caps:
            self.caps.setdefault(cap.channel, []).append(cap)
        self.quiet = {q.channel: q for q in quiet}
        self._contacts: dict[tuple[str, str], deque[datetime]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_store(cls, store: Store, now: datetime) -> FatigueLedger:
        caps = [Cap(*row) for row in store.fetchall(
            "SELECT channel, window_seconds, max_contacts FROM decide_caps ORDER BY channel, window_seconds")]
        quiet = [QuietHours(*row) for row in store.fetchall(
            "SELECT channel, start_minute, end_minute FROM decide_quiet_hours")]
        ledger = cls(caps, quiet)
        longest = max((c.window_seconds for c in caps), default=0)
        for customer, channel, at in store.fetchall(
                "SELECT customer_id, channel, contacted_at FROM decide_contacts WHERE contacted_at >= ? "
                "ORDER BY contacted_at", [now - timedelta(seconds=longest)]):
            ledger._contacts.setdefault((customer, channel), deque()).append(at)
        return ledger

    def quiet_now(self, channel: str, local: datetime) -> QuietHours | None:
        rule = self.quiet.get(channel)
        return rule if rule is not None and rule.contains(local) else None

    def reserve(self, customer_id: str, channel: str, now: datetime) -> Cap | None:
        """Record a contact if every cap allows it; else return the cap that is full (nothing recorded)."""
        return self._check(customer_id, channel, now, record=True)

    def full(self, customer_id: str, channel: str, now: datetime) -> Cap | None:
        """The cap a contact now would exceed, or None — recording nothing (previews)."""
        return self._check(customer_id, channel, now, record=False)

    def _check(self, customer_id: str, channel: str, now: datetime, record: bool) -> Cap | None:
        caps = self.caps.get(channel, [])
        if not caps:
            return None
        longest = max(c.window_seconds for c in caps)
        with self._lock:
            times = self._contacts.setdefault((customer_id, channel), deque())
            while times and (now - times[0]).total_seconds() >= longest:
                times.popleft()
            for cap in caps:
                since = now - timedelta(seconds=cap.window_seconds)
                if sum(1 for t in times if t > since) >= cap.max_contacts:
                    return cap
            if record:
                times.append(now)
        return None

    def count(self, customer_id: str, channel: str, window_seconds: int, now: datetime) -> int:
        since = now - timedelta(seconds=window_seconds)
        with self._lock:
            return sum(1 for t in self._contacts.get((customer_id, channel), ()) if t > since)
