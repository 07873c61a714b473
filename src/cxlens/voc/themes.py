"""Themes in customer comments: discovery, naming, assignment, sentiment per theme, emerging themes.

Themes are non-negative matrix factorization (NMF) components of the comments' TF-IDF matrix
(unigrams and bigrams, English stop words removed, sublinear term frequency). A comment's theme is
its largest component weight. A CX team's own taxonomy seeds the factorization: each seeded theme
starts from its keywords (a guided initialization) and keeps the team's name; the remaining
components are discovered from the data.

``summarize_themes`` turns a fitted model and the comments into the report a person reads: label,
top terms, share, mean sentiment and share negative per theme (aspect-based sentiment at theme
level), representative quotes, and — with timestamps — each theme's share in the latest period
against the one before, tested with a two-proportion z-test and Holm's correction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.voc.corpora import check_texts
from cxlens.voc.sentiment import THRESHOLD, vader_features

log = logging.getLogger(__name__)

UNASSIGNED = -1


class ThemeModel:
    """TF-IDF + NMF topic model with readable labels and optional seeded (named) themes.

    Parameters
    ----------
    n_themes : int, default 8
        Number of themes, seeded ones included.
    seeds : mapping of theme name to keywords, optional
        The team's taxonomy, e.g. ``{"delivery": ["late", "shipping", "courier"]}``.
    max_features : int, default 20000
        Vocabulary size (most frequent terms).
    min_df : int, optional
        Minimum number of comments a term must occur in (default 2, or 5 from 20,000 comments).
    n_terms : int, default 8
        Terms kept per theme for its label and description.
    max_iter : int, default 300
        NMF iterations.
    random_state : int, default 0

    Attributes
    ----------
    vectorizer_ : the fitted ``TfidfVectorizer``.
    nmf_ : the fitted ``NMF`` (used to place new comments among the themes).
    components_ : (n_themes, n_terms_vocab) theme-term weights.
    themes_ : list of dict — id, name, label, terms, seeded.
    labels_ : theme of each training comment (-1 when it has no vocabulary term).
    reconstruction_error_ : NMF's Frobenius reconstruction error (how well themes explain the text).

    References
    ----------
    Lee, D. D. & Seung, H. S. (1999). Learning the parts of objects by non-negative matrix
    factorization. Nature 401. Cichocki, A. & Phan, A.-H. (2009). Fast local algorithms for large
    scale nonnegative matrix and tensor factorizations. IEICE Trans. E92-A (the coordinate-descent
    solver). Jagarlamudi, J., Daumé III, H. & Udupa, R. (2012). Incorporating lexical priors into
    topic models. EACL (seeded topics).
    """

    def __init__(
        self,
        n_themes: int = 8,
        seeds: Mapping[str, Sequence[str]] | None = None,
        max_features: int = 20000,
        min_df: int | None = None,
        n_terms: int = 8,
        max_iter: int = 300,
        random_state: int = 0,
    ) -> None:
        self.n_themes = n_themes
        self.seeds = seeds
        self.max_features = max_features
        self.min_df = min_df
        self.n_terms = n_terms
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, texts: Sequence[str]) -> ThemeModel:
        from sklearn.decomposition import NMF
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = check_texts(texts)
        seeds = {str(k): list(v) for k, v in (self.seeds or {}).items()}
        if not 1 <= self.n_themes <= 200:
            raise InvalidInputError(f"n_themes must be between 1 and 200, got {self.n_themes}")
        if len(seeds) > self.n_themes:
            raise InvalidInputError(f"{len(seeds)} seeded themes do not fit in n_themes={self.n_themes}")
        if len(texts) < 2 * self.n_themes:
            raise InvalidInputError(
                f"{len(texts)} comments are too few for {self.n_themes} themes (need {2 * self.n_themes})"
            )
        min_df = self.min_df if self.min_df is not None else (5 if len(texts) >= 20000 else 2)
        self.vectorizer_ = TfidfVectorizer(
            stop_words="english", ngram_range=(1, 2), min_df=min_df, max_df=0.5,
            max_features=self.max_features, sublinear_tf=True, dtype=np.float32,
        )
        try:
            matrix = self.vectorizer_.fit_transform(texts)
        except ValueError as exc:  # every term pruned: nothing to learn from
            raise InvalidInputError(f"comments hold too few distinct words for themes ({exc})") from exc
        if matrix.shape[1] < self.n_themes:
            raise InvalidInputError(
                f"vocabulary of {matrix.shape[1]} terms is too small for {self.n_themes} themes"
            )
        vocab = self.vectorizer_.get_feature_names_out()
        init_h = self._seeded_init(matrix, vocab, seeds) if seeds else None
        nmf = NMF(n_components=self.n_themes, init="custom" if seeds else "nndsvda", solver="cd",
                  max_iter=self.max_iter, random_state=self.random_state)
        # A near-perfect fit makes sklearn take the square root of a rounding-negative error.
        with np.errstate(invalid="ignore"):
            if init_h is not None:
                init_w = np.asarray(matrix @ init_h.T, dtype=np.float32)
                # Scale W so that ||W H|| matches ||X|| (computed as trace(WᵀW HHᵀ), never densely).
                fitted = float(np.trace((init_w.T @ init_w) @ (init_h @ init_h.T)))
                init_w *= np.sqrt(float(matrix.power(2).sum()) / max(fitted, 1e-12))
                weights = nmf.fit_transform(matrix, W=init_w + 1e-6, H=init_h)
            else:
                weights = nmf.fit_transform(matrix)
        self.components_ = nmf.components_
        self.reconstruction_error_ = float(np.nan_to_num(nmf.reconstruction_err_))
        self.n_iter_ = int(nmf.n_iter_)
        self.nmf_ = nmf
        self.labels_ = _assign(weights)
        names = list(seeds)
        self.themes_ = [self._describe(k, vocab, names[k] if k < len(names) else None)
                        for k in range(self.n_themes)]
        return self

    def _seeded_init(self, matrix: Any, vocab: np.ndarray, seeds: dict[str, list[str]]) -> np.ndarray:
        """H to start from: seeded rows weigh their keywords (and bigrams holding them), others random."""
        rng = np.random.default_rng(self.random_state)
        scale = np.sqrt(matrix.mean() / self.n_themes)
        init_h = (scale * np.abs(rng.standard_normal((self.n_themes, len(vocab))))).astype(np.float32)
        column = {term: i for i, term in enumerate(vocab)}
        for k, (name, words) in enumerate(seeds.items()):
            wanted = {w.lower().strip() for w in words if w.strip()}
            hits = [i for term, i in column.items() if term in wanted or set(term.split()) & wanted]
            if not hits:
                raise InvalidInputError(
                    f"seed theme {name!r}: none of its keywords {sorted(wanted)} occur in the comments"
                )
            init_h[k] *= 0.01
            init_h[k, hits] = float(init_h.max()) * 10
        return init_h

    def _describe(self, k: int, vocab: np.ndarray, seed_name: str | None) -> dict[str, Any]:
        """Label from the theme's top words; its top phrases (bigrams) alongside, for reading."""
        ranked = [str(vocab[i]) for i in np.argsort(-self.components_[k])[: 20 * self.n_terms]
                  if self.components_[k, i] > 0]
        words = [t for t in ranked if " " not in t][: self.n_terms]
        phrases = [t for t in ranked if " " in t][: max(3, self.n_terms // 2)]
        label = " / ".join(words[:3]) if words else (phrases[0] if phrases else f"theme {k}")
        return {"id": k, "name": seed_name or label, "label": label, "terms": words,
                "phrases": phrases, "seeded": seed_name is not None}

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise ModelNotFittedError("ThemeModel is not fitted: call fit(comments) first")

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Theme weights of new comments, (n, n_themes)."""
        self._check_fitted()
        return self.nmf_.transform(self.vectorizer_.transform(check_texts(texts)))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The known theme of each new comment (-1 when none of its words are in the vocabulary)."""
        return _assign(self.transform(texts))

    def explain(self, text: str, top: int = 5) -> list[dict[str, Any]]:
        """The words of ``text`` that tie it to its theme, with their weight in that theme."""
        self._check_fitted()
        row = self.vectorizer_.transform(check_texts([text]))
        theme = int(self.predict([text])[0])
        if theme == UNASSIGNED:
            return []
        contribution = row.multiply(self.components_[theme]).tocsr()
        vocab = self.vectorizer_.get_feature_names_out()
        order = np.argsort(-contribution.data)[:top]
        return [{"term": str(vocab[contribution.indices[i]]), "weight": round(float(contribution.data[i]), 4)}
                for i in order]


def _assign(weights: np.ndarray) -> np.ndarray:
    labels = np.argmax(weights, axis=1)
    labels[weights.max(axis=1) <= 0] = UNASSIGNED
    return labels


@dataclass
class ThemeReport:
    """What ``summarize_themes`` found: a row per theme, the emerging-theme tests, assignments."""

    themes: list[dict[str, Any]]
    emerging: list[dict[str, Any]] = field(default_factory=list)
    assignments: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))
    model: ThemeModel | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"themes": self.themes, "emerging": self.emerging}


