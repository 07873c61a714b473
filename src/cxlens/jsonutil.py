"""JSON in and out, fast (orjson), with the types cxlens uses (Decimal, datetime, numpy, Path)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    if hasattr(value, "item"):  # numpy scalars orjson does not know
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot serialize {type(value).__name__} to JSON")


def dumps(value: Any, *, indent: bool = False) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTIONS | (orjson.OPT_INDENT_2 if indent else 0))


def dumps_str(value: Any, *, indent: bool = False) -> str:
    return dumps(value, indent=indent).decode()


loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError
