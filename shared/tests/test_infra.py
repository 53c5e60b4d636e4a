"""Settings, key-value stores, database helpers and sealed payloads."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import String, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Database, ModelBase, new_metadata, normalize_url
from shared.kv import MemoryKV, RedisKV, SQLiteKV, create_kv
from shared.sealed import SealError, derive_dev_key, seal, unseal
from shared.settings import ServiceSettings


class UserSettings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "user-service"


def test_development_defaults_come_from_the_topology(tmp_path: Path) -> None:
    s = UserSettings(data_dir=tmp_path)
    assert s.port == 8001 and s.db_schema == "users"
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'user_service.db'}"
    assert s.url_of("payment-service") == "http://127.0.0.1:8002"
    assert s.jwks_url == "http://127.0.0.1:8001/.well-known/jwks.json"
    assert s.accepted_service_keys()["gateway"] == "dev-gateway-key"


def test_production_refuses_missing_or_placeholder_secrets() -> None:
    with pytest.raises(ValidationError) as info:
        UserSettings(environment="production")
    assert "SERVICE_API_KEY" in str(info.value)
    with pytest.raises(ValidationError) as info:
        UserSettings(
            environment="production",
            service_api_key=SecretStr("changeme-changeme-123"),
            service_api_keys="gateway=" + "k" * 32,
        )
    assert "SERVICE_API_KEY" in str(info.value) and "changeme" not in str(info.value)


def test_production_accepts_real_secrets() -> None:
    s = UserSettings(
        environment="production", service_api_key=SecretStr("x" * 40), service_api_keys="gateway=" + "g" * 40
    )
    assert s.accepted_service_keys() == {"gateway": "g" * 40}


def test_urls_are_normalised_to_async_drivers() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"


class _KVBase:
    async def check(self, kv) -> None:
        key = f"k:{uuid.uuid4().hex}"
        assert await kv.get(key) is None
        await kv.set(key, "v", ttl=30)
        assert await kv.get(key) == "v"
        assert await kv.exists_any("missing", key)
        assert await kv.incr(key + ":n", ttl=30) == 1
        assert await kv.incr(key + ":n", ttl=30) == 2
        await kv.delete(key)
        assert not await kv.exists_any(key)
        await kv.set(key, "short", ttl=0.05)
        import asyncio

        await asyncio.sleep(0.1)
        assert await kv.get(key) is None


class TestKV(_KVBase):
    async def test_memory(self) -> None:
        await self.check(MemoryKV())

    async def test_sqlite_file_is_shared_between_instances(self, tmp_path: Path) -> None:
        a, b = SQLiteKV(tmp_path / "kv.sqlite3"), SQLiteKV(tmp_path / "kv.sqlite3")
        try:
            await self.check(a)
            await a.set("shared", "yes", ttl=30)
            assert await b.get("shared") == "yes"  # another process would see it too
        finally:
            await a.close()
            await b.close()

    async def test_redis(self, redis_url: str, redis_prefix: str) -> None:
        kv = RedisKV(redis_url, prefix=redis_prefix)
        try:
            await self.check(kv)
        finally:
            await kv.close()

    def test_factory_picks_the_backend(self, tmp_path: Path) -> None:
        assert isinstance(create_kv("memory://"), MemoryKV)
        assert isinstance(create_kv("", tmp_path), SQLiteKV)
        assert isinstance(create_kv("redis://127.0.0.1:6379/0"), RedisKV)


class Base(ModelBase):
    __abstract__ = True
    metadata = new_metadata()


class Widget(Base):
    __tablename__ = "widget"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


async def test_postgres_engine_uses_the_service_schema(make_database) -> None:
    url = make_database(label="schema")
    setup = Database(url)
    async with setup.engine.begin() as conn:
        await conn.execute(text('CREATE SCHEMA "widgets"'))
    await setup.dispose()
    db = Database(url, schema="widgets")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
            path = await conn.scalar(text("SHOW search_path"))
            where = await conn.scalar(
                text("SELECT table_schema FROM information_schema.tables WHERE table_name='widget'")
            )
        assert path == "widgets" and where == "widgets"
    finally:
        await db.dispose()


async def test_session_unit_of_work_commits_or_rolls_back(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        gen = db.session()
        session = await gen.__anext__()
        session.add(Widget(id=1, name="kept"))
        with pytest.raises(StopAsyncIteration):
            await gen.__anext__()  # normal exit → commit
        gen = db.session()
        session = await gen.__anext__()
        session.add(Widget(id=2, name="dropped"))
        await session.flush()
        with pytest.raises(RuntimeError):
            await gen.athrow(RuntimeError("endpoint failed"))
        async with db.sessionmaker() as s:
            names = (await s.execute(text("SELECT name FROM widget ORDER BY id"))).scalars().all()
        assert names == ["kept"]
    finally:
        await db.dispose()


def test_sealed_payloads_round_trip_and_refuse_tampering() -> None:
    key = derive_dev_key("test")
    token = seal({"url": "https://x/verify?token=abc"}, key)
    assert "abc" not in token
    assert unseal(token, key) == {"url": "https://x/verify?token=abc"}
    with pytest.raises(SealError):
        unseal(token[:-4] + "AAAA", key)
    with pytest.raises(SealError):
        unseal(token, derive_dev_key("other"))
    rotated = derive_dev_key("new") + "," + key
    assert unseal(token, rotated)["url"].endswith("abc")


def test_secret_files_fill_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "api_key"
    secret.write_text("k" * 40 + "\n")
    monkeypatch.setenv("SERVICE_API_KEY_FILE", str(secret))
    monkeypatch.delenv("SERVICE_API_KEY", raising=False)
    assert UserSettings().service_api_key.get_secret_value() == "k" * 40
    monkeypatch.setenv("SERVICE_API_KEY", "")  # empty, as copied from .env.example
    assert UserSettings().service_api_key.get_secret_value() == "k" * 40
    # An explicit value wins over the file.
    assert UserSettings(service_api_key=SecretStr("x" * 40)).service_api_key.get_secret_value() == "x" * 40


async def test_sqlite_transactions_are_serialised_like_row_locks(tmp_path: Path) -> None:
    """Two read-check-write units of work on the same row: the second sees the first's write."""
    import asyncio

    db = Database(f"sqlite:///{tmp_path / 'lock.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
            await conn.execute(text("INSERT INTO widget (id, name) VALUES (1, 'new')"))
        moved: list[bool] = []

        async def move() -> None:
            async with db.sessionmaker() as s, s.begin():
                current = await s.scalar(text("SELECT name FROM widget WHERE id = 1"))
                await asyncio.sleep(0.05)  # the other unit of work runs meanwhile
                if current == "new":
                    await s.execute(text("UPDATE widget SET name = 'moved' WHERE id = 1"))
                    moved.append(True)
                else:
                    moved.append(False)

        await asyncio.gather(move(), move())
        assert sorted(moved) == [False, True]
    finally:
        await db.dispose()
