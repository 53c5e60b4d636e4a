"""Async SQLAlchemy plumbing that works on PostgreSQL (one schema per service) and SQLite (one
file per service), chosen from the URL alone.

On PostgreSQL every connection's `search_path` is the service's schema, so models, raw SQL and
Alembic's version table all land there without schema-qualified names in the code.

The request owns the transaction: `session_dependency` commits when the endpoint returns and
rolls back when it raises. Service code calls `flush()`, never `commit()`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import JSON, TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Integer primary keys: BIGINT on PostgreSQL, INTEGER on SQLite (only INTEGER autoincrements there).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
# JSON columns: JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class ModelBase(DeclarativeBase):
    """Abstract base; each service declares `class Base(ModelBase): metadata = new_metadata()`."""

    __abstract__ = True
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` / `sqlite:///` URLs and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def is_postgres_url(url: str) -> bool:
    return normalize_url(url).startswith("postgresql")


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_RE.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


def create_engine(
    url: str, *, schema: str | None = None, pool_size: int = 10, echo: bool = False
) -> AsyncEngine:
    url = normalize_url(url)
    if is_postgres_url(url):
        connect_args: dict[str, Any] = {"server_settings": {"application_name": schema or "service"}}
        if schema:
            connect_args["server_settings"]["search_path"] = check_schema_name(schema)
        return create_async_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_recycle=1800,
            connect_args=connect_args,
        )
    sa_url = make_url(url)
    if sa_url.database and sa_url.database != ":memory:":
        Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        # Let SQLAlchemy, not the driver, open transactions (see `_sqlite_begin`).
        dbapi_conn.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        # SQLite has no row locks (`FOR UPDATE` is a no-op there): take the database write lock when
        # the transaction starts, so read-check-write sequences are serialised exactly as the row
        # locks serialise them on PostgreSQL, and two writers never deadlock on a lock upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """Engine + session factory for one service; created in `lifespan`, disposed at shutdown."""

    def __init__(self, url: str, *, schema: str | None = None, pool_size: int = 10, echo: bool = False):
        self.url = normalize_url(url)
        self.schema = schema
        self.engine = create_engine(self.url, schema=schema, pool_size=pool_size, echo=echo)
        # A Session subclass per database so commit hooks (e.g. waking the outbox relay) stay local.
        self.session_class: type[Session] = type("ServiceSession", (Session,), {})
        self.commit_hooks: list[Callable[[Session], None]] = []
        event.listen(self.session_class, "after_commit", self._after_commit)
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, autoflush=False, sync_session_class=self.session_class
        )

    def _after_commit(self, session: Session) -> None:
        for hook in self.commit_hooks:
            hook(session)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def session(self) -> AsyncIterator[AsyncSession]:
        """Unit of work: commit on success, roll back on any exception."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def is_postgres(session: AsyncSession) -> bool:
    return dialect_name(session) == "postgresql"


async def insert_ignore(session: AsyncSession, model: Any, **values: Any) -> None:
    """`INSERT … ON CONFLICT DO NOTHING` on both backends (e.g. create-if-missing before a row lock)."""
    insert = pg_insert if is_postgres(session) else sqlite_insert
    await session.execute(insert(model).values(**values).on_conflict_do_nothing())


async def advisory_xact_lock(session: AsyncSession, key: int) -> None:
    """Serialise a critical section across replicas (PostgreSQL); SQLite serialises writers itself."""
    if is_postgres(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def for_update(stmt: Any, session: AsyncSession, *, skip_locked: bool = False) -> Any:
    """`SELECT … FOR UPDATE [SKIP LOCKED]` on PostgreSQL; unchanged on SQLite."""
    if is_postgres(session):
        return stmt.with_for_update(skip_locked=skip_locked)
    return stmt


__all__ = [
    "AsyncSession",
    "BigIntPK",
    "Database",
    "JSONType",
    "ModelBase",
    "Timestamps",
    "UTCDateTime",
    "UUIDPrimaryKey",
    "advisory_xact_lock",
    "create_engine",
    "for_update",
    "new_metadata",
    "normalize_url",
    "utcnow",
]
