"""The platform as `make run` starts it: every service migrates and answers, in both run modes.

- Embedded default: SQLite files under a temporary DATA_DIR, no Redis.
- Full stack: one PostgreSQL database with a schema per service (tables and `alembic_version`
  inside it) and Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared.devstack import Stack, free_port
from shared.testing.plugin import _asyncpg_dsn, _run
from shared.topology import SERVICES


def _check_all(stack: Stack) -> None:
    with httpx.Client(timeout=10) as client:
        for spec in SERVICES:
            base = stack.url(spec.name)
            ready = client.get(f"{base}/health/ready")
            assert ready.status_code == 200, f"{spec.name}: {ready.text}"
            docs = client.get(f"{base}/docs")
            assert docs.status_code == 200 and "swagger" in docs.text.lower(), spec.name
            spec_json = client.get(f"{base}/openapi.json").json()
            assert spec_json["info"]["title"], spec.name
            metrics = client.get(f"{base}/metrics")
            assert metrics.status_code == 200 and "http_requests_total" in metrics.text


@pytest.fixture
def embedded_stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(
        ports={s.name: free_port() for s in SERVICES},
        env={"ENVIRONMENT": "development", "REDIS_URL": "", "DATABASE_URL": "", "LOG_LEVEL": "WARNING"},
        data_dir=tmp_path / "data",
        echo=False,
    )
    try:
        stack.migrate()
        stack.start(timeout=120)
        yield stack
    finally:
        stack.stop()


def test_make_run_brings_up_all_nine_processes_on_sqlite(embedded_stack: Stack, tmp_path: Path) -> None:
    _check_all(embedded_stack)
    dbs = sorted(p.name for p in (tmp_path / "data").glob("*.db"))
    assert dbs == sorted(f"{s.package}.db" for s in SERVICES if s.schema)


@pytest.fixture
def full_stack(make_database, redis_url: str, tmp_path: Path) -> Iterator[tuple[Stack, str]]:
    url = make_database(label="platform")
    stack = Stack(
        ports={s.name: free_port() for s in SERVICES},
        env={"ENVIRONMENT": "test", "REDIS_URL": redis_url, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"},
        data_dir=tmp_path / "data",
        echo=False,
    )
    try:
        stack.migrate()
        stack.start(timeout=120)
        yield stack, url
    finally:
        stack.stop()


def test_full_stack_keeps_each_service_in_its_own_schema(full_stack: tuple[Stack, str]) -> None:
    stack, url = full_stack
    _check_all(stack)

    async def tables() -> list[tuple[str, str]]:
        conn = await asyncpg.connect(_asyncpg_dsn(url))
        try:
            rows = await conn.fetch(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
        finally:
            await conn.close()
        return [(r["table_schema"], r["table_name"]) for r in rows]

    found = _run(tables())
    schemas = {s.schema for s in SERVICES if s.schema}
    assert {schema for schema, _ in found} == schemas, "tables outside the service schemas"
    for schema in schemas:
        names = {t for s, t in found if s == schema}
        assert "alembic_version" in names, f"{schema} has no version table"
        assert {"outbox_message", "inbox_event"} <= names, schema
