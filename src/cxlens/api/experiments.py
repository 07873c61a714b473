"""HTTP routes of experiments: the assignment endpoint for client apps, and the registry (admin).

``GET /v1/experiments/assign?experiment=KEY&unit=ID`` takes a **write key** (HTTP Basic user name,
as Segment SDKs send it): client apps already hold one, and an admin key must never ship inside an
app. A write key can only learn a unit's variant and record its exposure; creating, changing and
analysing experiments takes an admin key (Bearer).
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Body, Depends, Query, Request

from cxlens.api.deps import require_admin, require_write, runtime
from cxlens.experiments.analyze import Phase, analyze
from cxlens.experiments.registry import assign, create_experiment, get_experiment, list_experiments
from cxlens.keys import ApiKey

router = APIRouter(tags=["experiments"], prefix="/v1/experiments")
Admin = Annotated[ApiKey, Depends(require_admin)]
Write = Annotated[ApiKey, Depends(require_write)]


@router.get("/assign")
def get_assignment(
    request: Request,
    _: Write,
    experiment: Annotated[str, Query(min_length=1)],
    unit: Annotated[str, Query(min_length=1)],
) -> dict[str, Any]:
    """The unit's sticky variant (null when not in the experiment); records the first exposure."""
    return assign(runtime(request).store, experiment, unit)


@router.get("")
def get_experiments(request: Request, _: Admin) -> list[dict[str, Any]]:
    return list_experiments(runtime(request).store)


@router.post("", status_code=201)
def post_experiment(request: Request, _: Admin, definition: Annotated[dict[str, Any], Body()]) -> dict:
    """Register an experiment (the definition of docs/journeys.md#experiments-from-the-store)."""
    return create_experiment(runtime(request).store, definition).model_dump()


@router.get("/{key}")
def get_definition(request: Request, _: Admin, key: str) -> dict[str, Any]:
    return get_experiment(runtime(request).store, key).model_dump()


@router.get("/{key}/analysis")
def get_analysis(
    request: Request,
    _: Admin,
    key: str,
    phase: str = "pilot",
    method: str = "frequentist",
    alpha: float = 0.05,
    correction: str = "holm",
) -> dict[str, Any]:
    """Per-variant results with intervals, SRM check, corrected p-values, guardrails and the verdict."""
    return analyze(
        runtime(request).store,
        key,
        phase=cast("Phase", phase),  # analyze refuses any other phase with a 400
        method=method,
        alpha=alpha,
        correction=correction,
    )
