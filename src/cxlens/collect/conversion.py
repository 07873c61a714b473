"""Conversion for bulk import: one SQL statement per chunk validates every row and builds events.

The chunk (an Arrow table registered as ``_cx_chunk``) is typed (``ChunkSql``), checked (``Check``
rules: the first failing rule names the row's reason and field) and converted to ``EVENT_SCHEMA``
columns in DuckDB, vectorized, so no Python runs per row. Per kind:

- events: as they are (``type`` defaults to ``track`` when an ``event`` name is given);
- orders: ``Order Completed``; one row per order, or one row per line item grouped by ``order_id``
  into ``products[]`` (an order with any bad line is refused whole: half an order is wrong revenue);
- customers: ``identify`` with the person's traits (and consent columns as ``context.consent``);
- feedback: ``Survey Responded`` (survey_id, metric, score, comment, touchpoint);
- products: rows for the ``products`` catalogue table (no events).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cxlens.collect.channels import CHANNELS
from cxlens.collect.extract import MAX_AMOUNT, METRIC_RANGES, WHOLE_METRICS
from cxlens.collect.mapping import CAMPAIGN_FIELDS, CONSENT_FIELDS, KIND_FIELDS, ColumnMapping
from cxlens.collect.records import EVENT_SCHEMA

NUMBER_FIELDS = frozenset({"revenue", "discount", "shipping", "tax", "price", "quantity", "score"})
TIME_FIELDS = frozenset({"timestamp", "original_timestamp", "sent_at", "received_at", "updated_at"})
EVENT_TYPES = ("track", "identify", "page", "screen", "group", "alias")
TS_HINT = "use ISO 8601 such as 2024-05-01T12:00:00Z, or epoch seconds"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Check:
    """A rejection rule: when ``when`` holds, the row is refused with ``reason`` naming ``field``."""

    reason: str
    field: str
    when: str
    detail: str  # SQL string expression: the human sentence


def _shown(expr: str) -> str:
    """A raw value quoted for a message, shortened so a huge cell cannot flood the report."""
    return f"'''' || left({expr}, 60) || ''''"


class ChunkSql:
    """Builds the typed, checked view of one chunk (registered as ``_cx_chunk``) for a mapping.

    Types come from the chunk's Arrow schema, so a Parquet integer, a JSON-lines nested object and
    a CSV string all reach the same typed columns: ``raw_<field>`` (text), ``n_<field>`` (number),
    ``t_<field>`` (time) and ``o_<object>`` (JSON object).
    """

    def __init__(self, mapping: ColumnMapping, schema: Any) -> None:
        self.mapping = mapping
        self.types = {name: schema.field(name).type for name in schema.names}

    def _kind_of(self, column: str) -> str:
        import pyarrow.types as pt

        t = self.types[column]
        if pt.is_nested(t):
            return "nested"
        if pt.is_timestamp(t) or pt.is_date(t):
            return "time"
        if pt.is_integer(t) or pt.is_floating(t) or pt.is_decimal(t):
            return "number"
        if pt.is_string(t) or pt.is_large_string(t):
            return "string"
        return "other"

    def text(self, column: str | None) -> str:
        if column is None:
            return "NULL::VARCHAR"
        kind, q = self._kind_of(column), quote(column)
        if kind == "string":
            return f"NULLIF(TRIM({q}), '')"
        if kind == "nested":
            return f"to_json({q})::VARCHAR"
        return f"CAST({q} AS VARCHAR)"

    def number(self, column: str | None) -> str:
        if column is None:
            return "NULL::DOUBLE"
        return f"CAST({quote(column)} AS DOUBLE)" if self._kind_of(column) == "number" \
            else f"TRY_CAST({self.text(column)} AS DOUBLE)"

    def time(self, column: str | None) -> str:
        if column is None:
            return "NULL::TIMESTAMPTZ"
        kind, q = self._kind_of(column), quote(column)
        if kind == "time":
            tz = getattr(self.types[column], "tz", None)
            return f"CAST({q} AS TIMESTAMPTZ)" if tz else f"CAST(CAST({q} AS TIMESTAMP) AS TIMESTAMPTZ)"
        if kind == "number":
            return f"to_timestamp(CASE WHEN abs({q}) > 1e11 THEN {q} / 1000.0 ELSE {q} END)"
        text = self.text(column)
        digits = f"regexp_full_match({text}, '\\d{{9,13}}(\\.\\d+)?')"
        epoch = f"TRY_CAST(CASE WHEN {digits} THEN {text} END AS DOUBLE)"
        return (f"coalesce(TRY_CAST({text} AS TIMESTAMPTZ), "
                f"to_timestamp(CASE WHEN {epoch} > 1e11 THEN {epoch} / 1000.0 ELSE {epoch} END))")

    def value(self, column: str) -> str:
        """A column as a JSON value: typed columns keep their type, text stays text."""
        return self.text(column) if self._kind_of(column) in ("string", "other", "time") else quote(column)

    def base_object(self, column: str | None) -> str:
        if column is None:
            return "NULL::JSON"
        if self._kind_of(column) == "nested":
            return f"json_merge_patch('{{}}', to_json({quote(column)}))"  # drops null members
        return f"TRY_CAST({self.text(column)} AS JSON)"

    def object(self, name: str, extra: dict[str, str] | None = None) -> str | None:
        """``name``'s JSON: the mapped column (if any) patched with extras; None when nothing feeds it."""
        base_col = self.mapping.column(name)
        members = {key: self.value(col) for (obj, key), col in self.mapping.extras.items() if obj == name}
        members.update(extra or {})
        if base_col is None and not members:
            return None
        expr = f"coalesce(o_{name}, '{{}}'::JSON)" if base_col else "'{}'::JSON"
        if members:
            pairs = ", ".join(f"{_lit(k)}, {v}" for k, v in members.items())
            expr = f"json_merge_patch({expr}, json_object({pairs}))"
        return expr

    def typed_columns(self) -> list[str]:
        m, cols = self.mapping, ["*", "_cx_row AS _row"]
        for name in KIND_FIELDS[m.kind]:
            column = m.column(name)
            cols.append(f"{self.text(column)} AS raw_{name}")
            if name in NUMBER_FIELDS:
                cols.append(f"{self.number(column)} AS n_{name}")
            if name in TIME_FIELDS:
                cols.append(f"{self.time(column)} AS t_{name}")
        for name in ("properties", "traits", "context", "products"):
            if name in KIND_FIELDS[m.kind]:
                column = m.column(name)
                cols.append(f"{self.base_object(column)} AS o_{name}")
        return cols

    def context(self) -> str | None:
        """context, with UTM columns as ``campaign`` and consent columns as ``consent``."""
        extra: dict[str, str] = {}
        for group, key in ((CAMPAIGN_FIELDS, "campaign"), (CONSENT_FIELDS, "consent")):
            present = {f: spec[0] for f, spec in group.items() if self.mapping.has(f)}
            if not present:
                continue
            converted = {f: (f"TRY_CAST(raw_{f} AS BOOLEAN)" if key == "consent" else f"raw_{f}")
                         for f in present}
            pairs = ", ".join(f"{_lit(present[f])}, {converted[f]}" for f in present)
            any_set = " OR ".join(f"raw_{f} IS NOT NULL" for f in present)
            extra[key] = f"CASE WHEN {any_set} THEN json_object({pairs}) END"
        return self.object("context", extra)


