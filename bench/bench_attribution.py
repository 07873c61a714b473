"""Attribution: path aggregation and every model over a million synthetic journeys.

Journeys are drawn from a first-order Markov chain over 8 channels (each step: continue to a channel,
convert, or drop out), so paths have realistic lengths (1–10 touches) and repeated channels. Measured:
aggregating the raw journey strings into unique paths, the exact Markov model (removal effects from
sparse linear solves), the five heuristic models, and exact Shapley over all 2^8 coalitions.
Goal: aggregation + Markov + heuristics over 1,000,000 journeys in ≤ 30 s.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

CHANNELS = ("search", "email", "social", "display", "direct", "affiliate", "video", "sms")
GOAL_SECONDS = 30.0


def synthetic_journeys(n: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Path strings, converted flags and order values for ``n`` journeys (vectorised walk)."""
    rng = np.random.default_rng(seed)
    k = len(CHANNELS)
    move = rng.dirichlet(np.ones(k), size=k)
    p_convert = np.linspace(0.02, 0.12, k)
    p_drop = 0.25
    state = rng.integers(0, k, n)
    steps = [state.copy()]
    alive = np.ones(n, dtype=bool)
    converted = np.zeros(n, dtype=bool)
    for _ in range(9):
        u = rng.random(n)
        conv_now = alive & (u < p_convert[state])
        drop_now = alive & ~conv_now & (u < p_convert[state] + p_drop)
        converted |= conv_now
        alive &= ~(conv_now | drop_now)
        nxt = (move[state].cumsum(axis=1) > rng.random(n)[:, None]).argmax(axis=1)
        state = np.where(alive, nxt, -1)
        steps.append(state.copy())
    names = np.array(CHANNELS, dtype=object)
    matrix = np.stack(steps, axis=1)
    paths = np.array([">".join(names[row[row >= 0]]) for row in matrix], dtype=object)
    values = np.where(converted, rng.gamma(2.0, 40.0, n), 0.0)
    return paths, converted, values


def run(quick: bool = False) -> str:
    from cxlens.journeys.attribution import HEURISTICS, attribute
    from cxlens.journeys.paths import aggregate_journeys

    n = 100_000 if quick else 1_000_000
    paths, converted, values = synthetic_journeys(n)
    repeats = 1 if quick else 3
    rows = {"aggregate": [], "markov": [], "markov (order 2)": [], "heuristics (5 models)": [], "shapley": []}
    steps = {
        "markov": lambda t: attribute(t, "markov"),
        "markov (order 2)": lambda t: attribute(t, "markov", order=2),
        "heuristics (5 models)": lambda t: [attribute(t, m) for m in HEURISTICS],
        "shapley": lambda t: attribute(t, "shapley"),
    }
    table = None
    for _ in range(repeats):
        started = time.perf_counter()
        table = aggregate_journeys(paths, converted, values)
        rows["aggregate"].append(time.perf_counter() - started)
        for name, step in steps.items():
            started = time.perf_counter()
            step(table)
            rows[name].append(time.perf_counter() - started)
    medians = {k: statistics.median(v) for k, v in rows.items()}
    core = medians["aggregate"] + medians["markov"] + medians["heuristics (5 models)"]
    check = attribute(table, "markov")
    total = sum(r["conversions"] for r in check["channels"])
    lines = [
        "## Attribution: aggregation, Markov, heuristics, Shapley",
        "",
        f"{n:,} synthetic journeys over {len(CHANNELS)} channels ({len(table.paths):,} unique paths, "
        f"{int(converted.sum()):,} conversions; Markov attributed total {total:,.1f}). Medians of {repeats} "
        f"runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine).",
        "",
        "| step | median |",
        "|---|---|",
        *[f"| {k} | {v:.2f} s |" for k, v in medians.items()],
        "",
        "| goal | measured | ratio to goal |",
        "|---|---|---|",
        f"| aggregation + Markov + heuristics over 1,000,000 journeys ≤ {GOAL_SECONDS:g} s | {core:.2f} s "
        f"({n:,} journeys) | {GOAL_SECONDS / (core * 1_000_000 / n):.2f}× |",
    ]
    return "\n".join(lines)
