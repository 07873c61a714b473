"""Item-to-item models: item-kNN (cosine co-occurrence) and frequently-bought-together rules.

Both are a sparse item × item matrix learned from co-occurrence (X^T X with scipy.sparse), and both
serve a context item (the product page, the cart) as well as a person's history.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cxlens.errors import InvalidInputError
from cxlens.recommend.base import Recommender, binarize
from cxlens.recommend.data import Interactions


def _keep_top(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's ``k`` largest entries (a sparse neighbourhood)."""
    matrix = matrix.tocsr()
    rows, cols, vals = [], [], []
    for r in range(matrix.shape[0]):
        start, end = matrix.indptr[r], matrix.indptr[r + 1]
        if end == start:
            continue
        data, idx = matrix.data[start:end], matrix.indices[start:end]
        keep = np.argpartition(-data, k - 1)[:k] if len(data) > k else np.arange(len(data))
        rows.append(np.full(len(keep), r))
        cols.append(idx[keep])
        vals.append(data[keep])
    if not rows:
        return sp.csr_matrix(matrix.shape, dtype=np.float32)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=matrix.shape, dtype=np.float32)


class ItemKNN(Recommender):
    """Item-based collaborative filtering: items scored by their similarity to what a person had.

    Parameters
    ----------
    n_neighbors : int
        Neighbours kept per item.
    shrinkage : float
        Added to the cosine denominator so pairs seen together once do not look identical.

    Attributes
    ----------
    similarity_ : sparse matrix (n_items, n_items)
        Row ``i`` holds the items most similar to ``i`` (cosine of their buyer vectors, shrunk).

    References
    ----------
    .. [1] Sarwar, Karypis, Konstan, Riedl. "Item-based collaborative filtering recommendation
       algorithms." WWW 2001.
    .. [2] Deshpande, Karypis. "Item-based top-N recommendation algorithms." TOIS 2004.
    """

    name = "item_knn"

    def __init__(self, n_neighbors: int = 100, shrinkage: float = 10.0) -> None:
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage

    def _fit(self, data: Interactions) -> None:
        if self.n_neighbors < 1:
            raise InvalidInputError("n_neighbors must be at least 1", field="n_neighbors")
        x = binarize(data.matrix()).tocsc()
        co = (x.T @ x).tocsr().astype(np.float32)
        co.setdiag(0)
        co.eliminate_zeros()
        norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel())
        co = co.tocoo()
        co.data = co.data / (norms[co.row] * norms[co.col] + self.shrinkage)
        self.similarity_ = _keep_top(co.tocsr(), self.n_neighbors)

    def score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        self.check_fitted()
        return np.asarray((history @ self.similarity_).todense())

    def similar(self, item: int, k: int = 10) -> list[tuple[int, float]]:
        """The items most like ``item`` (for a product page)."""
        self.check_fitted()
        row = self.similarity_.getrow(item)
        order = np.argsort(-row.data)[:k]
        return [(int(row.indices[o]), float(row.data[o])) for o in order]

    def related(self, seen: np.ndarray, targets: np.ndarray) -> np.ndarray:
        return self.similarity_[seen][:, targets].toarray()

    def unanchored(self, item: int) -> str:
        return "similar to items others chose"


class AssociationRules(Recommender):
    """Frequently bought together: one-to-one rules ``A → B`` over baskets, with support, confidence
    and lift.

    Pairwise rules (not Apriori's longer item sets) are what a product page and a cart need, and a
    sparse basket × item product counts every pair at once.

    Parameters
    ----------
    min_support : int
        Fewest baskets that must contain both items.
    min_confidence : float
        Smallest P(B | A) kept.
    min_lift : float
        Smallest lift kept (1 means independent).

    Attributes
    ----------
    confidence_, lift_ : sparse matrix (n_items, n_items)
        Row ``A``, column ``B``: the rule ``A → B``.
    support_ : ndarray
        Share of baskets holding each item.
    n_baskets_ : int

    References
    ----------
    .. [1] Agrawal, Imieliński, Swami. "Mining association rules between sets of items in large
       databases." SIGMOD 1993.
    .. [2] Brin, Motwani, Ullman, Tsur. "Dynamic itemset counting and implication rules for market
       basket data." SIGMOD 1997 (lift).
    """

    name = "bought_together"

    def __init__(self, min_support: int = 2, min_confidence: float = 0.01, min_lift: float = 1.0) -> None:
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.min_lift = min_lift

    def _fit(self, data: Interactions) -> None:
        bought = data.purchases()
        _, basket_rows = np.unique(bought.baskets, return_inverse=True)
        n_baskets = int(basket_rows.max()) + 1 if len(basket_rows) else 0
        b = sp.csr_matrix((np.ones(len(bought), np.float32), (basket_rows, bought.items)),
                          shape=(max(n_baskets, 1), data.n_items))
        b.data[:] = 1.0
        b.sum_duplicates()
        b.data[:] = 1.0
        item_baskets = np.asarray(b.sum(axis=0)).ravel()
        pairs = (b.T @ b).tocoo()
        keep = (pairs.row != pairs.col) & (pairs.data >= self.min_support)
        rows, cols, both = pairs.row[keep], pairs.col[keep], pairs.data[keep].astype(np.float64)
        confidence = both / item_baskets[rows]
        lift = confidence / (item_baskets[cols] / max(n_baskets, 1))
        good = (confidence >= self.min_confidence) & (lift >= self.min_lift)
        shape = (data.n_items, data.n_items)
        self.n_baskets_ = n_baskets
        self.support_ = item_baskets / max(n_baskets, 1)
        self.pair_support_ = sp.csr_matrix((both[good] / max(n_baskets, 1), (rows[good], cols[good])), shape)
        self.confidence_ = sp.csr_matrix((confidence[good], (rows[good], cols[good])), shape)
        self.lift_ = sp.csr_matrix((lift[good], (rows[good], cols[good])), shape)

    def rules(self, item: int, k: int = 10) -> list[dict[str, float | int]]:
        """The strongest rules ``item → B`` by confidence, with support, confidence and lift."""
        self.check_fitted()
        conf = self.confidence_.getrow(item)
        order = np.argsort(-conf.data)[:k]
        return [{"item": int(conf.indices[o]), "support": float(self.pair_support_[item, conf.indices[o]]),
                 "confidence": float(conf.data[o]), "lift": float(self.lift_[item, conf.indices[o]])}
                for o in order]

    def score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        self.check_fitted()
        return np.asarray((binarize(history) @ self.confidence_).todense())

    binary_history = True  # a rule's confidence names the strongest antecedent, however it was seen

    def related(self, seen: np.ndarray, targets: np.ndarray) -> np.ndarray:
        return self.confidence_[seen][:, targets].toarray()

    def anchored(self, verb: str, name: str) -> str:
        return f"often bought together with {name}"

    def unanchored(self, item: int) -> str:
        return "often bought together"
