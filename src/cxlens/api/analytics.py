"""HTTP routes of the analytics room: the churn model's report and one customer's features (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from cxlens.api.deps import require_admin, runtime
from cxlens.errors import NotFoundError
from cxlens.features import build_features, duckdb_engine
from cxlens.keys import ApiKey
from cxlens.predict.churn_report import latest_report

router = APIRouter(tags=["analytics"])
Admin = Annotated[ApiKey, Depends(require_admin)]


@router.get("/v1/models/churn/report")
def churn_report(request: Request, _: Admin) -> dict[str, Any]:
    """Holdout metrics, the RFM baseline comparison and importances of the latest churn model."""
    return latest_report(runtime(request).store)


@router.get("/v1/customers/{customer_id}/features")
def customer_features(request: Request, customer_id: str, _: Admin,
                      as_of: Annotated[str | None, Query(description="ISO date; default now")] = None,
                      ) -> dict[str, Any]:
    """One customer's features as of a moment (only what was recorded before it)."""
    rt = runtime(request)
    fs = build_features(duckdb_engine(rt.store), as_of, customers=[customer_id],
                        consent_defaults=rt.settings.consent_defaults)
    if fs.frame.empty:
        raise NotFoundError(f"no events or orders of customer {customer_id!r} before {fs.as_of.isoformat()}",
                            customer_id=customer_id)
    [row] = fs.to_dict()["features"]
    row.pop("customer_id")
    return {"customer_id": customer_id, "as_of": fs.as_of, "features": row}
