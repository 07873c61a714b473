"""The journey stage model: which events, channels and touchpoints put a customer in which stage.

A stage model is an ordered list of stages (default awareness → consideration → purchase → service →
loyalty) and ordered rules; the first rule an event matches names its stage, events no rule matches
(identify, alias, group ...) are not part of the journey. A rule matches on any combination of event
names, message types and channels. A repeat purchase counts as loyalty (``repeat_purchase_stage``),
because buying again is the clearest loyalty signal a store holds.

The model and the touchpoint catalogue (``journeys.touchpoints``) are read from one JSON or TOML file
(``load_journey_config``) so a team can describe its own journey; the defaults follow Segment's
e-commerce event names. Rules compile to one SQL ``CASE`` expression, so assigning stages to a
hundred million events is one scan in the store.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxlens import jsonutil
from cxlens.errors import InvalidInputError

DEFAULT_STAGES = ("awareness", "consideration", "purchase", "service", "loyalty")
PURCHASE_EVENT = "Order Completed"
MESSAGE_TYPES = ("track", "page", "screen", "identify", "group", "alias")


def sql_literal(value: str) -> str:
    """A SQL string literal (quotes doubled): configured names are data, never SQL."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_list(values: Sequence[str]) -> str:
    return ", ".join(sql_literal(v) for v in values)


def event_filters(events: Sequence[str], types: Sequence[str], channels: Sequence[str]) -> list[str]:
    """SQL conditions on ``events`` matching any of these names, types and channels (empty: any)."""
    columns = (("event", events), ("type", types), ("channel", channels))
    return [f"{column} IN ({sql_list(values)})" for column, values in columns if values]


@dataclass(frozen=True)
class StageRule:
    """Events of these names, message types and channels (each optional; all given must match)."""

    stage: str
    events: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    def condition(self) -> str:
        return " AND ".join(event_filters(self.events, self.types, self.channels))


DEFAULT_RULES = (
    StageRule("purchase", events=(PURCHASE_EVENT,)),
    StageRule(
        "service",
        events=(
            "Support Ticket Created",
            "Support Call",
            "Ticket Opened",
            "Order Refunded",
            "Order Cancelled",
            "Return Requested",
            "Chat Started",
        ),
    ),
    StageRule("service", channels=("call_center",)),
    StageRule(
        "loyalty",
        events=(
            "Survey Responded",
            "Review Submitted",
            "Product Reviewed",
            "Product Shared",
            "Cart Shared",
            "Referral Sent",
            "Loyalty Points Redeemed",
        ),
    ),
    StageRule(
        "consideration",
        events=(
            "Product Viewed",
            "Product Clicked",
            "Product Added",
            "Product Removed",
            "Cart Viewed",
            "Checkout Started",
            "Checkout Step Viewed",
            "Checkout Step Completed",
            "Payment Info Entered",
            "Coupon Applied",
            "Product Added to Wishlist",
            "Email Clicked",
            "Promotion Clicked",
            "/product",
            "/cart",
            "/checkout",
            "Product",
            "Cart",
            "Checkout",
        ),
    ),
    StageRule(
        "awareness",
        events=(
            "Products Searched",
            "Product List Viewed",
            "Product List Filtered",
            "Promotion Viewed",
            "Email Opened",
            "Application Installed",
            "Application Opened",
            "Ad Viewed",
        ),
    ),
    StageRule("awareness", types=("page", "screen")),
)


