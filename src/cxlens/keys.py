"""API keys: write keys for collection, admin keys (Bearer tokens) for the read/admin API.

A secret is 32 random bytes, shown once; the store keeps only its SHA-256. A slow password hash
(bcrypt, scrypt) protects low-entropy human passwords; for 256-bit random secrets a plain hash is
already infeasible to invert and keeps per-request authentication in microseconds.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cxlens.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from cxlens.store import Store

KeyKind = Literal["write", "admin"]
KEY_KINDS: tuple[KeyKind, ...] = ("write", "admin")
_PREFIX = {"write": "wk_", "admin": "ak_"}
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    kind: KeyKind
    name: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _key_name(name: str) -> str:
    """A key's name, trimmed: it becomes the ``source`` of every event sent with the key and a cell
    of every key list, so it is one short line of printable text."""
    name = name.strip()
    if not name:
        raise InvalidInputError("a key needs a non-empty name", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"a key name is at most {MAX_NAME_LENGTH} characters, not {len(name)}",
                                field="name")
    if not name.isprintable():
        raise InvalidInputError("a key name must be printable characters (no newlines, tabs or control "
                                f"characters): {name[:40]!r}", field="name")
    return name


def create_key(store: Store, kind: str, name: str) -> CreatedKey:
    if kind not in KEY_KINDS:
        raise InvalidInputError(f"key kind must be one of {', '.join(KEY_KINDS)}, not {kind!r}",
                                field="kind")
    name = _key_name(name)
    secret = _PREFIX[kind] + secrets.token_urlsafe(32)
    key = ApiKey(key_id="key_" + secrets.token_hex(8), kind=kind, name=name,
                 created_at=datetime.now(UTC))
    store.execute(
        "INSERT INTO api_keys (key_id, kind, name, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        [key.key_id, key.kind, key.name, hash_secret(secret), key.created_at],
    )
    return CreatedKey(key=key, secret=secret)


def list_keys(store: Store) -> list[ApiKey]:
    rows = store.fetchall(
        "SELECT key_id, kind, name, created_at, revoked_at FROM api_keys ORDER BY created_at"
    )
    return [ApiKey(*row) for row in rows]


def revoke_key(store: Store, key_id: str) -> ApiKey:
    row = store.fetchone(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = ? "
        "RETURNING key_id, kind, name, created_at, revoked_at",
        [key_id],
    )
    if row is None:
        raise NotFoundError(f"no key with id {key_id!r}; `cxlens keys list` shows them", key_id=key_id)
    return ApiKey(*row)


_ARTICLE: dict[KeyKind, str] = {"write": "a", "admin": "an"}
_HOW_SENT: dict[KeyKind, str] = {
    "write": "a write key, sent as the HTTP Basic user name or as `writeKey` in the body",
    "admin": "an admin key, sent as `Authorization: Bearer ak_…`",
}


class KeyRing:
    """Authenticates secrets against the store, remembering answers for ``ttl`` seconds.

    The cache keeps collection off the database on the hot path; revocation takes effect within
    ``ttl`` seconds.
    """

    def __init__(self, store: Store, ttl: float = 5.0) -> None:
        self._store = store
        self._ttl = ttl
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def authenticate(self, secret: str | None, kind: KeyKind) -> ApiKey:
        """The live key of ``kind`` for ``secret``: no or an unknown key is 401, the wrong kind 403."""
        if not secret:
            raise AuthenticationError(f"missing {kind} key: this call needs {_HOW_SENT[kind]}")
        key = self._lookup(hash_secret(secret))
        if key is None or key.revoked_at is not None:
            raise AuthenticationError(f"unknown or revoked {kind} key")
        if key.kind != kind:
            raise PermissionDeniedError(
                f"{_ARTICLE[key.kind]} {key.kind} key cannot be used here; this call needs {_HOW_SENT[kind]}"
            )
        return key

    def _lookup(self, digest: str) -> ApiKey | None:
        import time

        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        row = self._store.fetchone(
            "SELECT key_id, kind, name, created_at, revoked_at FROM api_keys WHERE secret_hash = ?",
            [digest],
        )
        key = ApiKey(*row) if row else None
        with self._lock:
            self._cache[digest] = (now, key)
        return key
