"""Golden Segment payloads → event records, and per-message validation (no server, no store)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest

from cxlens.collect.channels import channel_of
from cxlens.collect.exceptions import BadEncodingError, InvalidBatchError, MalformedJsonError
from cxlens.collect.intake import decode_body, parse_body, split_messages
from cxlens.collect.messages import to_micros
from cxlens.collect.ratelimit import RateLimiter
from cxlens.errors import PayloadTooLargeError, RateLimitedError, UnsupportedMediaError

CASES = Path(__file__).resolve().parents[1] / "cases" / "segment"
RECEIVED = to_micros("2024-05-01T12:00:10Z", "receivedAt")


def _case(name: str) -> dict:
    return json.loads((CASES / f"{name}.json").read_text())


def _split(case: dict, settings):
    body = orjson.dumps(case["body"])
    return split_messages(case["endpoint"], parse_body(body, case["endpoint"], settings), len(body),
                          settings, RECEIVED, "golden")


@pytest.mark.parametrize("name", ["track", "identify", "page", "screen", "group", "alias"])
def test_golden_single_messages(name: str, settings) -> None:
    case = _case(name)
    intake = _split(case, settings)
    assert intake.rejections == []
    [record] = intake.records
    expect = dict(case["expect"])
    skew = expect.pop("skew_seconds", None)
    for column, value in expect.items():
        assert record[column] == value, column
    assert record["message_id"] == case["body"]["messageId"]
    assert record["source"] == "golden"
    assert record["received_at"] == RECEIVED
    if skew is not None:  # received − (sentAt − timestamp): the client clock was 5 s behind
        assert record["timestamp"] == RECEIVED - 5_000_000
        assert record["original_timestamp"] == to_micros(case["body"]["timestamp"], "t")


def test_message_without_timestamp_gets_received_at(settings) -> None:
    intake = _split({"endpoint": "track", "body": {"userId": "u", "event": "E"}}, settings)
    [record] = intake.records
    assert record["timestamp"] == RECEIVED and record["original_timestamp"] is None
    assert len(record["message_id"]) == 36  # assigned, as Segment's HTTP API does


def test_batch_context_and_integrations_merge_item_wins(settings) -> None:
    case = _case("batch_context")
    intake = _split(case, settings)
    rows = {r["message_id"]: r for r in intake.records}
    for expect in case["expect_rows"]:
        row = rows[expect["message_id"]]
        assert row["channel"] == expect["channel"]
        assert row["context"] == expect["context"]
    # batch-level sentAt applies to every item
    assert {r["sent_at"] for r in intake.records} == {to_micros("2024-05-01T12:00:00Z", "s")}


def test_invalid_messages_are_reported_and_valid_ones_kept(settings) -> None:
    case = _case("invalid_batch")
    intake = _split(case, settings)
    assert len(intake.records) == case["expect_accepted"]
    got = [{"index": r.index, "code": r.code, "field": r.field} for r in intake.rejections]
    assert got == case["expect_rejected"]
    assert intake.rejections[0].message_id == "golden-bad-noevent"
    assert "needs event" in intake.rejections[0].message
    assert '"golden-bad-noevent"' in intake.rejections[0].payload


def test_survey_scores_off_their_scale_are_rejected_like_an_import_row(settings) -> None:
    """One accepted csat of 9 made every CSAT report of the store (API, console) refuse to run."""
    def answer(metric: str | None, score, event: str = "Survey Responded") -> dict:
        props = {"score": score} if metric is None else {"metric": metric, "score": score}
        return {"type": "track", "event": event, "userId": "u", "properties": props}

    batch = [answer("csat", 9), answer("CSAT", 4.5), answer("nps", "ten"), answer("ces", True),
             answer("nps", 10), answer("csat", "4"), answer("likert", 3), answer(None, 4.5),
             answer("csat", None), {"type": "track", "event": "Survey Responded", "userId": "u"}]
    intake = _split({"endpoint": "batch", "body": {"batch": batch}}, settings)
    assert [(r.index, r.code, r.field) for r in intake.rejections] == [
        (0, "out_of_range", "properties.score"), (1, "out_of_range", "properties.score"),
        (2, "wrong_type", "properties.score"), (3, "wrong_type", "properties.score")]
    assert "csat score 9 is not a whole number from 1 to 5" in intake.rejections[0].message
    assert len(intake.records) == 6


def test_order_amounts_the_store_cannot_hold_are_rejected_like_an_import_row(settings) -> None:
    """revenue 1e20 was accepted and the order stored with no revenue: orders keep DECIMAL(18, 4)."""
    def order(**props) -> dict:
        return {"type": "track", "event": "Order Completed", "userId": "u", "properties": props}

    batch = [order(revenue=1e20), order(total=-1e14), order(revenue="inf"), order(tax="NaN"),
             order(shipping="lots"), order(discount=[1]), order(products=[{"price": 1e15}]),
             order(revenue=99_999_999_999_999.5, products=[{"price": "12.5"}, "sku-1"]),
             order(revenue="42"), {"type": "track", "event": "Clicked", "userId": "u",
                                   "properties": {"revenue": 1e20}}]
    intake = _split({"endpoint": "batch", "body": {"batch": batch}}, settings)
    assert [(r.index, r.code, r.field) for r in intake.rejections] == [
        (0, "out_of_range", "properties.revenue"), (1, "out_of_range", "properties.total"),
        (2, "wrong_type", "properties.revenue"), (3, "wrong_type", "properties.tax"),
        (4, "wrong_type", "properties.shipping"), (5, "wrong_type", "properties.discount"),
        (6, "out_of_range", "properties.products[0].price")]
    assert "revenue 1e+20 is too large; amounts must be below 10^14" in intake.rejections[0].message
    assert len(intake.records) == 3


def test_numeric_ids_are_kept_as_their_digits_or_refused_saying_what_to_send(settings) -> None:
    """A 30-digit userId (read as a float by the JSON parser) was refused as 'not float'."""
    body = (b'{"batch": [{"type": "track", "event": "E", "userId": 123456789012345678901234567890},'
            b' {"type": "track", "event": "E", "userId": 18446744073709551615},'
            b' {"type": "track", "event": "E", "userId": 12.5},'
            b' {"type": "track", "event": "E", "anonymousId": true}]}')
    intake = split_messages("batch", parse_body(body, "batch", settings), len(body), settings,
                            RECEIVED, "s")
    assert [r["user_id"] for r in intake.records] == ["18446744073709551615"]
    assert [(r.index, r.code, r.field) for r in intake.rejections] == [
        (0, "wrong_type", "userId"), (2, "wrong_type", "userId"), (3, "wrong_type", "anonymousId")]
    big, decimal, boolean = (r.message for r in intake.rejections)
    assert big.startswith("userId must be a string or an integer of at most 64 bits")
    assert "send it as a string" in big and "float" not in big
    assert "12.5" in decimal
    assert boolean == "anonymousId must be a string or an integer, not true"


def test_oversize_message_in_batch_is_rejected_alone(settings) -> None:
    big = {"type": "track", "event": "Big", "userId": "u", "properties": {"blob": "x" * 40_000}}
    small = {"type": "track", "event": "Small", "userId": "u"}
    intake = _split({"endpoint": "batch", "body": {"batch": [big, small]}}, settings)
    assert [r["event"] for r in intake.records] == ["Small"]
    assert [(r.index, r.code) for r in intake.rejections] == [(0, "message_too_large")]


@pytest.mark.parametrize("body, error", [
    (b"{not json", MalformedJsonError),
    (b"[1, 2]", MalformedJsonError),
    (b'{"batch": {"type": "track"}}', InvalidBatchError),
    (b'{"batch": [], "context": "web"}', InvalidBatchError),
    (b'{"batch": [], "sentAt": "noon"}', InvalidBatchError),
])
def test_whole_request_problems(body: bytes, error: type, settings) -> None:
    with pytest.raises(error):
        split_messages("batch", parse_body(body, "batch", settings), len(body), settings, RECEIVED, "s")


def test_single_message_body_over_limit_is_413(settings) -> None:
    body = orjson.dumps({"userId": "u", "event": "E", "properties": {"x": "y" * 40_000}})
    with pytest.raises(PayloadTooLargeError):
        parse_body(body, "track", settings)


def test_gzip_is_inflated_and_a_bomb_stops_at_the_cap() -> None:
    assert decode_body(gzip.compress(b'{"a": 1}'), "gzip", 100) == b'{"a": 1}'
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 KB on the wire, 50 MB inflated
    assert len(bomb) < 100_000
    with pytest.raises(PayloadTooLargeError):
        decode_body(bomb, "gzip", 500 * 1024)
    with pytest.raises(BadEncodingError):
        decode_body(b"definitely not gzip", "gzip", 1000)
    with pytest.raises(BadEncodingError):
        decode_body(gzip.compress(b'{"a": 1}')[:-6], "gzip", 1000)
    with pytest.raises(UnsupportedMediaError):
        decode_body(b"{}", "br", 1000)


@pytest.mark.parametrize("msg, channel", [
    ({"channel": "call-center"}, "call_center"),
    ({"context": {"channel": "POS"}}, "store"),
    ({"channel": "carrier pigeon"}, "other"),
    ({"context": {"library": {"name": "analytics-ios"}}}, "app"),
    ({"context": {"library": {"name": "analytics.js"}}}, "web"),
    ({"context": {"userAgent": "Mozilla/5.0"}}, "web"),
    ({}, "server"),
])
def test_channel_mapping(msg: dict, channel: str) -> None:
    assert channel_of(msg, msg.get("context", {})) == channel


def test_token_bucket_refuses_with_retry_after() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=10, burst=20, clock=lambda: now[0])
    limiter.take("k", 20)
    with pytest.raises(RateLimitedError) as info:
        limiter.take("k", 5)
    assert info.value.retry_after == pytest.approx(0.5)
    now[0] = 0.5
    limiter.take("k", 5)  # refilled
    limiter.take("other", 20)  # buckets are per key


def test_a_request_larger_than_the_burst_is_refused_for_good() -> None:
    """With rate_limit_burst = 3, a batch of 5 got 429 "retry after 1.00 s" on every attempt: the
    bucket never holds more than 3 tokens, so a client retried forever."""
    limiter = RateLimiter(rate=2, burst=3, clock=lambda: 0.0)
    with pytest.raises(PayloadTooLargeError, match="rate_limit_burst") as info:
        limiter.take("k", 5)
    assert not info.value.retryable