def summarize_themes(
    texts: Sequence[str],
    *,
    times: Sequence[Any] | None = None,
    n_themes: int = 8,
    seeds: Mapping[str, Sequence[str]] | None = None,
    sentiment: Sequence[float] | None = None,
    n_quotes: int = 3,
    freq: str | None = None,
    alpha: float = 0.05,
    n_jobs: int = 1,
    random_state: int = 0,
) -> ThemeReport:
    """Discover themes in ``texts`` and report share, sentiment, quotes and (with ``times``) growth.

    ``sentiment`` gives each comment's score (default VADER compound, ±0.05 for negative);
    ``freq`` is the period for growth (pandas alias such as ``W`` or ``M``; default: weeks when the
    comments span at most 120 days, else months).
    """
    texts = check_texts(texts)
    if sentiment is None:
        scores = vader_features(texts, n_jobs)[:, 0]
    else:
        scores = np.asarray(sentiment, dtype=float)
        if scores.shape != (len(texts),):
            raise InvalidInputError(f"sentiment must hold one score per comment ({len(texts)})")
    model = ThemeModel(n_themes=n_themes, seeds=seeds, random_state=random_state).fit(texts)
    labels = model.labels_
    weights = model.transform(texts)
    total = len(texts)
    rows = []
    for theme in model.themes_:
        members = np.flatnonzero(labels == theme["id"])
        share_neg = float(np.mean(scores[members] <= -THRESHOLD)) if len(members) else None
        rows.append({
            **theme, "n": len(members), "share": round(len(members) / total, 4),
            "sentiment": round(float(scores[members].mean()), 3) if len(members) else None,
            "share_negative": None if share_neg is None else round(share_neg, 3),
            "quotes": _quotes(texts, weights[:, theme["id"]], members, n_quotes),
        })
    rows.sort(key=lambda r: -r["n"])
    emerging = _emerging(labels, times, model.themes_, freq, alpha) if times is not None else []
    return ThemeReport(themes=rows, emerging=emerging, assignments=labels, model=model)


