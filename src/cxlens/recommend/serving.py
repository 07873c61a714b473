"""Candidates precomputed at training time, so a decision is O(k) array work instead of model scoring.

Scoring one person with the hybrid costs milliseconds of scipy.sparse work (five models, a dense row
per model, explanations that slice similarity matrices); at 500 decisions a second on two cores the
whole budget is ~4 ms of CPU per decision. So ``train`` scores everyone once, in batches, and keeps
per person their ``n`` best items with scores, the model that led each, and the history item that
explains it — in flat numpy arrays indexed by CSR-style offsets (13 bytes per candidate; 1.3 GB for
a million people × 100 candidates). Reasons are stored as codes (``base.anchors``) and turned into
sentences only for the k items shown. Likewise "what goes with" each catalogue item (product pages,
carts) is a precomputed short list.

The lists are as fresh as the models: both are rebuilt by ``cxlens recommend train``. People whose
history changed since then are served their trained list (the same staleness as the models'
factors); people the models never saw get popularity.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cxlens.recommend.base import Recommender, anchors, top_k
from cxlens.recommend.hybrid import Hybrid

log = logging.getLogger(__name__)

CANDIDATES = 100  # per person; k ≤ 50 plus room for purchases, stock and rules to remove some
CONTEXT = 50  # what goes with one context item
CELLS = 4_000_000  # people × items scored at once (a dense block per model: ~32 MB each)


@dataclass(frozen=True)
class ServingIndex:
    """Per person (training row) the best items, scores, leading model and reason anchor; per item
    the items that go with it."""

    offsets: np.ndarray  # int64, n_users + 1: person u's candidates are [offsets[u], offsets[u + 1])
    items: np.ndarray  # int32
    scores: np.ndarray  # float32
    leading: np.ndarray  # uint8 index into ``names``
    anchors: np.ndarray  # int32 ``base.anchors`` code
    names: tuple[str, ...]  # model names; the last is "popularity"
    context_offsets: np.ndarray  # int64, n_items + 1
    context_items: np.ndarray  # int32
    context_scores: np.ndarray  # float32

    def person(self, user: int) -> slice:
        return slice(int(self.offsets[user]), int(self.offsets[user + 1]))

    def goes_with(self, item: int) -> slice:
        return slice(int(self.context_offsets[item]), int(self.context_offsets[item + 1]))

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f).nbytes for f in ("offsets", "items", "scores", "leading", "anchors",
                                                      "context_offsets", "context_items", "context_scores"))


def _offsets(rows: list[np.ndarray]) -> np.ndarray:
    """CSR-style offsets of variable-length rows."""
    offsets = np.zeros(len(rows) + 1, np.int64)
    np.cumsum([len(r) for r in rows], out=offsets[1:])
    return offsets


def _flat(rows: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(rows).astype(dtype, copy=False) if rows else np.zeros(0, dtype)


def context_scores(models: dict[str, Recommender], rows: sp.csr_matrix) -> np.ndarray:
    """How well every item goes with each row's context items: bought-together confidence, plus
    item-kNN similarity scaled to it (so a catalogue without baskets still has neighbours)."""
    together = models["bought_together"].score(np.full(rows.shape[0], -1), rows)
    similar = models["item_knn"].score(np.full(rows.shape[0], -1), rows)
    top_together = together.max(axis=1, keepdims=True)
    top_similar = np.maximum(similar.max(axis=1, keepdims=True), 1e-9)
    return together + 0.5 * similar / top_similar * np.where(top_together > 0, top_together, 1.0)


def build_index(models: dict[str, Recommender], history: sp.csr_matrix, n: int = CANDIDATES,
                n_context: int = CONTEXT) -> ServingIndex:
    """Score every person with the hybrid and every item's context neighbours, once."""
    started = time.perf_counter()
    hybrid = models["hybrid"]
    assert isinstance(hybrid, Hybrid)
    personal = [name for name in hybrid.components_ if name != "popularity"]
    names = (*personal, "popularity")
    history = history.tocsr()
    n_users, n_items = history.shape
    batch = max(16, CELLS // max(n_items, 1))
    items, scores, leading, codes = [], [], [], []
    for start in range(0, n_users, batch):
        users = np.arange(start, min(start + batch, n_users))
        rows = history[users]
        parts = hybrid.parts(users, rows)
        total = functools.reduce(np.add, parts.values())
        best = top_k(total, n)
        for row in range(len(users)):
            lo, hi = rows.indptr[row], rows.indptr[row + 1]
            chosen = best[row][best[row] >= 0] if hi > lo else best[row][:0]  # no history: popularity
            strength = np.stack([parts[name][row, chosen] for name in personal])
            lead = np.where(strength.max(axis=0) > 0, strength.argmax(axis=0), len(personal)).astype(np.uint8)
            anchor = np.full(len(chosen), -1, np.int64)
            seen, weights = rows.indices[lo:hi], rows.data[lo:hi]
            for code in np.unique(lead[lead < len(personal)]):
                mask = lead == code
                anchor[mask] = anchors(models[personal[code]], seen, weights, chosen[mask])
            items.append(chosen)
            scores.append(total[row, chosen])
            leading.append(lead)
            codes.append(anchor)
        log.info("serving index: %d of %d people", users[-1] + 1, n_users)
    neighbours, strengths = [], []
    for start in range(0, n_items, batch):
        block = np.arange(start, min(start + batch, n_items))
        rows = sp.csr_matrix((np.ones(len(block), np.float32), (np.arange(len(block)), block)),
                             shape=(len(block), n_items))
        goes = context_scores(models, rows)
        goes[np.arange(len(block)), block] = 0.0
        for row, best in enumerate(top_k(goes, n_context)):
            best = best[(best >= 0)]
            best = best[goes[row, best] > 0]
            neighbours.append(best)
            strengths.append(goes[row, best])
    index = ServingIndex(offsets=_offsets(items), items=_flat(items, np.int32),
                         scores=_flat(scores, np.float32), leading=_flat(leading, np.uint8),
                         anchors=_flat(codes, np.int32), names=names, context_offsets=_offsets(neighbours),
                         context_items=_flat(neighbours, np.int32),
                         context_scores=_flat(strengths, np.float32))
    log.info("serving index built in %.1f s: %d people, %d candidates, %.0f MiB",
             time.perf_counter() - started, n_users, len(index.items), index.nbytes / 2**20)
    return index


def combine_context(index: ServingIndex, context: list[int]) -> dict[int, float]:
    """Summed go-with strength of every item related to any of the context items (O(context × 50))."""
    out: dict[int, float] = {}
    for item in context:
        where = index.goes_with(item)
        for other, strength in zip(index.context_items[where].tolist(), index.context_scores[where].tolist(),
                                   strict=True):
            out[other] = out.get(other, 0.0) + strength
    return out

