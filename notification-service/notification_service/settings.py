"""Notification Service settings (environment variables; see `.env.example`).

Providers: each channel has a primary and an optional secondary provider (empty secondary host /
base URL = none). SMS and push default to the provider-sandbox, email to the local SMTP sink
(`python -m notification_service.smtp_sink`) outside production.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator, model_validator

from shared.settings import ServiceSettings

SmtpSecurity = Literal["none", "starttls", "tls"]
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")  # 24 h, as admin-service validates it


class QuietWindow(BaseModel):
    """Platform default quiet hours `{"start": "HH:MM", "end": "HH:MM"}` (DEFAULT_TIMEZONE local
    time, wrapping midnight when start > end; start == end means no window). Nothing else is
    accepted: no extra keys, no numbers, no "7:00"."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not HHMM.match(value):
            raise ValueError("must be HH:MM (24 h)")
        return value


def parse_quiet_window(value: Any) -> QuietWindow:
    """A QuietWindow from a mapping (admin-service JSON) or a JSON object string (env);
    ValueError (pydantic's ValidationError) for anything else."""
    if isinstance(value, QuietWindow):
        return value
    if isinstance(value, str):
        return QuietWindow.model_validate_json(value)
    if not isinstance(value, dict):
        raise TypeError("not a JSON object")
    return QuietWindow.model_validate(value)


class Settings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "notification-service"
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("service_api_key", "event_seal_key")

    # --- email (SMTP) ------------------------------------------------------------------------
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025  # the dev SMTP sink's port
    smtp_security: SmtpSecurity = "none"  # none | starttls | tls (implicit TLS, e.g. port 465)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout: float = 10.0  # seconds per SMTP conversation
    smtp_validate_certs: bool = True
    smtp_secondary_host: str = ""  # empty → no secondary email provider
    smtp_secondary_port: int = 587
    smtp_secondary_security: SmtpSecurity = "starttls"
    smtp_secondary_username: str = ""
    smtp_secondary_password: SecretStr = SecretStr("")
    email_from: str = "Payment Gateway <no-reply@payment-gateway.local>"
    email_message_id_domain: str = "payment-gateway.local"
    # List-Unsubscribe target of non-transactional mail (the preferences page).
    unsubscribe_url: str = "http://127.0.0.1:8000/api/v1/preferences"
    unsubscribe_mailto: str = "unsubscribe@payment-gateway.local"

    # --- SMS (Twilio Messages API shape) -----------------------------------------------------
    sms_base_url: str = ""  # empty → PROVIDER_SANDBOX_URL
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: SecretStr = SecretStr("sandbox-twilio-token")
    sms_from: str = "+15005550006"
    sms_secondary_base_url: str = ""  # empty → no secondary SMS provider
    twilio_secondary_account_sid: str = ""
    twilio_secondary_auth_token: SecretStr = SecretStr("")

    # --- push (FCM HTTP v1 shape) ------------------------------------------------------------
    fcm_base_url: str = ""  # empty → PROVIDER_SANDBOX_URL
    fcm_project_id: str = "sandbox-project"
    fcm_access_token: SecretStr = SecretStr("sandbox-fcm-token")  # OAuth2 bearer for FCM v1
    fcm_secondary_base_url: str = ""  # empty → no secondary push provider
    fcm_secondary_project_id: str = ""
    fcm_secondary_access_token: SecretStr = SecretStr("")
    provider_timeout: float = 10.0  # seconds per SMS/push HTTP call

    # --- delivery queue ----------------------------------------------------------------------
    delivery_worker_enabled: bool = True
    delivery_workers: int = 1  # concurrent worker loops in this process
    delivery_batch_size: int = 20  # messages claimed per poll
    delivery_concurrency: int = 10  # sends in flight per batch
    delivery_poll_interval: float = 0.5  # seconds between polls when idle
    delivery_lease_seconds: float = 60.0  # a claim not completed by then is claimable again
    delivery_max_attempts: int = 6  # then dead-letter
    delivery_base_delay: float = 2.0  # seconds, doubled per attempt, with jitter
    delivery_max_delay: float = 600.0
    breaker_failure_threshold: int = 3  # consecutive provider failures that open the breaker
    breaker_reset_seconds: float = 30.0  # open → half-open after this long

    # --- platform-wide switches and defaults: env defaults, admin-service may override them at
    # run time (`notification.*` settings, see notification_service.runtime) -------------------
    email_enabled: bool = True
    sms_enabled: bool = True
    push_enabled: bool = True
    # Quiet hours for SMS/push of users without their own: {"start": "22:00", "end": "07:00"}
    # in DEFAULT_TIMEZONE, or None (no platform default).
    default_quiet_hours: QuietWindow | None = None

    # --- recipients --------------------------------------------------------------------------
    user_lookup_timeout: float = 5.0
    default_language: str = "en"
    default_timezone: str = "Asia/Dhaka"  # zone of the platform default quiet hours

    # --- dev SMTP sink (python -m notification_service.smtp_sink) ----------------------------
    smtp_sink_host: str = ""  # empty → HOST (127.0.0.1; containers set HOST=0.0.0.0)
    smtp_sink_port: int = 8025
    smtp_sink_http_port: int = 8026
    smtp_sink_max_messages: int = 1000

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:  # refuse at startup, not per message
            raise ValueError("unknown IANA time zone") from exc
        return value

    @field_validator("default_quiet_hours", mode="before")
    @classmethod
    def _quiet_window(cls, value: Any) -> QuietWindow | None:
        if value is None or (isinstance(value, str) and value.strip() in ("", "null", "none")):
            return None
        return parse_quiet_window(value)

    @model_validator(mode="after")
    def _provider_defaults(self) -> Settings:
        sandbox = self.provider_sandbox_url.rstrip("/")
        if not self.sms_base_url:
            self.sms_base_url = sandbox
        if not self.fcm_base_url:
            self.fcm_base_url = sandbox
        return self
