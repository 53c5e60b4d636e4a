"""`python -m payment_service`: serve the Payment Service (shared.server.run)."""

from __future__ import annotations

from payment_service.main import create_app
from payment_service.settings import Settings
from shared.server import run


def main() -> None:
    settings = Settings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
