"""Column mapping for bulk import: which file column feeds which cxlens field, per file kind.

Files come from many tools, so names are matched loosely: case, spaces, dashes and underscores are
ignored (``userId``, ``user_id`` and ``User ID`` are the same name), and each field knows the common
aliases other tools use (``anonymousId``/``device_id``, ``total``/``amount`` ...). An explicit
mapping (``--map COLUMN=FIELD`` or a JSON file) always wins. Columns that match no field are kept,
not dropped: they land in ``properties`` (``traits`` for customers, ``attributes`` for products), and
a column named ``properties.X``, ``traits.X`` or ``context.X`` lands in that object under ``X``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cxlens import jsonutil
from cxlens.errors import InvalidInputError

FileKind = Literal["events", "orders", "customers", "products", "feedback"]
FILE_KINDS: tuple[FileKind, ...] = ("events", "orders", "customers", "products", "feedback")
OBJECTS = ("properties", "traits", "context")
IGNORE = "ignore"

# Segment's UTM names; every kind accepts them and they become context.campaign.
CAMPAIGN_FIELDS = {
    "utm_source": ("source", ("utmsource", "campaignsource")),
    "utm_medium": ("medium", ("utmmedium", "campaignmedium")),
    "utm_campaign": ("name", ("utmcampaign", "campaign", "campaignname")),
    "utm_term": ("term", ("utmterm", "campaignterm")),
    "utm_content": ("content", ("utmcontent", "campaigncontent")),
}
CONSENT_FIELDS = {
    "consent_analytics": ("analytics", ("consentanalytics",)),
    "consent_personalization": ("personalization", ("consentpersonalization",)),
    "consent_marketing": ("marketing", ("consentmarketing",)),
}

_IDENTITY = {
    "message_id": ("messageid",),
    "user_id": ("userid", "customerid", "externalid"),
    "anonymous_id": ("anonymousid", "anonid", "deviceid", "visitorid", "cookieid"),
    "channel": ("channel",),
    "sent_at": ("sentat",),
    "received_at": ("receivedat",),
    "context": ("context",),
}

# field -> normalized names it answers to (the field's own name is always included).
KIND_FIELDS: dict[FileKind, dict[str, tuple[str, ...]]] = {
    "events": {
        **_IDENTITY,
        "type": ("type", "messagetype"),
        "event": ("event", "eventname", "name"),
        "timestamp": ("timestamp", "time", "eventtime", "occurredat"),
        "original_timestamp": ("originaltimestamp",),
        "properties": ("properties", "props"),
        "traits": ("traits",),
        "group_id": ("groupid",),
        "previous_id": ("previousid",),
    },
    "orders": {
        **_IDENTITY,
        "order_id": ("orderid", "ordernumber", "orderno"),
        "timestamp": ("timestamp", "orderdate", "orderedat", "createdat", "date", "time", "completedat"),
        "revenue": ("revenue", "total", "ordertotal", "amount", "value"),
        "currency": ("currency", "currencycode"),
        "discount": ("discount",),
        "shipping": ("shipping",),
        "tax": ("tax",),
        "coupon": ("coupon", "couponcode"),
        "product_id": ("productid", "itemid"),
        "sku": ("sku",),
        "product_name": ("productname", "itemname", "name"),
        "category": ("category", "productcategory"),
        "price": ("price", "unitprice", "itemprice"),
        "quantity": ("quantity", "qty"),
        "products": ("products", "items", "lineitems"),
    },
    "customers": {
        **_IDENTITY,
        "timestamp": ("timestamp", "updatedat", "createdat", "signedupat", "date"),
        "email": ("email", "emailaddress", "mail"),
        "phone": ("phone", "phonenumber", "mobile"),
        "first_name": ("firstname", "givenname"),
        "last_name": ("lastname", "surname", "familyname"),
        "name": ("name", "fullname"),
        "traits": ("traits",),
    },
    "feedback": {
        **_IDENTITY,
        "response_id": ("responseid",),
        "timestamp": ("timestamp", "respondedat", "submittedat", "createdat", "date", "time"),
        "survey_id": ("surveyid", "survey"),
        "metric": ("metric", "scoretype", "questiontype"),
        "score": ("score", "rating", "value"),
        "comment": ("comment", "text", "feedback", "verbatim", "response"),
        "touchpoint": ("touchpoint",),
        "properties": ("properties",),
    },
    "products": {
        "product_id": ("productid", "id", "sku"),
        "name": ("name", "productname", "title"),
        "category": ("category", "productcategory"),
        "price": ("price", "listprice", "unitprice"),
        "currency": ("currency", "currencycode"),
        "updated_at": ("updatedat", "timestamp"),
    },
}
for _kind in ("events", "orders", "customers", "feedback"):
    KIND_FIELDS[_kind].update({k: v[1] for k, v in CAMPAIGN_FIELDS.items()})
KIND_FIELDS["customers"].update({k: v[1] for k, v in CONSENT_FIELDS.items()})

# Where columns that match no field go, per kind.
EXTRAS_TARGET: dict[FileKind, str] = {
    "events": "properties", "orders": "properties", "customers": "traits",
    "feedback": "properties", "products": "attributes",
}


def normalize(name: str) -> str:
    """``userId``, ``user_id`` and ``User ID`` all become ``userid``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass(frozen=True)
