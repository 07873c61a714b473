"""One HTTP request body → event records plus rejections (request-level checks live here).

Whole-request problems (bad encoding, not JSON, too large, ``batch`` not a list) raise errors with
a 4xx status. Per-message problems never fail the request: the message becomes a ``Rejection``
that is reported back to the client and recorded durably in ``rejected_events``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from cxlens.collect.exceptions import BadEncodingError, InvalidBatchError, MalformedJsonError
from cxlens.collect.messages import MessageInvalid, merge_batch_defaults, normalize, to_micros
from cxlens.config import Settings
from cxlens.errors import PayloadTooLargeError, UnsupportedMediaError

BATCH_KINDS = frozenset({"batch", "import"})
PAYLOAD_KEEP_BYTES = 4096  # how much of a rejected message is kept for inspection


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message turned away, with the reason a person (and a program) can act on."""

    index: int
    message_id: str | None
    code: str
    field: str | None
    message: str
    payload: str

    def to_response(self) -> dict[str, Any]:
        return {"index": self.index, "messageId": self.message_id, "code": self.code,
                "field": self.field, "message": self.message}

    def to_row(self, rejected_us: int, source: str | None) -> dict[str, Any]:
        """The ``rejected_events`` row (times in epoch microseconds)."""
        return {"rejected_at": rejected_us, "source": source, "message_id": self.message_id,
                "reason": self.code, "field": self.field, "detail": self.message,
                "payload": self.payload}


@dataclass(slots=True)
class Intake:
    records: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def decode_body(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding``, never inflating past ``limit`` bytes (a gzip bomb stops there)."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding != "gzip":
        raise UnsupportedMediaError(f"Content-Encoding {encoding!r} is not supported; send gzip or none",
                                    field="Content-Encoding")
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadEncodingError(f"the body is not valid gzip ({exc}); compress it with gzip or drop "
                               "the Content-Encoding header", field="Content-Encoding") from None
    if len(out) > limit:
        raise PayloadTooLargeError(f"the decompressed body is larger than {limit} bytes; send smaller "
                                   "batches", limit=limit)
    if not inflater.eof or inflater.unused_data:
        raise BadEncodingError("the gzip body is truncated or has trailing data; send one complete "
                               "gzip stream", field="Content-Encoding")
    return out


def parse_body(body: bytes, kind: str, settings: Settings) -> dict[str, Any]:
    """The decoded body as a JSON object, within the size limit of its endpoint."""
    limit = settings.max_batch_bytes if kind in BATCH_KINDS else settings.max_message_bytes
    if len(body) > limit:
        raise PayloadTooLargeError(f"the body is {len(body)} bytes; /v1/{kind} accepts at most {limit}",
                                   limit=limit, size=len(body))
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedJsonError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedJsonError(f"the body must be a JSON object, not {type(payload).__name__}")
    return payload


def write_key_in(payload: dict[str, Any]) -> str | None:
    key = payload.get("writeKey")
    return key if isinstance(key, str) else None


def _payload_text(item: Any) -> str:
    try:
        return orjson.dumps(item)[:PAYLOAD_KEEP_BYTES].decode(errors="replace")
    except TypeError:
        return repr(item)[:PAYLOAD_KEEP_BYTES]


def split_messages(kind: str, payload: dict[str, Any], body_size: int, settings: Settings,
                   received_us: int, source: str) -> Intake:
    """Validate every message of a request; good ones become records, bad ones rejections."""
    if kind in BATCH_KINDS:
        items = payload.get("batch")
        if not isinstance(items, list):
            raise InvalidBatchError(f"`batch` must be a list of messages, not {type(items).__name__}",
                                    field="batch")
        message_kind = None
        context = payload.get("context")
        integrations = payload.get("integrations")
        if context is not None and not isinstance(context, dict):
            raise InvalidBatchError("batch-level `context` must be a JSON object", field="context")
        if integrations is not None and not isinstance(integrations, dict):
            raise InvalidBatchError("batch-level `integrations` must be a JSON object", field="integrations")
        sent_at = payload.get("sentAt")
    else:
        items, message_kind, context, integrations, sent_at = [payload], kind, None, None, None

    intake = Intake()
    try:
        batch_sent_us = to_micros(sent_at, "sentAt") if sent_at is not None else None
    except MessageInvalid as exc:
        raise InvalidBatchError(exc.message, field="sentAt") from None
    # A body within the message limit cannot hold a message over it: skip measuring each one.
    measure = body_size > settings.max_message_bytes
    for index, raw in enumerate(items):
        item = merge_batch_defaults(raw, context, integrations)
        try:
            if measure and len(orjson.dumps(raw)) > settings.max_message_bytes:
                raise MessageInvalid("message_too_large", None,
                                     f"the message is larger than {settings.max_message_bytes} bytes")
            intake.records.append(normalize(item, message_kind, received_us, batch_sent_us, source))
        except MessageInvalid as exc:
            message_id = raw.get("messageId") if isinstance(raw, dict) else None
            intake.rejections.append(Rejection(
                index=index, message_id=message_id if isinstance(message_id, str) else None,
                code=exc.code, field=exc.field, message=exc.message, payload=_payload_text(raw)))
    return intake
