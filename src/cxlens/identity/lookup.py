"""Finding a customer by anything a person is known by.

Accepted forms: a customer id (``cus_…``, also one merged away: it resolves to the survivor);
``kind:value`` with kind user_id, anonymous_id, email, phone or external_id (``external_id:crm:42``);
or a bare value — an e-mail address when it has ``@``, a phone number when it starts with ``+``,
otherwise tried as user_id, then customer id, then anonymous_id.

Every read is an equality on one indexed column, because that is the only predicate for which
DuckDB uses an ART index (a filter on the composite primary key ``(kind, value)`` or an ``OR`` of
two columns scans the table: 7–13 ms at 100,000 identities against 0.5 ms by index). Even
``value = ? AND kind = ?`` was planned as a scan, so identifiers are read by ``value`` alone
(index ``identities_value``) and the kind is picked in Python (a value rarely has two kinds).
"""

from __future__ import annotations

from cxlens.config import Settings
from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.identity.identifiers import KINDS, normalize
from cxlens.store import Store

MAX_HOPS = 50  # a merge chain longer than this means a cycle: stop rather than spin
FORMS = "a customer id, email:…, user_id:…, anonymous_id:…, phone:…, external_id:TYPE:…, or a bare value"


# Parsed once per store (``Store.statement``): DuckDB 2's parser is a large part of a point read.
_BY_VALUE = "SELECT kind, customer_id FROM identities WHERE value = ?"
_IS_CURRENT = "SELECT 1 FROM identities WHERE customer_id = ? LIMIT 1"
# Outcome is filtered in Python: with a second condition DuckDB would scan merges (module docstring).
_MERGED_FROM = "SELECT into_customer_id, outcome, merged_at FROM merges WHERE from_customer_id = ?"
_FOLLOWED = ("identified", "merged")  # outcomes after which the old customer id is gone
CUSTOMER_ID = "customer_id"  # the reading of an identifier as a customer id (``readings``)


def _kinds_of(store: Store, value: str | None) -> dict[str, str]:
    """Kind → customer id of the identities holding ``value``: one index point read."""
    if value is None:
        return {}
    return dict(store.fetchall(store.statement(_BY_VALUE), [value]))


def _by_customer_id(store: Store, customer_id: str) -> str | None:
    current = customer_id
    for _ in range(MAX_HOPS):
        if store.fetchall(store.statement(_IS_CURRENT), [current]):
            return current
        merged = [(at, into) for into, outcome, at in store.fetchall(store.statement(_MERGED_FROM), [current])
                  if outcome in _FOLLOWED]
        if not merged:
            return None
        current = max(merged)[1]  # the latest
    return None


def _text(identifier: str) -> str:
    text = identifier.strip() if isinstance(identifier, str) else ""
    if not text:
        raise InvalidInputError(f"identifier is empty; give {FORMS}", field="identifier")
    return text


def _is_customer_id(text: str) -> bool:
    kind, sep, _ = text.partition(":")
    return not (sep and kind in KINDS) and text.startswith("cus_")


def customer_id_form(identifier: str) -> str | None:
    """``identifier`` (stripped) if ``find_customer`` would read it as a customer id, else None.

    Whether that customer is current (not merged away) is not checked: for callers that verify it
    with a read they make anyway (the profile view reads the customer's identities).
    """
    text = _text(identifier)
    return text if _is_customer_id(text) else None


def readings(text: str, settings: Settings) -> list[tuple[str, str | None]]:
    """How an identifier (stripped, not empty) is read: ``(kind, normal form)`` tries in order, the
    first that names somebody wins. Kind ``CUSTOMER_ID`` is a customer id, followed through merges.

    One definition for every resolver (this module's reads, the decision path's in-memory map), so
    they cannot disagree. User ids and anonymous ids share one normal form.
    """
    kind, sep, rest = text.partition(":")
    if sep and kind in KINDS:
        return [(kind, normalize(kind, rest, settings))]
    if _is_customer_id(text):
        return [(CUSTOMER_ID, text)]
    if "@" in text:
        return [("email", normalize("email", text, settings))]
    if text.startswith("+"):
        return [("phone", normalize("phone", text, settings))]
    bare = normalize("user_id", text, settings)
    return [("user_id", bare), (CUSTOMER_ID, text), ("anonymous_id", bare)]


def find_customer(store: Store, settings: Settings, identifier: str) -> str:
    """The customer id ``identifier`` resolves to, or ``NotFoundError`` saying what to try."""
    text = _text(identifier)
    kinds_of: dict[str | None, dict[str, str]] = {}  # one index read per distinct value
    for kind, value in readings(text, settings):
        if kind == CUSTOMER_ID:
            found = _by_customer_id(store, text)
        else:
            if value not in kinds_of:
                kinds_of[value] = _kinds_of(store, value)
            found = kinds_of[value].get(kind)
        if found is not None:
            return found
    raise NotFoundError(f"no customer is known by {text!r}; give {FORMS}", identifier=text)


def customer_ids_of(store: Store, customer_id: str) -> list[str]:
    """The customer id and every id merged into it (directly or through a chain)."""
    return [row[0] for row in store.fetchall("""
        WITH RECURSIVE chain(id) AS (
            SELECT ?::VARCHAR
            UNION SELECT m.from_customer_id FROM merges m JOIN chain c ON m.into_customer_id = c.id
            WHERE m.outcome IN ('identified', 'merged'))
        SELECT id FROM chain""", [customer_id])]
