"""Audit trail benchmark: append throughput and the time to verify a 100,000-entry chain.

Runs against a throw-away PostgreSQL database on loopback (created, migrated and dropped here;
`TEST_DATABASE_URL`, default `postgresql://postgres@127.0.0.1:5432/postgres`). Bounded: fixed
entry counts, a global time limit, nothing leaves the machine.

    .venv/bin/python audit-service/bench_audit.py [--entries 100000] [--single 1000] [--tasks 8]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from sqlalchemy import insert

from audit_service.chain.hashing import entry_hash
from audit_service.chain.repository import append_entries, chain_head
from audit_service.chain.signing import CheckpointSigner
from audit_service.chain.verify import verify_chain
from audit_service.entries import make_draft
from audit_service.models import AuditEntry
from shared import migrate
from shared.db import Database, utcnow
from shared.masking import Masker
from shared.testing.plugin import create_database, drop_database, test_pg_url

MASKER = Masker()


def draft(i: int) -> dict[str, Any]:
    return make_draft(
        MASKER,
        service="payment-service",
        action="payment.succeeded",
        category="payment",
        actor_type="service",
        actor_id="payment-service",
        target_type="transaction",
        target_id=f"tx-{i}",
        transaction_id=f"tx-{i}",
        request_id=f"req-{i}",
        ip="127.0.0.1",
        pci=True,
        details={
            "transaction_id": f"tx-{i}",
            "amount": "1500.00",
            "currency": "BDT",
            "customer": {"email": "rahim@example.com", "phone": "+8801712345678"},
            "card": "4111111111111111",
        },
    )


async def single_appends(db: Database, count: int, tasks: int) -> float:
    """Entries/s with one entry per transaction, `tasks` concurrent writers."""
    per_task = count // tasks

    async def writer(offset: int) -> None:
        for i in range(per_task):
            async with db.sessionmaker() as session:
                await append_entries(session, [draft(offset + i)])
                await session.commit()

    start = time.perf_counter()
    await asyncio.gather(*(writer(t * per_task) for t in range(tasks)))
    return per_task * tasks / (time.perf_counter() - start)


async def batch_appends(db: Database, count: int, batch: int) -> float:
    start = time.perf_counter()
    done = 0
    while done < count:
        n = min(batch, count - done)
        async with db.sessionmaker() as session:
            await append_entries(session, [draft(done + i) for i in range(n)])
            await session.commit()
        done += n
    return count / (time.perf_counter() - start)


async def bulk_fill(db: Database, count: int, chunk: int = 5000) -> None:
    """Fill the chain to `count` entries quickly: the same drafts and hashes as `append_entries`,
    written with multi-row INSERTs (this part is set-up for the verify measurement, not timed)."""
    async with db.sessionmaker() as session:
        head_id, head_hash = await chain_head(session)
    while head_id < count:
        rows = []
        now = utcnow()
        for _ in range(min(chunk, count - head_id)):
            values = {**draft(head_id), "id": head_id + 1, "recorded_at": now}
            digest = entry_hash(head_hash, values)
            rows.append({**values, "prev_hash": head_hash, "hash": digest})
            head_id, head_hash = head_id + 1, digest
        async with db.sessionmaker() as session:
            await session.execute(insert(AuditEntry), rows)
            await session.commit()


async def run(args: argparse.Namespace) -> None:
    admin = test_pg_url()
    url = create_database(admin, "audit_bench")
    try:
        migrate.upgrade("audit_service", url, "audit")
        db = Database(url, schema="audit", pool_size=max(args.tasks, 2))
        try:
            serial = await single_appends(db, args.single // 4, 1)
            concurrent = await single_appends(db, args.single, args.tasks)
            batched = await batch_appends(db, min(args.batched, args.entries), 1000)
            await bulk_fill(db, args.entries)
            signer = CheckpointSigner("hmac-sha256", "bench-key-bench-key-bench-key-32", "bench")
            async with db.sessionmaker() as s:
                start, cpu = time.perf_counter(), time.process_time()
                result = await verify_chain(s, signer)
                verify_s, verify_cpu = time.perf_counter() - start, time.process_time() - cpu
            if not (result.valid and result.checked == args.entries):
                raise RuntimeError(f"chain did not verify: {result}")
        finally:
            await db.dispose()
    finally:
        drop_database(admin, url)
    out = sys.stdout.write
    out(f"append, 1 writer, 1 entry/transaction:   {serial:8.0f} entries/s\n")
    out(f"append, {args.tasks} writers, 1 entry/transaction:  {concurrent:8.0f} entries/s\n")
    out(f"append, batches of 1000 entries:         {batched:8.0f} entries/s\n")
    rate = result.checked / verify_s
    out(f"verify {result.checked:,} entries:               {verify_s:8.2f} s ({rate:,.0f}/s)\n")
    out(f"  of which CPU in this process:          {verify_cpu:8.2f} s\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000, help="chain length to verify (≤ 1,000,000)")
    parser.add_argument("--single", type=int, default=800, help="single-entry appends in the concurrent run")
    parser.add_argument("--batched", type=int, default=10_000, help="entries appended in batches of 1000")
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=900.0, help="seconds before giving up")
    args = parser.parse_args()
    args.entries = min(args.entries, 1_000_000)
    try:
        asyncio.run(asyncio.wait_for(run(args), args.time_limit))
    except TimeoutError:
        sys.stderr.write(f"benchmark exceeded {args.time_limit:.0f}s\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
