"""Outgoing calls to the other services, behind small interfaces (the contracts are in
docs/internal-api.md). HTTP failures become problem errors: a connection failure or timeout →
503/504, an upstream 5xx or unexpected answer → 502, so callers can answer clients directly and the
saga worker can retry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import httpx

from shared.errors import Forbidden, GatewayTimeout, ProblemError, ServiceUnavailable, UpstreamError
from shared.logging import get_logger
from shared.money import MoneyError, parse_decimal

log = get_logger(__name__)


class UpstreamRefused(UpstreamError):
    """The other service answered 4xx: retrying the same call will not help (a person must look)."""

    code = "upstream_refused"


@dataclass(frozen=True, slots=True)
class Rate:
    currency: str
    rate_to_bdt: Decimal  # BDT per one unit of `currency`
    source: str
    as_of: datetime | None


@dataclass(frozen=True, slots=True)
class Customer:
    name: str
    email: str
    phone: str


@dataclass(frozen=True, slots=True)
class PaymentSession:
    payment_id: str
    payment_url: str
    status: str


class RateSource(Protocol):
    async def current(self, currency: str) -> Rate: ...


class UserDirectory(Protocol):
    async def customer(self, user_id: str) -> Customer: ...


class PaymentGateway(Protocol):
    async def create_session(self, payload: dict[str, Any]) -> PaymentSession: ...
    async def request_payout(self, transaction_id: str) -> dict[str, Any]: ...
    async def request_refund(self, transaction_id: str, reason: str) -> dict[str, Any]: ...
    async def reconcile(self, transaction_id: str) -> dict[str, Any]: ...


class _HttpService:
    """Calls one service's `/internal/*` routes with our service API key (set on the client)."""

    name = ""

    def __init__(self, http: httpx.AsyncClient, base_url: str, timeout: float) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    async def _call(self, method: str, path: str, *, json: Any = None, ok: tuple[int, ...] = (200,)) -> Any:
        try:
            resp = await self.http.request(method, self.base_url + path, json=json, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            log.warning("upstream_timeout", service=self.name, path=path)
            raise GatewayTimeout(f"{self.name} did not answer in time.", code="upstream_timeout") from exc
        except httpx.HTTPError as exc:
            log.warning("upstream_unreachable", service=self.name, path=path, error=type(exc).__name__)
            raise ServiceUnavailable(f"{self.name} is unavailable.", code="upstream_unavailable") from exc
        if resp.status_code not in ok:
            self._raise_for(resp, path)
        try:
            return resp.json()
        except ValueError as exc:
            raise UpstreamError(
                f"{self.name} sent an unreadable answer.", code="upstream_bad_response"
            ) from exc

    def _raise_for(self, resp: httpx.Response, path: str) -> None:
        log.warning("upstream_error", service=self.name, path=path, status=resp.status_code)
        if resp.status_code == 503:
            raise ServiceUnavailable(f"{self.name} is unavailable.", code="upstream_unavailable")
        extra = {"upstream_status": resp.status_code}
        if 400 <= resp.status_code < 500 and resp.status_code not in (408, 425, 429):
            raise UpstreamRefused(f"{self.name} refused the request.", extra=extra)
        raise UpstreamError(f"{self.name} failed to handle the request.", code="upstream_error", extra=extra)


class HttpRateSource(_HttpService):
    name = "exchange-rate-service"

    async def current(self, currency: str) -> Rate:
        try:
            body = await self._call("GET", f"/internal/rates/{currency}")
        except ServiceUnavailable as exc:
            raise ServiceUnavailable(
                f"No fresh {currency} exchange rate is available right now.", code="rate_unavailable"
            ) from exc
        try:
            rate = parse_decimal(body["rate_to_bdt"])
            as_of = datetime.fromisoformat(body["as_of"]) if body.get("as_of") else None
        except (KeyError, TypeError, ValueError, MoneyError) as exc:
            raise UpstreamError(
                "exchange-rate-service sent an unreadable rate.", code="upstream_bad_response"
            ) from exc
        if rate <= 0:
            raise UpstreamError(
                "exchange-rate-service sent a non-positive rate.", code="upstream_bad_response"
            )
        return Rate(
            currency=currency, rate_to_bdt=rate, source=str(body.get("source") or "unknown"), as_of=as_of
        )


class HttpUserDirectory(_HttpService):
    name = "user-service"

    async def customer(self, user_id: str) -> Customer:
        body = await self._call("GET", f"/internal/users/{user_id}")
        if body.get("is_active") is False:
            raise Forbidden("This account is not active.", code="account_inactive")
        name = body.get("full_name") or body.get("username") or "Customer"
        return Customer(
            name=str(name), email=str(body.get("email") or ""), phone=str(body.get("phone_number") or "")
        )


class HttpPaymentGateway(_HttpService):
    name = "payment-service"

    async def create_session(self, payload: dict[str, Any]) -> PaymentSession:
        body = await self._call("POST", "/internal/payments/sessions", json=payload, ok=(200, 201))
        url = body.get("payment_url")
        if not isinstance(url, str) or not url:
            raise UpstreamError("payment-service returned no payment URL.", code="upstream_bad_response")
        return PaymentSession(
            payment_id=str(body.get("payment_id") or ""),
            payment_url=url,
            status=str(body.get("status") or ""),
        )

    async def request_payout(self, transaction_id: str) -> dict[str, Any]:
        return await self._call(
            "POST", "/internal/payouts", json={"transaction_id": transaction_id}, ok=(200, 201, 202)
        )

    async def request_refund(self, transaction_id: str, reason: str) -> dict[str, Any]:
        return await self._call(
            "POST",
            "/internal/refunds",
            json={"transaction_id": transaction_id, "reason": reason},
            ok=(200, 201, 202),
        )

    async def reconcile(self, transaction_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/internal/reconcile/{transaction_id}", ok=(200, 202))


@dataclass
class Clients:
    rates: RateSource
    users: UserDirectory
    payments: PaymentGateway


def http_clients(http: httpx.AsyncClient, settings: Any) -> Clients:
    t = settings.upstream_timeout
    return Clients(
        rates=HttpRateSource(http, settings.url_of("exchange-rate-service"), t),
        users=HttpUserDirectory(http, settings.url_of("user-service"), t),
        payments=HttpPaymentGateway(http, settings.url_of("payment-service"), t),
    )


def is_retryable(exc: ProblemError) -> bool:
    return not isinstance(exc, UpstreamRefused) and exc.status >= 500
