"""The benchmark's downstream: a bare FastAPI endpoint on one uvicorn worker (the "direct" row), plus
the JWKS of the benchmark's signing key (so the gateway verifies real RS256 tokens).

    python bench/bench_app.py PORT JWKS_FILE
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI


def build(jwks: dict[str, object]) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/jwks.json")
    async def keys() -> dict[str, object]:
        return jwks

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/history/{item}")
    async def item(item: str) -> dict[str, object]:
        return {"id": item, "status": "COMPLETED", "amount": "100.00", "currency": "USD"}

    return app


if __name__ == "__main__":
    port, jwks_file = int(sys.argv[1]), Path(sys.argv[2])
    uvicorn.run(
        build(json.loads(jwks_file.read_text())),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
