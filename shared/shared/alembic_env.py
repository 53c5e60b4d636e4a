"""Alembic `env.py` helper: one migration tree per service, its tables and version table inside
the service's own PostgreSQL schema (created if missing), or in its own SQLite file.

A service's `alembic/env.py` is three lines:

    from shared.alembic_env import run_migrations
    from user_service.models import Base
    from user_service.settings import Settings
    run_migrations(Base.metadata, Settings)

The URL comes from `-x database_url=…`, else the `sqlalchemy.url` option, else the settings.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from alembic import context
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from shared.db import check_schema_name, create_engine, is_postgres_url, normalize_url
from shared.settings import ServiceSettings


def _include_object_factory(metadata: MetaData) -> Any:
    tables = set(metadata.tables)

    def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table":
            return name in tables
        return True

    return include_object


def _do_run(connection: Connection, metadata: MetaData, schema: str | None) -> None:
    is_pg = connection.dialect.name == "postgresql"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=schema if is_pg else None,
        include_object=_include_object_factory(metadata),
        render_as_batch=not is_pg,
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str, metadata: MetaData, schema: str | None) -> None:
    engine = create_engine(url, schema=schema, pool_size=1)
    try:
        async with engine.connect() as conn:
            if is_postgres_url(url) and schema:
                # Replicas starting together (Kubernetes init containers) migrate one at a time;
                # the lock is released when this connection's transaction ends.
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"migrate:{schema}"}
                )
                exists = await conn.scalar(
                    text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"), {"s": schema}
                )
                if not exists:  # CREATE needs a database privilege a service role may not have
                    await conn.execute(text(f'CREATE SCHEMA "{check_schema_name(schema)}"'))
            await conn.run_sync(_do_run, metadata, schema)
            await conn.commit()
    finally:
        await engine.dispose()


def _run_in_fresh_loop(coro_factory: Any) -> None:
    """`asyncio.run`, or in a helper thread when called from inside a running loop (tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro_factory())
        return
    error: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro_factory())
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if error:
        raise error[0]


def run_migrations(metadata: MetaData, settings_cls: type[ServiceSettings]) -> None:
    config = context.config
    xargs = context.get_x_argument(as_dictionary=True)
    url = xargs.get("database_url") or config.get_main_option("sqlalchemy.url") or ""
    schema = xargs.get("schema") or config.get_main_option("db_schema") or ""
    if not url or not schema:
        settings = settings_cls()
        url = url or settings.database_url
        schema = schema or settings.db_schema
    url = normalize_url(url)
    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=metadata,
            version_table_schema=schema if is_postgres_url(url) else None,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    _run_in_fresh_loop(lambda: _run_async(url, metadata, schema or None))
