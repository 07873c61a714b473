"""Console users: create, list, change, and sign in (with lockout after repeated failures).

``create_user(store, email, password, role)`` is the public entry point other rooms call (the demo
creates its admin with it); keep its signature stable.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cxlens.errors import AuthenticationError, ConflictError, InvalidInputError, NotFoundError
from cxlens.store import Store
from cxlens.web.auth import ROLES, ConsoleConfig, hash_password, needs_rehash, verify_password

_USER_COLUMNS = "user_id, email, role, created_at, disabled_at, last_login_at"


@dataclass(frozen=True)
class ConsoleUser:
    user_id: str
    email: str
    role: str
    created_at: datetime
    disabled_at: datetime | None = None
    last_login_at: datetime | None = None


class AccountLockedError(AuthenticationError):
    """Too many failed sign-ins for one e-mail; ``retry_after`` seconds until it opens again."""

    code = "account_locked"
    http_status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _email_hash(email: str) -> str:
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(ROLES)}, not {role!r}", field="role")


def _check_password(password: str, config: ConsoleConfig) -> None:
    if len(password) < config.min_password_length:
        raise InvalidInputError(
            f"the password must have at least {config.min_password_length} characters", field="password"
        )


def create_user(
    store: Store, email: str, password: str, role: str, config: ConsoleConfig | None = None
) -> ConsoleUser:
    """Add a console user; the password is stored only as an argon2id hash."""
    config = config or ConsoleConfig()
    email = normalize_email(email)
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise InvalidInputError("enter an e-mail address such as ana@example.com", field="email")
    _check_role(role)
    _check_password(password, config)
    if store.scalar("SELECT count(*) FROM console_users WHERE email = ?", [email]):
        raise ConflictError("a console user with this e-mail already exists", field="email")
    user = ConsoleUser(
        user_id="usr_" + secrets.token_hex(8), email=email, role=role, created_at=datetime.now(UTC)
    )
    store.execute(
        "INSERT INTO console_users (user_id, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)",
        [user.user_id, user.email, hash_password(password), user.role, user.created_at],
    )
    return user


def list_users(store: Store) -> list[ConsoleUser]:
    rows = store.fetchall(f"SELECT {_USER_COLUMNS} FROM console_users ORDER BY created_at")
    return [ConsoleUser(*row) for row in rows]


def get_user(store: Store, user_id: str) -> ConsoleUser:
    row = store.fetchone(f"SELECT {_USER_COLUMNS} FROM console_users WHERE user_id = ?", [user_id])
    if row is None:
        raise NotFoundError(f"no console user with id {user_id!r}", user_id=user_id)
    return ConsoleUser(*row)


def set_role(store: Store, user_id: str, role: str) -> ConsoleUser:
    _check_role(role)
    get_user(store, user_id)
    store.execute("UPDATE console_users SET role = ? WHERE user_id = ?", [role, user_id])
    return get_user(store, user_id)


def find_user(store: Store, email: str) -> ConsoleUser | None:
    row = store.fetchone(f"SELECT {_USER_COLUMNS} FROM console_users WHERE email = ?",
                         [normalize_email(email)])
    return ConsoleUser(*row) if row else None


def set_password(store: Store, user_id: str, password: str, config: ConsoleConfig | None = None
                 ) -> ConsoleUser:
    """Replace a user's password; their open sessions end, so the old password's sessions die too."""
    _check_password(password, config or ConsoleConfig())
    get_user(store, user_id)
    store.execute("UPDATE console_users SET password_hash = ? WHERE user_id = ?",
                  [hash_password(password), user_id])
    store.execute("DELETE FROM console_sessions WHERE user_id = ?", [user_id])
    return get_user(store, user_id)


def set_disabled(store: Store, user_id: str, disabled: bool) -> ConsoleUser:
    """Disable (or re-enable) a user; disabling also ends their sessions at once."""
    get_user(store, user_id)
    store.execute(
        "UPDATE console_users SET disabled_at = CASE WHEN ? THEN coalesce(disabled_at, now()) END "
        "WHERE user_id = ?",
        [disabled, user_id],
    )
    if disabled:
        store.execute("DELETE FROM console_sessions WHERE user_id = ?", [user_id])
    return get_user(store, user_id)


def authenticate(
    store: Store, email: str, password: str, config: ConsoleConfig | None = None, now: datetime | None = None
) -> ConsoleUser:
    """Check a sign-in; raises ``AccountLockedError`` after too many recent failures.

    Failures are counted per e-mail (known or not, so lockout does not reveal which accounts exist)
    within ``lockout_minutes``; a success clears them.
    """
    config = config or ConsoleConfig()
    now = now or datetime.now(UTC)
    digest = _email_hash(email)
    window_start = now - timedelta(minutes=config.lockout_minutes)
    recent = store.fetchone(
        "SELECT count(*), max(failed_at) FROM console_login_failures WHERE email_hash = ? AND failed_at > ?",
        [digest, window_start],
    )
    if recent and recent[0] >= config.lockout_failures:
        opens_at = recent[1] + timedelta(minutes=config.lockout_minutes)
        wait = max(1.0, (opens_at - now).total_seconds())
        raise AccountLockedError(
            f"too many failed sign-ins: this account is locked for {int(wait // 60) + 1} more minute(s)",
            retry_after=wait,
        )
    row = store.fetchone(
        f"SELECT {_USER_COLUMNS}, password_hash FROM console_users WHERE email = ?", [normalize_email(email)]
    )
    stored_hash = row[-1] if row else None
    # verify_password is False without a hash; the explicit None test tells mypy so too.
    if (not verify_password(stored_hash, password) or stored_hash is None or row is None
            or row[4] is not None):
        store.execute("INSERT INTO console_login_failures VALUES (?, ?)", [digest, now])
        raise AuthenticationError("e-mail or password is not right (or the account is disabled)")
    store.execute("DELETE FROM console_login_failures WHERE email_hash = ?", [digest])
    rehash = needs_rehash(stored_hash)
    updates = "last_login_at = ?" + (", password_hash = ?" if rehash else "")
    params = [now, *([hash_password(password)] if rehash else []), row[0]]
    store.execute(f"UPDATE console_users SET {updates} WHERE user_id = ?", params)
    return ConsoleUser(*row[:-1])
