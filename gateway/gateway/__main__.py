"""`python -m gateway`: serve the API Gateway with uvicorn on its configured host and port."""

from __future__ import annotations

import uvicorn

from gateway.main import create_app
from gateway.server import CoalescingHttpToolsProtocol
from gateway.settings import Settings


def main() -> None:
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        http=CoalescingHttpToolsProtocol,
    )


if __name__ == "__main__":
    main()
