"""Writes the golden import cases: the same rows of each kind as CSV, JSON lines and Parquet.

Run ``python tests/cases/import/make_cases.py`` after changing a case; the files are committed, and
the tests read the files (not this script), so a reader change cannot silently change the inputs.
Bad rows sit at known positions; ``EXPECTED`` in ``tests/collect/test_import.py`` lists them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent

CASES: dict[str, list[dict]] = {
    "events": [
        {"messageId": "e-1", "type": "track", "event": "Product Viewed", "userId": "u1",
         "timestamp": "2024-05-01T10:00:00Z", "channel": "web", "properties": {"product_id": "p1"}},
        {"type": "page", "event": "Home", "anonymousId": "a9", "timestamp": "2024-05-01T10:05:00+02:00",
         "channel": "web", "properties": {"path": "/"}},
        {"messageId": "e-3", "type": "track", "event": "Cart Viewed", "timestamp": "2024-05-01T10:06:00Z",
         "channel": "app", "properties": {"items": 2}},                      # row 3: no identifier
        {"messageId": "e-4", "type": "track", "event": "Signed Up", "userId": "u4",
         "timestamp": "soon", "channel": "app", "properties": {"plan": "pro"}},  # row 4: bad timestamp
        {"messageId": "e-5", "type": "hover", "event": "X", "userId": "u5",
         "timestamp": "2024-05-01T11:00:00Z", "channel": "web", "properties": {"a": 1}},  # row 5: type
        {"messageId": "e-6", "type": "identify", "userId": "u1", "anonymousId": "a9",
         "timestamp": "2024-05-01T10:07:00Z", "channel": "web", "properties": {"source": "form"}},
    ],
    "orders": [  # one row per line item, grouped by order_id
        {"order_id": "o-1", "customer_id": "u1", "order_date": "2024-05-02T09:00:00Z", "currency": "EUR",
         "product_id": "p1", "product_name": "Mug", "category": "home", "unit_price": 12.5, "qty": 2},
        {"order_id": "o-1", "customer_id": "u1", "order_date": "2024-05-02T09:00:00Z", "currency": "EUR",
         "product_id": "p2", "product_name": "Tea", "category": "food", "unit_price": 5.0, "qty": 1},
        {"order_id": "o-2", "customer_id": "u2", "order_date": "2024-05-03T12:30:00Z", "currency": "EUR",
         "product_id": "p3", "product_name": "Lamp", "category": "home", "unit_price": 40.0, "qty": 1},
        {"order_id": "o-3", "customer_id": "u3", "order_date": "2024-05-03T13:00:00Z", "currency": "EUR",
         "product_id": "p1", "product_name": "Mug", "category": "home", "unit_price": -12.5, "qty": 1},
        {"order_id": "o-3", "customer_id": "u3", "order_date": "2024-05-03T13:00:00Z", "currency": "EUR",
         "product_id": "p2", "product_name": "Tea", "category": "food", "unit_price": 5.0, "qty": 1},
        {"order_id": "o-4", "customer_id": "u4", "order_date": "2024-05-04T08:00:00Z", "currency": "EUR",
         "product_id": "p2", "product_name": "Tea", "category": "food", "unit_price": 5.0, "qty": 3},
    ],
    "customers": [
        {"user_id": "u1", "Email Address": "Ann@Example.org", "phone": "+14155550101", "first_name": "Ann",
         "plan": "gold", "consent_marketing": "true"},
        {"user_id": "u2", "Email Address": "bob@example.org", "phone": None, "first_name": "Bob",
         "plan": "free", "consent_marketing": "false"},
        {"user_id": None, "Email Address": "nobody@example.org", "phone": None, "first_name": "Cy",
         "plan": "free", "consent_marketing": None},                          # row 3: no identifier
        {"user_id": "u4", "Email Address": "not-an-email", "phone": None, "first_name": "Di",
         "plan": "gold", "consent_marketing": None},                          # row 4: bad e-mail
    ],
    "feedback": [
        {"response_id": "r1", "userId": "u1", "submitted_at": "2024-05-05T10:00:00Z", "survey_id": "nps-q2",
         "metric": "NPS", "score": 9, "comment": "Fast delivery, lovely mug", "touchpoint": "delivery"},
        {"response_id": "r2", "userId": "u2", "submitted_at": "2024-05-05T11:00:00Z", "survey_id": "nps-q2",
         "metric": "nps", "score": 3, "comment": "Parcel came a week late", "touchpoint": "delivery"},
        {"response_id": "r3", "userId": "u3", "submitted_at": "2024-05-05T12:00:00Z", "survey_id": "csat-1",
         "metric": "csat", "score": 9, "comment": "ok", "touchpoint": "support"},   # row 3: out of range
        {"response_id": "r4", "userId": "u4", "submitted_at": "2024-05-05T13:00:00Z", "survey_id": "x",
         "metric": "happiness", "score": 4, "comment": "", "touchpoint": "app"},     # row 4: unknown metric
        {"response_id": "r5", "userId": "u5", "submitted_at": "2024-05-05T14:00:00Z", "survey_id": "ces-1",
         "metric": "ces", "score": 2, "comment": "Easy to return", "touchpoint": "returns"},
    ],
    "products": [
        {"id": "p1", "title": "Mug", "category": "home", "price": 12.5, "currency": "EUR", "color": "blue"},
        {"id": "p2", "title": "Tea", "category": "food", "price": 5.0, "currency": "EUR", "color": None},
        {"id": "p3", "title": "Lamp", "category": "home", "price": -40.0, "currency": "EUR",
         "color": "white"},                                                   # row 3: negative price
    ],
}


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def write(kind: str, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(HERE / f"{kind}.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows([_csv_value(row.get(c)) for c in columns] for row in rows)
    with open(HERE / f"{kind}.jsonl", "w") as out:
        out.writelines(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n" for row in rows)
    pq.write_table(pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows]),
                   HERE / f"{kind}.parquet")


if __name__ == "__main__":
    for name, case_rows in CASES.items():
        write(name, case_rows)
