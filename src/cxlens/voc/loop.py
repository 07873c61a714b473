"""The closed loop: rules turn responses into follow-up tasks; tasks are worked, escalated, measured.

``evaluate(store)`` looks at every ``feedback`` row the rules have not seen, gathers the whole
response each belongs to (answers of one response share ``properties.response_id``; a lone event is
its own response) and creates one task per (rule, response) that matches, for known customers only
(an anonymized answer has nobody to call back). A response is looked at again when more of it
arrives — the comment that follows a one-click score can still trigger a theme or sentiment rule.

A task moves open → in_progress → resolved → closed (``TRANSITIONS``); resolving records the outcome
and whether the customer was reached. ``escalate_overdue`` hands tasks past their due time to the
rule's ``escalate_to`` owner. Each change is kept in ``voc_task_history`` and, for creation and
escalation, announced to webhooks (``voc.webhooks``). ``recovery_report`` answers "did recovery
work?": the next score of customers who were contacted against those who were not.

``run_loop`` does all of it once — what a periodic job (or the loader, after each load) calls.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy import stats

from cxlens import jsonutil
from cxlens.errors import ConflictError, InvalidInputError, NotFoundError
from cxlens.store import Store
from cxlens.voc import webhooks
from cxlens.voc.loop_rules import RULE_METRICS, ResponseView, Rule, parse_rule

log = logging.getLogger(__name__)

STATUSES = ("open", "in_progress", "resolved", "closed")
OPEN_STATUSES = ("open", "in_progress")
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "resolved", "closed"}),
    "in_progress": frozenset({"open", "resolved", "closed"}),
    "resolved": frozenset({"in_progress", "closed"}),
    "closed": frozenset(),
}
_RESPONSE_KEY = "coalesce(json_extract_string(properties, '$.response_id'), message_id)"
_TASK_COLUMNS = (
    "task_id, rule_id, response_key, survey_id, customer_id, touchpoint, metric, score, "
    "responded_at, owner, status, due_at, escalated_at, escalated_from, contacted, outcome, "
    "created_at, updated_at"
)


# ------------------------------------------------------------------------------------------------- rules


def save_rules(store: Store, rules: Iterable[Rule]) -> list[Rule]:
    """Replace the rule set with ``rules`` (a rule removed stops creating tasks; its tasks stay)."""
    chosen = list(rules)
    now = datetime.now(UTC)
    with store.transaction():
        store.execute("DELETE FROM voc_rules")
        store.executemany(
            "INSERT INTO voc_rules (rule_id, definition, enabled, updated_at) VALUES (?, ?, ?, ?)",
            [[r.rule_id, jsonutil.dumps_str(r.to_dict()), r.enabled, now] for r in chosen],
        )
    return chosen


def load_rules(store: Store) -> list[Rule]:
    return [
        parse_rule(jsonutil.loads(d))
        for (d,) in store.fetchall("SELECT definition FROM voc_rules ORDER BY rule_id")
    ]


# -------------------------------------------------------------------------------------------- evaluation


def _fresh_views(store: Store) -> tuple[list[ResponseView], list[str]]:
    """Responses with answers the rules have not seen (all their answers), and those answers' ids."""
    fresh = [
        m
        for (m,) in store.fetchall(
            "SELECT message_id FROM feedback f WHERE NOT EXISTS "
            "(SELECT 1 FROM voc_evaluated e WHERE e.message_id = f.message_id)"
        )
    ]
    if not fresh:
        return [], []
    rows = store.records(f"""
        WITH keys AS (SELECT DISTINCT {_RESPONSE_KEY} AS response_key FROM feedback f
                      WHERE NOT EXISTS (SELECT 1 FROM voc_evaluated e WHERE e.message_id = f.message_id))
        SELECT {_RESPONSE_KEY} AS response_key, customer_id, survey_id, touchpoint, timestamp, metric,
               score, comment
        FROM feedback WHERE {_RESPONSE_KEY} IN (SELECT response_key FROM keys)
        ORDER BY response_key, timestamp""")
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["response_key"]].append(row)
    views = []
    for key, answers in grouped.items():
        scores: dict[str, float] = {}
        for a in answers:
            if a["score"] is not None:
                scores.setdefault(a["metric"], float(a["score"]))
        first = answers[0]
        views.append(
            ResponseView(
                response_key=key,
                customer_id=next((a["customer_id"] for a in answers if a["customer_id"]), None),
                survey_id=first["survey_id"],
                touchpoint=next((a["touchpoint"] for a in answers if a["touchpoint"]), None),
                responded_at=first["timestamp"],
                scores=scores,
                comments=tuple(a["comment"] for a in answers if a["comment"] and a["comment"].strip()),
            )
        )
    return views, fresh


