"""Which identifiers an event carries, and their normal form.

One spec (``sources``) says where identifiers live in an event record. Two readers follow it: a
per-record Python reader for the request path (``record_identifiers``, O(1) per event) and a
set-based SQL reader for batches (``identifier_sql``), so bulk loads never run Python per row.
Tests check the two agree. Phone numbers are the one kind SQL cannot normalize: E.164 needs
``phonenumbers``, which runs once per *distinct* raw phone string (``normalize_phones``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

from cxlens import jsonutil
from cxlens.config import Settings

KINDS = ("user_id", "email", "phone", "external_id", "anonymous_id")

# A value made only of zeros and separators (0000, 00000000-0000-...) identifies nobody.
_JUNK_SQL = r"^[0\-_.: ]*$"
_JUNK = re.compile(_JUNK_SQL)
# Deliberately loose (RFC 5322 is not worth enforcing): one @, no spaces, a dot in the domain.
_EMAIL_SQL = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
_EMAIL = re.compile(_EMAIL_SQL)


@dataclass(frozen=True)
class Source:
    """Where one identifier may sit in an event: a column, or a JSON path inside one."""

    kind: str
    column: str
    path: tuple[str, ...] = ()
    label: str | None = None  # external ids: the id type written before the value ("crm:42")


def sources(settings: Settings) -> tuple[Source, ...]:
    """Every place an identifier is read from, for these settings."""
    found = [
        Source("user_id", "user_id"),
        Source("anonymous_id", "anonymous_id"),
        # Segment alias: previousId is the id the person had before, normally an anonymousId.
        Source("anonymous_id", "previous_id"),
    ]
    for column, prefix in (("traits", ()), ("context", ("traits",))):
        found.append(Source("email", column, (*prefix, "email")))
        found.append(Source("phone", column, (*prefix, "phone")))
        for name in settings.identity.identifier_traits:
            found.append(Source("external_id", column, (*prefix, name), label=name))
    return tuple(found)


def rank_of(settings: Settings) -> dict[str, int]:
    """Kind → strength (0 strongest), from settings.identity.priorities; unknown kinds last."""
    ranks = {kind: i for i, kind in enumerate(settings.identity.priorities)}
    for kind in KINDS:
        ranks.setdefault(kind, len(ranks))
    return ranks


def is_junk(value: str, settings: Settings) -> bool:
    return value.lower() in _blocked(settings) or bool(_JUNK.fullmatch(value))


def normalize(kind: str, raw: Any, settings: Settings) -> str | None:
    """The normal form of one identifier, or None when it is blocked or invalid."""
    if raw is None or isinstance(raw, dict | list | bool):
        return None
    value = str(raw).strip()
    if is_junk(value, settings):
        return None
    if kind == "email":
        value = value.lower()
        if not _EMAIL.match(value) or value in settings.identity.blocked_emails:
            return None
    elif kind == "phone":
        return normalize_phones([value], settings).get(value)
    return value


def normalize_phones(raws: Iterable[str], settings: Settings) -> dict[str, str | None]:
    """Raw phone strings → E.164 (None when invalid). Run once per distinct string."""
    out: dict[str, str | None] = {}
    for raw in raws:
        try:
            number = phonenumbers.parse(raw.strip(), settings.phone_default_region)
        except phonenumbers.NumberParseException:
            out[raw] = None
            continue
        valid = phonenumbers.is_valid_number(number)
        out[raw] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if valid else None
    return out


def as_mapping(value: Any) -> dict[str, Any]:
    """A JSON column's value (dict, JSON text or None) as a dict; anything else as {}."""
    if isinstance(value, str):
        try:
            value = jsonutil.loads(value)
        except jsonutil.JSONDecodeError:
            return {}
    return dict(value) if isinstance(value, Mapping) else {}


