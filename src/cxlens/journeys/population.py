"""Whose journeys: a segment (a computed trait value or an audience) and a time range.

Every journey analysis (maps, flows, funnels, cohorts, paths) reads events through the same
``Population``, so "champions in Q1" means the same people everywhere. A segment is written
``NAME=VALUE`` for a computed trait (``rfm_segment=champions``, as the segments and predict rooms
fill ``computed_traits``; the value matches in any case) or ``audience:NAME`` for a saved
audience's current members; ``None`` or ``all`` is everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.journeys.stages import sql_literal
from cxlens.profiles.computed import value_matches_sql
from cxlens.store import Store


@dataclass(frozen=True)
class Population:
    """Customers in ``segment`` (None = all) and events in [since, until)."""

    segment: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidInputError(f"{name} must be timezone-aware (UTC)", field=name)
        if self.since and self.until and self.since >= self.until:
            raise InvalidInputError("the time range is empty: since must be before until", field="since")
        if self.segment in ("", "all"):
            object.__setattr__(self, "segment", None)

    def members_sql(self, store: Store) -> str | None:
        """A ``SELECT customer_id`` of the segment's members, after checking the segment exists."""
        if self.segment is None:
            return None
        if self.segment.startswith("audience:"):
            name = self.segment.removeprefix("audience:").strip()
            if not store.scalar("SELECT count(*) FROM audiences WHERE name = ?", [name]):
                known = [r[0] for r in store.fetchall("SELECT name FROM audiences ORDER BY 1 LIMIT 20")]
                raise NotFoundError(
                    f"unknown audience {name!r}; known audiences: {', '.join(known) or 'none'}",
                    segment=self.segment,
                )
            return f"SELECT customer_id FROM audience_members WHERE audience = {sql_literal(name)}"
        trait, sep, value = self.segment.partition("=")
        trait, value = trait.strip().removeprefix("trait."), value.strip()
        if not sep or not trait or not value:
            raise InvalidInputError(
                f"segment {self.segment!r} is not understood: write NAME=VALUE for a "
                "computed trait or audience:NAME for an audience",
                field="segment",
            )
        if not store.scalar("SELECT count(*) FROM computed_traits WHERE name = ?", [trait]):
            known = [
                r[0] for r in store.fetchall("SELECT DISTINCT name FROM computed_traits ORDER BY 1 LIMIT 20")
            ]
            raise InvalidInputError(
                f"unknown computed trait {trait!r}; known: {', '.join(known) or 'none'}", field="segment"
            )
        return (
            f"SELECT customer_id FROM computed_traits WHERE name = {sql_literal(trait)} "
            f"AND {value_matches_sql(sql_literal(value))}"
        )

    def where(
        self, store: Store, column: str = "customer_id", ts: str = "timestamp"
    ) -> tuple[str, list[Any]]:
        """SQL conditions (joined by AND, never empty) and their parameters for an events-like table."""
        parts, params = [f"{column} IS NOT NULL"], []
        if self.since is not None:
            parts.append(f"{ts} >= ?")
            params.append(self.since)
        if self.until is not None:
            parts.append(f"{ts} < ?")
            params.append(self.until)
        members = self.members_sql(store)
        if members is not None:
            parts.append(f"{column} IN ({members})")
        return " AND ".join(parts), params


def available_segments(store: Store, limit: int = 50) -> list[str]:
    """Segments a person can pick: computed-trait values (with few distinct values) and audiences."""
    traits = store.fetchall(
        """SELECT name, json_extract_string(value, '$') AS v FROM computed_traits
           WHERE name IN (SELECT name FROM computed_traits GROUP BY name
                          HAVING count(DISTINCT json_extract_string(value, '$')) <= 12)
           GROUP BY ALL ORDER BY 1, 2 LIMIT ?""",
        [limit],
    )
    audiences = store.fetchall("SELECT name FROM audiences ORDER BY 1 LIMIT ?", [limit])
    return [f"{n}={v}" for n, v in traits if v is not None] + [f"audience:{a}" for (a,) in audiences]
