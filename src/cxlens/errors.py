"""The one error hierarchy. Every error says what went wrong and what to do next.

Faces translate errors mechanically: ``http_status`` for the API, ``exit_code`` for the CLI.
``retryable`` tells a caller whether trying again can help (transient) or not (terminal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# pydantic's error types for "not an object" where a model or a dict was expected
_NOT_AN_OBJECT = frozenset({"model_type", "model_attributes_type", "dict_type"})


class CxlensError(Exception):
    """Root of every error cxlens raises on purpose."""

    http_status = 500
    exit_code = 1
    code = "internal_error"
    retryable = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ConfigError(CxlensError):
    """Settings that cannot be used as given."""

    code = "invalid_config"
    exit_code = 78  # EX_CONFIG


class InvalidInputError(CxlensError):
    """The caller sent something we cannot accept; the message names the field, row or token."""

    http_status = 400
    exit_code = 2
    code = "invalid_input"


class PayloadTooLargeError(InvalidInputError):
    http_status = 413
    code = "payload_too_large"


class UnsupportedMediaError(InvalidInputError):
    http_status = 415
    code = "unsupported_media_type"


class AuthenticationError(CxlensError):
    http_status = 401
    exit_code = 3
    code = "unauthorized"


class PermissionDeniedError(CxlensError):
    http_status = 403
    exit_code = 3
    code = "forbidden"


class NotFoundError(CxlensError):
    http_status = 404
    exit_code = 4
    code = "not_found"


class ConflictError(CxlensError):
    http_status = 409
    exit_code = 5
    code = "conflict"


class RateLimitedError(CxlensError):
    """Too much too fast; ``retry_after`` seconds is when trying again will work."""

    http_status = 429
    exit_code = 75  # EX_TEMPFAIL
    code = "rate_limited"
    retryable = True

    def __init__(self, message: str, retry_after: float, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class StoreBusyError(CxlensError):
    """Another process holds the store (for example a running `cxlens serve`)."""

    http_status = 503
    exit_code = 75
    code = "store_busy"
    retryable = True


class MissingDependencyError(CxlensError):
    """An optional dependency is needed; the message carries the exact install line."""

    exit_code = 78
    code = "missing_dependency"

    def __init__(self, package: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional package {package!r}: pip install {package}",
            package=package,
        )


class ModelNotFittedError(CxlensError):
    """A model was asked for results before ``fit``."""

    code = "not_fitted"
    http_status = 409
    exit_code = 5


def validation_problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """pydantic's (or FastAPI's) validation errors as ``{"field", "message"}`` a caller can act on.

    A field is its dotted location without FastAPI's leading ``body``. A problem with the body as a
    whole has no location left (or, for JSON that does not parse, the offset FastAPI puts there,
    which read as a field "0"): it is named ``body``, and says what the body must be.
    """
    problems = []
    for error in errors:
        loc = tuple(error["loc"])
        loc = loc[1:] if loc[:1] == ("body",) else loc
        if error["type"] == "json_invalid":
            problems.append({"field": "body", "message": "the body is not valid JSON"})
        elif not loc:
            message = "the body must be a JSON object" if error["type"] in _NOT_AN_OBJECT else error["msg"]
            problems.append({"field": "body", "message": message})
        else:
            problems.append({"field": ".".join(str(p) for p in loc), "message": error["msg"]})
    return problems
