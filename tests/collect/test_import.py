"""Bulk import against real files (tests/cases/import) and a real DuckDB store in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cxlens.cli.main import app
from cxlens.collect.importer import import_file, record_numbers
from cxlens.errors import InvalidInputError
from cxlens.voc.score_store import report_from_store

CASES = Path(__file__).resolve().parents[1] / "cases" / "import"
FORMATS = ("csv", "jsonl", "parquet")

# Per kind: (rows in the file, [(row, reason, field) of every rejected row], events/products kept)
EXPECTED = {
    "events": (6, [(3, "missing_identifier", "user_id"), (4, "invalid_timestamp", "timestamp"),
                   (5, "unknown_type", "type")], 3),
    "orders": (6, [(4, "negative_amount", "price"), (5, "order_rejected", "order_id")], 3),
    "customers": (4, [(3, "missing_identifier", "user_id"), (4, "invalid_email", "email")], 2),
    "feedback": (5, [(3, "out_of_range", "score"), (4, "unknown_metric", "metric")], 3),
    "products": (3, [(3, "negative_amount", "price")], 2),
}


def _count(store, sql: str) -> int:
    return store.fetchall(sql)[0][0]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_kind_and_format_keeps_good_rows_and_reports_bad_ones(store, settings, kind, fmt):
    rows, rejected, kept = EXPECTED[kind]
    report = import_file(store, settings, kind, CASES / f"{kind}.{fmt}")
    assert report.format == fmt
    assert report.rows_read == rows
    assert [(r.row, r.reason, r.field) for r in report.rejected] == rejected
    assert report.rows_rejected == len(rejected)
    assert all(r.detail.startswith(f"row {r.row}: ") for r in report.rejected)
    stored = _count(store, f"SELECT count(*) FROM rejected_events WHERE source = 'import:{kind}'")
    assert stored == len(rejected)
    if kind == "products":
        assert report.products_upserted == kept
        products = store.fetchall("SELECT product_id, name, category, price, attributes FROM products "
                                  "ORDER BY 1")
        assert [(p, n, c, float(pr)) for p, n, c, pr, _ in products] == [
            ("p1", "Mug", "home", 12.5), ("p2", "Tea", "food", 5.0)]
        assert json.loads(products[0][4]) == {"color": "blue"}
    else:
        assert report.events_loaded == kept
        assert _count(store, "SELECT count(*) FROM events") == kept


def test_line_items_become_one_order_with_products(store, settings):
    import_file(store, settings, "orders", CASES / "orders.csv")
    orders = store.fetchall("SELECT order_id, revenue, currency FROM orders ORDER BY order_id")
    assert [(o, float(r), c) for o, r, c in orders] == [("o-1", 30.0, "EUR"), ("o-2", 40.0, "EUR"),
                                                         ("o-4", 15.0, "EUR")]
    items = store.fetchall("SELECT product_id, quantity FROM order_items WHERE order_id = 'o-1' ORDER BY 1")
    assert items == [("p1", 2), ("p2", 1)]


def test_orders_split_across_chunks_stay_whole(store, settings):
    report = import_file(store, settings, "orders", CASES / "orders.parquet", chunk_rows=1)
    assert report.events_loaded == 3
    assert _count(store, "SELECT count(*) FROM order_items WHERE order_id = 'o-1'") == 2


def test_reimport_is_idempotent(store, settings):
    first = import_file(store, settings, "feedback", CASES / "feedback.csv")
    again = import_file(store, settings, "feedback", CASES / "feedback.jsonl")
    assert first.events_loaded == 3
    assert again.events_loaded == 0 and again.duplicates == 3
    assert _count(store, "SELECT count(*) FROM events") == 3
    assert _count(store, "SELECT count(*) FROM feedback") == 3
    assert _count(store, "SELECT count(*) FROM rejected_events") == 2


def test_messages_without_id_get_deterministic_ids(store, settings):
    import_file(store, settings, "events", CASES / "events.csv")
    ids = [r[0] for r in store.fetchall("SELECT message_id FROM events ORDER BY timestamp")]
    assert "e-1" in ids and any(i.startswith("imp-") for i in ids)
    page = store.fetchall("SELECT timestamp FROM events WHERE type = 'page'")[0][0]
    assert page.isoformat().startswith("2024-05-01T08:05:00")  # +02:00 converted to UTC


def test_column_mapping_from_options_and_file(store, settings, tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text("Cust No,Mail,Tier,junk\nc-1,ann@example.org,gold,x\nc-2,bob@example.org,free,y\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Mail": "email", "junk": "ignore"}))
    from cxlens.collect.mapping import load_mapping_file
    columns = {**load_mapping_file(mapping), "Cust No": "user_id", "Tier": "traits.tier"}
    report = import_file(store, settings, "customers", path, columns=columns)
    assert report.events_loaded == 2
    traits = store.fetchall("SELECT user_id, traits FROM events ORDER BY user_id")
    assert traits[0][0] == "c-1"
    assert json.loads(traits[0][1]) == {"email": "ann@example.org", "tier": "gold"}


def test_malformed_csv_line_is_rejected_and_the_rest_kept(store, settings, tmp_path):
    path = tmp_path / "ev.csv"
    path.write_text("userId,event,timestamp\nu1,A,2024-01-01T00:00:00Z\nu2,B,2024-01-01,extra\n"
                    "u3,C,2024-01-02T00:00:00Z\n")
    report = import_file(store, settings, "events", path)
    assert report.events_loaded == 2
    assert report.by_reason == {"malformed_row": 1}


@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
def test_rows_after_a_malformed_csv_line_keep_their_numbers(store, settings, tmp_path, chunk_rows):
    # Rows 2 and 4 are malformed (line 3 and line 5 of the file): the bad timestamp on row 5 must be
    # reported as row 5, whatever the chunking, and each malformed line by its row and line.
    path = tmp_path / "ev.csv"
    path.write_text("userId,event,timestamp\nu1,A,2024-01-01T00:00:00Z\nu2,B,2024-01-01,extra\n"
                    "u3,C,2024-01-02T00:00:00Z\nu4,D\nu5,E,notadate\nu6,F,2024-01-03T00:00:00Z\n")
    report = import_file(store, settings, "events", path, chunk_rows=chunk_rows)
    assert report.events_loaded == 3
    assert report.rows_read == 6
    found = sorted((r.row, r.reason) for r in report.rejected)
    assert found == [(2, "malformed_row"), (4, "malformed_row"), (5, "invalid_timestamp")]
    details = {r.row: r.detail for r in report.rejected}
    assert details[2].startswith("line 3:") and details[4].startswith("line 5:")
    assert details[5].startswith("row 5:")
    payload = store.scalar("SELECT payload FROM rejected_events WHERE reason = 'invalid_timestamp'")
    assert json.loads(payload)["userId"] == "u5"


def test_record_numbers_skip_the_malformed_rows():
    rng = np.random.default_rng(3)
    for _ in range(200):
        total = int(rng.integers(1, 40))
        bad = np.flatnonzero(rng.random(total) < 0.3) + 1
        good = np.setdiff1d(np.arange(1, total + 1), bad)
        assert record_numbers(np.arange(1, len(good) + 1), bad).tolist() == good.tolist()


@pytest.mark.parametrize(("content", "name", "kwargs", "message"), [
    ("", "empty.csv", {}, "is empty"),
    ("a,b\n", "x.xlsx", {}, "cannot tell the format"),
    ("a,b\n", "x.csv", {"fmt": "xml"}, "unknown format 'xml'"),
    ("userId,event\nu1,A\n", "x.csv", {"kind": "invoices"}, "unknown file kind 'invoices'"),
    ("userId,event\nu1,A\n", "x.csv", {"columns": {"nope": "user_id"}}, "'nope' are not in the file"),
    ("userId,event\nu1,A\n", "x.csv", {"columns": {"event": "colour"}}, "'colour' is not a field"),
    ("header_only\n", "x.csv", {}, "has no rows"),
])
def test_clear_errors(store, settings, tmp_path, content, name, kwargs, message):
    path = tmp_path / name
    path.write_text(content)
    kind = kwargs.pop("kind", "events")
    with pytest.raises(InvalidInputError, match=message):
        import_file(store, settings, kind, path, **kwargs)


def test_orders_file_without_order_id_rejects_every_row_by_number(store, settings, tmp_path):
    path = tmp_path / "o.parquet"
    pq.write_table(pa.table({"user_id": ["u1", "u2"], "date": ["2024-01-01", "2024-01-02"],
                             "total": [10.0, -1.0]}), path)
    report = import_file(store, settings, "orders", path)
    assert [(r.row, r.reason) for r in report.rejected] == [(1, "missing_order_id"), (2, "missing_order_id")]


def test_cli_import_json(tmp_path):
    result = CliRunner().invoke(app, ["import", "orders", str(CASES / "orders.jsonl"), "--map",
                                      "qty=quantity", "--data-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["rows_read"] == 6 and body["events_loaded"] == 3
    assert [r["row"] for r in body["rejected"]] == [4, 5]


def test_cli_chunk_rows_changes_the_pace_not_the_result(tmp_path):
    def run(*extra: str) -> dict:
        out = CliRunner().invoke(app, ["import", "orders", str(CASES / "orders.jsonl"), "--map",
                                       "qty=quantity", "--data-dir", str(tmp_path / str(len(extra))),
                                       "--json", *extra])
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)

    default, small = run(), run("--chunk-rows", "2")
    for key in ("rows_read", "rows_rejected", "events_loaded", "rejected", "load"):
        assert small[key] == default[key]
    refused = CliRunner().invoke(app, ["import", "orders", str(CASES / "orders.jsonl"), "--chunk-rows",
                                       "0", "--data-dir", str(tmp_path / "z")])
    assert refused.exit_code == 2 and "--chunk-rows" in refused.output


def test_checkpoints_are_held_back_only_while_importing(store, settings, tmp_path):
    """The import raises DuckDB's checkpoint threshold for its own commits and puts it back, also
    when the import fails partway (here: its progress callback raises after the first chunk)."""
    def threshold() -> str:
        return store.scalar("SELECT current_setting('checkpoint_threshold')")

    before = threshold()
    seen: list[str] = []
    report = import_file(store, settings, "events", CASES / "events.csv",
                         on_progress=lambda _: seen.append(threshold()))
    assert seen and all(t != before for t in seen)
    assert threshold() == before
    assert _count(store, "SELECT count(*) FROM events") == report.events_loaded == 3
    with pytest.raises(ZeroDivisionError):
        import_file(store, settings, "events", CASES / "events.jsonl", on_progress=lambda _: 1 / 0)
    assert threshold() == before


def test_chunks_converted_ahead_load_in_file_order(settings, tmp_path):
    """The next chunk is converted on a second thread while one loads: one row per chunk must give
    the same events, rejects (in row order) and counts as one chunk, with progress per chunk.
    (Parquet: its reader honours a chunk of one row; CSV and JSON lines read 16 MiB blocks.)"""
    from cxlens.store import Store

    results = []
    for chunk_rows in (1_000, 1):
        progress: list[float] = []
        with Store(tmp_path / f"c{chunk_rows}.duckdb") as s:
            report = import_file(s, settings, "events", CASES / "events.parquet", chunk_rows=chunk_rows,
                                 on_progress=progress.append)
            events = s.fetchall("SELECT message_id, user_id, customer_id FROM events ORDER BY 1")
            stored = s.fetchall("SELECT message_id, reason FROM rejected_events ORDER BY 1")
        assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
        results.append((events, stored, [(r.row, r.reason) for r in report.rejected],
                        report.rows_read, report.events_loaded, len(progress)))
    assert results[0][:5] == results[1][:5]
    assert [row for row, _ in results[1][2]] == sorted(row for row, _ in results[1][2])
    assert results[1][5] == EXPECTED["events"][0] > results[0][5] == 1


def test_a_failed_load_stops_the_import_and_its_conversion_thread(store, settings):
    import threading

    before = threading.active_count()
    calls: list[float] = []

    def fail_on_second(done: float) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        import_file(store, settings, "events", CASES / "events.parquet", chunk_rows=1,
                    on_progress=fail_on_second)
    assert len(calls) == 2 and threading.active_count() == before
    assert _count(store, "SELECT count(*) FROM events") <= 2  # nothing loaded after the failure


def test_cli_table_says_how_many_rows_were_withheld_for_erased_people(tmp_path):
    """Events built but neither loaded nor duplicates must be accounted for in the table, not only --json."""
    people = tmp_path / "people.csv"
    people.write_text("user_id,email\nu1,one@example.com\nu2,two@example.com\n")
    data = ["--data-dir", str(tmp_path / "store")]
    assert CliRunner().invoke(app, ["import", "customers", str(people), *data]).exit_code == 0
    erased = CliRunner().invoke(app, ["privacy", "erase", "user_id:u1", "--yes", *data])
    assert erased.exit_code == 0, erased.output
    again = CliRunner().invoke(app, ["import", "customers", str(people), "--source", "crm", *data])
    assert again.exit_code == 0, again.output
    assert "withheld (erased people)" in again.stdout
    line = next(x for x in again.stdout.splitlines() if "withheld (erased people)" in x)
    assert line.split()[-1] == "1"


def test_feedback_scores_must_be_whole_on_the_survey_scales(store, settings, tmp_path):
    """A CSAT of 4.5 was loaded, and then every CSAT report of the store refused to run because of it."""
    path = tmp_path / "answers.csv"
    path.write_text("response_id,user_id,timestamp,metric,score\n"
                    "r1,u1,2025-06-01,csat,4.5\nr2,u1,2025-06-01,nps,9.0\nr3,u1,2025-06-01,rating,4.5\n"
                    "r4,u1,2025-06-01,ces,6\n")
    report = import_file(store, settings, "feedback", path)
    assert [(r.row, r.reason, r.field) for r in report.rejected] == [(1, "out_of_range", "score")]
    assert "whole number" in report.rejected[0].detail
    assert report_from_store(store, "ces")["rows"][0]["n"] == 1
    assert _count(store, "SELECT count(*) FROM feedback") == 3


def test_amounts_the_store_cannot_hold_are_refused_not_stored_as_empty(store, settings, tmp_path):
    """1e20, 1e400, NaN and inf were accepted and landed as orders with no revenue (DECIMAL(18, 4))."""
    path = tmp_path / "orders.csv"
    path.write_text("order_id,user_id,timestamp,revenue\n" + "".join(
        f"o{i},u1,2025-01-01,{value}\n" for i, value in enumerate(
            ["1e20", "1e400", "NaN", "inf", "99999999999999.5", "12.5"], start=1)))
    report = import_file(store, settings, "orders", path)
    assert sorted((r.row, r.reason, r.field) for r in report.rejected) == [
        (row, "invalid_number", "revenue") for row in (1, 2, 3, 4)]
    assert "too large" in next(r.detail for r in report.rejected if r.row == 1)
    assert store.fetchall("SELECT order_id, revenue::DOUBLE FROM orders ORDER BY 1") == [
        ("o5", 99999999999999.5), ("o6", 12.5)]


def test_only_empty_csv_cells_are_empty_values(store, settings, tmp_path):
    """pyarrow's default null markers turned the user id 'NA' and Namibia's code 'NA' into nothing."""
    path = tmp_path / "people.csv"
    path.write_text("user_id,email,country,last_name\nNA,na@example.com,NA,N/A\nu2,two@example.com,,null\n")
    report = import_file(store, settings, "customers", path)
    assert report.rejected == []
    traits = dict(store.fetchall("SELECT user_id, traits::VARCHAR FROM events ORDER BY user_id"))
    assert json.loads(traits["NA"]) == {"email": "na@example.com", "country": "NA", "last_name": "N/A"}
    assert json.loads(traits["u2"]) == {"email": "two@example.com", "last_name": "null"}
