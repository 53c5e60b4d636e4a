"""The resources the payment flows need, built once in `lifespan` (never at import or per request)
and handed to routers through `CtxDep`. The provider clients are replaced when admin-service
changes their runtime settings, so flows read `ctx.paypal` / `ctx.sslcommerz` at each call."""

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
from payment_service.providers.factory import ProviderFactory
from payment_service.providers.paypal import PayPalClient
from payment_service.providers.paypal_webhook import OfflineVerifier
from payment_service.providers.sslcommerz import SSLCommerzClient
from payment_service.runtime import PAYPAL_KEYS, SSLCOMMERZ_KEYS, RuntimeSettings
from payment_service.settings import Settings
from payment_service.transactions_client import TransactionServiceClient
from shared.db import Database
from shared.logging import get_logger
from shared.outbox import publish

log = get_logger(__name__)


@dataclass
class Context:
    settings: Settings
    db: Database
    sslcommerz: SSLCommerzClient
    paypal: PayPalClient
    offline_verifier: OfflineVerifier
    transactions: TransactionServiceClient
    runtime: RuntimeSettings
    providers: ProviderFactory

    def on_runtime_change(self, changed: frozenset[str]) -> None:
        """Swap in a client built from the new settings: the next provider call uses it, calls in
        flight finish on the old one. Callers read `ctx.paypal` / `ctx.sslcommerz` per call."""
        if changed & SSLCOMMERZ_KEYS:
            self.sslcommerz = self.providers.sslcommerz()
        if changed & PAYPAL_KEYS:
            self.paypal = self.providers.paypal()
        log.info("provider_clients_rebuilt", keys=sorted(changed))  # keys only, never values

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
