"""End-to-end transfer benchmark: create and complete transfers against the full stack.

Starts every service on free loopback ports against PostgreSQL + Redis (a fresh database), puts the
real nginx config in front of the gateway when nginx is installed, then drives N transfers with C
concurrent senders: quote → create (Idempotency-Key) → pay on the sandbox → wait for COMPLETED.
Bounded in count (`--transfers`) and time (`--max-seconds`); loopback only.

    .venv/bin/python bench/bench_flow.py --transfers 40 --concurrency 4

Reports create latency p50/p99 and completed transfers per second (first create → last COMPLETED).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from shared.devstack import Stack, free_port
from shared.testing.plugin import create_database, drop_database, test_pg_url, test_redis_url
from shared.topology import SERVICES

PASSWORD = "Bench-Secret!9"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def sender(
    api: httpx.AsyncClient,
    sandbox: httpx.AsyncClient,
    n: int,
    created_ms: list[float],
    done_at: list[float],
    deadline: float,
) -> None:
    name = f"b{uuid.uuid4().hex[:10]}"
    r = await api.post(
        "/auth/register",
        json={
            "username": name,
            "email": f"{name}@example.com",
            "password": PASSWORD,
            "full_name": "Bench User",
        },
    )
    r.raise_for_status()
    r = await api.post("/auth/login", data={"username": name, "password": PASSWORD})
    r.raise_for_status()
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    for _ in range(n):
        if time.monotonic() > deadline:
            return
        q = await api.post(
            "/transactions/calculate", json={"currency": "USD", "amount": "20.00"}, headers=auth
        )
        q.raise_for_status()
        body = {
            "requested_foreign_currency": "USD",
            "requested_foreign_amount": "20.00",
            "recipient_paypal_email": "alice@example.com",
            "quote_id": q.json()["quote_id"],
        }
        t0 = time.perf_counter()
        c = await api.post("/transactions", json=body, headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
        created_ms.append((time.perf_counter() - t0) * 1000)
        c.raise_for_status()
        tx = c.json()
        key = re.search(r"([0-9A-F]{32})", tx["payment_url"], re.I).group(1)  # type: ignore[union-attr]
        (
            await sandbox.post(f"/sandbox/sslcommerz/sessions/{key}/complete", json={"outcome": "success"})
        ).raise_for_status()
        while time.monotonic() < deadline:
            s = (await api.get(f"/transactions/{tx['id']}", headers=auth)).json()["status"]
            if s == "COMPLETED":
                done_at.append(time.monotonic())
                break
            if s in ("FAILED", "REFUNDED", "CANCELLED", "EXPIRED"):
                raise RuntimeError(f"transfer ended {s}")
            await asyncio.sleep(0.2)


async def drive(base: str, sandbox_url: str, transfers: int, concurrency: int, max_seconds: float) -> None:
    created_ms: list[float] = []
    done_at: list[float] = []
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with (
        httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=60, limits=limits) as api,
        httpx.AsyncClient(base_url=sandbox_url, timeout=60) as sandbox,
    ):
        start = time.monotonic()
        deadline = start + max_seconds
        per = max(1, transfers // concurrency)
        await asyncio.gather(
            *(sender(api, sandbox, per, created_ms, done_at, deadline) for _ in range(concurrency))
        )
    elapsed = (max(done_at) - start) if done_at else float("nan")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"transfers completed: {len(done_at)} of {per * concurrency} in {elapsed:.1f}s "
        f"({len(done_at) / elapsed:.2f} completed transfers/s, concurrency {concurrency})"
    )
    print(
        f"create latency: p50 {pct(created_ms, 0.5):.1f} ms, p99 {pct(created_ms, 0.99):.1f} ms, "
        f"mean {statistics.fmean(created_ms) if created_ms else float('nan'):.1f} ms (n={len(created_ms)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transfers", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=180)
    args = parser.parse_args()
    admin_url = test_pg_url()
    db_url = create_database(admin_url, "bench_flow")
    ports = {s.name: free_port() for s in SERVICES}
    stack = Stack(
        ports=ports,
        env={
            "ENVIRONMENT": "test",
            "DATABASE_URL": db_url,
            "REDIS_URL": test_redis_url(),
            "LOG_LEVEL": "WARNING",
            "PAYPAL_AUTO_COMPLETE": "true",
            "PAYPAL_AUTO_COMPLETE_DELAY_SECONDS": "0.2",
            "SAGA_POLL_INTERVAL": "0.2",
            "RATE_LIMIT_ENABLED": "false",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['gateway']}",
        },
        data_dir=Path(tempfile.mkdtemp(prefix="bench-flow-")),
        echo=False,
    )
    try:
        print("starting the stack (PostgreSQL + Redis)…", flush=True)
        stack.migrate()
        stack.start(timeout=180)
        asyncio.run(
            drive(
                stack.url("gateway"),
                stack.url("provider-sandbox"),
                args.transfers,
                args.concurrency,
                args.max_seconds,
            )
        )
    finally:
        stack.stop()
        drop_database(admin_url, db_url)


if __name__ == "__main__":
    main()
