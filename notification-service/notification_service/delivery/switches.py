"""Platform-wide channel switches (admin-service runtime settings `notification.<channel>_enabled`)
as the delivery queue sees them.

A message whose channel is switched off is never sent: at enqueue it becomes `suppressed` with
reason `channel_disabled`; one already queued is marked the same when it falls due (before any
claim), and the worker re-checks the switch right before each send, so a message queued before the
switch never goes out after it. The state is terminal and visible in history, like `opted_out`;
other channels of the same event are untouched. Switching back on affects new messages only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update

from notification_service.models import QUEUED, SENDING, SUPPRESSED, Notification
from shared.db import Database, for_update, utcnow
from shared.logging import get_logger

log = get_logger(__name__)

CHANNEL_DISABLED = "channel_disabled"  # status_reason: the channel was switched off platform-wide
SUPPRESS_BATCH = 1000  # due messages of switched-off channels suppressed per worker pass


def due(now: datetime) -> Any:
    """Claimable rows: `queued` and due, or `sending` with an expired lease (a dead worker's)."""
    n = Notification
    return or_(
        and_(n.status == QUEUED, or_(n.scheduled_for.is_(None), n.scheduled_for <= now)),
        and_(n.status == SENDING, n.locked_until < now),
    )


async def suppress_due(db: Database, channels: tuple[str, ...]) -> int:
    """Mark due messages of `channels` `suppressed` (no delivery attempt). Rows locked by another
    worker's claim are skipped (SKIP LOCKED): that worker re-checks the switch before sending.
    Returns how many were suppressed."""
    if not channels:
        return 0
    n = Notification
    async with db.sessionmaker() as session, session.begin():
        now = utcnow()
        stmt = select(n.id).where(due(now), n.channel.in_(channels)).limit(SUPPRESS_BATCH)
        ids = list((await session.scalars(for_update(stmt, session, skip_locked=True))).all())
        if not ids:
            return 0
        await session.execute(
            update(n)
            .where(n.id.in_(ids))
            .values(
                status=SUPPRESSED,
                status_reason=CHANNEL_DISABLED,
                claim_token=None,
                locked_until=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    log.info("notifications_suppressed_channel_disabled", count=len(ids), channels=",".join(channels))
    return len(ids)
