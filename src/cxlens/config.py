"""Settings: typed, documented, read from ``CXLENS_*`` environment variables and an optional TOML file.

Settings are passed down explicitly (``Settings`` is an argument, never a global). Precedence, lowest
to highest: defaults, ``<data_dir>/cxlens.toml`` (or the file named by ``CXLENS_CONFIG``), environment
variables, then values given in code (for example CLI flags).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cxlens.errors import ConfigError

ENV_PREFIX = "CXLENS_"
CONFIG_FILE_NAME = "cxlens.toml"
IDENTIFIER_KINDS = ("user_id", "email", "phone", "external_id", "anonymous_id")
DEFAULT_LIMITS = {"user_id": 1, "email": 5, "phone": 5, "external_id": 10, "anonymous_id": 200}
CONSENT_PURPOSES = ("analytics", "personalization", "marketing")
DEFAULT_CONSENT = {"analytics": True, "personalization": False, "marketing": False}


def _refuse_unknown(names: Iterable[str], known: Iterable[str], what: str) -> None:
    """A name that is not a known one (a typo) would never apply, so it is refused."""
    known = tuple(known)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(unknown)} (known: {', '.join(known)})")


def _over_defaults(given: dict[str, Any], defaults: dict[str, Any], what: str) -> dict[str, Any]:
    """A table that names some keys changes only those: the rest keep their defaults."""
    _refuse_unknown(given, defaults, what)
    return {**defaults, **given}


class IdentityConfig(BaseModel):
    """How identifiers join into one customer (see docs/identity.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    priorities: tuple[str, ...] = Field(
        default=("user_id", "email", "phone", "external_id", "anonymous_id"),
        description="Identifier kinds from strongest to weakest; the strongest names the customer.",
    )
    limits: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_LIMITS),
        description="Most identifiers of a kind one customer may hold; a merge beyond it is refused.",
    )
    blocked_values: tuple[str, ...] = Field(
        default=("", "null", "none", "nil", "undefined", "nan", "anonymous", "unknown", "guest", "test",
                 "0", "-1", "n/a", "na", "[object object]"),
        description="Placeholder values (compared case-insensitively) that never identify anyone.",
    )
    blocked_emails: tuple[str, ...] = Field(
        default=("test@test.com", "test@example.com", "noreply@example.com", "user@example.com",
                 "email@example.com", "a@a.com", "none@none.com", "no@email.com"),
        description="Test and placeholder e-mail addresses that never identify anyone.",
    )
    identifier_traits: tuple[str, ...] = Field(
        default=(),
        description="Extra trait names whose values are external ids (for example a CRM id).",
    )

    @field_validator("priorities")
    @classmethod
    def _priorities_name_known_kinds(cls, given: tuple[str, ...]) -> tuple[str, ...]:
        """A misspelt kind would rank nothing, and the kind it meant would fall below every kind
        listed (kinds left out rank last); a kind listed twice has no one strength."""
        _refuse_unknown(given, IDENTIFIER_KINDS, "identifier kind")
        if len(set(given)) != len(given):
            raise ValueError("each identifier kind may be listed once")
        return given

    @field_validator("limits")
    @classmethod
    def _limits_over_defaults(cls, given: dict[str, int]) -> dict[str, int]:
        """The limits given change only their kinds, so raising e-mail's limit never lifts
        user_id's 1 (two user ids are never merged). A limit below 1 cannot be kept: refused."""
        below = sorted(kind for kind, limit in given.items() if limit < 1)
        if below:
            raise ValueError(f"the limit of {', '.join(below)} must be 1 or more")
        return _over_defaults(given, DEFAULT_LIMITS, "identifier kind")


