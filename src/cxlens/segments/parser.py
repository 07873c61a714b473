"""The audience language: a hand-written recursive-descent parser producing a small AST.

Grammar (keywords are case-insensitive; ``and`` binds tighter than ``or``; ``not`` tightest)::

    expression := disjunction end
    disjunction:= conjunction ("or" conjunction)*
    conjunction:= negation ("and" negation)*
    negation   := "not" negation | primary
    primary    := "(" disjunction ")" | predicate
    predicate  := field                                   -- the field is true
                | field op literal                        -- op: = == != <> < <= > >=
                | field ["not"] "in" "[" literal ("," literal)* "]"
                | field ["not"] "contains" literal
                | field "is" ["not"] "null"
    field      := NAME ("." NAME)*                        -- clv_12m, traits.plan, consent.marketing
    literal    := NUMBER | STRING | DATE | "true" | "false"

Why hand-written rather than a parser library such as lark: the grammar is a dozen lines, the
parser is the only place errors are produced, and owning it lets every error name the exact token,
its position and what would have been valid there — without a new dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from cxlens.segments.exceptions import ExpressionError
from cxlens.segments.lexer import Token, tokenize

Literal = int | float | str | bool | datetime
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
MAX_DEPTH = 64


@dataclass(frozen=True)
class Field:
    """A dotted name as written (``traits.plan``), and where it starts in the text."""

    parts: tuple[str, ...]
    position: int

    @property
    def name(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Truthy:
    field: Field


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str
    value: Literal
    position: int


@dataclass(frozen=True)
class InList:
    field: Field
    values: tuple[Literal, ...]
    negated: bool
    position: int


@dataclass(frozen=True)
class Contains:
    field: Field
    value: Literal
    negated: bool
    position: int


@dataclass(frozen=True)
class IsNull:
    field: Field
    negated: bool


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


Node = Truthy | Compare | InList | Contains | IsNull | Not | BoolOp


def _describe(token: Token) -> str:
    return "the end of the expression" if token.kind == "end" else repr(token.text)


def _date(text: str) -> datetime:
    """A date literal as a UTC datetime; a bare date means midnight UTC."""
    moment = datetime.fromisoformat(text.replace(" ", "T"))
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return moment.astimezone(UTC)
    return datetime.combine(date.fromisoformat(text[:10]), moment.time(), tzinfo=UTC)


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = tokenize(expression)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def error(self, message: str, token: Token | None = None) -> ExpressionError:
        token = token or self.token
        return ExpressionError(message, expression=self.expression, position=token.position,
                               token=token.text or None)

    def take(self, *kinds: str) -> Token | None:
        if self.token.kind in kinds:
            token = self.token
            self.index += 1
            return token
        return None

    def expect(self, kind: str, what: str, after: str) -> Token:
        token = self.take(kind)
        if token is None:
            raise self.error(f"expected {what} {after}, found {_describe(self.token)}")
        return token

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise self.error("the expression is empty: write a condition such as `frequency > 3`")
        node = self.disjunction()
        if self.token.kind != "end":
            hint = ("; join conditions with `and` or `or`" if self.token.kind in ("name", "not", "(")
                    else "")
            raise self.error(f"unexpected {_describe(self.token)}{hint}")
        return node

    def disjunction(self) -> Node:
        operands = [self.conjunction()]
        while self.take("or"):
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def conjunction(self) -> Node:
        operands = [self.negation()]
        while self.take("and"):
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def negation(self) -> Node:
        if self.take("not"):
            return Not(self.negation())
        return self.primary()

    def primary(self) -> Node:
        opening = self.take("(")
        if opening is None:
            return self.predicate()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"parentheses nest deeper than {MAX_DEPTH} levels", opening)
        node = self.disjunction()
        if self.take(")") is None:
            raise self.error(f"expected ')' to close the '(' at position {opening.position}, "
                             f"found {_describe(self.token)}")
        self.depth -= 1
        return node

    def field(self) -> Field:
        token = self.token
        if token.kind != "name":
            found = _describe(token)
            if token.kind in ("and", "or", "in", "contains", "is", "null", "true", "false"):
                found = f"the keyword {token.text!r}"
            raise self.error(f"expected a field name (such as clv_12m or traits.plan), found {found}")
        self.index += 1
        parts = [str(token.value)]
        while self.take("."):
            parts.append(str(self.expect("name", "a name", f"after '{'.'.join(parts)}.'").value))
        return Field(tuple(parts), token.position)

    def literal(self, after: str, field: Field) -> Literal:
        token = self.token
        if token.kind in ("number", "string"):
            self.index += 1
            return token.value  # type: ignore[return-value]
        if token.kind in ("true", "false"):
            self.index += 1
            return token.kind == "true"
        if token.kind == "date":
            self.index += 1
            try:
                return _date(token.text)
            except ValueError:
                raise self.error(f"{token.text!r} is not a valid date or time", token) from None
        if token.kind == "null":
            raise self.error(f"null is not a value to compare with; write `{field.name} is null` "
                             f"(or `is not null`)", token)
        if token.kind == "name":
            raise self.error(f"expected a value after {after!r}, found the name {token.text!r}; "
                             f"quote text: \"{token.text}\"", token)
        raise self.error(f"expected a value (number, \"text\", date, true or false) after {after!r}, "
                         f"found {_describe(token)}")

    def predicate(self) -> Node:
        field = self.field()
        token = self.token
        if token.kind == "op":
            self.index += 1
            return Compare(field, str(token.value), self.literal(token.text, field), token.position)
        if token.kind == "is":
            self.index += 1
            negated = self.take("not") is not None
            self.expect("null", "null", f"after 'is{' not' if negated else ''}'")
            return IsNull(field, negated)
        negated = False
        if token.kind == "not" and self.tokens[self.index + 1].kind in ("in", "contains"):
            self.index += 1
            negated = True
        if self.take("in"):
            return InList(field, self.values(field), negated, token.position)
        if self.take("contains"):
            return Contains(field, self.literal("contains", field), negated, token.position)
        return Truthy(field)

    def values(self, field: Field) -> tuple[Literal, ...]:
        self.expect("[", "'['", "after 'in'")
        if self.token.kind == "]":
            raise self.error("the list after 'in' is empty: give at least one value")
        values = [self.literal("[", field)]
        while self.take(","):
            values.append(self.literal(",", field))
        if self.take("]") is None:
            raise self.error(f"expected ',' or ']' in the list, found {_describe(self.token)}")
        return tuple(values)


def parse(expression: str) -> Node:
    """Parse an audience expression into its AST; raises :class:`ExpressionError` with the position."""
    return _Parser(expression).parse()


def fields(node: Node) -> list[Field]:
    """Every field a tree mentions, in the order written."""
    if isinstance(node, BoolOp):
        return [f for operand in node.operands for f in fields(operand)]
    if isinstance(node, Not):
        return fields(node.operand)
    return [node.field]
