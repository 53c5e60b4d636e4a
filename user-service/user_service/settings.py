"""User Service settings (environment variables; see `.env.example`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import SecretStr, field_validator, model_validator

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "user-service"
    # Links in events are sealed with EVENT_SEAL_KEY: production must have a real one.
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("service_api_key", "event_seal_key")

    # --- Tokens ---------------------------------------------------------------------------------
    access_token_ttl_seconds: int = 900  # 15 min
    refresh_token_ttl_seconds: int = 30 * 24 * 3600  # 30 days, sliding (renewed by each rotation)
    # Signing key: PEM in the environment or in a (secret) file. Empty → the key directory.
    jwt_private_key: SecretStr = SecretStr("")
    jwt_private_key_file: Path | None = None
    # Previous keys still published in the JWKS (PEM bundle, public or private keys), for a
    # rotation done through the environment.
    jwt_previous_keys: str = ""
    jwt_previous_keys_file: Path | None = None
    # Key directory (`current.pem` + `previous/`); empty → DATA_DIR/jwt-keys. `rotate-keys` works here.
    jwt_key_dir: Path | None = None
    jwt_key_algorithm: Literal["EdDSA", "RS256"] = "EdDSA"  # for newly generated keys
    jwt_key_reload_interval: float = 5.0  # seconds between checks of the key directory for a rotation

    # --- Passwords (argon2id; bcrypt hashes are verified and upgraded on login) ------------------
    # OWASP baseline for argon2id: 19 MiB, 2 passes, 1 lane (≈ 40 ms on one core).
    argon2_time_cost: int = 2
    argon2_memory_cost_kib: int = 19456
    argon2_parallelism: int = 1
    # Concurrent hash computations per process (bounds memory: N × argon2_memory_cost_kib).
    password_hash_concurrency: int = 4
    password_min_length: int = 8
    password_max_length: int = 128
    password_require_upper: bool = True
    password_require_lower: bool = False
    password_require_digit: bool = True
    password_require_special: bool = True

    # --- Lockout -------------------------------------------------------------------------------
    login_max_failures: int = 5
    login_lockout_seconds: int = 900

    # --- E-mail verification / password reset links ---------------------------------------------
    email_verification_ttl_seconds: int = 24 * 3600
    password_reset_ttl_seconds: int = 3600
    # The page the links point at; `{token}` is replaced. Empty → `<GATEWAY_URL>/verify-email?token=…`.
    email_verify_url_template: str = ""
    password_reset_url_template: str = ""
    mail_cooldown_seconds: int = 60  # at most one verification / reset mail per user per window

    # Seconds between clean-ups of long-dead sessions and one-time tokens (0 = never).
    housekeeping_interval_seconds: float = 3600

    # --- Profiles ------------------------------------------------------------------------------
    default_phone_region: str = "BD"

    # --- Bootstrap admin (created at start-up when no admin exists) ----------------------------
    bootstrap_admin_email: str = ""
    bootstrap_admin_password: SecretStr = SecretStr("")

    @field_validator("jwt_private_key_file", "jwt_previous_keys_file", "jwt_key_dir", mode="before")
    @classmethod
    def _empty_path_is_unset(cls, value: Any) -> Any:
        # `JWT_KEY_DIR=` in an env file means "not set", not the current directory.
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _fill_user_defaults(self) -> Settings:
        base = self.gateway_url.rstrip("/")
        if not self.email_verify_url_template:
            self.email_verify_url_template = f"{base}/verify-email?token={{token}}"
        if not self.password_reset_url_template:
            self.password_reset_url_template = f"{base}/reset-password?token={{token}}"
        if self.jwt_key_dir is None:
            self.jwt_key_dir = self.data_dir / "jwt-keys"
        return self

    @property
    def key_dir(self) -> Path:
        assert self.jwt_key_dir is not None
        return self.jwt_key_dir
