"""Per-process resources the domains need, created in `lifespan` and reached through `CtxDep`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from shared.db import Database
from transaction_service.clients import Clients
from transaction_service.runtime import RuntimeSettings
from transaction_service.settings import Settings

if TYPE_CHECKING:
    from transaction_service.saga.worker import SagaWorker


@dataclass
class ServiceContext:
    settings: Settings
    runtime: RuntimeSettings
    clients: Clients
    db: Database
    worker: SagaWorker | None = None

    def wake_worker(self) -> None:
        if self.worker is not None:
            self.worker.wake()


def get_ctx(request: Request) -> ServiceContext:
    return request.app.state.ctx


CtxDep = Annotated[ServiceContext, Depends(get_ctx)]
