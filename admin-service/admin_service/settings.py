"""Admin Service settings (environment variables; see `.env.example`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr, model_validator

from shared.sealed import derive_dev_key
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "admin-service"
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("service_api_key", "admin_settings_key")

    # Fernet key(s) encrypting secret runtime settings at rest; comma-separated for rotation: the
    # first encrypts, all decrypt (POST /api/v1/admin/settings-encryption/rotate re-encrypts).
    admin_settings_key: SecretStr = SecretStr("")

    # Provider endpoints used by "test connection" when no `provider.*.base_url` setting is stored.
    # Empty → the provider-sandbox (offline).
    paypal_base_url: str = ""
    sslcommerz_base_url: str = ""
    exchange_rate_api_url: str = ""

    # Calls to the other services.
    upstream_timeout: float = 10.0  # seconds, proxied admin actions and reads
    health_timeout: float = 3.0  # seconds per /health/ready probe
    dashboard_timezone: str = "Asia/Dhaka"  # calendar of dashboard periods and report days

    @model_validator(mode="after")
    def _admin_defaults(self) -> Settings:
        if not self.admin_settings_key.get_secret_value() and self.environment != "production":
            self.admin_settings_key = SecretStr(derive_dev_key("dev-admin-settings"))
        sandbox = self.provider_sandbox_url.rstrip("/")
        self.paypal_base_url = (self.paypal_base_url or sandbox).rstrip("/")
        self.sslcommerz_base_url = (self.sslcommerz_base_url or sandbox).rstrip("/")
        self.exchange_rate_api_url = (self.exchange_rate_api_url or sandbox).rstrip("/")
        return self
