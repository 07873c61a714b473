"""Offline evaluation: a time-based split and the usual top-k accuracy and beyond-accuracy metrics.

Accuracy: Recall@k (hits / min(k, relevant), as in Steck 2019, so a perfect list scores 1),
NDCG@k and MAP@k with binary relevance. Beyond accuracy: catalogue coverage (share of items
recommended to anyone), novelty (mean self-information −log2 p(i) of recommended items, p = share of
people who had them) and popularity bias (average recommendation popularity, the mean of that share;
Abdollahpouri et al. 2019).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from cxlens.recommend.base import Recommender, top_k
from cxlens.recommend.data import Interactions, Split, time_split

log = logging.getLogger(__name__)

METRICS = ("recall", "ndcg", "map", "coverage", "novelty", "popularity_bias")


def metrics_at_k(recommended: np.ndarray, relevant: list[np.ndarray], k: int,
                 item_share: np.ndarray) -> dict[str, float]:
    """Metric means over users; ``recommended`` is users × k item indices (-1 = nothing)."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recall, ndcg, ap = [], [], []
    for row, rel in zip(recommended[:, :k], relevant, strict=True):
        hits = np.isin(row, rel) & (row >= 0)
        n_rel = min(len(rel), k)
        recall.append(hits.sum() / n_rel)
        ndcg.append((hits * discounts).sum() / discounts[:n_rel].sum())
        precision = np.cumsum(hits) / np.arange(1, k + 1)
        ap.append((precision * hits).sum() / n_rel)
    shown = recommended[:, :k][recommended[:, :k] >= 0]
    share = item_share[shown] if len(shown) else np.array([0.0])
    return {
        "recall": float(np.mean(recall)), "ndcg": float(np.mean(ndcg)), "map": float(np.mean(ap)),
        "coverage": float(len(np.unique(shown)) / len(item_share)),
        "novelty": float(np.mean(-np.log2(np.maximum(share, 1e-9)))),
        "popularity_bias": float(np.mean(share)),
    }


def evaluate_models(models: dict[str, Recommender], split: Split, k: int = 10,
                    fitted: bool = False) -> list[dict[str, Any]]:
    """Fit (unless ``fitted``) and score every model on ``split``; one row of metrics per model."""
    train = split.train
    history = train.matrix()[split.test_users]
    buyers = train.matrix()
    buyers.data[:] = 1.0
    item_share = np.asarray(buyers.sum(axis=0)).ravel() / max(train.n_users, 1)
    rows = []
    for name, model in models.items():
        started = time.perf_counter()
        if not fitted:
            model.fit(train)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        recommended = np.vstack([
            top_k(model.score(split.test_users[s:s + 512], history[s:s + 512]), k, exclude=history[s:s + 512])
            for s in range(0, len(split.test_users), 512)]) if len(split.test_users) \
            else np.zeros((0, k), int)
        score_seconds = time.perf_counter() - started
        row = {"model": name, **metrics_at_k(recommended, split.relevant, k, item_share),
               "fit_seconds": round(fit_seconds, 3), "score_seconds": round(score_seconds, 3)}
        log.info("evaluated %s: ndcg@%d %.4f", name, k, row["ndcg"])
        rows.append(row)
    return rows


def compare_with_baseline(rows: list[dict[str, Any]], baseline: str = "popularity",
                          explanations: dict[str, str] | None = None) -> list[str]:
    """Plain sentences: which learned models beat the baseline on NDCG, and which do not, and why."""
    base = next((r for r in rows if r["model"] == baseline), None)
    if base is None:
        return []
    notes = []
    for row in rows:
        if row["model"] == baseline:
            continue
        lift = (row["ndcg"] / base["ndcg"] - 1) if base["ndcg"] > 0 else float("inf")
        if row["ndcg"] > base["ndcg"]:
            notes.append(f"{row['model']} beats {baseline} on NDCG ({lift:+.0%}).")
        else:
            why = (explanations or {}).get(row["model"], "it does not learn enough from this data")
            notes.append(f"{row['model']} does NOT beat {baseline} on NDCG ({lift:+.0%}): {why}.")
    return notes


# Why a model is not expected to beat popularity on the new-item protocol (said in the report).
NOT_EXPECTED = {
    "replenishment": "it only re-ranks items a person already bought, and this protocol counts only "
                     "new items (a re-order protocol to judge it fairly is not built yet)",
    "bought_together": "it scores complements of the last basket, not a person's long-run taste",
    "content": "the catalogue has few attributes (category and price band), too coarse to rank well",
}


def evaluate(data: Interactions, build: Callable[[], dict[str, Recommender]], k: int = 10,
             test_fraction: float = 0.2, max_users: int | None = 5_000, name: str = "data") -> dict[str, Any]:
    """The whole report for one data set: split, models, metrics, and the comparison with popularity."""
    split = time_split(data, test_fraction=test_fraction, max_users=max_users)
    rows = evaluate_models(build(), split, k=k)
    return {
        "dataset": name, "k": k, "users": int(data.n_users), "items": int(data.n_items),
        "interactions": len(data), "test_users": int(len(split.test_users)),
        "protocol": f"time split at the {1 - test_fraction:.0%} quantile of purchase times; relevant = "
                    "items bought after it and not before; items a person already had are excluded",
        "models": rows, "notes": compare_with_baseline(rows, explanations=NOT_EXPECTED),
    }
