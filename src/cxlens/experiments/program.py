"""The CX program: initiatives piloted as experiments, decided on evidence, scaled in stages,
kept as playbooks, and KPIs tracked against targets on the measurement calendar.

The life of an initiative::

    create (objective, KPI + target, target segment, pilot = experiment with a holdout)
      → decide: scale | iterate | stop   (the analysis snapshot is stored as the evidence)
      → scale: rollout stages, e.g. 10 % → 50 % → 100 %, each only after a guardrail check passes
      → scaled: save as a playbook, apply the playbook to another segment (a new initiative)

The decisions, rationales and evidence form the team's searchable log (:func:`search_initiatives`).
A decision to scale is refused when the evidence says the pilot harmed a guardrail or its sample
ratio is broken: scaling a harmful change is the mistake this process exists to prevent.

KPIs and their calendar live in :mod:`cxlens.experiments.program_kpis`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cxlens import jsonutil
from cxlens.errors import ConflictError, InvalidInputError, NotFoundError
from cxlens.experiments.analyze import analyze, guardrail_check
from cxlens.experiments.registry import (
    HoldoutSpec,
    RolloutSpec,
    create_experiment,
    get_experiment,
    parse_definition,
    save_experiment,
)
from cxlens.store import Store

DECISIONS = ("scale", "iterate", "stop")
# piloting → (iterating) → scaling → scaled, or stopped (docs/cx-program.md).
STATUSES = ("piloting", "iterating", "scaling", "scaled", "stopped")
DEFAULT_STAGES = (0.1, 0.5, 1.0)
DEFAULT_HOLDOUT = 0.1


def _now() -> datetime:
    return datetime.now(UTC)


def _check_stages(stages: Sequence[float]) -> list[float]:
    values = [float(s) for s in stages]
    if (
        not values
        or any(not 0 < s <= 1 for s in values)
        or values != sorted(set(values))
        or values[-1] != 1.0
    ):
        raise InvalidInputError(
            f"rollout stages must rise strictly within (0, 1] and end at 1.0, got {values}", field="stages"
        )
    return values


def create_initiative(
    store: Store,
    *,
    title: str,
    objective: str,
    pilot: dict[str, Any],
    kpi_key: str | None = None,
    kpi_target: float | None = None,
    segment: str | None = None,
    stages: Sequence[float] = DEFAULT_STAGES,
    tags: str = "",
    notes: str = "",
    playbook_id: str | None = None,
) -> dict[str, Any]:
    """An initiative and its pilot experiment (a holdout of 10 % is added when the pilot has none)."""
    if not title.strip() or not objective.strip():
        raise InvalidInputError("an initiative needs a title and an objective", field="title")
    if kpi_key is not None and not store.scalar(
        "SELECT count(*) FROM program_kpis WHERE kpi_key = ?", [kpi_key]
    ):
        raise NotFoundError(
            f"unknown KPI {kpi_key!r}; create it with cxlens program kpis create", kpi=kpi_key
        )
    stage_list = _check_stages(stages)
    definition = parse_definition({**pilot, "segment": segment or pilot.get("segment")})
    if definition.holdout is None:
        definition.holdout = HoldoutSpec(key=f"{definition.key}-holdout", fraction=DEFAULT_HOLDOUT)
    initiative_id = "ini_" + uuid.uuid4().hex[:12]
    now = _now()
    with store.transaction():
        create_experiment(store, definition)
        store.execute(
            "INSERT INTO program_initiatives VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'piloting', ?, 0, ?, ?, ?, ?)",
            [
                initiative_id,
                title.strip(),
                objective.strip(),
                kpi_key,
                kpi_target,
                definition.segment,
                definition.key,
                playbook_id,
                jsonutil.dumps_str(stage_list),
                tags,
                notes,
                now,
                now,
            ],
        )
    return get_initiative(store, initiative_id)


def _row(store: Store, initiative_id: str) -> dict[str, Any]:
    rows = store.records("SELECT * FROM program_initiatives WHERE initiative_id = ?", [initiative_id])
    if not rows:
        raise NotFoundError(
            f"unknown initiative {initiative_id!r}; list them with cxlens program initiatives list",
            initiative_id=initiative_id,
        )
    row = rows[0]
    row["rollout_stages"] = jsonutil.loads(row["rollout_stages"])
    return row


def get_initiative(store: Store, initiative_id: str) -> dict[str, Any]:
    """The initiative with its decisions (evidence included) and rollout history."""
    row = _row(store, initiative_id)
    row["decisions"] = [
        {**d, "evidence": jsonutil.loads(d["evidence"])}
        for d in store.records(
            "SELECT decided_at, decision, rationale, decided_by, evidence FROM program_decisions "
            "WHERE initiative_id = ? ORDER BY decided_at",
            [initiative_id],
        )
    ]
    row["rollouts"] = [
        {**r, "checks": jsonutil.loads(r["checks"])}
        for r in store.records(
            "SELECT stage, coverage, checked_at, passed, checks FROM program_rollouts "
            "WHERE initiative_id = ? "
            "ORDER BY checked_at",
            [initiative_id],
        )
    ]
    return row


def list_initiatives(store: Store, status: str | None = None) -> list[dict[str, Any]]:
    """Initiatives, most recently changed first; an unknown ``status`` is refused, not an empty list."""
    if status and status not in STATUSES:
        raise InvalidInputError(f"unknown status {status!r}; use {', '.join(STATUSES)}", field="status")
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    return store.records(
        f"""SELECT initiative_id, title, status, kpi_key, kpi_target, segment, experiment_key,
                                    rollout_stage, json_array_length(rollout_stages) AS stages, updated_at
                             FROM program_initiatives {where} ORDER BY updated_at DESC""",
        params,
    )


def _snapshot(analysis: dict[str, Any]) -> dict[str, Any]:
    """What a decision keeps as evidence: verdict, SRM, per-metric effects with intervals."""
    return {
        "analyzed_at": analysis["analyzed_at"],
        "phase": analysis["phase"],
        "verdict": analysis["verdict"],
        "reason": analysis["reason"],
        "srm": analysis["srm"],
        "method": analysis["method"],
        "correction": analysis["correction"],
        "guardrail_breaches": analysis["guardrail_breaches"],
        "metrics": [
            {
                "name": m["name"],
                "guardrail": m["guardrail"],
                "control": m["control"],
                "results": [
                    {
                        "variant": r["variant"],
                        "n": r["n"],
                        "mean": r["mean"],
                        "lift": r["relative"]["expected"],
                        "ci": r["relative"]["ci"],
                        "p_value": r.get("p_value_adjusted", r["relative"]["p_value"]),
                        "significant": r["significant"],
                        "harm": r["harm"],
                    }
                    for r in m["results"]
                ],
            }
            for m in analysis["metrics"]
        ],
    }


def decide(
    store: Store,
    initiative_id: str,
    decision: str,
    rationale: str,
    *,
    decided_by: str | None = None,
    variant: str | None = None,
) -> dict[str, Any]:
    """Record scale / iterate / stop with the pilot's analysis as evidence, and act on it."""
    if decision not in DECISIONS:
        raise InvalidInputError(
            f"unknown decision {decision!r}; use one of {', '.join(DECISIONS)}", field="decision"
        )
    if not rationale.strip():
        raise InvalidInputError(
            "say why: a decision needs a rationale (it is the team's memory)", field="rationale"
        )
    row = _row(store, initiative_id)
    if row["status"] in ("scaled", "stopped"):
        raise ConflictError(
            f"initiative {initiative_id} is already {row['status']}", initiative_id=initiative_id
        )
    evidence = _snapshot(analyze(store, row["experiment_key"]))
    experiment = get_experiment(store, row["experiment_key"])
    if decision == "scale":
        if evidence["verdict"] in ("harmful", "invalid"):
            raise ConflictError(
                f"refusing to scale: the pilot is {evidence['verdict']} ({evidence['reason']})",
                initiative_id=initiative_id,
            )
        chosen = variant or next(
            (
                r["variant"]
                for m in evidence["metrics"]
                if not m["guardrail"]
                for r in m["results"]
                if r["significant"]
            ),
            experiment.variants[1],
        )
        if chosen not in experiment.variants[1:]:
            raise InvalidInputError(
                f"variant {chosen!r} is not a treatment of {experiment.key}", field="variant"
            )
        experiment.status, experiment.rollout = "rolling_out", RolloutSpec(variant=chosen, coverage=0.0)
        status = "scaling"
    elif decision == "stop":
        experiment.status, status = "stopped", "stopped"
    else:
        status = "iterating"
    with store.transaction():
        save_experiment(store, experiment)
        store.execute(
            "INSERT INTO program_decisions VALUES (?, ?, ?, ?, ?, ?)",
            [initiative_id, _now(), decision, rationale.strip(), decided_by, jsonutil.dumps_str(evidence)],
        )
        store.execute(
            "UPDATE program_initiatives SET status = ?, updated_at = ? WHERE initiative_id = ?",
            [status, _now(), initiative_id],
        )
    return get_initiative(store, initiative_id)


