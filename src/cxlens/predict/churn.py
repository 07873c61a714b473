"""Churn propensity: who among the customers who have bought will not buy again within a horizon.

The data (:func:`churn_frame`) are the feature layer's per-customer features as of a cutoff, and the
label is whether the customer places no order in the ``horizon_days`` that follow it. Only buyers
(at least one order before the cutoff) are in scope: "churn" of someone who never bought is not
defined. Training pools such frames at several cutoffs (:func:`training_frames`, rolling origins)
so the model sees customers at several ages. The model (:class:`ChurnModel`) is a gradient-boosted
tree ensemble, calibrated, with the BG/NBD model's P(alive) and expected purchases as two extra
inputs, and it says why it scored a customer as it did (:meth:`ChurnModel.explain`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from cxlens.errors import CxlensError, InvalidInputError, ModelNotFittedError
from cxlens.features import FeatureSet, Levels, build_features, describe, purchases_between
from cxlens.features.catalog import FeatureInfo
from cxlens.features.engine import Engine
from cxlens.predict.clv import BetaGeoModel

log = logging.getLogger(__name__)

RFM = ("recency_days", "frequency", "monetary")
BGNBD_FEATURES = {
    "bgnbd_p_alive": FeatureInfo("chance the customer is still active (BG/NBD)", "%", "model"),
    "bgnbd_expected_orders": FeatureInfo("expected orders over the horizon (BG/NBD)", "orders", "model"),
}


def bgnbd_summary(X: pd.DataFrame) -> pd.DataFrame:
    """BG/NBD statistics in weeks from buyers' features: repeat purchase days, recency, age."""
    freq = (X["purchase_days"] - 1).clip(lower=0).astype(float)
    T = (X["first_purchase_days"] / 7).clip(lower=1 / 7)
    recency = ((X["first_purchase_days"] - X["recency_days"]) / 7).where(freq > 0, 0.0)
    return pd.DataFrame({"frequency": freq, "recency": recency.clip(lower=0).clip(upper=T), "T": T})


@dataclass
class ChurnData:
    """Features of the buyers as of ``cutoff`` and, when the horizon is observed, their labels."""

    X: pd.DataFrame
    y: pd.Series | None
    cutoff: datetime
    horizon_days: int
    features: FeatureSet


def churn_frame(engine: Engine, cutoff: datetime | str, horizon_days: int, *,
                levels: Levels | None = None, labels: bool = True,
                consent_defaults: dict[str, bool] | None = None) -> ChurnData:
    """Buyers' features as of ``cutoff``; ``y`` = 1 when they place no order in the next ``horizon_days``.

    Only rows strictly before the cutoff feed ``X`` and only orders in ``[cutoff, cutoff + horizon)``
    feed ``y``, so the label never leaks into the features.
    """
    if not isinstance(horizon_days, int) or horizon_days < 1:
        raise InvalidInputError(f"the churn horizon must be a whole number of days ≥ 1, got {horizon_days!r}")
    fs = build_features(engine, cutoff, levels=levels, consent_defaults=consent_defaults)
    X = fs.frame[fs.frame["frequency"] > 0]
    if X.empty:
        raise InvalidInputError(f"no customer bought before {fs.as_of.date()}: choose a later cutoff "
                                "or load orders first")
    y = None
    if labels:
        start = fs.as_of.timestamp()
        bought = engine.execute(purchases_between(engine, start, start + horizon_days * 86400.0))
        y = pd.Series((~X.index.isin(bought["customer_id"].astype(str))).astype(int), index=X.index,
                      name="churned")
    return ChurnData(X, y, fs.as_of, horizon_days, fs)


