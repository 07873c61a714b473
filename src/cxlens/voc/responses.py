"""Answers → ``Survey Responded`` messages, and the signed tokens that say who is answering.

A survey answer is an event like any other: it is collected, de-duplicated, screened for consent and
suppression, unified to a customer and extracted into ``feedback`` by the collect pipeline. This
module does only what is particular to surveys: checking answers against the survey's questions
(each problem named by its field, so a form can show it beside the field) and building one
Segment-spec ``track`` message per answer. ``messageId`` is ``<response_id>:<answer key>``, so
sending the same response twice (a double click, a retried request, a second click on an e-mail
link) records it once.

E-mail links carry a token instead of an identity: ``base64url(payload).base64url(HMAC-SHA256)``
whose payload holds the survey, the customer id (an opaque internal id, never an e-mail or a name),
an expiry and a random nonce. The nonce names the response, which makes the one-click answer
idempotent. The signing key lives in the data directory (``survey-links.key``, created on first use).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import os
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cxlens import jsonutil
from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.store import Store
from cxlens.voc.surveys import TEXT_MAX_LENGTH, Question, Survey

EVENT = "Survey Responded"
KEY_FILE = "survey-links.key"
DEFAULT_LINK_DAYS = 30
MAX_LINK_DAYS = 366  # a personal link should not outlive the survey's year; the API and CLI share it
_YES = {"yes", "true", "1", "y"}
_NO = {"no", "false", "0", "n"}


class InvalidAnswersError(InvalidInputError):
    """Some answers cannot be accepted; ``errors`` maps each form field to what is wrong with it."""

    code = "invalid_answers"

    def __init__(self, errors: Mapping[str, str]) -> None:
        first = next(iter(errors.items()))
        super().__init__(
            f"{len(errors)} answer(s) need attention; first: {first[0]}: {first[1]}", errors=dict(errors)
        )
        self.errors = dict(errors)


class InvalidLinkError(InvalidInputError):
    """A survey link token that is forged, damaged, for another survey, or expired."""

    code = "invalid_link"


# ---------------------------------------------------------------------------------------------- answers


def _scale_value(q: Question, raw: Any) -> tuple[float | None, str | None]:
    if isinstance(raw, bool):
        return None, "choose a number on the scale"
    try:
        value = float(str(raw).strip()) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        return None, f"choose a number from {q.low} to {q.high}"
    assert q.low is not None and q.high is not None
    if not math.isfinite(value) or value != int(value) or not q.low <= value <= q.high:
        return None, f"choose a whole number from {q.low} to {q.high}"
    return value, None


def _one_answer(q: Question, raw: Any) -> tuple[Any, str | None]:
    if q.kind == "text":
        if not isinstance(raw, str):
            return None, "write your answer as text"
        text = raw.strip()
        if len(text) > TEXT_MAX_LENGTH:
            return None, f"keep it under {TEXT_MAX_LENGTH} characters (this is {len(text)})"
        return text, None
    if q.kind == "yesno":
        word = str(raw).strip().lower()
        if word in _YES:
            return 1.0, None
        if word in _NO:
            return 0.0, None
        return None, "choose yes or no"
    return _scale_value(q, raw)


def _is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def validate_answers(
    survey: Survey, answers: Mapping[str, Any], *, already_answered: Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean answers per form field (scores as floats, yes = 1, no = 0, text trimmed) and problems.

    Fields are the questions' ``answer_keys`` (``<question>.<item>`` for Likert items). Blank optional
    answers are left out; ``already_answered`` fields (the one-click score) are not required again.
    """
    done = set(already_answered)
    known: dict[str, Question] = {key: q for q in survey.questions for key in q.answer_keys}
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in answers:
        if key not in known:
            errors[key] = (
                f"survey {survey.survey_id!r} has no question {key!r}; its questions are {', '.join(known)}"
            )
    for key, q in known.items():
        raw = answers.get(key)
        if _is_blank(raw):
            if q.required and key not in done:
                errors[key] = "please answer this question" if q.kind != "text" else "please write an answer"
            continue
        value, problem = _one_answer(q, raw)
        if problem:
            errors[key] = problem
        else:
            clean[key] = value
    return clean, errors


def check_answers(survey: Survey, answers: Any, *, already_answered: Iterable[str] = ()) -> dict[str, Any]:
    """:func:`validate_answers` for programs: raises :class:`InvalidAnswersError` on any problem."""
    if not isinstance(answers, Mapping) or not answers:
        raise InvalidInputError("answers must be a non-empty object of question id → answer", field="answers")
    clean, errors = validate_answers(survey, answers, already_answered=already_answered)
    if errors:
        raise InvalidAnswersError(errors)
    if not clean:
        raise InvalidInputError("every answer was blank; nothing to record", field="answers")
    return clean


@dataclass(frozen=True)
class Respondent:
    """Who answers: the identifiers the message carries (at least one), never contact data."""

    user_id: str | None = None
    anonymous_id: str | None = None

    @classmethod
    def anonymous(cls) -> Respondent:
        return cls(anonymous_id="svr-" + uuid.uuid4().hex)


def new_response_id() -> str:
    return "r_" + secrets.token_hex(10)


