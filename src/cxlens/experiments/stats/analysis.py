"""One call that analyses an experiment from per-variant sufficient statistics.

``compare(spec)`` takes the variants of one or more metrics (the first variant is the control), runs
the chosen method for every treatment, both as relative and absolute effect, checks the sample ratio
against the planned weights, corrects p-values across goal metrics × treatments (Holm or
Benjamini–Hochberg) and flags guardrail metrics that a treatment credibly harms.
"""

from __future__ import annotations

import logging
from typing import Any

from cxlens.errors import InvalidInputError
from cxlens.experiments.stats.health import (
    CORRECTIONS,
    SRM_THRESHOLD,
    adjust_p_values,
    is_harmful,
    srm_p_value,
)
from cxlens.experiments.stats.inference import DEFAULT_TUNING, METHODS, Prior, run_test
from cxlens.experiments.stats.statistics import METRIC_TYPES, Statistic, statistic_from_record

log = logging.getLogger(__name__)


def _metric_specs(spec: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(spec, dict):
        raise InvalidInputError("the input must be a JSON object with 'metric' and 'variants' (or 'metrics')")
    if "metrics" in spec:
        metrics = spec["metrics"]
        if not isinstance(metrics, list) or not metrics:
            raise InvalidInputError("'metrics' must be a non-empty list of metric objects", field="metrics")
        return metrics
    return [{"name": spec.get("name", "metric"), **{k: v for k, v in spec.items() if k != "weights"}}]


def _variants(metric: dict[str, Any], where: str) -> list[dict[str, Any]]:
    variants = metric.get("variants")
    if not isinstance(variants, list) or len(variants) < 2:
        raise InvalidInputError(f"{where}: 'variants' needs at least two arms (control first, then "
                                "treatments); got " + (str(len(variants)) if isinstance(variants, list)
                                                        else repr(variants)), field="variants")
    for i, v in enumerate(variants):
        if not isinstance(v, dict):
            raise InvalidInputError(f"{where}: variant {i} must be an object with name, n, sum, sum_squares; "
                                    f"got {v!r}", field="variants")
    names = [str(v.get("name", f"variant {i}")) for i, v in enumerate(variants)]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"{where}: variant names must be unique, got {names}", field="variants")
    return variants


def _check_settings(method: str, alpha: float, correction: str, tuning: float) -> None:
    if method not in METHODS:
        raise InvalidInputError(f"unknown method {method!r}; use one of {', '.join(METHODS)}", field="method")
    if not 0 < alpha < 1:
        raise InvalidInputError(f"alpha must be between 0 and 1 (e.g. 0.05), got {alpha}", field="alpha")
    if correction not in CORRECTIONS:
        raise InvalidInputError(f"unknown correction {correction!r}; use one of {', '.join(CORRECTIONS)}",
                                field="correction")
    if tuning <= 0:
        raise InvalidInputError(f"the sequential tuning parameter must be positive, got {tuning}",
                                field="tuning")


def _prior(metric: dict[str, Any]) -> Prior | None:
    raw = metric.get("prior")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInputError("prior must be an object with mean, variance, proper", field="prior")
    try:
        prior = Prior(mean=float(raw.get("mean", 0.0)), variance=float(raw.get("variance", 0.25)),
                      proper=bool(raw.get("proper", False)), scale=raw.get("scale", "relative"))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"prior: mean and variance must be numbers ({exc})", field="prior") from exc
    if prior.variance <= 0 or prior.scale not in ("relative", "absolute"):
        raise InvalidInputError("prior: variance must be positive and scale 'relative' or 'absolute'",
                                field="prior")
    return prior


