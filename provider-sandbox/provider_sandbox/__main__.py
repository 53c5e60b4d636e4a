"""`python -m provider_sandbox`: serve the Provider Sandbox (shared.server.run)."""

from __future__ import annotations

from provider_sandbox.main import create_app
from provider_sandbox.settings import Settings
from shared.server import run


def main() -> None:
    settings = Settings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
