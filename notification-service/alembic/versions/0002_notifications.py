"""Notifications: templates (seeded), preferences, quiet hours, device tokens, the message queue
and delivery attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from notification_service.templates.seed_v1 import TEMPLATES
from shared.db import BigIntPK, JSONType, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    template = op.create_table(
        "notification_template",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("required_variables", JSONType, nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notification_template"),
        sa.UniqueConstraint(
            "key",
            "channel",
            "language",
            "version",
            name="uq_notification_template_key_channel_language_version",
        ),
    )
    op.create_table(
        "notification_preference",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notification_preference"),
        sa.UniqueConstraint(
            "user_id", "category", "channel", name="uq_notification_preference_user_id_category_channel"
        ),
    )
    op.create_table(
        "quiet_hours",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("start", sa.String(5), nullable=False),
        sa.Column("end", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_quiet_hours"),
    )
    op.create_table(
        "device_token",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("token", sa.String(512), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_device_token"),
        sa.UniqueConstraint("token", name="uq_device_token_token"),
    )
    op.create_index("ix_device_token_user_id", "device_token", ["user_id"])
    op.create_table(
        "notification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("template_key", sa.String(64), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("recipient", sa.String(512), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("data", JSONType, nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=True),
        sa.Column("internal_tran_id", sa.String(64), nullable=True),
        sa.Column("source_event_id", sa.Uuid(), nullable=True),
        sa.Column("source_event_type", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.String(200), nullable=True),
        sa.Column("scheduled_for", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.Uuid(), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("provider", sa.String(64), nullable=True),
        sa.Column("provider_message_id", sa.String(256), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notification"),
        sa.UniqueConstraint("dedupe_key", name="uq_notification_dedupe_key"),
    )
    op.create_index("ix_notification_due", "notification", ["status", "scheduled_for"])
    op.create_index("ix_notification_user", "notification", ["user_id", "created_at"])
    op.create_index("ix_notification_internal_tran_id", "notification", ["internal_tran_id"])
    op.create_table(
        "delivery_attempt",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("provider_message_id", sa.String(256), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempt"),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name="fk_delivery_attempt_notification_id_notification",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_delivery_attempt_notification_id", "delivery_attempt", ["notification_id"])

    now = datetime.now(UTC)
    op.bulk_insert(
        template,
        [
            {**t, "version": 1, "is_active": True, "created_by": "migration", "created_at": now}
            for t in TEMPLATES
        ],
    )


def downgrade() -> None:
    op.drop_table("delivery_attempt")
    op.drop_table("notification")
    op.drop_table("device_token")
    op.drop_table("quiet_hours")
    op.drop_table("notification_preference")
    op.drop_table("notification_template")
