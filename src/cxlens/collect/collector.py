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

        writes = []
        if kept:
            writes.append(self._writer.append(KIND_EVENT_LINES, to_json_lines(kept)))
        if intake.rejections:
            rows = [r.to_row(received_us, key.name) for r in intake.rejections]
            writes.append(self._writer.append(KIND_REJECTED, orjson.dumps(rows)))
        if writes:
            await asyncio.gather(*writes)
        self._recent.add_all(in_request)
        if intake.rejections and not intake.records:
            raise AllMessagesRejectedError(
                f"all {len(intake.rejections)} message(s) were invalid and have been recorded as "
                f"rejected; first problem: {intake.rejections[0].message}",
                rejected=[r.to_response() for r in intake.rejections])
        return result
