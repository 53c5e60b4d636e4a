"""The PostgreSQL init script (run by the postgres image in compose and in the StatefulSet) on a real
server: one role per service owns one schema, each service's real migrations run as that role, and
no role can read or write another service's schema or create objects in `public`."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shared import migrate
from shared.testing.plugin import _asyncpg_dsn, _run, create_database, drop_database
from shared.topology import SERVICES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "postgres" / "init-schemas.sh"
DB_SERVICES = [s for s in SERVICES if s.schema]


@pytest.fixture
def initialised(postgres_url: str) -> Any:
    if not shutil.which("psql") or not shutil.which("bash"):
        pytest.skip("psql (PostgreSQL client) not installed")
    url = create_database(postgres_url, "deploy_init")
    dsn = _asyncpg_dsn(url)
    prefix = f"t{uuid.uuid4().hex[:6]}_"
    passwords = {s.schema: uuid.uuid4().hex for s in DB_SERVICES if s.schema}
    u = make_url(dsn)
    env = {**os.environ, "PGHOST": u.host or "127.0.0.1", "PGPORT": str(u.port or 5432),
           "POSTGRES_USER": u.username or "postgres", "POSTGRES_DB": u.database or "",
           "DB_ROLE_PREFIX": prefix}
    if u.password:
        env["PGPASSWORD"] = u.password
    env |= {f"{schema.upper()}_DB_PASSWORD": pw for schema, pw in passwords.items()}
    try:
        for _ in range(2):  # idempotent: a second run changes nothing and does not fail
            out = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True,
                                 check=False, timeout=60)
            assert out.returncode == 0, out.stderr
        yield u, prefix, passwords
    finally:
        drop_database(postgres_url, url)

        async def drop_roles() -> None:
            conn = await asyncpg.connect(_asyncpg_dsn(postgres_url))
            try:
                for s in DB_SERVICES:
                    await conn.execute(f'DROP ROLE IF EXISTS "{prefix}{s.package}"')
            finally:
                await conn.close()

        _run(drop_roles())


def _role_url(u: Any, role: str, password: str) -> str:
    return u.set(username=role, password=password).render_as_string(hide_password=False)


def test_each_service_migrates_as_its_own_role_into_its_own_schema(initialised: Any) -> None:
    u, prefix, passwords = initialised

    failures = []
    for s in DB_SERVICES:  # in-process (alembic's API): seconds, not an interpreter per service
        try:
            migrate.upgrade(s.package, _role_url(u, prefix + s.package, passwords[s.schema]), s.schema)
        except Exception as exc:
            failures.append(f"{s.name}: {type(exc).__name__}: {str(exc)[:500]}")
    assert failures == []

    async def owners() -> dict[str, set[str]]:
        conn = await asyncpg.connect(_asyncpg_dsn(u.render_as_string(hide_password=False)))
        try:
            rows = await conn.fetch(
                "SELECT schemaname, tableowner FROM pg_tables WHERE schemaname <> ALL($1::text[])",
                ["pg_catalog", "information_schema"],
            )
        finally:
            await conn.close()
        found: dict[str, set[str]] = {}
        for r in rows:
            found.setdefault(r["schemaname"], set()).add(r["tableowner"])
        return found

    found = _run(owners())
    for s in DB_SERVICES:
        assert found.get(s.schema) == {prefix + s.package}, s.name  # alembic_version at least
    assert "public" not in found


def test_a_role_cannot_touch_another_schema_or_public(initialised: Any) -> None:
    u, prefix, passwords = initialised
    first, second = DB_SERVICES[0], DB_SERVICES[1]

    async def probe() -> list[str]:
        own = _role_url(u, prefix + first.package, passwords[first.schema])
        conn = await asyncpg.connect(_asyncpg_dsn(own))
        refused: list[str] = []
        try:
            search_path = await conn.fetchval("SHOW search_path")
            assert first.schema in search_path
            await conn.execute("CREATE TABLE own_probe (id int)")  # lands in its own schema
            attempts = (
                f'CREATE TABLE "{second.schema}".intruder (id int)',
                "CREATE TABLE public.intruder (id int)",
                f'SELECT * FROM "{second.schema}".alembic_version',
            )
            for sql in attempts:
                try:
                    await conn.execute(sql)
                except asyncpg.exceptions.InsufficientPrivilegeError:
                    refused.append(sql)
                except asyncpg.exceptions.UndefinedTableError:
                    refused.append(sql)  # not even visible
            owner = await conn.fetchval(
                "SELECT tableowner FROM pg_tables WHERE tablename = 'own_probe' AND schemaname = $1",
                first.schema,
            )
            assert owner == prefix + first.package
        finally:
            await conn.close()
        return refused

    assert len(_run(probe())) == 3
