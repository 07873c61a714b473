"""The audience language: tokens, grammar, precedence, and errors that point at the problem."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cxlens.segments.compiler import FieldSpec, compile_node
from cxlens.segments.exceptions import ExpressionError
from cxlens.segments.lexer import tokenize
from cxlens.segments.parser import (
    BoolOp,
    Compare,
    Contains,
    InList,
    IsNull,
    Not,
    Truthy,
    fields,
    parse,
)

CATALOG = {
    "clv_12m": FieldSpec("computed.clv_12m", "computed", "clv_12m", "number"),
    "frequency": FieldSpec("features.frequency", "feature", "frequency", "number"),
    "traits.plan": FieldSpec("traits.plan", "trait", "plan", "string"),
    "consent.marketing": FieldSpec("consent.marketing", "consent", "marketing", "boolean"),
}


def test_tokens_carry_kind_value_and_position() -> None:
    tokens = tokenize('a.b >= -1.5e2 AND x == "q\\"x" or d < 2024-05-01T10:00Z')
    assert [(t.kind, t.value, t.position) for t in tokens] == [
        ("name", "a", 0), (".", ".", 1), ("name", "b", 2), ("op", ">=", 4), ("number", -150.0, 7),
        ("and", "and", 14), ("name", "x", 18), ("op", "=", 20), ("string", 'q"x', 23), ("or", "or", 30),
        ("name", "d", 33), ("op", "<", 35), ("date", "2024-05-01T10:00Z", 37), ("end", None, 54)]


def test_and_binds_tighter_than_or_and_not_tightest() -> None:
    tree = parse("a or b and not c")
    assert isinstance(tree, BoolOp) and tree.op == "or"
    right = tree.operands[1]
    assert isinstance(right, BoolOp) and right.op == "and" and isinstance(right.operands[1], Not)
    grouped = parse("(a or b) and c")
    assert isinstance(grouped, BoolOp) and grouped.op == "and"
    assert isinstance(grouped.operands[0], BoolOp) and grouped.operands[0].op == "or"


def test_every_predicate_form() -> None:
    tree = parse('x = 1 and t.p in ["a", "b"] and t.p not in [1, 2] and tags contains "vip" and '
                 'tags not contains "x" and y is null and y is not null and z and d >= 2024-01-31 '
                 'and f != false')
    assert isinstance(tree, BoolOp)
    a, b, c, d, e, f, g, h, i, j = tree.operands
    assert a == Compare(a.field, "=", 1, 2)
    assert isinstance(b, InList) and b.values == ("a", "b") and not b.negated
    assert isinstance(c, InList) and c.negated and c.values == (1, 2)
    assert isinstance(d, Contains) and d.value == "vip" and not d.negated
    assert isinstance(e, Contains) and e.negated
    assert isinstance(f, IsNull) and not f.negated and isinstance(g, IsNull) and g.negated
    assert isinstance(h, Truthy) and h.field.name == "z"
    assert isinstance(i, Compare) and i.value == datetime(2024, 1, 31, tzinfo=UTC)
    assert isinstance(j, Compare) and j.value is False
    assert [f.name for f in fields(tree)][:2] == ["x", "t.p"]


def test_keywords_are_case_insensitive() -> None:
    assert parse("A AND NOT B") == parse("A and not B")


@pytest.mark.parametrize(("text", "position", "token", "message"), [
    ("clv_12m > and x", 10, "and", "expected a value"),
    ("x > 1 y", 6, "y", "join conditions with `and` or `or`"),
    ("(a > 1", 6, None, "expected ')' to close the '(' at position 0"),
    ("a in []", 6, "]", "list after 'in' is empty"),
    ("a = null", 4, "null", "write `a is null`"),
    ('a > "open', 4, '"', "unterminated string"),
    ("a $ 3", 2, "$", "unexpected character '$'"),
    ("a.b. > 1", 5, ">", "expected a name after 'a.b.'"),
    ("x = pro", 4, "pro", 'quote text: "pro"'),
    ("", 0, None, "the expression is empty"),
    ("and x", 0, "and", "found the keyword 'and'"),
    ("d > 2024-02-30", 4, "2024-02-30", "not a valid date"),
    ("a in [1, 'b'", 12, None, "expected ',' or ']'"),
])
def test_parse_errors_name_position_and_token(text: str, position: int, token: str | None,
                                               message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    error = info.value
    assert (error.position, error.token) == (position, token)
    assert message in error.message
    assert error.message.endswith(f"\n  {text}\n  {' ' * position}^")
    assert error.http_status == 400 and error.code == "invalid_expression"


def _compile_error(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        compile_node(parse(text), text, CATALOG)
    return info.value


def test_unknown_fields_get_a_suggestion() -> None:
    error = _compile_error("clv_12 > 200")
    assert "unknown field 'clv_12'" in error.message and error.suggestion == "clv_12m"
    assert "did you mean 'clv_12m'?" in error.message
    assert _compile_error("traits.plna = 'x'").suggestion == "traits.plan"
    assert _compile_error("frequency > 1 and consent.marketng").suggestion == "consent.marketing"
    assert _compile_error("frequency > 1 and consent.marketng").position == 18
    assert "dotted name starts with one of" in _compile_error("foo.bar = 1").message


def test_features_named_in_the_catalogue_ask_for_a_build() -> None:
    error = _compile_error("recency_days < 30")
    assert "cxlens segments build" in error.message


@pytest.mark.parametrize(("text", "message"), [
    ('frequency = "high"', "field 'features.frequency' is a number; it cannot be compared with the string"),
    ("traits.plan > 3", "holds string values; it cannot be compared with the number"),
    ("frequency", "is a number, not true/false: compare it"),
    ("consent.marketing > true", "true/false can only be compared with = or !="),
    ('traits.plan in ["a", 1]', "the list mixes number and string values"),
    ("clv_12m contains 'x'", "contains needs text or a list"),
    ("traits.plan contains 3", "contains takes text"),
])
def test_type_errors_say_what_would_work(text: str, message: str) -> None:
    assert message in _compile_error(text).message


def test_values_are_parameters_never_sql_text() -> None:
    text = "traits.plan = \"x'; DROP TABLE profiles; --\" and clv_12m > 5"
    compiled = compile_node(parse(text), text, CATALOG)
    assert "DROP" not in compiled.from_sql + compiled.where_sql
    assert "x'; DROP TABLE profiles; --" in compiled.params.values()
    assert set(compiled.params.values()) >= {"plan", "clv_12m", 5}
