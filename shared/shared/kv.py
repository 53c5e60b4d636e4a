"""A tiny key-value store with TTLs: Redis in the full stack, a shared SQLite file in the
embedded mode (so several local processes still agree, e.g. on revoked tokens), memory in tests.

Only what the platform needs: get/set with TTL, existence checks, delete, atomic increment.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Protocol

import aiosqlite
import redis.asyncio as redis_asyncio


class KeyValueStore(Protocol):
    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl: float | None = None) -> None: ...
    async def exists_any(self, *keys: str) -> bool: ...
    async def delete(self, key: str) -> None: ...
    async def incr(self, key: str, ttl: float | None = None) -> int: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryKV:
    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float | None]] = {}

    def _live(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, exp = item
        if exp is not None and exp <= time.monotonic():
            self._data.pop(key, None)
            return None
        return value

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._data[key] = (value, time.monotonic() + ttl if ttl else None)

    async def exists_any(self, *keys: str) -> bool:
        return any(self._live(k) is not None for k in keys)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def incr(self, key: str, ttl: float | None = None) -> int:
        current = self._live(key)
        value = int(current or 0) + 1
        exp = self._data[key][1] if current is not None else (time.monotonic() + ttl if ttl else None)
        self._data[key] = (str(value), exp)
        return value

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()


class RedisKV:
    def __init__(self, url: str, *, prefix: str = "") -> None:
        self.client = redis_asyncio.from_url(
            url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2
        )
        self.prefix = prefix

    async def get(self, key: str) -> str | None:
        value = await self.client.get(self.prefix + key)
        return value.decode() if isinstance(value, bytes) else value

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        await self.client.set(self.prefix + key, value, px=int(ttl * 1000) if ttl else None)

    async def exists_any(self, *keys: str) -> bool:
        if not keys:
            return False
        return bool(await self.client.exists(*(self.prefix + k for k in keys)))

    async def delete(self, key: str) -> None:
        await self.client.delete(self.prefix + key)

    async def incr(self, key: str, ttl: float | None = None) -> int:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(self.prefix + key)
            if ttl:
                pipe.pexpire(self.prefix + key, int(ttl * 1000), nx=True)
            res = await pipe.execute()
        return int(res[0])

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()


class SQLiteKV:
    """Cross-process store for the embedded mode (one file under `.data/`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def _db(self) -> aiosqlite.Connection:
        if self._conn is None:
            async with self._lock:
                if self._conn is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    conn = await aiosqlite.connect(self.path, timeout=30)
                    await conn.execute("PRAGMA journal_mode=WAL")
                    await conn.execute("PRAGMA busy_timeout=30000")
                    await conn.execute(
                        "CREATE TABLE IF NOT EXISTS kv "
                        "(key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL)"
                    )
                    await conn.commit()
                    self._conn = conn
        assert self._conn is not None
        return self._conn

    async def get(self, key: str) -> str | None:
        db = await self._db()
        async with db.execute(
            "SELECT value FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (key, time.time()),
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        db = await self._db()
        await db.execute(
            "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            (key, value, time.time() + ttl if ttl else None),
        )
        await db.commit()

    async def exists_any(self, *keys: str) -> bool:
        if not keys:
            return False
        db = await self._db()
        marks = ",".join("?" for _ in keys)
        async with db.execute(
            f"SELECT 1 FROM kv WHERE key IN ({marks}) AND (expires_at IS NULL OR expires_at > ?) LIMIT 1",  # noqa: S608
            (*keys, time.time()),
        ) as cur:
            return await cur.fetchone() is not None

    async def delete(self, key: str) -> None:
        db = await self._db()
        await db.execute("DELETE FROM kv WHERE key = ?", (key,))
        await db.commit()

    async def incr(self, key: str, ttl: float | None = None) -> int:
        db = await self._db()
        now = time.time()
        await db.execute(
            "DELETE FROM kv WHERE key = ? AND expires_at IS NOT NULL AND expires_at <= ?", (key, now)
        )
        await db.execute(
            "INSERT INTO kv (key, value, expires_at) VALUES (?, '1', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
            (key, now + ttl if ttl else None),
        )
        async with db.execute("SELECT value FROM kv WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        await db.commit()
        return int(row[0]) if row else 0

    async def ping(self) -> None:
        await self._db()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


def create_kv(redis_url: str, data_dir: Path | None = None, *, prefix: str = "") -> KeyValueStore:
    if redis_url.startswith("memory:"):
        return MemoryKV()
    if redis_url:
        return RedisKV(redis_url, prefix=prefix)
    if data_dir is not None:
        return SQLiteKV(Path(data_dir) / "kv.sqlite3")
    return MemoryKV()
