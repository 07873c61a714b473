"""Tokens of the audience language.

The lexer is a single master regular expression: every token kind is one named group, tried in
order, so a date (``2024-05-01``) is recognised before a number and ``>=`` before ``>``. Keywords are
case-insensitive names. Anything the expression does not match is reported at its position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cxlens.segments.exceptions import ExpressionError

MAX_EXPRESSION_CHARS = 4000
KEYWORDS = frozenset({"and", "or", "not", "in", "contains", "is", "null", "true", "false"})

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<date>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<>|<=|>=|=|<|>)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[()\[\],.])
""", re.VERBOSE)
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Token:
    """One token: its ``kind`` (keyword tokens use the keyword as kind), raw ``text``, decoded
    ``value`` (strings unquoted, numbers as float/int) and 0-based ``position``."""

    kind: str
    text: str
    value: object
    position: int


def _unquote(text: str) -> str:
    return _ESCAPE.sub(lambda m: m.group(1), text[1:-1])


def _number(text: str) -> int | float:
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def tokenize(expression: str) -> list[Token]:
    """Split ``expression`` into tokens, ending with an ``end`` token at its length."""
    if not isinstance(expression, str):
        raise ExpressionError("the expression must be a string", expression=str(expression), position=0)
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"the expression is {len(expression)} characters long; the limit is "
                              f"{MAX_EXPRESSION_CHARS}", expression=expression[:60] + "...", position=0)
    tokens: list[Token] = []
    pos = 0
    while pos < len(expression):
        match = _TOKEN.match(expression, pos)
        if match is None:
            char = expression[pos]
            what = "an unterminated string" if char in "\"'" else f"unexpected character {char!r}"
            raise ExpressionError(f"{what}", expression=expression, position=pos, token=char)
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "name" and text.lower() in KEYWORDS:
            tokens.append(Token(text.lower(), text, text.lower(), pos))
        elif kind == "string":
            tokens.append(Token(kind, text, _unquote(text), pos))
        elif kind == "number":
            tokens.append(Token(kind, text, _number(text), pos))
        elif kind == "op":
            tokens.append(Token(kind, text, {"==": "=", "<>": "!="}.get(text, text), pos))
        elif kind == "punct":
            tokens.append(Token(text, text, text, pos))
        elif kind != "ws":
            tokens.append(Token(kind, text, text, pos))
        pos = match.end()
    tokens.append(Token("end", "", None, len(expression)))
    return tokens
