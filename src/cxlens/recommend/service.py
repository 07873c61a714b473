"""Recommendations for one person: train from the store, save, load, and answer ``for ID``.

``Recommend`` holds a loaded bundle in memory and answers in well under a millisecond per call for
catalogues of tens of thousands of items; the decision engine keeps one per server.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from cxlens.errors import InvalidInputError
from cxlens.recommend.base import anchored_reason, top_k
from cxlens.recommend.content import Replenishment
from cxlens.recommend.data import load_interactions
from cxlens.recommend.evaluate import evaluate
from cxlens.recommend.hybrid import Hybrid
from cxlens.recommend.models import ModelBundle, build_models, load_bundle, save_bundle, train_bundle
from cxlens.recommend.popularity import Popularity
from cxlens.recommend.serving import CANDIDATES, combine_context
from cxlens.recommend.synthetic import latent_interactions
from cxlens.store import Store

log = logging.getLogger(__name__)

MAX_K = 100


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    name: str
    category: str
    score: float
    reason: str
    model: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def train(store: Store, data_dir: Path, random_state: int = 0) -> dict[str, Any]:
    """Train every model from the store's interactions and save them; returns what was saved."""
    started = time.perf_counter()
    data = load_interactions(store)
    if len(data) == 0:
        raise InvalidInputError("no purchases or product views to learn from; load some events first "
                                "(for example `cxlens demo --no-serve`)", field="interactions")
    bundle = train_bundle(data, random_state)
    path = save_bundle(bundle, data_dir)
    return {"version": bundle.version, "path": str(path), "models": sorted(bundle.models), **bundle.stats,
            "seconds": round(time.perf_counter() - started, 2)}


def _with_hybrid(models: dict[str, Any]) -> dict[str, Any]:
    models["hybrid"] = Hybrid(dict(models), refit=False)
    return models


def evaluation_report(store: Store | None, k: int = 10, synthetic_users: int = 5_000,
                      synthetic_items: int = 1_000, random_state: int = 0) -> dict[str, Any]:
    """Every model against popularity, on the store's data (when there is a store) and on the synthetic
    latent-preference set."""
    if k < 1 or k > MAX_K:
        raise InvalidInputError(f"k must be between 1 and {MAX_K}", field="k")
    reports = []
    if store is not None:
        data = load_interactions(store)
        reports.append(evaluate(data, lambda: _with_hybrid(build_models(data.n_items, data.n_users)), k=k,
                                name="store"))
    synthetic, _ = latent_interactions(synthetic_users, synthetic_items, random_state=random_state)
    reports.append(evaluate(synthetic,
                            lambda: _with_hybrid(build_models(synthetic.n_items, synthetic.n_users)),
                            k=k, name=f"synthetic latent ({synthetic_users} users, {synthetic_items} items)"))
    return {"k": k, "datasets": reports}


@dataclass(frozen=True)
class Candidates:
    """A person's best items before eligibility and rules, and what explains them."""

    items: np.ndarray  # catalogue indices, best first
    scores: np.ndarray
    leading: np.ndarray  # per item, the index in ``names`` of the model whose reason to give
    anchors: np.ndarray  # per item, the history item behind that reason (``base.anchors`` code)
    names: tuple[str, ...]
    user: int
    seen: np.ndarray  # the person's history items
    weights: np.ndarray  # their weights (>= 1 a purchase)
    model: str
    segment: str | None = None


