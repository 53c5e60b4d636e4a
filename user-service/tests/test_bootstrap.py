"""The first admin: created at start-up from BOOTSTRAP_ADMIN_*, or with `create-admin`."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from shared.testing.plugin import asgi_client
from user_service.__main__ import main as cli
from user_service.main import create_app
from user_service.models import User

from .conftest import make_settings

ADMIN_PASSWORD = "B00tstrap!Admin"


@pytest.fixture(scope="module")
def fresh_database(make_database) -> str:
    """A database of its own: bootstrap only acts when no admin exists yet."""
    return make_database("user_service", "users", label="user_boot")


async def test_bootstrap_creates_a_verified_admin_once(fresh_database: str, redis_url: str, tmp_path) -> None:
    settings = make_settings(
        database_url=fresh_database,
        redis_url=redis_url,
        data_dir=tmp_path,
        bootstrap_admin_email="Root@Example.com",
        bootstrap_admin_password=ADMIN_PASSWORD,
    )
    for _ in range(2):  # a restart must not create a second one
        app = create_app(settings)
        async with asgi_client(app) as client:
            login = await client.post(
                "/api/v1/auth/login", data={"username": "root@example.com", "password": ADMIN_PASSWORD}
            )
            assert login.status_code == 200, login.text
            me = (
                await client.get(
                    "/api/v1/users/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
                )
            ).json()
            async with app.state.db.sessionmaker() as session:
                admins = await session.scalar(
                    select(func.count()).select_from(User).where(User.role == "admin")
                )

    assert me["role"] == "admin" and me["email_verified"] is True and me["username"] == "root"
    assert admins == 1


async def test_no_bootstrap_without_both_settings(fresh_database: str, redis_url: str, tmp_path) -> None:
    settings = make_settings(
        database_url=fresh_database,
        redis_url=redis_url,
        data_dir=tmp_path,
        bootstrap_admin_email="half@example.com",
    )
    app = create_app(settings)
    async with asgi_client(app):
        async with app.state.db.sessionmaker() as session:
            found = await session.scalar(select(User.id).where(User.email == "half@example.com"))

    assert found is None


def test_create_admin_command(fresh_database: str, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_database)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ARGON2_MEMORY_COST_KIB", "1024")
    monkeypatch.setenv("ARGON2_TIME_COST", "1")
    monkeypatch.setattr("sys.stdin", io.StringIO(ADMIN_PASSWORD + "\n"))

    code = cli(["create-admin", "--email", "ops@example.com", "--username", "ops_admin", "--password-stdin"])

    out = capsys.readouterr()
    assert code == 0 and "admin ops_admin" in out.out and ADMIN_PASSWORD not in out.out + out.err
    assert cli(["create-admin", "--email", "ops@example.com", "--password", ADMIN_PASSWORD]) == 1
    assert cli(["create-admin", "--email", "weak@example.com", "--password", "weak"]) == 1
    assert "does not meet the policy" in capsys.readouterr().err
