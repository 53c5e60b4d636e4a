"""The audit trail: append-only hash-chained entries and signed checkpoints.

On PostgreSQL, triggers refuse UPDATE, DELETE and TRUNCATE of `audit_entry` and
`audit_checkpoint`. The only DELETE allowed is a retention purge: the transaction sets
`audit.purge = on` and may delete entries up to the `purged_through` position of a checkpoint
(written first, in the same transaction), so the chain stays verifiable from that checkpoint.
Run the service as a role without TRIGGER/ownership privileges so it cannot disable them.

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

PG_TRIGGERS = [
    """
    CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND current_setting('audit.purge', true) = 'on'
           AND OLD.id <= COALESCE((SELECT max(purged_through) FROM audit_checkpoint), 0) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP USING ERRCODE = '42501';
    END $$
    """,
    """
    CREATE FUNCTION audit_checkpoint_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_checkpoint is append-only: % refused', TG_OP USING ERRCODE = '42501';
    END $$
    """,
    "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry"
    " FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
    "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()",
    "CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint"
    " FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_append_only()",
    "CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoint_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=False),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=True),
        sa.Column("actor_role", sa.String(16), nullable=True),
        sa.Column("target_type", sa.String(64), nullable=True),
        sa.Column("target_id", sa.String(128), nullable=True),
        sa.Column("transaction_id", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("privileged", sa.Boolean(), nullable=False),
        sa.Column("pci", sa.Boolean(), nullable=False),
        sa.Column("gdpr", sa.Boolean(), nullable=False),
        sa.Column("details", JSONType, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entry"),
        sa.UniqueConstraint("source_id", name="uq_audit_entry_source_id"),
        sa.UniqueConstraint("hash", name="uq_audit_entry_hash"),
    )
    for name, cols in (
        ("ix_audit_entry_occurred_at", ["occurred_at"]),
        ("ix_audit_entry_actor_id", ["actor_id"]),
        ("ix_audit_entry_target", ["target_type", "target_id"]),
        ("ix_audit_entry_transaction_id", ["transaction_id"]),
        ("ix_audit_entry_request_id", ["request_id"]),
        ("ix_audit_entry_action", ["action"]),
        ("ix_audit_entry_ip", ["ip"]),
    ):
        op.create_index(name, "audit_entry", cols)
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("purged_through", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_checkpoint"),
    )
    op.create_index("ix_audit_checkpoint_entry_id", "audit_checkpoint", ["entry_id"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE audit_checkpoint")
        op.execute("DROP TABLE audit_entry")
        op.execute("DROP FUNCTION audit_entry_append_only()")
        op.execute("DROP FUNCTION audit_checkpoint_append_only()")
        return
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_entry")
