"""CONTRACT STUB — not a fake of the outside world, and not our real services.

user-service's staff APIs, exchange-rate-service, audit-service, notification-service,
payment-service and the gateway are being written in parallel; until the cross-service suite runs
them for real, this tiny HTTP app serves exactly what docs/internal-api.md and their public API
documents say for the calls admin-service (and the real transaction-service served in these tests)
make, on a free loopback port, and records what it received:

- user-service: `GET/PATCH /api/v1/users[/{id}]` (bearer: staff may read, admin may change),
  `POST /api/v1/users/{id}/sessions/revoke` (admin), `GET /internal/users/stats` (service key);
- exchange-rate-service: `GET /internal/rates/{currency}`;
- every subscriber: `POST /internal/events` (the envelopes are kept: the audit trail);
- gateway: `GET /health/services` (circuit breakers); every service: `/health/ready`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

RATES = {"USD": "117.500000", "EUR": "127.250000", "GBP": "148.100000"}


def _problem(status: int, code: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": code, "status": status, "detail": code, "code": code},
        status_code=status,
        media_type="application/problem+json",
    )


@dataclass
class StubState:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # envelopes received
    user_events: list[dict[str, Any]] = field(default_factory=list)  # what user-service would emit
    revoked: list[str] = field(default_factory=list)
    bearer_seen: list[str] = field(default_factory=list)

    def add_user(
        self, role: str = "user", created_at: str = "2026-11-26T00:00:00+00:00", **extra: Any
    ) -> dict:
        uid = str(uuid.uuid4())
        self.users[uid] = {
            "id": uid,
            "username": f"u{uid[:8]}",
            "email": f"{uid[:8]}@example.com",
            "role": role,
            "is_active": True,
            "email_verified": True,
            "locked_until": None,
            "failed_login_count": 0,
            "created_at": created_at,
            **extra,
        }
        return self.users[uid]

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == event_type]


def _role(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    # The stub trusts the token's claims (signature checking is user-service's job, tested there).
    return jwt.decode(token, options={"verify_signature": False}).get("role")


def build_app(state: StubState) -> FastAPI:
    app = FastAPI()

    @app.get("/health/ready")
    async def ready() -> Any:
        return {"status": "ready", "checks": {"database": "ok"}}

    @app.get("/health/services")
    async def breakers(request: Request) -> Any:
        if _role(request) != "admin":
            return {"status": "ok"}
        return {"status": "ok", "services": {"user-service": {"breaker": "closed"}}}

    @app.post("/internal/events")
    async def events(request: Request) -> Any:
        envelope = await request.json()
        state.events.append(envelope)
        return {"status": "processed", "event_id": envelope["id"]}

    @app.get("/internal/rates/{currency}")
    async def rate(currency: str) -> Any:
        if currency not in RATES:
            return _problem(503, "rate_unavailable")
        return {
            "currency": currency,
            "base": "BDT",
            "rate_to_bdt": RATES[currency],
            "source": "static",
            "as_of": "2026-11-26T00:00:00+00:00",
            "fetched_at": "2026-11-26T00:00:05+00:00",
            "expires_at": "2099-01-01T00:00:00+00:00",
        }

    @app.get("/internal/users/stats")
    async def user_stats(date_from: str, date_to: str) -> Any:
        lo, hi = datetime.fromisoformat(date_from), datetime.fromisoformat(date_to)
        new = [u for u in state.users.values() if lo <= datetime.fromisoformat(u["created_at"]) < hi]
        return {"new_users": len(new), "total_users": len(state.users)}

    @app.get("/api/v1/users")
    async def list_users(request: Request, q: str | None = None, page: int = 1, size: int = 20) -> Any:
        role = _role(request)
        state.bearer_seen.append(request.headers.get("authorization", ""))
        if role is None:
            return _problem(401, "not_authenticated")
        if role not in ("admin", "support"):
            return _problem(403, "insufficient_role")
        items = [u for u in state.users.values() if not q or q in u["username"] or q in u["email"]]
        return {
            "items": items[(page - 1) * size : page * size],
            "total": len(items),
            "page": page,
            "size": size,
        }

    @app.get("/api/v1/users/{user_id}")
    async def get_user(user_id: str, request: Request) -> Any:
        if _role(request) not in ("admin", "support"):
            return _problem(403, "insufficient_role")
        user = state.users.get(user_id)
        return user if user else _problem(404, "user_not_found")

    @app.patch("/api/v1/users/{user_id}")
    async def patch_user(user_id: str, request: Request) -> Any:
        if _role(request) != "admin":
            return _problem(403, "insufficient_role")
        user = state.users.get(user_id)
        if user is None:
            return _problem(404, "user_not_found")
        body = await request.json()
        if "role" in body and body["role"] != user["role"]:
            state.user_events.append(
                {"type": "user.role_changed", "old_role": user["role"], "new_role": body["role"]}
            )
            user["role"] = body["role"]
        if "is_active" in body and body["is_active"] != user["is_active"]:
            user["is_active"] = body["is_active"]
            state.user_events.append(
                {"type": "user.deactivated" if not body["is_active"] else "user.reactivated"}
            )
        if body.get("unlock"):
            user["locked_until"], user["failed_login_count"] = None, 0
            state.user_events.append({"type": "user.unlocked"})
        return user

    @app.post("/api/v1/users/{user_id}/sessions/revoke")
    async def revoke(user_id: str, request: Request) -> Any:
        if _role(request) != "admin":
            return _problem(403, "insufficient_role")
        if user_id not in state.users:
            return _problem(404, "user_not_found")
        state.revoked.append(user_id)
        return {"user_id": user_id, "sessions_revoked": 2}

    return app
