"""Entry drafts: every audit entry, from an event or a direct call, goes through `make_draft`,
which applies the masking rules (always — callers cannot opt out) and makes the values storable
and hash-stable. Raw values never reach the database."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from audit_service.chain.hashing import json_safe
from audit_service.settings import Settings
from shared.db import utcnow
from shared.masking import Masker, MaskingRules

Category = Literal[
    "authentication",
    "authorization",
    "user_management",
    "transaction",
    "payment",
    "payout",
    "refund",
    "rate",
    "configuration",
    "webhook",
    "data_access",
    "system",
]
Severity = Literal["info", "low", "medium", "high", "critical"]
Outcome = Literal["success", "failure", "denied", "pending", "unknown"]
ActorType = Literal["user", "service", "system", "client", "anonymous"]
CATEGORIES: tuple[str, ...] = get_args(Category)
SEVERITIES: tuple[str, ...] = get_args(Severity)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
ACTOR_TYPES: tuple[str, ...] = get_args(ActorType)
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}

# Column lengths (models.AuditEntry): longer values are cut, never rejected (an audit write
# must not fail on an over-long user agent).
_LIMITS = {
    "service": 64,
    "event_type": 100,
    "action": 100,
    "actor_id": 128,
    "actor_role": 16,
    "target_type": 64,
    "target_id": 128,
    "transaction_id": 64,
    "request_id": 128,
    "ip": 64,
    "user_agent": 512,
}
# Larger details are replaced by a stub naming their keys (an audit row is evidence, not storage).
MAX_DETAILS_BYTES = 64 * 1024
# Free-text columns that get the value rules (an actor id may be an e-mail a login was tried with).
_TEXT_MASKED = ("actor_id", "target_id", "user_agent", "action")


def build_masker(settings: Settings) -> Masker:
    split = lambda raw: [p.strip() for p in raw.split(",") if p.strip()]  # noqa: E731
    rules = MaskingRules().with_extra(
        secret_keys=split(settings.audit_mask_extra_secret_keys),
        pii_keys=split(settings.audit_mask_extra_pii_keys),
        patterns=settings.audit_mask_extra_patterns,
    )
    return Masker(rules)


def _clean(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).replace("\x00", "").strip()
    return text[:limit] if text else None


def make_draft(
    masker: Masker,
    *,
    service: str,
    action: str,
    category: str = "system",
    severity: str = "info",
    outcome: str = "success",
    actor_type: str = "system",
    actor_id: Any = None,
    actor_role: Any = None,
    target_type: Any = None,
    target_id: Any = None,
    transaction_id: Any = None,
    request_id: Any = None,
    ip: Any = None,
    user_agent: Any = None,
    details: dict[str, Any] | None = None,
    privileged: bool = False,
    pci: bool = False,
    gdpr: bool = False,
    occurred_at: datetime | None = None,
    event_type: str | None = None,
    source_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """A complete, masked row (every hashed column present) ready for `append_entries`."""
    draft: dict[str, Any] = {
        "source_id": source_id,
        "occurred_at": occurred_at or utcnow(),
        "service": service,
        "event_type": event_type,
        "category": category if category in CATEGORIES else "system",
        "action": action,
        "severity": severity if severity in SEVERITIES else "info",
        "outcome": outcome if outcome in OUTCOMES else "unknown",
        "actor_type": actor_type if actor_type in ACTOR_TYPES else "system",
        "actor_id": actor_id,
        "actor_role": actor_role,
        "target_type": target_type,
        "target_id": target_id,
        "transaction_id": transaction_id,
        "request_id": request_id,
        "ip": ip,
        "user_agent": user_agent,
        "privileged": bool(privileged),
        "pci": bool(pci),
        "gdpr": bool(gdpr),
    }
    for name, limit in _LIMITS.items():
        draft[name] = _clean(draft[name], limit)
        if name in _TEXT_MASKED and draft[name] is not None:
            draft[name] = masker.mask_text(draft[name])[:limit]
    draft["service"] = draft["service"] or "unknown"
    draft["action"] = draft["action"] or "unknown"
    draft["details"] = _bounded(json_safe(masker.mask_mapping(details or {})))
    return draft


def _bounded(details: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(details, ensure_ascii=False).encode())
    if size <= MAX_DETAILS_BYTES:
        return details
    return {"_truncated": True, "_size_bytes": size, "_keys": sorted(details)[:100]}
