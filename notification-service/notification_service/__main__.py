"""`python -m notification_service`: serve the Notification Service with uvicorn (configured host/port)."""

from __future__ import annotations

import uvicorn

from notification_service.main import create_app
from notification_service.settings import Settings


def main() -> None:
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
