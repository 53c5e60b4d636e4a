"""Migrations for the Exchange Rate Service; tables and version table live in schema `rates`."""

from exchange_rate_service.models import Base
from exchange_rate_service.settings import Settings
from shared.alembic_env import run_migrations

run_migrations(Base.metadata, Settings)
