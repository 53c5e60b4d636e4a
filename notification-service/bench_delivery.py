"""Delivery-worker throughput to the SMTP sink (loopback only, bounded in count and time).

    .venv/bin/python notification-service/bench_delivery.py [--messages 500] [--max-seconds 60]
        [--workers 1] [--concurrency 10] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a throw-away PostgreSQL database (migrated with this service's Alembic tree), starts the
service's SMTP sink (`python -m notification_service.smtp_sink`, its own process, as in `make run`)
on free loopback ports, enqueues N rendered email messages through the real
enqueue path (template lookup, preferences, render), then times the worker draining them (claim
with SKIP LOCKED → SMTP send → record attempt). Prints messages/s and per-phase timings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid

import httpx
from sqlalchemy import func, select

from notification_service.channels.registry import build_chains, close_chains
from notification_service.delivery.enqueue import Request, enqueue
from notification_service.delivery.worker import DeliveryWorker
from notification_service.models import SENT, Notification
from notification_service.settings import Settings
from shared import migrate
from shared.db import Database
from shared.devstack import free_port
from shared.http import create_http_client
from shared.testing.plugin import create_database, drop_database


async def _wait_for_port(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("SMTP sink did not start")


def out(line: str) -> None:
    sys.stdout.write(line + "\n")


async def bench(args: argparse.Namespace) -> None:
    admin_url = args.database_url
    url = create_database(admin_url, "bench_notifications")
    try:
        migrate.upgrade("notification_service", url, "notifications")
        port, http_port = free_port(), free_port()
        env = {
            **os.environ,
            "SMTP_SINK_PORT": str(port),
            "SMTP_SINK_HTTP_PORT": str(http_port),
            "SMTP_SINK_MAX_MESSAGES": str(args.messages + 10),
            "LOG_LEVEL": "WARNING",
        }
        sink = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "notification_service.smtp_sink", env=env
        )
        try:
            await _wait_for_port(http_port)
            settings = Settings(environment="test", database_url=url, smtp_host="127.0.0.1", smtp_port=port)
            db = Database(url, schema="notifications", pool_size=args.workers + 4)
            http = create_http_client()
            chains = build_chains(settings, http)
            worker = DeliveryWorker(
                db,
                chains,
                batch_size=args.batch,
                concurrency=args.concurrency,
                lease_seconds=60,
            )
            t0 = time.perf_counter()
            async with db.sessionmaker() as session, session.begin():
                for i in range(args.messages):
                    user = {"id": str(uuid.uuid4()), "email": f"bench{i}@example.com", "username": f"b{i}"}
                    await enqueue(
                        session,
                        Request(
                            user=user,
                            template_key="password_changed",
                            channels=("email",),
                            variables={"user_name": f"User {i}", "username": f"b{i}", "app_name": "PG"},
                            dedupe_prefix=f"bench:{i}",
                        ),
                    )
            enqueue_s = time.perf_counter() - t0

            t1 = time.perf_counter()
            deadline = t1 + args.max_seconds

            async def loop() -> None:
                while time.perf_counter() < deadline and await worker.run_once():
                    pass

            await asyncio.gather(*(loop() for _ in range(args.workers)))
            drain_s = time.perf_counter() - t1
            async with db.sessionmaker() as session:
                sent = await session.scalar(select(func.count()).where(Notification.status == SENT))
            await worker.stop()
            await close_chains(chains)
            await http.aclose()
            await db.dispose()
            async with httpx.AsyncClient() as client:
                received = len((await client.get(f"http://127.0.0.1:{http_port}/messages")).json())
        finally:
            sink.terminate()
            await asyncio.wait_for(sink.wait(), 10)
        out(
            f"messages={args.messages} workers={args.workers} batch={args.batch} "
            f"concurrency={args.concurrency}"
        )
        out(f"enqueue: {enqueue_s:.2f}s ({args.messages / enqueue_s:.0f} msg/s, one transaction)")
        out(f"deliver: {drain_s:.2f}s → {sent} sent, {received} received by the sink")
        out(f"throughput: {int(sent or 0) / drain_s:.1f} messages/s to the SMTP sink")
    finally:
        drop_database(admin_url, url)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=500)
    p.add_argument("--max-seconds", type=float, default=60.0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = p.parse_args()
    args.messages = max(1, min(args.messages, 10_000))
    args.max_seconds = max(1.0, min(args.max_seconds, 300.0))
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
