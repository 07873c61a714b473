"""What a decision is asked with: the placements, and the validated request and feedback shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cxlens.config import CONSENT_PURPOSES


@dataclass(frozen=True)
class Placement:
    """Where a decision is shown: its channel, whether we reach out (outbound) or answer a visit."""

    channel: str
    outbound: bool
    context_item: bool = False  # the page or cart names products the answer should relate to


PLACEMENTS: dict[str, Placement] = {
    "home": Placement("web", outbound=False),
    "product_page": Placement("web", outbound=False, context_item=True),
    "cart": Placement("web", outbound=False, context_item=True),
    "search": Placement("web", outbound=False),
    "app_home": Placement("app", outbound=False),
    "email": Placement("email", outbound=True),
    "app_push": Placement("app_push", outbound=True),
    "sms": Placement("sms", outbound=True),
}


class DecideContext(BaseModel):
    """What the caller knows about the moment; every field is optional."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    device: Literal["desktop", "mobile", "tablet", "app", "other"] | None = None
    page: str | None = Field(default=None, max_length=2_000)
    product_id: str | None = Field(default=None, max_length=200, alias="productId")
    cart: list[str] = Field(default_factory=list, max_length=200)
    location: str | None = Field(default=None, max_length=200,
                                 description="City or region, for local popularity.")
    local_time: datetime | None = Field(default=None, alias="localTime",
                                        description="The person's local time with its UTC offset.")
    timezone: str | None = Field(default=None, max_length=64, description="IANA zone, e.g. Europe/Berlin.")
    consent: dict[str, bool] | None = Field(default=None, description="Choices the page knows right now; a "
                                            "refusal here wins over the stored consent.")

    @field_validator("local_time")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("localTime needs a UTC offset, e.g. 2025-06-01T21:30:00+02:00")
        return value

    @field_validator("consent")
    @classmethod
    def _purposes(cls, value: dict[str, bool] | None) -> dict[str, bool] | None:
        """Only known purposes: a misspelt one ("personalisation") was ignored, so a refusal the page
        knew of did not count and the answer was personalized all the same."""
        unknown = sorted(set(value or ()) - set(CONSENT_PURPOSES))
        if unknown:
            raise ValueError(f"unknown purpose {unknown[0]!r}; purposes: {', '.join(CONSENT_PURPOSES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}; use an IANA name like Europe/Berlin") from exc
        return value


class DecideRequest(BaseModel):
    """``POST /v1/decide``: who (any identifier, an anonymous id, or nobody), where, and the moment."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    identifier: str | None = Field(None, max_length=500, description="Any identifier cxlens knows a person "
                                   "by (customer id, email:…, user id …).")
    anonymous_id: str | None = Field(None, max_length=500, alias="anonymousId")
    placement: str
    context: DecideContext = Field(default_factory=DecideContext)
    k: int = Field(5, ge=1, le=50, description="How many items to return.")

    @field_validator("placement")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in PLACEMENTS:
            raise ValueError(f"unknown placement {value!r}; valid placements: {', '.join(PLACEMENTS)}")
        return value


FEEDBACK_REWARD = {"impression": 0.0, "click": 1.0, "conversion": 1.0}


class FeedbackRequest(BaseModel):
    """``POST /v1/decide/feedback``: what happened to a decision's item or offer."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    decision_id: str = Field(..., max_length=100, alias="decisionId")
    item_id: str = Field(..., max_length=200, alias="itemId")
    event: Literal["impression", "click", "conversion"]

    @field_validator("decision_id", "item_id")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        """Checked per field, so the error names the one that is blank (not the body as a whole)."""
        if not value.strip():
            raise ValueError("must not be empty")
        return value
