"""A synthetic interaction set with known latent preferences, for evaluation and benchmarks.

Users and items get latent factors (a few taste clusters plus noise) and items a popularity bias;
each interaction picks an item with probability ∝ exp(uᵀv / temperature + bias). Because the
structure is known, a learned model that finds it must beat popularity — a check on the models and
the harness alike.
"""

from __future__ import annotations

import numpy as np

from cxlens.recommend.data import Catalogue, Interactions

_DAY = 86_400


def latent_interactions(n_users: int = 5_000, n_items: int = 1_000, n_factors: int = 8,
                        per_user: float = 20.0, temperature: float = 0.5, popularity_skew: float = 1.0,
                        days: int = 365, random_state: int = 0) -> tuple[Interactions, dict[str, np.ndarray]]:
    """Interactions plus the ground truth (``user_factors``, ``item_factors``, ``item_bias``)."""
    rng = np.random.default_rng(random_state)
    clusters = rng.normal(size=(n_factors, n_factors))
    user_cluster = rng.integers(0, n_factors, n_users)
    item_cluster = rng.integers(0, n_factors, n_items)
    user_f = clusters[user_cluster] + 0.5 * rng.normal(size=(n_users, n_factors))
    item_f = clusters[item_cluster] + 0.5 * rng.normal(size=(n_items, n_factors))
    user_f /= np.linalg.norm(user_f, axis=1, keepdims=True)
    item_f /= np.linalg.norm(item_f, axis=1, keepdims=True)
    bias = popularity_skew * rng.normal(size=n_items)
    counts = np.maximum(1, rng.poisson(per_user, n_users))
    users, items = [], []
    for start in range(0, n_users, 2_000):  # bounded memory: a block of users at a time
        block = slice(start, min(start + 2_000, n_users))
        logits = user_f[block] @ item_f.T / temperature + bias
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        cum = np.cumsum(probs, axis=1)
        for row, user in enumerate(range(block.start, block.stop)):
            picks = np.searchsorted(cum[row], rng.random(counts[user]) * cum[row, -1])
            users.append(np.full(len(picks), user))
            items.append(np.minimum(picks, n_items - 1))
    u = np.concatenate(users).astype(np.int32)
    i = np.concatenate(items).astype(np.int32)
    times = rng.integers(0, days * _DAY, len(u)).astype(np.int64)
    catalogue = Catalogue.from_ids(np.array([f"item-{n}" for n in range(n_items)], dtype=object),
                                   categories=np.array([f"taste-{c}" for c in item_cluster], dtype=object),
                                   prices=np.round(np.exp(rng.normal(3, 0.8, n_items)), 2))
    data = Interactions(user_ids=np.array([f"user-{n}" for n in range(n_users)], dtype=object),
                        catalogue=catalogue, users=u, items=i, weights=np.ones(len(u), np.float32),
                        times=times, baskets=np.arange(len(u), dtype=np.int64))
    return data, {"user_factors": user_f, "item_factors": item_f, "item_bias": bias}
