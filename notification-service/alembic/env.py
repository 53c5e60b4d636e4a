"""Migrations for the Notification Service; tables and version table live in schema `notifications`."""

from notification_service.models import Base
from notification_service.settings import Settings
from shared.alembic_env import run_migrations

run_migrations(Base.metadata, Settings)