def checked_cte(typed_columns: list[str], checks: list[Check]) -> str:
    """CTEs ``typed`` (the chunk's typed columns) and ``checked`` (those plus ``_check``, the
    number of the first failing rule; NULL for a good row). The rules run once per row, here;
    ``check_sql`` only looks their names up."""
    first = " ".join(f"WHEN {c.when} THEN {i}" for i, c in enumerate(checks))
    code = f"CASE {first} END" if checks else "NULL::INTEGER"
    return (f"typed AS (SELECT {', '.join(typed_columns)} FROM _cx_chunk), "
            f"checked AS (SELECT *, {code} AS _check FROM typed)")


def check_sql(checks: list[Check]) -> str:
    """``_reason``, ``_field`` and ``_detail`` of a row of ``checked``: the rule's names, and its
    sentence, built only for rejected rows (for every row, and with the rules evaluated three
    times, this was about a third of a chunk's conversion)."""
    if not checks:
        return "NULL::VARCHAR AS _reason, NULL::VARCHAR AS _field, NULL::VARCHAR AS _detail"
    reason = " ".join(f"WHEN {i} THEN {_lit(c.reason)}" for i, c in enumerate(checks))
    field_ = " ".join(f"WHEN {i} THEN {_lit(c.field)}" for i, c in enumerate(checks))
    detail = " ".join(f"WHEN {i} THEN {c.detail}" for i, c in enumerate(checks))
    return (f"CASE _check {reason} END AS _reason, CASE _check {field_} END AS _field, "
            f"CASE WHEN _check IS NOT NULL THEN 'row ' || _row || ': ' || (CASE _check {detail} END) "
            "END AS _detail")


