"""Per-request context for the service layer and the event helper.

`Ctx` bundles the request's unit of work with the process-wide resources created in the lifespan
(password hasher, token issuer, key-value store), so service functions take one argument.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import TokenVerifier
from shared.deps import SessionDep
from shared.events import DEFAULT_SUBSCRIPTIONS
from shared.kv import KeyValueStore
from shared.outbox import publish
from shared.sealed import seal
from user_service.models import OutboxMessage
from user_service.security.passwords import PasswordHasher
from user_service.security.tokens import TokenIssuer
from user_service.settings import Settings

PRODUCER = "user-service"
# Events only the audit trail needs (staff reads): not fanned out to notification-service.
AUDIT_ONLY = {"audit-service": DEFAULT_SUBSCRIPTIONS["audit-service"]}


@dataclass
class Ctx:
    session: AsyncSession
    settings: Settings
    kv: KeyValueStore
    hasher: PasswordHasher
    issuer: TokenIssuer
    verifier: TokenVerifier
    ip: str | None = None
    user_agent: str | None = None

    async def emit(
        self, event_type: str, subject_id: uuid.UUID | str | None, *, audit_only: bool = False, **data: Any
    ) -> None:
        """Publish an event in this request's transaction (sent only if it commits)."""
        await publish(
            self.session,
            OutboxMessage,
            event_type=event_type,
            producer=PRODUCER,
            data=data,
            subject_id=str(subject_id) if subject_id is not None else None,
            subscriptions=AUDIT_ONLY if audit_only else None,
        )

    def seal(self, data: dict[str, Any]) -> str:
        return seal(data, self.settings.event_seal_key.get_secret_value())


def client_ip(request: Request) -> str | None:
    # The gateway sets a trusted X-Forwarded-For; it is recorded for the audit trail only.
    forwarded = request.headers.get("x-forwarded-for", "")
    ip = forwarded.split(",")[0].strip() if forwarded else (request.client.host if request.client else None)
    return ip[:45] if ip else None


async def get_ctx(request: Request, session: SessionDep) -> Ctx:
    state = request.app.state
    return Ctx(
        session=session,
        settings=state.settings,
        kv=state.kv,
        hasher=state.hasher,
        issuer=state.issuer,
        verifier=state.verifier,
        ip=client_ip(request),
        user_agent=(request.headers.get("user-agent") or "")[:200] or None,
    )


CtxDep = Annotated[Ctx, Depends(get_ctx)]