def _dig(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def record_identifiers(record: Mapping[str, Any], settings: Settings) -> set[tuple[str, str]]:
    """The normalized (kind, value) identifiers of one record (JSON columns as dicts or strings)."""
    found: set[tuple[str, str]] = set()
    for src in sources(settings):
        if src.column == "previous_id" and record.get("type") != "alias":
            continue
        raw = _dig(as_mapping(record.get(src.column)), src.path) if src.path else record.get(src.column)
        value = normalize(src.kind, raw, settings)
        if value is not None:
            found.add((src.kind, f"{src.label}:{value}" if src.label else value))
    for ext in _dig(as_mapping(record.get("context")), ("externalIds",)) or []:
        if isinstance(ext, Mapping):
            value = normalize("external_id", ext.get("id"), settings)
            raw_type = ext.get("type")
            id_type = normalize("external_id", raw_type, settings) if isinstance(raw_type, str) else None
            if value is not None and id_type is not None:
                found.add(("external_id", f"{id_type}:{value}"))
    return found


def _blocked(settings: Settings) -> frozenset[str]:
    return frozenset(v.lower() for v in settings.identity.blocked_values)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_clean(expr: str, settings: Settings) -> str:
    """SQL for ``normalize`` of the simple kinds: trimmed, NULL when blocked or junk."""
    blocked = ", ".join(_sql_str(v) for v in sorted(_blocked(settings)))
    return (f"CASE WHEN lower(trim({expr})) IN ({blocked}) OR regexp_matches(trim({expr}), "
            f"{_sql_str(_JUNK_SQL)}) THEN NULL ELSE trim({expr}) END")


def _sql_raw(src: Source) -> str:
    if not src.path:
        return src.column
    path = "$." + ".".join(f'"{p}"' for p in src.path)
    # Scalars only: an object or array where an identifier belongs is not one.
    return (f"CASE WHEN json_type({src.column}, {_sql_str(path)}) IN ('VARCHAR', 'BIGINT', 'UBIGINT', "
            f"'DOUBLE') THEN json_extract_string({src.column}, {_sql_str(path)}) END")


def identifier_sql(settings: Settings, events: str) -> str:
    """A query over the table ``events`` (with a ``rid`` column) → (rid, kind, value, raw_phone).

    ``value`` is normalized for every kind except phone, whose ``raw_phone`` still needs
    ``normalize_phones``. Rows whose value is blocked or invalid are left out.
    """
    parts = []
    for src in sources(settings):
        raw = _sql_raw(src)
        where = "AND type = 'alias'" if src.column == "previous_id" else ""
        if src.kind == "phone":
            parts.append(f"SELECT rid, 'phone' AS kind, NULL AS value, trim({raw}) AS raw_phone "
                         f"FROM {events} WHERE {raw} IS NOT NULL")
            continue
        value = _sql_clean(raw, settings)
        if src.kind == "email":
            emails = ", ".join(_sql_str(e) for e in settings.identity.blocked_emails)
            value = (f"CASE WHEN regexp_matches(lower({value}), {_sql_str(_EMAIL_SQL)}) AND "
                     f"lower({value}) NOT IN ({emails or 'NULL'}) THEN lower({value}) END")
        if src.label:
            value = f"{_sql_str(src.label + ':')} || {value}"
        parts.append(f"SELECT rid, {_sql_str(src.kind)} AS kind, {value} AS value, NULL AS raw_phone "
                     f"FROM {events} WHERE {raw} IS NOT NULL {where}")
    ext_id = _sql_clean("json_extract_string(x, '$.id')", settings)
    ext_type = _sql_clean("json_extract_string(x, '$.type')", settings)
    parts.append(
        f"SELECT rid, 'external_id' AS kind, {ext_type} || ':' || {ext_id} AS value, NULL AS raw_phone "
        f"FROM (SELECT rid, unnest(json_extract(context, '$.externalIds[*]')) AS x FROM {events} "
        "WHERE json_type(context, '$.externalIds') = 'ARRAY') "
        "WHERE json_type(x, '$.id') IN ('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE') "
        "AND json_type(x, '$.type') = 'VARCHAR'"
    )
    union = "\nUNION ALL ".join(parts)
    return f"SELECT * FROM ({union}) WHERE value IS NOT NULL OR raw_phone IS NOT NULL"
