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
from cxlens.recommend.base import top_k
from cxlens.recommend.data import load_interactions
from cxlens.recommend.evaluate import evaluate
from cxlens.recommend.hybrid import Hybrid
from cxlens.recommend.models import ModelBundle, build_models, load_bundle, save_bundle, train_bundle
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

    items: np.ndarray
    scores: np.ndarray
    leading: np.ndarray  # per item, the model whose reason to give
    user: int
    history: sp.csr_matrix
    model: str
    segment: str | None = None


class Recommend:
    """Answers "what for this person?" from a loaded bundle, with a reason for every item."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self.catalogue = bundle.catalogue
        self._empty = sp.csr_matrix((1, self.catalogue.n_items), dtype=np.float32)

    @classmethod
    def load(cls, data_dir: Path) -> Recommend:
        return cls(load_bundle(data_dir))

    def user_row(self, customer_id: str | None) -> int:
        return self.bundle.user_index.get(customer_id, -1) if customer_id else -1

    def history(self, user: int) -> sp.csr_matrix:
        return self.bundle.history[user] if user >= 0 else self._empty

    def item_index(self, item_id: str | None) -> int | None:
        """The catalogue index of a product id; None when the catalogue does not have it."""
        return None if item_id is None else self.catalogue.index.get(str(item_id))

    def candidates(self, customer_id: str | None, n: int = 300, model: str = "hybrid",
                   personalized: bool = True, segment: str | None = None) -> Candidates:
        """The ``n`` best items (nothing excluded yet) with scores and the model behind each.

        Without ``personalized`` (no consent) or without any history, the answer is popularity, per
        segment when one is given (for example the visitor's city).
        """
        user = self.user_row(customer_id) if personalized else -1
        history = self.history(user)
        if user < 0 or history.nnz == 0:
            scores = self.bundle.models["popularity"].score_segment(segment)
            leading = np.full(len(scores), "popularity", dtype=object)
            user, history, used = -1, self._empty, "popularity"
        else:
            chosen = self.bundle.model(model)
            users = np.array([user])
            if isinstance(chosen, Hybrid):
                parts = chosen.parts(users, history)
                scores = sum(parts.values())[0]
                names = [n for n in parts if n != "popularity"]
                stacked = np.vstack([parts[n][0] for n in names])
                leading = np.where(stacked.max(axis=0) > 0,
                                   np.array(names, dtype=object)[stacked.argmax(axis=0)],
                                   "popularity")
            else:
                scores = chosen.score(users, history)[0]
                leading = np.full(len(scores), model, dtype=object)
            used = model
        best = top_k(scores[None, :], n)[0]
        best = best[best >= 0]
        return Candidates(items=best, scores=np.asarray(scores[best], dtype=np.float64),
                          leading=leading[best], user=user, history=history, model=used, segment=segment)

    def context_scores(self, items: list[int]) -> np.ndarray:
        """How well every item goes with context items (product page, cart): bought-together
        confidence, else item-kNN similarity, summed over the context items."""
        row = sp.csr_matrix((np.ones(len(items)), (np.zeros(len(items), int), items)),
                            shape=(1, self.catalogue.n_items), dtype=np.float32)
        together = self.bundle.models["bought_together"].score(np.array([-1]), row)[0]
        similar = self.bundle.models["item_knn"].score(np.array([-1]), row)[0]
        return together + 0.5 * similar / max(float(similar.max()), 1e-9) * (together.max() or 1.0)

    def reason(self, candidates: Candidates, item: int, leading: str) -> str:
        if leading == "popularity" and candidates.user < 0:
            return f"popular in {candidates.segment}" if candidates.segment else \
                "popular with customers right now"
        return self.bundle.model(leading).explain(candidates.user, candidates.history, item)

    def recommend(self, customer_id: str | None, k: int = 10, model: str = "hybrid",
                  personalized: bool = True, exclude_purchased: bool = True) -> list[Recommendation]:
        """The ``k`` best items for a person (or everyone), best first, each with its reason."""
        if not 1 <= k <= MAX_K:
            raise InvalidInputError(f"k must be between 1 and {MAX_K}", field="k")
        found = self.candidates(customer_id, n=k + self.history(self.user_row(customer_id)).nnz, model=model,
                                personalized=personalized)
        bought = set(found.history.indices[found.history.data >= 1].tolist()) if exclude_purchased else set()
        out = []
        for item, score, leading in zip(found.items, found.scores, found.leading, strict=True):
            if int(item) not in bought:
                reason = self.reason(found, int(item), leading)
                out.append(self.item(int(item), float(score), reason, found.model))
            if len(out) == k:
                break
        return out

    def item(self, index: int, score: float, reason: str, model: str) -> Recommendation:
        cat = self.catalogue
        return Recommendation(item_id=str(cat.item_ids[index]), name=cat.name(index),
                              category=str(cat.categories[index]), score=round(score, 6), reason=reason,
                              model=model)
