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
"""

from __future__ import annotations

from dataclasses import dataclass

from cxlens.store import Store

ORDER_EVENT = "Order Completed"
FEEDBACK_EVENTS = ("Survey Responded", "Review Submitted")

_P = "json_extract_string(properties, '$.{}')"


def _prop(*names: str) -> str:
    return "coalesce(" + ", ".join(_P.format(n) for n in names) + ")"


_ORDER_ID = f"coalesce({_prop('order_id', 'orderId')}, message_id)"

_ORDERS = f"""
INSERT INTO orders (order_id, message_id, customer_id, timestamp, revenue, currency, channel, campaign)
SELECT {_ORDER_ID}, message_id, customer_id, timestamp,
       TRY_CAST({_prop('revenue', 'total')} AS DECIMAL(18, 4)),
       upper(coalesce({_prop('currency')}, 'USD')),
       channel, json_extract_string(context, '$.campaign.name')
FROM _cx_loaded WHERE type = 'track' AND event = '{ORDER_EVENT}'
"""

_ITEMS_SOURCE = f"""
SELECT order_id, timestamp, currency,
       coalesce(p ->> 'product_id', p ->> 'productId') AS product_id, p ->> 'sku' AS sku,
       p ->> 'name' AS name, p ->> 'category' AS category,
       TRY_CAST(p ->> 'price' AS DECIMAL(18, 4)) AS price,
       coalesce(TRY_CAST(p ->> 'quantity' AS INTEGER), 1) AS quantity
FROM (SELECT {_ORDER_ID} AS order_id, timestamp,
             upper(coalesce({_prop('currency')}, 'USD')) AS currency,
             unnest(json_extract(properties, '$.products[*]')) AS p
      FROM _cx_loaded WHERE type = 'track' AND event = '{ORDER_EVENT}')
"""

_ORDER_ITEMS = f"""
INSERT INTO order_items (order_id, product_id, sku, name, category, price, quantity)
SELECT order_id, product_id, sku, name, category, price, quantity FROM ({_ITEMS_SOURCE})
"""

_PRODUCTS = f"""
INSERT INTO products (product_id, name, category, price, currency, attributes, updated_at)
SELECT DISTINCT ON (product_id) product_id, name, category, price, currency, NULL, timestamp
FROM ({_ITEMS_SOURCE}) WHERE product_id IS NOT NULL
ORDER BY product_id, timestamp DESC
ON CONFLICT DO NOTHING
"""

_FEEDBACK = f"""
INSERT INTO feedback (message_id, customer_id, timestamp, survey_id, metric, score, comment,
                      touchpoint, channel, properties)
SELECT message_id, customer_id, timestamp, {_prop('survey_id', 'surveyId', 'review_id')},
       lower(coalesce({_prop('metric')}, 'rating')),
       TRY_CAST({_prop('score', 'rating', 'value')} AS DOUBLE),
       {_prop('comment', 'review_body', 'text')}, {_prop('touchpoint')}, channel, properties
FROM _cx_loaded
WHERE type = 'track' AND event IN ({", ".join(f"'{e}'" for e in FEEDBACK_EVENTS)})
"""


@dataclass(frozen=True, slots=True)
class Extracted:
    orders: int
    order_items: int
    feedback: int


def _count(store: Store, sql: str) -> int:
    # fetchall, not fetchone: DuckDB 2 refuses register() while a result is left unfinished.
    return int(store.fetchall(sql)[0][0])


def extract(store: Store) -> Extracted:
    """Fill orders, order_items, products and feedback from ``_cx_loaded``; returns row counts."""
    [wanted] = store.fetchall(
        f"SELECT count(*) FILTER (WHERE event = '{ORDER_EVENT}'), "
        f"count(*) FILTER (WHERE event IN ({', '.join(repr(e) for e in FEEDBACK_EVENTS)})) "
        "FROM _cx_loaded WHERE type = 'track'"
    )
    orders, feedback = (int(v) for v in wanted)
    items = 0
    if orders:
        store.execute(_ORDERS)
        items = _count(store, f"SELECT count(*) FROM ({_ITEMS_SOURCE})")
        store.execute(_ORDER_ITEMS)
        store.execute(_PRODUCTS)
    if feedback:
        store.execute(_FEEDBACK)
    return Extracted(orders=orders, order_items=items, feedback=feedback)