def time_checks(name: str, *, required: bool) -> list[Check]:
    checks = [Check("missing_timestamp", name, f"raw_{name} IS NULL",
                    f"{_lit(f'{name} is empty; every imported row needs one')}")] if required else []
    checks.append(Check("invalid_timestamp", name, f"raw_{name} IS NOT NULL AND t_{name} IS NULL",
                        f"{name!r} || ' ' || {_shown(f'raw_{name}')} || ' is not a date-time; {TS_HINT}'"))
    return checks


def amount_checks(name: str, *, integer: bool = False) -> list[Check]:
    shown = f"{_lit(name + ' ')} || {_shown(f'raw_{name}')}"
    checks = [
        Check("invalid_number", name,
              f"raw_{name} IS NOT NULL AND (n_{name} IS NULL OR NOT isfinite(n_{name}))",
              f"{shown} || ' is not a number'"),
        Check("invalid_number", name, f"abs(n_{name}) >= {MAX_AMOUNT}",
              f"{shown} || ' is too large; amounts must be below 10^14'"),
        Check("negative_amount", name, f"n_{name} < 0",
              f"{_lit(name + ' ')} || n_{name} || ' is negative; amounts must be 0 or more'"),
    ]
    if integer:
        checks.append(Check("invalid_quantity", name, f"n_{name} IS NOT NULL AND "
                            f"(n_{name} <> floor(n_{name}) OR n_{name} = 0)",
                            f"{_lit(name + ' ')} || n_{name} || ' is not a whole number of at least 1'"))
    return checks


def identifier_check(*fields: str) -> Check:
    return Check("missing_identifier", fields[0], " AND ".join(f"raw_{f} IS NULL" for f in fields),
                 _lit(f"no identifier: {' or '.join(fields)} is needed"))


def object_check(name: str) -> Check:
    return Check("invalid_json", name, f"raw_{name} IS NOT NULL AND "
                 f"(o_{name} IS NULL OR json_type(o_{name}) <> 'OBJECT')",
                 _lit(f"{name} is not a JSON object"))


def currency_check() -> Check:
    return Check("invalid_currency", "currency",
                 "raw_currency IS NOT NULL AND NOT regexp_full_match(raw_currency, '[A-Za-z]{3}')",
                 f"'currency ' || {_shown('raw_currency')} || ' is not a 3-letter ISO 4217 code'")


# --- the kinds -------------------------------------------------------------------------------------

_TIME_COLUMNS = {"timestamp", "original_timestamp", "sent_at", "received_at"}