class ColumnMapping:
    """The resolved mapping of one file: ``fields`` field → column, ``extras`` (object, key) → column."""

    kind: FileKind
    fields: dict[str, str]
    extras: dict[tuple[str, str], str] = field(default_factory=dict)

    def column(self, name: str) -> str | None:
        return self.fields.get(name)

    def has(self, *names: str) -> bool:
        return any(n in self.fields for n in names)


def check_kind(kind: str) -> FileKind:
    if kind not in FILE_KINDS:
        raise InvalidInputError(
            f"unknown file kind {kind!r}: use one of {', '.join(FILE_KINDS)}", field="kind"
        )
    return kind


def parse_map_options(options: Iterable[str]) -> dict[str, str]:
    """``["Email Address=email", ...]`` (the ``--map`` flags) → ``{column: field}``."""
    mapping: dict[str, str] = {}
    for option in options:
        column, sep, target = option.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise InvalidInputError(
                f"--map {option!r} is not COLUMN=FIELD (for example --map 'Cust No=user_id')",
                field="map",
            )
        mapping[column.strip()] = target.strip()
    return mapping


def load_mapping_file(path: Path) -> dict[str, str]:
    """A JSON object ``{"file column": "field", ...}`` (``ignore`` drops a column)."""
    try:
        data = jsonutil.loads(Path(path).read_bytes())
    except OSError as exc:
        raise InvalidInputError(f"cannot read mapping file {path}: {exc.strerror}", field="mapping") from exc
    except jsonutil.JSONDecodeError as exc:
        raise InvalidInputError(f"mapping file {path} is not valid JSON: {exc}", field="mapping") from exc
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InvalidInputError(
            f"mapping file {path} must be a JSON object of \"column\": \"field\" strings", field="mapping"
        )
    return dict(data)


def _target(kind: FileKind, target: str, column: str) -> tuple[str, str] | str | None:
    """A user-given target: a field name, ``object.key``, or ``ignore`` (None)."""
    if target == IGNORE:
        return None
    prefix, dot, key = target.partition(".")
    extras_object = EXTRAS_TARGET[kind]
    if dot and key and prefix in (*OBJECTS, extras_object):
        return (prefix, key)
    if target in KIND_FIELDS[kind]:
        return target
    raise InvalidInputError(
        f"--map {column}={target}: {target!r} is not a field of {kind} files; use one of "
        f"{', '.join(sorted(KIND_FIELDS[kind]))}, {extras_object}.NAME or {IGNORE}",
        field="map",
    )


def resolve(
    kind: FileKind, columns: Iterable[str], explicit: Mapping[str, str] | None = None
) -> ColumnMapping:
    """Match a file's ``columns`` to the fields of ``kind``; ``explicit`` mappings win.

    Exact names beat aliases, and a field takes the first column that answers to it; later
    candidates stay available as extras, so no data is silently lost.
    """
    columns = list(columns)
    explicit = dict(explicit or {})
    unknown = [c for c in explicit if c not in columns]
    if unknown:
        raise InvalidInputError(
            f"mapped column(s) {', '.join(map(repr, unknown))} are not in the file; its columns are: "
            f"{', '.join(columns)}",
            field="map",
        )
    fields: dict[str, str] = {}
    extras: dict[tuple[str, str], str] = {}
    for column, target in explicit.items():
        resolved = _target(kind, target, column)
        if isinstance(resolved, tuple):
            extras[resolved] = column
        elif resolved is not None:
            fields[resolved] = column
    taken = set(explicit)
    specs = KIND_FIELDS[kind]
    for exact in (True, False):
        for column in columns:
            if column in taken:
                continue
            norm = normalize(column)
            for name, aliases in specs.items():
                if name in fields:
                    continue
                if (norm == normalize(name)) if exact else (norm in aliases):
                    fields[name] = column
                    taken.add(column)
                    break
    for column in columns:
        if column in taken or column.startswith("_cx"):
            continue
        prefix, dot, key = column.partition(".")
        if dot and key and prefix.lower() in (*OBJECTS, EXTRAS_TARGET[kind]):
            extras[(prefix.lower(), key)] = column
        else:
            extras[(EXTRAS_TARGET[kind], column)] = column
    return ColumnMapping(kind=kind, fields=fields, extras=extras)


def require(mapping: ColumnMapping, *groups: tuple[str, ...]) -> None:
    """Every group needs at least one mapped field, else the file cannot be imported at all."""
    for group in groups:
        if not mapping.has(*group):
            wanted = " or ".join(group)
            names = ", ".join(sorted({a for g in group for a in (g, *KIND_FIELDS[mapping.kind][g])}))
            raise InvalidInputError(
                f"the {mapping.kind} file has no {wanted} column (looked for: {names}); "
                f"name one with --map COLUMN={group[0]}",
                field=group[0],
            )
