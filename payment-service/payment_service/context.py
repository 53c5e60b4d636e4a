"""The resources the payment flows need, built once in `lifespan` (never at import or per request)
and handed to routers through `CtxDep`."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.metrics import EVENTS
from payment_service.models import OutboxMessage
from payment_service.providers.paypal import PayPalClient
from payment_service.providers.paypal_webhook import OfflineVerifier
from payment_service.providers.sslcommerz import SSLCommerzClient
from payment_service.settings import Settings
from payment_service.transactions_client import TransactionServiceClient
from shared.db import Database
from shared.outbox import publish


@dataclass
class Context:
    settings: Settings
    db: Database
    sslcommerz: SSLCommerzClient
    paypal: PayPalClient
    offline_verifier: OfflineVerifier
    transactions: TransactionServiceClient

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One short transaction. Flows that call providers commit in phases (state persisted
        before a provider call, provider answer applied after it) and never hold a transaction
        or a row lock across the network."""
        async with self.db.sessionmaker() as session, session.begin():
            yield session


async def emit(
    session: AsyncSession, event_type: str, subject_id: uuid.UUID, data: Mapping[str, Any]
) -> None:
    """Publish in the caller's transaction (the state change and its event commit together)."""
    await publish(
        session,
        OutboxMessage,
        event_type=event_type,
        producer=Settings.SERVICE_NAME,
        data=dict(data),
        subject_id=str(subject_id),
    )
    EVENTS.labels(event_type).inc()  # counted at publish; a rolled-back unit of work over-counts


def get_context(request: Request) -> Context:
    return request.app.state.ctx


CtxDep = Annotated[Context, Depends(get_context)]
