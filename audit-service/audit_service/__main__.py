"""`python -m audit_service`: serve the Audit Service (shared.server.run)."""

from __future__ import annotations

from audit_service.main import create_app
from audit_service.settings import Settings
from shared.server import run


def main() -> None:
    settings = Settings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
