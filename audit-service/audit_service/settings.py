"""Audit Service settings (environment variables; see `.env.example`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import SecretStr, model_validator

from shared.settings import ServiceSettings

DEV_CHECKPOINT_KEY = "dev-audit-checkpoint-key-not-for-production"


class Settings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "audit-service"
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("service_api_key", "audit_checkpoint_key")

    # Signed checkpoints over the chain head. HMAC: any secret ≥ 32 bytes. Ed25519: the private key
    # as PEM or base64 of the 32-byte seed (the public key is published with the export).
    audit_checkpoint_algorithm: Literal["hmac-sha256", "ed25519"] = "hmac-sha256"
    audit_checkpoint_key: SecretStr = SecretStr("")
    audit_checkpoint_key_id: str = "k1"
    audit_checkpoint_interval_seconds: float = 3600.0  # 0 → no periodic checkpoints
    # Retention: entries older than this are purged behind a signed checkpoint (0 → keep forever).
    audit_retention_days: int = 365
    audit_retention_auto_purge: bool = True  # purge in the periodic task
    # Ingestion and queries.
    audit_batch_max: int = 500
    audit_page_max: int = 200
    audit_export_max_rows: int = 1_000_000
    # Extra masking rules: comma-separated field names; a JSON list of regular expressions.
    audit_mask_extra_secret_keys: str = ""
    audit_mask_extra_pii_keys: str = ""
    audit_mask_extra_patterns: list[str] = []
    # Security alert thresholds (within the queried window).
    audit_alert_failed_logins: int = 5  # failed logins per user or per IP …
    audit_alert_burst_minutes: float = 15.0  # … within this many minutes
    audit_alert_ip_distinct_users: int = 5  # distinct users seen from one IP
    audit_alert_exports: int = 3  # exports by one actor

    @model_validator(mode="after")
    def _dev_checkpoint_key(self) -> Settings:
        if not self.audit_checkpoint_key.get_secret_value() and self.environment != "production":
            if self.audit_checkpoint_algorithm == "hmac-sha256":
                self.audit_checkpoint_key = SecretStr(DEV_CHECKPOINT_KEY)
            else:
                import base64
                import hashlib

                seed = hashlib.sha256(DEV_CHECKPOINT_KEY.encode()).digest()
                self.audit_checkpoint_key = SecretStr(base64.b64encode(seed).decode())
        return self