def recorded_answers(store: Store, response_id: str, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` a response has on record (its one-click score), read from the store.

    The form says which answers it no longer asks for, but the browser controls the form: only an
    answer on record may spare a required question.
    """
    ids = [f"{response_id}:{key}" for key in keys]
    if not ids:
        return set()
    rows = store.fetchall("SELECT DISTINCT message_id FROM feedback WHERE message_id IN (SELECT unnest(?))",
                          [ids])
    return {message_id.partition(":")[2] for (message_id,) in rows}


def build_messages(
    survey: Survey,
    clean: Mapping[str, Any],
    respondent: Respondent,
    *,
    response_id: str,
    channel: str | None = None,
    timestamp: datetime | None = None,
    context: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One Segment ``track`` message per checked answer (from :func:`check_answers`)."""
    if respondent.user_id is None and respondent.anonymous_id is None:
        raise InvalidInputError("a response needs a userId or anonymousId", field="userId")
    when = (timestamp or datetime.now(UTC)).astimezone(UTC).isoformat()
    by_key = {key: q for q in survey.questions for key in q.answer_keys}
    messages = []
    for key, value in clean.items():
        q = by_key[key]
        properties: dict[str, Any] = {
            "survey_id": survey.survey_id,
            "survey_version": survey.version,
            "response_id": response_id,
            "question_id": key,
            "metric": q.metric,
            "touchpoint": survey.touchpoint,
            "stage": survey.stage,
        }
        if q.kind == "text":
            properties["comment"] = value
        else:
            properties["score"] = value
        message: dict[str, Any] = {
            "type": "track",
            "event": EVENT,
            "messageId": f"{response_id}:{key}",
            "timestamp": when,
            "properties": properties,
            "context": dict(context or {}),
        }
        if channel:
            message["channel"] = channel
        if respondent.user_id:
            message["userId"] = respondent.user_id
        if respondent.anonymous_id:
            message["anonymousId"] = respondent.anonymous_id
        messages.append(message)
    return messages


def respondent_for(store: Store, customer_id: str) -> Respondent:
    """The identifiers to attribute a customer's answers to (their user id, else an anonymous id)."""
    rows = store.fetchall(
        "SELECT kind, value FROM identities WHERE customer_id = ? AND kind IN ('user_id', 'anonymous_id') "
        "AND NOT hub ORDER BY kind = 'user_id' DESC, last_seen DESC LIMIT 1",
        [customer_id],
    )
    if not rows:
        known = store.scalar("SELECT count(*) FROM identities WHERE customer_id = ?", [customer_id])
        if not known:
            raise NotFoundError(f"unknown customer {customer_id!r}", customer_id=customer_id)
        raise InvalidInputError(
            f"customer {customer_id!r} has no user id or anonymous id to attribute "
            "answers to; send them the survey without a personal link",
            customer_id=customer_id,
        )
    kind, value = rows[0]
    return Respondent(user_id=value) if kind == "user_id" else Respondent(anonymous_id=value)


# ------------------------------------------------------------------------------------------------ links


def link_key(data_dir: Path) -> bytes:
    """The HMAC key for survey links, created (owner-only) on first use."""
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class LinkToken:
    survey_id: str
    customer_id: str
    expires_at: datetime
    nonce: str

    @property
    def response_id(self) -> str:
        return "r_" + self.nonce


def sign_link(
    key: bytes,
    survey_id: str,
    customer_id: str,
    *,
    days: float = DEFAULT_LINK_DAYS,
    now: datetime | None = None,
) -> str:
    """A token for one recipient's link to one survey, valid for ``days``."""
    if days <= 0:
        raise InvalidInputError("a link must be valid for a positive number of days", field="days")
    if days > MAX_LINK_DAYS:
        raise InvalidInputError(f"a link may be valid for at most {MAX_LINK_DAYS} days", field="days")
    expires = (now or datetime.now(UTC)) + timedelta(days=days)
    payload = _b64(
        jsonutil.dumps(
            {"s": survey_id, "c": customer_id, "x": int(expires.timestamp()), "n": secrets.token_hex(10)}
        )
    )
    signature = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def verify_link(key: bytes, token: str, survey_id: str, *, now: datetime | None = None) -> LinkToken:
    """The token's contents, if its signature is ours, it is for ``survey_id`` and it has not expired."""
    payload, _, signature = (token or "").strip().partition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    # bytes, not str: compare_digest raises TypeError on a non-ASCII str (a link mangled in transit)
    if not payload or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise InvalidLinkError(
            "this survey link is not valid (it may have been cut off); "
            "open it again from the original message",
            field="t",
        )
    data = jsonutil.loads(_unb64(payload))
    if data.get("s") != survey_id:
        raise InvalidLinkError("this link belongs to another survey", field="t")
    expires = datetime.fromtimestamp(int(data["x"]), UTC)
    if (now or datetime.now(UTC)) >= expires:
        raise InvalidLinkError("this survey link has expired; thank you all the same", field="t")
    return LinkToken(
        survey_id=survey_id, customer_id=str(data["c"]), expires_at=expires, nonce=str(data["n"])
    )
