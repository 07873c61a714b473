"""Closed-loop rules: which responses need a person to follow up, who, and by when.

A rule is data (JSON or YAML, or the API)::

    id: detractor
    when: {metric: nps, max: 6}          # every condition given must hold
    owners: [ana, ben]                   # round-robin among them ...
    owner_by_touchpoint: {checkout: carol}   # ... unless the touchpoint names an owner
    sla_hours: 24                        # due this long after the answer
    escalate_to: cx-lead                 # owner once the task is overdue

Conditions (``when``): ``metric`` with ``min``/``max`` (a score of that metric in the response —
detractors are ``{metric: nps, max: 6}``, unhappy CSAT ``{metric: csat, max: 2}``);
``sentiment: negative`` (VADER via ``voc.sentiment`` on the response's comments); ``theme`` with
``keywords`` (a comment mentions one of them, as whole words — the named-theme seeds a team gives
``voc.themes``); ``touchpoint`` and ``survey`` (one name or a list).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cxlens.errors import InvalidInputError
from cxlens.voc.scores import SCALES

RULE_METRICS = (*SCALES, "likert", "yesno", "rating")
SENTIMENTS = ("negative",)
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_RULE_FIELDS = {"id", "when", "owners", "owner_by_touchpoint", "sla_hours", "escalate_to", "enabled"}
_WHEN_FIELDS = {"metric", "min", "max", "sentiment", "theme", "keywords", "touchpoint", "survey"}


@dataclass(frozen=True)
class ResponseView:
    """One response as rules see it: every answer of it that has reached ``feedback``."""

    response_key: str
    customer_id: str | None
    survey_id: str | None
    touchpoint: str | None
    responded_at: Any
    scores: dict[str, float] = field(default_factory=dict)
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    rule_id: str
    metric: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    sentiment: str | None = None
    theme: str | None = None
    keywords: tuple[str, ...] = ()
    touchpoints: tuple[str, ...] = ()
    surveys: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    owner_by_touchpoint: dict[str, str] = field(default_factory=dict)
    sla_hours: float = 48.0
    escalate_to: str | None = None
    enabled: bool = True

    @property
    def needs_sentiment(self) -> bool:
        return self.sentiment is not None

    def matches(self, view: ResponseView, negative: bool | None = None) -> bool:
        """True when every condition holds; ``negative`` is the comments' sentiment (None: unknown)."""
        if self.surveys and view.survey_id not in self.surveys:
            return False
        if self.touchpoints and view.touchpoint not in self.touchpoints:
            return False
        if self.metric is not None:
            value = view.scores.get(self.metric)
            if (
                value is None
                or (self.min_score is not None and value < self.min_score)
                or (self.max_score is not None and value > self.max_score)
            ):
                return False
        if self.keywords and not any(mentions(c, self.keywords) for c in view.comments):
            return False
        return not self.needs_sentiment or bool(negative)

    def owner_for(self, touchpoint: str | None, assigned_so_far: int) -> str | None:
        """The touchpoint's owner, else the next owner in turn, else nobody (the queue picks it up)."""
        if touchpoint and touchpoint in self.owner_by_touchpoint:
            return self.owner_by_touchpoint[touchpoint]
        return self.owners[assigned_so_far % len(self.owners)] if self.owners else None

    def to_dict(self) -> dict[str, Any]:
        when: dict[str, Any] = {}
        for key, value in (
            ("metric", self.metric),
            ("min", self.min_score),
            ("max", self.max_score),
            ("sentiment", self.sentiment),
            ("theme", self.theme),
        ):
            if value is not None:
                when[key] = value
        for key, values in (
            ("keywords", self.keywords),
            ("touchpoint", self.touchpoints),
            ("survey", self.surveys),
        ):
            if values:
                when[key] = list(values)
        return {
            "id": self.rule_id,
            "when": when,
            "owners": list(self.owners),
            "owner_by_touchpoint": dict(self.owner_by_touchpoint),
            "sla_hours": self.sla_hours,
            "escalate_to": self.escalate_to,
            "enabled": self.enabled,
        }


def mentions(text: str, keywords: Sequence[str]) -> bool:
    """Whether ``text`` holds one of ``keywords`` as whole words (case-insensitive)."""
    lowered = text.lower()
    return any(re.search(rf"(?<!\w){re.escape(k.lower())}(?!\w)", lowered) for k in keywords)


def _names(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) and v.strip() for v in items):
        raise InvalidInputError(f"{where} must be a name or a list of names", field=where)
    return tuple(v.strip() for v in items)


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"{where} must be a number", field=where)
    return float(value)


