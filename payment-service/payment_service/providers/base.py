"""What every provider client shares: the error hierarchy and the call recorder.

Errors say what a caller may do next:
- `ProviderTimeout`: no answer; the outcome is unknown (retry only where the provider's
  idempotency makes it safe, otherwise reconcile later).
- `ProviderUnavailable`: connection refused, 5xx, 429 or a body that is not JSON; nothing usable.
- `ProviderRejected`: a 4xx with the provider's error (`name`, `details`) — a definite answer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from payment_service.metrics import PROVIDER_CALLS, PROVIDER_LATENCY
from payment_service.models import ProviderCall
from shared.db import Database
from shared.logging import get_logger
from shared.masking import MASK, is_secret_key, mask_mapping

log = get_logger(__name__)


class ProviderError(Exception):
    """Base of provider failures (never shown to a client as is)."""

    def __init__(self, message: str, *, status_code: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class ProviderTimeout(ProviderError):
    pass


class ProviderUnavailable(ProviderError):
    pass


class ProviderRejected(ProviderError):
    @property
    def name(self) -> str:
        return (
            str((self.body or {}).get("name") or (self.body or {}).get("error") or "")
            if isinstance(self.body, dict)
            else ""
        )


@dataclass
class CallRecord:
    provider: str
    operation: str
    method: str
    url: str
    request_body: dict[str, Any] | None = None
    status_code: int | None = None
    response_body: dict[str, Any] | None = None
    error: str | None = None
    duration_ms: int = 0
    transaction_id: uuid.UUID | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Recorder = Callable[[CallRecord], Awaitable[None]]


def mask_url(url: str) -> str:
    """The URL with secret query parameters (store_passwd, …) replaced by `***`."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, MASK if is_secret_key(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


class DatabaseRecorder:
    """Writes each call in its own short transaction, so a call is on record even when the
    caller's unit of work later rolls back."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, rec: CallRecord) -> None:
        result = rec.error if rec.error in ("timeout",) else str(rec.status_code or "error")
        PROVIDER_CALLS.labels(rec.provider, rec.operation, result).inc()
        PROVIDER_LATENCY.labels(rec.provider, rec.operation).observe(rec.duration_ms / 1000)
        try:
            async with self.db.sessionmaker() as session, session.begin():
                session.add(
                    ProviderCall(
                        provider=rec.provider,
                        operation=rec.operation,
                        method=rec.method,
                        url=mask_url(rec.url)[:1000],
                        request_body=mask_mapping(rec.request_body) if rec.request_body is not None else None,
                        status_code=rec.status_code,
                        response_body=mask_mapping(rec.response_body)
                        if rec.response_body is not None
                        else None,
                        error=(rec.error or None) and rec.error[:200],
                        duration_ms=rec.duration_ms,
                        transaction_id=rec.transaction_id,
                    )
                )
        except Exception as exc:  # recording must never break the money flow
            log.warning("provider_call_not_recorded", operation=rec.operation, error=type(exc).__name__)


async def no_recorder(rec: CallRecord) -> None:
    return None


def json_or_none(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def as_dict(body: Any) -> dict[str, Any] | None:
    if body is None:
        return None
    return body if isinstance(body, dict) else {"_body": body}


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.monotonic()

    @property
    def ms(self) -> int:
        return int((time.monotonic() - self.start) * 1000)
