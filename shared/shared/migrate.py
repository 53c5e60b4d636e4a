"""Run a service's Alembic migrations programmatically (used by `make migrate`, the dev launcher
and the test fixtures)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import command
from alembic.config import Config


def service_dir(package: str) -> Path:
    """The service folder (holding `alembic.ini`) of an importable service package."""
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise LookupError(f"package {package!r} not importable")
    return Path(next(iter(found.submodule_search_locations))).resolve().parent


def alembic_config(package: str, database_url: str, schema: str) -> Config:
    folder = service_dir(package)
    cfg = Config(str(folder / "alembic.ini"))
    cfg.set_main_option("script_location", str(folder / "alembic"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.set_main_option("db_schema", schema)
    return cfg


def upgrade(package: str, database_url: str, schema: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(package, database_url, schema), revision)


def downgrade(package: str, database_url: str, schema: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(package, database_url, schema), revision)
