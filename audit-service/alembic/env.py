"""Migrations for the Audit Service; tables and version table live in schema `audit`."""

from shared.alembic_env import run_migrations

from audit_service.models import Base
from audit_service.settings import Settings

run_migrations(Base.metadata, Settings)
