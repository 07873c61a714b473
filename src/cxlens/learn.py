"""The learning job: every analytics stage over the store, in dependency order.

``cxlens demo`` runs it after loading the demo business, and ``cxlens learn`` runs it on any
store. Each stage is independent enough that one failing for lack of data (a store with no
comments, too few buyers to cluster) is reported and the others still run: a new store fills
in gradually instead of all-or-nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cxlens.config import Settings
from cxlens.errors import CxlensError
from cxlens.features import open_engine
from cxlens.predict.churn_report import evaluate_churn, save_training, score_churn
from cxlens.predict.clv.store import score_store, write_clv_traits
from cxlens.predict.timing import score_timing
from cxlens.privacy.consent import sync_defaults
from cxlens.profiles.computed import write_computed_traits
from cxlens.recommend.service import train as train_recommenders
from cxlens.segments.build import build_segments
from cxlens.store import Store
from cxlens.voc.comment_scores import label_shares, score_comments, write_sentiment_traits
from cxlens.voc.loop import run_loop

log = logging.getLogger(__name__)


@dataclass
class StageResult:
    name: str
    status: str  # ok | skipped
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


def _sentiment(store: Store, settings: Settings) -> dict[str, Any]:
    scored = score_comments(store)
    return {"comments": scored, "traits": write_sentiment_traits(store), "labels": label_shares(store)}


def _clv(store: Store, settings: Settings) -> dict[str, Any]:
    result = score_store(store)
    return {"customers": len(result.scores), "traits": write_clv_traits(store, result),
            "params": result.report["purchases"].get("params")}


def _churn(store: Store, settings: Settings) -> dict[str, Any]:
    with open_engine(store) as engine:
        training = evaluate_churn(engine, consent_defaults=settings.consent_defaults)
        report = save_training(store, settings.data_dir / "models", training)
        scored = score_churn(store, engine, consent_defaults=settings.consent_defaults)
    return {"verdict": report["comparison"]["verdict"], "auc": report["metrics"]["auc"],
            "traits": write_computed_traits(store, scored.pop("traits")),
            "mean_risk": scored["mean_risk"]}


def _timing(store: Store, settings: Settings) -> dict[str, Any]:
    with open_engine(store) as engine:
        result = score_timing(store, engine, consent_defaults=settings.consent_defaults)
    return {"traits": write_computed_traits(store, result.pop("traits"))}


def _segments(store: Store, settings: Settings) -> dict[str, Any]:
    report = build_segments(store, write_computed_traits, consent_defaults=settings.consent_defaults)
    clusters = report.get("clusters") or {}
    return {"customers": report.get("customers"), "clusters": clusters.get("k")}


def _recommend(store: Store, settings: Settings) -> dict[str, Any]:
    trained = train_recommenders(store, settings.data_dir)
    return {"version": trained["version"], "models": trained["models"]}


def _loop(store: Store, settings: Settings) -> dict[str, Any]:
    return run_loop(store)


# Sentiment first (features read it), CLV before churn (its traits are churn inputs), the loop last.
STAGES: tuple[tuple[str, Callable[[Store, Settings], dict[str, Any]]], ...] = (
    ("sentiment", _sentiment),
    ("clv", _clv),
    ("churn", _churn),
    ("timing", _timing),
    ("segments", _segments),
    ("recommend", _recommend),
    ("closed loop", _loop),
)


def run_learning(store: Store, settings: Settings,
                 on_stage: Callable[[str], None] | None = None) -> list[StageResult]:
    """Run every stage; a stage that cannot run on this data is reported as skipped, with why."""
    sync_defaults(store, settings)
    results = []
    for name, stage in STAGES:
        if on_stage:
            on_stage(name)
        started = time.perf_counter()
        try:
            summary = stage(store, settings)
            results.append(StageResult(name, "ok", round(time.perf_counter() - started, 2), summary))
        except CxlensError as exc:
            log.info("learning stage %s skipped: %s", name, exc.message)
            results.append(StageResult(name, "skipped", round(time.perf_counter() - started, 2),
                                       reason=exc.message))
    return results