def _event_select(values: dict[str, str], wrap: str = "{}") -> str:
    """EVENT_SCHEMA columns from ``values`` (SQL per column; typed NULL for the rest)."""
    out = []
    for name in EVENT_SCHEMA.names:
        default = "false" if name == "anonymized" else (
            "NULL::TIMESTAMPTZ" if name in _TIME_COLUMNS else "NULL::VARCHAR")
        expr = values.get(name, default)
        out.append(f"{wrap.format(expr) if name in values else expr} AS {quote(name)}")
    return ", ".join(out)


def _message_id(kind: str, *parts: str) -> str:
    """Deterministic from the source and the row's natural key: re-imports produce the same ids."""
    joined = ", ".join(f"coalesce(CAST({p} AS VARCHAR), '')" for p in parts)
    return f"'imp-' || md5(concat_ws('|', $source, {_lit(kind)}, {joined}))"


def _channel() -> str:
    known = ", ".join(_lit(c) for c in CHANNELS)
    norm = "lower(replace(raw_channel, ' ', '_'))"
    return f"CASE WHEN {norm} IN ({known}) THEN {norm} WHEN raw_channel IS NOT NULL THEN 'other' END"


def _common(sql: ChunkSql) -> dict[str, str]:
    return {"user_id": "raw_user_id", "anonymous_id": "raw_anonymous_id", "channel": _channel(),
            "source": "$source", "sent_at": "t_sent_at", "received_at": "coalesce(t_received_at, $now)",
            "context": _text_json(sql.context())}


def _text_json(expr: str | None) -> str:
    return "NULL::VARCHAR" if expr is None else f"CAST({expr} AS VARCHAR)"


def _common_checks(sql: ChunkSql, *, timestamp_required: bool) -> list[Check]:
    checks = [identifier_check("user_id", "anonymous_id"),
              *time_checks("timestamp", required=timestamp_required),
              *time_checks("sent_at", required=False), *time_checks("received_at", required=False)]
    checks += [object_check(o) for o in ("properties", "traits", "context") if sql.mapping.has(o)]
    return checks


def _events(sql: ChunkSql) -> tuple[list[Check], dict[str, str]]:
    etype = "coalesce(lower(raw_type), CASE WHEN raw_event IS NOT NULL THEN 'track' END)"
    types = ", ".join(EVENT_TYPES)
    checks = [
        Check("unknown_type", "type",
              f"{etype} IS NULL OR {etype} NOT IN ({', '.join(map(_lit, EVENT_TYPES))})",
              f"'type ' || coalesce({_shown('raw_type')}, '(empty)') || ' is not one of {types}'"),
        Check("missing_event", "event", f"{etype} = 'track' AND raw_event IS NULL",
              _lit("a track row needs an event name")),
        *_common_checks(sql, timestamp_required=True),
        *time_checks("original_timestamp", required=False),
    ]
    properties, traits = _text_json(sql.object("properties")), _text_json(sql.object("traits"))
    values = {
        **_common(sql), "type": etype, "event": "raw_event", "timestamp": "t_timestamp",
        "original_timestamp": "coalesce(t_original_timestamp, t_timestamp)",
        "properties": properties, "traits": traits, "group_id": "raw_group_id",
        "previous_id": "raw_previous_id",
        "message_id": "coalesce(raw_message_id, " + _message_id(
            "events", etype, "raw_event", "raw_user_id", "raw_anonymous_id", "t_timestamp", properties,
            traits) + ")",
    }
    return checks, values


_ORDER_AMOUNTS = ("revenue", "discount", "shipping", "tax", "price")


def _orders(sql: ChunkSql, line_items: bool) -> tuple[list[Check], dict[str, str]]:
    checks = [Check("missing_order_id", "order_id", "raw_order_id IS NULL", _lit("order_id is empty")),
              *_common_checks(sql, timestamp_required=True),
              *(c for name in _ORDER_AMOUNTS for c in amount_checks(name)),
              *amount_checks("quantity", integer=True), currency_check()]
    members = {"order_id": "raw_order_id", "currency": "upper(raw_currency)", "discount": "n_discount",
               "shipping": "n_shipping", "tax": "n_tax", "coupon": "raw_coupon"}
    if not line_items:
        members.update(revenue="n_revenue", products="o_products")
        checks.append(Check("invalid_json", "products", "raw_products IS NOT NULL AND "
                            "(o_products IS NULL OR json_type(o_products) <> 'ARRAY')",
                            _lit("products is not a JSON array of line items")))
    values = {**_common(sql), "type": "'track'", "event": "'Order Completed'", "timestamp": "t_timestamp",
              "original_timestamp": "t_timestamp",
              "properties": _text_json(sql.object("properties", members)),
              "message_id": _message_id("orders", "raw_order_id")}
    return checks, values


