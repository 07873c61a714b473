"""What every recommender shares: the estimator contract, scoring over a history, explanations.

A recommender follows scikit-learn's contract: parameters in ``__init__``, ``fit(interactions)``
returns ``self``, learned values end in ``_``. It scores users given their *history* (a users ×
items sparse matrix of interaction weights), so it serves people whose history changed since
training, and people it never saw (an empty row), without refitting. ``explain`` gives the sentence
a customer reads next to the item.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self

import numpy as np
import scipy.sparse as sp

from cxlens.errors import ModelNotFittedError
from cxlens.recommend.data import Catalogue, Interactions


class Recommender(ABC):
    """Base class; subclasses set ``name`` and implement ``_fit``, ``score`` and ``explain``."""

    name = "base"

    def fit(self, data: Interactions) -> Self:
        """Learn from ``data``; returns ``self``."""
        self.catalogue_ = data.catalogue
        self.n_items_ = data.n_items
        self._fit(data)
        return self

    @abstractmethod
    def _fit(self, data: Interactions) -> None: ...

    @abstractmethod
    def score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Scores (len(users) × n_items), higher is better; ``users`` are training indices or -1."""

    @abstractmethod
    def explain(self, user: int, history: sp.csr_matrix, item: int) -> str:
        """Why ``item`` suits this user, in words a customer could read."""

    def check_fitted(self) -> None:
        if not hasattr(self, "n_items_"):
            raise ModelNotFittedError(f"{type(self).__name__} is not fitted; call fit(interactions) first "
                                      "or `cxlens recommend train`")

    def get_params(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}


def binarize(history: sp.csr_matrix) -> sp.csr_matrix:
    out = history.copy().astype(np.float32)
    out.data[:] = 1.0
    return out


def top_k(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None) -> np.ndarray:
    """Indices of the ``k`` best items per row (best first); ``exclude`` rows' items never appear."""
    scores = np.array(scores, dtype=np.float64, copy=True)
    if exclude is not None and exclude.nnz:
        rows, cols = exclude.nonzero()
        scores[rows, cols] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(scores, part, axis=1).argsort(axis=1)[:, ::-1]
    best = np.take_along_axis(part, order, axis=1)
    return np.where(np.isfinite(np.take_along_axis(scores, best, axis=1)), best, -1)


def on_history(history: sp.csr_matrix, n_items: int, similarity: np.ndarray) -> np.ndarray:
    """A full-length similarity vector filled only at the history's items (cheap at any catalogue size)."""
    out = np.zeros(n_items)
    out[history.indices] = np.asarray(similarity, dtype=float).ravel()
    return out


def because(catalogue: Catalogue, history: sp.csr_matrix, similarity_to_item: np.ndarray) -> str | None:
    """"because you bought X": X is the history item (one row) that contributes most to a candidate.

    ``similarity_to_item`` holds every item's similarity to the candidate; a weight of at least 1 is
    a purchase, less a view (see ``data.VIEW_WEIGHT``).
    """
    items = history.indices
    if len(items) == 0:
        return None
    contributions = np.asarray(similarity_to_item, dtype=float)[items] * history.data
    best = int(np.argmax(contributions))
    if contributions[best] <= 0:
        return None
    verb = "bought" if history.data[best] >= 1 else "viewed"
    return f"because you {verb} {catalogue.name(int(items[best]))}"
