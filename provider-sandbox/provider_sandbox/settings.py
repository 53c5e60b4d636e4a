"""Provider Sandbox settings (environment variables; see `.env.example`).

Every provider credential here is a *sandbox* credential that the platform's services are configured
with in `make run` and in tests; none of them is a real secret.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import model_validator

from shared.settings import ServiceSettings


def parse_pairs(text: str) -> dict[str, Decimal]:
    """`"USD=117.50,EUR=127.80"` → `{"USD": Decimal("117.50"), …}` (blank parts ignored)."""
    out: dict[str, Decimal] = {}
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        if sep and key.strip():
            out[key.strip().upper()] = Decimal(value.strip())
    return out


class Settings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "provider-sandbox"

    # The sandbox's own public base URL: used in GatewayPageURL, HATEOAS links and PAYPAL-CERT-URL.
    # Empty → PROVIDER_SANDBOX_URL (what the other services use; `make run` sets it to the real port).
    # Set it where browsers reach the sandbox by another name than the services do (containers).
    sandbox_public_url: str = ""

    # --- SSLCommerz -------------------------------------------------------------------------
    sslcommerz_store_id: str = "testbox"
    sslcommerz_store_password: str = "qwerty"
    # Used when a session carries no ipn_url (SSLCommerz's "merchant panel" IPN setting).
    # Empty → {PAYMENT_SERVICE_URL}/api/v1/webhooks/sslcommerz/ipn.
    sslcommerz_default_ipn_url: str = ""
    sslcommerz_fee_percent: Decimal = Decimal("2.5")  # store_amount = amount × (1 − fee/100)
    # BDT per unit of a foreign currency, for sessions created in a currency other than BDT.
    sslcommerz_fx_rates: str = (
        "USD=117.50,EUR=127.80,GBP=148.90,CAD=86.20,AUD=77.10,SGD=88.00,INR=1.41,MYR=25.00"
    )
    # A reused tran_id: "allow" (a second attempt of the same tran_id) or "reject" (FAILED).
    sslcommerz_duplicate_tran_id: Literal["allow", "reject"] = "allow"
    sslcommerz_ipn_max_attempts: int = 3  # IPN retries on non-2xx / connection error
    # A refund reports "processing" for this many status queries before "refunded" (0 = at once).
    sslcommerz_refund_polls: int = 1

    # --- PayPal ------------------------------------------------------------------------------
    # Defaults equal payment-service's development defaults, so `make run` needs no configuration.
    paypal_client_id: str = "dev-paypal-client-id"
    paypal_client_secret: str = "dev-paypal-client-secret"
    paypal_token_expires_in: int = 32400  # seconds (PayPal: ≈8–9 h; short values exercise refresh)
    # The platform's webhook id, part of every signature; must equal payment-service's
    # PAYPAL_WEBHOOK_ID. (PayPal's schema wants `^[a-zA-Z0-9]+$`, ≤50; real ids are alphanumeric.)
    paypal_webhook_id: str = "WH-SANDBOX"
    # Empty → {PAYMENT_SERVICE_URL}/api/v1/webhooks/paypal. "off" disables webhook delivery.
    paypal_webhook_url: str = ""
    paypal_webhook_max_attempts: int = 5  # real PayPal: 25 over 3 days
    paypal_webhook_retry_base_seconds: float = 0.5  # doubled per attempt, capped at 30 s
    # Subject CN of the self-signed signing certificate (clients check it ends with .paypal.com).
    paypal_cert_common_name: str = "messageverificationcerts.sandbox.paypal.com"
    # Payout items resolve by themselves (receiver rules decide the outcome) after this delay.
    paypal_auto_complete: bool = False
    paypal_auto_complete_delay_seconds: float = 2.0
    paypal_processing_delay_seconds: float = 0.2  # batch PENDING → PROCESSING
    paypal_fee_percent: Decimal = Decimal("2.0")
    paypal_fee_cap: Decimal = Decimal("20.00")  # per item, in the item currency
    paypal_balances: str = (
        "USD=1000000.00,EUR=1000000.00,GBP=1000000.00,CAD=1000000.00,AUD=1000000.00,JPY=100000000,"
        "CHF=1000000.00,SGD=1000000.00"
    )
    paypal_request_id_mode: Literal["ignore", "replay"] = "ignore"

    # --- Notification channels and FX ------------------------------------------------------
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: str = "sandbox-twilio-token"
    fcm_project_id: str = "sandbox-project"
    exchangerate_api_key: str = ""  # empty → any key except "invalid-key" is accepted
    # BDT per unit (the same table the static rates provider ships); base rates are derived.
    fx_bdt_rates: str = (
        "USD=117.50,EUR=127.80,GBP=148.90,CAD=86.20,AUD=77.10,JPY=0.7850,CHF=133.40,SGD=88.00,INR=1.41,MYR=25.00"
    )
    fx_update_interval_seconds: int = 86400

    # --- Fault injection ---------------------------------------------------------------------
    fault_hang_seconds: float = 30.0  # how long the `timeout` fault holds a request before 504

    @model_validator(mode="after")
    def _derive_urls(self) -> Settings:
        if not self.sandbox_public_url:
            self.sandbox_public_url = self.provider_sandbox_url or f"http://127.0.0.1:{self.port}"
        self.sandbox_public_url = self.sandbox_public_url.rstrip("/")
        base = self.payment_service_url.rstrip("/")
        if not self.sslcommerz_default_ipn_url:
            self.sslcommerz_default_ipn_url = f"{base}/api/v1/webhooks/sslcommerz/ipn"
        if not self.paypal_webhook_url:
            self.paypal_webhook_url = f"{base}/api/v1/webhooks/paypal"
        return self

    @property
    def webhooks_enabled(self) -> bool:
        return self.paypal_webhook_url.lower() != "off"
