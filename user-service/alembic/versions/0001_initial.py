"""Initial schema: the event outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

from shared.inbox import inbox_table_ops
from shared.outbox import outbox_table_ops

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_table_ops(op)
    inbox_table_ops(op)


def downgrade() -> None:
    op.drop_table("inbox_event")
    op.drop_index("ix_outbox_message_due", table_name="outbox_message")
    op.drop_table("outbox_message")
