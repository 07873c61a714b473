"""Errors of the collect stage; each says whether the client should retry."""

from __future__ import annotations

from cxlens.errors import CxlensError, InvalidInputError


class MalformedJsonError(InvalidInputError):
    """The body is not JSON (or not the JSON object the endpoint expects); retrying cannot help."""

    code = "malformed_json"


class BadEncodingError(InvalidInputError):
    """The body claims an encoding it does not have (for example broken gzip)."""

    code = "bad_encoding"


class InvalidBatchError(InvalidInputError):
    """The request is JSON but not a batch we can read (for example ``batch`` is not a list)."""

    code = "invalid_batch"


class AllMessagesRejectedError(InvalidInputError):
    """Every message of the request was invalid; each is recorded in ``rejected_events``."""

    code = "all_rejected"


class WalUnavailableError(CxlensError):
    """The write-ahead log cannot take writes (disk full, shutting down); the client should retry."""

    http_status = 503
    exit_code = 75
    code = "collector_unavailable"
    retryable = True
