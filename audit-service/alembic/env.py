"""Migrations for the Audit Service; tables and version table live in schema `audit`."""

from audit_service.models import Base
from audit_service.settings import Settings
from shared.alembic_env import run_migrations

run_migrations(Base.metadata, Settings)
