"""Helpers the survey and closed-loop tests share: the golden definitions and loading answers."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from cxlens.api.surveys import submit_answers
from cxlens.collect.messages import normalize
from cxlens.collect.pipeline import load_events
from cxlens.collect.records import to_arrow
from cxlens.voc import responses, surveys

CASES = Path(__file__).resolve().parents[1] / "cases" / "surveys"

CSAT_SUPPORT = {
    "id": "support-csat",
    "title": "Your support chat",
    "touchpoint": "support_chat",
    "stage": "service",
    "questions": [
        {"id": "csat", "kind": "csat", "label": "How satisfied are you with the help you got?"},
        {"id": "why", "kind": "text", "label": "Anything to add?"},
    ],
}
HELPFUL = {
    "id": "helpful",
    "title": "Was this helpful?",
    "touchpoint": "help_center",
    "stage": "service",
    "questions": [{"id": "helpful", "kind": "yesno", "label": "Was this article helpful?"}],
}


def checkout_survey(store) -> surveys.Survey:
    return surveys.save_survey(store, surveys.read_definition_file(CASES / "checkout.yaml"))


def answer(
    store,
    settings,
    survey,
    answers: dict[str, Any],
    user_id: str,
    *,
    when: datetime | None = None,
    response_id: str | None = None,
) -> dict[str, Any]:
    """Record a response of ``user_id`` the way every face does (pipeline, then the rules)."""
    clean = responses.check_answers(survey, answers)
    return submit_answers(
        store,
        settings,
        survey,
        clean,
        responses.Respondent(user_id=user_id),
        response_id=response_id or responses.new_response_id(),
        source="test",
        timestamp=when,
    )


def load_message(store, settings, message: dict[str, Any]) -> None:
    """Load one raw Segment message through the collect pipeline."""
    record = normalize(message, None, time.time_ns() // 1000, None, "test")
    load_events(store, settings, to_arrow([record]))


def customer_of(store, user_id: str) -> str:
    return store.scalar("SELECT customer_id FROM identities WHERE kind = 'user_id' AND value = ?", [user_id])
