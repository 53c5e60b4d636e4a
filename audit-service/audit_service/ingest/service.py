"""Ingestion: events (through the inbox) and direct entries become masked drafts, appended to the
chain in the caller's transaction (so an event is recorded exactly once with its inbox row)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from audit_service.chain.repository import Appended, append_entries
from audit_service.entries import OUTCOMES, make_draft
from audit_service.ingest.rules import rule_for
from audit_service.ingest.schemas import AuditEntryIn
from shared.events import EventEnvelope
from shared.inbox import EventHandler
from shared.logging import request_id_var
from shared.masking import Masker

_MONEY_PREFIXES = ("transaction.", "payment.", "payout.", "refund.")


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _target_id(target_type: str | None, data: dict[str, Any], subject: str | None) -> Any:
    keyed = {
        "user": "user_id",
        "transaction": "transaction_id",
        "setting": "key",
        "currency": "currency",
        "api_client": "client_id",
        "webhook": "webhook_id",
    }
    key = keyed.get(target_type or "")
    return (data.get(key) if key else None) or subject


def draft_from_event(masker: Masker, env: EventEnvelope) -> dict[str, Any]:
    rule = rule_for(env.type)
    data = env.data or {}
    subject = env.subject_id
    if data.get("by"):  # an admin (or other user) acted on someone else
        actor_type, actor_id, actor_role = "user", data.get("by"), data.get("by_role")
    elif env.type.startswith("user."):
        user_id = data.get("user_id") or subject
        actor_type = "user" if user_id else "anonymous"
        actor_id = user_id or data.get("username") or data.get("email")
        actor_role = data.get("role")
    elif data.get("actor_id"):
        actor_type, actor_id, actor_role = (
            str(data.get("actor_type") or "user"),
            data["actor_id"],
            data.get("actor_role"),
        )
    else:
        actor_type, actor_id, actor_role = "service", env.producer, None
    transaction_id = data.get("transaction_id") or (subject if env.type.startswith(_MONEY_PREFIXES) else None)
    outcome = str(data["outcome"]) if data.get("outcome") in OUTCOMES else rule.outcome
    return make_draft(
        masker,
        source_id=env.id,
        event_type=env.type,
        occurred_at=_aware(env.occurred_at),
        service=env.producer,
        action=env.type,
        category=rule.category,
        severity=rule.severity,
        outcome=outcome,
        actor_type=actor_type,
        actor_id=actor_id,
        actor_role=actor_role,
        target_type=rule.target_type,
        target_id=_target_id(rule.target_type, data, subject),
        transaction_id=transaction_id,
        request_id=env.trace.get("request_id") or data.get("request_id"),
        ip=data.get("ip") or data.get("ip_address"),
        user_agent=data.get("user_agent"),
        details=data,
        privileged=rule.privileged,
        pci=rule.pci,
        gdpr=rule.gdpr,
    )


def draft_from_api(masker: Masker, caller: str, entry: AuditEntryIn) -> dict[str, Any]:
    """A service's own entry. The service name is the authenticated caller, never the body;
    category/severity/outcome default from the action's rule when it names an event type."""
    rule = rule_for(entry.action)
    privileged = entry.privileged or rule.privileged or entry.actor_role == "admin"
    return make_draft(
        masker,
        source_id=entry.id,
        occurred_at=_aware(entry.occurred_at),
        service=caller,
        action=entry.action,
        category=entry.category or rule.category,
        severity=entry.severity or rule.severity,
        outcome=entry.outcome or rule.outcome,
        actor_type=entry.actor_type,
        actor_id=entry.actor_id,
        actor_role=entry.actor_role,
        target_type=entry.target_type or rule.target_type,
        target_id=entry.target_id,
        transaction_id=entry.transaction_id,
        request_id=entry.request_id or request_id_var.get(),
        ip=entry.ip,
        user_agent=entry.user_agent,
        details=entry.details,
        privileged=privileged,
        pci="pci" in entry.tags or rule.pci,
        gdpr="gdpr" in entry.tags or rule.gdpr,
    )


async def record(session: AsyncSession, drafts: Sequence[dict[str, Any]]) -> list[Appended]:
    return await append_entries(session, drafts)


def make_event_handler(masker: Masker) -> EventHandler:
    async def on_event(session: AsyncSession, envelope: EventEnvelope) -> None:
        await append_entries(session, [draft_from_event(masker, envelope)])

    return on_event


async def record_staff_action(
    session: AsyncSession,
    masker: Masker,
    *,
    actor_id: str,
    actor_role: str,
    action: str,
    details: dict[str, Any],
    severity: str = "medium",
    ip: str | None = None,
    user_agent: str | None = None,
) -> Appended:
    """The audit service audits its own privileged operations (exports, checkpoints, purges)."""
    draft = make_draft(
        masker,
        service="audit-service",
        action=action,
        category="data_access",
        severity=severity,
        outcome="success",
        actor_type="user",
        actor_id=actor_id,
        actor_role=actor_role,
        target_type="audit_log",
        request_id=request_id_var.get(),
        ip=ip,
        user_agent=user_agent,
        details=details,
        privileged=True,
    )
    [done] = await append_entries(session, [draft])
    return done
