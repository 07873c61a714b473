"""The JSON response every route uses: orjson with cxlens' types (Decimal, datetime, numpy)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import JSONResponse

from cxlens import jsonutil
from cxlens.errors import CxlensError, RateLimitedError

log = logging.getLogger(__name__)


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return jsonutil.dumps(content)


def error_response(exc: CxlensError, method: str, path: str) -> JSON:
    """The answer to a domain error: its status, its JSON body and, for 429, ``Retry-After``.

    Shared by the app's exception handler and the collect endpoints (which bypass FastAPI's routing).
    """
    headers = {}
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if exc.http_status >= 500:
        log.error("%s on %s %s: %s", exc.code, method, path, exc.message)
    return JSON(exc.to_dict(), status_code=exc.http_status, headers=headers)
