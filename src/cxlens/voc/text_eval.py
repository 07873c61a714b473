"""How good the text models are, measured on human-rated ground truth — and training the shipped head.

Sentiment is measured as in Hutto & Gilbert (2014, Table 4): Pearson r between the model's score
and the raters' mean, and a 3-class F1 where each snippet's class comes from the human mean with
the ±0.05 thresholds (support-weighted F1 over the three classes; with it, the vaderSentiment
package reproduces the published F1 within 0.02 on every corpus). The embedding model is always
evaluated cross-corpus: for each corpus, fitted on the other three and tested on it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import pearsonr
from sklearn.metrics import f1_score, precision_recall_fscore_support

from cxlens.errors import InvalidInputError
from cxlens.voc.corpora import Corpus, read_corpora
from cxlens.voc.emotions import EMOTIONS, EmotionLexicon
from cxlens.voc.sentiment import (
    SHIPPED_HEAD,
    THRESHOLD,
    VADER_PUBLISHED,
    EmbeddingSentiment,
    sentiment_labels,
    vader_features,
)

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def sentiment_metrics(
    scores: np.ndarray, ratings: np.ndarray, threshold: float = THRESHOLD
) -> dict[str, float]:
    """Pearson r with the human mean and weighted 3-class F1 (classes from the mean at ±0.05)."""
    r = float(pearsonr(scores, ratings).statistic)
    f1 = float(f1_score(sentiment_labels(ratings), sentiment_labels(scores, threshold), average="weighted"))
    return {"pearson_r": round(r, 3), "f1": round(f1, 3)}


def _sample(corpora: dict[str, Corpus], limit: int | None, seed: int) -> dict[str, Corpus]:
    if limit is None:
        return corpora
    if limit < 20:
        raise InvalidInputError(f"limit must be at least 20 snippets per corpus, got {limit}")
    rng = np.random.default_rng(seed)
    out = {}
    for name, c in corpora.items():
        keep = np.sort(rng.choice(len(c), size=min(limit, len(c)), replace=False))
        out[name] = Corpus(name, [c.ids[i] for i in keep], c.ratings[keep], [c.texts[i] for i in keep])
    return out


class _EmbeddingCache:
    """Embeddings per corpus, kept in ``directory`` (keyed by a hash of the texts) when one is given."""

    def __init__(self, encoder: Any, directory: Path | None) -> None:
        self.encoder = encoder
        self.directory = directory

    def get(self, corpus: Corpus) -> np.ndarray:
        if self.encoder is None:
            from cxlens.voc.embeddings import default_encoder

            self.encoder = default_encoder()
        digest = hashlib.sha256("\n".join(corpus.texts).encode()).hexdigest()[:16]
        path = self.directory / f"{corpus.name}-{digest}.npy" if self.directory else None
        if path is not None and path.is_file():
            return np.load(path)
        vectors = self.encoder.encode(corpus.texts)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, vectors)
        return vectors


def evaluate_sentiment(
    corpora_dir: Path | str,
    *,
    models: Sequence[str] = ("vader", "embedding"),
    limit: int | None = None,
    seed: int = 0,
    encoder: Any = None,
    cache_dir: Path | str | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """The evaluation table: one row per corpus, VADER (published and measured) beside ours.

    ``models`` may hold ``vader`` and ``embedding``; the embedding columns are cross-corpus
    (fitted on the other three corpora) and include the embedding-only ablation. ``limit``
    samples that many snippets per corpus (seeded) for a quick run.
    """
    unknown = set(models) - {"vader", "embedding"}
    if unknown:
        raise InvalidInputError(f"unknown model {sorted(unknown)[0]!r}; choose vader and/or embedding")
    corpora = _sample(read_corpora(corpora_dir), limit, seed)
    note = progress or (lambda _msg: None)
    rows: dict[str, dict[str, Any]] = {}
    vader: dict[str, np.ndarray] = {}
    for name, corpus in corpora.items():
        note(f"VADER on {name}")
        vader[name] = vader_features(corpus.texts)
        row = rows[name] = {"corpus": name, "n": len(corpus)}
        published = VADER_PUBLISHED[name]
        row["vader_published_r"], row["vader_published_f1"] = published["pearson_r"], published["f1"]
        if "vader" in models:
            measured = sentiment_metrics(vader[name][:, 0], corpus.ratings)
            row["vader_r"], row["vader_f1"] = measured["pearson_r"], measured["f1"]
    if "embedding" in models:
        cache = _EmbeddingCache(encoder, Path(cache_dir) if cache_dir else None)
        embedded = {}
        for name, corpus in corpora.items():
            note(f"embedding {name} ({len(corpus)} snippets)")
            embedded[name] = cache.get(corpus)
        for name in corpora:
            note(f"cross-corpus fit without {name}")
            for key, use_vader in (("embedding", True), ("embedding_only", False)):
                scores = _cross_corpus_scores(corpora, embedded, name, use_vader)
                measured = sentiment_metrics(scores, corpora[name].ratings)
                rows[name][f"{key}_r"], rows[name][f"{key}_f1"] = measured["pearson_r"], measured["f1"]
    return list(rows.values())


def _cross_corpus_scores(
    corpora: dict[str, Corpus], embedded: dict[str, np.ndarray], held_out: str, use_vader: bool
) -> np.ndarray:
    train = [n for n in corpora if n != held_out]
    model = EmbeddingSentiment(use_vader=use_vader).fit(
        [t for n in train for t in corpora[n].texts],
        np.concatenate([corpora[n].ratings for n in train]),
        embeddings=np.vstack([embedded[n] for n in train]),
    )
    return model.predict(corpora[held_out].texts, embeddings=embedded[held_out])


def train_sentiment_head(
    corpora_dir: Path | str,
    out: Path | str = SHIPPED_HEAD,
    *,
    encoder: Any = None,
    cache_dir: Path | str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Evaluate cross-corpus, then fit the head on all four corpora and save it to ``out``.

    The saved head carries the cross-corpus table in ``metrics`` (how good a head trained this way
    is on a corpus it has not seen). Returns the head's metrics.
    """
    table = evaluate_sentiment(corpora_dir, models=("vader", "embedding"), encoder=encoder,
                               cache_dir=cache_dir, progress=progress)
    corpora = read_corpora(corpora_dir)
    cache = _EmbeddingCache(encoder, Path(cache_dir) if cache_dir else None)
    model = EmbeddingSentiment(encoder=encoder).fit(
        [t for c in corpora.values() for t in c.texts],
        np.concatenate([c.ratings for c in corpora.values()]),
        embeddings=np.vstack([cache.get(c) for c in corpora.values()]),
    )
    model.metrics_.update({
        "trained_on": list(corpora),
        "cross_corpus": [{k: row[k] for k in ("corpus", "n", "embedding_r", "embedding_f1")}
                         for row in table],
        "command": f"cxlens voc train-sentiment --corpora {corpora_dir} --out {out}",
    })
    model.save(out)
    log.info("saved sentiment head to %s", out)
    return model.metrics_