def _negative(views: list[ResponseView]) -> dict[str, bool]:
    """Whether each commented response reads negative (VADER, ``voc.sentiment``)."""
    from cxlens.voc.sentiment import score_texts

    commented = [v for v in views if v.comments]
    if not commented:
        return {}
    labels = score_texts([" ".join(v.comments) for v in commented], "vader")["label"].tolist()
    return {v.response_key: label == "negative" for v, label in zip(commented, labels, strict=True)}


def evaluate(store: Store, *, now: datetime | None = None) -> dict[str, Any]:
    """Apply the enabled rules to responses not yet seen; returns the tasks created."""
    now = now or datetime.now(UTC)
    rules = [r for r in load_rules(store) if r.enabled]
    views, fresh = _fresh_views(store)
    created: list[dict[str, Any]] = []
    if rules and views:
        negative = _negative(views) if any(r.needs_sentiment for r in rules) else {}
        existing = {tuple(r) for r in store.fetchall("SELECT rule_id, response_key FROM voc_tasks")}
        counts = dict(store.fetchall("SELECT rule_id, count(*) FROM voc_tasks GROUP BY rule_id"))
        for view in views:
            if view.customer_id is None:
                continue
            for rule in rules:
                if (rule.rule_id, view.response_key) in existing:
                    continue
                if rule.matches(view, negative.get(view.response_key)):
                    task = _create_task(store, rule, view, counts.get(rule.rule_id, 0), now)
                    counts[rule.rule_id] = counts.get(rule.rule_id, 0) + 1
                    created.append(task)
    if fresh:
        store.executemany(
            "INSERT OR IGNORE INTO voc_evaluated (message_id, evaluated_at) VALUES (?, ?)",
            [[m, now] for m in fresh],
        )
    log.info("closed loop: %d answers evaluated, %d tasks created", len(fresh), len(created))
    return {"evaluated": len(fresh), "responses": len(views), "created": created}


def _history(
    store: Store,
    task_id: str,
    actor: str,
    action: str,
    now: datetime,
    *,
    status: str | None = None,
    owner: str | None = None,
    note: str | None = None,
) -> None:
    store.execute(
        "INSERT INTO voc_task_history (task_id, changed_at, actor, action, status, owner, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [task_id, now, actor, action, status, owner, note],
    )


def _create_task(
    store: Store, rule: Rule, view: ResponseView, assigned: int, now: datetime
) -> dict[str, Any]:
    metric = rule.metric if rule.metric in view.scores else next(iter(view.scores), None)
    owner = rule.owner_for(view.touchpoint, assigned)
    task_id = "task_" + secrets.token_hex(6)
    due = view.responded_at + timedelta(hours=rule.sla_hours)
    store.execute(
        f"INSERT INTO voc_tasks ({_TASK_COLUMNS}) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, NULL, NULL, NULL, NULL, ?, ?)",
        [
            task_id,
            rule.rule_id,
            view.response_key,
            view.survey_id,
            view.customer_id,
            view.touchpoint,
            metric,
            view.scores.get(metric) if metric else None,
            view.responded_at,
            owner,
            due,
            now,
            now,
        ],
    )
    _history(store, task_id, f"rule:{rule.rule_id}", "created", now, status="open", owner=owner)
    task = get_task(store, task_id, history=False)
    webhooks.enqueue(store, "task.created", _public(task), now)
    return task


# ------------------------------------------------------------------------------------------------- tasks


def _public(task: dict[str, Any]) -> dict[str, Any]:
    """What leaves cxlens in a webhook: ids, scores, times, owner — no comment, no contact data."""
    keys = (
        "task_id",
        "rule_id",
        "survey_id",
        "customer_id",
        "touchpoint",
        "metric",
        "score",
        "status",
        "owner",
        "due_at",
        "escalated_at",
        "responded_at",
    )
    return {k: task[k] for k in keys}


