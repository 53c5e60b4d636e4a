"""Payment Service settings (environment variables; see `.env.example`).

Provider base URLs default to the provider-sandbox (`PROVIDER_SANDBOX_URL`), which serves the
SSLCommerz and PayPal paths at its root, so the embedded mode and the tests never reach the
internet. Production points them at the real hosts (providers.md §1.1, §2.1) and must set real
credentials: the secret fields below are refused there when missing or placeholders.

The provider base URLs and credentials are only the defaults: admin-service's runtime settings
(`provider.paypal.*`, `provider.sslcommerz.*`) override them without a restart
(`payment_service.runtime`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import SecretStr, model_validator

from shared.settings import ServiceSettings

# Hosts PayPal serves webhook certificates from (providers.md §1.1, §1.11). Nothing else is fetched.
PAYPAL_CERT_HOSTS = "api.paypal.com,api.sandbox.paypal.com,api-m.paypal.com,api-m.sandbox.paypal.com"


class Settings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "payment-service"
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = (
        "service_api_key",
        "sslcommerz_store_password",
        "paypal_client_secret",
    )

    # --- SSLCommerz (pay-in) ------------------------------------------------------------------
    sslcommerz_base_url: str = ""  # default: the provider-sandbox
    sslcommerz_store_id: str = "testbox"
    sslcommerz_store_password: SecretStr = SecretStr("qwerty")
    sslcommerz_timeout_seconds: float = 15.0  # read timeout of every SSLCommerz call
    # Where SSLCommerz posts the IPN and the browser: our public base URL (through the gateway).
    public_base_url: str = ""  # default: GATEWAY_URL
    # Where the browser return handlers send the buyer (303); default: our own result page.
    payment_result_url: str = ""

    # --- PayPal (pay-out) ---------------------------------------------------------------------
    paypal_base_url: str = ""  # default: the provider-sandbox
    paypal_client_id: str = "dev-paypal-client-id"
    paypal_client_secret: SecretStr = SecretStr("dev-paypal-client-secret")
    paypal_webhook_id: str = "WH-SANDBOX"
    paypal_timeout_seconds: float = 20.0
    # Refresh the OAuth token this many seconds before PayPal says it expires.
    paypal_token_skew_seconds: float = 120.0
    # "api": POST /v1/notifications/verify-webhook-signature; "offline": RSA check with the cert.
    paypal_webhook_verification: Literal["api", "offline"] = "api"
    paypal_cert_hosts: str = PAYPAL_CERT_HOSTS  # comma-separated allow-list (HTTPS only)
    # TEST/DEV ONLY (refused in production): trust these PEM certificates for webhook certs
    # (pinning; the sandbox's self-signed cert) and allow plain http for the cert URL.
    paypal_cert_trust_pem: str = ""
    paypal_cert_allow_http: bool = False
    payout_email_subject: str = "You have received a payment"
    payout_purpose: str = "NON_GOODS_OR_SERVICES"
    payout_submit_attempts: int = 3  # tries per create call on timeout/5xx/429 (same sender_batch_id)


    # --- reconciliation -------------------------------------------------------------------------
    reconcile_enabled: bool = True
    reconcile_interval_seconds: float = 60.0
    reconcile_batch_size: int = 50
    refund_poll_min_seconds: float = 60.0  # backoff between refund/payout status polls: min…max
    refund_poll_max_seconds: float = 3600.0

    @model_validator(mode="after")
    def _provider_defaults(self) -> Settings:
        sandbox = self.provider_sandbox_url.rstrip("/")
        self.sslcommerz_base_url = (self.sslcommerz_base_url or sandbox).rstrip("/")
        self.paypal_base_url = (self.paypal_base_url or sandbox).rstrip("/")
        self.public_base_url = (self.public_base_url or self.gateway_url).rstrip("/")
        if not self.payment_result_url:
            self.payment_result_url = f"{self.public_base_url}/api/v1/webhooks/sslcommerz/result"
        if self.environment == "production" and (self.paypal_cert_trust_pem or self.paypal_cert_allow_http):
            raise ValueError("PAYPAL_CERT_TRUST_PEM / PAYPAL_CERT_ALLOW_HTTP are test-only settings")
        return self

    @property
    def cert_hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.paypal_cert_hosts.split(",") if h.strip())
