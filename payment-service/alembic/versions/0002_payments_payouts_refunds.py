"""Payments, payouts, refunds, webhook records, dedupe keys and provider call log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import BigIntPK, JSONType, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("internal_tran_id", sa.String(30), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sessionkey", sa.String(64), nullable=True),
        sa.Column("payment_url", sa.String(500), nullable=True),
        sa.Column("val_id", sa.String(64), nullable=True),
        sa.Column("bank_tran_id", sa.String(80), nullable=True),
        sa.Column("risk_level", sa.String(4), nullable=True),
        sa.Column("hold_reason", sa.String(32), nullable=True),
        sa.Column("failure_reason", sa.String(200), nullable=True),
        sa.Column("paid_amount", sa.BigInteger(), nullable=True),
        sa.Column("paid_currency", sa.String(3), nullable=True),
        sa.Column("validated_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payment"),
        sa.UniqueConstraint("transaction_id", name="uq_payment_transaction_id"),
        sa.UniqueConstraint("internal_tran_id", name="uq_payment_internal_tran_id"),
    )
    op.create_index("ix_payment_user_id", "payment", ["user_id"])

    op.create_table(
        "payout",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("sender_batch_id", sa.String(63), nullable=False),
        sa.Column("payout_batch_id", sa.String(40), nullable=True),
        sa.Column("payout_item_id", sa.String(40), nullable=True),
        sa.Column("paypal_transaction_id", sa.String(40), nullable=True),
        sa.Column("payout_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("receiver", sa.String(127), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("batch_status", sa.String(16), nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_check_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payout"),
        sa.UniqueConstraint("transaction_id", name="uq_payout_transaction_id"),
        sa.UniqueConstraint("sender_batch_id", name="uq_payout_sender_batch_id"),
    )
    op.create_index("ix_payout_payout_batch_id", "payout", ["payout_batch_id"])
    op.create_index("ix_payout_payout_item_id", "payout", ["payout_item_id"])
    op.create_index("ix_payout_due", "payout", ["status", "next_check_at"])

    op.create_table(
        "refund",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("refund_trans_id", sa.String(30), nullable=False),
        sa.Column("refund_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("refund_ref_id", sa.String(64), nullable=True),
        sa.Column("error", sa.String(255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_refund"),
        sa.UniqueConstraint("transaction_id", name="uq_refund_transaction_id"),
        sa.UniqueConstraint("refund_trans_id", name="uq_refund_refund_trans_id"),
    )
    op.create_index("ix_refund_due", "refund", ["status", "next_poll_at"])

    op.create_table(
        "webhook_record",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(80), nullable=True),
        sa.Column("transmission_id", sa.String(80), nullable=True),
        sa.Column("headers", JSONType, nullable=False),
        sa.Column("raw_body", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_record"),
    )
    op.create_index("ix_webhook_record_event_id", "webhook_record", ["event_id"])
    op.create_index("ix_webhook_record_transaction_id", "webhook_record", ["transaction_id"])

    op.create_table(
        "processed_webhook",
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_processed_webhook"),
    )

    op.create_table(
        "provider_call",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("operation", sa.String(40), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("url", sa.String(1000), nullable=False),
        sa.Column("request_body", JSONType, nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", JSONType, nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_provider_call"),
    )
    op.create_index("ix_provider_call_transaction_id", "provider_call", ["transaction_id"])


def downgrade() -> None:
    op.drop_index("ix_provider_call_transaction_id", table_name="provider_call")
    op.drop_table("provider_call")
    op.drop_table("processed_webhook")
    op.drop_index("ix_webhook_record_transaction_id", table_name="webhook_record")
    op.drop_index("ix_webhook_record_event_id", table_name="webhook_record")
    op.drop_table("webhook_record")
    op.drop_index("ix_refund_due", table_name="refund")
    op.drop_table("refund")
    op.drop_index("ix_payout_due", table_name="payout")
    op.drop_index("ix_payout_payout_item_id", table_name="payout")
    op.drop_index("ix_payout_payout_batch_id", table_name="payout")
    op.drop_table("payout")
    op.drop_index("ix_payment_user_id", table_name="payment")
    op.drop_table("payment")
