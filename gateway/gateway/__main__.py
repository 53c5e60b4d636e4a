"""`python -m gateway`: serve the API Gateway (shared.server.run)."""

from __future__ import annotations

from gateway.main import create_app
from gateway.settings import Settings
from shared.server import run


def main() -> None:
    settings = Settings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
