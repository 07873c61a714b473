"""The JSON response every route uses: orjson with cxlens' types (Decimal, datetime, numpy)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from cxlens import jsonutil


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return jsonutil.dumps(content)
