"""The hybrid: several recommenders' scores blended, each explained by the part that counted most."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cxlens.errors import InvalidInputError
from cxlens.recommend.base import Recommender
from cxlens.recommend.data import Interactions

DEFAULT_WEIGHTS = {"ease": 0.35, "als": 0.3, "item_knn": 0.2, "content": 0.05, "popularity": 0.1}


def standardize(scores: np.ndarray) -> np.ndarray:
    """Per-row z-scores, so models on different scales blend fairly (a flat row contributes nothing)."""
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return np.where(std > 0, (scores - mean) / np.where(std > 0, std, 1), 0.0)


class Hybrid(Recommender):
    """A weighted blend of standardized component scores.

    Parameters
    ----------
    components : dict of str to Recommender
        The models to blend, by name.
    weights : dict of str to float
        Blend weight per component name; components without a weight are left out.
    refit : bool
        Fit the components in ``fit``; ``False`` blends components that are already fitted
        (training fits each model once and then blends them).

    Attributes
    ----------
    components_ : dict of str to Recommender
        The fitted components that carry a weight.

    References
    ----------
    .. [1] Burke. "Hybrid recommender systems: survey and experiments." UMUAI 2002 (weighted hybrid).
    """

    name = "hybrid"

    def __init__(self, components: dict[str, Recommender], weights: dict[str, float] | None = None,
                 refit: bool = True) -> None:
        self.components = components
        self.weights = weights
        self.refit = refit

    def _fit(self, data: Interactions) -> None:
        weights = self.weights or DEFAULT_WEIGHTS
        chosen = {name: model for name, model in self.components.items() if weights.get(name, 0) > 0}
        if not chosen:
            raise InvalidInputError(f"no component has a weight; components {sorted(self.components)}, "
                                    f"weights {weights}", field="weights")
        for model in chosen.values():
            if self.refit:
                model.fit(data)
            else:
                model.check_fitted()
        self.components_ = chosen
        self.weights_ = {name: float(weights[name]) for name in chosen}

    def parts(self, users: np.ndarray, history: sp.csr_matrix) -> dict[str, np.ndarray]:
        """Each component's weighted, standardized scores."""
        self.check_fitted()
        return {name: self.weights_[name] * standardize(model.score(users, history))
                for name, model in self.components_.items()}

    def score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return sum(self.parts(users, history).values())  # type: ignore[return-value]

    def leading(self, parts: dict[str, np.ndarray], item: int) -> str:
        """The personal component that counts most for ``item`` (popularity when none is positive)."""
        personal = {n: p[0, item] for n, p in parts.items() if n != "popularity"}
        best = max(personal, key=personal.__getitem__) if personal else None
        if best is not None and personal[best] > 0:
            return best
        return "popularity" if "popularity" in self.components_ else next(iter(self.components_))

    def explain(self, user: int, history: sp.csr_matrix, item: int,
                parts: dict[str, np.ndarray] | None = None) -> str:
        """The leading component's reason; pass ``parts`` (from ``parts``) to avoid scoring again."""
        parts = parts if parts is not None else self.parts(np.array([user]), history)
        name = self.leading(parts, item) if history.nnz else "popularity"
        return self.components_.get(name, next(iter(self.components_.values()))).explain(user, history, item)
