"""Payout item states (providers.md P.6) and which moves are allowed.

Webhooks arrive duplicated and out of order, so a payout only ever moves forward: CREATED →
PENDING → UNCLAIMED/ONHOLD → SUCCESS or a failure; failures are final; SUCCESS can still be
returned/refunded/reversed by PayPal. Unknown values are left for a person (`NEEDS_REVIEW`).
"""

from __future__ import annotations

CREATED = "CREATED"  # our row exists; PayPal has not accepted the batch yet
PENDING = "PENDING"
SUCCESS = "SUCCESS"
WAITING = frozenset({"UNCLAIMED", "ONHOLD"})
FAILED_FINAL = frozenset({"FAILED", "DENIED", "BLOCKED", "RETURNED", "REFUNDED", "REVERSED"})
AFTER_SUCCESS = frozenset({"RETURNED", "REFUNDED", "REVERSED"})
NEEDS_REVIEW = "NEEDS_REVIEW"
KNOWN = frozenset({CREATED, PENDING, SUCCESS, NEEDS_REVIEW}) | WAITING | FAILED_FINAL
NOT_TERMINAL = frozenset({CREATED, PENDING}) | WAITING

_RANK = {CREATED: 0, PENDING: 1, "UNCLAIMED": 2, "ONHOLD": 2}


def normalize(status: str) -> str:
    s = (status or "").strip().upper().replace("ON_HOLD", "ONHOLD")
    return s if s in KNOWN else NEEDS_REVIEW


def can_move(old: str, new: str) -> bool:
    if old == new or old in FAILED_FINAL or old == NEEDS_REVIEW:
        return False
    if old == SUCCESS:
        return new in AFTER_SUCCESS
    if new in _RANK:
        return _RANK[new] > _RANK.get(old, 0) or (old in WAITING and new in WAITING)
    return True


def event_for(status: str) -> str | None:
    if status == SUCCESS:
        return "payout.succeeded"
    if status in FAILED_FINAL:
        return "payout.failed"
    if status in WAITING or status == NEEDS_REVIEW:
        return "payout.pending"
    return None
