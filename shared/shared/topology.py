"""The platform's services: one table, used for defaults, the dev launcher and consistency tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str  # folder name and service identity, e.g. "user-service"
    package: str  # importable package
    port: int
    schema: str | None  # PostgreSQL schema; None when the service has no database
    title: str

    @property
    def env_prefix(self) -> str:
        """`user-service` → `USER_SERVICE` (used for `<PREFIX>_URL` settings)."""
        return self.name.upper().replace("-", "_")

    @property
    def default_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("gateway", "gateway", 8000, None, "API Gateway"),
    ServiceSpec("user-service", "user_service", 8001, "users", "User Service"),
    ServiceSpec("payment-service", "payment_service", 8002, "payments", "Payment Service"),
    ServiceSpec("transaction-service", "transaction_service", 8003, "transactions", "Transaction Service"),
    ServiceSpec(
        "notification-service", "notification_service", 8004, "notifications", "Notification Service"
    ),
    ServiceSpec("audit-service", "audit_service", 8005, "audit", "Audit Service"),
    ServiceSpec("exchange-rate-service", "exchange_rate_service", 8006, "rates", "Exchange Rate Service"),
    ServiceSpec("admin-service", "admin_service", 8007, "admin", "Admin Service"),
    ServiceSpec("provider-sandbox", "provider_sandbox", 8099, None, "Provider Sandbox"),
)

BY_NAME: dict[str, ServiceSpec] = {s.name: s for s in SERVICES}
BY_PACKAGE: dict[str, ServiceSpec] = {s.package: s for s in SERVICES}


def spec(name_or_package: str) -> ServiceSpec:
    try:
        return BY_NAME.get(name_or_package) or BY_PACKAGE[name_or_package]
    except KeyError:
        raise KeyError(f"unknown service {name_or_package!r}") from None
