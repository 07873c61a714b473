"""Roles, permissions and password hashing for console users.

Passwords are hashed with argon2id (argon2-cffi, RFC 9106 parameters): people choose low-entropy
passwords, so the hash must be slow and memory-hard to resist offline guessing — unlike API keys
(``cxlens.keys``), whose 256-bit random secrets only need a fast hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

Role = Literal["admin", "analyst", "marketer", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "analyst", "marketer", "viewer")

# What each role may do besides looking. A viewer only looks; only admins manage keys and users.
# Rooms that add console pages with actions add their permission here (one line per permission).
PERMISSIONS: dict[str, frozenset[Role]] = {
    "view": frozenset(ROLES),
    "privacy.export": frozenset({"admin", "analyst"}),
    "privacy.erase": frozenset({"admin", "analyst"}),
    "keys.manage": frozenset({"admin"}),
    "users.manage": frozenset({"admin"}),
    "voc.followup": frozenset({"admin", "analyst", "marketer"}),
}


def allowed(role: str, permission: str) -> bool:
    """True when ``role`` holds ``permission``; unknown permissions are denied."""
    return role in PERMISSIONS.get(permission, frozenset())


@dataclass(frozen=True)
class ConsoleConfig:
    """Security knobs of the console (defaults follow OWASP's authentication guidance)."""

    session_hours: float = field(default=12.0, metadata={"doc": "A session lasts this long."})
    lockout_failures: int = field(default=5, metadata={"doc": "Failed sign-ins before lockout."})
    lockout_minutes: float = field(default=15.0, metadata={"doc": "Window and length of a lockout."})
    min_password_length: int = field(default=12, metadata={"doc": "Shortest accepted password."})


_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password
# and response times do not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("cxlens-timing-equalizer")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password`` against a stored hash (or a dummy one, to keep timing uniform)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's defaults."""
    return _hasher.check_needs_rehash(password_hash)
