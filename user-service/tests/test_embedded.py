"""The embedded mode: SQLite database migrated by Alembic, SQLite key-value store, no Redis."""

from __future__ import annotations

from sqlalchemy import create_engine

import shared.migrate as migrate
from shared.testing.plugin import asgi_client
from user_service.main import create_app
from user_service.models import Base

from .conftest import PASSWORD, bearer, make_settings


def test_sqlite_migration_matches_the_models(tmp_path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    migrate.upgrade("user_service", f"sqlite+aiosqlite:///{tmp_path / 'u.db'}", "users")
    engine = create_engine(f"sqlite:///{tmp_path / 'u.db'}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()

    assert diff == []


async def test_register_login_logout_on_sqlite_without_redis(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'user_service.db'}"
    migrate.upgrade("user_service", url, "users")
    settings = make_settings(database_url=url, redis_url="", data_dir=tmp_path)

    async with asgi_client(create_app(settings)) as client:
        body = {"username": "embedded", "email": "embedded@example.com", "password": PASSWORD}
        assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
        tokens = (
            await client.post("/api/v1/auth/login", data={"username": "embedded", "password": PASSWORD})
        ).json()
        assert (
            await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        ).status_code == 200
        assert (
            await client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
        ).status_code == 204
        assert (
            await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        ).status_code == 401

    assert (tmp_path / "kv.sqlite3").exists() and (tmp_path / "jwt-keys" / "current.pem").exists()
