"""`python -m exchange_rate_service`: serve the Exchange Rate Service (shared.server.run)."""

from __future__ import annotations

from exchange_rate_service.main import create_app
from exchange_rate_service.settings import Settings
from shared.server import run


def main() -> None:
    settings = Settings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
