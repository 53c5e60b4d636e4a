"""`Idempotency-Key` support for money-creating POSTs (ARCHITECTURE §9).

Semantics, per (scope, key) — the scope is normally the calling principal:

- same key + same request (method, path, canonical JSON body) → the stored status + body replayed;
- same key + a different request → `422 idempotency_key_reused`;
- same key while the first request is still in flight → `409 idempotency_request_in_flight`;
- an in-flight claim left behind by a crashed process is taken over after `in_flight_timeout`;
- records are kept for `retention` (≥ 24 h) and then purged (`purge_expired_keys`).

The claim is committed in its own short transaction (so a concurrent duplicate sees it), while the
stored response is written in the caller's unit of work — the same DB transaction as the effect —
so a response is replayed only if its effect committed. If the effect fails, the claim is released
and the client may retry with the same key.

A service declares the table with two lines and creates it with `idempotency_table_ops(op)`:

    class IdempotencyKey(IdempotencyKeyMixin, Base):
        pass
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Index, String, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared.db import BigIntPK, JSONType, for_update, utcnow
from shared.errors import BadRequest, Conflict, Unprocessable
from shared.logging import get_logger

log = get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
IN_FLIGHT, COMPLETED = "in_flight", "completed"
DEFAULT_RETENTION = timedelta(hours=24)
DEFAULT_IN_FLIGHT_TIMEOUT = timedelta(seconds=60)

# Visible ASCII, 1–255 characters (UUIDs, ULIDs and client-chosen tokens all fit).
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyKeyMixin:
    __tablename__ = "idempotency_key"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(200), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    owner: Mapped[str] = mapped_column(String(32), nullable=False)
    response_status: Mapped[int | None] = mapped_column(nullable=True)
    response_body: Mapped[Any] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            UniqueConstraint("scope", "key"),
            Index("ix_idempotency_key_expires_at", "expires_at"),
        )


def idempotency_table_ops(op: Any) -> None:
    """Alembic `upgrade()` helper creating the table exactly as `IdempotencyKeyMixin` declares it."""
    from shared.db import UTCDateTime

    op.create_table(
        "idempotency_key",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", JSONType, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_idempotency_key"),
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_key_scope_key"),
    )
    op.create_index("ix_idempotency_key_expires_at", "idempotency_key", ["expires_at"])


def validate_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not _KEY_RE.match(value):
        raise BadRequest(
            "Idempotency-Key must be 1-255 visible ASCII characters.", code="invalid_idempotency_key"
        )
    return value


async def idempotency_key_header(
    idempotency_key: Annotated[
        str | None, Header(alias=HEADER, description="Replay-safe retries (24 h).")
    ] = None,
) -> str | None:
    """FastAPI dependency: the validated `Idempotency-Key` header, or None when absent."""
    return validate_key(idempotency_key)


def request_fingerprint(method: str, path: str, body: bytes | Any) -> str:
    """SHA-256 over the method, path and canonical JSON body (key order and spacing ignored)."""
    if isinstance(body, bytes | bytearray):
        try:
            canonical: Any = json.loads(body) if body else None
        except ValueError:
            canonical = body.decode("utf-8", "replace")
    else:
        canonical = jsonable_encoder(body)
    material = json.dumps([method.upper(), path, canonical], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass
class StoredResponse:
    status_code: int
    body: Any

    def to_response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status_code, headers={REPLAY_HEADER: "true"})


class IdempotencyClaim:
    """Our claim on a key: either a response to replay, or the right to perform the effect."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        model: type[IdempotencyKeyMixin],
        *,
        row_id: int | None,
        owner: str,
        replay: StoredResponse | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.model = model
        self.row_id = row_id
        self.owner = owner
        self.replay = replay
        self.completed = False

    async def complete(self, session: AsyncSession, status_code: int, body: Any) -> None:
        """Store the response in the caller's transaction (the one holding the effect). Fails with
        409 if another request took the key over meanwhile — the caller's effect then rolls back."""
        m = self.model
        result: Any = await session.execute(
            update(m)
            .where(m.id == self.row_id, m.owner == self.owner, m.status == IN_FLIGHT)
            .values(
                status=COMPLETED,
                response_status=status_code,
                response_body=jsonable_encoder(body),
                completed_at=utcnow(),
                locked_until=None,
            )
        )
        if result.rowcount != 1:
            raise Conflict(
                "This Idempotency-Key was taken over by another request.",
                code="idempotency_request_in_flight",
            )
        self.completed = True

    async def release(self) -> None:
        """Drop our in-flight claim (the effect failed) so the client may retry with the same key."""
        if self.completed or self.row_id is None:
            return
        m = self.model
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                delete(m).where(m.id == self.row_id, m.owner == self.owner, m.status == IN_FLIGHT)
            )


