"""Migrations for the Transaction Service; tables and version table live in schema `transactions`."""

from shared.alembic_env import run_migrations
from transaction_service.models import Base
from transaction_service.settings import Settings

run_migrations(Base.metadata, Settings)