def _customers(sql: ChunkSql) -> tuple[list[Check], dict[str, str]]:
    checks = [*_common_checks(sql, timestamp_required=False),
              Check("invalid_email", "email", r"raw_email IS NOT NULL AND NOT "
                    r"regexp_full_match(raw_email, '[^@\s]+@[^@\s]+\.[^@\s]+')",
                    f"'email ' || {_shown('raw_email')} || ' is not an e-mail address'")]
    checks += [Check("invalid_consent", f, f"raw_{f} IS NOT NULL AND TRY_CAST(raw_{f} AS BOOLEAN) IS NULL",
                     f"{_lit(f + ' ')} || {_shown(f'raw_{f}')} || ' is not true/false'")
               for f in CONSENT_FIELDS if sql.mapping.has(f)]
    members = {k: f"raw_{k}" for k in ("email", "phone", "first_name", "last_name", "name")}
    traits = _text_json(sql.object("traits", members))
    values = {**_common(sql), "type": "'identify'", "timestamp": "coalesce(t_timestamp, $now)",
              "original_timestamp": "coalesce(t_timestamp, $now)", "traits": traits,
              "message_id": "coalesce(raw_message_id, " + _message_id(
                  "customers", "raw_user_id", "raw_anonymous_id", traits, _common(sql)["context"]) + ")"}
    return checks, values


def _scale_text(metric: str) -> str:
    """``whole numbers 1–5`` (survey scales) or ``1–5`` (ratings), for the out-of-range sentence."""
    lo, hi = METRIC_RANGES[metric]
    return ("whole numbers " if metric in WHOLE_METRICS else "") + f"{lo}–{hi}"


def _feedback(sql: ChunkSql) -> tuple[list[Check], dict[str, str]]:
    metrics = ", ".join(map(_lit, METRIC_RANGES))
    ranges = " ".join(f"WHEN {_lit(m)} THEN n_score NOT BETWEEN {lo} AND {hi}"
                      + (" OR n_score <> round(n_score)" if m in WHOLE_METRICS else "")
                      for m, (lo, hi) in METRIC_RANGES.items())
    scales = " ".join(f"WHEN {_lit(m)} THEN {_lit(_scale_text(m))}" for m in METRIC_RANGES)
    checks = [*_common_checks(sql, timestamp_required=True),
              Check("missing_metric", "metric", "raw_metric IS NULL",
                    _lit(f"metric is empty; use one of {', '.join(METRIC_RANGES)}")),
              Check("unknown_metric", "metric", f"lower(raw_metric) NOT IN ({metrics})",
                    f"'metric ' || {_shown('raw_metric')} || ' is not one of {', '.join(METRIC_RANGES)}'"),
              Check("missing_score", "score", "raw_score IS NULL", _lit("score is empty")),
              *amount_checks("score")[:1],
              Check("out_of_range", "score", f"CASE lower(raw_metric) {ranges} END",
                    "'score ' || n_score || ' is outside the ' || lower(raw_metric) || ' scale ('"
                    f" || CASE lower(raw_metric) {scales} END || ')'")]
    members = {"survey_id": "raw_survey_id", "metric": "lower(raw_metric)", "score": "n_score",
               "comment": "raw_comment", "touchpoint": "raw_touchpoint", "response_id": "raw_response_id"}
    values = {**_common(sql), "type": "'track'", "event": "'Survey Responded'", "timestamp": "t_timestamp",
              "original_timestamp": "t_timestamp",
              "properties": _text_json(sql.object("properties", members)),
              "message_id": "coalesce(raw_message_id, " + _message_id(
                  "feedback", "coalesce(raw_response_id, concat_ws('|', raw_user_id, raw_anonymous_id, "
                  "raw_survey_id, raw_metric, raw_score, t_timestamp, raw_comment))") + ")"}
    return checks, values


