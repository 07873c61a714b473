"""Identity resolution (unify) of synthetic events: time, peak memory, and growth with size.

Events: 10 per person on average; a person has one anonymous id, 40% of events carry the user id,
identify events carry an e-mail. Each size is loaded as one batch into a fresh store (the bulk
importer's case), then one 1,000-event batch is unified on top (the HTTP loader's case).
"""

from __future__ import annotations

import resource
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
        "anonymized": pa.array(np.zeros(n, dtype=bool)),
    }
    return pa.table({f.name: columns.get(f.name, pa.nulls(n, f.type)).cast(f.type) for f in EVENT_SCHEMA},
                    schema=EVENT_SCHEMA)


def _measure(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(Path(tmp))
        batch = synthetic(n)
        with Store(settings.store_path) as store:
            start = time.perf_counter()
            with store.transaction():
                result = unify(store, settings, batch)
            bulk = time.perf_counter() - start
            customers = store.fetchall("SELECT count(DISTINCT customer_id) FROM identities")[0][0]
            small = synthetic(1000, seed=8, offset=n)
            start = time.perf_counter()
            with store.transaction():
                unify(store, settings, small)
            incremental = time.perf_counter() - start
    assert result.batch.num_rows == n
    return {"events": n, "customers": customers, "bulk_s": bulk, "events_per_s": n / bulk,
            "batch_1k_ms": incremental * 1000,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run(quick: bool = False) -> str:
    sizes = [100_000, 300_000] if quick else [1_000_000, 3_000_000, 10_000_000]
    rows = [_measure(n) for n in sizes]
    lines = ["## Identity resolution (unify)", "",
             "Synthetic events (10 per person, 40% with a user id, identify events with an e-mail), one "
             "batch per size into a fresh DuckDB file, then one 1,000-event batch on top. One run per size "
             "(sizes are large); peak RSS is the process high-water mark so far.", "",
             "| events | customers | bulk unify (s) | events/s | next 1k batch (ms) | peak RSS (MB) |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['events']:,} | {r['customers']:,} | {r['bulk_s']:.1f} | "
                     f"{r['events_per_s']:,.0f} | {r['batch_1k_ms']:.0f} | {r['peak_rss_mb']:,.0f} |")
    growth = (rows[-1]["bulk_s"] / rows[0]["bulk_s"]) / (rows[-1]["events"] / rows[0]["events"])
    lines += ["", f"Cost growth: {rows[-1]['events'] / rows[0]['events']:.0f}x the events took "
              f"{rows[-1]['bulk_s'] / rows[0]['bulk_s']:.1f}x the time (ratio to linear: {growth:.2f})."]
    return "\n".join(lines)
