"""HTTP routes of surveys and the closed loop (docs/surveys.md).

Survey definitions, links, rules, tasks and webhooks take an admin key (Bearer); posting answers
takes a write key, as collection does (HTTP Basic user name or ``writeKey`` in the body). The public
hosted page ``/s/{survey}`` is a web page (``cxlens.web.pages.surveys_hosted``).

Answers enter the store the way every event does — validated, consent-screened, unified and
extracted by ``collect.pipeline.load_events`` — and the closed-loop rules run on them right away.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from cxlens.api.collect import basic_user
from cxlens.api.deps import require_admin, runtime
from cxlens.collect.messages import MessageInvalid, normalize
from cxlens.collect.pipeline import load_events
from cxlens.collect.records import to_arrow
from cxlens.config import Settings
from cxlens.errors import InvalidInputError
from cxlens.keys import ApiKey
from cxlens.store import Store
from cxlens.voc import loop, loop_rules, responses, surveys, webhooks

router = APIRouter(tags=["surveys"])
Admin = Annotated[ApiKey, Depends(require_admin)]


# ---------------------------------------------------------------------------- shared with the other faces


def submit_answers(
    store: Store,
    settings: Settings,
    survey: surveys.Survey,
    clean: dict[str, Any],
    respondent: responses.Respondent,
    *,
    response_id: str,
    source: str,
    channel: str | None = None,
    timestamp: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record checked answers as ``Survey Responded`` events through the collect pipeline, then run
    the closed-loop rules on them. Returns what was recorded and the tasks created."""
    messages = responses.build_messages(
        survey,
        clean,
        respondent,
        response_id=response_id,
        channel=channel,
        timestamp=timestamp,
        context=context,
    )
    received_us = time.time_ns() // 1000
    try:
        records = [normalize(m, None, received_us, None, source) for m in messages]
    except MessageInvalid as exc:
        raise InvalidInputError(exc.message, field=exc.field) from None
    report = load_events(store, settings, to_arrow(records))
    created = loop.evaluate(store)["created"]
    return {
        "response_id": response_id,
        "recorded": report.loaded,
        "duplicates": report.duplicates,
        "withheld": report.dropped_suppressed + report.dropped_refused,
        "tasks_created": [t["task_id"] for t in created],
    }


def _deliver(store: Store) -> None:
    webhooks.deliver_due(store)


# ------------------------------------------------------------------------------------------- definitions


@router.post("/v1/surveys", status_code=201)
def create_survey(request: Request, definition: dict[str, Any], _: Admin) -> dict[str, Any]:
    """Save a survey definition: a new version when it changed (see docs/surveys.md for the format)."""
    return surveys.save_survey(runtime(request).store, definition).to_dict()


@router.get("/v1/surveys")
def list_surveys(request: Request, _: Admin) -> list[dict[str, Any]]:
    return surveys.list_surveys(runtime(request).store)


@router.get("/v1/surveys/{survey_id}")
def show_survey(
    request: Request, survey_id: str, _: Admin, version: Annotated[int | None, Query(ge=1)] = None
) -> dict[str, Any]:
    return surveys.get_survey(runtime(request).store, survey_id, version).to_dict()


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: str = Field(min_length=1, description="Who the link is for (a cxlens customer id).")
    days: float = Field(responses.DEFAULT_LINK_DAYS, gt=0, le=responses.MAX_LINK_DAYS,
                        description="How long it stays valid.")


@router.post("/v1/surveys/{survey_id}/links", status_code=201)
def create_link(request: Request, survey_id: str, body: LinkRequest, _: Admin) -> dict[str, Any]:
    """A personal link (signed token) for e-mail, with one-click URLs for each answer of the scale."""
    rt = runtime(request)
    survey = surveys.get_survey(rt.store, survey_id)
    responses.respondent_for(rt.store, body.customer_id)  # refuse links nobody could answer
    token = responses.sign_link(
        responses.link_key(rt.settings.data_dir), survey_id, body.customer_id, days=body.days
    )
    primary = survey.primary
    choices = (
        range(primary.low, primary.high + 1)
        if primary.low is not None and primary.high is not None
        else ("yes", "no")
        if primary.kind == "yesno"
        else ()
    )
    return {
        "survey_id": survey_id,
        "token": token,
        "url": f"/s/{survey_id}?t={token}",
        "question_id": primary.question_id,
        "one_click": {str(c): f"/s/{survey_id}?t={token}&{primary.question_id}={c}" for c in choices},
    }


# --------------------------------------------------------------------------------------------- responses


class ResponseBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    answers: dict[str, Any] = Field(description="Question id (or <likert>.<item>) → answer.")
    user_id: str | None = Field(None, alias="userId")
    anonymous_id: str | None = Field(None, alias="anonymousId")
    token: str | None = Field(None, description="A personal link token instead of an identifier.")
    response_id: str | None = Field(
        None, alias="responseId", description="Idempotency: same id, same answers."
    )
    channel: str | None = None
    timestamp: datetime | None = None
    write_key: str | None = Field(None, alias="writeKey")


@router.post("/v1/surveys/{survey_id}/responses", status_code=201)
def post_response(
    request: Request, survey_id: str, body: ResponseBody, background: BackgroundTasks
) -> dict[str, Any]:
    """Record one response (write key): checked against the survey, loaded like any event."""
    rt = runtime(request)
    key = rt.keyring.authenticate(basic_user(request) or body.write_key, "write")
    survey = surveys.get_survey(rt.store, survey_id)
    clean = responses.check_answers(survey, body.answers)
    response_id = body.response_id or responses.new_response_id()
    if body.token:
        link = responses.verify_link(responses.link_key(rt.settings.data_dir), body.token, survey_id)
        respondent = responses.respondent_for(rt.store, link.customer_id)
        response_id = link.response_id
    elif body.user_id or body.anonymous_id:
        respondent = responses.Respondent(user_id=body.user_id, anonymous_id=body.anonymous_id)
    else:
        raise InvalidInputError("say who answered: userId, anonymousId or a link token", field="userId")
    result = submit_answers(
        rt.store,
        rt.settings,
        survey,
        clean,
        respondent,
        response_id=response_id,
        source=key.name,
        channel=body.channel,
        timestamp=body.timestamp,
    )
    if result["tasks_created"]:
        background.add_task(_deliver, rt.store)
    return result


# ---------------------------------------------------------------------------------------- the closed loop


@router.get("/v1/loop/rules")
def get_rules(request: Request, _: Admin) -> list[dict[str, Any]]:
    return [r.to_dict() for r in loop.load_rules(runtime(request).store)]


@router.put("/v1/loop/rules")
def put_rules(request: Request, rules: list[dict[str, Any]], _: Admin) -> list[dict[str, Any]]:
    """Replace the rule set (see docs/surveys.md for conditions, owners, SLA and escalation)."""
    return [r.to_dict() for r in loop.save_rules(runtime(request).store, loop_rules.parse_rules(rules))]


@router.get("/v1/loop/tasks")
def get_tasks(
    request: Request,
    _: Admin,
    status: str | None = None,
    owner: str | None = None,
    customer_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    return loop.list_tasks(
        runtime(request).store, status=status, owner=owner, customer_id=customer_id, limit=limit
    )


@router.get("/v1/loop/tasks/{task_id}")
def get_task(request: Request, task_id: str, _: Admin) -> dict[str, Any]:
    return loop.get_task(runtime(request).store, task_id)


class TaskChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    owner: str | None = None
    status: str | None = None
    outcome: str | None = None
    contacted: bool | None = None
    note: str | None = None


@router.post("/v1/loop/tasks/{task_id}")
def change_task(
    request: Request, task_id: str, body: TaskChange, key: Admin, background: BackgroundTasks
) -> dict[str, Any]:
    """Assign and/or move a task on (resolving needs ``outcome``)."""
    store = runtime(request).store
    if body.owner is None and body.status is None:
        raise InvalidInputError("give an owner and/or a status", field="status")
    task = loop.update_task(
        store,
        task_id,
        f"api:{key.key_id}",
        owner=body.owner,
        status=body.status,
        outcome=body.outcome,
        contacted=body.contacted,
        note=body.note,
    )
    if body.status is not None:
        background.add_task(_deliver, store)
    return task


@router.post("/v1/loop/run")
def run(request: Request, _: Admin) -> dict[str, Any]:
    """One pass: evaluate new answers, escalate overdue tasks, send due webhooks."""
    return loop.run_loop(runtime(request).store)


@router.get("/v1/loop/report")
def report(request: Request, _: Admin, metric: str = "nps") -> dict[str, Any]:
    """Did recovery work? Next scores of contacted vs not-contacted customers."""
    return loop.recovery_report(runtime(request).store, metric)


class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    events: list[str] | None = None


@router.post("/v1/loop/webhooks", status_code=201)
def add_webhook(request: Request, body: WebhookBody, _: Admin) -> dict[str, Any]:
    """Subscribe a URL; the answer holds the signing secret, shown this once."""
    return webhooks.add_webhook(runtime(request).store, body.url, body.events)


@router.get("/v1/loop/webhooks")
def get_webhooks(request: Request, _: Admin) -> dict[str, Any]:
    store = runtime(request).store
    return {"webhooks": webhooks.list_webhooks(store), "deliveries": webhooks.delivery_log(store)}
