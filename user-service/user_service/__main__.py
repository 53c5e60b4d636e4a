"""`python -m user_service`: serve the User Service with uvicorn on its configured host and port."""

from __future__ import annotations

import uvicorn

from user_service.main import create_app
from user_service.settings import Settings


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
