"""Analysing a registered experiment from the store, and the verdict a team acts on.

The registry supplies the variants, planned weights and metrics; the landed metric queries
(:func:`cxlens.experiments.metrics.analyze_experiment`) compute each variant's sufficient statistics
in the store, and the landed stats engine compares them — sample-ratio check against the planned
weights, Holm / Benjamini–Hochberg correction over goal metrics × treatments, guardrail verdicts.
This module adds only the verdict, in this order of precedence:

1. ``invalid`` — a sample-ratio mismatch: the assignment or the logging is broken, no result is
   trustworthy;
2. ``harmful`` — a guardrail metric is credibly harmed;
3. ``ship`` — some treatment credibly improves a goal metric (after correction);
4. ``inconclusive`` — otherwise.

A ``rollout`` phase analyses the current rollout stage's exposures (``KEY:rollout:PCT``: control vs
the rolled-out variant, planned weights 1 − coverage and coverage), which is what the guardrail
check before the next rollout stage runs on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from cxlens.errors import InvalidInputError
from cxlens.experiments.metrics import analyze_experiment
from cxlens.experiments.registry import get_experiment, rollout_key
from cxlens.store import Store

Phase = Literal["pilot", "rollout"]


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """``invalid`` | ``harmful`` | ``ship`` | ``inconclusive``, with the winning treatment if any."""
    if result["srm"] and result["srm"]["mismatch"]:
        return {
            "verdict": "invalid",
            "reason": f"sample ratio mismatch (p = {result['srm']['p_value']:.2g}): "
            "check assignment and exposure logging before reading any metric",
        }
    if result["guardrail_breaches"]:
        names = ", ".join(f"{b['metric']} ({b['variant']})" for b in result["guardrail_breaches"])
        return {"verdict": "harmful", "reason": f"guardrail breached: {names}"}
    winners = [
        (m["name"], r)
        for m in result["metrics"]
        if not m["guardrail"]
        for r in m["results"]
        if r["significant"] and r["relative"]["expected"] * (-1 if m["inverse"] else 1) > 0
    ]
    if winners:
        metric, best = max(winners, key=lambda w: w[1]["relative"]["expected"])
        return {
            "verdict": "ship",
            "variant": best["variant"],
            "metric": metric,
            "reason": f"{best['variant']} improves {metric} by {best['relative']['expected']:+.1%} "
            f"(CI {best['relative']['ci'][0]:+.1%} to {best['relative']['ci'][1]:+.1%})",
        }
    return {"verdict": "inconclusive", "reason": "no goal metric moved credibly; keep running or stop"}


def analyze(
    store: Store,
    key: str,
    *,
    phase: Phase = "pilot",
    method: str = "frequentist",
    alpha: float = 0.05,
    correction: str = "holm",
) -> dict[str, Any]:
    """Run the registered experiment's metrics through the stats engine; adds the verdict."""
    if phase not in ("pilot", "rollout"):
        raise InvalidInputError(f"unknown phase {phase!r}; use pilot or rollout", field="phase")
    definition = get_experiment(store, key)
    if phase == "rollout":
        if definition.rollout is None:
            raise InvalidInputError(
                f"experiment {key!r} has no rollout yet; scale the pilot first", field="phase"
            )
        coverage = definition.rollout.coverage
        variants = [definition.variants[0], definition.rollout.variant]
        weights = [1.0 - coverage, coverage]
        exposure_key = rollout_key(definition)
    else:
        variants, weights, exposure_key = definition.variants, definition.planned_weights, key
    result = analyze_experiment(
        store,
        exposure_key,
        definition.to_metrics(),
        variants=variants,
        weights=weights if all(w > 0 for w in weights) else None,
        method=method,
        alpha=alpha,
        correction=correction,
    )
    result.update(
        {
            "experiment_key": key,
            "phase": phase,
            "analyzed_at": datetime.now(UTC),
            "definition": definition.model_dump(),
            **verdict(result),
        }
    )
    return result


def guardrail_check(store: Store, key: str, *, alpha: float = 0.05) -> dict[str, Any]:
    """The check before a rollout stage: no sample-ratio mismatch and no guardrail breach."""
    definition = get_experiment(store, key)
    phase: Phase = (
        "rollout"
        if definition.rollout is not None
        and store.scalar("SELECT count(*) FROM exposures WHERE experiment_key = ?", [rollout_key(definition)])
        else "pilot"
    )
    result = analyze(store, key, phase=phase, alpha=alpha)
    srm_ok = not (result["srm"] and result["srm"]["mismatch"])
    passed = srm_ok and not result["guardrail_breaches"]
    return {
        "passed": passed,
        "phase": phase,
        "srm_ok": srm_ok,
        "breaches": result["guardrail_breaches"],
        "verdict": result["verdict"],
        "reason": result["reason"],
        "analysis": result,
    }
