"""Outbound notifications (IPNs, webhooks): POST, record every attempt, retry with backoff.

The first attempt runs inside the call that caused it (so a test that completes a payment knows the
IPN has been tried when the control call returns); retries run as background tasks owned by the
`Deliverer` and cancelled at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import httpx

from provider_sandbox.state import Delivery, SandboxState, iso, now
from shared.logging import get_logger

log = get_logger(__name__)

MAX_BACKOFF_SECONDS = 30.0


class Deliverer:
    def __init__(self, http: httpx.AsyncClient, state: SandboxState) -> None:
        self.http = http
        self.state = state
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def cancel_all(self) -> None:
        for task in list(self.tasks):
            task.cancel()

    async def close(self) -> None:
        self.cancel_all()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def deliver(
        self, delivery: Delivery, *, max_attempts: int, base_delay: float, delay: float = 0.0
    ) -> Delivery:
        """Record `delivery`, try it once now (after `delay` seconds if given), retry in the background."""
        self.state.deliveries.append(delivery)
        if delay > 0:
            self.spawn(self._run(delivery, max_attempts, base_delay, delay))
            return delivery
        if not await self._attempt(delivery) and max_attempts > 1:
            self.spawn(self._retry(delivery, max_attempts, base_delay))
        return delivery

    async def _run(self, delivery: Delivery, max_attempts: int, base_delay: float, delay: float) -> None:
        await asyncio.sleep(delay)
        if not await self._attempt(delivery) and max_attempts > 1:
            await self._retry(delivery, max_attempts, base_delay)

    async def _retry(self, delivery: Delivery, max_attempts: int, base_delay: float) -> None:
        for attempt in range(1, max_attempts):
            await asyncio.sleep(min(base_delay * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
            if await self._attempt(delivery):
                return
        log.warning("delivery_gave_up", kind=delivery.kind, ref=delivery.ref, attempts=len(delivery.attempts))

    async def _attempt(self, delivery: Delivery) -> bool:
        record: dict[str, Any] = {"at": iso(now())}
        try:
            resp = await self.http.post(
                delivery.url, content=delivery.body.encode(), headers=delivery.headers
            )
            record["status"] = resp.status_code
            ok = 200 <= resp.status_code < 300
        except httpx.HTTPError as exc:
            record["error"] = type(exc).__name__
            ok = False
        delivery.attempts.append(record)
        delivery.delivered = delivery.delivered or ok
        log.info("delivery_attempt", kind=delivery.kind, ref=delivery.ref, ok=ok, status=record.get("status"))
        return ok
