"""Measure password-login latency with the production argon2 parameters (the settings' defaults).

    .venv/bin/python user-service/bench/login_latency.py [--n 30] [--database-url URL]

Runs the real app in-process (ASGI, no network) against a throw-away SQLite database (or the given
URL, already migrated) and reports p50/p95 of `POST /api/v1/auth/login` and of the bare argon2
verification, so the two can be compared on the machine at hand; the CPU time (all threads of
the process) approximates the latency on an idle core.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from shared import migrate
from shared.testing.plugin import asgi_client
from user_service.main import create_app
from user_service.security.passwords import PasswordHasher
from user_service.settings import Settings

PASSWORD = "Bench!Passw0rd"


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def run(n: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        if database_url is None:
            migrate.upgrade("user_service", url, "users")
        settings = Settings(
            environment="test",
            database_url=url,
            redis_url="memory:",
            data_dir=Path(tmp),
            outbox_relay_enabled=False,
            log_level="WARNING",
            mail_cooldown_seconds=0,
        )
        hasher = PasswordHasher(settings)
        stored = hasher.hash_sync(PASSWORD)
        verify_ms, verify_cpu = [], []
        for _ in range(n):
            start, cpu = time.perf_counter(), time.process_time()
            await hasher.verify(PASSWORD, stored)
            verify_ms.append((time.perf_counter() - start) * 1000)
            verify_cpu.append((time.process_time() - cpu) * 1000)
        async with asgi_client(create_app(settings)) as client:
            name = f"bench{int(time.time())}"
            await client.post(
                "/api/v1/auth/register",
                json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
            )
            login_ms, login_cpu = [], []
            for _ in range(n):
                start, cpu = time.perf_counter(), time.process_time()
                resp = await client.post("/api/v1/auth/login", data={"username": name, "password": PASSWORD})
                login_ms.append((time.perf_counter() - start) * 1000)
                login_cpu.append((time.process_time() - cpu) * 1000)
                assert resp.status_code == 200, resp.status_code
    s = settings
    sys.stdout.write(
        f"argon2id m={s.argon2_memory_cost_kib} KiB t={s.argon2_time_cost} p={s.argon2_parallelism}, n={n}\n"
        f"  verify only : p50 {statistics.median(verify_ms):6.1f} ms  p95 {pct(verify_ms, 95):6.1f} ms"
        f"  (CPU p50 {statistics.median(verify_cpu):6.1f} ms)\n"
        f"  POST /login : p50 {statistics.median(login_ms):6.1f} ms  p95 {pct(login_ms, 95):6.1f} ms"
        f"  (CPU p50 {statistics.median(login_cpu):6.1f} ms)\n"
        "  Wall time includes waiting for a core on a busy machine; CPU time is the work itself.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(run(args.n, args.database_url))


if __name__ == "__main__":
    main()