class Settings(BaseModel):
    """Every knob of cxlens, with its default. ``docs/configuration.md`` lists them all."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(Path("cxlens-data"), description="Where the store, WAL and keys live.")
    host: str = Field("127.0.0.1", description="Interface `cxlens serve` listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port `cxlens serve` listens on.")
    max_message_bytes: int = Field(32 * 1024, gt=0, description="Largest accepted single message.")
    max_batch_bytes: int = Field(500 * 1024, gt=0, description="Largest accepted (decoded) batch.")
    rate_limit_events_per_second: float = Field(
        200_000.0, gt=0, description="Sustained events per second one write key may send."
    )
    rate_limit_burst: float = Field(
        400_000.0, gt=0, description="Events a write key may send at once before throttling."
    )
    wal_max_wait_ms: float = Field(
        2.0, ge=0, description="Longest a message waits for its group commit (fsync)."
    )
    wal_segment_bytes: int = Field(
        64 * 1024 * 1024, gt=1024, description="WAL segment size before rolling to a new file."
    )
    loader_interval_ms: float = Field(
        2000.0, gt=0, description="How often the loader moves committed WAL records into the store."
    )
    loader_batch_rows: int = Field(
        200_000, gt=0,
        description="Most events loaded in one batch (larger batches amortize DuckDB's commit cost).",
    )
    consent_policy: Literal["drop", "anonymize"] = Field(
        "anonymize",
        description="What happens to events of people who refused analytics: dropped, or kept "
        "without any identifier or personal data.",
    )
    consent_defaults: dict[str, bool] = Field(
        default_factory=lambda: dict(DEFAULT_CONSENT),
        description="Consent assumed per purpose until a person says otherwise.",
    )
    phone_default_region: str = Field(
        "US", min_length=2, max_length=2, description="Region for phone numbers without +prefix."
    )
    identity: IdentityConfig = Field(
        default_factory=IdentityConfig, description="Identity resolution rules."
    )
    tracking_plan: Path | None = Field(
        None, description="JSON file mapping event names to JSON Schemas (optional)."
    )

    @field_validator("data_dir")
    @classmethod
    def _data_dir_is_a_directory(cls, path: Path) -> Path:
        """A missing directory is made on first write; a file in its place would fail deep inside
        whichever command runs first, reported as a bug."""
        if path.exists() and not path.is_dir():
            raise ValueError(f"{path} exists and is not a directory")
        return path

    @field_validator("phone_default_region")
    @classmethod
    def _region_phonenumbers_knows(cls, region: str) -> str:
        """phonenumbers knows only upper-case region codes; any other value made every number
        without a +prefix invalid, so no national phone number identified anyone."""
        import phonenumbers

        region = region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {region!r} (an ISO 3166 code such as US, GB, DE)")
        return region

    @field_validator("consent_defaults")
    @classmethod
    def _consent_over_defaults(cls, given: dict[str, bool]) -> dict[str, bool]:
        """Granting marketing by default must not turn analytics off for everyone who said nothing
        (their events would all be anonymized or dropped)."""
        return _over_defaults(given, DEFAULT_CONSENT, "consent purpose")

    @property
    def store_path(self) -> Path:
        return self.data_dir / "cxlens.duckdb"

    @property
    def wal_dir(self) -> Path:
        return self.data_dir / "wal"


def _coerce_env(name: str, value: str) -> Any:
    """Environment values are strings; JSON-looking ones (dicts, lists) are parsed."""
    stripped = value.strip()
    if stripped[:1] in "{[":
        import orjson

        try:
            return orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} is not valid JSON: {exc}") from exc
    return value


def _layer(values: dict[str, Any], higher: dict[str, Any]) -> None:
    """Put a higher-precedence source over ``values``, table by table: a source that sets
    ``identity.limits`` keeps the ``identity.identifier_traits`` a lower one set (each nested key
    is its own setting), where replacing the whole table would silently drop them."""
    for key, value in higher.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            merged = dict(values[key])
            _layer(merged, value)
            values[key] = merged
        else:
            values[key] = value


def load_settings(data_dir: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, the TOML file, the environment and ``overrides``."""
    values: dict[str, Any] = {}
    # An empty variable (`CXLENS_TRACKING_PLAN= cxlens ...`) is the shell's way to unset one.
    env = {k[len(ENV_PREFIX):].lower(): v for k, v in os.environ.items()
           if k.startswith(ENV_PREFIX) and v.strip()}
    env.pop("config", None)
    env.pop("debug", None)  # read by the CLI (tracebacks on a crash), not a setting
    resolved_dir = Path(data_dir or env.get("data_dir") or Settings.model_fields["data_dir"].default)

    named_file = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if named_file and not Path(named_file).is_file():
        raise ConfigError(f"{ENV_PREFIX}CONFIG names {named_file}, which is not a file")
    config_path = Path(named_file or resolved_dir / CONFIG_FILE_NAME)
    if config_path.is_file():
        try:
            _layer(values, tomllib.loads(config_path.read_text()))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: {exc}") from exc

    _layer(values, {k: _coerce_env(k, v) for k, v in env.items()})
    _layer(values, {k: v for k, v in overrides.items() if v is not None})
    if data_dir:  # the flag; without it a data_dir from the file (or the environment) stands
        values["data_dir"] = Path(data_dir)
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
