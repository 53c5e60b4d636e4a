"""Sealed payloads: small JSON objects encrypted and authenticated (Fernet) so that an event can
carry something only its intended consumer may read — e.g. the e-mail verification link that
notification-service must send — without a token ever appearing in clear in an event, a log or
the audit trail.

The key comes from the `EVENT_SEAL_KEY` setting (a Fernet key; several comma-separated keys allow
rotation: the first seals, all open).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealError(ValueError):
    """The sealed value is forged, corrupted, expired or sealed with an unknown key."""


def derive_dev_key(label: str = "dev-event-seal") -> str:
    """Deterministic key for development/test only (production must configure its own)."""
    return base64.urlsafe_b64encode(hashlib.sha256(label.encode()).digest()).decode()


def _fernet(keys: str) -> MultiFernet:
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        raise SealError("no seal key configured")
    return MultiFernet([Fernet(k.encode()) for k in parts])


def seal(data: dict[str, Any], keys: str) -> str:
    return _fernet(keys).encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()


def unseal(token: str, keys: str, *, ttl: int | None = None) -> dict[str, Any]:
    try:
        raw = _fernet(keys).decrypt(token.encode(), ttl=ttl)
    except (InvalidToken, ValueError) as exc:
        raise SealError("cannot open sealed payload") from exc
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise SealError("sealed payload is not an object")
    return value
