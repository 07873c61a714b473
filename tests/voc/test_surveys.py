"""Survey definitions, answer checks, signed links, and answers through the collect pipeline."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from surveys_support import CSAT_SUPPORT, HELPFUL, answer, checkout_survey, customer_of, load_message  # noqa: E402

from cxlens.errors import InvalidInputError, NotFoundError  # noqa: E402
from cxlens.privacy.dsar import erase_person  # noqa: E402
from cxlens.voc import responses, surveys  # noqa: E402
from cxlens.voc.score_store import report_from_store  # noqa: E402


def test_a_yaml_definition_is_saved_versioned_and_read_back(store):
    first = checkout_survey(store)
    assert (first.survey_id, first.version, first.touchpoint, first.stage) == (
        "checkout-nps",
        1,
        "checkout",
        "purchase",
    )
    assert [q.kind for q in first.questions] == ["nps", "likert", "text"]
    assert first.question("ease").answer_keys == ["ease.clear", "ease.fast"]
    assert (first.question("nps").low, first.question("nps").high) == (0, 10)
    assert checkout_survey(store).version == 1  # the same definition again: no new version
    changed = {**first.to_dict(), "title": "Checkout, briefly"}
    changed["id"] = changed.pop("survey_id")
    for key in ("version", "created_at"):
        changed.pop(key)
    assert surveys.save_survey(store, changed).version == 2
    assert surveys.get_survey(store, "checkout-nps", 1).title == "How was checkout?"
    assert surveys.get_survey(store, "checkout-nps").title == "Checkout, briefly"
    listed = {s["survey_id"]: s for s in surveys.list_surveys(store)}
    assert listed["checkout-nps"]["version"] == 2 and listed["checkout-nps"]["versions"] == 2


def test_micro_survey_and_csat_scales(store):
    helpful = surveys.save_survey(store, HELPFUL)
    assert helpful.primary.kind == "yesno" and not helpful.questions[1:]
    csat = surveys.save_survey(store, CSAT_SUPPORT)
    assert (csat.question("csat").low, csat.question("csat").high) == (1, 5)
    assert csat.question("why").required is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "  "}, "title"),
        ({"id": "Bad Id"}, "id"),
        ({"questions": []}, "questions"),
        ({"questions": [{"id": "q", "kind": "stars", "label": "?"}]}, "questions[0].kind"),
        ({"questions": [{"id": "q", "kind": "likert", "label": "?"}]}, "questions[0].items"),
        (
            {
                "questions": [
                    {
                        "id": "q",
                        "kind": "likert",
                        "label": "?",
                        "points": 4,
                        "items": [{"id": "a", "label": "A"}],
                    }
                ]
            },
            "questions[0].points",
        ),
        (
            {
                "questions": [
                    {"id": "q", "kind": "nps", "label": "?"},
                    {"id": "q", "kind": "text", "label": "?"},
                ]
            },
            "questions",
        ),
        ({"colour": "red"}, "colour"),
        # a misspelt option would otherwise be dropped silently: this question would stay required
        (
            {"questions": [{"id": "q", "kind": "nps", "label": "?", "requried": False}]},
            "questions[0].requried",
        ),
        (
            {
                "questions": [
                    {"id": "q", "kind": "likert", "label": "?", "items": [{"id": "a", "lable": "A"}]}
                ]
            },
            "questions[0].items[0].lable",
        ),
    ],
)
def test_bad_definitions_name_the_field(store, change, field):
    with pytest.raises(InvalidInputError) as caught:
        surveys.save_survey(store, {**CSAT_SUPPORT, **change})
    assert caught.value.details["field"] == field


def test_the_documented_example_definition_is_valid(store, tmp_path):
    """The YAML in docs/surveys.md is what new users copy first: it must load as written."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "surveys.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "checkout.yaml"
    path.write_text(example)
    survey = surveys.save_survey(store, surveys.read_definition_file(path))
    assert [q.question_id for q in survey.questions] == ["nps", "ease", "why"]
    assert survey.question("nps").label == "How likely are you to recommend us?"


