"""The two things the faces ask for: fit a CLV model from a file, and score customers with it.

A fitted "model file" is a JSON bundle: the main model (purchase, BG/BB or sBG) and, when amounts
were given, the Gamma-Gamma spend model fitted on the same customers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxlens import jsonutil
from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.predict.clv.base import MaximumLikelihoodModel
from cxlens.predict.clv.bgbb import BetaGeoBetaBinomModel
from cxlens.predict.clv.gammagamma import GammaGammaModel
from cxlens.predict.clv.purchases import RepeatPurchaseModel
from cxlens.predict.clv.sbg import ShiftedBetaGeoModel
from cxlens.predict.clv.value import customer_lifetime_value
from cxlens.predict.summary import SummaryResult, days_per_period, summarize_transactions
from cxlens.predict.validation import holdout_report

logger = logging.getLogger(__name__)

PURCHASE_MODELS = ("bgnbd", "pareto", "mbgnbd")
MODELS = (*PURCHASE_MODELS, "gammagamma", "bgbb", "sbg")
BUNDLE_FORMAT = "cxlens.clv-bundle/1"


def read_table(path: Path | str, *, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file (chosen by extension) into a DataFrame.

    ``text_columns`` are read from CSV as text: customer ids such as ``00004`` would otherwise be
    parsed as numbers and come back as ``4``, no longer matching the customers they belong to.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"file not found: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=dict.fromkeys(text_columns, str))
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc


def write_table(frame: pd.DataFrame, path: Path | str) -> None:
    """Write scores as Parquet (``.parquet``/``.pq``) or CSV (anything else)."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path)


@dataclass(frozen=True)
class DataSpec:
    """Where the customers come from: a transaction log or a ready per-customer summary."""

    transactions: Path | None = None
    summary: Path | None = None
    customer_col: str = "customer_id"
    date_col: str = "date"
    amount_col: str | None = None
    period: str = "week"
    calibration_end: str | None = None
    observation_end: str | None = None


def load_customers(spec: DataSpec) -> tuple[pd.DataFrame, SummaryResult | None]:
    """The per-customer frame a model reads, plus the transaction summary facts when built from one."""
    days_per_period(spec.period)
    if (spec.transactions is None) == (spec.summary is None):
        raise InvalidInputError("give exactly one of a transaction file (--transactions) or a summary "
                                "file (--summary)")
    if spec.summary is not None:
        frame = read_table(spec.summary, text_columns=("customer_id",))
        if "customer_id" in frame.columns:
            frame = frame.set_index("customer_id")
        return frame, None
    assert spec.transactions is not None
    result = summarize_transactions(
        read_table(spec.transactions, text_columns=(spec.customer_col,)),
        customer_col=spec.customer_col, date_col=spec.date_col,
        amount_col=spec.amount_col, period=spec.period,  # type: ignore[arg-type]
        calibration_end=spec.calibration_end, observation_end=spec.observation_end,
    )
    return result.summary, result


def _has_spend(frame: pd.DataFrame) -> bool:
    return "monetary_value" in frame.columns


def fit(model: str, spec: DataSpec, *, penalizer_coef: float = 0.0) -> dict[str, Any]:
    """Fit ``model`` on the customers in ``spec``; return the report and the savable bundle.

    For purchase models with amounts, the Gamma-Gamma spend model is fitted alongside so the
    bundle can score CLV. With a calibration end, the holdout validation report is included.
    """
    if model not in MODELS:
        raise InvalidInputError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    frame, facts = load_customers(spec)
    period = spec.period
    main: Any = MaximumLikelihoodModel.registry[model](penalizer_coef=penalizer_coef, period=period)
    main.fit(frame)  # every registered model defines fit; the base class only holds the plumbing
    report: dict[str, Any] = {**main.fit_report(), "customers": int(len(frame))}
    bundle: dict[str, Any] = {"format": BUNDLE_FORMAT, "model": main.to_dict()}
    if model in PURCHASE_MODELS and _has_spend(frame):
        spend = GammaGammaModel(penalizer_coef=penalizer_coef, period=period).fit(frame)
        report["spend"] = spend.fit_report()
        bundle["spend"] = spend.to_dict()
    if facts is not None:
        report["data"] = {"period": facts.period, "calibration_end": facts.calibration_end,
                          "observation_end": facts.observation_end}
        if facts.holdout_length is not None and model in PURCHASE_MODELS:
            report["validation"] = holdout_report(main, frame, facts.holdout_length)
    logger.info("fitted %s on %d rows", model, len(frame))
    return {"report": report, "bundle": bundle}


def save_bundle(bundle: dict[str, Any], path: Path | str) -> None:
    Path(path).write_bytes(jsonutil.dumps(bundle, indent=True))


def load_bundle(path: Path | str) -> tuple[MaximumLikelihoodModel, GammaGammaModel | None]:
    """Read a model file written by :func:`save_bundle`."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"model file not found: {path}")
    try:
        data = jsonutil.loads(path.read_bytes())
    except jsonutil.JSONDecodeError as exc:
        raise InvalidInputError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise InvalidInputError(f"{path} is not a cxlens CLV model file; write one with "
                                "`cxlens clv fit --save FILE`")
    main = MaximumLikelihoodModel.from_dict(data["model"])
    spend = MaximumLikelihoodModel.from_dict(data["spend"]) if data.get("spend") else None
    return main, spend  # type: ignore[return-value]


def score(model_file: Path | str, spec: DataSpec, *, horizon: int = 12, discount_rate: float = 0.01
          ) -> pd.DataFrame:
    """Per-customer (or per-period, for sBG) predictions from a saved model.

    Purchase models: ``p_alive``, ``expected_purchases`` over ``horizon`` months and, with a spend
    model and amounts, ``expected_spend`` per purchase and discounted ``clv`` at the monthly
    ``discount_rate``. BG/BB: ``p_alive`` and expected transactions in the next ``horizon``
    opportunities. sBG: survival and retention for periods 0..``horizon``.
    """
    if horizon < 0:  # checked here, in the unit the user typed, before any model converts it
        raise InvalidInputError(f"--horizon must be 0 or more (months; BG/BB: opportunities; sBG: periods), "
                                f"got {horizon}", horizon=horizon)
    main, spend = load_bundle(model_file)
    if isinstance(main, ShiftedBetaGeoModel):
        t = np.arange(horizon + 1)
        retention = np.append(np.nan, main.retention_rate(horizon))
        return pd.DataFrame({"period": t, "survival": main.survival(horizon), "retention_rate": retention})
    frame, _ = load_customers(DataSpec(**{**spec.__dict__, "period": main.period,
                                          "calibration_end": None}))
    if isinstance(main, BetaGeoBetaBinomModel):
        return pd.DataFrame({"p_alive": main.predict_probability_alive(frame),
                             "expected_purchases": main.predict_purchases(frame, horizon)},
                            index=frame.index)
    if isinstance(main, GammaGammaModel):
        return pd.DataFrame({"expected_spend": main.predict_spend(frame)}, index=frame.index)
    assert isinstance(main, RepeatPurchaseModel)
    per_month = 365.25 / 12 / days_per_period(main.period)
    out = pd.DataFrame({
        "frequency": frame["frequency"], "recency": frame["recency"], "T": frame["T"],
        "p_alive": main.predict_probability_alive(frame),
        "expected_purchases": main.predict_purchases(frame, horizon * per_month),
    }, index=frame.index)
    if spend is not None and _has_spend(frame):
        out["expected_spend"] = spend.predict_spend(frame)
        out["clv"] = customer_lifetime_value(main, spend, frame, months=horizon, discount_rate=discount_rate)
    return out
