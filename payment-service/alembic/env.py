"""Migrations for the Payment Service; tables and version table live in schema `payments`."""

from payment_service.models import Base
from payment_service.settings import Settings
from shared.alembic_env import run_migrations

run_migrations(Base.metadata, Settings)
