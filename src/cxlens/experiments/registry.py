"""The experiment registry: definitions in the store, and sticky assignment that records exposures.

A definition names everything the assignment and the analysis need — variants and weights, coverage,
a target segment, a mutual-exclusion layer (namespace), a holdout, the metrics (goals and
guardrails) — and a status. Assignment is the landed GrowthBook-compatible hashing
(:mod:`cxlens.experiments.assignment`): nothing per unit is stored to keep it sticky, only the first
exposure is recorded (the analysis reads first exposures).

A staged rollout (``status = rolling_out``) gives ``rollout.variant`` to the units whose rollout
bucket is below ``rollout.coverage`` and the control to the rest. The bucket is a separate hash
(seed ``KEY:rollout``), so raising coverage from 10 % to 50 % keeps everyone who already had the
variant. Rollout exposures are recorded per stage under ``KEY:rollout:PCT`` (``checkout:rollout:10``)
so the pilot's own results stay as they were and each stage is checked on its own traffic, whose
planned split (1 − coverage, coverage) is known.

Targeting by segment uses the same notation as journeys: ``NAME=VALUE`` (a computed trait) or
``audience:NAME``; a unit outside the segment is not in the experiment.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cxlens import jsonutil
from cxlens.errors import ConflictError, InvalidInputError, NotFoundError, validation_problems
from cxlens.experiments.assignment import (
    EXPOSURE_SCHEMA,
    Experiment,
    Holdout,
    Namespace,
    check_layer,
    hash_unit,
    record_exposures,
)
from cxlens.experiments.metrics import MetricDefinition
from cxlens.profiles.computed import value_matches_sql
from cxlens.store import Store

Status = Literal["draft", "running", "rolling_out", "stopped"]
STATUSES: tuple[str, ...] = ("draft", "running", "rolling_out", "stopped")
ROLLOUT_SUFFIX = ":rollout"
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# path segments of /v1/experiments/{key} that are routes of their own: such a definition could
# not be read over HTTP (GET /v1/experiments/assign is the assignment endpoint)
RESERVED_KEYS = frozenset({"assign"})
MAX_UNIT_LENGTH = 200


class MetricSpec(BaseModel):
    """A goal or guardrail metric (see ``experiments.metrics.MetricDefinition``)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    kind: Literal["conversion", "count", "revenue", "order_value"]
    event: str | None = None
    window_days: float | None = None
    cuped_days: float | None = None
    guardrail: bool = False
    inverse: bool = False


class NamespaceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    start: float = Field(ge=0, le=1)
    end: float = Field(ge=0, le=1)


class HoldoutSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1)
    fraction: float = Field(gt=0, lt=1)


class RolloutSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variant: str
    coverage: float = Field(ge=0, le=1)


class ExperimentDefinition(BaseModel):
    """Everything that decides who sees what, and how the result is judged."""

    model_config = ConfigDict(extra="forbid")
    key: str
    name: str = ""
    hypothesis: str = ""
    variants: list[str] = Field(default_factory=lambda: ["control", "treatment"])
    weights: list[float] | None = None
    coverage: float = Field(1.0, ge=0, le=1)
    segment: str | None = None
    namespace: NamespaceSpec | None = None
    holdout: HoldoutSpec | None = None
    metrics: list[MetricSpec] = Field(min_length=1)
    status: Status = "running"
    rollout: RolloutSpec | None = None

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        if not _KEY.match(key):
            raise ValueError(
                "use letters, digits, '_', '.', '-' (at most 100), starting with a letter or digit"
            )
        if key in RESERVED_KEYS:
            raise ValueError(f"{key!r} is reserved (it is a route of /v1/experiments); pick another key")
        return key

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentDefinition:
        if len(self.variants) < 2 or len(set(self.variants)) != len(self.variants) or not all(self.variants):
            raise ValueError("variants: give at least two distinct non-empty names, control first")
        if self.namespace and self.namespace.start >= self.namespace.end:
            raise ValueError("namespace: start must be below end")
        if self.rollout and self.rollout.variant not in self.variants[1:]:
            raise ValueError(f"rollout.variant must be one of the treatments {self.variants[1:]}")
        if self.status == "rolling_out" and self.rollout is None:
            raise ValueError("a rolling_out experiment needs rollout: {variant, coverage}")
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError("metric names must be unique")
        return self

    def to_experiment(self) -> Experiment:
        """The landed assignment object (validates weights and coverage once more)."""
        ns = self.namespace
        return Experiment(
            key=self.key,
            variants=tuple(self.variants),
            weights=tuple(self.weights) if self.weights else None,
            coverage=self.coverage,
            namespace=Namespace(ns.name, ns.start, ns.end) if ns else None,
            holdout=Holdout(self.holdout.key, self.holdout.fraction) if self.holdout else None,
        )

    def to_metrics(self) -> list[MetricDefinition]:
        return [MetricDefinition(**m.model_dump()) for m in self.metrics]

    @property
    def planned_weights(self) -> list[float]:
        return list(self.weights) if self.weights else [1.0 / len(self.variants)] * len(self.variants)


