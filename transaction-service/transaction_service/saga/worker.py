"""The saga worker: the outgoing half of the saga, driven only by persisted state so a crash or
restart loses nothing.

- payout due: `BDT_RECEIVED`, not on hold, no payout requested yet → `POST /internal/payouts`
  (idempotent per transaction at payment-service) → `PROCESSING`;
- refund due: `FAILED` (or a late payment on CANCELLED/EXPIRED released by an admin) after BDT
  was received, no refund requested yet → `POST /internal/refunds`;
- expiry: `PENDING` (not on hold) past `expires_at` → `EXPIRED`;
- reconciler (every RECONCILE_INTERVAL, single-flight across replicas via a `job_lease` row):
  transactions unchanged for RECONCILE_STUCK_AFTER in PENDING/BDT_RECEIVED/PROCESSING (or FAILED
  awaiting a refund) → `POST /internal/reconcile/{id}`; payment-service emits whatever events we
  missed, which then arrive through the inbox like any other.

Work is claimed with `FOR UPDATE SKIP LOCKED` and a lease in `next_action_at`, so replicas never
make the same call at once and a call cut short by a crash is retried after the lease. Failed calls
back off exponentially; a 4xx refusal puts the transaction on hold for a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shared.db import for_update, insert_ignore, utcnow
from shared.errors import ProblemError
from shared.idempotency import purge_expired_keys
from shared.logging import get_logger
from transaction_service.clients import is_retryable
from transaction_service.metrics import SAGA_CALLS
from transaction_service.models import IdempotencyKey, JobLease, Transaction
from transaction_service.transactions import repository as repo
from transaction_service.transactions import status as sm

if TYPE_CHECKING:
    from transaction_service.context import ServiceContext

log = get_logger(__name__)

_DUE = "saga_work_due"
BATCH = 20
PURGE_EVERY = 3600.0  # seconds between idempotency-key purges


def mark_due(session: AsyncSession | Session) -> None:
    """Wake the worker when this session commits (new payout/refund work)."""
    session.info[_DUE] = True


class SagaWorker:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.db = ctx.db
        s = ctx.settings
        self.settings = s
        self.lease = timedelta(seconds=s.saga_action_lease_seconds)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"[:64]
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._reconcile_lock = asyncio.Lock()
        self._last_reconcile = float("-inf")
        self._last_purge = float("-inf")
        self.db.commit_hooks.append(self._on_commit)

    # -- wake-up ---------------------------------------------------------------------------
    def _on_commit(self, session: Session) -> None:
        if session.info.pop(_DUE, False):
            self.wake()

    def wake(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def backoff(self, attempts: int) -> timedelta:
        s = self.settings
        return timedelta(
            seconds=min(s.saga_retry_max_delay, s.saga_retry_base_delay * 2 ** max(0, attempts - 1))
        )

    # -- one pass ---------------------------------------------------------------------------
    async def run_once(self, *, reconcile: bool | None = None) -> dict[str, int]:
        out = {
            "payouts": await self.request_payouts(),
            "refunds": await self.request_refunds(),
            "expired": await self.expire_unpaid(),
            "reconciled": 0,
        }
        now = time.monotonic()
        if reconcile or (
            reconcile is None and now - self._last_reconcile >= self.settings.reconcile_interval
        ):
            self._last_reconcile = now
            out["reconciled"] = await self.reconcile()
        if now - self._last_purge >= PURGE_EVERY:
            self._last_purge = now
            async with self.db.sessionmaker() as session, session.begin():
                await purge_expired_keys(session, IdempotencyKey)
        return out

    async def _claim(self, *conditions: Any) -> list[Transaction]:
        t = Transaction
        async with self.db.sessionmaker() as session, session.begin():
            now = utcnow()
            stmt = (
                select(t)
                .where(
                    *conditions,
                    t.on_hold.is_(False),
                    or_(t.next_action_at.is_(None), t.next_action_at <= now),
                )
                .order_by(t.updated_at)
                .limit(BATCH)
            )
            rows = list((await session.scalars(for_update(stmt, session, skip_locked=True))).all())
            for row in rows:
                row.next_action_at = now + self.lease
            return rows

    async def _after_call_failed(self, txn_id: uuid.UUID, exc: ProblemError, hold_reason: str) -> None:
        async with self.db.sessionmaker() as session, session.begin():
            txn = await repo.get_locked(session, txn_id)
            if txn is None:
                return
            txn.action_attempts += 1
            if not is_retryable(exc):
                log.warning("saga_call_refused", transaction_id=str(txn_id), status=exc.status, code=exc.code)
                await sm.hold(session, txn, hold_reason)
            else:
                log.info(
                    "saga_call_failed",
                    transaction_id=str(txn_id),
                    code=exc.code,
                    attempts=txn.action_attempts,
                )
                txn.next_action_at = utcnow() + self.backoff(txn.action_attempts)

    # -- payouts ----------------------------------------------------------------------------
    async def request_payouts(self) -> int:
        t = Transaction
        claimed = await self._claim(t.status == sm.BDT_RECEIVED, t.payout_requested_at.is_(None))
        for row in claimed:
            try:
                result = await self.ctx.clients.payments.request_payout(str(row.id))
                SAGA_CALLS.labels("payout", "ok").inc()
            except ProblemError as exc:
                SAGA_CALLS.labels("payout", "error").inc()
                await self._after_call_failed(row.id, exc, "payout_request_refused")
                continue
            async with self.db.sessionmaker() as session, session.begin():
                txn = await repo.get_locked(session, row.id)
                if txn is None:
                    continue
                txn.payout_requested_at = txn.payout_requested_at or utcnow()
                txn.payout_id = str(result.get("payout_id") or txn.payout_id or "") or None
                txn.action_attempts, txn.next_action_at = 0, None
                # An early payout.* event may already have moved it on; the machine decides.
                await sm.transition(
                    session, txn, sm.PROCESSING, reason="payout requested", actor_type="system"
                )
        return len(claimed)

    # -- refunds ----------------------------------------------------------------------------
    async def request_refunds(self) -> int:
        t = Transaction
        # FAILED after BDT arrived, or a late payment on a CANCELLED/EXPIRED one once a person
        # released its hold by ordering the refund.
        claimed = await self._claim(
            t.status.in_((sm.FAILED, sm.CANCELLED, sm.EXPIRED)),
            t.bdt_received_at.is_not(None),
            t.refund_requested_at.is_(None),
        )
        for row in claimed:
            try:
                result = await self.ctx.clients.payments.request_refund(
                    str(row.id), row.failure_reason or "failed"
                )
                SAGA_CALLS.labels("refund", "ok").inc()
            except ProblemError as exc:
                SAGA_CALLS.labels("refund", "error").inc()
                await self._after_call_failed(row.id, exc, "refund_request_refused")
                continue
            async with self.db.sessionmaker() as session, session.begin():
                txn = await repo.get_locked(session, row.id)
                if txn is None:
                    continue
                txn.refund_requested_at = txn.refund_requested_at or utcnow()
                txn.refund_id = str(result.get("refund_id") or txn.refund_id or "") or None
                txn.action_attempts, txn.next_action_at = 0, None
        return len(claimed)

    # -- expiry -----------------------------------------------------------------------------
    async def expire_unpaid(self) -> int:
        t = Transaction
        async with self.db.sessionmaker() as session, session.begin():
            stmt = (
                select(t)
                .where(t.status == sm.PENDING, t.on_hold.is_(False), t.expires_at <= utcnow())
                .order_by(t.expires_at)
                .limit(100)
            )
            rows = (await session.scalars(for_update(stmt, session, skip_locked=True))).all()
            for txn in rows:
                await sm.transition(
                    session, txn, sm.EXPIRED, reason="payment window elapsed", actor_type="system"
                )
            return len(rows)

    # -- reconciler -------------------------------------------------------------------------
    async def _acquire_lease(self, name: str, ttl: float) -> bool:
        async with self.db.sessionmaker() as session, session.begin():
            now = utcnow()
            await insert_ignore(session, JobLease, name=name, owner=self.owner, locked_until=now)
            result: Any = await session.execute(
                update(JobLease)
                .where(JobLease.name == name, or_(JobLease.locked_until <= now, JobLease.owner == self.owner))
                .values(owner=self.owner, locked_until=now + timedelta(seconds=ttl))
            )
            return result.rowcount == 1

    async def reconcile(self) -> int:
        """Single-flight: one run per process at a time, one replica per interval (lease)."""
        if self._reconcile_lock.locked():
            return 0
        async with self._reconcile_lock:
            if not await self._acquire_lease("reconciler", max(5.0, self.settings.reconcile_interval * 0.9)):
                return 0
            t = Transaction
            cutoff = utcnow() - timedelta(seconds=self.settings.reconcile_stuck_after)
            async with self.db.sessionmaker() as session:
                ids = (
                    await session.scalars(
                        select(t.id)
                        .where(
                            or_(
                                t.status.in_((sm.PENDING, sm.BDT_RECEIVED, sm.PROCESSING)),
                                (t.status == sm.FAILED) & t.refund_requested_at.is_not(None),
                            ),
                            t.updated_at <= cutoff,
                            or_(t.last_reconciled_at.is_(None), t.last_reconciled_at <= cutoff),
                        )
                        .order_by(t.updated_at)
                        .limit(self.settings.reconcile_batch_size)
                    )
                ).all()
            for txn_id in ids:
                try:
                    found = await self.ctx.clients.payments.reconcile(str(txn_id))
                    log.info("reconciled", transaction_id=str(txn_id), found=str(found)[:200])
                except ProblemError as exc:
                    log.warning("reconcile_failed", transaction_id=str(txn_id), code=exc.code)
                async with self.db.sessionmaker() as session, session.begin():
                    await session.execute(update(t).where(t.id == txn_id).values(last_reconciled_at=utcnow()))
            return len(ids)

    # -- loop -------------------------------------------------------------------------------
    async def run_forever(self) -> None:
        while True:
            # Cleared before the pass, so a wake-up that arrives during it is not lost.
            self._wake.clear()
            try:
                out = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep going: the database or a peer may be briefly unavailable
                log.warning("saga_worker_error", error=type(exc).__name__)
                out = {}
            if not (out.get("payouts") or out.get("refunds")):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.settings.saga_poll_interval)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name="saga-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._on_commit in self.db.commit_hooks:
            self.db.commit_hooks.remove(self._on_commit)
