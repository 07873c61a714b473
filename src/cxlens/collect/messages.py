"""Segment-spec messages → event records: validation and normalization of one message.

Hand-written rather than a pydantic model per message: the check runs on every message on the hot
path, and a plain function of ``isinstance`` tests costs a few microseconds where a model costs
several times that (see ``docs/collect.md``). It also lets each problem name its exact field.

Times become integer microseconds since the Unix epoch (UTC), which Arrow turns into
``timestamp[us, UTC]`` without any per-value Python work.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from cxlens.collect.channels import channel_of
from cxlens.collect.extract import FEEDBACK_EVENTS, MAX_AMOUNT, METRIC_RANGES, ORDER_EVENT, WHOLE_METRICS

MESSAGE_TYPES = frozenset({"track", "identify", "page", "screen", "group", "alias"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
_STRING_FIELDS = ("event", "name", "channel", "category")
_ID_FIELDS = ("userId", "anonymousId", "groupId", "previousId")
MAX_ID_LENGTH = 1024
_SCORE_FIELDS = ("score", "rating", "value")  # read in this order by collect.extract
# Order amounts: revenue|total are stored by collect.extract; the rest are refused as an import does.
_ORDER_AMOUNTS = ("revenue", "total", "discount", "shipping", "tax")


class MessageInvalid(Exception):
    """One message cannot be accepted; ``code`` and ``field`` say why (the batch goes on)."""

    def __init__(self, code: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message


def to_micros(value: Any, field: str) -> int:
    """An ISO-8601 string → microseconds since the epoch, UTC (naive times are taken as UTC)."""
    if not isinstance(value, str):
        raise MessageInvalid("wrong_type", field, f"{field} must be an ISO-8601 string, "
                             f"not {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MessageInvalid("invalid_timestamp", field,
                             f"{field} {value[:40]!r} is not an ISO-8601 timestamp "
                             "(for example 2024-05-01T12:00:00.000Z)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _MICROSECOND


def _wrong_id(field: str, value: Any) -> MessageInvalid:
    """Say what an id must be, showing the value as the client sent it (JSON, not Python types).

    The JSON parser reads an integer beyond 64 bits as a float, so a long numeric id arrives as one
    whose digits are already lost: the client must send it as a string.
    """
    shown = orjson.dumps(value).decode()[:40]
    if isinstance(value, float):
        return MessageInvalid("wrong_type", field, f"{field} must be a string or an integer of at most "
                              f"64 bits, not the number {shown}; send it as a string")
    return MessageInvalid("wrong_type", field, f"{field} must be a string or an integer, not {shown}")


def _identifier(msg: Mapping[str, Any], field: str) -> str | None:
    """An id as text: a string, or an integer as its digits (Segment's libraries stringify them)."""
    value = msg.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _wrong_id(field, value)
    text = str(value).strip()
    if len(text) > MAX_ID_LENGTH:
        raise MessageInvalid("too_long", field, f"{field} is longer than {MAX_ID_LENGTH} characters")
    return text or None


def _check_types(msg: Mapping[str, Any]) -> None:
    for field in _OBJECT_FIELDS:
        value = msg.get(field)
        if value is not None and not isinstance(value, dict):
            raise MessageInvalid("wrong_type", field,
                                 f"{field} must be a JSON object, not {type(value).__name__}")
    for field in _STRING_FIELDS:
        value = msg.get(field)
        if value is not None and not isinstance(value, str):
            raise MessageInvalid("wrong_type", field, f"{field} must be a string, not {type(value).__name__}")


def _number(value: Any, where: str) -> float:
    """A finite JSON number, or a string holding one (the store's casts read both), as a float."""
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        number = float(value)
        if not math.isfinite(number):  # "NaN", "inf" or "1e400" in a string
            raise ValueError
        return number
    except ValueError:
        shown = str(value)[:40]
        raise MessageInvalid("wrong_type", where, f"{where} must be a number, not {shown!r}") from None


def _check_amount(value: Any, where: str) -> None:
    if value is None:
        return
    if abs(_number(value, where)) >= MAX_AMOUNT:
        raise MessageInvalid("out_of_range", where, f"{where.rpartition('.')[2]} {str(value)[:40]} is "
                             "too large; amounts must be below 10^14")


def _check_order_amounts(properties: Any) -> None:
    """Refuse an order amount the store cannot hold, as the importer does.

    ``orders`` and ``order_items`` keep DECIMAL(18, 4): accepted, an amount from 10^14 on (or NaN,
    inf) would be stored as no revenue without a word, and every revenue report would miss it.
    """
    if not isinstance(properties, dict):
        return
    for field in _ORDER_AMOUNTS:
        _check_amount(properties.get(field), f"properties.{field}")
    products = properties.get("products")
    for i, product in enumerate(products if isinstance(products, list) else ()):
        if isinstance(product, dict):
            _check_amount(product.get("price"), f"properties.products[{i}].price")


def _check_survey_score(properties: Any) -> None:
    """Refuse an NPS, CSAT or CES answer off its whole-point scale, as the importer does.

    Accepted, it would reach ``feedback`` and stop every report of its metric, which refuses
    off-scale answers rather than skew the score. Other metrics (ratings, Likert items) pass.
    """
    if not isinstance(properties, dict) or not isinstance(properties.get("metric"), str):
        return
    metric = properties["metric"].lower()
    field = next((f for f in _SCORE_FIELDS if properties.get(f) is not None), None)
    if metric not in WHOLE_METRICS or field is None:
        return
    value, where = properties[field], f"properties.{field}"
    number = _number(value, where)
    low, high = METRIC_RANGES[metric]
    if not low <= number <= high or number != int(number):
        raise MessageInvalid("out_of_range", where, f"{metric} score {value} is not a whole number from "
                             f"{low} to {high}")


def _require(value: str | None, field: str, kind: str) -> str:
    if value is None:
        raise MessageInvalid("missing_field", field, f"a {kind} message needs {field}")
    return value


def normalize(msg: Any, kind: str | None, received_us: int, batch_sent_us: int | None,
              source: str) -> dict[str, Any]:
    """Validate one message and return its event record (``cxlens.collect.records`` columns).

    ``kind`` is the type the endpoint implies (``/v1/track``) or ``None`` for batch items, which
    carry their own ``type``. ``batch_sent_us`` is the batch's ``sentAt``, used when the message
    has none. Raises ``MessageInvalid`` naming the field at fault.
    """
    if not isinstance(msg, dict):
        raise MessageInvalid("not_an_object", None, f"a message must be a JSON object, not "
                             f"{type(msg).__name__}")
    msg_type = kind or msg.get("type")
    if msg_type not in MESSAGE_TYPES:
        raise MessageInvalid("invalid_type", "type", f"type must be one of {', '.join(sorted(MESSAGE_TYPES))}"
                             f", not {str(msg_type)[:40]!r}")
    _check_types(msg)
    message_id = _identifier(msg, "messageId") or str(uuid.uuid4())
    user_id = _identifier(msg, "userId")
    anonymous_id = _identifier(msg, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise MessageInvalid("missing_identifier", "userId",
                             "every message needs userId or anonymousId (a non-empty string)")
    group_id = _identifier(msg, "groupId")
    previous_id = _identifier(msg, "previousId")

    context = msg.get("context") or {}
    properties = msg.get("properties")
    traits = msg.get("traits")
    event = msg.get("event")
    if msg_type == "track":
        if not event or not event.strip():
            raise MessageInvalid("missing_field", "event", "a track message needs event (its name)")
        if event in FEEDBACK_EVENTS:
            _check_survey_score(properties)
        elif event == ORDER_EVENT:
            _check_order_amounts(properties)
    elif msg_type in ("page", "screen"):
        event = msg.get("name")
    elif msg_type == "identify":
        event = None
        traits = traits if traits is not None else context.get("traits")
    elif msg_type == "group":
        _require(group_id, "groupId", "group")
        # Group traits describe the company, not the person: keep them out of person traits.
        event, properties, traits = None, traits, None
    else:  # alias
        _require(user_id, "userId", "alias")
        _require(previous_id, "previousId", "alias")
        event = None
    if context.get("traits") is not None and not isinstance(context["traits"], dict):
        raise MessageInvalid("wrong_type", "context.traits", "context.traits must be a JSON object")

    timestamp = msg.get("timestamp")
    sent_at = msg.get("sentAt")
    sent_us = to_micros(sent_at, "sentAt") if sent_at is not None else batch_sent_us
    if timestamp is None:
        original_us = None
        timestamp_us = received_us
    else:
        original_us = to_micros(timestamp, "timestamp")
        # Client clocks are wrong; the gap between when it happened and when it was sent is not.
        timestamp_us = original_us if sent_us is None else received_us - (sent_us - original_us)

    integrations = msg.get("integrations")
    if integrations:
        context = {**context, "integrations": integrations}
    return {
        "message_id": message_id,
        "type": msg_type,
        "event": event,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "id_kind": None,
        "id_value": None,
        "customer_id": None,
        "channel": channel_of(msg, context),
        "source": source,
        "timestamp": timestamp_us,
        "original_timestamp": original_us,
        "sent_at": sent_us,
        "received_at": received_us,
        "properties": properties,
        "traits": traits,
        "context": context or None,
        "group_id": group_id,
        "previous_id": previous_id,
        "anonymized": False,
    }


def merge_batch_defaults(item: Any, context: dict | None, integrations: dict | None) -> Any:
    """Batch-level ``context`` and ``integrations`` under an item's own (the item wins)."""
    if not isinstance(item, dict) or (not context and not integrations):
        return item
    merged = dict(item)
    if context:
        own = item.get("context")
        merged["context"] = deep_merge(context, own) if isinstance(own, dict) else (
            context if own is None else own)
    if integrations:
        own = item.get("integrations")
        merged["integrations"] = {**integrations, **own} if isinstance(own, dict) else (
            integrations if own is None else own)
    return merged


def deep_merge(base: dict, override: dict) -> dict:
    """``override`` on top of ``base``, recursing into objects both have."""
    out = dict(base)
    for key, value in override.items():
        below = out.get(key)
        out[key] = deep_merge(below, value) if isinstance(below, dict) and isinstance(value, dict) else value
    return out
