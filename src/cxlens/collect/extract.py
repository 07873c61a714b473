"""Commerce and feedback tables, extracted from freshly loaded events so analytics need not parse JSON.

Runs inside the load transaction on the view ``_cx_loaded`` (the events just inserted).

``Order Completed`` (Segment e-commerce spec) → ``orders`` and ``order_items``:
``order_id`` (or ``orderId``; the messageId when absent), ``revenue`` (else ``total``),
``currency`` (ISO code, upper-cased; ``USD`` when absent, as Segment assumes), ``products[]`` with
``product_id`` (or ``productId``), ``sku``, ``name``, ``category``, ``price``, ``quantity``
(default 1); the campaign is ``context.campaign.name``. Unknown products are added to ``products``
(never overwriting what a catalog import wrote).

``Survey Responded`` / ``Review Submitted`` → ``feedback``: ``survey_id`` (or ``surveyId``, or
``review_id``), ``metric`` (``nps``, ``csat``, ``ces``, ``rating`` …; ``rating`` when absent),
``score`` (or ``rating``, or ``value``), ``comment`` (or ``review_body``, or ``text``),
``touchpoint``; all properties are kept as JSON.

Cost (ADR 0005): the order and feedback rows are first copied out of the batch (one scan, usually a
few percent of it), and each JSON document is parsed once — ``json_extract_string`` with a list of
paths reads them all in one parse, where one call per property re-parsed the text every time.
"""

from __future__ import annotations

from dataclasses import dataclass

from cxlens.store import Store

ORDER_EVENT = "Order Completed"
# Amounts are stored as DECIMAL(18, 4): from 10^14 on (and NaN, inf) they cannot be held, and the
# cast below would store them empty, so the importer and the collection API refuse them.
MAX_AMOUNT = 10**14
FEEDBACK_EVENTS = ("Survey Responded", "Review Submitted")
# Accepted score range per feedback metric (inclusive).
METRIC_RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "rating": (1, 5)}
# Survey scales are answered in whole points, and their reports (voc.score_store) refuse anything
# else, so the importer and the collection API refuse an answer off them: one let in would stop every
# report of its metric. A review rating may be an average, and is not scored there.
WHOLE_METRICS = ("nps", "csat", "ces")


def _paths(*names: str) -> str:
    return "[" + ", ".join(f"'$.{n}'" for n in names) + "]"


# Order properties read in one parse, by position (1-based in SQL).
_ORDER_PROPS = _paths("order_id", "orderId", "revenue", "total", "currency")
_ITEM_PROPS = _paths("product_id", "productId", "sku", "name", "category", "price", "quantity")
_FEEDBACK_PROPS = _paths("survey_id", "surveyId", "review_id", "metric", "score", "rating", "value",
                         "comment", "review_body", "text", "touchpoint")

_ORDER_ROWS = f"""
CREATE OR REPLACE TEMP TABLE _cx_orders AS
SELECT coalesce(v[1], v[2], message_id) AS order_id, message_id, customer_id, timestamp,
       TRY_CAST(coalesce(v[3], v[4]) AS DECIMAL(18, 4)) AS revenue,
       upper(coalesce(v[5], 'USD')) AS currency, channel,
       json_extract_string(context, '$.campaign.name') AS campaign, items
FROM (SELECT *, json_extract_string(properties, {_ORDER_PROPS}) AS v,
             json_extract(properties, '$.products[*]') AS items
      FROM _cx_loaded WHERE type = 'track' AND event = '{ORDER_EVENT}')
"""

_ORDERS = """
INSERT INTO orders (order_id, message_id, customer_id, timestamp, revenue, currency, channel, campaign)
SELECT order_id, message_id, customer_id, timestamp, revenue, currency, channel, campaign FROM _cx_orders
"""

_ITEM_ROWS = f"""
CREATE OR REPLACE TEMP TABLE _cx_items AS
SELECT order_id, timestamp, currency, coalesce(v[1], v[2]) AS product_id, v[3] AS sku, v[4] AS name,
       v[5] AS category, TRY_CAST(v[6] AS DECIMAL(18, 4)) AS price,
       coalesce(TRY_CAST(v[7] AS INTEGER), 1) AS quantity
FROM (SELECT order_id, timestamp, currency, json_extract_string(p, {_ITEM_PROPS}) AS v
      FROM (SELECT order_id, timestamp, currency, unnest(items) AS p FROM _cx_orders))
"""

_ORDER_ITEMS = """
INSERT INTO order_items (order_id, product_id, sku, name, category, price, quantity)
SELECT order_id, product_id, sku, name, category, price, quantity FROM _cx_items
"""

_PRODUCTS = """
INSERT INTO products (product_id, name, category, price, currency, attributes, updated_at)
SELECT DISTINCT ON (product_id) product_id, name, category, price, currency, NULL, timestamp
FROM _cx_items WHERE product_id IS NOT NULL
ORDER BY product_id, timestamp DESC
ON CONFLICT DO NOTHING
"""

_FEEDBACK = f"""
INSERT INTO feedback (message_id, customer_id, timestamp, survey_id, metric, score, comment,
                      touchpoint, channel, properties)
SELECT message_id, customer_id, timestamp, coalesce(v[1], v[2], v[3]),
       lower(coalesce(v[4], 'rating')), TRY_CAST(coalesce(v[5], v[6], v[7]) AS DOUBLE),
       coalesce(v[8], v[9], v[10]), v[11], channel, properties
FROM (SELECT *, json_extract_string(properties, {_FEEDBACK_PROPS}) AS v FROM _cx_loaded
      WHERE type = 'track' AND event IN ({", ".join(f"'{e}'" for e in FEEDBACK_EVENTS)}))
"""


@dataclass(frozen=True, slots=True)
class Extracted:
    orders: int
    order_items: int
    feedback: int


def _run(store: Store, sql: str) -> int:
    """Run one statement and return its row count (INSERT's answer; a count(*) query's value)."""
    # fetchall, not fetchone: DuckDB 2 refuses register() while a result is left unfinished.
    return int(store.fetchall(sql)[0][0])


def extract(store: Store) -> Extracted:
    """Fill orders, order_items, products and feedback from ``_cx_loaded``; returns row counts."""
    store.execute(_ORDER_ROWS)
    try:
        orders = _run(store, "SELECT count(*) FROM _cx_orders")
        items = 0
        if orders:
            _run(store, _ORDERS)
            store.execute(_ITEM_ROWS)
            items = _run(store, _ORDER_ITEMS)
            store.execute(_PRODUCTS)
        feedback = _run(store, _FEEDBACK)
    finally:
        store.execute("DROP TABLE IF EXISTS _cx_orders")
        store.execute("DROP TABLE IF EXISTS _cx_items")
    return Extracted(orders=orders, order_items=items, feedback=feedback)
