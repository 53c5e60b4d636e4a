"""Canonical form and hash of an audit entry.

    hash = SHA-256( prev_hash ‖ canonical JSON of the masked entry )

`prev_hash` is the previous entry's hash as 64 lower-case hex characters (ASCII), `GENESIS` for the
first entry. The canonical JSON is UTF-8, keys sorted, no insignificant whitespace, datetimes as
ISO 8601 UTC with microseconds, UUIDs as strings. It covers every stored column except `hash`
and `prev_hash` themselves (including `id`, the chain position, so reordering is detected).
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

HASHED_FIELDS: tuple[str, ...] = (
    "id",
    "source_id",
    "occurred_at",
    "recorded_at",
    "service",
    "event_type",
    "category",
    "action",
    "severity",
    "outcome",
    "actor_type",
    "actor_id",
    "actor_role",
    "target_type",
    "target_id",
    "transaction_id",
    "request_id",
    "ip",
    "user_agent",
    "privileged",
    "pci",
    "gdpr",
    "details",
)


def _canonical_scalar(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# One encoder for every hash (hot path of verify: ~10 µs per entry).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_CONVERTED = ("occurred_at", "recorded_at", "source_id")


def canonical_json(entry: Mapping[str, Any]) -> bytes:
    body = {name: entry.get(name) for name in HASHED_FIELDS}
    for name in _CONVERTED:
        if body[name] is not None:
            body[name] = _canonical_scalar(body[name])
    return _ENCODER.encode(body).encode()


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    h = hashlib.sha256(prev_hash.encode("ascii"))
    h.update(canonical_json(entry))
    return h.hexdigest()


def json_safe(value: Any, *, depth: int = 0) -> Any:
    """Make a details value storable and hash-stable on both backends: string keys, no NUL
    characters (PostgreSQL refuses them), floats only when finite and exactly representable as
    JSON numbers that round-trip through JSONB, everything else as a string; nesting ≤ 32."""
    if depth > 32:
        return "…"
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and abs(value) < 1e15 and value == float(repr(value)):
            return value if value != int(value) else int(value)
        return repr(value)
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, Mapping):
        return {str(k).replace("\x00", ""): json_safe(v, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v, depth=depth + 1) for v in value]
    return json_safe(
        _canonical_scalar(value) if isinstance(value, datetime | uuid.UUID) else str(value), depth=depth + 1
    )
