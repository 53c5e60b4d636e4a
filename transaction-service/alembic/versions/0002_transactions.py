"""Quotes, transactions, status history, per-user limits, job leases and idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import BigIntPK, UTCDateTime
from shared.idempotency import idempotency_table_ops

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _dec() -> sa.String:
    return sa.String(40)  # DecimalText: exact decimal as text


def upgrade() -> None:
    idempotency_table_ops(op)
    op.create_table(
        "quote",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("foreign_amount", sa.BigInteger(), nullable=False),
        sa.Column("rate_to_bdt", _dec(), nullable=False),
        sa.Column("rate_source", sa.String(64), nullable=False),
        sa.Column("rate_as_of", UTCDateTime(), nullable=True),
        sa.Column("bdt_amount", sa.BigInteger(), nullable=False),
        sa.Column("fee_percentage", _dec(), nullable=False),
        sa.Column("fee_bdt", sa.BigInteger(), nullable=False),
        sa.Column("total_bdt", sa.BigInteger(), nullable=False),
        sa.Column("usd_equivalent", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_by_transaction_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_quote"),
    )
    op.create_index("ix_quote_user_id", "quote", ["user_id"])
    op.create_table(
        "transaction",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("internal_tran_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("on_hold", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sa.String(64), nullable=True),
        sa.Column("foreign_currency", sa.String(3), nullable=False),
        sa.Column("foreign_amount", sa.BigInteger(), nullable=False),
        sa.Column("recipient_paypal_email", sa.String(320), nullable=False),
        sa.Column("payment_purpose", sa.String(200), nullable=True),
        sa.Column("quote_id", sa.Uuid(), nullable=True),
        sa.Column("rate_to_bdt", _dec(), nullable=False),
        sa.Column("rate_source", sa.String(64), nullable=False),
        sa.Column("fee_percentage", _dec(), nullable=False),
        sa.Column("bdt_amount", sa.BigInteger(), nullable=False),
        sa.Column("fee_bdt", sa.BigInteger(), nullable=False),
        sa.Column("total_bdt", sa.BigInteger(), nullable=False),
        sa.Column("usd_equivalent", sa.BigInteger(), nullable=False),
        sa.Column("payment_url", sa.Text(), nullable=True),
        sa.Column("payment_id", sa.String(64), nullable=True),
        sa.Column("payout_id", sa.String(64), nullable=True),
        sa.Column("refund_id", sa.String(64), nullable=True),
        sa.Column("failure_reason", sa.String(200), nullable=True),
        sa.Column("bdt_received_at", UTCDateTime(), nullable=True),
        sa.Column("payout_requested_at", UTCDateTime(), nullable=True),
        sa.Column("refund_requested_at", UTCDateTime(), nullable=True),
        sa.Column("action_attempts", sa.Integer(), nullable=False),
        sa.Column("next_action_at", UTCDateTime(), nullable=True),
        sa.Column("last_reconciled_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_transaction"),
        sa.UniqueConstraint("internal_tran_id", name="uq_transaction_internal_tran_id"),
        sa.ForeignKeyConstraint(["quote_id"], ["quote.id"], name="fk_transaction_quote_id_quote"),
    )
    op.create_index("ix_transaction_user_created", "transaction", ["user_id", "created_at"])
    op.create_index("ix_transaction_status_updated", "transaction", ["status", "updated_at"])
    op.create_table(
        "transaction_status_history",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("on_hold", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_transaction_status_history"),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transaction.id"],
            name="fk_transaction_status_history_transaction_id_transaction",
        ),
    )
    op.create_index(
        "ix_transaction_status_history_transaction_id", "transaction_status_history", ["transaction_id"]
    )
    op.create_table(
        "user_limit",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("daily_limit", sa.BigInteger(), nullable=True),
        sa.Column("monthly_limit", sa.BigInteger(), nullable=True),
        sa.Column("yearly_limit", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_limit"),
    )
    op.create_table(
        "job_lease",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_job_lease"),
    )


def downgrade() -> None:
    op.drop_table("job_lease")
    op.drop_table("user_limit")
    op.drop_index("ix_transaction_status_history_transaction_id", table_name="transaction_status_history")
    op.drop_table("transaction_status_history")
    op.drop_index("ix_transaction_status_updated", table_name="transaction")
    op.drop_index("ix_transaction_user_created", table_name="transaction")
    op.drop_table("transaction")
    op.drop_index("ix_quote_user_id", table_name="quote")
    op.drop_table("quote")
    op.drop_index("ix_idempotency_key_expires_at", table_name="idempotency_key")
    op.drop_table("idempotency_key")
