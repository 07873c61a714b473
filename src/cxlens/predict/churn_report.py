"""Train, judge, keep and apply the churn model: the time-split evaluation and its report.

The split is by time, never at random. With ``as_of`` the end of the data and ``h`` the horizon:

* train: rolling origins — features as of ``as_of - 2h``, ``as_of - 3h``, … (up to ``n_origins``),
  each labelled by the orders in the ``h`` days after it, pooled;
* holdout: features as of ``as_of - h``, labels from orders in ``[as_of - h, as_of)``.

Every training label window ends at or before the holdout cutoff, so nothing the model learns from
comes after the moment it is judged at. The report compares it with a logistic regression on RFM
alone, fitted on the same pooled training rows, on the same holdout. The model kept for scoring is
then refitted on the origins ``as_of - h, as_of - 2h, …`` (the latest fully observed labels) and
scores customers as of ``as_of``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from cxlens import jsonutil
from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.features import Levels, default_as_of, describe, to_utc
from cxlens.features.engine import Engine
from cxlens.predict.churn import (
    BGNBD_FEATURES,
    RFM,
    ChurnData,
    ChurnModel,
    churn_frame,
    cutoffs,
    pooled,
    rfm_baseline,
    training_frames,
)
from cxlens.store import Store

log = logging.getLogger(__name__)

MODEL_NAME = "churn-hgb"
BINS = 10


def classification_report(y: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """AUC, PR-AUC (churners as positives), Brier score, lift by decile and a reliability table."""
    y, score = np.asarray(y, dtype=int), np.asarray(score, dtype=float)
    base = float(y.mean())
    order = np.argsort(-score, kind="stable")
    deciles = []
    for d, idx in enumerate(np.array_split(order, BINS), start=1):
        rate = float(y[idx].mean()) if idx.size else 0.0
        deciles.append({"decile": d, "customers": int(idx.size), "mean_score": float(score[idx].mean()),
                        "churn_rate": rate, "lift": rate / base if base else 0.0})
    edges = np.linspace(0, 1, BINS + 1)
    which = np.clip(np.digitize(score, edges[1:-1]), 0, BINS - 1)
    reliability = [{"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "customers": int((which == b).sum()),
                    "mean_predicted": float(score[which == b].mean()),
                    "observed_rate": float(y[which == b].mean())}
                   for b in range(BINS) if (which == b).any()]
    return {
        "customers": int(y.size), "churn_rate": base,
        "auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
        "brier": float(brier_score_loss(y, score)),
        "top_decile_lift": deciles[0]["lift"],
        "lift_by_decile": deciles,
        "reliability": reliability,
    }


def _verdict(model: dict[str, Any], base: dict[str, Any], importances: list[dict[str, Any]],
             n_train: int) -> dict[str, Any]:
    gain_auc, gain_pr = model["auc"] - base["auc"], model["pr_auc"] - base["pr_auc"]
    beats = gain_auc > 0 and gain_pr > 0
    head = (f"AUC {model['auc']:.3f} vs {base['auc']:.3f} ({gain_auc:+.3f}), "
            f"PR-AUC {model['pr_auc']:.3f} vs {base['pr_auc']:.3f} ({gain_pr:+.3f})")
    if beats:
        text = f"beats the logistic regression on RFM alone: {head}"
    else:
        top = ", ".join(i["feature"] for i in importances[:3])
        text = (f"does NOT beat the logistic regression on RFM alone on both measures: {head}. Likely why: "
                f"{n_train} training rows, and the features beyond recency, frequency and spend add "
                f"little here (most used: {top}); prefer the simpler model on this data")
    return {"auc_gain": gain_auc, "pr_auc_gain": gain_pr, "brier_gain": base["brier"] - model["brier"],
            "beats_baseline": beats, "verdict": text}


@dataclass
class ChurnTraining:
    """The judged report and the model refitted on the latest labels, ready to score."""

    report: dict[str, Any]
    model: ChurnModel
    levels: Levels


def _origin(data: ChurnData) -> dict[str, Any]:
    assert data.y is not None
    label_end = data.cutoff + timedelta(days=data.horizon_days)
    return {"cutoff": data.cutoff, "label_window": [data.cutoff, label_end], "customers": len(data.X),
            "churn_rate": float(data.y.mean())}


def evaluate_churn(engine: Engine, *, as_of: datetime | str | None = None, horizon_days: int = 90,
                   n_origins: int = 4, consent_defaults: dict[str, bool] | None = None,
                   **params: Any) -> ChurnTraining:
    """Time-split training and evaluation (see the module docstring); ``params`` go to ChurnModel.

    ``n_origins`` is the most training cutoffs pooled (``h`` apart); fewer are used when the history
    is shorter. 1 is the plain single-cutoff split.
    """
    end = to_utc(as_of) if as_of is not None else default_as_of(engine)
    train_cut, holdout_cut = cutoffs(end, horizon_days)
    origins = training_frames(engine, holdout_cut, horizon_days, n_origins, consent_defaults=consent_defaults)
    levels = origins[0].features.levels
    holdout = churn_frame(engine, holdout_cut, horizon_days, levels=levels, consent_defaults=consent_defaults)
    assert holdout.y is not None
    if holdout.y.nunique() < 2:
        raise InvalidInputError(f"every holdout customer {'churned' if holdout.y.iloc[0] else 'stayed'} "
                                f"after {holdout_cut.date()}: choose another as-of date or horizon")
    # the guarantee the whole report rests on: no training label comes from the holdout window
    assert all(o.cutoff + timedelta(days=horizon_days) <= holdout_cut for o in origins)
    train_X, train_y = pooled(origins)
    model = ChurnModel(horizon_days=horizon_days, **params).fit(train_X, train_y)
    baseline = rfm_baseline().fit(train_X[list(RFM)], train_y)
    scores = model.predict_proba(holdout.X)[:, 1]
    base_scores = baseline.predict_proba(holdout.X[list(RFM)])[:, 1]
    metrics = classification_report(holdout.y.to_numpy(), scores)
    base_metrics = classification_report(holdout.y.to_numpy(), base_scores)
    importances = [{"feature": str(name),
                    "label": (BGNBD_FEATURES.get(str(name)) or describe(str(name))).label,
                    "importance": float(value)}
                   for name, value in model.feature_importances_.head(15).items()]
    # refit for scoring on the latest fully observed labels: the holdout origin and the ones before it
    final_X, final_y = pooled([holdout, *origins[: max(n_origins - 1, 0)]])
    final = ChurnModel(horizon_days=horizon_days, **params).fit(final_X, final_y)
    report: dict[str, Any] = {
        "model": MODEL_NAME,
        "as_of": end,
        "horizon_days": horizon_days,
        "label": f"churned = no order in the {horizon_days} days after the cutoff (buyers only)",
        "train": {"cutoff": train_cut, "label_window": [train_cut, holdout_cut],
                  "customers": int(train_X.index.nunique()), "rows": len(train_X),
                  "churn_rate": float(train_y.mean()), "origins": [_origin(o) for o in origins]},
        "holdout": {"cutoff": holdout_cut, "label_window": [holdout_cut, end],
                    "customers": len(holdout.X), "churn_rate": float(holdout.y.mean())},
        "metrics": metrics,
        "baseline": {"model": "logistic regression on recency, log frequency, log spend "
                              "(fitted on the same training rows)",
                     "metrics": base_metrics},
        "comparison": _verdict(metrics, base_metrics, importances, len(train_X)),
        "importance_method": "mean absolute change in predicted risk when the feature is set to its "
                             "training median (occlusion), over up to 2,000 training customers",
        "importances": importances,
        "bgnbd_inputs": model.bgnbd_ is not None,
        "features": len(train_X.columns),
    }
    log.info("churn: %s", report["comparison"]["verdict"])
    return ChurnTraining(report, final, levels)


# -- keeping and applying the model --------------------------------------------------------------
def save_training(store: Store, models_dir: Path, training: ChurnTraining) -> dict[str, Any]:
    """Write the model file and record the run (report included) in ``model_runs``."""
    trained_at = datetime.now(UTC)
    version = trained_at.strftime("%Y%m%dT%H%M%S%fZ")
    models_dir.mkdir(parents=True, exist_ok=True)
    artifact = models_dir / f"{MODEL_NAME}-{version}.joblib"
    joblib.dump({"model": training.model, "levels": training.levels, "horizon_days":
                 training.report["horizon_days"]}, artifact)
    report = {**training.report, "model_version": version, "trained_at": trained_at,
              "artifact": str(artifact)}
    store.execute("INSERT INTO model_runs VALUES (?, ?, ?, ?, ?, ?)",
                  [MODEL_NAME, version, trained_at, training.report["as_of"], jsonutil.dumps_str(report),
                   str(artifact)])
    return report


def latest_report(store: Store) -> dict[str, Any]:
    """The report of the latest trained churn model."""
    row = store.fetchone("SELECT report FROM model_runs WHERE model = ? ORDER BY trained_at DESC LIMIT 1",
                         [MODEL_NAME])
    if row is None:
        raise NotFoundError("no churn model has been trained yet: run `cxlens churn train`")
    return dict(jsonutil.loads(row[0]))


def load_latest(store: Store) -> tuple[dict[str, Any], dict[str, Any]]:
    """(report, bundle) of the latest trained churn model."""
    report = latest_report(store)
    path = Path(report["artifact"])
    if not path.is_file():
        raise NotFoundError(f"the churn model file {path} is missing: run `cxlens churn train` again")
    return report, joblib.load(path)


def score_churn(store: Store, engine: Engine, *, as_of: datetime | str | None = None, top: int = 10,
                consent_defaults: dict[str, bool] | None = None) -> dict[str, Any]:
    """Score every buyer with the latest model; return trait rows and the top at-risk customers.

    ``traits`` are rows for ``profiles.computed.write_computed_traits`` (name ``churn_risk``). The
    ``top`` list flags who may be contacted (current marketing consent, ``consent_current``).
    """
    if top < 0:
        raise InvalidInputError(f"--top must be 0 or more, got {top}")
    report, bundle = load_latest(store)
    model: ChurnModel = bundle["model"]
    data = churn_frame(engine, to_utc(as_of) if as_of is not None else default_as_of(engine),
                       bundle["horizon_days"], levels=bundle["levels"], labels=False,
                       consent_defaults=consent_defaults)
    risk = model.predict_proba(data.X)[:, 1]
    reasons = model.explain(data.X)
    rank = pd.Series(risk, index=data.X.index).rank(ascending=False, method="first").to_numpy()
    deciles = np.minimum(((rank - 1) * 10 // len(rank)).astype(int) + 1, 10)
    # The risk is a plain number so audience rules can say `churn_risk >= 0.7`; why sits beside it.
    version = report["model_version"]
    traits = [trait for cid, p, d, why in zip(data.X.index, risk, deciles, reasons, strict=True)
              for trait in (
                  {"customer_id": cid, "name": "churn_risk", "model": MODEL_NAME, "model_version": version,
                   "value": round(float(p), 4)},
                  {"customer_id": cid, "name": "churn_reasons", "model": MODEL_NAME, "model_version": version,
                   "value": {"decile": int(d), "as_of": data.cutoff.isoformat(),
                             "horizon_days": bundle["horizon_days"], "reasons": [r["text"] for r in why]}})]
    contactable = {r[0] for r in store.fetchall(
        "SELECT customer_id FROM consent_current WHERE purpose = 'marketing' AND granted")}
    best = np.argsort(-risk, kind="stable")[:top]
    at_risk = [{"customer_id": data.X.index[i], "churn_risk": round(float(risk[i]), 4),
                "contactable": data.X.index[i] in contactable, "reasons": reasons[i]} for i in best]
    return {"model": MODEL_NAME, "model_version": report["model_version"], "as_of": data.cutoff,
            "customers": len(data.X), "mean_risk": float(risk.mean()), "top": at_risk, "traits": traits}
