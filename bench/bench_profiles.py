"""Profile look-up latency (get_profile) by e-mail, user id and customer id at 1,000,000 profiles.

Profiles, identities, traits, computed traits, consent choices, merges and channel counts are
bulk-built in SQL (building them through unify is bench_identity's subject); then random look-ups
per identifier kind are timed, the kinds interleaved so that a change in the machine's load hits
all of them alike. Every table a profile reads holds rows: DuckDB prunes a branch over an empty
table at planning time, which would flatter the figures. Goal: p99 <= 5 ms.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from cxlens.config import load_settings
from cxlens.profiles.view import get_profile
from cxlens.store import Store

GOAL_P99_MS = 5.0


def _build(store: Store, n: int) -> None:
    store.execute(f"""
        CREATE TEMP TABLE p AS SELECT i, 'cus_' || md5(i::VARCHAR)[:24] AS cid FROM range({n}) t(i)""")
    store.execute("""INSERT INTO identities SELECT 'user_id', 'u' || i, cid, 'cl_' || cid[5:20],
                     now(), now(), false FROM p""")
    store.execute("""INSERT INTO identities SELECT 'email', 'p' || i || '@example.org', cid,
                     'cl_' || cid[5:20], now(), now(), false FROM p""")
    store.execute("INSERT INTO profiles SELECT cid, now(), now(), now() FROM p")
    store.execute("INSERT INTO profile_channels SELECT cid, 'web', 5 FROM p")
    store.execute("""INSERT INTO traits SELECT cid, 'plan', '"pro"', 'bench', now() FROM p""")
    store.execute("""INSERT INTO computed_traits SELECT cid, 'clv', (i % 997)::VARCHAR, 'bgnbd', '1', now()
                     FROM p""")
    store.execute("""INSERT INTO consent_events SELECT cid, 'user_id', 'u' || i, 'marketing', i % 3 > 0,
                     now(), 'bench', 'm' || i FROM p WHERE i % 2 = 0""")
    # One in ten people was anonymous first: an 'identified' merge from a customer id that is gone.
    store.execute("""INSERT INTO merges SELECT now(), 'cus_' || md5('anon' || i)[:24], cid, 'identify',
                     '[]', 'identified' FROM p WHERE i % 10 = 0""")
    store.execute("DROP TABLE p")
    store.execute("CHECKPOINT")


def run(quick: bool = False) -> str:
    n = 100_000 if quick else 1_000_000
    looks = 300 if quick else 1000
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(Path(tmp))
        with Store(settings.store_path) as store:
            _build(store, n)
            # Different people for each kind: a look-up warms the person's blocks, and the same person
            # looked up again by another identifier would measure a cache, not a random look-up.
            picks = {kind: [rng.randrange(n) for _ in range(looks)]
                     for kind in ("email", "user_id", "customer_id")}
            # Only the picked people's ids: a million-entry dict in this process would make every
            # garbage collection walk it, a cost the server (which holds no such dict) never pays.
            wanted = [f"u{i}" for i in picks["customer_id"]]
            cids = dict(store.fetchall("SELECT value, customer_id FROM identities "
                                       "WHERE kind = 'user_id' AND value IN (SELECT unnest(?))", [wanted]))
            kinds = {"email": [f"p{i}@example.org" for i in picks["email"]],
                     "user_id": [f"u{i}" for i in picks["user_id"]],
                     "customer_id": [cids[f"u{i}"] for i in picks["customer_id"]]}
            wall: dict[str, list[float]] = {kind: [] for kind in kinds}
            cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
            for idents in kinds.values():
                get_profile(store, settings, idents[0])  # warm
            load_before = os.getloadavg()[0]
            for j in range(looks):
                for kind, idents in kinds.items():
                    start, start_cpu = time.perf_counter(), time.process_time()
                    get_profile(store, settings, idents[j])
                    cpu[kind].append((time.process_time() - start_cpu) * 1000)
                    wall[kind].append((time.perf_counter() - start) * 1000)
            load_after = os.getloadavg()[0]
    lines = ["## Profile look-up", "",
             f"`get_profile` on {n:,} profiles (2 identities, 1 trait, 1 computed trait, channel counts "
             "each; a consent choice for half, an earlier merge for a tenth), "
             f"{looks:,} random look-ups per kind (different people for each kind, kinds interleaved) "
             "after one warm-up, DuckDB file "
             "store. CPU = the process's CPU time per look-up (all threads): on this shared machine "
             "wall time mostly measures waiting for a core; "
             f"1-minute load average {load_before:.1f} before the look-ups, {load_after:.1f} after "
             f"({os.cpu_count()} cores).",
             "", "| by | p50 (ms) | p99 (ms) | CPU p50 (ms) | CPU p99 (ms) | p99 / goal (5 ms) |",
             "|---|---:|---:|---:|---:|---:|"]
    for kind in kinds:
        p50, p99 = (float(np.percentile(wall[kind], q)) for q in (50, 99))
        cpu50, cpu99 = (float(np.percentile(cpu[kind], q)) for q in (50, 99))
        lines.append(f"| {kind} | {p50:.2f} | {p99:.2f} | {cpu50:.2f} | {cpu99:.2f} | "
                     f"{p99 / GOAL_P99_MS:.2f} |")
    return "\n".join(lines)
