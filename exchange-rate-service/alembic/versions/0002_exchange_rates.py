"""Exchange rates: append-only history with provenance.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import BigIntPK, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rates are decimal strings (String(40)), never NUMERIC: SQLite would store a binary float.
PG_FUNCTION = """
CREATE FUNCTION exchange_rate_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'exchange_rate is append-only';
END;
$$
"""
PG_TRIGGER = """
CREATE TRIGGER exchange_rate_append_only BEFORE UPDATE OR DELETE ON exchange_rate
    FOR EACH ROW EXECUTE FUNCTION exchange_rate_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "exchange_rate",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("base_currency", sa.String(3), nullable=False),
        sa.Column("rate_to_bdt", sa.String(40), nullable=False),
        sa.Column("provider_quote", sa.String(40), nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_rate"),
    )
    op.create_index("ix_exchange_rate_currency_id", "exchange_rate", ["currency", "id"])
    if op.get_bind().dialect.name == "postgresql":
        # History is never rewritten (TRUNCATE, used only by tests, does not fire row triggers).
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER exchange_rate_no_{action.lower()} BEFORE {action} ON exchange_rate "
                "BEGIN SELECT RAISE(ABORT, 'exchange_rate is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS exchange_rate_append_only ON exchange_rate")
        op.execute("DROP FUNCTION IF EXISTS exchange_rate_append_only()")
    op.drop_index("ix_exchange_rate_currency_id", table_name="exchange_rate")
    op.drop_table("exchange_rate")