async def claim_key(
    sessionmaker: async_sessionmaker[AsyncSession],
    model: type[IdempotencyKeyMixin],
    *,
    scope: str,
    key: str,
    fingerprint: str,
    in_flight_timeout: timedelta = DEFAULT_IN_FLIGHT_TIMEOUT,
    retention: timedelta = DEFAULT_RETENTION,
) -> IdempotencyClaim:
    """Claim `key` in its own committed transaction, or raise 409/422, or return a replay."""
    if retention < DEFAULT_RETENTION:
        raise ValueError("idempotency keys must be kept at least 24 hours")
    m = model
    owner = secrets.token_hex(16)
    now = utcnow()
    async with sessionmaker() as session, session.begin():
        stmt = select(m).where(m.scope == scope, m.key == key)
        row = await session.scalar(for_update(stmt, session))
        if row is None:
            factory: Any = m  # a concrete subclass of the mixin (declarative constructor)
            row = factory(
                scope=scope,
                key=key,
                fingerprint=fingerprint,
                status=IN_FLIGHT,
                owner=owner,
                created_at=now,
                locked_until=now + in_flight_timeout,
                expires_at=now + retention,
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:
                # A concurrent first use of the same key won the insert and is now in flight.
                raise _in_flight() from None
            return IdempotencyClaim(sessionmaker, m, row_id=row.id, owner=owner)
        if row.expires_at <= now:
            # Past retention and not yet purged: the key starts afresh.
            _reset(row, fingerprint, owner, now, in_flight_timeout, retention)
            return IdempotencyClaim(sessionmaker, m, row_id=row.id, owner=owner)
        if row.fingerprint != fingerprint:
            raise Unprocessable(
                "This Idempotency-Key was already used with a different request.",
                code="idempotency_key_reused",
            )
        if row.status == COMPLETED:
            replay = StoredResponse(int(row.response_status or 200), row.response_body)
            return IdempotencyClaim(sessionmaker, m, row_id=row.id, owner=row.owner, replay=replay)
        if row.locked_until is not None and row.locked_until > now:
            raise _in_flight()
        # Abandoned by a process that died mid-request: take it over.
        log.info("idempotency_key_taken_over", scope=scope)
        row.owner = owner
        row.locked_until = now + in_flight_timeout
        return IdempotencyClaim(sessionmaker, m, row_id=row.id, owner=owner)


def _reset(
    row: Any, fingerprint: str, owner: str, now: datetime, timeout: timedelta, retention: timedelta
) -> None:
    row.fingerprint, row.status, row.owner = fingerprint, IN_FLIGHT, owner
    row.response_status, row.response_body, row.completed_at = None, None, None
    row.created_at, row.locked_until, row.expires_at = now, now + timeout, now + retention


def _in_flight() -> Conflict:
    return Conflict(
        "A request with this Idempotency-Key is still being processed; retry later.",
        code="idempotency_request_in_flight",
        headers={"Retry-After": "1"},
    )


Effect = Callable[[], Awaitable[tuple[int, Any]]]


async def idempotent_response(
    request: Request,
    session: AsyncSession,
    model: type[IdempotencyKeyMixin],
    *,
    key: str | None,
    scope: str,
    effect: Effect,
    in_flight_timeout: timedelta = DEFAULT_IN_FLIGHT_TIMEOUT,
    retention: timedelta = DEFAULT_RETENTION,
) -> JSONResponse:
    """Run `effect()` (which returns `(status_code, json_body)` and writes through `session`) at
    most once per key. Without a key the effect simply runs."""
    if key is None:
        status_code, body = await effect()
        return JSONResponse(jsonable_encoder(body), status_code=status_code)
    fp = request_fingerprint(request.method, request.url.path, await request.body())
    claim = await claim_key(
        request.app.state.db.sessionmaker,
        model,
        scope=scope,
        key=key,
        fingerprint=fp,
        in_flight_timeout=in_flight_timeout,
        retention=retention,
    )
    if claim.replay is not None:
        return claim.replay.to_response()
    try:
        status_code, body = await effect()
        await claim.complete(session, status_code, body)
        await session.flush()
    except BaseException:
        await claim.release()
        raise
    return JSONResponse(jsonable_encoder(body), status_code=status_code)


async def purge_expired_keys(session: AsyncSession, model: type[IdempotencyKeyMixin]) -> int:
    """Delete records past their retention; returns how many."""
    result: Any = await session.execute(delete(model).where(model.expires_at <= utcnow()))
    return int(result.rowcount or 0)


__all__ = [
    "HEADER",
    "REPLAY_HEADER",
    "IdempotencyClaim",
    "IdempotencyKeyMixin",
    "StoredResponse",
    "claim_key",
    "idempotency_key_header",
    "idempotency_table_ops",
    "idempotent_response",
    "purge_expired_keys",
    "request_fingerprint",
]
