"""Admin Service settings (environment variables; see `.env.example`)."""

from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "admin-service"
