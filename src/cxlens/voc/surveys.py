"""Survey definitions: NPS, CSAT, CES, multi-item Likert scales, yes/no micro-surveys and open text.

A survey is asked at a touchpoint in a journey stage. It is defined as data (a JSON or YAML file, or
the API) and stored versioned: saving a changed definition adds a version, saving the same one again
changes nothing, so answers always name the exact questions they answered (``survey_version``).

The scales follow the metrics' published definitions (``voc.scores.SCALES``): NPS 0–10, CSAT 1–5,
CES 1–7 (CES 2.0's agreement scale). A Likert question holds several items that share one 5- or
7-point agree scale; each item is answered (and stored) on its own, as ``<question>.<item>``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cxlens import jsonutil
from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.store import Store

log = logging.getLogger(__name__)

QUESTION_KINDS = ("nps", "csat", "ces", "likert", "yesno", "text")
_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
_ANCHORS = {
    "nps": ("Not at all likely", "Extremely likely"),
    "csat": ("Very dissatisfied", "Very satisfied"),
    "ces": ("Strongly disagree", "Strongly agree"),
    "likert": ("Strongly disagree", "Strongly agree"),
}
LIKERT_POINTS = (5, 7)
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_SURVEY_FIELDS = {"id", "title", "touchpoint", "stage", "intro", "thanks", "questions"}
# ``scale`` is derived from the kind; stored definitions (and ``show --json``) carry it.
_QUESTION_FIELDS = {"id", "kind", "label", "required", "anchors", "points", "items", "scale"}
_ITEM_FIELDS = {"id", "label"}
TEXT_MAX_LENGTH = 2000


@dataclass(frozen=True)
class Question:
    """One question. ``items`` (id, label) only for Likert scales; ``low``/``high`` for scales."""

    question_id: str
    kind: str
    label: str
    required: bool = False
    low: int | None = None
    high: int | None = None
    anchors: tuple[str, str] | None = None
    items: tuple[tuple[str, str], ...] = ()

    @property
    def answer_keys(self) -> list[str]:
        """The form fields (and stored answers) this question has: one per Likert item, else one."""
        if self.kind == "likert":
            return [f"{self.question_id}.{item}" for item, _ in self.items]
        return [self.question_id]

    @property
    def metric(self) -> str:
        """The ``feedback.metric`` its answers are stored under (scores' names for NPS/CSAT/CES)."""
        return self.kind


@dataclass(frozen=True)
class Survey:
    survey_id: str
    version: int
    title: str
    questions: tuple[Question, ...]
    touchpoint: str | None = None
    stage: str | None = None
    intro: str | None = None
    thanks: str = "Thank you for your answers."
    created_at: datetime | None = None

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.question_id == question_id:
                return q
        known = ", ".join(q.question_id for q in self.questions)
        raise NotFoundError(
            f"survey {self.survey_id!r} has no question {question_id!r} (it has: {known})",
            survey_id=self.survey_id,
            question_id=question_id,
        )

    @property
    def primary(self) -> Question:
        """The question an e-mail link answers in one click: the first scored one."""
        for q in self.questions:
            if q.kind != "text":
                return q
        return self.questions[0]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["questions"] = [_question_dict(q) for q in self.questions]
        return out


def _question_dict(q: Question) -> dict[str, Any]:
    out: dict[str, Any] = {"id": q.question_id, "kind": q.kind, "label": q.label, "required": q.required}
    if q.low is not None:
        out["scale"] = [q.low, q.high]
    if q.anchors:
        out["anchors"] = list(q.anchors)
    if q.kind == "likert":
        out["points"] = q.high
        out["items"] = [{"id": i, "label": label} for i, label in q.items]
    return out


def _text(value: Any, where: str, *, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInputError(f"{where} is required and must be non-empty text", field=where)
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{where} must be text, not {type(value).__name__}", field=where)
    return value.strip()


def _identifier(value: Any, where: str) -> str:
    text = _text(value, where) or ""
    if not _ID.match(text):
        raise InvalidInputError(
            f"{where} {text!r} must be 1–64 lower-case letters, digits, '_' or '-' "
            "(starting with a letter or digit)",
            field=where,
        )
    return text


def _refuse_unknown(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    """A misspelt option (``requried: false``) would otherwise be ignored and its default kept."""
    unknown = sorted(set(raw) - allowed, key=str)
    if unknown:
        raise InvalidInputError(
            f"unknown field(s) in {where}: {', '.join(map(str, unknown))}", field=f"{where}.{unknown[0]}"
        )


def _parse_question(raw: Any, index: int) -> Question:
    where = f"questions[{index}]"
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"{where} must be an object with id, kind and label", field=where)
    _refuse_unknown(raw, _QUESTION_FIELDS, where)
    kind = raw.get("kind")
    if kind not in QUESTION_KINDS:
        raise InvalidInputError(
            f"{where}.kind must be one of {', '.join(QUESTION_KINDS)}, not {kind!r}", field=f"{where}.kind"
        )
    qid = _identifier(raw.get("id"), f"{where}.id")
    label = _text(raw.get("label"), f"{where}.label") or ""
    required = raw.get("required", kind != "text")
    if not isinstance(required, bool):
        raise InvalidInputError(f"{where}.required must be true or false", field=f"{where}.required")
    anchors = raw.get("anchors")
    if anchors is not None and (
        not isinstance(anchors, list | tuple)
        or len(anchors) != 2
        or not all(isinstance(a, str) and a.strip() for a in anchors)
    ):
        raise InvalidInputError(f"{where}.anchors must be two labels [low, high]", field=f"{where}.anchors")
    if kind in _SCALES:
        low, high = _SCALES[kind]
        return Question(qid, kind, label, required, low, high, tuple(anchors or _ANCHORS[kind]))
    if kind == "likert":
        points = raw.get("points", 5)
        if points not in LIKERT_POINTS:
            raise InvalidInputError(f"{where}.points must be 5 or 7", field=f"{where}.points")
        items_raw = raw.get("items")
        if not isinstance(items_raw, list) or not items_raw:
            raise InvalidInputError(
                f"{where}: a likert question needs items [{{id, label}}, ...]", field=f"{where}.items"
            )
        for i, it in enumerate(items_raw):
            if isinstance(it, Mapping):
                _refuse_unknown(it, _ITEM_FIELDS, f"{where}.items[{i}]")
        items = tuple(
            (
                _identifier(it.get("id") if isinstance(it, Mapping) else None, f"{where}.items[{i}].id"),
                _text(it.get("label"), f"{where}.items[{i}].label") or "",
            )
            for i, it in enumerate(items_raw)
        )
        if len({i for i, _ in items}) != len(items):
            raise InvalidInputError(f"{where}: item ids must be unique", field=f"{where}.items")
        return Question(qid, kind, label, required, 1, points, tuple(anchors or _ANCHORS["likert"]), items)
    return Question(qid, kind, label, required)


def parse_definition(data: Any) -> Survey:
    """Check a definition (a dict, as from JSON/YAML) and return it as an unsaved :class:`Survey`."""
    if not isinstance(data, Mapping):
        raise InvalidInputError("a survey definition must be an object with id, title and questions")
    unknown = set(data) - _SURVEY_FIELDS
    if unknown:
        raise InvalidInputError(
            f"unknown survey field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0]
        )
    questions_raw = data.get("questions")
    if not isinstance(questions_raw, list) or not questions_raw:
        raise InvalidInputError("a survey needs at least one question", field="questions")
    questions = tuple(_parse_question(q, i) for i, q in enumerate(questions_raw))
    ids = [q.question_id for q in questions]
    if len(set(ids)) != len(ids):
        raise InvalidInputError(f"question ids must be unique: {ids}", field="questions")
    return Survey(
        survey_id=_identifier(data.get("id"), "id"),
        version=0,
        title=_text(data.get("title"), "title") or "",
        questions=questions,
        touchpoint=_text(data.get("touchpoint"), "touchpoint", required=False),
        stage=_text(data.get("stage"), "stage", required=False),
        intro=_text(data.get("intro"), "intro", required=False),
        thanks=_text(data.get("thanks"), "thanks", required=False) or Survey.thanks,
    )


def read_definition_file(path: Path | str) -> dict[str, Any]:
    """A definition from a ``.json``, ``.yaml`` or ``.yml`` file (not yet checked)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}", field="file") from None
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8", field="file"
        ) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInputError(f"{path} is not valid YAML: {exc}", field="file") from None
    try:
        return jsonutil.loads(text)
    except jsonutil.JSONDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc}", field="file") from None


def _stored_form(survey: Survey) -> dict[str, Any]:
    """What is compared between versions: the definition without version and time."""
    out = survey.to_dict()
    out.pop("version")
    out.pop("created_at")
    return out


def save_survey(store: Store, definition: Any) -> Survey:
    """Store a definition (dict or :class:`Survey`): a new version if it changed, else the current one."""
    survey = definition if isinstance(definition, Survey) else parse_definition(definition)
    body = _stored_form(survey)
    with store.transaction():
        latest = store.fetchone(
            "SELECT version, definition FROM voc_surveys WHERE survey_id = ? ORDER BY version DESC LIMIT 1",
            [survey.survey_id],
        )
        if latest is not None and jsonutil.loads(latest[1]) == jsonutil.loads(jsonutil.dumps(body)):
            return get_survey(store, survey.survey_id, int(latest[0]))
        version = 1 if latest is None else int(latest[0]) + 1
        now = datetime.now(UTC)
        store.execute(
            "INSERT INTO voc_surveys (survey_id, version, title, touchpoint, stage, definition, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                survey.survey_id,
                version,
                survey.title,
                survey.touchpoint,
                survey.stage,
                jsonutil.dumps_str(body),
                now,
            ],
        )
        store.executemany(
            "INSERT INTO voc_questions (survey_id, version, question_id, position, kind, label, required) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                [survey.survey_id, version, q.question_id, i, q.kind, q.label, q.required]
                for i, q in enumerate(survey.questions)
            ],
        )
    log.info("saved survey %s version %d", survey.survey_id, version)
    return get_survey(store, survey.survey_id, version)


def _from_row(survey_id: str, version: int, definition: str, created_at: datetime) -> Survey:
    data = jsonutil.loads(definition)
    data.pop("survey_id", None)
    return replace(parse_definition({**data, "id": survey_id}), version=version, created_at=created_at)


def get_survey(store: Store, survey_id: str, version: int | None = None) -> Survey:
    """The survey's latest version (or ``version``); ``NotFoundError`` names the known surveys."""
    sql = "SELECT version, definition, created_at FROM voc_surveys WHERE survey_id = ?"
    params: list[Any] = [survey_id]
    if version is not None:
        sql += " AND version = ?"
        params.append(version)
    row = store.fetchone(sql + " ORDER BY version DESC LIMIT 1", params)
    if row is None:
        known = [
            r[0] for r in store.fetchall("SELECT DISTINCT survey_id FROM voc_surveys ORDER BY 1 LIMIT 20")
        ]
        raise NotFoundError(
            f"unknown survey {survey_id!r}"
            + (f" version {version}" if version is not None else "")
            + (
                f"; known surveys: {', '.join(known)}"
                if known
                else "; create one with `cxlens voc surveys create`"
            ),
            survey_id=survey_id,
        )
    return _from_row(survey_id, int(row[0]), row[1], row[2])


def list_surveys(store: Store) -> list[dict[str, Any]]:
    """Every survey's latest version with how many answers it has in ``feedback``."""
    return store.records("""
        WITH latest AS (SELECT survey_id, max(version) AS version, count(*) AS versions
                        FROM voc_surveys GROUP BY survey_id),
             answers AS (SELECT survey_id, count(*) AS answers, max(timestamp) AS last_answer
                         FROM feedback WHERE survey_id IN (SELECT survey_id FROM latest) GROUP BY survey_id)
        SELECT s.survey_id, s.version, l.versions, s.title, s.touchpoint, s.stage,
               (SELECT count(*) FROM voc_questions q
                WHERE q.survey_id = s.survey_id AND q.version = s.version) AS questions,
               coalesce(a.answers, 0) AS answers, a.last_answer, s.created_at
        FROM voc_surveys s JOIN latest l USING (survey_id, version) LEFT JOIN answers a USING (survey_id)
        ORDER BY s.survey_id""")
