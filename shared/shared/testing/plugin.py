"""pytest plugin loaded for every test run (`-p shared.testing.plugin`).

Integration tests use the real PostgreSQL and Redis: `TEST_DATABASE_URL` (default
`postgresql://postgres@127.0.0.1:5432/postgres`) and `TEST_REDIS_URL` (default
`redis://127.0.0.1:6379/0`). A fresh database is created per test run (per xdist worker),
migrated with the service's Alembic tree, and dropped at the end. If a server is unreachable the
run stops with one message saying how to start it — it never skips silently.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as redis_asyncio
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared import migrate
from shared.db import normalize_url

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"

PG_HELP = (
    "PostgreSQL is not reachable at {url} ({err}). Start it with\n"
    "  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
    "or point TEST_DATABASE_URL at a server (trust or password auth, a user allowed to CREATE DATABASE)."
)
REDIS_HELP = (
    "Redis is not reachable at {url} ({err}). Start it with\n"
    '  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no\n'
    "or point TEST_REDIS_URL at a server."
)


def _run(coro: Any) -> Any:
    """Run a coroutine from sync code, even when a loop is already running in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    u = make_url(normalize_url(url)).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


def test_pg_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)


def test_redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = test_pg_url()

    async def check() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
        await conn.close()

    try:
        _run(check())
    except Exception as exc:
        pytest.exit(PG_HELP.format(url=url, err=type(exc).__name__ + ": " + str(exc)[:200]), returncode=3)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = test_redis_url()

    async def check() -> None:
        client = redis_asyncio.from_url(url, socket_connect_timeout=3)
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        _run(check())
    except Exception as exc:
        pytest.exit(REDIS_HELP.format(url=url, err=type(exc).__name__), returncode=3)
    return url


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix unique to one test, so parallel tests never share Redis keys."""
    return f"test:{uuid.uuid4().hex[:12]}:"


def create_database(admin_url: str, label: str) -> str:
    """Create an empty database and return its SQLAlchemy (asyncpg) URL."""
    name = f"t_{label[:24]}_{uuid.uuid4().hex[:10]}".lower()

    async def create() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(admin_url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    _run(create())
    return normalize_url(_asyncpg_dsn(admin_url, name))


def drop_database(admin_url: str, url: str) -> None:
    name = make_url(url).database

    async def drop() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(admin_url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    _run(drop())


@pytest.fixture(scope="session")
def make_database(postgres_url: str) -> Iterator[Callable[..., str]]:
    """Factory: `make_database("user_service", "users")` → URL of a fresh, migrated database."""
    created: list[str] = []

    def factory(package: str | None = None, schema: str | None = None, *, label: str | None = None) -> str:
        url = create_database(postgres_url, label or package or "db")
        created.append(url)
        if package:
            if not schema:
                raise ValueError("schema is required to migrate a service database")
            migrate.upgrade(package, url, schema)
        return url

    yield factory
    if not os.environ.get("KEEP_TEST_DATABASES"):
        for url in created:
            try:
                drop_database(postgres_url, url)
            except Exception:  # noqa: S110 - best effort cleanup
                pass


@asynccontextmanager
async def rollback_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose every commit is a savepoint inside one outer transaction that is rolled
    back at the end: each test sees a clean database."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            await session.close()
            if outer.is_active:
                await outer.rollback()


@asynccontextmanager
async def asgi_client(
    app: FastAPI, *, base_url: str = "http://testserver", headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the app in-process, with its lifespan run around it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, headers=headers) as client:
            yield client
