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
from cxlens.recommend.data import Interactions


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

    binary_history = False  # True: purchases and views count alike when choosing the history item to name

    def explain(self, user: int, history: sp.csr_matrix, item: int) -> str:
        """Why ``item`` suits this user, in words a customer could read: by default the history item
        that speaks for it most (``related``); models with other reasons override this."""
        anchor = anchors(self, history.indices, history.data, np.array([item]))[0]
        return anchored_reason(self, anchor, item)

    def related(self, seen: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """How strongly each history item in ``seen`` speaks for each of ``targets``
        (``len(seen) × len(targets)``, 0 = not at all). One call serves a request's explanation and a
        whole candidate list at training time (``recommend.serving``)."""
        raise NotImplementedError(f"{type(self).__name__} explains without a history item")

    def anchored(self, verb: str, name: str) -> str:
        """The reason naming the history item ``name`` that the person ``verb`` (bought or viewed)."""
        return f"because you {verb} {name}"

    def unanchored(self, item: int) -> str:
        """The reason when no history item speaks for ``item``."""
        return "picked for you from what people like you buy"

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


def anchors(model: Recommender, seen: np.ndarray, weights: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per target, the history item contributing most to it, encoded in one int so millions of
    candidates stay compact: ``i >= 0`` bought item ``i``, ``-(i + 2)`` viewed item ``i``, ``-1`` none.

    A weight of at least 1 is a purchase, less a view (see ``data.VIEW_WEIGHT``).
    """
    if len(seen) == 0 or len(targets) == 0:
        return np.full(len(targets), -1, np.int64)
    weights = np.asarray(weights, dtype=float)
    scale = np.ones(len(seen)) if model.binary_history else weights
    contributions = np.asarray(model.related(seen, targets), dtype=float) * scale[:, None]
    best = contributions.argmax(axis=0)
    strong = contributions[best, np.arange(len(targets))] > 0
    coded = np.where(weights[best] >= 1, seen[best], -seen[best] - 2)
    return np.where(strong, coded, -1).astype(np.int64)


def anchored_reason(model: Recommender, anchor: int, item: int) -> str:
    """The sentence for one ``anchors`` code."""
    if anchor == -1:
        return model.unanchored(item)
    verb = "bought" if anchor >= 0 else "viewed"
    return model.anchored(verb, model.catalogue_.name(int(anchor if anchor >= 0 else -anchor - 2)))
