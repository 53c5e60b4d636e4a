"""`python -m admin_service`: serve the Admin Service (shared.server.run)."""

from __future__ import annotations

from admin_service.main import create_app
from admin_service.settings import Settings
from shared.server import run


def main() -> None:
    settings = Settings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