def _check_bounds(metric: str, low: float | None, high: float | None, rid: str) -> None:
    scale = SCALES.get(metric)
    for name, value in (("min", low), ("max", high)):
        if value is not None and scale is not None and not scale.low <= value <= scale.high:
            raise InvalidInputError(
                f"rule {rid}: when.{name} {value:g} is off the {metric} scale ({scale.low}–{scale.high})",
                field=f"when.{name}",
            )
    if low is not None and high is not None and low > high:
        raise InvalidInputError(f"rule {rid}: when.min is above when.max", field="when.min")


def parse_rule(data: Any) -> Rule:
    """Check one rule definition (see the module docstring) and return it."""
    if not isinstance(data, Mapping):
        raise InvalidInputError("a rule must be an object with id and when")
    rid = data.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise InvalidInputError(
            f"rule id {rid!r} must be 1–64 lower-case letters, digits, '_' or '-'", field="id"
        )
    unknown = set(data) - _RULE_FIELDS
    when = data.get("when")
    if unknown or not isinstance(when, Mapping) or not when or set(when) - _WHEN_FIELDS:
        bad = sorted(unknown or (set(when) - _WHEN_FIELDS if isinstance(when, Mapping) else {"when"}))
        raise InvalidInputError(
            f"rule {rid}: needs a non-empty `when` of {sorted(_WHEN_FIELDS)}; "
            f"not understood: {bad or ['when']}",
            field="when",
        )
    metric = when.get("metric")
    if metric is not None and metric not in RULE_METRICS:
        raise InvalidInputError(
            f"rule {rid}: unknown metric {metric!r}; use {', '.join(RULE_METRICS)}", field="when.metric"
        )
    low, high = _number(when.get("min"), "when.min"), _number(when.get("max"), "when.max")
    if (low is not None or high is not None) and metric is None:
        raise InvalidInputError(f"rule {rid}: min/max need a metric", field="when.metric")
    if metric is not None:
        _check_bounds(metric, low, high, rid)
    sentiment = when.get("sentiment")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise InvalidInputError(f"rule {rid}: sentiment can only be 'negative'", field="when.sentiment")
    keywords = _names(when["keywords"], "when.keywords") if "keywords" in when else ()
    if "theme" in when and not keywords:
        raise InvalidInputError(
            f"rule {rid}: a theme needs its keywords (when.keywords)", field="when.keywords"
        )
    by_touchpoint = data.get("owner_by_touchpoint") or {}
    if not isinstance(by_touchpoint, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in by_touchpoint.items()
    ):
        raise InvalidInputError(
            f"rule {rid}: owner_by_touchpoint maps touchpoints to owner names", field="owner_by_touchpoint"
        )
    sla = _number(data.get("sla_hours", 48), "sla_hours")
    if sla is None or sla <= 0:
        raise InvalidInputError(f"rule {rid}: sla_hours must be a positive number", field="sla_hours")
    escalate_to = data.get("escalate_to")
    if escalate_to is not None and (not isinstance(escalate_to, str) or not escalate_to.strip()):
        raise InvalidInputError(f"rule {rid}: escalate_to must be an owner name", field="escalate_to")
    return Rule(
        rule_id=rid,
        metric=metric,
        min_score=low,
        max_score=high,
        sentiment=sentiment,
        theme=when.get("theme"),
        keywords=keywords,
        touchpoints=_names(when["touchpoint"], "when.touchpoint") if "touchpoint" in when else (),
        surveys=_names(when["survey"], "when.survey") if "survey" in when else (),
        owners=_names(data["owners"], "owners") if data.get("owners") else (),
        owner_by_touchpoint=dict(by_touchpoint),
        sla_hours=sla,
        escalate_to=escalate_to.strip() if escalate_to else None,
        enabled=bool(data.get("enabled", True)),
    )


def parse_rules(data: Any) -> list[Rule]:
    """A list of rules (or ``{"rules": [...]}``), with unique ids."""
    items = data.get("rules") if isinstance(data, Mapping) else data
    if not isinstance(items, list) or not items:
        raise InvalidInputError('give a non-empty list of rules (or {"rules": [...]})', field="rules")
    rules = [parse_rule(item) for item in items]
    ids = [r.rule_id for r in rules]
    if len(set(ids)) != len(ids):
        raise InvalidInputError(f"rule ids must be unique: {ids}", field="id")
    return rules