def test_a_definition_file_that_is_not_utf8_is_refused_by_name(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: s\ntitle: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(InvalidInputError, match="latin1.yaml is not UTF-8 text"):
        surveys.read_definition_file(path)


def test_unknown_survey_and_question_are_not_found(store):
    survey = surveys.save_survey(store, CSAT_SUPPORT)
    with pytest.raises(NotFoundError, match="support-csat"):
        surveys.get_survey(store, "nope")
    with pytest.raises(NotFoundError, match="no question 'nps'"):
        survey.question("nps")


def test_answers_are_checked_field_by_field(store):
    survey = checkout_survey(store)
    clean, errors = responses.validate_answers(
        survey, {"nps": "11", "ease.clear": "3", "ease.fast": "2.5", "why": "x" * 3000, "colour": "red"}
    )
    assert set(errors) == {"nps", "ease.fast", "why", "colour"}
    assert "0 to 10" in errors["nps"] and "no question 'colour'" in errors["colour"]
    assert clean == {"ease.clear": 3.0}
    clean, errors = responses.validate_answers(survey, {"why": " fine "})
    assert errors == {"nps": "please answer this question"}
    clean, errors = responses.validate_answers(survey, {"why": "fine"}, already_answered={"nps"})
    assert errors == {} and clean == {"why": "fine"}
    assert responses.check_answers(surveys.save_survey(store, HELPFUL), {"helpful": "no"}) == {"helpful": 0.0}
    with pytest.raises(responses.InvalidAnswersError) as caught:
        responses.check_answers(survey, {"nps": True})
    assert caught.value.http_status == 400 and "nps" in caught.value.errors
    with pytest.raises(InvalidInputError, match="non-empty"):
        responses.check_answers(survey, {})
    for raw in ("nan", "inf", "-Infinity", float("nan")):  # int(nan) / int(inf) raised: a 500
        clean, errors = responses.validate_answers(survey, {"nps": raw})
        assert "0 to 10" in errors["nps"] and "nps" not in clean


def test_answers_become_feedback_through_the_pipeline_once(store, settings):
    survey = checkout_survey(store)
    when = datetime(2025, 3, 1, 12, tzinfo=UTC)
    first = answer(
        store,
        settings,
        survey,
        {"nps": 9, "ease.clear": 4, "why": "Quick and clear"},
        "u1",
        when=when,
        response_id="r_fixed",
    )
    assert first["recorded"] == 3 and first["duplicates"] == 0
    again = answer(
        store,
        settings,
        survey,
        {"nps": 9, "ease.clear": 4, "why": "Quick and clear"},
        "u1",
        when=when,
        response_id="r_fixed",
    )
    assert again["recorded"] == 0 and again["duplicates"] == 3
    rows = store.records(
        "SELECT customer_id, survey_id, metric, score, comment, touchpoint, "
        "json_extract_string(properties, '$.question_id') AS q FROM feedback ORDER BY q"
    )
    assert [(r["q"], r["metric"], r["score"], r["comment"]) for r in rows] == [
        ("ease.clear", "likert", 4.0, None),
        ("nps", "nps", 9.0, None),
        ("why", "text", None, "Quick and clear"),
    ]
    assert {r["customer_id"] for r in rows} == {customer_of(store, "u1")}
    assert {(r["survey_id"], r["touchpoint"]) for r in rows} == {("checkout-nps", "checkout")}
    answer(store, settings, survey, {"nps": 3}, "u2", when=when)
    report = report_from_store(store, "nps")
    assert report["rows"][0]["n"] == 2 and report["rows"][0]["score"] == 0.0  # one promoter, one detractor


def test_refused_and_erased_people_are_respected(store, settings):
    survey = surveys.save_survey(store, CSAT_SUPPORT)
    load_message(
        store,
        settings,
        {"type": "identify", "userId": "no-thanks", "context": {"consent": {"analytics": False}}},
    )
    refused = answer(store, settings, survey, {"csat": 1, "why": "bad"}, "no-thanks")
    assert refused["recorded"] == 2
    assert store.fetchall("SELECT DISTINCT customer_id FROM feedback") == [(None,)]  # anonymized
    answer(store, settings, survey, {"csat": 2}, "gone")
    erase_person(store, settings, "gone", "test")
    erased = answer(store, settings, survey, {"csat": 2}, "gone")
    assert erased["recorded"] == 0 and erased["withheld"] == 1


def test_links_are_signed_expire_and_hold_no_personal_data(store, settings):
    survey = checkout_survey(store)
    answer(store, settings, survey, {"nps": 8}, "ana@example.com")
    customer = customer_of(store, "ana@example.com")
    key = responses.link_key(settings.data_dir)
    assert (settings.data_dir / responses.KEY_FILE).stat().st_mode & 0o077 == 0
    now = datetime(2025, 1, 1, tzinfo=UTC)
    for days in (367, 1e12):  # the API allowed at most 366, the CLI anything (1e12: OverflowError)
        with pytest.raises(InvalidInputError, match="at most 366 days"):
            responses.sign_link(key, survey.survey_id, customer, days=days, now=now)
    token = responses.sign_link(key, survey.survey_id, customer, days=7, now=now)
    assert "ana" not in responses._unb64(token.split(".")[0]).decode()
    link = responses.verify_link(key, token, survey.survey_id, now=now + timedelta(days=6))
    assert link.customer_id == customer and link.response_id.startswith("r_")
    assert responses.respondent_for(store, customer).user_id == "ana@example.com"
    with pytest.raises(responses.InvalidLinkError, match="expired"):
        responses.verify_link(key, token, survey.survey_id, now=now + timedelta(days=8))
    with pytest.raises(responses.InvalidLinkError, match="another survey"):
        responses.verify_link(key, token, "other", now=now)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(responses.InvalidLinkError, match="not valid"):
        responses.verify_link(key, forged, survey.survey_id, now=now)
    for damaged in (token[:-1] + "é", "ü." + token.split(".")[1]):  # hmac.compare_digest: TypeError
        with pytest.raises(responses.InvalidLinkError, match="not valid"):
            responses.verify_link(key, damaged, survey.survey_id, now=now)
    with pytest.raises(NotFoundError):
        responses.respondent_for(store, "c-nobody")