def evaluate_emotions(
    corpora_dir: Path | str | None = None,
    labelled: Path | str | None = None,
    *,
    present_at: float = 0.5,
) -> dict[str, Any]:
    """Two honest checks of the emotion lexicon (neither is an emotion ground truth).

    - ``direction`` (needs ``corpora_dir``): on snippets the raters found clearly positive
      (mean ≥ 1) or negative (mean ≤ -1), how often the comment's emotions point the same way
      (joy + trust versus anger + frustration + sadness), and how often any emotion was found.
    - ``labelled`` (needs a JSON-lines file of ``{"text", "emotions": [...]}``): precision, recall
      and F1 per emotion, an emotion counting as present when its score ≥ ``present_at``.
    """
    model = EmotionLexicon().fit()
    report: dict[str, Any] = {}
    if corpora_dir is not None:
        report["direction"] = [_direction_agreement(model, c) for c in read_corpora(corpora_dir).values()]
    if labelled is not None:
        report["labelled"] = _labelled_agreement(model, Path(labelled), present_at)
    return report


def _direction_agreement(model: EmotionLexicon, corpus: Corpus) -> dict[str, Any]:
    clear = np.abs(corpus.ratings) >= 1.0
    agree = covered = 0
    for text, rating in zip(np.array(corpus.texts, dtype=object)[clear], corpus.ratings[clear], strict=True):
        s = model.analyze(text)["scores"]
        valence = s["joy"] + s["trust"] - s["anger"] - s["frustration"] - s["sadness"]
        if valence != 0:
            covered += 1
            agree += (valence > 0) == (rating > 0)
    n = int(clear.sum())
    return {"corpus": corpus.name, "n_clear": n, "coverage": round(covered / n, 3),
            "agreement": round(agree / covered, 3) if covered else None}


def _read_labelled(path: Path) -> list[dict[str, Any]]:
    """The labelled cases, each checked, so a bad line is named rather than failing deep inside."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError:
            raise InvalidInputError(f"{path.name} line {number} is not JSON", line=number) from None
        if not (isinstance(case, dict) and isinstance(case.get("text"), str)
                and isinstance(case.get("emotions"), list)):
            raise InvalidInputError(f'{path.name} line {number} needs "text" and a list of "emotions"',
                                    line=number)
        cases.append(case)
    return cases


def _labelled_agreement(model: EmotionLexicon, path: Path, present_at: float) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InvalidInputError(f"labelled emotion file not found: {path}")
    cases = _read_labelled(path)
    gold = np.array([[e in c["emotions"] for e in EMOTIONS] for c in cases])
    pred = np.array([[model.analyze(c["text"])["scores"][e] >= present_at for e in EMOTIONS] for c in cases])
    p, r, f, support = precision_recall_fscore_support(gold, pred, average=None, zero_division=0)
    rows = [{"emotion": e, "precision": round(float(p[i]), 3), "recall": round(float(r[i]), 3),
             "f1": round(float(f[i]), 3), "support": int(support[i])} for i, e in enumerate(EMOTIONS)]
    rows.append({"emotion": "macro", "precision": round(float(p.mean()), 3),
                 "recall": round(float(r.mean()), 3), "f1": round(float(f.mean()), 3),
                 "support": len(cases)})
    return rows
