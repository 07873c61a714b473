"""Compile an audience AST to one parameterized SQL query over the per-customer table.

The per-customer table is assembled per query from what the expression mentions, one LEFT JOIN per
field source onto the spine of all profiles:

==================  =====================================================  ======================
written as          read from                                              kind
==================  =====================================================  ======================
``frequency``       ``segment_features`` (the features snapshot that        number
``features.x``      ``cxlens segments build`` writes)
``clv_12m``         ``computed_traits`` (bare name when no feature has it)  from the stored JSON
``computed.x``
``traits.plan``     ``traits``                                             from the stored JSON
``consent.x``       ``consent_current`` (latest choice, else the default)   boolean
``customer_id``     ``profiles``                                           string
==================  =====================================================  ======================

Reading traits live (rather than from a copy made at build time) means an audience sees a trait the
moment it is written. Every value in the text becomes a ``$pN`` parameter and every identifier comes
from the catalogue of known fields (quoted), so no text from the expression reaches the SQL.

Logic is two-valued: a condition on a missing value is false (``clv_12m > 200`` and
``clv_12m != 200`` both exclude people without ``clv_12m``), so ``not`` is the exact complement.
``x not in [...]`` and ``x not contains ...`` mean exactly ``not (x in [...])`` — they include people
without ``x``. ``is null`` asks for missing values.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cxlens.errors import InvalidInputError
from cxlens.features.catalog import CATALOG as FEATURE_CATALOG
from cxlens.privacy.consent import LATEST_GRANTED
from cxlens.segments.exceptions import ExpressionError
from cxlens.segments.parser import (
    BoolOp,
    Compare,
    Contains,
    Field,
    InList,
    IsNull,
    Literal,
    Node,
    Not,
    Truthy,
    fields,
    parse,
)
from cxlens.store import Store

FEATURES_TABLE = "segment_features"
KIND_SAMPLE = 10_000
LENIENT = ("mixed", "null", "json")  # kinds that may hold anything: values are read with TRY_CAST
PURPOSES = ("analytics", "personalization", "marketing")
PREFIXES = {"features": "feature", "computed": "computed", "traits": "trait", "consent": "consent"}
# JSON types as DuckDB's json_type names them -> the language's kinds
# Each customer's latest choice for one purpose, a refusal winning ties: the rule of the
# ``consent_current`` view (40_privacy.sql), read for one purpose without the view's cross join of
# every known customer with every purpose — four times faster at a million profiles.
# tests/segments/test_audiences.py checks the two agree.
CONSENT_CHOICES = (f"SELECT customer_id, {LATEST_GRANTED} AS value "
                   "FROM consent_events WHERE customer_id IS NOT NULL AND purpose = {purpose} "
                   "GROUP BY customer_id")
_JSON_KINDS = {"BIGINT": "number", "UBIGINT": "number", "DOUBLE": "number", "VARCHAR": "string",
               "BOOLEAN": "boolean", "ARRAY": "array", "OBJECT": "object"}


@dataclass(frozen=True)
class FieldSpec:
    """A field the language knows: its ``name`` as written, ``source`` table, ``key`` there, and
    ``kind`` (number, string, boolean, array, object or mixed)."""

    name: str
    source: str  # feature | computed | trait | consent | profile
    key: str
    kind: str


def _kind(types: set[str]) -> str:
    kinds = {_JSON_KINDS.get(t, "mixed") for t in types if t not in ("NULL", None)}
    return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "null")


def _sampled_kind(store: Store, spec: FieldSpec) -> FieldSpec:
    """A JSON field with its kind read from up to ``KIND_SAMPLE`` stored values (a full scan of a
    trait table costs more than the audience query itself)."""
    table = "computed_traits" if spec.source == "computed" else "traits"
    types = {r[0] for r in store.fetchall(
        f"SELECT DISTINCT json_type(value) FROM (SELECT value FROM {table} WHERE name = ? "
        f"LIMIT {KIND_SAMPLE})", [spec.key])}
    return replace(spec, kind=_kind(types))


def field_catalog(store: Store) -> dict[str, FieldSpec]:
    """Every field an expression may use right now, by every name it may be written as.

    Traits and computed traits have kind ``json`` here: :func:`compile_expression` reads the kind
    of the ones an expression uses.
    """
    catalog: dict[str, FieldSpec] = {"customer_id": FieldSpec("customer_id", "profile", "customer_id",
                                                              "string")}
    for purpose in PURPOSES:
        catalog[f"consent.{purpose}"] = FieldSpec(f"consent.{purpose}", "consent", purpose, "boolean")
    for source, table in (("computed", "computed_traits"), ("trait", "traits")):
        prefix = "computed" if source == "computed" else "traits"
        for (name,) in store.fetchall(f"SELECT DISTINCT name FROM {table}"):
            catalog[f"{prefix}.{name}"] = FieldSpec(f"{prefix}.{name}", source, name, "json")
            if source == "computed":
                catalog.setdefault(name, catalog[f"{prefix}.{name}"])
    for (column,) in store.fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND "
            "column_name <> 'customer_id' ORDER BY ordinal_position", [FEATURES_TABLE]):
        spec = FieldSpec(f"features.{column}", "feature", column, "number")
        catalog[f"features.{column}"] = spec
        catalog[column] = spec  # a feature wins over a computed trait of the same bare name
    return catalog


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal_kind(value: Literal) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, datetime):
        return "date"
    return "string"


def _show(value: Literal) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)


@dataclass
class CompiledAudience:
    """The FROM clause (profiles and the joins the fields need), the WHERE condition, the
    parameters of both, the fields used, and (when asked for) whether each member consents to a
    purpose as a boolean SQL expression."""

    expression: str
    from_sql: str
    where_sql: str
    params: dict[str, Any]
    fields: list[FieldSpec]
    consent_sql: str | None = None

    def select(self, columns: str = "p.customer_id") -> str:
        return f"SELECT {columns} FROM {self.from_sql} WHERE {self.where_sql}"


@dataclass
class _Compiler:
    expression: str
    catalog: dict[str, FieldSpec]
    params: dict[str, Any] = field(default_factory=dict)
    joins: dict[tuple[str, str], str] = field(default_factory=dict)
    join_sql: list[str] = field(default_factory=list)
    used: dict[str, FieldSpec] = field(default_factory=dict)
    purpose_params: dict[str, str] = field(default_factory=dict)  # consent purpose -> its parameter

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def error(self, message: str, position: int, token: str | None = None,
              suggestion: str | None = None) -> ExpressionError:
        return ExpressionError(message, expression=self.expression, position=position, token=token,
                               suggestion=suggestion)

    def resolve(self, ref: Field) -> FieldSpec:
        name = ref.name
        spec = self.catalog.get(name)
        if spec is None:
            raise self._unknown(ref)
        self.used[spec.name] = spec
        return spec

    def _unknown(self, ref: Field) -> ExpressionError:
        name = ref.name
        prefix = ref.parts[0] if len(ref.parts) > 1 else None
        if prefix is not None and prefix not in PREFIXES:
            return self.error(f"unknown field {name!r}: a dotted name starts with one of "
                              f"{', '.join(p + '.' for p in PREFIXES)}", ref.position, name)
        if prefix == "consent":
            return self.error(f"unknown consent purpose {ref.parts[-1]!r}: use "
                              f"{', '.join('consent.' + p for p in PURPOSES)}", ref.position, name,
                              _closest(name, [f"consent.{p}" for p in PURPOSES]))
        if prefix in (None, "features") and ref.parts[-1] in FEATURE_CATALOG:
            return self.error(f"the feature {ref.parts[-1]!r} is not available: build the feature "
                              "snapshot first with `cxlens segments build`", ref.position, name)
        pool = [n for n in self.catalog if prefix is None or n.startswith(prefix + ".")]
        what = {"traits": "trait", "computed": "computed trait", "features": "feature"}.get(prefix or "",
                                                                                            "field")
        return self.error(f"unknown {what} {name!r}", ref.position, name, _closest(name, pool))

    def column(self, spec: FieldSpec) -> str:
        """The SQL expression of a field's raw value (JSON for traits, typed otherwise)."""
        if spec.source == "profile":
            return "p.customer_id"
        key = (spec.source, spec.key if spec.source != "feature" else "")
        alias = self.joins.get(key)
        if alias is None:
            alias = f"j{len(self.joins)}"
            self.joins[key] = alias
            if spec.source == "feature":
                source = FEATURES_TABLE
            elif spec.source == "consent":
                self.purpose_params[spec.key] = self.param(spec.key)
                source = f"({CONSENT_CHOICES.format(purpose=self.purpose_params[spec.key])})"
            else:
                table = "computed_traits" if spec.source == "computed" else "traits"
                source = f"(SELECT customer_id, value FROM {table} WHERE name = {self.param(spec.key)})"
            self.join_sql.append(f"LEFT JOIN {source} AS {alias} ON {alias}.customer_id = p.customer_id")
        if spec.source == "consent":  # no choice recorded: the default for the purpose
            purpose = self.purpose_params[spec.key]
            default = f"(SELECT granted FROM consent_defaults WHERE purpose = {purpose})"
            return f"coalesce({alias}.value, {default}, false)"
        return f"{alias}.{_quote(spec.key)}" if spec.source == "feature" else f"{alias}.value"

    def typed(self, spec: FieldSpec, kind: str, position: int, shown: str) -> str:
        """The field's value read as ``kind``; refuses a comparison that can never be true."""
        raw = self.column(spec)
        if spec.source in ("feature", "consent", "profile"):
            native = {"boolean": "boolean", "number": "number", "string": "string"}[spec.kind]
            if native != kind:
                raise self.error(f"field {spec.name!r} is a {native}; it cannot be compared with "
                                 f"the {kind} {shown}", position, shown)
            return raw
        if spec.kind not in LENIENT and not (kind == "date" and spec.kind == "string") \
                and spec.kind != kind:
            raise self.error(f"field {spec.name!r} holds {spec.kind} values; it cannot be compared "
                             f"with the {kind} {shown}", position, shown)
        return {"number": f"TRY_CAST({raw} AS DOUBLE)", "string": f"json_extract_string({raw}, '$')",
                "boolean": f"TRY_CAST({raw} AS BOOLEAN)",
                "date": f"TRY_CAST(json_extract_string({raw}, '$') AS TIMESTAMPTZ)"}[kind]

    def compile(self, node: Node) -> str:
        if isinstance(node, BoolOp):
            joiner = f" {node.op.upper()} "
            return "(" + joiner.join(self.compile(o) for o in node.operands) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.compile(node.operand)})"
        if isinstance(node, InList | Contains) and node.negated:  # exactly `not (x in [...])`
            return f"(NOT coalesce({self.leaf(node)}, false))"
        return f"coalesce({self.leaf(node)}, false)"

    def leaf(self, node: Node) -> str:
        spec = self.resolve(node.field)  # type: ignore[union-attr]
        if isinstance(node, Truthy):
            if spec.kind != "boolean" and spec.kind not in LENIENT:
                raise self.error(f"field {spec.name!r} is a {spec.kind}, not true/false: compare it, "
                                 f"e.g. `{spec.name} > 0`", node.field.position, spec.name)
            return self.typed(spec, "boolean", node.field.position, spec.name)
        if isinstance(node, IsNull):
            raw = self.column(spec)
            test = f"{raw} IS NULL" if spec.source != "computed" and spec.source != "trait" else \
                f"({raw} IS NULL OR json_type({raw}) = 'NULL')"
            return f"(NOT {test})" if node.negated else test
        if isinstance(node, Compare):
            kind = _literal_kind(node.value)
            if kind == "boolean" and node.op not in ("=", "!="):
                raise self.error(f"true/false can only be compared with = or !=, not {node.op}",
                                 node.position, node.op)
            return f"({self.typed(spec, kind, node.position, _show(node.value))} {node.op} " \
                   f"{self.param(node.value)})"
        if isinstance(node, InList):
            kinds = {_literal_kind(v) for v in node.values}
            if len(kinds) > 1:
                raise self.error(f"the list mixes {' and '.join(sorted(kinds))} values: use one kind",
                                 node.position, "in")
            value = self.typed(spec, kinds.pop(), node.position, _show(node.values[0]))
            return f"({value} IN ({', '.join(self.param(v) for v in node.values)}))"
        if isinstance(node, Contains):
            return self.contains(spec, node)
        raise TypeError(f"unknown node {node!r}")  # unreachable: the parser makes only the above

    def contains(self, spec: FieldSpec, node: Contains) -> str:
        if not isinstance(node.value, str):
            raise self.error("contains takes text, e.g. `traits.tags contains \"vip\"`", node.position,
                             "contains")
        if spec.kind not in ("string", "array", *LENIENT):
            raise self.error(f"field {spec.name!r} is a {spec.kind}: contains needs text or a list",
                             node.position, "contains")
        raw, needle = self.column(spec), self.param(node.value)
        if spec.source == "profile":
            test = f"contains({raw}, {needle})"
        else:
            test = (f"CASE WHEN json_type({raw}) = 'ARRAY' "
                    f"THEN list_contains(json_extract_string({raw}, '$[*]'), {needle}) "
                    f"ELSE contains(json_extract_string({raw}, '$'), {needle}) END")
        return f"({test})"


