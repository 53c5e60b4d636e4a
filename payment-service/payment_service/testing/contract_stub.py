"""CONTRACT STUB of transaction-service's `GET /internal/transactions/{id}` (docs/internal-api.md):
a tiny real HTTP app on a free loopback port serving the documented record, so the payment-service
calls it over HTTP with its service key exactly as in production. It is not transaction-service."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse

from shared.devstack import free_port
from shared.settings import dev_api_key


def transaction_record(
    transaction_id: uuid.UUID,
    internal_tran_id: str,
    user_id: uuid.UUID,
    *,
    status: str = "BDT_RECEIVED",
    currency: str = "USD",
    amount: str = "100.00",
    recipient: str = "alice@example.com",
    on_hold: bool = False,
    total_bdt: str = "11985.00",
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": str(transaction_id),
        "internal_tran_id": internal_tran_id,
        "user_id": str(user_id),
        "status": status,
        "on_hold": on_hold,
        "hold_reason": None,
        "foreign_currency": currency,
        "foreign_amount": amount,
        "recipient_paypal_email": recipient,
        "payment_purpose": "family support",
        "rate_to_bdt": "117.500000",
        "bdt_amount": "11750.00",
        "fee_bdt": "235.00",
        "total_bdt": total_bdt,
        "created_at": now.isoformat(),
        "updated_at": now.isoformat(),
        "expires_at": (now + timedelta(minutes=30)).isoformat(),
    }


class TransactionServiceStub:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.callers: list[str | None] = []
        self.app = FastAPI()

        @self.app.get("/internal/transactions/{transaction_id}")
        async def get_transaction(
            transaction_id: str, x_api_key: str | None = Header(default=None)
        ) -> JSONResponse:
            self.callers.append(x_api_key)
            if x_api_key != dev_api_key("payment-service"):
                return JSONResponse({"status": 401, "code": "invalid_service_key"}, status_code=401)
            record = self.records.get(transaction_id)
            if record is None:
                return JSONResponse({"status": 404, "code": "not_found"}, status_code=404)
            return JSONResponse(record)

    def add(self, record: dict[str, Any]) -> None:
        self.records[record["id"]] = record


@contextlib.asynccontextmanager
async def serve_stub(stub: TransactionServiceStub) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            stub.app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
