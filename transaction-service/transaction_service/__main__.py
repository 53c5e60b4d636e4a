"""`python -m transaction_service`: serve the Transaction Service (shared.server.run)."""

from __future__ import annotations

from shared.server import run
from transaction_service.main import create_app
from transaction_service.settings import Settings


def main() -> None:
    settings = Settings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
