"""Popularity, globally and per segment: the baseline every learned model must beat, and the
non-personalized answer for people who did not consent to personalization."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cxlens.recommend.base import Recommender
from cxlens.recommend.data import Interactions

_DAY = 86_400.0


class Popularity(Recommender):
    """Items ranked by how many people bought them recently, optionally within a person's segment.

    Parameters
    ----------
    half_life_days : float or None
        Interactions lose half their weight every this many days before the newest one (a trending
        list rather than an all-time one); ``None`` counts all time equally.
    segment_shrinkage : float
        Pseudo-count pulling a small segment's counts towards the global ones (empirical Bayes);
        0 disables per-segment popularity.

    Attributes
    ----------
    counts_ : ndarray of shape (n_items,)
        Decayed number of distinct buyers per item.
    segment_counts_ : dict of str to ndarray
        The same within each segment (``Interactions.groups``, for example a city).

    References
    ----------
    .. [1] Cremonesi, Koren, Turrin. "Performance of recommender algorithms on top-N recommendation
       tasks." RecSys 2010 — popularity as the strong baseline.
    """

    name = "popularity"

    def __init__(self, half_life_days: float | None = 90.0, segment_shrinkage: float = 20.0) -> None:
        self.half_life_days = half_life_days
        self.segment_shrinkage = segment_shrinkage

    def _decayed(self, data: Interactions) -> sp.csr_matrix:
        weights = np.ones(len(data), np.float64)
        if self.half_life_days and len(data):
            age_days = (data.times.max() - data.times) / _DAY
            weights = 0.5 ** (age_days / self.half_life_days)
        m = sp.csr_matrix((weights, (data.users, data.items)), shape=(data.n_users, data.n_items))
        m.sum_duplicates()
        m.data = np.minimum(m.data, 1.0)  # a person counts once per item, however often they bought
        return m

    def _fit(self, data: Interactions) -> None:
        bought = data.purchases() if (data.baskets >= 0).any() else data
        m = self._decayed(bought)
        self.counts_ = np.asarray(m.sum(axis=0)).ravel()
        self.segment_counts_: dict[str, np.ndarray] = {}
        self.user_segments_ = data.groups
        if data.groups is not None and self.segment_shrinkage > 0:
            for group in np.unique(data.groups):
                if group:
                    rows = np.flatnonzero(data.groups == group)
                    self.segment_counts_[str(group)] = np.asarray(m[rows].sum(axis=0)).ravel()
        self.total_ = max(float(self.counts_.sum()), 1e-12)
        self.segment_totals_ = {group: float(c.sum()) for group, c in self.segment_counts_.items()}

    def segment_of(self, user: int) -> str | None:
        if user < 0 or self.user_segments_ is None:
            return None
        group = str(self.user_segments_[user])
        return group if group in self.segment_counts_ else None

    def score_segment(self, segment: str | None, items: np.ndarray | None = None) -> np.ndarray:
        """Global popularity, or a segment's counts shrunk towards it (shares, comparable across sizes);
        ``items`` limits the answer to those (O(len(items)): explanations on the decision path)."""
        self.check_fitted()
        pick = slice(None) if items is None else items
        share = self.counts_[pick] / self.total_
        counts = self.segment_counts_.get(segment) if segment else None
        if segment is None or counts is None:
            return share
        return (counts[pick] + self.segment_shrinkage * share) / (self.segment_totals_[segment] +
                                                                  self.segment_shrinkage)

    def score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        self.check_fitted()
        return np.vstack([self.score_segment(self.segment_of(int(u))) for u in users]) if len(users) else \
            np.zeros((0, self.n_items_))

    def explain(self, user: int, history: sp.csr_matrix, item: int) -> str:
        segment = self.segment_of(user)
        if segment is not None:
            one = np.array([item])
            if self.score_segment(segment, one)[0] > 1.2 * self.score_segment(None, one)[0]:
                return f"popular in {segment}"
        return "popular with customers right now"
