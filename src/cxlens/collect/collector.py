"""The request path of collection: body → authenticated, limited, validated, screened, durable.

``Collector.receive`` never touches DuckDB (the key ring answers from its cache): valid messages and
rejections go to the WAL, and the answer is given only once they are fsync'd. Whatever happens
after that is the loader's job.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from cxlens.collect.dedupe import RecentIds
from cxlens.collect.exceptions import AllMessagesRejectedError
from cxlens.collect.intake import (
    BATCH_KINDS,
    Intake,
    Rejection,
    decode_body,
    parse_body,
    split_messages,
    write_key_in,
)
from cxlens.collect.ratelimit import RateLimiter
from cxlens.collect.records import to_json_lines
from cxlens.collect.wal import KIND_EVENT_LINES, KIND_REJECTED, WalWriter
from cxlens.config import Settings
from cxlens.errors import InvalidInputError
from cxlens.keys import ApiKey, KeyRing

ENDPOINTS = frozenset({"track", "identify", "page", "screen", "group", "alias", "batch", "import"})
Screen = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
MAX_WRITTEN_DEPTH = 254  # orjson's limit when writing JSON (it reads up to 1,024)


@dataclass(slots=True)
class CollectResult:
    """What happened to one request's messages."""

    accepted: int = 0
    duplicates: int = 0
    withheld: int = 0  # removed by the consent gate (suppressed or refused people)
    rejections: list[Rejection] = field(default_factory=list)

    def to_response(self) -> dict[str, Any]:
        return {"success": True, "accepted": self.accepted, "duplicates": self.duplicates,
                "withheld": self.withheld, "rejected": [r.to_response() for r in self.rejections]}


class Collector:
    """Receives Segment-spec requests; one per server (its memory of recent ids is per process).

    Runs on the event loop thread only, so its in-memory state needs no lock.
    """

    def __init__(self, settings: Settings, keyring: KeyRing, writer: WalWriter,
                 screen: Screen | None = None) -> None:
        self._settings = settings
        self._keyring = keyring
        self._writer = writer
        self._screen = screen
        self._limiter = RateLimiter(settings.rate_limit_events_per_second, settings.rate_limit_burst)
        self._recent = RecentIds()

    def _authenticate(self, secret: str | None) -> ApiKey:
        return self._keyring.authenticate(secret, "write")

    async def receive(self, kind: str, body: bytes, content_encoding: str | None,
                      basic_user: str | None) -> CollectResult:
        """Handle one request to ``/v1/<kind>``; raises a ``CxlensError`` for whole-request problems."""
        if kind not in ENDPOINTS:
            raise InvalidInputError(f"unknown endpoint /v1/{kind}; use one of {', '.join(sorted(ENDPOINTS))}")
        received_us = time.time_ns() // 1000
        key = self._authenticate(basic_user) if basic_user else None
        decoded = decode_body(body, content_encoding, self._settings.max_batch_bytes)
        payload = parse_body(decoded, kind, self._settings)
        if key is None:
            key = self._authenticate(write_key_in(payload))
        items = payload.get("batch") if kind in BATCH_KINDS else None
        self._limiter.take(key.key_id, len(items) if isinstance(items, list) else 1)
        intake = split_messages(kind, payload, len(decoded), self._settings, received_us, key.name)

        result = CollectResult(rejections=intake.rejections)
        fresh: list[dict[str, Any]] = []
        in_request: set[str] = set()
        for record in intake.records:
            message_id = record["message_id"]
            if message_id in self._recent or message_id in in_request:
                result.duplicates += 1
            else:
                in_request.add(message_id)
                fresh.append(record)
        kept = self._screen(fresh) if self._screen is not None and fresh else fresh
        result.accepted = len(intake.records)
        result.withheld = len(fresh) - len(kept)
        kept, lines, too_deep = _event_lines(kept)
        if too_deep:
            result.rejections = sorted([*intake.rejections, *_too_deep(intake, too_deep)],
                                       key=lambda r: r.index)
            result.accepted -= len(too_deep)
            in_request -= {r["message_id"] for r in too_deep}

        writes = []
        if kept:
            writes.append(self._writer.append(KIND_EVENT_LINES, lines))
        if result.rejections:
            rows = [r.to_row(received_us, key.name) for r in result.rejections]
            writes.append(self._writer.append(KIND_REJECTED, orjson.dumps(rows)))
        if writes:
            await asyncio.gather(*writes)
        self._recent.add_all(in_request)
        if result.rejections and not result.accepted:
            raise AllMessagesRejectedError(
                f"all {len(result.rejections)} message(s) were invalid and have been recorded as "
                f"rejected; first problem: {result.rejections[0].message}",
                rejected=[r.to_response() for r in result.rejections])
        return result


def _event_lines(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bytes, list[dict[str, Any]]]:
    """(records that can be written, their WAL lines, records nested too deep to write).

    orjson parses objects nested up to 1,024 levels but writes only 254, so a message can pass
    validation and still not be written; failing the request would answer 500, which SDKs retry
    for ever, with the good messages of the batch. Only on that rare failure is each record tried
    alone (``to_json_lines`` skips JSON columns it has already turned into text).
    """
    try:
        return records, to_json_lines(records), []
    except TypeError:
        pass
    good, bad = [], []
    for record in records:
        try:
            to_json_lines([record])
            good.append(record)
        except TypeError:
            bad.append(record)
    return good, to_json_lines(good), bad


def _too_deep(intake: Intake, records: list[dict[str, Any]]) -> list[Rejection]:
    """Rejections of ``records``, by their index in the request (records keep the request's order)."""
    rejected = {r.index for r in intake.rejections}
    indexes = [i for i in range(len(intake.records) + len(rejected)) if i not in rejected]
    index_of = {r["message_id"]: i for r, i in zip(intake.records, indexes, strict=True)}
    return [Rejection(index=index_of[r["message_id"]], message_id=r["message_id"], code="too_deep",
                      field=None, message=f"the message nests objects deeper than {MAX_WRITTEN_DEPTH} "
                      "levels; flatten it", payload="") for r in records]
