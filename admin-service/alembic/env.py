"""Migrations for the Admin Service; tables and version table live in schema `admin`."""

from admin_service.models import Base
from admin_service.settings import Settings
from shared.alembic_env import run_migrations

run_migrations(Base.metadata, Settings)