def advance_rollout(store: Store, initiative_id: str) -> dict[str, Any]:
    """Check the guardrails, then open the next rollout stage; a failed check keeps the stage."""
    row = _row(store, initiative_id)
    if row["status"] != "scaling":
        raise ConflictError(
            f"initiative {initiative_id} is {row['status']}; only a scaling initiative rolls out "
            "(decide to scale first)",
            initiative_id=initiative_id,
        )
    stages, current = row["rollout_stages"], int(row["rollout_stage"])
    coverage = stages[current]
    check = guardrail_check(store, row["experiment_key"])
    checks = {k: v for k, v in check.items() if k != "analysis"}
    store.execute(
        "INSERT INTO program_rollouts VALUES (?, ?, ?, ?, ?, ?)",
        [initiative_id, current + 1, coverage, _now(), check["passed"], jsonutil.dumps_str(checks)],
    )
    if check["passed"]:
        experiment = get_experiment(store, row["experiment_key"])
        assert experiment.rollout is not None, "a scaling initiative's experiment has a rollout"
        experiment.rollout.coverage = coverage
        save_experiment(store, experiment)
        done = current + 1 == len(stages)
        store.execute(
            "UPDATE program_initiatives SET rollout_stage = ?, status = ?, updated_at = ? "
            "WHERE initiative_id = ?",
            [current + 1, "scaled" if done else "scaling", _now(), initiative_id],
        )
    return {
        "initiative_id": initiative_id,
        "stage": current + 1,
        "coverage": coverage,
        **checks,
        "initiative": get_initiative(store, initiative_id),
    }


