"""Recipients come from user-service (`GET /internal/users/{id}`), never from the event or the
caller: an event saying "send to x@y" would let any producer mail anyone."""

from __future__ import annotations

from typing import Any

import httpx

from shared.errors import UpstreamError
from shared.logging import get_logger

log = get_logger(__name__)


class UserDirectory:
    def __init__(self, http: httpx.AsyncClient, base_url: str, *, timeout: float = 5.0) -> None:
        self.http = http  # the shared client: it carries our service API key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    async def get(self, user_id: str) -> dict[str, Any] | None:
        """The user's contact record, or None if user-service does not know the id. Any other
        failure raises (the event is then redelivered later by the producer's relay)."""
        try:
            resp = await self.http.get(f"{self.base_url}/internal/users/{user_id}", timeout=self.timeout)
        except httpx.HTTPError as exc:
            log.warning("user_lookup_failed", error=type(exc).__name__)
            raise UpstreamError(
                "The user directory is unavailable.", code="user_service_unavailable"
            ) from exc
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            log.warning("user_lookup_failed", status=resp.status_code)
            raise UpstreamError("The user directory is unavailable.", code="user_service_unavailable")
        body = resp.json()
        return body if isinstance(body, dict) else None
