"""Identity resolution (unify) of synthetic events: time, peak memory, and growth with size.

Events: 10 per person on average; a person has one anonymous id, 40% of events carry the user id,
identify events carry an e-mail, and every event carries a small Segment ``context`` (library, ip,
page), as real events do. Each size is loaded as one batch into a fresh store (the bulk importer's
case), then three 1,000-event batches are unified on top (the HTTP loader's case; median reported).
Each size runs in a fresh process so its peak memory is its own. CPU time (all threads) is reported
beside wall time: the machine is shared, and wall time there mostly measures waiting for a core.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlens.collect.records import EVENT_SCHEMA
from cxlens.config import load_settings
from cxlens.profiles.unify import unify
from cxlens.store import Store

_CONTEXT = '{"library": {"name": "analytics.js", "version": "4.1.0"}, "ip": "203.0.113.9", ' \
           '"page": {"path": "/pricing", "title": "Pricing"}}'
T0 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)


def synthetic(n: int, seed: int = 7, offset: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    people = max(1, n // 10)
    person = rng.integers(0, people, n)
    known = rng.random(n) < 0.4
    identify = known & (rng.random(n) < 0.1)
    pid = pa.array(person.astype(str))
    user = pc.if_else(pa.array(known), pc.binary_join_element_wise("u", pid, ""), pa.nulls(n, pa.string()))
    traits = pc.if_else(pa.array(identify),
                        pc.binary_join_element_wise('{"email": "p', pid, '@example.org"}', ""),
                        pa.nulls(n, pa.string()))
    ts = pa.array(T0 + rng.integers(0, 365 * 86_400_000_000, n), pa.timestamp("us", tz="UTC"))
    columns = {
        "message_id": pc.binary_join_element_wise(
            "m", pa.array(np.arange(offset, offset + n).astype(str)), ""),
        "type": pc.if_else(pa.array(identify), "identify", "track"),
        "event": pa.array(["Viewed"] * n), "user_id": user,
        "anonymous_id": pc.binary_join_element_wise("a", pid, ""),
        "channel": pa.array(np.array(["web", "app", "store"])[rng.integers(0, 3, n)]),
        "source": pa.array(["bench"] * n), "timestamp": ts, "received_at": ts, "traits": traits,
        "context": pa.array([_CONTEXT] * n),
        "anonymized": pa.array(np.zeros(n, dtype=bool)),
    }
    return pa.table({f.name: columns.get(f.name, pa.nulls(n, f.type)).cast(f.type) for f in EVENT_SCHEMA},
                    schema=EVENT_SCHEMA)


def _measure(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(Path(tmp))
        batch = synthetic(n)
        with Store(settings.store_path) as store:
            start, start_cpu = time.perf_counter(), time.process_time()
            with store.transaction():
                result = unify(store, settings, batch)
            bulk, bulk_cpu = time.perf_counter() - start, time.process_time() - start_cpu
            customers = store.fetchall("SELECT count(DISTINCT customer_id) FROM identities")[0][0]
            walls, cpus = [], []
            for i in range(3):
                small = synthetic(1000, seed=8 + i, offset=n + 1000 * i)
                start, start_cpu = time.perf_counter(), time.process_time()
                with store.transaction():
                    unify(store, settings, small)
                walls.append(time.perf_counter() - start)
                cpus.append(time.process_time() - start_cpu)
    assert result.batch.num_rows == n
    return {"events": n, "customers": customers, "bulk_s": bulk, "bulk_cpu_s": bulk_cpu,
            "events_per_s": n / bulk, "events_per_cpu_s": n / bulk_cpu,
            "batch_1k_ms": statistics.median(walls) * 1000, "batch_1k_cpu_ms": statistics.median(cpus) * 1000,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _measure_apart(n: int) -> dict[str, float]:
    """``_measure`` in a fresh process: its peak memory is then this size's alone."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_measure, (n,))


def run(quick: bool = False) -> str:
    sizes = [100_000, 300_000] if quick else [1_000_000, 3_000_000, 10_000_000]
    load_before = os.getloadavg()
    rows = [_measure_apart(n) for n in sizes]
    load_after = os.getloadavg()
    lines = ["## Identity resolution (unify)", "",
             "Synthetic events (10 per person, 40% with a user id, identify events with an e-mail, a small "
             "Segment context on every event), one batch per size into a fresh DuckDB file, then three "
             "1,000-event batches on top (median). One run per size, each in a fresh process; CPU = process "
             "CPU time, all threads (the machine is shared: wall time includes waiting for a core; "
             "load average "
             f"{load_before[0]:.1f} before, {load_after[0]:.1f} after, on 2 cores).", "",
             "| events | customers | bulk unify (s) | CPU (s) | events/s | events/CPU-s | next 1k batch (ms) "
             "| 1k CPU (ms) | peak RSS (MB) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['events']:,} | {r['customers']:,} | {r['bulk_s']:.1f} | {r['bulk_cpu_s']:.1f} | "
                     f"{r['events_per_s']:,.0f} | {r['events_per_cpu_s']:,.0f} | {r['batch_1k_ms']:.0f} | "
                     f"{r['batch_1k_cpu_ms']:.0f} | {r['peak_rss_mb']:,.0f} |")
    size_ratio = rows[-1]["events"] / rows[0]["events"]
    cpu_ratio = rows[-1]["bulk_cpu_s"] / rows[0]["bulk_cpu_s"]
    lines += ["", f"Cost growth: {size_ratio:.0f}x the events took {cpu_ratio:.1f}x the CPU time "
              f"(ratio to linear: {cpu_ratio / size_ratio:.2f}); the 1k batch took "
              f"{rows[-1]['batch_1k_cpu_ms'] / rows[0]['batch_1k_cpu_ms']:.1f}x the CPU on the largest "
              "store."]
    return "\n".join(lines)
