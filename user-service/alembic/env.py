"""Migrations for the User Service; tables and version table live in schema `users`."""

from shared.alembic_env import run_migrations
from user_service.models import Base
from user_service.settings import Settings

run_migrations(Base.metadata, Settings)