def save_playbook(store: Store, initiative_id: str, name: str) -> dict[str, Any]:
    """Keep a scaled initiative as a reusable playbook (objective, KPI, pilot template, stages, evidence)."""
    row = get_initiative(store, initiative_id)
    if row["status"] != "scaled":
        raise ConflictError(
            f"only a scaled initiative becomes a playbook; {initiative_id} is {row['status']}",
            initiative_id=initiative_id,
        )
    if not name.strip():
        raise InvalidInputError("a playbook needs a name", field="name")
    template = get_experiment(store, row["experiment_key"]).model_dump(
        exclude={"key", "segment", "status", "rollout", "holdout"}
    )
    evidence = next((d["evidence"] for d in reversed(row["decisions"]) if d["decision"] == "scale"), None)
    definition = {
        "title": row["title"],
        "objective": row["objective"],
        "kpi_key": row["kpi_key"],
        "kpi_target": row["kpi_target"],
        "pilot": template,
        "stages": row["rollout_stages"],
        "source_segment": row["segment"],
        "evidence": evidence,
    }
    playbook_id = "pb_" + uuid.uuid4().hex[:12]
    store.execute(
        "INSERT INTO program_playbooks VALUES (?, ?, ?, ?, ?)",
        [playbook_id, name.strip(), initiative_id, jsonutil.dumps_str(definition), _now()],
    )
    return {
        "playbook_id": playbook_id,
        "name": name.strip(),
        "source_initiative": initiative_id,
        **definition,
    }


def list_playbooks(store: Store) -> list[dict[str, Any]]:
    return [
        {**r, "definition": jsonutil.loads(r["definition"])}
        for r in store.records(
            "SELECT playbook_id, name, source_initiative, definition, created_at FROM program_playbooks "
            "ORDER BY created_at DESC"
        )
    ]


def apply_playbook(store: Store, playbook_id: str, segment: str, *, key: str | None = None) -> dict[str, Any]:
    """A new initiative for ``segment`` from a playbook: same objective, KPI and pilot design."""
    row = store.fetchone(
        "SELECT name, definition FROM program_playbooks WHERE playbook_id = ?", [playbook_id]
    )
    if row is None:
        raise NotFoundError(
            f"unknown playbook {playbook_id!r}; list them with cxlens program playbooks list",
            playbook_id=playbook_id,
        )
    if not segment or not segment.strip():
        raise InvalidInputError(
            "apply a playbook to a segment (NAME=VALUE or audience:NAME)", field="segment"
        )
    book = jsonutil.loads(row[1])
    slug = re.sub(r"[^A-Za-z0-9]+", "-", segment).strip("-").lower()[:40]
    pilot = {**book["pilot"], "key": key or f"{row[0][:40]}-{slug}-{uuid.uuid4().hex[:6]}".replace(" ", "-")}
    return create_initiative(
        store,
        title=f"{book['title']} — {segment}",
        objective=book["objective"],
        pilot=pilot,
        kpi_key=book["kpi_key"],
        kpi_target=book["kpi_target"],
        segment=segment,
        stages=book["stages"],
        playbook_id=playbook_id,
        notes=f"from playbook {row[0]!r}",
    )


def search_initiatives(store: Store, query: str) -> list[dict[str, Any]]:
    """Initiatives whose title, objective, notes, tags, segment or decision rationales hold every word."""
    terms = [t for t in query.split() if t]
    if not terms:
        raise InvalidInputError("give words to search for", field="query")
    text = (
        "concat_ws(' ', i.title, i.objective, i.notes, i.tags, i.segment, i.experiment_key, "
        "(SELECT string_agg(d.rationale, ' ') FROM program_decisions d "
        "WHERE d.initiative_id = i.initiative_id))"
    )
    where = " AND ".join(f"strpos(lower({text}), lower(?)) > 0" for _ in terms)
    return store.records(
        f"""SELECT i.initiative_id, i.title, i.status, i.objective, i.segment, i.experiment_key,
                                    i.updated_at FROM program_initiatives i WHERE {where}
                             ORDER BY i.updated_at DESC""",
        terms,
    )
