"""Identifier normalization, blocked junk, and the per-record reader agreeing with the SQL one."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from cxlens.collect.records import to_arrow
from cxlens.config import load_settings
from cxlens.errors import ConfigError
from cxlens.identity.identifiers import identifier_sql, normalize, normalize_phones, record_identifiers

from .support import event


def test_email_is_trimmed_and_lower_cased(settings) -> None:
    assert normalize("email", "  Ann.Lee@Example.ORG ", settings) == "ann.lee@example.org"


def test_invalid_and_placeholder_emails_are_not_identifiers(settings) -> None:
    for raw in ("not-an-email", "a@b", "two@@x.com", "test@example.com", "NULL", ""):
        assert normalize("email", raw, settings) is None, raw


def test_phone_becomes_e164_with_the_default_region(settings) -> None:
    assert normalize("phone", "(415) 555-2671", settings) == "+14155552671"
    assert normalize("phone", "+44 20 7946 0958", settings) == "+442079460958"
    assert normalize("phone", "12", settings) is None
    assert normalize_phones(["not a phone"], settings) == {"not a phone": None}


def test_junk_values_are_blocked(settings) -> None:
    for raw in ("0000", "00000000-0000-0000-0000-000000000000", "undefined", "NULL", " guest ", "-1"):
        assert normalize("user_id", raw, settings) is None, raw
    assert normalize("user_id", " u-42 ", settings) == "u-42"


def test_an_event_keeps_its_other_identifiers_when_one_is_junk(settings) -> None:
    record = event(1, user_id="undefined", anonymous_id="a-1", traits={"email": "X@Y.io"})
    assert record_identifiers(record, settings) == {("anonymous_id", "a-1"), ("email", "x@y.io")}


def test_external_ids_and_alias_previous_id(settings) -> None:
    record = event(1, type="alias", user_id="u1", previous_id="anon-9",
                   context={"externalIds": [{"id": 42, "type": "crm"}, {"id": "null", "type": "x"}]})
    assert record_identifiers(record, settings) == {
        ("user_id", "u1"), ("anonymous_id", "anon-9"), ("external_id", "crm:42")}
    # previousId only means something on alias calls
    assert ("anonymous_id", "anon-9") not in record_identifiers({**record, "type": "track"}, settings)


def _sql_identifiers(store, settings, records) -> set[tuple[int, str, str]]:
    table = to_arrow(records)
    store.register("_t_in", table.append_column("rid", pa.array(range(table.num_rows), pa.int64())))
    rows = store.arrow(identifier_sql(settings, "_t_in")).to_pylist()
    store.unregister("_t_in")
    raw = {r["raw_phone"] for r in rows if r["raw_phone"] is not None}
    phones = normalize_phones(raw, settings)
    found = set()
    for r in rows:
        value = r["value"] if r["kind"] != "phone" else phones[r["raw_phone"]]
        if value is not None:
            found.add((r["rid"], r["kind"], value))
    return found


values = st.one_of(st.none(), st.sampled_from(["", "0000", "null", "Guest", " u1 ", "a@b.co", " A@B.CO",
                                                "test@example.com", "+1 415 555 2671", "x y", "42"]),
                   st.text(alphabet="ab0@. -+", max_size=8), st.integers(-3, 3))


@hyp_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.fixed_dictionaries({"user_id": values, "anonymous_id": values, "email": values,
                                       "phone": values, "ctx_email": values}), min_size=1, max_size=5))
def test_sql_reader_agrees_with_the_record_reader(store, settings, rows) -> None:
    records = []
    for i, r in enumerate(rows):
        records.append(event(
            i, user_id=None if r["user_id"] is None else str(r["user_id"]),
            anonymous_id=None if r["anonymous_id"] is None else str(r["anonymous_id"]),
            traits={"email": r["email"], "phone": r["phone"]}, context={"traits": {"email": r["ctx_email"]}}))
    expected = {(i, k, v) for i, rec in enumerate(records) for k, v in record_identifiers(rec, settings)}
    assert _sql_identifiers(store, settings, records) == expected


def test_sql_reader_skips_json_without_identifier_keys_but_not_escaped_ones(store, settings) -> None:
    # The SQL reader parses a JSON column only when a key name appears in its text or the text has
    # an escape: an escaped key ("\u0065mail" is "email") must still be read.
    records = [event(1, user_id="u1", traits='{"plan": "pro"}', context='{"ip": "1.2.3.4"}'),
               event(2, anonymous_id="a2", traits='{"\\u0065mail": "Esc@X.io"}'),
               event(3, anonymous_id="a3", context='{"externalIds": [{"id": "7", "type": "crm"}], '
                                                   '"traits": {"email": "c@x.io"}}')]
    expected = {(i, k, v) for i, rec in enumerate(records) for k, v in record_identifiers(rec, settings)}
    assert (1, "email", "esc@x.io") in expected
    assert _sql_identifiers(store, settings, records) == expected


def test_the_default_phone_region_may_be_written_in_lower_case(tmp_path, monkeypatch) -> None:
    """`phone_default_region = "gb"` was accepted, and phonenumbers, which knows only "GB", then
    refused every national number: no phone identified anyone."""
    monkeypatch.setenv("CXLENS_PHONE_DEFAULT_REGION", "gb")
    assert normalize("phone", "020 7946 0958", load_settings(tmp_path)) == "+442079460958"


def test_an_unknown_phone_region_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CXLENS_PHONE_DEFAULT_REGION", "XX")
    with pytest.raises(ConfigError, match="phone_default_region"):
        load_settings(tmp_path)
