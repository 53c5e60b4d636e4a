"""CONTRACT STUB — not a fake of the outside world, and not our real services.

payment-service, exchange-rate-service and user-service are being written in parallel; until the
cross-service end-to-end suite runs them for real, this tiny HTTP app serves exactly the responses
docs/internal-api.md documents for the calls transaction-service makes, on a free loopback port,
so our real HTTP clients are exercised over real sockets. Tests switch failure modes per call and
read back what was called.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

CALLER_KEY = "dev-transaction-service-key"
HANG_SECONDS = 3.0  # longer than the tests' 2 s client timeout

DEFAULT_RATES = {
    "USD": "117.500000",
    "EUR": "127.250000",
    "GBP": "148.100000",
    "CAD": "86.400000",
    "AUD": "77.300000",
    "JPY": "0.785000",
    "CHF": "133.900000",
    "SGD": "87.600000",
}


@dataclass
class ContractState:
    rates: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RATES))
    stale_rates: set[str] = field(default_factory=set)  # → 503 problem
    session_status: int = 201  # 201 ok; 500/503 failures; 0 = hang past the client timeout
    session_delay: float = 0.0
    payout_status: int = 202
    refund_status: int = 202
    inactive_users: set[str] = field(default_factory=set)
    runtime_settings: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def reset(self) -> None:
        fresh = ContractState()
        for name in (
            "rates",
            "stale_rates",
            "session_status",
            "session_delay",
            "payout_status",
            "refund_status",
            "inactive_users",
            "runtime_settings",
        ):
            setattr(self, name, getattr(fresh, name))

    def calls_to(self, path_prefix: str, transaction_id: str | None = None) -> list[Any]:
        out = []
        for _method, path, body in list(self.calls):
            if not path.startswith(path_prefix):
                continue
            if (
                transaction_id is None
                or transaction_id in path
                or (isinstance(body, dict) and body.get("transaction_id") == transaction_id)
            ):
                out.append(body)
        return out


def _problem(status: int, code: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": code, "status": status, "code": code, "detail": code},
        status_code=status,
        media_type="application/problem+json",
    )


def build_app(state: ContractState) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def check_key(request: Request, call_next: Any) -> Any:
        if request.headers.get("x-api-key") != CALLER_KEY:
            return _problem(401, "invalid_service_key")
        body = await request.json() if request.method == "POST" and await request.body() else None
        state.calls.append((request.method, request.url.path, body))
        return await call_next(request)

    # exchange-rate-service
    @app.get("/internal/rates/{currency}")
    async def rate(currency: str) -> Any:
        if currency in state.stale_rates or currency not in state.rates:
            return _problem(503, "rate_unavailable")
        now = time.time()
        return {
            "currency": currency,
            "base": "BDT",
            "rate_to_bdt": state.rates[currency],
            "source": "static",
            "as_of": "2026-11-26T00:00:00+00:00",
            "fetched_at": "2026-11-26T00:00:05+00:00",
            "expires_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + 900)),
        }

    # user-service
    @app.get("/internal/users/{user_id}")
    async def user(user_id: str) -> Any:
        return {
            "id": user_id,
            "username": "sender",
            "email": "sender@example.com",
            "full_name": "Rahim Uddin",
            "phone_number": "+8801700000000",
            "role": "user",
            "is_active": user_id not in state.inactive_users,
            "email_verified": True,
            "locked_until": None,
            "preferred_language": "en",
        }

    # payment-service
    @app.post("/internal/payments/sessions")
    async def create_session(request: Request) -> Any:
        body = await request.json()
        if state.session_status == 0:
            await asyncio.sleep(HANG_SECONDS)
        if state.session_delay:
            await asyncio.sleep(state.session_delay)
        if state.session_status >= 400:
            return _problem(state.session_status, "provider_error")
        tid = body["transaction_id"]
        existing = state.sessions.get(tid)
        if existing is None:
            key = uuid.uuid4().hex
            existing = {
                "payment_id": str(uuid.uuid4()),
                "sessionkey": key,
                "payment_url": f"http://127.0.0.1:1/sslcommerz/pay/{key}",
                "status": "INITIATED",
            }
            state.sessions[tid] = existing
        return JSONResponse(existing, status_code=201)

    @app.post("/internal/payouts")
    async def payout(request: Request) -> Any:
        body = await request.json()
        if state.payout_status >= 400:
            return _problem(state.payout_status, "payout_error")
        tid = body["transaction_id"]
        return JSONResponse(
            {"payout_id": f"po-{tid[:8]}", "sender_batch_id": f"TXN-{tid}", "status": "PENDING"},
            status_code=202,
        )

    @app.post("/internal/refunds")
    async def refund(request: Request) -> Any:
        body = await request.json()
        if state.refund_status >= 400:
            return _problem(state.refund_status, "refund_error")
        return JSONResponse(
            {"refund_id": f"rf-{body['transaction_id'][:8]}", "status": "INITIATED"}, status_code=202
        )

    # admin-service
    @app.get("/internal/settings")
    async def runtime_settings() -> Any:
        return dict(state.runtime_settings)

    @app.post("/internal/reconcile/{transaction_id}")
    async def reconcile(transaction_id: str) -> Any:
        return {"transaction_id": transaction_id, "found": [], "emitted": []}

    return app


@dataclass
class ContractStub:
    """The stub's state and, once served (`shared.testing.servers.serve`), its base URL."""

    state: ContractState = field(default_factory=ContractState)
    url: str = ""

    def app(self) -> FastAPI:
        return build_app(self.state)
