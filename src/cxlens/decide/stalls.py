"""Event-loop stall recorder: an opt-in diagnostic for latency benches (ADR 0007, stalls addendum).

A decision runs on the event loop, so every millisecond the loop does not run is a millisecond every
queued request waits. This task wakes every ``tick`` seconds; when it wakes more than ``threshold_ms``
late it records when, how late, and how the loop thread spent that time, from Linux's per-thread
scheduler statistics (``/proc/self/task/<tid>/schedstat``: time on a CPU, time runnable but waiting for
one):

- **busy** — the loop was on a CPU: a long callback, or a backlog of requests being worked off;
- **runqueue** — runnable but no core was free: other processes, or this process's other threads;
- **blocked** — neither: waiting for the GIL or a lock another thread held.

Only the bench starts it (``bench/bench_decide.py`` with ``BENCH_DECIDE_STALLS=1``); it costs a timer
wake-up and a small file read per tick on the loop. Times are ``time.perf_counter()`` (the system's
monotonic clock, the same in every process), so stalls can be matched to a load generator's requests.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StallRecorder:
    """Records event-loop stalls longer than ``threshold_ms`` while ``run`` is awaited on that loop."""

    threshold_ms: float = 5.0
    tick: float = 0.001
    stalls: list[tuple[float, float, float, float]] = field(default_factory=list)  # at, late, busy, runqueue

    async def run(self) -> None:
        path = Path(f"/proc/self/task/{threading.get_native_id()}/schedstat")
        with path.open("rb") as stats:
            def sched() -> tuple[float, float]:  # ms on a CPU, ms waiting for one
                stats.seek(0)
                on_cpu, waiting, _ = stats.read().split()
                return int(on_cpu) / 1e6, int(waiting) / 1e6

            while True:
                started = time.perf_counter()
                on_cpu, waiting = sched()
                await asyncio.sleep(self.tick)
                late = (time.perf_counter() - started - self.tick) * 1000
                if late > self.threshold_ms:
                    now_cpu, now_waiting = sched()
                    self.stalls.append((started, late, now_cpu - on_cpu, now_waiting - waiting))

    def summary(self, start: float = float("-inf"), end: float = float("inf")) -> dict[str, float]:
        """Stalls that began in ``[start, end]``: how many, their total length and its split (ms)."""
        chosen = [s for s in self.stalls if start <= s[0] <= end]
        total = sum(late + self.tick * 1000 for _, late, _, _ in chosen)
        busy = sum(b for _, _, b, _ in chosen)
        runqueue = sum(r for _, _, _, r in chosen)
        return {"count": len(chosen), "total_ms": total, "busy_ms": busy, "runqueue_ms": runqueue,
                "blocked_ms": max(0.0, total - busy - runqueue),
                "longest_ms": max((late for _, late, _, _ in chosen), default=0.0)}