def get_task(store: Store, task_id: str, *, history: bool = True) -> dict[str, Any]:
    rows = store.records(f"SELECT {_TASK_COLUMNS} FROM voc_tasks WHERE task_id = ?", [task_id])
    if not rows:
        raise NotFoundError(
            f"no follow-up task {task_id!r}; `cxlens voc loop tasks` lists them", task_id=task_id
        )
    task = rows[0]
    if history:
        task["history"] = store.records(
            "SELECT changed_at, actor, action, status, owner, note FROM voc_task_history "
            "WHERE task_id = ? ORDER BY changed_at",
            [task_id],
        )
    return task


def list_tasks(
    store: Store,
    *,
    status: str | None = None,
    owner: str | None = None,
    customer_id: str | None = None,
    overdue_at: datetime | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Tasks, most urgent first; ``overdue_at`` keeps open tasks past due at that time."""
    where, params = _task_filter(status, owner, customer_id, overdue_at)
    return store.records(
        f"SELECT {_TASK_COLUMNS} FROM voc_tasks WHERE {where} "
        "ORDER BY status IN ('resolved', 'closed'), due_at, task_id LIMIT ?",
        [*params, limit],
    )


def count_tasks(store: Store, *, status: str | None = None) -> int:
    """How many tasks :func:`list_tasks` would find without its limit (a queue shows "n of total")."""
    where, params = _task_filter(status, None, None, None)
    return int(store.scalar(f"SELECT count(*) FROM voc_tasks WHERE {where}", params))


def _task_filter(
    status: str | None, owner: str | None, customer_id: str | None, overdue_at: datetime | None
) -> tuple[str, list[Any]]:
    where: list[str] = ["true"]
    params: list[Any] = []
    if status:  # blank means any, like owner and customer_id (a query string's ?status=)
        if status not in STATUSES:
            raise InvalidInputError(f"unknown status {status!r}; use {', '.join(STATUSES)}", field="status")
        where.append("status = ?")
        params.append(status)
    for column, value in (("owner", owner), ("customer_id", customer_id)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if overdue_at is not None:
        where.append(f"status IN {OPEN_STATUSES} AND due_at < ?")
        params.append(overdue_at)
    return " AND ".join(where), params


def assign(
    store: Store, task_id: str, owner: str, actor: str, *, now: datetime | None = None
) -> dict[str, Any]:
    owner = (owner or "").strip()
    if not owner:
        raise InvalidInputError("name the owner to assign the task to", field="owner")
    now = now or datetime.now(UTC)
    task = get_task(store, task_id, history=False)
    if task["status"] == "closed":
        raise ConflictError(f"task {task_id} is closed; it cannot be reassigned", task_id=task_id)
    store.execute("UPDATE voc_tasks SET owner = ?, updated_at = ? WHERE task_id = ?", [owner, now, task_id])
    _history(store, task_id, actor, "assigned", now, owner=owner)
    return get_task(store, task_id)


def set_status(
    store: Store,
    task_id: str,
    status: str,
    actor: str,
    *,
    outcome: str | None = None,
    contacted: bool | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move a task on; resolving (or closing an unresolved task) needs the ``outcome``."""
    if status not in STATUSES:
        raise InvalidInputError(f"unknown status {status!r}; use {', '.join(STATUSES)}", field="status")
    now = now or datetime.now(UTC)
    task = get_task(store, task_id, history=False)
    if status not in TRANSITIONS[task["status"]]:
        raise ConflictError(
            f"task {task_id} is {task['status']}; it cannot become {status}",
            task_id=task_id,
            status=task["status"],
        )
    outcome = (outcome or "").strip() or None
    if status in ("resolved", "closed") and outcome is None and task["outcome"] is None:
        raise InvalidInputError("say what happened (the outcome) to resolve or close a task", field="outcome")
    store.execute(
        "UPDATE voc_tasks SET status = ?, outcome = coalesce(?, outcome), "
        "contacted = coalesce(?, contacted), updated_at = ? WHERE task_id = ?",
        [status, outcome, contacted, now, task_id],
    )
    _history(store, task_id, actor, "status", now, status=status, note=(note or outcome or None))
    updated = get_task(store, task_id)
    webhooks.enqueue(store, "task.updated", _public(updated), now)
    return updated


def update_task(
    store: Store,
    task_id: str,
    actor: str,
    *,
    owner: str | None = None,
    status: str | None = None,
    outcome: str | None = None,
    contacted: bool | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Assign and/or move a task on as one change: if either is refused, neither is saved.

    A form or request asking for both must not leave the new owner behind when the status change
    is refused (resolving without the outcome, say), while it tells the agent nothing was saved.
    """
    with store.transaction():
        task = assign(store, task_id, owner, actor) if owner is not None else get_task(store, task_id)
        if status is not None:
            task = set_status(store, task_id, status, actor, outcome=outcome, contacted=contacted, note=note)
    return task


def escalate_overdue(store: Store, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Hand every open task past its due time to its rule's ``escalate_to`` (once per task)."""
    now = now or datetime.now(UTC)
    rules = {r.rule_id: r for r in load_rules(store)}
    escalated = []
    for task in list_tasks(store, overdue_at=now, limit=10_000):
        if task["escalated_at"] is not None:
            continue
        rule = rules.get(task["rule_id"])
        target = rule.escalate_to if rule and rule.escalate_to else task["owner"]
        store.execute(
            "UPDATE voc_tasks SET escalated_at = ?, escalated_from = owner, owner = ?, updated_at = ? "
            "WHERE task_id = ?",
            [now, target, now, task["task_id"]],
        )
        _history(
            store,
            task["task_id"],
            "escalation",
            "escalated",
            now,
            owner=target,
            note=f"overdue since {task['due_at'].isoformat()}",
        )
        done = get_task(store, task["task_id"], history=False)
        webhooks.enqueue(store, "task.escalated", _public(done), now)
        escalated.append(done)
    return escalated


def run_loop(
    store: Store, *, now: datetime | None = None, policy: webhooks.DeliveryPolicy | None = None
) -> dict[str, Any]:
    """Evaluate new answers, escalate overdue tasks, send due webhooks — one pass of the loop."""
    now = now or datetime.now(UTC)
    evaluated = evaluate(store, now=now)
    escalated = escalate_overdue(store, now=now)
    sent = webhooks.deliver_due(store, now=now, policy=policy)
    return {
        "evaluated": evaluated["evaluated"],
        "created": len(evaluated["created"]),
        "escalated": len(escalated),
        "webhooks": sent,
    }


# ---------------------------------------------------------------------------------------------- recovery


def recovery_report(store: Store, metric: str = "nps") -> dict[str, Any]:
    """Did recovery work? Customers' next ``metric`` score after a followed-up answer, contacted vs not.

    One row per (customer, response) with a task; "contacted" when any of its tasks says so. The next
    score is the customer's first later answer of the same metric from another response. The
    difference in mean change between the groups is tested with Welch's t-test.
    """
    if metric not in RULE_METRICS:  # a typo would otherwise read as "no task was ever followed up"
        raise InvalidInputError(f"unknown metric {metric!r}; use {', '.join(RULE_METRICS)}", field="metric")
    rows = store.records(
        f"""
        WITH t AS (SELECT customer_id, response_key, any_value(score) AS score, min(responded_at) AS at,
                          bool_or(coalesce(contacted, false)) AS contacted
                   FROM voc_tasks WHERE metric = ? AND score IS NOT NULL GROUP BY customer_id, response_key)
        SELECT t.contacted, t.score,
               (SELECT arg_min(f.score, f.timestamp) FROM feedback f
                WHERE f.customer_id = t.customer_id AND f.metric = ? AND f.score IS NOT NULL
                  AND f.timestamp > t.at AND {_RESPONSE_KEY} <> t.response_key) AS next_score
        FROM t""",
        [metric, metric],
    )
    groups: dict[str, Any] = {}
    changes: dict[bool, np.ndarray] = {}
    for contacted in (True, False):
        mine = [r for r in rows if bool(r["contacted"]) == contacted]
        pairs = np.array([(r["score"], r["next_score"]) for r in mine if r["next_score"] is not None], float)
        change = pairs[:, 1] - pairs[:, 0] if len(pairs) else np.empty(0)
        changes[contacted] = change
        groups["contacted" if contacted else "not_contacted"] = {
            "responses": len(mine),
            "with_next_score": len(pairs),
            "mean_score": round(float(np.mean([r["score"] for r in mine])), 3) if mine else None,
            "mean_next_score": round(float(pairs[:, 1].mean()), 3) if len(pairs) else None,
            "mean_change": round(float(change.mean()), 3) if len(change) else None,
        }
    p_value = None
    if len(changes[True]) >= 2 and len(changes[False]) >= 2:
        p = stats.ttest_ind(changes[True], changes[False], equal_var=False).pvalue
        p_value = round(float(p), 4) if np.isfinite(p) else None
    return {"metric": metric, **groups, "welch_p_value": p_value}
