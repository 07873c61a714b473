"""Learned latent models: implicit-feedback ALS (through the ``implicit`` library) and EASE."""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from cxlens.errors import InvalidInputError
from cxlens.recommend.base import Recommender, binarize
from cxlens.recommend.data import Interactions

log = logging.getLogger(__name__)


class ALS(Recommender):
    """Implicit-feedback matrix factorization by alternating least squares (``implicit``'s solver).

    Interaction weights become confidences ``alpha * w`` (``implicit``'s convention); the model learns
    user and item factors
    whose dot product predicts preference. People not seen in training (or whose history changed)
    are folded in: their factors solve the same least-squares step against the item factors.

    Parameters
    ----------
    n_components : int
        Latent factors.
    regularization : float
        L2 penalty on factors.
    alpha : float
        Confidence scaling of interaction weights.
    iterations : int
    random_state : int
    num_threads : int
        0 uses every core.

    Attributes
    ----------
    user_factors_ : ndarray (n_users, n_components)
    item_factors_ : ndarray (n_items, n_components)

    References
    ----------
    .. [1] Hu, Koren, Volinsky. "Collaborative filtering for implicit feedback datasets." ICDM 2008.
    .. [2] Takács, Pilászy, Tikk. "Applications of the conjugate gradient method for implicit
       feedback collaborative filtering." RecSys 2011 (the CG solver ``implicit`` uses).
    """

    name = "als"

    def __init__(self, n_components: int = 32, regularization: float = 0.05, alpha: float = 10.0,
                 iterations: int = 15, random_state: int = 0, num_threads: int = 0) -> None:
        self.n_components = n_components
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def _fit(self, data: Interactions) -> None:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        # implicit parallelizes itself; a multi-threaded BLAS underneath it only fights for the cores.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.n_components, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, random_state=self.random_state, num_threads=self.num_threads)
            model.fit(data.matrix(), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        self.gram_ = self.item_factors_.T.astype(np.float64) @ self.item_factors_

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """Least-squares user factors for unseen histories (the ALS user step, eq. 4 of [1], as
        ``implicit`` solves it)."""
        y = self.item_factors_
        reg = self.gram_ + self.regularization * np.eye(y.shape[1])
        out = np.zeros((history.shape[0], y.shape[1]), np.float32)
        for r in range(history.shape[0]):
            items, w = history.indices[history.indptr[r]:history.indptr[r + 1]], \
                history.data[history.indptr[r]:history.indptr[r + 1]]
            if len(items) == 0:
                continue
            conf = self.alpha * w
            yi = y[items].astype(np.float64)
            a = reg + (yi.T * (conf - 1)) @ yi
            out[r] = np.linalg.solve(a, (yi.T * conf).sum(axis=1))
        return out

    def user_vectors(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        self.check_fitted()
        users = np.asarray(users)
        known = users >= 0
        vectors = np.zeros((len(users), self.n_components), np.float32)
        vectors[known] = self.user_factors_[users[known]]
        if (~known).any():
            vectors[~known] = self._fold_in(history[np.flatnonzero(~known)])
        return vectors

    def score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return self.user_vectors(users, history) @ self.item_factors_.T

    def related(self, seen: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Cosine of item factors: the history item closest to the candidate in factor space."""
        a, b = self.item_factors_[seen], self.item_factors_[targets]
        return (a @ b.T) / (np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None, :] + 1e-9)


class EASE(Recommender):
    """Embarrassingly shallow autoencoder: a closed-form item × item weight matrix.

    ``B = I - P · diag(1 / diag(P))`` with ``P = (XᵀX + λI)⁻¹`` and a zero diagonal; scores are
    ``X · B``. Needs a dense items × items inverse, so it is for catalogues up to ``max_items``.

    Parameters
    ----------
    l2 : float
        The ridge penalty λ (the paper's defaults are in the hundreds for large data).
    max_items : int
        Refuse larger catalogues (memory grows with the square of the item count).

    Attributes
    ----------
    weights_ : ndarray (n_items, n_items)

    References
    ----------
    .. [1] Steck. "Embarrassingly shallow autoencoders for sparse data." WWW 2019.
    """

    name = "ease"

    def __init__(self, l2: float = 200.0, max_items: int = 20_000) -> None:
        self.l2 = l2
        self.max_items = max_items

    def _fit(self, data: Interactions) -> None:
        if data.n_items > self.max_items:
            raise InvalidInputError(
                f"EASE needs a dense {data.n_items}² matrix; this catalogue has more than max_items="
                f"{self.max_items} items — use ALS or item_knn", field="max_items")
        x = binarize(data.matrix())
        gram = np.asarray((x.T @ x).todense(), dtype=np.float64)
        gram[np.diag_indices_from(gram)] += self.l2
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)
        b[np.diag_indices_from(b)] = 0.0
        self.weights_ = b.astype(np.float32)

    def score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        self.check_fitted()
        return np.asarray(binarize(history) @ self.weights_)

    binary_history = True  # EASE scores the binarized history

    def related(self, seen: np.ndarray, targets: np.ndarray) -> np.ndarray:
        return self.weights_[np.ix_(seen, targets)]
