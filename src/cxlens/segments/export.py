"""Export an audience's members to CSV or JSON: customer_id and the identifiers asked for, nothing else.

Only members who consent to the audience's purpose *now* are written (read live from
``consent_current``); the report says how many were withheld, never who. An identifier is the
customer's most recently seen value of that kind, from the identity graph (hubs — identifiers shared
by too many people to identify anyone — are skipped).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv

from cxlens import jsonutil
from cxlens.errors import InvalidInputError
from cxlens.segments.audiences import load_audience
from cxlens.store import Store

log = logging.getLogger(__name__)

IDENTIFIER_KINDS = ("email", "phone", "user_id", "external_id")
FORMATS = ("csv", "json")


def _format(path: Path, fmt: str | None) -> str:
    chosen = fmt or path.suffix.lstrip(".").lower()
    if chosen not in FORMATS:
        raise InvalidInputError(f"unknown export format {chosen or '(none)'!r}: use one of "
                                f"{', '.join(FORMATS)} (or a .csv / .json file name)", field="format")
    return chosen


def export_members(store: Store, name: str, *, identifiers: tuple[str, ...] = ("email",)) -> tuple[
        pa.Table, dict[str, Any]]:
    """The consented members of audience ``name`` with the chosen identifiers, and the counts."""
    audience = load_audience(store, name)
    unknown = [k for k in identifiers if k not in IDENTIFIER_KINDS]
    if unknown:
        raise InvalidInputError(f"unknown identifier kind(s) {', '.join(unknown)}: choose from "
                                f"{', '.join(IDENTIFIER_KINDS)}", field="identifiers")
    kinds = list(dict.fromkeys(identifiers))
    joins = "".join(
        f" LEFT JOIN (SELECT customer_id, arg_max(value, last_seen) AS value FROM identities "
        f"WHERE kind = $k{i} AND NOT hub GROUP BY customer_id) i{i} ON i{i}.customer_id = m.customer_id"
        for i in range(len(kinds)))
    columns = "".join(f', i{i}.value AS "{kind}"' for i, kind in enumerate(kinds))
    args: dict[str, Any] = {"a": name, "purpose": audience["purpose"],
                            **{f"k{i}": kind for i, kind in enumerate(kinds)}}
    table = store.arrow(f"""
        SELECT m.customer_id{columns} FROM audience_members m
        JOIN consent_current c ON c.customer_id = m.customer_id AND c.purpose = $purpose AND c.granted
        {joins} WHERE m.audience = $a ORDER BY m.customer_id""", args)
    members = store.scalar("SELECT count(*) FROM audience_members WHERE audience = ?", [name])
    return table, {"audience": name, "purpose": audience["purpose"], "members": members,
                   "exported": table.num_rows, "withheld_without_consent": members - table.num_rows,
                   "identifiers": kinds, "refreshed_at": audience["refreshed_at"]}


def export_audience(store: Store, name: str, path: Path | str, *, fmt: str | None = None,
                    identifiers: tuple[str, ...] = ("email",)) -> dict[str, Any]:
    """Write the consented members of ``name`` to ``path`` (CSV, or JSON as an array of objects)."""
    path = Path(path)
    chosen = _format(path, fmt)
    table, report = export_members(store, name, identifiers=identifiers)
    path.parent.mkdir(parents=True, exist_ok=True)
    if chosen == "csv":
        pa_csv.write_csv(table, path)
    else:
        path.write_bytes(jsonutil.dumps(table.to_pylist()))
    log.info("exported %d members of audience %s (%d withheld without consent)", report["exported"], name,
             report["withheld_without_consent"])
    return {**report, "path": str(path), "format": chosen}
