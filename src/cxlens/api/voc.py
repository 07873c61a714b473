"""HTTP routes for voice-of-the-customer analytics: scores from the store, text, drivers, models.

Admin Bearer key. Text and table inputs are bounded so one request cannot occupy the server for
long; bigger jobs belong to the CLI (`cxlens voc …`) or a scheduled `cxlens learn`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cxlens.api.deps import require_admin, runtime
from cxlens.api.runtime import Runtime
from cxlens.keys import ApiKey
from cxlens.voc.drivers import driver_analysis
from cxlens.voc.guided_themes import classify_comments
from cxlens.voc.measurement import fit_measurement_model
from cxlens.voc.score_store import report_from_store
from cxlens.voc.sentiment import score_texts
from cxlens.voc.themes import summarize_themes

router = APIRouter(prefix="/v1/voc", tags=["voice of the customer"])
MAX_TEXTS = 20_000
MAX_ROWS = 100_000


class Texts(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=MAX_TEXTS)


class SentimentRequest(Texts):
    model: str = "vader"
    explain: bool = False


class ThemesRequest(Texts):
    n_themes: int = Field(8, ge=1, le=200)
    seeds: dict[str, list[str]] | None = None


class TaxonomyRequest(Texts):
    taxonomy: dict[str, list[str]] = Field(min_length=2)


class Rows(BaseModel):
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ROWS)


class DriversRequest(Rows):
    target: str
    drivers: list[str] | None = None


class ModelRequest(Rows):
    spec: str = Field(min_length=1, description="lavaan-style: '=~' measurement and '~' structural lines")
    method: str = "sem"
    bootstrap: int = Field(200, ge=0, le=5_000)


@router.get("/scores/{metric}")
async def scores(metric: str, by: str = "", period: str | None = None, compare: str | None = None,
                 rt: Runtime = Depends(runtime), _: ApiKey = Depends(require_admin)) -> dict[str, Any]:
    """NPS / CSAT / CES with intervals per group and period, from the stored answers."""
    groups = [g.strip() for g in by.split(",") if g.strip()]
    return await run_in_threadpool(report_from_store, rt.store, metric, by=groups, period=period,
                                   compare_to=compare)  # type: ignore[arg-type]


@router.post("/sentiment")
async def sentiment(body: SentimentRequest, _: ApiKey = Depends(require_admin)) -> dict[str, Any]:
    frame = await run_in_threadpool(score_texts, body.texts, body.model, explain=body.explain)
    return {"model": body.model, "results": frame.to_dict(orient="records")}


@router.post("/themes")
async def themes(body: ThemesRequest, _: ApiKey = Depends(require_admin)) -> dict[str, Any]:
    report = await run_in_threadpool(summarize_themes, body.texts, n_themes=body.n_themes, seeds=body.seeds)
    return report.to_dict()


@router.post("/taxonomy")
async def taxonomy(body: TaxonomyRequest, _: ApiKey = Depends(require_admin)) -> dict[str, Any]:
    return await run_in_threadpool(classify_comments, body.texts, body.taxonomy)


@router.post("/drivers")
async def drivers(body: DriversRequest, _: ApiKey = Depends(require_admin)) -> dict[str, Any]:
    analysis = await run_in_threadpool(driver_analysis, pd.DataFrame(body.rows), body.target, body.drivers)
    return analysis.summary()


@router.post("/model")
async def model(body: ModelRequest, _: ApiKey = Depends(require_admin)) -> dict[str, Any]:
    return await run_in_threadpool(fit_measurement_model, body.spec, pd.DataFrame(body.rows),
                                   method=body.method, n_bootstrap=body.bootstrap)
