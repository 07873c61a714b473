"""Interactions and the catalogue: what every recommender learns from, as plain arrays.

Data preparation is pure: ``load_interactions`` reads the store once (purchases from
``order_items``/``orders``, product views from ``events``) and everything else works on the arrays,
so the synthetic set, the demo store and a test's hand-made rows all go through the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cxlens import jsonutil
from cxlens.errors import InvalidInputError
from cxlens.store import Store

VIEW_WEIGHT = 0.25  # a product view is weaker evidence of preference than a purchase


@dataclass(frozen=True)
class Catalogue:
    """Every item a recommender may return, with the attributes content-based models and reasons use."""

    item_ids: np.ndarray  # str, index → product id
    names: np.ndarray
    categories: np.ndarray
    prices: np.ndarray  # float, NaN when unknown
    attributes: tuple[dict[str, Any], ...] = ()
    index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.index:
            self.index.update({str(i): n for n, i in enumerate(self.item_ids)})

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def name(self, item: int) -> str:
        return str(self.names[item] or self.item_ids[item])

    @classmethod
    def from_ids(cls, item_ids: list[str] | np.ndarray, categories: np.ndarray | None = None,
                 prices: np.ndarray | None = None) -> Catalogue:
        ids = np.asarray(item_ids, dtype=object)
        cats = np.asarray(categories if categories is not None else [""] * len(ids), dtype=object)
        return cls(item_ids=ids, names=ids.copy(), categories=cats,
                   prices=np.asarray(prices if prices is not None else np.full(len(ids), np.nan), float))


@dataclass(frozen=True)
class Interactions:
    """One row per interaction: user, item (indices), weight, time (epoch seconds), basket.

    ``basket`` groups a purchase's items (an order); views have basket -1. ``groups`` is an optional
    label per user (for example their city) that per-segment popularity uses.
    """

    user_ids: np.ndarray  # str, index → customer id
    catalogue: Catalogue
    users: np.ndarray  # int32
    items: np.ndarray  # int32
    weights: np.ndarray  # float32
    times: np.ndarray  # int64 seconds
    baskets: np.ndarray  # int64, -1 for non-purchases
    groups: np.ndarray | None = None  # per user

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return self.catalogue.n_items

    def __len__(self) -> int:
        return len(self.users)

    def matrix(self) -> sp.csr_matrix:
        """Users × items, summed weights (duplicates add up: buying twice is stronger evidence)."""
        m = sp.csr_matrix((self.weights.astype(np.float32), (self.users, self.items)),
                          shape=(self.n_users, self.n_items))
        m.sum_duplicates()
        return m

    def purchases(self) -> Interactions:
        return self.subset(self.baskets >= 0)

    def subset(self, mask: np.ndarray) -> Interactions:
        return replace(self, users=self.users[mask], items=self.items[mask], weights=self.weights[mask],
                       times=self.times[mask], baskets=self.baskets[mask])

    def user_index(self) -> dict[str, int]:
        return {str(u): n for n, u in enumerate(self.user_ids)}

    @classmethod
    def from_arrays(cls, users: np.ndarray, items: np.ndarray, times: np.ndarray,
                    catalogue: Catalogue | None = None, weights: np.ndarray | None = None,
                    baskets: np.ndarray | None = None, groups: dict[str, str] | None = None) -> Interactions:
        """Build from parallel arrays of customer ids and product ids (strings)."""
        users = np.asarray(users, dtype=object)
        items = np.asarray(items, dtype=object)
        if not (len(users) == len(items) == len(times)):
            raise InvalidInputError("users, items and times must have the same length", field="interactions")
        user_codes, user_ids = pd.factorize(users, sort=True)
        if catalogue is None:
            catalogue = Catalogue.from_ids(np.unique(items))
        codes = pd.Index(catalogue.item_ids).get_indexer(items)
        known = codes >= 0
        if baskets is None:
            baskets = np.arange(len(users), dtype=np.int64)
        group_arr = None
        if groups is not None:
            group_arr = np.array([groups.get(str(u), "") for u in user_ids], dtype=object)
        return cls(
            user_ids=np.asarray(user_ids, dtype=object), catalogue=catalogue,
            users=user_codes[known].astype(np.int32), items=codes[known].astype(np.int32),
            weights=(np.ones(len(users), np.float32) if weights is None
                     else np.asarray(weights, np.float32))[known],
            times=np.asarray(times, np.int64)[known], baskets=np.asarray(baskets, np.int64)[known],
            groups=group_arr,
        )


@dataclass(frozen=True)
class Split:
    """A time-based split: learn from everything before ``cutoff``, judge on purchases after it."""

    train: Interactions
    test_users: np.ndarray  # user indices with both history and later purchases
    relevant: list[np.ndarray]  # per test user: items bought after the cutoff, not bought before
    cutoff: int


def time_split(data: Interactions, test_fraction: float = 0.2, max_users: int | None = 5_000,
               random_state: int = 0) -> Split:
    """Split at the time that leaves ``test_fraction`` of purchases after it.

    Relevant items are the ones a user bought after the cutoff and had not bought before: that is
    what a recommender is for (re-orders are the replenishment model's job, judged on its own).
    """
    if not 0 < test_fraction < 1:
        raise InvalidInputError("test_fraction must be between 0 and 1", field="test_fraction")
    bought = data.baskets >= 0
    if bought.sum() < 10:
        raise InvalidInputError("too few purchases to evaluate (need at least 10)", field="interactions")
    cutoff = int(np.quantile(data.times[bought], 1 - test_fraction))
    train = data.subset(data.times < cutoff)
    later = data.subset((data.times >= cutoff) & bought)
    seen = set(zip(train.users.tolist(), train.items.tolist(), strict=True))
    has_history = np.zeros(data.n_users, bool)
    has_history[train.users] = True
    relevant: dict[int, set[int]] = {}
    for u, i in zip(later.users.tolist(), later.items.tolist(), strict=True):
        if has_history[u] and (u, i) not in seen:
            relevant.setdefault(u, set()).add(i)
    users = np.array(sorted(relevant), dtype=np.int64)
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(random_state).choice(users, max_users, replace=False))
    return Split(train=train, test_users=users,
                 relevant=[np.array(sorted(relevant[u]), dtype=np.int64) for u in users], cutoff=cutoff)


def load_catalogue(store: Store) -> Catalogue:
    """The products table, plus any product that was bought or viewed but never described."""
    rows = store.fetchall("""
        SELECT product_id, any_value(name), any_value(category), any_value(price)::DOUBLE,
               any_value(attributes)
        FROM (SELECT product_id, name, category, price, attributes FROM products
              UNION ALL
              SELECT product_id, name, category, price, NULL FROM order_items
              WHERE product_id IS NOT NULL AND product_id NOT IN (SELECT product_id FROM products))
        GROUP BY product_id ORDER BY product_id""")
    return Catalogue(
        item_ids=np.array([r[0] for r in rows], dtype=object),
        names=np.array([r[1] or r[0] for r in rows], dtype=object),
        categories=np.array([r[2] or "" for r in rows], dtype=object),
        prices=np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=float),
        attributes=tuple(_attributes(r[4]) for r in rows),
    )


def _attributes(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    value = jsonutil.loads(raw) if isinstance(raw, str | bytes) else raw
    return value if isinstance(value, dict) else {}


def load_interactions(store: Store, view_weight: float = VIEW_WEIGHT,
                      group_trait: str = "city") -> Interactions:
    """Purchases (weight = quantity) and product views (``view_weight``) of known customers."""
    catalogue = load_catalogue(store)
    table = store.arrow(f"""
        SELECT o.customer_id AS u, i.product_id AS i, epoch(o.timestamp)::BIGINT AS t,
               greatest(coalesce(i.quantity, 1), 1)::FLOAT AS w,
               (hash(o.order_id) & 9007199254740991)::BIGINT AS b
        FROM order_items i JOIN orders o USING (order_id)
        WHERE o.customer_id IS NOT NULL AND i.product_id IS NOT NULL
        UNION ALL
        SELECT customer_id, json_extract_string(properties, '$.product_id'), epoch(timestamp)::BIGINT,
               {float(view_weight)}::FLOAT, -1
        FROM events
        WHERE type = 'track' AND event = 'Product Viewed' AND customer_id IS NOT NULL
          AND json_extract_string(properties, '$.product_id') IS NOT NULL""")
    groups = dict(store.fetchall(
        "SELECT customer_id, json_extract_string(value, '$') FROM traits WHERE name = ?", [group_trait]))
    cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    return Interactions.from_arrays(cols["u"], cols["i"], cols["t"], catalogue=catalogue, weights=cols["w"],
                                    baskets=cols["b"], groups=groups)