def _analyse_metric(metric: dict[str, Any], index: int, method: str, alpha: float,
                    tuning: float) -> dict[str, Any]:
    name = str(metric.get("name", f"metric {index}"))
    where = f"metric {name!r}"
    kind = metric.get("metric", metric.get("type", "mean"))
    if kind not in METRIC_TYPES:
        raise InvalidInputError(f"{where}: unknown metric type {kind!r}; "
                                f"use one of {', '.join(METRIC_TYPES)}", field="metric")
    variants = _variants(metric, where)
    stats: list[Statistic] = [
        statistic_from_record(kind, v, f"{where}, variant {v.get('name', i) if isinstance(v, dict) else i!r}")
        for i, v in enumerate(variants)
    ]
    inverse = bool(metric.get("inverse", False))
    prior = _prior(metric)
    control, control_name = stats[0], str(variants[0].get("name", "control"))
    results = []
    for variant, stat in zip(variants[1:], stats[1:], strict=True):
        tests = {dt: run_test(method, control, stat, alpha=alpha, difference_type=dt, tuning=tuning,
                              prior=prior, inverse=inverse).as_dict()
                 for dt in ("relative", "absolute")}
        results.append({"variant": str(variant.get("name")), "n": stat.n, "mean": stat.unadjusted_mean,
                        **tests})
    return {"name": name, "type": kind, "guardrail": bool(metric.get("guardrail", False)),
            "inverse": inverse, "control": {"variant": control_name, "n": control.n,
                                            "mean": control.unadjusted_mean},
            "results": results}


def _decide(metrics: list[dict[str, Any]], method: str, alpha: float, correction: str) -> list[dict]:
    """Attach corrected p-values, significance and guardrail verdicts; return the breaches."""
    goal = [(m, r) for m in metrics if not m["guardrail"] for r in m["results"]]
    adjusted = adjust_p_values([r["relative"]["p_value"] for _, r in goal], correction)
    for (_, result), p in zip(goal, adjusted, strict=True):
        result["p_value_adjusted"] = p
    breaches = []
    for metric in metrics:
        for result in metric["results"]:
            rel = result["relative"]
            if method == "bayesian":
                ctw = rel["chance_to_win"]
                result["significant"] = rel["error"] is None and (ctw > 1 - alpha or ctw < alpha)
            else:
                p = result.get("p_value_adjusted", rel["p_value"])
                result["significant"] = rel["error"] is None and p is not None and p < alpha
            harm = metric["guardrail"] and rel["error"] is None and is_harmful(
                ci=rel["ci"], chance_to_win=rel["chance_to_win"], inverse=metric["inverse"], alpha=alpha,
                p_value=rel["p_value"])
            result["harm"] = harm
            if harm:
                breaches.append({"metric": metric["name"], "variant": result["variant"],
                                 "expected": rel["expected"], "ci": rel["ci"]})
    return breaches


def compare(spec: dict[str, Any], *, method: str = "frequentist", alpha: float = 0.05,
            correction: str = "holm", tuning: float = DEFAULT_TUNING) -> dict[str, Any]:
    """Analyse every treatment against the control for every metric in ``spec``.

    ``spec`` is ``{"metric": type, "variants": [...], "weights": [...]}`` for one metric or
    ``{"metrics": [{"name", "metric", "variants", "guardrail", "inverse", "prior"}], "weights": [...]}``.
    """
    _check_settings(method, alpha, correction, tuning)
    metric_specs = _metric_specs(spec)
    metrics = [_analyse_metric(m, i, method, alpha, tuning) for i, m in enumerate(metric_specs)]
    names = [metrics[0]["control"]["variant"], *(r["variant"] for r in metrics[0]["results"])]
    for metric in metrics[1:]:
        other = [metric["control"]["variant"], *(r["variant"] for r in metric["results"])]
        if other != names:
            raise InvalidInputError(f"metric {metric['name']!r} has variants {other}, but the first metric "
                                    f"has {names}; every metric must list the same variants in order",
                                    field="variants")
    breaches = _decide(metrics, method, alpha, correction)
    srm = None
    weights = spec.get("weights")
    if weights is not None:
        if not isinstance(weights, list) or not all(isinstance(w, int | float) for w in weights):
            raise InvalidInputError("weights must be a list of numbers, one per variant", field="weights")
        users = [metrics[0]["control"]["n"], *(r["n"] for r in metrics[0]["results"])]
        p = srm_p_value(users, weights)
        srm = {"p_value": p, "mismatch": p < SRM_THRESHOLD, "threshold": SRM_THRESHOLD,
               "users": users, "expected_weights": weights}
        if srm["mismatch"]:
            log.warning("sample ratio mismatch (p=%.3g): results are not trustworthy", p)
    return {"method": method, "alpha": alpha, "correction": correction, "variants": names,
            "srm": srm, "metrics": metrics, "guardrail_breaches": breaches}