def _quotes(texts: list[str], weight: np.ndarray, members: np.ndarray, n: int) -> list[str]:
    """The members that load most on the theme, distinct, shortened for reading."""
    chosen: list[str] = []
    for i in members[np.argsort(-weight[members])]:
        quote = " ".join(texts[i].split())
        quote = quote if len(quote) <= 200 else quote[:197] + "..."
        if quote not in chosen:
            chosen.append(quote)
        if len(chosen) >= n:
            break
    return chosen


def _emerging(
    labels: np.ndarray, times: Sequence[Any], themes: list[dict[str, Any]], freq: str | None, alpha: float
) -> list[dict[str, Any]]:
    """Each theme's share in the latest period against the previous one (z-test, Holm-corrected)."""
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import proportions_ztest

    try:
        stamps = pd.to_datetime(pd.Series(list(times)), utc=True)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"times must be dates ({exc})") from exc
    if len(stamps) != len(labels) or stamps.isna().any():
        raise InvalidInputError("times must give one date per comment, with none missing")
    if freq is None:
        freq = "W" if (stamps.max() - stamps.min()).days <= 120 else "M"
    try:
        periods = stamps.dt.tz_localize(None).dt.to_period(freq)
    except ValueError:
        raise InvalidInputError(f"unknown period {freq!r} for growth: use W (weeks) or M (months)",
                                field="freq") from None
    ordered = sorted(periods.unique())
    if len(ordered) < 2:
        raise InvalidInputError(f"comments span one {freq} period; growth needs at least two")
    latest, previous = ordered[-1], ordered[-2]
    in_latest, in_previous = (periods == latest).to_numpy(), (periods == previous).to_numpy()
    n_latest, n_previous = int(in_latest.sum()), int(in_previous.sum())
    rows, pvalues = [], []
    for theme in themes:
        hit = labels == theme["id"]
        a, b = int((hit & in_latest).sum()), int((hit & in_previous).sum())
        p = float(proportions_ztest([a, b], [n_latest, n_previous])[1]) if a + b > 0 else 1.0
        # A theme holding all (or none) of both periods has zero variance: no evidence of change.
        pvalues.append(p if np.isfinite(p) else 1.0)
        share_now, share_before = a / n_latest, b / n_previous
        rows.append({"id": theme["id"], "name": theme["name"], "period": str(latest),
                     "previous_period": str(previous), "share": round(share_now, 4),
                     "previous_share": round(share_before, 4),
                     "growth": round(share_now / share_before, 3) if share_before else None,
                     "n": a, "previous_n": b})
    adjusted = multipletests(pvalues, alpha=alpha, method="holm")[1]
    for row, p in zip(rows, adjusted, strict=True):
        row["p_value"] = round(float(p), 4)
        row["emerging"] = bool(p < alpha and row["share"] > row["previous_share"])
    rows.sort(key=lambda r: (not r["emerging"], r["p_value"]))
    return rows