class Recommend:
    """Answers "what for this person?" from a loaded bundle, with a reason for every item.

    The hybrid's answer comes from the bundle's precomputed candidates (``recommend.serving``): a
    slice of arrays, no scoring. Other models (``cxlens recommend for --model``) score on the spot.
    """

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self.catalogue = bundle.catalogue
        self._popular: dict[str | None, np.ndarray] = {}  # per known segment: few, so unbounded

    @classmethod
    def load(cls, data_dir: Path) -> Recommend:
        return cls(load_bundle(data_dir))

    def user_row(self, customer_id: str | None) -> int:
        return self.bundle.user_index.get(customer_id, -1) if customer_id else -1

    def history_of(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """A person's history items and weights as plain slices (no sparse-matrix construction)."""
        if user < 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        h = self.bundle.history
        start, end = h.indptr[user], h.indptr[user + 1]
        return h.indices[start:end], h.data[start:end]

    def history(self, user: int) -> sp.csr_matrix:
        seen, weights = self.history_of(user)
        return sp.csr_matrix((weights, seen, [0, len(seen)]), shape=(1, self.catalogue.n_items))

    def item_index(self, item_id: str | None) -> int | None:
        """The catalogue index of a product id; None when the catalogue does not have it."""
        return None if item_id is None else self.catalogue.index.get(str(item_id))

    def _popularity(self) -> Popularity:
        model = self.bundle.models["popularity"]
        assert isinstance(model, Popularity), "every bundle has a Popularity model under 'popularity'"
        return model

    def popular(self, segment: str | None) -> np.ndarray:
        """The best items in a segment (or overall), computed once per segment the model knows."""
        popularity = self._popularity()
        key = segment if segment in popularity.segment_counts_ else None
        best = self._popular.get(key)
        if best is None:
            best = top_k(popularity.score_segment(key)[None, :], CANDIDATES)[0]
            best = self._popular[key] = best[best >= 0]
        return best

    def candidates(self, customer_id: str | None, n: int = CANDIDATES, model: str = "hybrid",
                   personalized: bool = True, segment: str | None = None) -> Candidates:
        """The ``n`` best items (nothing excluded yet) with scores and the model behind each.

        Without ``personalized`` (no consent) or without any history, the answer is popularity, per
        segment when one is given (for example the visitor's city).
        """
        user = self.user_row(customer_id) if personalized else -1
        seen, weights = self.history_of(user)
        if len(seen) == 0:
            best = self.popular(segment)[:n]
            scores = self._popularity().score_segment(segment, best)
            return Candidates(best, np.asarray(scores, np.float64), np.zeros(len(best), np.uint8),
                              np.full(len(best), -1), ("popularity",), -1, seen, weights, "popularity",
                              segment)
        if model == "hybrid":
            index = self.bundle.serving
            where = index.person(user)
            end = min(where.stop, where.start + n)
            return Candidates(index.items[where.start:end], index.scores[where.start:end].astype(np.float64),
                              index.leading[where.start:end], index.anchors[where.start:end], index.names,
                              user, seen, weights, model, segment)
        scores = self.bundle.model(model).score(np.array([user]), self.history(user))
        best = top_k(scores, n)[0]
        best = best[best >= 0]
        if model == Replenishment.name:
            best = best[scores[0, best] > 0]  # items the person does not re-buy have nothing to say
        return Candidates(best, np.asarray(scores[0, best], np.float64), np.zeros(len(best), np.uint8),
                          np.full(len(best), -1), (model,), user, seen, weights, model, segment)

    def reason(self, candidates: Candidates, position: int) -> str:
        """The sentence for the candidate at ``position``: O(1) for the hybrid's precomputed anchors."""
        name = candidates.names[candidates.leading[position]]
        item = int(candidates.items[position])
        if name == "popularity" and candidates.user < 0:
            return f"popular in {candidates.segment}" if candidates.segment else \
                "popular with customers right now"
        model = self.bundle.model(name)
        if candidates.model == "hybrid" and name != "popularity":
            return anchored_reason(model, int(candidates.anchors[position]), item)
        return model.explain(candidates.user, self.history(candidates.user), item)

    def goes_with(self, items: list[int]) -> dict[int, float]:
        """How well items go with context items (product page, cart), from the precomputed lists."""
        return combine_context(self.bundle.serving, items)

    def recommend(self, customer_id: str | None, k: int = 10, model: str = "hybrid",
                  personalized: bool = True, exclude_purchased: bool = True) -> list[Recommendation]:
        """The ``k`` best items for a person (or everyone), best first, each with its reason.

        Replenishment recommends re-orders, which are purchases by definition, so its items are
        never excluded as already bought.
        """
        if not 1 <= k <= MAX_K:
            raise InvalidInputError(f"k must be between 1 and {MAX_K}", field="k")
        found = self.candidates(customer_id, n=k + len(self.history_of(self.user_row(customer_id))[0]),
                                model=model, personalized=personalized)
        reorders = found.model == Replenishment.name
        bought = set(found.seen[found.weights >= 1].tolist()) if exclude_purchased and not reorders else set()
        out = []
        pairs = zip(found.items.tolist(), found.scores.tolist(), strict=True)
        for position, (item, score) in enumerate(pairs):
            if item not in bought:
                out.append(self.item(item, score, self.reason(found, position), found.model))
            if len(out) == k:
                break
        return out

    def item(self, index: int, score: float, reason: str, model: str) -> Recommendation:
        cat = self.catalogue
        return Recommendation(item_id=str(cat.item_ids[index]), name=cat.name(index),
                              category=str(cat.categories[index]), score=round(score, 6), reason=reason,
                              model=model)
