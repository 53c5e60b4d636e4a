"""The provider interface, its errors, and a per-provider circuit breaker."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a provider needs to send one message (rendered, addressed)."""

    message_id: str  # our notification id (stable across retries)
    channel: str
    recipient: str  # email address, E.164 phone number or device token
    subject: str
    body_text: str
    body_html: str | None = None
    category: str = ""
    transactional: bool = True
    data: dict[str, Any] = field(default_factory=dict)


class ProviderError(Exception):
    """A failed send. `retryable=False` for answers that will not change (invalid number, unknown
    device): those dead-letter at once and do not count against the provider's health."""

    def __init__(self, message: str, *, retryable: bool = True, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code


class Provider(Protocol):
    name: str
    channel: str

    async def send(self, msg: Outgoing) -> str:
        """Send; return the provider's message id."""
        ...


class CircuitBreaker:
    """closed → (threshold consecutive failures) → open → (reset_seconds) → half-open: calls are
    let through again; the first success closes, a failure re-opens at once. Process-local: each
    replica learns on its own. Permanent errors (bad number, unknown device) are not counted."""

    def __init__(self, threshold: int, reset_seconds: float) -> None:
        self.threshold = max(1, threshold)
        self.reset_seconds = reset_seconds
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if time.monotonic() - self.opened_at >= self.reset_seconds:
            return "half_open"
        return "open"

    def allows(self) -> bool:
        return self.state != "open"

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def record_failure(self) -> None:
        self.failures += 1
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = time.monotonic()


class ProviderChain:
    """Primary first, then the secondary; a provider whose breaker is open is skipped. When every
    breaker is open the primary is tried anyway (better than certain failure)."""

    def __init__(self, providers: list[Provider], threshold: int, reset_seconds: float) -> None:
        self.providers = providers
        self.breakers = {p.name: CircuitBreaker(threshold, reset_seconds) for p in providers}

    def pick(self) -> Provider | None:
        for p in self.providers:
            if self.breakers[p.name].allows():
                return p
        return self.providers[0] if self.providers else None

    def breaker_states(self) -> dict[str, str]:
        return {name: b.state for name, b in self.breakers.items()}
