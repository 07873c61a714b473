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

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from cxlens.recommend.base import Recommender, top_k
from cxlens.recommend.content import ContentBased
from cxlens.recommend.factor import ALS
from cxlens.recommend.hybrid import Hybrid
from cxlens.recommend.neighbors import ItemKNN
from cxlens.recommend.popularity import Popularity

log = logging.getLogger(__name__)

CANDIDATES = 100  # per person; k ≤ 50 plus room for purchases, stock and rules to remove some
CONTEXT = 50  # what goes with one context item
CELLS = 4_000_000  # people × items scored at once (a float32 block: 16 MB)
WORKERS = 2  # threads scoring blocks of people
MARGIN = 32  # candidates shortlisted beyond ``n`` in float32, then ranked exactly in float64


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


class _Part:
    """One hybrid component's weighted z-scores for a block of people, without the dense matrix
    where the model's structure allows it.

    ``Hybrid.parts`` standardizes each component's full-catalogue row (``(s - mean) / std``), which at
    50,000 items means several passes over 50,000 floats per person and component. Here the row mean
    and variance come from the model's structure instead: for a low-rank score ``L @ R.T`` (ALS,
    content features, popularity per segment) ``mean = L @ mean(R)`` and ``E[s²] = L G L`` with
    ``G = R.T R / n``; for a sparse score (item-kNN) from its non-zeros. Every low-rank part then joins
    one matrix product. Other models (EASE) are scored densely, as before.
    """

    def __init__(self, weight: float, mean: np.ndarray, sq_mean: np.ndarray, *,
                 left: np.ndarray | None = None, right: np.ndarray | None = None,
                 sparse: sp.csr_matrix | None = None, dense: np.ndarray | None = None) -> None:
        var = np.maximum(sq_mean - mean**2, 0.0)
        # a flat row contributes nothing (as ``standardize``); rounding must not make a flat row "vary"
        flat = var <= 1e-12 * np.maximum(sq_mean, 1e-300)
        std = np.sqrt(np.where(flat, 1.0, var))
        self.coef = np.where(flat, 0.0, weight / std)
        self.shift = self.coef * mean
        self.left, self.right, self.sparse, self.dense = left, right, sparse, dense
        if sparse is not None:
            sparse.sort_indices()
            self._rows = np.repeat(np.arange(sparse.shape[0], dtype=np.int64), np.diff(sparse.indptr))
            self._keys = self._rows * sparse.shape[1] + sparse.indices

    def add_to(self, total: np.ndarray) -> None:
        """Add a sparse or dense score (low-rank scores join ``_Scorer.total``'s product)."""
        if self.sparse is not None:
            total[self._rows, self.sparse.indices] += self.coef[self._rows] * self.sparse.data
        elif self.dense is not None:
            total += self.coef[:, None] * self.dense

    def at(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The weighted z-scores at (row, item) pairs."""
        if self.left is not None and self.right is not None:
            raw = np.einsum("ij,ij->i", self.left[rows], self.right[items])
        elif self.sparse is not None:
            keys = rows.astype(np.int64) * self.sparse.shape[1] + items
            where = np.minimum(np.searchsorted(self._keys, keys), max(len(self._keys) - 1, 0))
            found = (self._keys[where] == keys) if len(self._keys) else np.zeros(len(keys), bool)
            raw = np.where(found, self.sparse.data[where] if len(self._keys) else 0.0, 0.0)
        else:
            assert self.dense is not None
            raw = self.dense[rows, items]
        return self.coef[rows] * raw - self.shift[rows]


class _Scorer:
    """Builds a block's ``_Part`` per component, caching what does not depend on the people."""

    def __init__(self, hybrid: Hybrid, n_items: int) -> None:
        self.hybrid = hybrid
        self.n_items = n_items
        self._right: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._segments: dict[tuple[str | None, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._stacked: dict[tuple[int, ...], np.ndarray] = {}

    def _moments(self, name: str, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if name not in self._right:
            right = np.ascontiguousarray(right, dtype=np.float64)
            self._right[name] = (right, right.mean(axis=0), right.T @ right / self.n_items)
        return self._right[name]

    def _low_rank(self, name: str, weight: float, left: np.ndarray, right: np.ndarray) -> _Part:
        right, col_mean, gram = self._moments(name, right)
        left = np.asarray(left, dtype=np.float64)
        return _Part(weight, left @ col_mean, np.einsum("ij,jk,ik->i", left, gram, left), left=left,
                     right=right)

    def part(self, name: str, users: np.ndarray, rows: sp.csr_matrix) -> _Part:
        model = self.hybrid.components_[name]
        weight = self.hybrid.weights_[name]
        n = self.n_items
        if isinstance(model, ALS):
            return self._low_rank(name, weight, model.user_vectors(users, rows), model.item_factors_)
        if isinstance(model, ContentBased):
            if name not in self._right:
                self._moments(name, model.features_.toarray())
            return self._low_rank(name, weight, (rows @ model.features_).toarray(), self._right[name][0])
        if isinstance(model, ItemKNN):
            s = sp.csr_matrix(rows @ model.similarity_, dtype=np.float64)
            s.sum_duplicates()
            row_sum = np.asarray(s.sum(axis=1)).ravel()
            row_sq = np.asarray(s.multiply(s).sum(axis=1)).ravel()
            return _Part(weight, row_sum / n, row_sq / n, sparse=s)
        if isinstance(model, Popularity):
            segments = [model.segment_of(int(u)) for u in users]
            distinct = tuple(dict.fromkeys(segments))
            if len(distinct) <= 64:  # one column per segment: a low-rank score
                if distinct not in self._segments:
                    if len(self._segments) > 256:
                        self._segments.clear()
                        self._stacked.clear()
                    right = np.column_stack([model.score_segment(s) for s in distinct])
                    self._segments[distinct] = (right, right.mean(axis=0), right.T @ right / n)
                right, col_mean, gram = self._segments[distinct]
                where = {s: j for j, s in enumerate(distinct)}
                left = np.zeros((len(users), len(distinct)))
                left[np.arange(len(users)), [where[s] for s in segments]] = 1.0
                return _Part(weight, left @ col_mean, np.einsum("ij,jk,ik->i", left, gram, left), left=left,
                             right=right)
        dense = np.asarray(model.score(users, rows), dtype=np.float64)
        return _Part(weight, dense.mean(axis=1), (dense**2).mean(axis=1), dense=dense)

    def total(self, parts: list[_Part], n_rows: int) -> np.ndarray:
        """The hybrid's total for a block in float32, to shortlist candidates (``_shortlist``): every
        low-rank part in one product, then the others added."""
        low = [p for p in parts if p.left is not None]
        if low:
            key = tuple(id(p.right) for p in low)  # the right factors are cached, so ids are stable
            if key not in self._stacked:
                right = np.hstack([p.right for p in low]).T  # type: ignore[misc]
                self._stacked[key] = np.ascontiguousarray(right, dtype=np.float32)
            left = np.hstack([p.coef[:, None] * p.left for p in low]).astype(np.float32)
            total = left @ self._stacked[key]
        else:
            total = np.zeros((n_rows, self.n_items), np.float32)
        for p in parts:
            p.add_to(total)
        total -= sum(p.shift for p in parts)[:, None]
        return total


def _shortlist(total: np.ndarray, parts: dict[str, _Part], has_history: np.ndarray,
               n: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Each person's ``n`` best items (best first) as flat (row, item) pairs, with every part's exact
    float64 value there: the float32 ``total`` shortlists ``n + MARGIN`` items, which are then ranked
    by the exact sum (the same sum ``Hybrid.parts`` gives), so float32 rounding cannot reorder them."""
    n_items = total.shape[1]
    m, keep = min(n + MARGIN, n_items), min(n, n_items)
    people = np.flatnonzero(has_history)
    if not len(people) or keep == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, {name: np.zeros(0) for name in parts}
    sub = total[people]
    short = np.argpartition(sub, n_items - m, axis=1)[:, n_items - m:] if m < n_items else \
        np.tile(np.arange(n_items), (len(people), 1))
    rows, items = np.repeat(people, m), short.ravel().astype(np.int64)
    values = {name: part.at(rows, items) for name, part in parts.items()}
    exact = sum(values.values()).reshape(len(people), m)  # type: ignore[union-attr]
    order = np.argsort(-exact, axis=1, kind="stable")[:, :keep]
    pick = (np.arange(len(people))[:, None] * m + order).ravel()
    return rows[pick], items[pick], {name: v[pick] for name, v in values.items()}


def _anchor_group(model: Recommender, code: int, rows: sp.csr_matrix, chosen: list[np.ndarray],
                  lead: list[np.ndarray], group: list[int], out: list[np.ndarray]) -> None:
    """``base.anchors`` for a group of people in one ``related`` call: their history items × all
    their candidates led by ``model``, with other people's pairs masked out (same argmax order)."""
    spans = [(int(rows.indptr[p]), int(rows.indptr[p + 1])) for p in group]
    seen = np.concatenate([rows.indices[lo:hi] for lo, hi in spans])
    weights = np.concatenate([rows.data[lo:hi] for lo, hi in spans]).astype(float)
    owner_seen = np.repeat(np.arange(len(group)), [hi - lo for lo, hi in spans])
    masks = [lead[p] == code for p in group]
    targets = np.concatenate([chosen[p][m] for p, m in zip(group, masks, strict=True)])
    owner_target = np.repeat(np.arange(len(group)), [int(m.sum()) for m in masks])
    scale = np.ones(len(seen)) if model.binary_history else weights
    contributions = np.asarray(model.related(seen, targets), dtype=float) * scale[:, None]
    contributions[owner_seen[:, None] != owner_target[None, :]] = -np.inf
    best = contributions.argmax(axis=0)
    strong = contributions[best, np.arange(len(targets))] > 0
    codes = np.where(strong, np.where(weights[best] >= 1, seen[best], -seen[best] - 2), -1)
    start = 0
    for p, m in zip(group, masks, strict=True):
        k = int(m.sum())
        out[p][m] = codes[start:start + k]
        start += k


def _anchors_block(models: dict[str, Recommender], personal: list[str], rows: sp.csr_matrix,
                   chosen: list[np.ndarray], lead: list[np.ndarray],
                   cells: int = 20_000) -> list[np.ndarray]:
    """``base.anchors`` codes for a block of people: one ``related`` call per model and group of
    people (at most ``cells`` pairs), instead of one per person and model."""
    out = [np.full(len(c), -1, np.int64) for c in chosen]
    for code, name in enumerate(personal):
        group: list[int] = []
        n_seen = n_targets = 0
        for p in range(len(chosen)):
            k = int((lead[p] == code).sum())
            h = int(rows.indptr[p + 1] - rows.indptr[p])
            if k == 0 or h == 0:
                continue
            if group and (n_seen + h) * (n_targets + k) > cells:
                _anchor_group(models[name], code, rows, chosen, lead, group, out)
                group, n_seen, n_targets = [], 0, 0
            group.append(p)
            n_seen += h
            n_targets += k
        if group:
            _anchor_group(models[name], code, rows, chosen, lead, group, out)
    return out


def _person_block(models: dict[str, Recommender], scorer: _Scorer, personal: list[str], users: np.ndarray,
                  rows: sp.csr_matrix, n: int) -> tuple[np.ndarray, ...]:
    """One block of people: candidates per person, their exact scores, leading models and anchors."""
    parts = {name: scorer.part(name, users, rows) for name in scorer.hybrid.components_}
    total = scorer.total(list(parts.values()), len(users))
    has_history = np.diff(rows.indptr) > 0  # no history: served popularity at request time
    flat_rows, flat_items, values = _shortlist(total, parts, has_history, n)
    sizes = np.bincount(flat_rows, minlength=len(users)).astype(np.int64)
    split = np.cumsum(sizes)[:-1]
    if personal and len(flat_items):
        strength = np.stack([values[name] for name in personal])
        lead = np.where(strength.max(axis=0) > 0, strength.argmax(axis=0), len(personal)).astype(np.uint8)
    else:
        lead = np.full(len(flat_items), len(personal), np.uint8)
    anchor = _anchors_block(models, personal, rows, np.split(flat_items, split), np.split(lead, split))
    return (sizes, flat_items.astype(np.int32), np.asarray(sum(values.values()), np.float32), lead,
            np.concatenate(anchor).astype(np.int32) if anchor else np.zeros(0, np.int32))


def build_index(models: dict[str, Recommender], history: sp.csr_matrix, n: int = CANDIDATES,
                n_context: int = CONTEXT) -> ServingIndex:
    """Score every person with the hybrid and every item's context neighbours, once (``_build``).

    BLAS runs single-threaded here: the products are small (a block of people × ~100 factors, a group's
    history × candidates) and OpenBLAS's threads cost more than they save on them — 25× more for the
    anchors' products on this 2-core machine under load.
    """
    with threadpool_limits(1, "blas"):
        return _build(models, history, n, n_context)


def _build(models: dict[str, Recommender], history: sp.csr_matrix, n: int, n_context: int) -> ServingIndex:
    """Score every person with the hybrid and every item's context neighbours, once.

    People are scored in blocks (``_Scorer``: z-score moments from the models' structure, one matrix
    product, one ``top_k``); leading models and reason anchors are computed for a whole block at once.
    ``tests/recommend/test_serving.py`` checks the result against ``Hybrid.parts`` scored on the spot.
    """
    started, cpu = time.perf_counter(), time.process_time()
    hybrid = models["hybrid"]
    assert isinstance(hybrid, Hybrid)
    personal = [name for name in hybrid.components_ if name != "popularity"]
    names = (*personal, "popularity")
    history = history.tocsr()
    n_users, n_items = history.shape
    batch = max(16, CELLS // max(n_items, 1))
    scorer = _Scorer(hybrid, n_items)

    def score_block(start: int) -> tuple[np.ndarray, ...]:
        users = np.arange(start, min(start + batch, n_users))
        return _person_block(models, scorer, personal, users, history[users], n)

    counts: list[np.ndarray] = []
    items: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    leading: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    # two workers: the products and the partial sorts release the GIL
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for done, (sizes, *arrays) in enumerate(pool.map(score_block, range(0, n_users, batch)), start=1):
            for out, array in zip((counts, items, scores, leading, codes), (sizes, *arrays), strict=True):
                out.append(array)
            if done % 1_000 == 0:
                log.info("serving index: %d of %d people", min(done * batch, n_users), n_users)
    offsets = np.zeros(n_users + 1, np.int64)
    np.cumsum(np.concatenate(counts) if counts else np.zeros(0, np.int64), out=offsets[1:])
    log.info("serving index: %d people scored in %.1f s (%.1f s CPU)", n_users, time.perf_counter() - started,
             time.process_time() - cpu)
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
    index = ServingIndex(offsets=offsets, items=_flat(items, np.int32),
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

