"""Runtime settings owned by admin-service (fee %, bounds, limits, quote TTL, maintenance mode).

Env values are the defaults; admin-service's `GET /internal/settings` (polled every
RUNTIME_SETTINGS_INTERVAL ≤ 60 s) and `setting.changed` events override them without a restart
(`shared.runtime_settings`). Keys are accepted bare (`fee_percentage`) or prefixed
(`transaction.fee_percentage`).
"""

from __future__ import annotations

from decimal import Decimal

import shared.runtime_settings as rs
from transaction_service.settings import Settings

PARSERS: dict[str, rs.Parser] = {
    "fee_percentage": rs.non_negative_decimal,
    "min_transaction_usd": rs.non_negative_decimal,
    "max_transaction_usd": rs.non_negative_decimal,
    "daily_limit_usd": rs.non_negative_decimal,
    "monthly_limit_usd": rs.non_negative_decimal,
    "yearly_limit_usd": rs.non_negative_decimal,
    "quote_ttl_seconds": rs.positive_int,
    "maintenance_mode": rs.boolean,
}


class RuntimeSettings(rs.RuntimeSettings):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            defaults=lambda name: getattr(settings, name),
            parsers=PARSERS,
            prefixes=("transaction.", "transactions.", "transaction_service."),
            admin_url=settings.url_of("admin-service"),
            interval=settings.runtime_settings_interval,
        )
        self.settings = settings

    @property
    def fee_percentage(self) -> Decimal:
        return Decimal(self.value("fee_percentage"))

    @property
    def quote_ttl_seconds(self) -> int:
        return int(self.value("quote_ttl_seconds"))

    @property
    def maintenance_mode(self) -> bool:
        return bool(self.value("maintenance_mode"))

    def usd(self, key: str) -> Decimal:
        return Decimal(self.value(key))
