"""Finding a customer by anything a person is known by.

Accepted forms: a customer id (``cus_…``, also one merged away: it resolves to the survivor);
``kind:value`` with kind user_id, anonymous_id, email, phone or external_id (``external_id:crm:42``);
or a bare value — an e-mail address when it has ``@``, a phone number when it starts with ``+``,
otherwise tried as user_id, then customer id, then anonymous_id.
"""

from __future__ import annotations

from cxlens.config import Settings
from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.identity.identifiers import KINDS, normalize
from cxlens.store import Store

MAX_HOPS = 50  # a merge chain longer than this means a cycle: stop rather than spin
FORMS = "a customer id, email:…, user_id:…, anonymous_id:…, phone:…, external_id:TYPE:…, or a bare value"


def _by_identifier(store: Store, settings: Settings, kind: str, raw: str) -> str | None:
    value = normalize(kind, raw, settings)
    if value is None:
        return None
    return store.scalar("SELECT customer_id FROM identities WHERE kind = ? AND value = ?", [kind, value])


def _by_customer_id(store: Store, customer_id: str) -> str | None:
    current = customer_id
    for _ in range(MAX_HOPS):
        if store.scalar("SELECT count(*) FROM identities WHERE customer_id = ?", [current]):
            return current
        following = store.scalar("""
            SELECT into_customer_id FROM merges
            WHERE from_customer_id = ? AND outcome IN ('identified', 'merged')
            ORDER BY merged_at DESC LIMIT 1""", [current])
        if following is None:
            return None
        current = following
    return None


def find_customer(store: Store, settings: Settings, identifier: str) -> str:
    """The customer id ``identifier`` resolves to, or ``NotFoundError`` saying what to try."""
    text = identifier.strip() if isinstance(identifier, str) else ""
    if not text:
        raise InvalidInputError(f"identifier is empty; give {FORMS}", field="identifier")
    kind, sep, rest = text.partition(":")
    if sep and kind in KINDS:
        found = _by_identifier(store, settings, kind, rest)
    elif text.startswith("cus_"):
        found = _by_customer_id(store, text)
    elif "@" in text:
        found = _by_identifier(store, settings, "email", text)
    elif text.startswith("+"):
        found = _by_identifier(store, settings, "phone", text)
    else:
        found = (_by_identifier(store, settings, "user_id", text) or _by_customer_id(store, text)
                 or _by_identifier(store, settings, "anonymous_id", text))
    if found is None:
        raise NotFoundError(f"no customer is known by {text!r}; give {FORMS}", identifier=text)
    return found


def customer_ids_of(store: Store, customer_id: str) -> list[str]:
    """The customer id and every id merged into it (directly or through a chain)."""
    return [row[0] for row in store.fetchall("""
        WITH RECURSIVE chain(id) AS (
            SELECT ?::VARCHAR
            UNION SELECT m.from_customer_id FROM merges m JOIN chain c ON m.into_customer_id = c.id
            WHERE m.outcome IN ('identified', 'merged'))
        SELECT id FROM chain""", [customer_id])]
