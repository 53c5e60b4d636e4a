"""Typed settings base.

Every service subclasses `ServiceSettings`; values come from the environment (and `.env`, and
`NAME_FILE` secret files). In production mode the services refuse to start with a
missing or placeholder secret.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.topology import SERVICES, spec

PLACEHOLDER_MARKERS = ("changeme", "change-me", "placeholder", "dev-", "insecure", "example")

Environment = Literal["development", "test", "production"]


def repo_root() -> Path:
    """The workspace root (the folder holding `.data/` in the embedded mode)."""
    return Path(__file__).resolve().parents[2]


def default_data_dir() -> Path:
    return repo_root() / ".data"


def dev_api_key(service_name: str) -> str:
    """Deterministic per-service key for development/test only; refused in production."""
    return f"dev-{service_name}-key"


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set `SERVICE_NAME` and add their own fields."""

    SERVICE_NAME: ClassVar[str] = ""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    environment: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 0  # 0 → the service's default port from the topology
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    # Storage. Empty DATABASE_URL → a SQLite file under DATA_DIR (embedded mode).
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    db_schema: str = ""  # PostgreSQL schema; default from the topology
    db_pool_size: int = 10
    db_echo: bool = False
    # Empty REDIS_URL → process-local / file-backed stand-ins (embedded mode).
    redis_url: str = ""

    # Token verification (tokens are issued by user-service).
    jwks_url: str = ""
    jwt_issuer: str = "payment-gateway"
    jwt_audience: str = "payment-gateway-api"

    # Service-to-service authentication: our own outgoing key, and the keys we accept
    # (`name=key,name=key`). Development derives both from the topology.
    service_api_key: SecretStr = SecretStr("")
    service_api_keys: str = ""
    # Fernet key(s) for sealed event payloads (shared.sealed); first seals, all open.
    event_seal_key: SecretStr = SecretStr("")

    # Event delivery.
    outbox_relay_enabled: bool = True
    outbox_poll_interval: float = 0.25  # seconds between relay polls when idle
    outbox_max_attempts: int = 12
    outbox_base_delay: float = 0.5  # seconds, doubled per attempt, full jitter
    outbox_max_delay: float = 300.0

    # Runtime settings owned by admin-service (shared.runtime_settings), for the services that own
    # some: poll `GET /internal/settings` every interval — at most 60 s (ARCHITECTURE §6).
    runtime_settings_refresh: bool = True
    runtime_settings_interval: float = Field(default=60.0, gt=0, le=60)

    # Where the other services live (`<NAME>_URL`), defaulting to loopback ports.
    gateway_url: str = ""
    user_service_url: str = ""
    payment_service_url: str = ""
    transaction_service_url: str = ""
    notification_service_url: str = ""
    audit_service_url: str = ""
    exchange_rate_service_url: str = ""
    admin_service_url: str = ""
    provider_sandbox_url: str = ""

    # Secrets checked for placeholders in production (subclasses extend the tuple).
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("service_api_key",)

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        """`NAME_FILE=/run/secrets/x` fills `NAME` from that file (compose/Kubernetes secrets)
        unless `NAME` itself is given a non-empty value."""
        if not isinstance(data, dict):
            return data
        given = {str(k).lower(): v for k, v in data.items()}
        for name in cls.model_fields:
            path = os.environ.get(f"{name.upper()}_FILE")
            value = given.get(name)
            # An empty value (e.g. `SERVICE_API_KEY=` copied from .env.example) counts as not given.
            if path and (
                value is None
                or value == ""
                or (hasattr(value, "get_secret_value") and not value.get_secret_value())
            ):
                data = {**data, name: Path(path).read_text(encoding="utf-8").strip()}
        return data

    @model_validator(mode="after")
    def _fill_defaults(self) -> ServiceSettings:
        me = spec(self.SERVICE_NAME) if self.SERVICE_NAME else None
        if me is not None:
            if not self.port:
                self.port = me.port
            if not self.db_schema and me.schema:
                self.db_schema = me.schema
            if not self.database_url and me.schema:
                self.database_url = f"sqlite+aiosqlite:///{self.data_dir / (me.package + '.db')}"
            if not self.service_api_key.get_secret_value() and self.environment != "production":
                self.service_api_key = SecretStr(dev_api_key(me.name))
        for s in SERVICES:
            attr = f"{s.env_prefix.lower()}_url"
            if not getattr(self, attr):
                setattr(self, attr, s.default_url)
        if not self.event_seal_key.get_secret_value() and self.environment != "production":
            from shared.sealed import derive_dev_key

            self.event_seal_key = SecretStr(derive_dev_key())
        if not self.jwks_url:
            self.jwks_url = f"{self.user_service_url}/.well-known/jwks.json"
        if not self.service_api_keys and self.environment != "production":
            self.service_api_keys = ",".join(f"{s.name}={dev_api_key(s.name)}" for s in SERVICES)
        if self.environment == "production":
            self._refuse_placeholders()
        return self

    def _refuse_placeholders(self) -> None:
        problems: list[str] = []
        for name in self.SECRET_FIELDS:
            value: Any = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value or "")
            if not raw or any(m in raw.lower() for m in PLACEHOLDER_MARKERS) or len(raw) < 16:
                problems.append(name.upper())
        keys = self.accepted_service_keys()
        if not keys or any(
            len(k) < 16 or any(m in k.lower() for m in PLACEHOLDER_MARKERS) for k in keys.values()
        ):
            problems.append("SERVICE_API_KEYS")
        if problems:
            # The message names the settings, never their values.
            raise ValueError(
                "refusing to start in production with missing or placeholder secrets: "
                + ", ".join(sorted(set(problems)))
            )

    def url_of(self, service_name: str) -> str:
        return str(getattr(self, f"{spec(service_name).env_prefix.lower()}_url")).rstrip("/")

    def accepted_service_keys(self) -> dict[str, str]:
        """`{caller name: key}` parsed from SERVICE_API_KEYS."""
        out: dict[str, str] = {}
        for part in self.service_api_keys.split(","):
            name, sep, key = part.strip().partition("=")
            if sep and name and key:
                out[name.strip()] = key.strip()
        return out

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgres")

    @property
    def embedded(self) -> bool:
        """True when running without Redis (the laptop mode)."""
        return not self.redis_url