def _closest(name: str, pool: list[str]) -> str | None:
    found = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return found[0] if found else None


def compile_node(node: Node, expression: str, catalog: dict[str, FieldSpec], *,
                 consent_purpose: str | None = None) -> CompiledAudience:
    """Compile a parsed tree against ``catalog`` (see :func:`field_catalog`); with
    ``consent_purpose``, also join that consent so counts and exports can filter on it."""
    compiler = _Compiler(expression, catalog)
    where = compiler.compile(node)
    consent_sql = None
    if consent_purpose is not None:
        spec = catalog[f"consent.{check_purpose(consent_purpose)}"]
        consent_sql = f"coalesce({compiler.column(spec)}, false)"
    from_sql = " ".join(["profiles AS p", *compiler.join_sql])
    return CompiledAudience(expression, from_sql, where, compiler.params, list(compiler.used.values()),
                            consent_sql)


def compile_expression(store: Store, expression: str, *,
                       consent_purpose: str | None = None) -> CompiledAudience:
    """Parse and compile ``expression`` against the fields the store holds now."""
    tree = parse(expression)
    catalog = field_catalog(store)
    for ref in fields(tree):
        spec = catalog.get(ref.name)
        if spec is not None and spec.kind == "json":
            catalog[ref.name] = _sampled_kind(store, spec)
    return compile_node(tree, expression, catalog, consent_purpose=consent_purpose)


def check_purpose(purpose: str) -> str:
    """``purpose`` if it is a consent purpose, else an error naming the valid ones."""
    if purpose not in PURPOSES:
        raise InvalidInputError(f"unknown purpose {purpose!r}: use one of {', '.join(PURPOSES)}",
                                field="purpose", suggestion=_closest(str(purpose), list(PURPOSES)))
    return purpose
