"""Behavioural clustering of customers: standardized features, k chosen by silhouette, MiniBatchKMeans.

Data preparation (:func:`behaviour_matrix`) is a pure function: it picks the behavioural feature
columns the feature layer produced (value, rhythm, engagement, e-mail, service, channel and category
shares), takes ``log1p`` of the heavy-tailed counts and amounts so a few big spenders do not become
a cluster of their own, and leaves shares as they are. The model then fills what is missing
(a "days since" that never happened becomes longer than anyone's; other gaps 0) and standardizes.

k is chosen by the mean silhouette coefficient (Rousseeuw 1987) over ``k_min..k_max`` — the k whose
clusters are best separated relative to their spread; the smaller k wins a tie. Silhouette costs
O(n²), so it is computed on a fixed random sample; the clusters themselves come from MiniBatchKMeans
(Sculley 2010) over every customer, which scales linearly.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from cxlens.errors import InvalidInputError, ModelNotFittedError

log = logging.getLogger(__name__)

LOG_FEATURES = ("recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "events_90d",
                "sessions", "days_since_last_event", "email_opens", "support_tickets")
PLAIN_FEATURES = ("email_click_rate",)
SHARE_PREFIXES = ("channel_share_", "category_share_")
# "Days since" something that never happened: longer ago than anyone, not zero.
NEVER_IS_LONG_AGO = ("recency_days", "days_since_last_event")


def behaviour_matrix(features: pd.DataFrame) -> pd.DataFrame:
    """The clustering inputs from a feature frame: log1p of counts and amounts, shares as they are."""
    columns = [c for c in (*LOG_FEATURES, *PLAIN_FEATURES) if c in features.columns]
    columns += [c for c in features.columns if c.startswith(SHARE_PREFIXES)]
    if len(columns) < 2:
        raise InvalidInputError("clustering needs at least two behavioural feature columns (frequency, "
                                "monetary, channel shares ...); build features from events and orders first")
    out = features[columns].astype(float)
    for column in LOG_FEATURES:
        if column in out.columns:
            out[column] = np.log1p(out[column].clip(lower=0))
    return out


class BehaviourClusters:
    """Customer segments from behaviour: k-means on standardized features, k by silhouette.

    Parameters
    ----------
    k_min, k_max : int
        The range of cluster counts tried (inclusive).
    sample_size : int
        Customers the silhouette is computed on (it is quadratic in their number).
    batch_size : int
        MiniBatchKMeans mini-batch size.
    n_init : int
        Initialisations per k; the best inertia is kept (1 suffices with k-means++ seeding,
        scikit-learn's own default).
    random_state : int
        Seed of sampling and of k-means, for repeatable clusters.

    Attributes
    ----------
    feature_names_ : list of str
    fill_values_ : dict
        What replaced a missing value, per column.
    scaler_ : StandardScaler
    kmeans_ : MiniBatchKMeans
        The model of the chosen k.
    n_clusters_ : int
    silhouette_ : dict of int to float
        Mean silhouette per k tried: how the choice was made and how good it is (-1 to 1).
    order_ : ndarray
        k-means label → cluster id; clusters are numbered by descending mean standardized spend
        (or by size when spend is absent), so cluster 0 is the most valuable.
    centers_ : DataFrame
        Mean standardized value of each feature per cluster (cluster × feature, in standard deviations
        from the population mean): what makes each cluster different.
    sizes_ : ndarray
        Customers per cluster at fit time.

    References
    ----------
    Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and validation of
    cluster analysis. Journal of Computational and Applied Mathematics, 20, 53-65.
    Sculley, D. (2010). Web-scale k-means clustering. Proceedings of WWW 2010, 1177-1178.
    """

    def __init__(self, k_min: int = 2, k_max: int = 8, sample_size: int = 5000, batch_size: int = 2048,
                 n_init: int = 1, random_state: int = 0) -> None:
        self.k_min = k_min
        self.k_max = k_max
        self.sample_size = sample_size
        self.batch_size = batch_size
        self.n_init = n_init
        self.random_state = random_state

    def _check_params(self, n: int) -> None:
        if not 2 <= self.k_min <= self.k_max:
            raise InvalidInputError(f"k_min ({self.k_min}) and k_max ({self.k_max}) must satisfy "
                                    "2 <= k_min <= k_max", field="k_min")
        if n <= self.k_min:
            raise InvalidInputError(f"clustering needs more customers ({n}) than k_min ({self.k_min})",
                                    field="customers")
        if self.sample_size < 100:
            raise InvalidInputError("sample_size must be at least 100", field="sample_size")

    def _prepare(self, matrix: pd.DataFrame) -> np.ndarray:
        filled = matrix[self.feature_names_].fillna(self.fill_values_)
        return self.scaler_.transform(filled.to_numpy())

    def fit(self, matrix: pd.DataFrame) -> BehaviourClusters:
        """Choose k and fit on ``matrix`` (from :func:`behaviour_matrix`); returns self."""
        self._check_params(len(matrix))
        self.feature_names_ = list(matrix.columns)
        self.fill_values_ = {c: (float(np.nanmax(matrix[c])) + 1.0 if c in NEVER_IS_LONG_AGO
                                 and matrix[c].notna().any() else 0.0) for c in matrix.columns}
        self.scaler_ = StandardScaler().fit(matrix.fillna(self.fill_values_).to_numpy())
        x = self._prepare(matrix)
        rng = np.random.default_rng(self.random_state)
        sample = rng.choice(len(x), size=min(len(x), self.sample_size), replace=False)
        k_max = min(self.k_max, len(np.unique(x[sample], axis=0)) - 1)
        self.silhouette_, models = {}, {}
        for k in range(self.k_min, max(self.k_min, k_max) + 1):
            model = MiniBatchKMeans(n_clusters=k, batch_size=self.batch_size, n_init=self.n_init,
                                    random_state=self.random_state).fit(x)
            labels = model.predict(x[sample])
            score = silhouette_score(x[sample], labels) if len(np.unique(labels)) > 1 else -1.0
            self.silhouette_[k], models[k] = round(float(score), 4), model
            log.debug("k=%d silhouette %.4f", k, score)
        self.n_clusters_ = max(self.silhouette_, key=lambda k: (self.silhouette_[k], -k))
        self.kmeans_ = models[self.n_clusters_]
        raw = self.kmeans_.predict(x)
        centers = pd.DataFrame(x, columns=self.feature_names_).groupby(raw).mean()
        sizes = np.bincount(raw, minlength=self.n_clusters_)
        rank_by = centers["monetary"] if "monetary" in centers else pd.Series(sizes)
        ranking = sorted(range(self.n_clusters_), key=lambda c: (-rank_by.get(c, -np.inf), c))
        self.order_ = np.empty(self.n_clusters_, dtype=np.int64)
        self.order_[ranking] = np.arange(self.n_clusters_)
        self.centers_ = centers.reindex(ranking).set_axis(range(self.n_clusters_))
        self.sizes_ = sizes[ranking]
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "kmeans_"):
            raise ModelNotFittedError("the clustering model is not fitted: call fit(matrix) first")

    def predict(self, matrix: pd.DataFrame) -> np.ndarray:
        """The cluster id of each row of ``matrix`` (same columns as at fit)."""
        self._check_fitted()
        missing = [c for c in self.feature_names_ if c not in matrix.columns]
        if missing:
            raise InvalidInputError(f"the matrix lacks the fitted column(s) {', '.join(missing)}",
                                    missing=missing)
        return self.order_[self.kmeans_.predict(self._prepare(matrix))]

    def explain(self, top: int = 4) -> list[dict[str, Any]]:
        """Per cluster, the features that set it apart most (in standard deviations from the mean)."""
        self._check_fitted()
        out = []
        for cluster, row in self.centers_.iterrows():
            strongest = row.abs().sort_values(ascending=False).index[:top]
            out.append({"cluster": int(cluster), "size": int(self.sizes_[cluster]),
                        "distinctive": [{"feature": f, "z": round(float(row[f]), 2)} for f in strongest]})
        return out

    def report(self) -> dict[str, Any]:
        """How k was chosen and how well separated the clusters are."""
        self._check_fitted()
        return {"n_clusters": self.n_clusters_, "criterion": "max mean silhouette (sampled)",
                "silhouette": self.silhouette_, "chosen_silhouette": self.silhouette_[self.n_clusters_],
                "features": self.feature_names_, "sizes": [int(s) for s in self.sizes_]}