def _log_counts(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    return np.column_stack([a[:, 0], np.log1p(a[:, 1]), np.log1p(a[:, 2])])


def _signed_log(a: np.ndarray) -> np.ndarray:
    return np.sign(a) * np.log1p(np.abs(a))


def rfm_baseline(random_state: int = 0) -> Any:
    """Logistic regression on recency, log frequency and log spend: the bar the model must clear.

    Fit it on ``X[list(RFM)]``.
    """
    return make_pipeline(FunctionTransformer(_log_counts), StandardScaler(),
                         LogisticRegression(random_state=random_state))


def _validate(X: Any, y: Any = None) -> tuple[pd.DataFrame, np.ndarray | None]:
    if not isinstance(X, pd.DataFrame):
        raise InvalidInputError("X must be a DataFrame of features (cxlens.features.build_features)")
    missing = [c for c in RFM if c not in X.columns]
    if missing:
        raise InvalidInputError(f"X lacks the feature column(s) {', '.join(missing)}")
    if len(X) == 0:
        raise InvalidInputError("X has no rows: give at least one customer")
    if y is None:
        return X, None
    labels = np.asarray(y)
    if labels.shape != (len(X),) or not np.isin(labels, (0, 1)).all():
        raise InvalidInputError("y must hold one 0/1 label (1 = churned) per row of X")
    if len(np.unique(labels)) < 2:
        raise InvalidInputError("y holds one class only: every customer churned or every one stayed; "
                                "choose another cutoff or horizon")
    return X, labels.astype(int)


class ChurnModel(ClassifierMixin, BaseEstimator):
    """Calibrated gradient-boosted churn propensity with per-customer reasons.

    Parameters
    ----------
    horizon_days : int, default 90
        The outcome window the labels were made with; BG/NBD expected orders use it too.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Passed to :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.
    calibration : {"isotonic", "sigmoid"}, default "isotonic"
        How scores are mapped to probabilities (cross-validated, ``cv`` folds).
    cv : int, default 3
    use_bgnbd : bool, default True
        Add the BG/NBD P(alive) and expected orders over the horizon as inputs (fitted on the
        training rows, pooled origins included). P(alive) alone is a poor churn score: BG/NBD
        holds every one-time buyer alive with probability 1; as one input among many it helps.
    linear_weight : float, default 1.0
        Weight of an L2 logistic regression on all features (median-imputed with missing flags,
        signed-log scaled) soft-voted with the trees (weight 1). Trees cannot extrapolate: when
        customers age past anything seen in training (one cohort, as in CDNOW) the linear part
        carries the trend. 0 leaves the trees alone.
    n_reason_features : int, default 12
        How many of the most important features are considered for per-customer reasons.
    n_threads : int or None, default 1
        OpenMP threads for the trees. One is the safe default on a shared machine: with more
        threads than free cores, OpenMP's busy-waiting made a 2,000-row fit 30 times slower.
        None uses every core.
    random_state : int, default 0

    Attributes
    ----------
    feature_names_in_ : list of str
    columns_ : list of str
        The inputs the trees see (the features plus the BG/NBD columns when used).
    bgnbd_ : BetaGeoModel or None
    estimator_ : CalibratedClassifierCV
    reference_ : Series
        Median of each input over the training customers: the "typical customer" reasons compare with.
    feature_importances_ : Series
        Mean absolute change of the predicted risk when one input is set to its reference value,
        over (a sample of) the training customers.

    Notes
    -----
    Reasons are *occlusion* contributions: for a customer, the change in predicted risk when one
    input is replaced by the training median and all others are kept. They are not SHAP values
    (they need not add up to the score), but each is a real counterfactual of the fitted model.

    References
    ----------
    Ke, G. et al. (2017). LightGBM: A highly efficient gradient boosting decision tree. NeurIPS 30.
    Zadrozny, B., & Elkan, C. (2002). Transforming classifier scores into accurate multiclass
    probability estimates. KDD '02 (isotonic calibration).
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the easy way.
    Marketing Science, 24(2), 275-284.
    Zeiler, M. D., & Fergus, R. (2014). Visualizing and understanding convolutional networks. ECCV
    (occlusion sensitivity).
    """

    def __init__(self, horizon_days: int = 90, max_iter: int = 100, learning_rate: float = 0.05,
                 max_leaf_nodes: int = 15, min_samples_leaf: int = 100, l2_regularization: float = 1.0,
                 calibration: str = "isotonic", cv: int = 3, use_bgnbd: bool = True,
                 linear_weight: float = 1.0, n_reason_features: int = 12, n_threads: int | None = 1,
                 random_state: int = 0) -> None:
        self.horizon_days = horizon_days
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.cv = cv
        self.use_bgnbd = use_bgnbd
        self.linear_weight = linear_weight
        self.n_reason_features = n_reason_features
        self.n_threads = n_threads
        self.random_state = random_state

    # -- inputs --------------------------------------------------------------------------------
    def _inputs(self, X: pd.DataFrame) -> pd.DataFrame:
        out = X.reindex(columns=self.feature_names_in_)
        for col in self.feature_names_in_:
            if col not in X.columns:  # a category or channel unseen at scoring: no share of it
                out[col] = 0.0
        if self.bgnbd_ is not None:
            summary = bgnbd_summary(X)
            out["bgnbd_p_alive"] = self.bgnbd_.predict_probability_alive(summary)
            out["bgnbd_expected_orders"] = self.bgnbd_.predict_purchases(summary, self.horizon_days / 7)
        out = out.astype(float)
        return out[self.columns_] if hasattr(self, "columns_") else out

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Sequence[int] | pd.Series) -> ChurnModel:
        """Fit on buyers' features ``X`` and labels ``y`` (1 = churned); returns self."""
        X, labels = _validate(X, y)
        if self.calibration not in ("isotonic", "sigmoid"):
            raise InvalidInputError(f"calibration must be isotonic or sigmoid, not {self.calibration!r}")
        self.feature_names_in_ = list(X.columns)
        self.bgnbd_ = None
        if self.use_bgnbd and {"purchase_days", "first_purchase_days"} <= set(X.columns):
            try:
                self.bgnbd_ = BetaGeoModel(period="week").fit(bgnbd_summary(X))
            except CxlensError as exc:  # e.g. no repeat buyers yet: the trees do without it
                log.warning("churn: BG/NBD inputs left out (%s)", exc.message)
        inputs = self._inputs(X)
        # an input no training customer has (e.g. sentiment before any comment was scored) carries
        # nothing to learn from, and the tree binner rejects an all-missing column
        self.columns_ = [c for c in inputs.columns if inputs[c].notna().any()]
        inputs = inputs[self.columns_]
        trees = HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            random_state=self.random_state)
        members: list[tuple[str, Any]] = [("trees", trees)]
        if self.linear_weight > 0:
            members.append(("linear", make_pipeline(
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                FunctionTransformer(_signed_log), StandardScaler(),
                LogisticRegression(max_iter=2000, random_state=self.random_state))))
        vote = VotingClassifier(members, voting="soft", weights=[1.0, self.linear_weight][: len(members)])
        with self._threads():
            calibrated = CalibratedClassifierCV(vote, method=self.calibration, cv=self.cv)
            self.estimator_ = calibrated.fit(inputs, labels)
        self.classes_ = self.estimator_.classes_
        self.reference_ = inputs.median()
        sample = inputs.sample(n=min(len(inputs), 2000), random_state=self.random_state)
        deltas = self._occlusion(sample, self.columns_)
        self.feature_importances_ = deltas.abs().mean().sort_values(ascending=False)
        return self

    def _threads(self) -> Any:
        return threadpool_limits(limits=self.n_threads, user_api="openmp")

    def _check(self) -> None:
        if not hasattr(self, "estimator_"):
            raise ModelNotFittedError("the churn model is not fitted: call fit (or `cxlens churn train`)")

    # -- predicting ----------------------------------------------------------------------------
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Columns: P(stays), P(churns) — calibrated probabilities."""
        self._check()
        X, _ = _validate(X)
        with self._threads():
            return self.estimator_.predict_proba(self._inputs(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def _occlusion(self, inputs: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        """Risk minus the risk with one column set to its reference: one batch per column."""
        with self._threads():
            risk = self.estimator_.predict_proba(inputs)[:, 1]
            deltas = {}
            for col in columns:
                moved = inputs.copy()
                moved[col] = self.reference_[col]
                deltas[col] = risk - self.estimator_.predict_proba(moved)[:, 1]
        return pd.DataFrame(deltas, index=inputs.index)

    def explain(self, X: pd.DataFrame, top: int = 3) -> list[list[dict[str, Any]]]:
        """For each row of ``X``, up to ``top`` reasons that raise its churn risk most, in words.

        Each reason has the feature, its value, the typical (median) value, the change in risk it
        makes (``effect``, probability points) and a ``text`` such as "time since the last
        purchase is 160 days (typical: 40 days)".
        """
        self._check()
        X, _ = _validate(X)
        inputs = self._inputs(X)
        # consent is an input, never a reason: it is not something to act on
        candidates = [c for c in self.feature_importances_.index
                      if not str(c).startswith("consent_")][: self.n_reason_features]
        deltas = self._occlusion(inputs, candidates)
        out = []
        for i in range(len(inputs)):
            row = deltas.iloc[i].sort_values(ascending=False)
            reasons: list[dict[str, Any]] = []
            for name, effect in row.items():
                if effect <= 0.005 or len(reasons) >= top:
                    break
                info = BGNBD_FEATURES.get(str(name)) or describe(str(name))
                value, typical = float(inputs.iloc[i][name]), float(self.reference_[name])
                reasons.append({
                    "feature": name, "value": value, "typical": typical, "effect": round(float(effect), 4),
                    "text": f"{info.label} is {info.show(value)} (typical: {info.show(typical)})",
                })
            out.append(reasons)
        return out


def cutoffs(as_of: datetime, horizon_days: int) -> tuple[datetime, datetime]:
    """(latest train cutoff, evaluation cutoff): each label window ends where the next one starts."""
    evaluation = as_of - timedelta(days=horizon_days)
    return evaluation - timedelta(days=horizon_days), evaluation


def origin_cutoffs(end: datetime, horizon_days: int, n_origins: int) -> list[datetime]:
    """Training cutoffs ``end − h, end − 2h, …`` (latest first) whose label windows all end by ``end``.

    ``end`` is the moment the model must not see past: the holdout cutoff when judging, the end of
    the data when refitting. Origin k's labels come from ``[end − k·h, end − (k−1)·h)``.
    """
    if not isinstance(n_origins, int) or n_origins < 1:
        raise InvalidInputError(f"n_origins must be a whole number ≥ 1, got {n_origins!r}")
    return [end - timedelta(days=k * horizon_days) for k in range(1, n_origins + 1)]


def training_frames(engine: Engine, end: datetime, horizon_days: int, n_origins: int, *,
                    levels: Levels | None = None, consent_defaults: dict[str, bool] | None = None,
                    min_buyers: int = 50) -> list[ChurnData]:
    """Labelled churn frames at the rolling origins of :func:`origin_cutoffs`, latest first.

    Why several origins: one cutoff shows the model customers of one age only, and in a single
    cohort (CDNOW) every customer it scores later is older than any it learned from. Pooling
    cutoffs ``h`` apart shows it the same customers at several ages. The latest origin must exist
    (its errors propagate); earlier ones stop at the first that has fewer than ``min_buyers``
    buyers or only one class of label — there is no more history to learn from. All frames use the
    feature columns (``levels``) of the latest origin, so they stack.
    """
    frames: list[ChurnData] = []
    for cut in origin_cutoffs(end, horizon_days, n_origins):
        try:
            data = churn_frame(engine, cut, horizon_days, levels=levels, consent_defaults=consent_defaults)
        except InvalidInputError:
            if not frames:
                raise
            break
        assert data.y is not None
        if frames and (len(data.X) < min_buyers or data.y.nunique() < 2):
            break
        levels = levels or data.features.levels
        frames.append(data)
    return frames


def pooled(frames: Sequence[ChurnData]) -> tuple[pd.DataFrame, pd.Series]:
    """Stack frames into one training set (a customer appears once per origin, at that origin's age)."""
    X = pd.concat([f.X for f in frames], join="outer")
    y = pd.concat([f.y for f in frames if f.y is not None])
    if len(y) != len(X):
        raise InvalidInputError("every frame to pool needs labels (churn_frame(..., labels=True))")
    return X, y
