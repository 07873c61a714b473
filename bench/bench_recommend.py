"""ALS training time with ``implicit`` on synthetic interactions (goal: 10,000,000 interactions).

Peer: implicit's own benchmarks (README "Benchmarks", benchmarks/benchmark_als.py: lastfm-360k,
~17.5M plays) — those were run on many-core machines; this one has 2 cores, so the ratio that
matters is seconds per million interactions per iteration, reported beside them.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from cxlens.recommend.data import Catalogue, Interactions
from cxlens.recommend.factor import ALS


def synthetic(n_users: int, n_items: int, n: int, seed: int = 0) -> Interactions:
    """Zipf-like item popularity with user taste clusters, vectorized (no per-user loop)."""
    rng = np.random.default_rng(seed)
    clusters = 32
    user_cluster = rng.integers(0, clusters, n_users)
    users = rng.integers(0, n_users, n).astype(np.int32)
    rank = np.minimum((rng.pareto(1.2, n) * n_items / 50).astype(np.int64), n_items - 1)
    items = ((rank + user_cluster[users] * (n_items // clusters)) % n_items).astype(np.int32)
    catalogue = Catalogue.from_ids(np.array([f"i{i}" for i in range(n_items)], dtype=object))
    return Interactions(user_ids=np.array([f"u{u}" for u in range(n_users)], dtype=object),
                        catalogue=catalogue,
                        users=users, items=items, weights=np.ones(n, np.float32),
                        times=np.zeros(n, np.int64), baskets=np.arange(n, dtype=np.int64))


def run(quick: bool = False) -> str:
    n = 1_000_000 if quick else 10_000_000
    users, items = (100_000, 10_000) if quick else (1_000_000, 50_000)
    data = synthetic(users, items, n)
    iterations, factors = 15, 64
    times = []
    for _ in range(1 if not quick else 3):
        started = time.perf_counter()
        ALS(n_components=factors, iterations=iterations, regularization=10.0).fit(data)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    per = median / iterations / (n / 1e6)
    return "\n".join([
        "## Recommend: ALS training (implicit)",
        "",
        f"{n:,} interactions, {users:,} users × {items:,} items, {factors} factors, {iterations} iterations, "
        f"implicit's CPU conjugate-gradient solver, {len(times)} run(s).",
        "",
        "| measure | ours | goal / peer |",
        "|---|---|---|",
        f"| training time (median) | {median:.1f} s | goal: train 10M interactions on 2 cores |",
        f"| seconds per iteration per 1M interactions | {per:.3f} s | implicit's published lastfm-360k runs "
        "(see implicit README, Benchmarks) on many-core CPUs |",
    ])
