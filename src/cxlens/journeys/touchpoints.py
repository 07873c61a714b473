"""The touchpoint catalogue: every place a customer meets the business, who owns it, which stage it serves.

Ownership follows Lemon & Verhoef's four touchpoint categories — **brand**-owned (designed and
controlled by the firm: website, app, e-mail, stores), **partner**-owned (jointly run: carriers,
paid media, marketplaces), **customer**-owned (the customer's own acts: reviews, referrals) and
**external** (social, independent sites) — because what a team can change depends on who owns the
touchpoint.

An event's touchpoint is the first catalogue entry it matches (by event name, message type, channel
or campaign medium); an event no entry matches keeps its channel as touchpoint (owner ``unknown``).
Feedback rows name their touchpoint directly (``feedback.touchpoint``), so experience scores join the
catalogue by name.

References
----------
Lemon, K. N. & Verhoef, P. C. (2016). Understanding Customer Experience Throughout the Customer
Journey. Journal of Marketing 80(6), 69–96.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxlens.errors import InvalidInputError
from cxlens.journeys.stages import (
    StageModel,
    event_filters,
    read_config_file,
    sql_list,
    sql_literal,
    stage_model_from_dict,
)

OWNERS = ("brand", "partner", "customer", "external")
MEDIUM_SQL = "json_extract_string(context, '$.campaign.medium')"


@dataclass(frozen=True)
class Touchpoint:
    """One touchpoint and how events are recognised as happening at it."""

    name: str
    owner: str
    stage: str | None = None
    description: str = ""
    events: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    mediums: tuple[str, ...] = ()

    def condition(self) -> str | None:
        parts = event_filters(self.events, self.types, self.channels)
        if self.mediums:
            parts.append(f"{MEDIUM_SQL} IN ({sql_list(self.mediums)})")
        return " AND ".join(parts) or None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "stage": self.stage,
            "description": self.description,
            "events": list(self.events),
            "types": list(self.types),
            "channels": list(self.channels),
            "mediums": list(self.mediums),
        }


DEFAULT_TOUCHPOINTS = (
    Touchpoint(
        "paid_media",
        "partner",
        "awareness",
        "paid search, display and affiliate campaigns",
        mediums=("cpc", "ppc", "paid", "display", "affiliate", "paid_social"),
    ),
    Touchpoint(
        "checkout",
        "brand",
        "purchase",
        "cart, checkout and payment",
        events=(
            "Checkout Started",
            "Checkout Step Viewed",
            "Checkout Step Completed",
            "Payment Info Entered",
            "Order Completed",
            "Cart Viewed",
            "/cart",
            "/checkout",
            "Cart",
            "Checkout",
        ),
    ),
    Touchpoint(
        "product",
        "brand",
        "consideration",
        "product pages and the catalogue",
        events=(
            "Product Viewed",
            "Product Clicked",
            "Product Added",
            "Product List Viewed",
            "/product",
            "/category",
            "Product",
        ),
    ),
    Touchpoint(
        "search",
        "brand",
        "awareness",
        "on-site search",
        events=("Products Searched", "Product List Filtered", "/search"),
    ),
    Touchpoint(
        "delivery",
        "partner",
        "service",
        "carriers and parcel delivery",
        events=("Order Shipped", "Order Delivered", "Delivery Delayed"),
    ),
    Touchpoint(
        "support",
        "brand",
        "service",
        "customer service (tickets, calls, chat)",
        events=(
            "Support Ticket Created",
            "Support Call",
            "Ticket Opened",
            "Chat Started",
            "Return Requested",
            "Order Refunded",
        ),
    ),
    Touchpoint("survey", "brand", "loyalty", "surveys the business sends", events=("Survey Responded",)),
    Touchpoint(
        "reviews",
        "customer",
        "loyalty",
        "reviews customers write",
        events=("Review Submitted", "Product Reviewed"),
    ),
    Touchpoint(
        "referral",
        "customer",
        "loyalty",
        "referrals and shares by customers",
        events=("Referral Sent", "Product Shared", "Cart Shared"),
    ),
    Touchpoint("email", "brand", "awareness", "newsletters and e-mail campaigns", channels=("email",)),
    Touchpoint(
        "social", "external", "awareness", "social networks and independent sites", channels=("social",)
    ),
    Touchpoint("call_center", "brand", "service", "phone orders and calls", channels=("call_center",)),
    Touchpoint("store", "brand", "purchase", "physical stores", channels=("store",)),
    Touchpoint("app", "brand", None, "the mobile app", channels=("app",)),
    Touchpoint("website", "brand", None, "the website", channels=("web",)),
)


@dataclass(frozen=True)
class Catalogue:
    """Touchpoints in matching order (the first that matches an event names its touchpoint)."""

    touchpoints: tuple[Touchpoint, ...] = DEFAULT_TOUCHPOINTS

    def __post_init__(self) -> None:
        names = [t.name for t in self.touchpoints]
        if len(set(names)) != len(names):
            raise InvalidInputError("touchpoint names must be unique", field="touchpoints")
        for t in self.touchpoints:
            if not t.name:
                raise InvalidInputError("a touchpoint needs a name", field="touchpoints")
            if t.owner not in OWNERS:
                raise InvalidInputError(
                    f"touchpoint {t.name!r}: unknown owner {t.owner!r}; use one of {', '.join(OWNERS)}",
                    field="touchpoints.owner",
                )

    def get(self, name: str) -> Touchpoint | None:
        return next((t for t in self.touchpoints if t.name == name), None)

    def case_sql(self) -> str:
        """SQL over an ``events`` row: its touchpoint name (the channel when no entry matches)."""
        whens = " ".join(
            f"WHEN {c} THEN {sql_literal(t.name)}"
            for t in self.touchpoints
            if (c := t.condition()) is not None
        )
        fallback = "coalesce(channel, '(none)')"
        return f"CASE {whens} ELSE {fallback} END" if whens else fallback

    def owner_of(self, name: str) -> str:
        found = self.get(name)
        return found.owner if found else "unknown"

    def to_list(self) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self.touchpoints]


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise InvalidInputError(f"{where} must be a list of strings", field=where)
    return tuple(raw)


def catalogue_from_dict(raw: Mapping[str, Any], model: StageModel) -> Catalogue:
    """The ``touchpoints`` list of a journey config (defaults when absent); stages are checked."""
    entries = raw.get("touchpoints")
    if entries is None:
        return Catalogue()
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InvalidInputError(
            "touchpoints must be a list of tables with name, owner, stage ...", field="touchpoints"
        )
    touchpoints = []
    for e in entries:
        stage = e.get("stage")
        if stage is not None:
            model.check_stage(str(stage))
        touchpoints.append(
            Touchpoint(
                name=str(e.get("name", "")),
                owner=str(e.get("owner", "")),
                stage=stage,
                description=str(e.get("description", "")),
                events=_strings(e.get("events"), "touchpoints.events"),
                types=_strings(e.get("types"), "touchpoints.types"),
                channels=_strings(e.get("channels"), "touchpoints.channels"),
                mediums=_strings(e.get("mediums"), "touchpoints.mediums"),
            )
        )
    return Catalogue(tuple(touchpoints))


@dataclass(frozen=True)
class JourneyConfig:
    """The stage model and the touchpoint catalogue, read together from one file."""

    model: StageModel = field(default_factory=StageModel)
    catalogue: Catalogue = field(default_factory=Catalogue)

    def to_dict(self) -> dict[str, Any]:
        return {**self.model.to_dict(), "touchpoints": self.catalogue.to_list()}


def load_journey_config(path: Path | str | None = None) -> JourneyConfig:
    """The journey config in ``path`` (JSON or TOML), or the defaults when ``path`` is None."""
    raw = read_config_file(path) if path is not None else {}
    model = stage_model_from_dict(raw)
    return JourneyConfig(model=model, catalogue=catalogue_from_dict(raw, model))