@dataclass(frozen=True)
class StageModel:
    """Ordered stages and the rules that map events to them."""

    stages: tuple[str, ...] = DEFAULT_STAGES
    rules: tuple[StageRule, ...] = DEFAULT_RULES
    purchase_event: str = PURCHASE_EVENT
    repeat_purchase_stage: str | None = "loyalty"

    def __post_init__(self) -> None:
        if len(self.stages) < 2 or len(set(self.stages)) != len(self.stages):
            raise InvalidInputError(
                f"a stage model needs at least two distinct stages, got {list(self.stages)}", field="stages"
            )
        for rule in self.rules:
            self.check_stage(rule.stage)
            if not (rule.events or rule.types or rule.channels):
                raise InvalidInputError(
                    f"a rule for stage {rule.stage!r} matches nothing: give events, types or channels",
                    field="rules",
                )
            bad = [t for t in rule.types if t not in MESSAGE_TYPES]
            if bad:
                raise InvalidInputError(
                    f"rule for stage {rule.stage!r}: unknown message type {bad[0]!r}; use "
                    f"{', '.join(MESSAGE_TYPES)}",
                    field="rules",
                )
        if self.repeat_purchase_stage is not None:
            self.check_stage(self.repeat_purchase_stage)

    def check_stage(self, stage: str) -> str:
        """``stage`` if the model has it; an error naming the known stages otherwise."""
        if stage not in self.stages:
            raise InvalidInputError(
                f"unknown stage {stage!r}; the stage model has {', '.join(self.stages)}",
                field="stage",
                stage=stage,
            )
        return stage

    def index(self, stage: str) -> int:
        return self.stages.index(self.check_stage(stage))

    def case_sql(self) -> str:
        """A SQL expression over an ``events`` row giving its stage, or NULL when no rule matches."""
        whens = " ".join(f"WHEN {r.condition()} THEN {sql_literal(r.stage)}" for r in self.rules)
        return f"CASE {whens} END"

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": list(self.stages),
            "purchase_event": self.purchase_event,
            "repeat_purchase_stage": self.repeat_purchase_stage,
            "rules": [
                {
                    "stage": r.stage,
                    "events": list(r.events),
                    "types": list(r.types),
                    "channels": list(r.channels),
                }
                for r in self.rules
            ],
        }


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise InvalidInputError(f"{where} must be a list of non-empty strings, got {raw!r}", field=where)
    return tuple(raw)


def stage_model_from_dict(raw: Mapping[str, Any]) -> StageModel:
    """A stage model from parsed config; missing parts keep their defaults."""
    stages = _strings(raw.get("stages"), "stages") or DEFAULT_STAGES
    rules_raw = raw.get("rules")
    if rules_raw is None:
        rules = tuple(r for r in DEFAULT_RULES if r.stage in stages)
    else:
        if not isinstance(rules_raw, list):
            raise InvalidInputError(
                "rules must be a list of tables with stage, events, types, channels", field="rules"
            )
        rules = tuple(
            StageRule(
                stage=str(r.get("stage", "")),
                events=_strings(r.get("events"), "rules.events"),
                types=_strings(r.get("types"), "rules.types"),
                channels=_strings(r.get("channels"), "rules.channels"),
            )
            for r in rules_raw
            if isinstance(r, dict)
        )
        if len(rules) != len(rules_raw):
            raise InvalidInputError("every rule must be a table (object)", field="rules")
    repeat = raw.get("repeat_purchase_stage", "loyalty" if "loyalty" in stages else None)
    return StageModel(
        stages=stages,
        rules=rules,
        purchase_event=str(raw.get("purchase_event", PURCHASE_EVENT)),
        repeat_purchase_stage=repeat or None,
    )


def read_config_file(path: Path | str, what: str = "journey config") -> dict[str, Any]:
    """A config file (``.json`` or ``.toml``) as a dict, with errors that name the file.

    ``what`` names the file in messages: experiment and pilot definitions are read here too, and
    a broken one must not be reported as a journey config.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{what} {path}: no such file", field="config") from exc
    try:
        parsed = tomllib.loads(text) if path.suffix.lower() == ".toml" else jsonutil.loads(text)
    except (tomllib.TOMLDecodeError, jsonutil.JSONDecodeError) as exc:
        raise InvalidInputError(
            f"{what} {path}: not valid {path.suffix.lstrip('.') or 'JSON'} ({exc})", field="config"
        ) from exc
    if not isinstance(parsed, dict):
        raise InvalidInputError(f"{what} {path}: the top level must be an object", field="config")
    return parsed
