"""transaction-service's `GET /internal/transactions/{id}` (docs/internal-api.md): the only
source of a payout's amount, currency and recipient."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from shared.errors import NotFound, ServiceUnavailable, UpstreamError

TIMEOUT = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=5.0)


class TransactionServiceClient:
    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http = http  # the app's pooled client; it carries our X-API-Key
        self.base_url = base_url.rstrip("/")

    async def get(self, transaction_id: uuid.UUID) -> dict[str, Any]:
        try:
            resp = await self.http.get(
                f"{self.base_url}/internal/transactions/{transaction_id}", timeout=TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                "transaction-service is unreachable.",
                code="transaction_service_unavailable",
                headers={"Retry-After": "5"},
            ) from exc
        if resp.status_code == 404:
            raise NotFound("Transaction not found.", code="transaction_not_found")
        if resp.status_code != 200:
            raise UpstreamError(
                "transaction-service answered with an error.", code="transaction_service_error"
            )
        try:
            body = resp.json()
        except ValueError as exc:
            raise UpstreamError(
                "transaction-service answered with an error.", code="transaction_service_error"
            ) from exc
        if not isinstance(body, dict) or str(body.get("id")) != str(transaction_id):
            raise UpstreamError(
                "transaction-service answered with another record.", code="transaction_service_error"
            )
        return body
