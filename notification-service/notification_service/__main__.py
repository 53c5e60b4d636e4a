"""`python -m notification_service`: serve the Notification Service (shared.server.run)."""

from __future__ import annotations

from notification_service.main import create_app
from notification_service.settings import Settings
from shared.server import run


def main() -> None:
    settings = Settings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