def parse_definition(raw: dict[str, Any] | ExperimentDefinition) -> ExperimentDefinition:
    """A checked definition; every problem is named by its field."""
    if isinstance(raw, ExperimentDefinition):
        definition = raw
    else:
        try:
            definition = ExperimentDefinition.model_validate(raw)
        except ValidationError as exc:
            summary = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'definition'}: {e['msg']}" for e in exc.errors()
            )
            # details.problems as every route's validation error has it, one field per problem
            raise InvalidInputError(f"experiment definition: {summary}", field="definition",
                                    problems=validation_problems(exc.errors())) from None
    definition.to_experiment()
    definition.to_metrics()
    return definition


def _check_audience(store: Store, name: str) -> None:
    """A target audience must be saved: a misspelt one matched no unit, and the experiment quietly
    assigned nobody. (A computed trait is not checked: a later build may write it.)"""
    if not store.scalar("SELECT count(*) FROM audiences WHERE name = ?", [name]):
        known = [r[0] for r in store.fetchall("SELECT name FROM audiences ORDER BY 1 LIMIT 20")]
        raise InvalidInputError(
            f"experiment definition: segment: unknown audience {name!r}; known audiences: "
            f"{', '.join(known) or 'none'} (create one with cxlens audiences create)", field="segment",
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _check_segment(store: Store, segment: str | None) -> None:
    """A target segment's notation, checked on creation: a malformed one, once stored, made every
    assignment request for the experiment fail. (Stored definitions are not re-checked on load.)"""
    if not segment:
        return
    if segment.startswith("audience:"):
        ok = bool(segment.removeprefix("audience:").strip())
        if ok:
            _check_audience(store, segment.removeprefix("audience:").strip())
    else:
        name, sep, value = segment.partition("=")
        ok = bool(sep and name.strip() and value.strip())
    if not ok:
        raise InvalidInputError(
            f"experiment definition: segment: {segment!r} is not understood: write NAME=VALUE "
            "(a computed trait) or audience:NAME", field="segment",
        )


def create_experiment(store: Store, raw: dict[str, Any] | ExperimentDefinition) -> ExperimentDefinition:
    """Register a new experiment; a key in use is a conflict (experiment keys are never reused)."""
    definition = parse_definition(raw)
    _check_segment(store, definition.segment)
    if store.scalar("SELECT count(*) FROM experiment_definitions WHERE experiment_key = ?", [definition.key]):
        raise ConflictError(
            f"experiment {definition.key!r} already exists; pick another key", key=definition.key
        )
    if definition.namespace:
        check_layer(
            [
                definition.to_experiment(),
                *(
                    d.to_experiment()
                    for d in list_definitions(store)
                    if d.namespace and d.status != "stopped"
                ),
            ]
        )
    now = _now()
    store.execute(
        "INSERT INTO experiment_definitions VALUES (?, ?, ?, ?, ?)",
        [definition.key, definition.status, definition.model_dump_json(), now, now],
    )
    return definition


def save_experiment(store: Store, definition: ExperimentDefinition) -> ExperimentDefinition:
    """Store a changed definition of an existing experiment (status, rollout ...)."""
    get_experiment(store, definition.key)
    parse_definition(definition.model_dump())
    store.execute(
        "UPDATE experiment_definitions SET status = ?, definition = ?, updated_at = ? "
        "WHERE experiment_key = ?",
        [definition.status, definition.model_dump_json(), _now(), definition.key],
    )
    return definition


def get_experiment(store: Store, key: str) -> ExperimentDefinition:
    row = store.fetchone("SELECT definition FROM experiment_definitions WHERE experiment_key = ?", [key])
    if row is None:
        known = [
            r[0]
            for r in store.fetchall("SELECT experiment_key FROM experiment_definitions ORDER BY 1 LIMIT 20")
        ]
        raise NotFoundError(
            f"unknown experiment {key!r}; registered: {', '.join(known) or 'none'} "
            "(create one with cxlens experiments create)",
            experiment_key=key,
        )
    return ExperimentDefinition.model_validate(jsonutil.loads(row[0]))


def list_definitions(store: Store) -> list[ExperimentDefinition]:
    return [
        ExperimentDefinition.model_validate(jsonutil.loads(r[0]))
        for r in store.fetchall(
            "SELECT definition FROM experiment_definitions ORDER BY created_at, experiment_key"
        )
    ]


def list_experiments(store: Store) -> list[dict[str, Any]]:
    """Every registered experiment with its exposure counts (pilot and rollout)."""
    counts = dict(store.fetchall("SELECT experiment_key, count(DISTINCT unit_id) FROM exposures GROUP BY 1"))
    return [
        {
            "key": d.key,
            "name": d.name,
            "status": d.status,
            "variants": d.variants,
            "weights": d.planned_weights,
            "coverage": d.coverage,
            "segment": d.segment,
            "namespace": d.namespace.name if d.namespace else None,
            "holdout": d.holdout.key if d.holdout else None,
            "metrics": [m.name for m in d.metrics],
            "units": counts.get(d.key, 0),
            "rollout": d.rollout.model_dump() if d.rollout else None,
            "rollout_units": counts.get(rollout_key(d), 0),
        }
        for d in list_definitions(store)
    ]


def rollout_key(definition: ExperimentDefinition) -> str:
    """The exposure key of the current rollout stage (``KEY:rollout:PCT``)."""
    coverage = definition.rollout.coverage if definition.rollout else 0.0
    return f"{definition.key}{ROLLOUT_SUFFIX}:{round(coverage * 100)}"


def in_segment(store: Store, segment: str | None, unit_id: str) -> bool:
    """Is the unit (a customer id) in the target segment right now? (trait values in any case)"""
    if not segment:
        return True
    if segment.startswith("audience:"):
        return bool(
            store.scalar(
                "SELECT count(*) FROM audience_members WHERE audience = ? AND customer_id = ?",
                [segment.removeprefix("audience:").strip(), unit_id],
            )
        )
    name, sep, value = segment.partition("=")
    if not sep:
        raise InvalidInputError(f"segment {segment!r}: write NAME=VALUE or audience:NAME", field="segment")
    return bool(
        store.scalar(
            "SELECT count(*) FROM computed_traits WHERE customer_id = ? AND name = ? AND "
            + value_matches_sql("?"),
            [unit_id, name.strip().removeprefix("trait."), value.strip()],
        )
    )


def assign(store: Store, key: str, unit_id: str, *, record: bool = True) -> dict[str, Any]:
    """The unit's variant (sticky) or ``None`` with the reason; the first exposure is recorded."""
    if not unit_id or len(unit_id) > MAX_UNIT_LENGTH:
        raise InvalidInputError(
            f"unit must be a non-empty id of at most {MAX_UNIT_LENGTH} characters", field="unit"
        )
    definition = get_experiment(store, key)
    answer: dict[str, Any] = {"experiment": key, "unit": unit_id, "variant": None, "in_experiment": False}
    if definition.status not in ("running", "rolling_out"):
        return {**answer, "reason": f"the experiment is {definition.status}"}
    if not in_segment(store, definition.segment, unit_id):
        return {**answer, "reason": "the unit is not in the target segment"}
    exposure_key = key
    if definition.status == "rolling_out" and definition.rollout:
        exposure_key = rollout_key(definition)
        rolled = hash_unit(key + ROLLOUT_SUFFIX, unit_id) < definition.rollout.coverage
        variant: str | None = definition.rollout.variant if rolled else definition.variants[0]
    else:
        variant = definition.to_experiment().assign(unit_id)
    if variant is None:
        return {**answer, "reason": "the unit is outside coverage, the layer, or in the holdout"}
    if record and not store.scalar(
        "SELECT count(*) FROM exposures WHERE experiment_key = ? AND unit_id = ? AND variant = ?",
        [exposure_key, unit_id, variant],
    ):
        row = [[exposure_key], [variant], [unit_id], [_now()]]
        record_exposures(store, pa.table(row, schema=EXPOSURE_SCHEMA))
    return {
        **answer,
        "variant": variant,
        "in_experiment": True,
        "phase": "rollout" if exposure_key != key else "pilot",
        "reason": "assigned",
    }
