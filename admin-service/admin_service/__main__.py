"""`python -m admin_service`: serve the Admin Service with uvicorn on its configured host and port."""

from __future__ import annotations

import uvicorn

from admin_service.main import create_app
from admin_service.settings import Settings


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
