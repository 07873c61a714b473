"""Errors of the segments room: each names the field, token or audience to blame."""

from __future__ import annotations

from typing import Any

from cxlens.errors import InvalidInputError


class ExpressionError(InvalidInputError):
    """An audience expression that cannot be read or compiled.

    The message points at the offending token: its 0-based ``position`` in the text, the ``token``
    itself, what was expected, and (for a misspelt field) the closest known name. ``str(error)``
    carries a caret line under the expression so a terminal shows exactly where the problem is.
    """

    code = "invalid_expression"

    def __init__(self, message: str, *, expression: str, position: int, token: str | None = None,
                 suggestion: str | None = None, **details: Any) -> None:
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        where = f" (position {position})"
        caret = f"\n  {expression}\n  {' ' * position}^"
        super().__init__(f"{message}{where}{hint}{caret}", position=position, token=token,
                         suggestion=suggestion, **details)
        self.position = position
        self.token = token
        self.suggestion = suggestion
