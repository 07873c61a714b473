"""Plain-language personas: what sets each cluster apart from everyone, in one sentence.

A persona is written from the cluster's mean of each standardized feature (its distance from the
population mean in standard deviations, ``z``) and from the raw means a person can check:

* value: spend ``z`` beyond ±0.5 → "high-value" / "low-spend";
* rhythm: no orders → "browsers who have not bought yet"; frequency ``z`` beyond ±0.5 → "frequent" /
  "occasional" buyers; recency ``z`` beyond ±0.5 → "lapsing" / "recently active";
* where: the channel whose share is most above the population's (by ≥ 0.10, and ≥ 40 % of the
  cluster's interactions) → "who mostly use the app"; likewise the category they favour;
* response: e-mail click rate ``z`` > 0.5 → "respond to e-mail"; opens ``z`` < -0.5 → "rarely open
  e-mail"; support tickets ``z`` > 0.5 → "contact support often".

The thresholds are Cohen's conventional "medium" effect size (0.5 standard deviations).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxlens.features.catalog import describe

EFFECT = 0.5
SHARE_LIFT = 0.10
SHARE_MIN = 0.40
CHANNEL_WORDS = {"web": "the website", "app": "the app", "store": "stores", "email": "e-mail",
                 "call_center": "the call centre", "social": "social media", "iot": "connected devices",
                 "none": "no named channel"}


def _z(center: pd.Series, name: str) -> float:
    return float(center.get(name, 0.0))


def _over_index(cluster: pd.Series, population: pd.Series, prefix: str) -> str | None:
    """The share column (by its slug) most above the population's, if it clearly stands out."""
    columns = [c for c in cluster.index if c.startswith(prefix)]
    if not columns:
        return None
    lift = cluster[columns] - population[columns]
    best = lift.idxmax()
    if lift[best] >= SHARE_LIFT and cluster[best] >= SHARE_MIN:
        return best.removeprefix(prefix)
    return None


def persona_text(center: pd.Series, cluster_means: pd.Series, population_means: pd.Series) -> dict[str, str]:
    """A short ``label`` ("High-value frequent buyers") and a ``persona`` sentence for one cluster."""
    adjectives, clauses, habits = [], [], []
    spend, freq, recency = _z(center, "monetary"), _z(center, "frequency"), _z(center, "recency_days")
    if spend > EFFECT:
        adjectives.append("high-value")
    elif spend < -EFFECT:
        adjectives.append("low-spend")
    if float(cluster_means.get("frequency", 1.0)) < 0.1:
        noun = "browsers who have not bought yet"
        adjectives = [a for a in adjectives if a != "low-spend"]
    else:
        noun = "frequent buyers" if freq > EFFECT else "occasional buyers" if freq < -EFFECT else "buyers"
        if recency > EFFECT:
            adjectives.append("lapsing")
        elif recency < -EFFECT:
            adjectives.append("recently active")
    channel = _over_index(cluster_means, population_means, "channel_share_")
    if channel:
        clauses.append(f"mostly use {CHANNEL_WORDS.get(channel, channel.replace('_', ' '))}")
    category = _over_index(cluster_means, population_means, "category_share_")
    if category:
        clauses.append(f"favour {category.replace('_', ' ')}")
    if _z(center, "email_click_rate") > EFFECT:
        habits.append("respond to e-mail")
    elif _z(center, "email_opens") < -EFFECT:
        habits.append("rarely open e-mail")
    if _z(center, "support_tickets") > EFFECT:
        habits.append("contact support often")
    label = " ".join([", ".join(adjectives), noun]).strip() if adjectives else noun
    sentence = label + (" who " + " and ".join(clauses) if clauses and "who" not in noun else
                        ("; they " + " and ".join(clauses) if clauses else ""))
    if habits:
        sentence += "; " + ", ".join(habits)
    if not adjectives and not clauses and not habits and noun == "buyers":
        label, sentence = "Typical customers", "typical customers, close to the average on every measure"
    return {"label": label[0].upper() + label[1:], "persona": sentence[0].upper() + sentence[1:]}


def describe_clusters(features: pd.DataFrame, labels: np.ndarray, centers: pd.DataFrame,
                      top: int = 4) -> list[dict[str, Any]]:
    """Every cluster's persona, size, and its most distinctive features with raw values.

    ``features`` is the raw feature frame (the units people read), ``labels`` each row's cluster and
    ``centers`` the standardized means (``BehaviourClusters.centers_``).
    """
    numeric = features.select_dtypes("number")
    population = numeric.mean()
    means = numeric.groupby(labels).mean()
    total = len(features)
    out = []
    for cluster, center in centers.iterrows():
        size = int((labels == cluster).sum())
        cluster_means = means.loc[cluster] if cluster in means.index else population
        distinctive = []
        for name in center.abs().sort_values(ascending=False).index[:top]:
            info = describe(name)
            distinctive.append({
                "feature": name, "z": round(float(center[name]), 2), "label": info.label,
                "cluster": info.show(float(cluster_means.get(name, np.nan))),
                "everyone": info.show(float(population.get(name, np.nan))),
            })
        out.append({"cluster": int(cluster), "customers": size,
                    "share": round(size / total, 4) if total else 0.0,
                    **persona_text(center, cluster_means, population), "distinctive": distinctive})
    return out
