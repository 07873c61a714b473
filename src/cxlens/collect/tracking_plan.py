"""Tracking plans: which events a team expects and the JSON Schema their properties must follow.

The plan is a JSON file (``settings.tracking_plan``), either ``{"events": {name: schema}, ...}`` or
just ``{name: schema}``; ``"allow_unplanned": false`` also flags track events the plan does not
name. Checking is per event with ``jsonschema`` (one Python call per event, so it reads a bounded
sample: the latest ``limit`` events of each planned name). Format and examples: ``docs/quality.md``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from cxlens import jsonutil
from cxlens.errors import ConfigError
from cxlens.store import Store

DEFAULT_SAMPLE = 10_000


@dataclass(frozen=True)
class TrackingPlan:
    path: Path
    schemas: dict[str, dict[str, Any]]
    allow_unplanned: bool = True


@dataclass(frozen=True)
class PlanViolation:
    event: str
    rule: str     # e.g. "required revenue", "revenue: type", "unplanned event"
    count: int
    example: str  # one jsonschema message, to show what is wrong


@dataclass(frozen=True)
class PlanCheck:
    checked: dict[str, int]        # events checked per planned name
    violations: list[PlanViolation]

    @property
    def violating(self) -> int:
        return sum(v.count for v in self.violations)


def load_plan(path: Path) -> TrackingPlan:
    """Read and check a plan file; every schema must itself be a valid JSON Schema."""
    try:
        data = jsonutil.loads(Path(path).read_bytes())
    except OSError as exc:
        raise ConfigError(f"tracking plan {path} cannot be read: {exc.strerror}; fix "
                          "settings.tracking_plan (CXLENS_TRACKING_PLAN)") from exc
    except jsonutil.JSONDecodeError as exc:
        raise ConfigError(f"tracking plan {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"tracking plan {path} must be a JSON object of event name → JSON Schema")
    allow = data.get("allow_unplanned", True)
    events = data.get("events", {k: v for k, v in data.items() if k != "allow_unplanned"})
    # Beside "events" nothing but allow_unplanned has a meaning: a misspelt key would be ignored.
    extra = sorted(set(data) - {"events", "allow_unplanned"}) if "events" in data else []
    if extra:
        raise ConfigError(f"tracking plan {path}: unknown key {extra[0]!r} beside \"events\"; "
                          "only \"allow_unplanned\" may be given with it")
    if not isinstance(events, dict) or not isinstance(allow, bool):
        raise ConfigError(f"tracking plan {path}: \"events\" must be an object, "
                          "\"allow_unplanned\" a boolean")
    for name, schema in events.items():
        try:
            if not isinstance(schema, dict):
                raise SchemaError("a schema must be a JSON object")
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise ConfigError(f"tracking plan {path}: the schema of event {name!r} is not a valid "
                              f"JSON Schema: {exc.message}") from exc
    return TrackingPlan(path=Path(path), schemas=events, allow_unplanned=allow)


def _rule(error: ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [f for f in error.validator_value if f not in error.instance]
        return f"required {'.'.join(filter(None, [where, *missing[:1]]))}"
    if error.validator == "additionalProperties":
        return f"{where or '(properties)'}: additional property"
    return f"{where or '(properties)'}: {error.validator}"


def check_plan(store: Store, plan: TrackingPlan, since: datetime | None,
               limit: int = DEFAULT_SAMPLE) -> PlanCheck:
    """Violations per event and rule among the latest ``limit`` events of each planned name."""
    checked: dict[str, int] = {}
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    floor = since or datetime(1970, 1, 1, tzinfo=UTC)
    for name, schema in plan.schemas.items():
        validator = Draft202012Validator(schema)
        rows = store.fetchall(
            "SELECT properties FROM events WHERE event = ? AND timestamp >= ? "
            "ORDER BY timestamp DESC LIMIT ?", [name, floor, limit])
        checked[name] = len(rows)
        for (properties,) in rows:
            instance = jsonutil.loads(properties) if properties else {}
            for error in validator.iter_errors(instance):
                key = (name, _rule(error))
                counts[key] += 1
                examples.setdefault(key, error.message[:200])
    if not plan.allow_unplanned:
        for name, count in store.fetchall(
            "SELECT event, count(*) FROM events WHERE type = 'track' AND timestamp >= ? "
            "AND NOT list_contains(?, event) GROUP BY event", [floor, list(plan.schemas)]
        ):
            counts[(name, "unplanned event")] = count
            examples[(name, "unplanned event")] = f"{name!r} is not in the tracking plan"
    violations = [PlanViolation(e, r, c, examples[(e, r)])
                  for (e, r), c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return PlanCheck(checked=checked, violations=violations)
