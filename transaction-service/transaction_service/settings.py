"""Transaction Service settings (environment variables; see `.env.example`).

Amount settings are USD decimals; the runtime-tunable ones (fee, bounds, limits, maintenance) can
be overridden by admin-service at run time (`transaction_service.runtime`), these are the defaults.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "transaction-service"

    # Pricing and validity windows.
    fee_percentage: Decimal = Decimal("2.0")  # % of bdt_amount charged as fee
    quote_ttl_seconds: int = 600  # a quote's rate is locked for this long
    payment_window_seconds: int = 1800  # a PENDING transaction expires after this long unpaid

    # Bounds and limits, USD equivalent; calendar windows in LIMITS_TIMEZONE.
    min_transaction_usd: Decimal = Decimal("10")
    max_transaction_usd: Decimal = Decimal("10000")
    daily_limit_usd: Decimal = Decimal("5000")
    monthly_limit_usd: Decimal = Decimal("25000")
    yearly_limit_usd: Decimal = Decimal("100000")
    limits_timezone: str = "Asia/Dhaka"
    maintenance_mode: bool = False


    # Saga worker: payout/refund requests, expiry, reconciler, idempotency-key purge.
    saga_worker_enabled: bool = True
    saga_poll_interval: float = 2.0  # seconds between worker passes when idle
    saga_action_lease_seconds: float = 60.0  # an outgoing call in progress is retried after this
    saga_retry_base_delay: float = 2.0  # seconds, doubled per failed attempt
    saga_retry_max_delay: float = 300.0
    reconcile_interval: float = 60.0  # seconds between reconciler runs (single-flight)
    reconcile_stuck_after: float = 600.0  # a transaction unchanged this long is re-checked
    reconcile_batch_size: int = 50

    # Outgoing calls to payment-service / exchange-rate-service / user-service.
    upstream_timeout: float = 15.0
