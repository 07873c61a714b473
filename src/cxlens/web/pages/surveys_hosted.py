"""The public hosted survey page ``/s/{survey}``: a plain HTML form, no JavaScript, no sign-in.

One-click answers from e-mail: ``/s/{survey}?t=<link token>&<question>=<answer>`` records that answer
at once (the token's nonce names the response, so a second click changes nothing) and then offers
the rest of the survey. Problems are shown beside their field and listed in a summary at the top,
never as a traceback. Answers go through the same pipeline as every event (``api.surveys``).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxlens.api.surveys import submit_answers
from cxlens.errors import CxlensError
from cxlens.voc import responses, surveys
from cxlens.web.render import SECURITY_HEADERS, environment

router = APIRouter(include_in_schema=False)
_RESPONSE_ID = re.compile(r"^r_[0-9a-f]{20}$")
_CHANGED = "This survey was changed while you had it open. Please check your answers and send them again."


def _render(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = environment().get_template(template).render(**values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _problem(exc: CxlensError, survey: surveys.Survey | None = None) -> HTMLResponse:
    return _render(
        "survey_message.html",
        exc.http_status,
        survey=survey,
        title="This survey cannot be shown",
        message=exc.message,
    )


def _form(
    survey: surveys.Survey,
    *,
    token: str | None,
    response_id: str,
    answered: dict[str, Any],
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    remaining = [q for q in survey.questions if not set(q.answer_keys) <= set(answered)]
    return _render(
        "survey_form.html",
        status,
        survey=survey,
        questions=remaining,
        token=token,
        response_id=response_id,
        answered=answered,
        values=values or {},
        errors=errors or {},
        notice=notice,
        field_id=field_id,
    )


def field_id(key: str, value: Any = None) -> str:
    """An HTML id for an answer field (and one of its options)."""
    base = "f-" + key.replace(".", "--")
    return base if value is None else f"{base}-{value}"


def _link(request: Request, survey_id: str, token: str | None) -> responses.LinkToken | None:
    if not token:
        return None
    settings = request.app.state.runtime.settings
    return responses.verify_link(responses.link_key(settings.data_dir), token, survey_id)


def _respondent(request: Request, link: responses.LinkToken | None) -> responses.Respondent:
    if link is None:
        return responses.Respondent.anonymous()
    return responses.respondent_for(request.app.state.runtime.store, link.customer_id)


def _record(
    request: Request,
    survey: surveys.Survey,
    clean: dict[str, Any],
    link: responses.LinkToken | None,
    response_id: str,
) -> dict[str, Any]:
    rt = request.app.state.runtime
    channel = "email" if link is not None else "web"
    return submit_answers(
        rt.store,
        rt.settings,
        survey,
        clean,
        _respondent(request, link),
        response_id=response_id,
        source="hosted-survey",
        channel=channel,
        context={"page": {"path": request.url.path}},
    )


@router.get("/s/{survey_id}", response_class=HTMLResponse)
def show(request: Request, survey_id: str) -> HTMLResponse:
    """The form; with a link token and an answer in the query, that answer is recorded first."""
    store = request.app.state.runtime.store
    try:
        survey = surveys.get_survey(store, survey_id)
    except CxlensError as exc:
        return _problem(exc)
    token = request.query_params.get("t")
    try:
        link = _link(request, survey_id, token)
    except CxlensError as exc:
        return _problem(exc, survey)
    response_id = link.response_id if link else responses.new_response_id()
    given = {
        k: v
        for k, v in request.query_params.items()
        if k != "t" and any(k in q.answer_keys for q in survey.questions)
    }
    if not given or link is None:
        return _form(survey, token=token, response_id=response_id, answered={})
    clean, errors = responses.validate_answers(survey, given, already_answered=_all_keys(survey) - set(given))
    if errors:
        return _form(
            survey, token=token, response_id=response_id, answered={}, values=given, errors=errors, status=400
        )
    try:
        _record(request, survey, clean, link, response_id)
    except CxlensError as exc:
        return _problem(exc, survey)
    if set(clean) == _all_keys(survey):
        return _render("survey_message.html", survey=survey, title=survey.title, message=survey.thanks)
    return _form(survey, token=token, response_id=response_id, answered=clean)


def _all_keys(survey: surveys.Survey) -> set[str]:
    return {key for q in survey.questions for key in q.answer_keys}


@router.post("/s/{survey_id}", response_class=HTMLResponse)
async def submit(request: Request, survey_id: str) -> Response:
    """Record the form's answers; on problems, the form again with each problem beside its field."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    store = request.app.state.runtime.store
    try:
        survey = surveys.get_survey(store, survey_id)
        token = fields.pop("t", "") or None
        link = _link(request, survey_id, token)
    except CxlensError as exc:
        return _problem(exc)
    response_id = fields.pop("response_id", "")
    shown_version = fields.pop("version", "")
    if link is not None:
        response_id = link.response_id
    elif not _RESPONSE_ID.match(response_id):
        response_id = responses.new_response_id()
    claimed = {k for k in fields.pop("answered", "").split(",") if k} & _all_keys(survey)
    answered_keys = responses.recorded_answers(store, response_id, claimed)
    answers = {k: v for k, v in fields.items() if k not in answered_keys}
    answered = dict.fromkeys(answered_keys, True)
    if shown_version and shown_version != str(survey.version):
        # answers to questions the respondent never saw (or no longer has) must not be recorded as
        # this version's, nor rejected with messages about fields the page does not show: ask again
        return _form(survey, token=token, response_id=response_id, answered=answered, values=answers,
                     notice=_CHANGED, status=409)
    clean, errors = responses.validate_answers(survey, answers, already_answered=answered_keys)
    if not errors and not clean and not answered_keys:
        errors = {survey.questions[0].answer_keys[0]: "please answer at least one question"}
    if errors:
        return _form(survey, token=token, response_id=response_id, answered=answered, values=answers,
                     errors=errors, status=400)
    if clean:
        try:
            _record(request, survey, clean, link, response_id)
        except CxlensError as exc:
            return _problem(exc, survey)
    return RedirectResponse(f"/s/{survey_id}/thanks", status_code=303)


@router.get("/s/{survey_id}/thanks", response_class=HTMLResponse)
def thanks(request: Request, survey_id: str) -> HTMLResponse:
    try:
        survey = surveys.get_survey(request.app.state.runtime.store, survey_id)
    except CxlensError as exc:
        return _problem(exc)
    return _render("survey_message.html", survey=survey, title=survey.title, message=survey.thanks)
