"""`python -m payment_service`: serve the Payment Service with uvicorn on its configured host and port."""

from __future__ import annotations

import uvicorn

from payment_service.main import create_app
from payment_service.settings import Settings


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
