"""Service-to-service authentication with per-service API keys (`X-API-Key`), separate from user
tokens. Only `/internal/*` routes accept them."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from shared.errors import Unauthorized
from shared.logging import get_logger

API_KEY_HEADER = "X-API-Key"
log = get_logger(__name__)

_api_key_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, scheme_name="ServiceApiKey")


def identify_service(presented: str | None, accepted: dict[str, str]) -> str | None:
    """The calling service's name if `presented` matches one of its keys (constant-time)."""
    if not presented:
        return None
    found = None
    for name, key in accepted.items():
        if hmac.compare_digest(presented.encode(), key.encode()):
            found = name
    return found


async def require_service(request: Request, api_key: Annotated[str | None, Depends(_api_key_scheme)]) -> str:
    accepted: dict[str, str] = request.app.state.settings.accepted_service_keys()
    name = identify_service(api_key, accepted)
    if name is None:
        log.warning("service_key_rejected", path=request.url.path)
        raise Unauthorized(
            "A valid service API key is required.",
            code="invalid_service_key",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    request.state.service_caller = name
    return name


ServiceCaller = Annotated[str, Depends(require_service)]
