"""The consent gate on the request path: refuse or strip events before anything is written.

``refresh()`` loads, once, who must not be stored as-is: suppressed identifiers (as keyed hashes)
and identifiers of people whose current analytics consent is refused. ``screen()`` then costs
O(1) per record (a few set look-ups and HMACs), so it can run before the write-ahead log.

An event that *carries* a consent choice is never simply dropped: the choice must reach the store
to be honoured. If its person is refused, it is reduced to the choice alone (identifiers and
consent, nothing else), and ``unify`` records the choice and applies the policy to what is left.
The gate also learns from the choices it sees, so a refusal protects the very next event.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cxlens.config import Settings
from cxlens.identity.identifiers import as_mapping, record_identifiers, sources
from cxlens.identity.keyed import Hasher
from cxlens.privacy.anonymize import anonymize_record
from cxlens.privacy.consent import LATEST_GRANTED, record_choices, sync_defaults
from cxlens.privacy.suppress import suppressed_hashes
from cxlens.store import Store

log = logging.getLogger(__name__)

Identifier = tuple[str, str]


@dataclass
class ScreenResult:
    kept: list[dict] = field(default_factory=list)
    dropped: int = 0          # suppressed, or refused under the "drop" policy
    anonymized: int = 0       # refused under the "anonymize" policy
    reduced: int = 0          # refused but carrying a consent choice: kept as the choice alone


class ConsentGate:
    """Screens records (dicts with EVENT_SCHEMA keys) against consent and suppressions."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._hasher = Hasher.for_data_dir(settings.data_dir)
        self._suppressed: set[str] = set()
        self._refused: set[Identifier] = set()
        self._granted: set[Identifier] = set()  # only needed when analytics is refused by default
        self._default = bool(settings.consent_defaults.get("analytics", False))

    def refresh(self) -> None:
        """Reload suppressed and refused identifiers from the store."""
        sync_defaults(self._store, self._settings)
        # Only people whose choice differs from the default are held (refusals, usually few).
        decided = self._store.fetchall(f"""
            WITH latest AS (
                SELECT customer_id, {LATEST_GRANTED} AS granted
                FROM consent_events WHERE purpose = 'analytics' AND customer_id IS NOT NULL
                GROUP BY customer_id)
            SELECT i.kind, i.value, l.granted FROM latest l JOIN identities i USING (customer_id)
            WHERE l.granted <> ?""", [self._default])
        self._refused = {(k, v) for k, v, granted in decided if not granted}
        self._granted = {(k, v) for k, v, granted in decided if granted}
        self._suppressed = suppressed_hashes(self._store)
        log.debug("consent gate: %d refused, %d granted, %d suppressed identifiers",
                  len(self._refused), len(self._granted), len(self._suppressed))

    def _is_refused(self, ids: set[Identifier]) -> bool:
        if ids & self._refused:
            return True
        return not self._default and not ids & self._granted

    def _open(self) -> bool:
        """Nobody is refused or suppressed and analytics is granted by default: every record
        without a consent choice of its own passes unchanged, so it need not be looked at."""
        return self._default and not self._refused and not self._suppressed

    def screen(self, records: list[dict]) -> ScreenResult:
        result = ScreenResult()
        open_gate = self._open()
        for record in records:
            if open_gate and not _may_carry_choice(record):
                result.kept.append(record)
                continue
            ids = record_identifiers(record, self._settings)
            if any(self._hasher.identifier(k, v) in self._suppressed for k, v in ids):
                result.dropped += 1
                continue
            choices = record_choices(record)
            if "analytics" in choices:
                self._learn(ids, choices["analytics"])
                open_gate = self._open()
            if not self._is_refused(ids):
                result.kept.append(record)
            elif choices:
                result.kept.append(_reduce_to_choice(record, self._settings))
                result.reduced += 1
            elif self._settings.consent_policy == "drop":
                result.dropped += 1
            else:
                result.kept.append(anonymize_record(record))
                result.anonymized += 1
        return result

    def _learn(self, ids: set[Identifier], granted: bool) -> None:
        if granted:
            self._refused -= ids
            self._granted |= ids
        else:
            self._refused |= ids
            self._granted -= ids


def _may_carry_choice(record: Mapping[str, Any]) -> bool:
    """Cheap pre-check: a consent choice lives under ``consent`` in context or traits."""
    for column in ("context", "traits"):
        value = record.get(column)
        if isinstance(value, Mapping):
            if "consent" in value:
                return True
        elif isinstance(value, str) and ("consent" in value or "\\u" in value):  # a key may be escaped
            return True
    return False


def _reduce_to_choice(record: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Only what is needed to honour the choice: who made it (identifiers) and the choice."""
    traits: dict[str, Any] = {}
    raw_traits = as_mapping(record.get("traits"))
    for src in sources(settings):
        if src.column == "traits" and len(src.path) == 1 and src.path[0] in raw_traits:
            traits[src.path[0]] = raw_traits[src.path[0]]
    context = {"consent": record_choices(record)}
    external = as_mapping(record.get("context")).get("externalIds")
    if external:
        context["externalIds"] = external
    out = {k: record.get(k) for k in ("message_id", "user_id", "anonymous_id", "channel", "source",
                                       "timestamp", "original_timestamp", "sent_at", "received_at")}
    out.update({"type": "identify", "event": None, "traits": traits, "context": context,
                "properties": {}, "anonymized": False})
    return out