def _products_query(sql: ChunkSql) -> str:
    checks = [Check("missing_product_id", "product_id", "raw_product_id IS NULL",
                    _lit("product_id is empty")),
              *amount_checks("price"), currency_check(), *time_checks("updated_at", required=False)]
    return (f"WITH {checked_cte(sql.typed_columns(), checks)} "
            f"SELECT raw_product_id AS product_id, raw_name AS name, raw_category AS category, "
            f"CAST(n_price AS DECIMAL(18, 4)) AS price, upper(raw_currency) AS currency, "
            f"{_text_json(sql.object('attributes'))} AS attributes, "
            f"coalesce(t_updated_at, $now) AS updated_at, _row, {check_sql(checks)} FROM checked")


def is_line_item_file(mapping: ColumnMapping) -> bool:
    return mapping.kind == "orders" and mapping.has("product_id", "sku", "product_name", "price")


def chunk_query(mapping: ColumnMapping, schema: Any) -> str:
    """The SQL that turns ``_cx_chunk`` into event columns plus ``_row, _reason, _field, _detail``.

    Parameters: ``$source`` (the import's source name) and ``$now`` (the import's time).
    """
    sql = ChunkSql(mapping, schema)
    if mapping.kind == "products":
        return _products_query(sql)
    line_items = is_line_item_file(mapping)
    build = {"events": lambda: _events(sql), "orders": lambda: _orders(sql, line_items),
             "customers": lambda: _customers(sql), "feedback": lambda: _feedback(sql)}
    checks, values = build[mapping.kind]()
    ctes = checked_cte(sql.typed_columns(), checks)
    if not line_items:
        return f"WITH {ctes} SELECT {_event_select(values)}, _row, {check_sql(checks)} FROM checked"
    item = ("json_merge_patch('{}', json_object('product_id', raw_product_id, 'sku', raw_sku, "
            "'name', raw_product_name, 'category', raw_category, 'price', n_price, "
            "'quantity', CAST(coalesce(n_quantity, 1) AS INTEGER)))")
    row_values = {k: f"e_{k}" for k in values}
    grouped = {k: f"arg_min(e_{k}, _row)" for k in values}
    grouped["properties"] = (
        "CAST(json_merge_patch(CAST(arg_min(e_properties, _row) AS JSON), json_object('revenue', "
        "coalesce(max(n_revenue), sum(coalesce(n_price, 0) * coalesce(n_quantity, 1))), "
        "'products', to_json(list(_item ORDER BY _row)))) AS VARCHAR)")
    return (
        f"WITH {ctes}, rows AS (SELECT *, {', '.join(f'{v} AS e_{k}' for k, v in values.items())}, "
        f"{item} AS _item, {check_sql(checks)} FROM checked), "
        f"flagged AS (SELECT *, bool_or(_reason IS NOT NULL) OVER (PARTITION BY raw_order_id) AS _bad "
        f"FROM rows) "
        f"SELECT {_event_select(grouped)}, min(_row) AS _row, NULL::VARCHAR AS _reason, "
        f"NULL::VARCHAR AS _field, NULL::VARCHAR AS _detail "
        f"FROM flagged WHERE NOT _bad GROUP BY raw_order_id "
        f"UNION ALL SELECT {_event_select(row_values)}, _row, coalesce(_reason, 'order_rejected'), "
        f"coalesce(_field, 'order_id'), coalesce(_detail, 'row ' || _row || ': another row of order ' || "
        f"raw_order_id || ' was rejected, so the whole order was') FROM flagged WHERE _bad"
    )
