"""Turn (user, template key, variables) into queued message rows in the caller's transaction.

One row per channel (per device for push), keyed by a dedupe key that is unique in the table.
Consent is decided here: an opted-out category produces a `suppressed` row (visible in history,
never sent); mandatory categories ignore opt-outs. Quiet hours (the user's own, else the
platform default) delay non-mandatory SMS/push. A channel switched off platform-wide by admin-service
(`notification.<channel>_enabled`) produces `suppressed` rows with reason `channel_disabled`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notification_service.catalog import is_mandatory
from notification_service.delivery.switches import CHANNEL_DISABLED
from notification_service.delivery.worker import DIRTY
from notification_service.models import DEAD, QUEUED, SUPPRESSED, DeviceToken, Notification, Template
from notification_service.preferences.service import channel_enabled, quiet_hours_end
from notification_service.runtime import RuntimeSettings
from notification_service.templates.render import Rendered, TemplateProblem, render
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(slots=True)
class Request:
    user: dict[str, Any]
    template_key: str
    channels: tuple[str, ...]
    variables: dict[str, Any]
    dedupe_prefix: str  # `<event id>` or `direct:<caller>:<key>`
    category: str | None = None  # None → the template's category
    language: str | None = None
    transaction_id: str | None = None
    internal_tran_id: str | None = None
    source_event_id: uuid.UUID | None = None
    source_event_type: str | None = None
    scheduled_for: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    strict: bool = False  # True (direct sends): a render problem raises instead of dead-lettering


async def find_template(session: AsyncSession, key: str, channel: str, language: str) -> Template | None:
    """The highest active version in `language`, else in English."""
    for lang in dict.fromkeys((language, "en")):
        stmt = (
            select(Template)
            .where(
                Template.key == key,
                Template.channel == channel,
                Template.language == lang,
                Template.is_active,
            )
            .order_by(Template.version.desc())
            .limit(1)
        )
        found = (await session.scalars(stmt)).first()
        if found is not None:
            return found
    return None


async def _addresses(session: AsyncSession, user: dict[str, Any], channel: str) -> list[tuple[str, str]]:
    """[(dedupe suffix, address)] for the channel; empty when the user has none."""
    if channel == "email":
        return [("email", user["email"])] if user.get("email") else []
    if channel == "sms":
        return [("sms", user["phone_number"])] if user.get("phone_number") else []
    stmt = select(DeviceToken).where(DeviceToken.user_id == str(user["id"]), DeviceToken.active)
    return [(f"push:{d.id}", d.token) for d in (await session.scalars(stmt)).all()]


async def enqueue(
    session: AsyncSession,
    req: Request,
    *,
    default_language: str = "en",
    runtime: RuntimeSettings | None = None,
) -> list[Notification]:
    """Add the rows to the session (flushed). Rows whose dedupe key exists are returned as they are.

    `runtime` (admin-service settings): a channel switched off platform-wide gives `suppressed`
    rows (`channel_disabled`), whatever the category; its default quiet hours hold non-mandatory
    SMS/push of users without their own."""
    user_id = str(req.user["id"])
    default_quiet: tuple[str, str, str] | None = None
    if runtime is not None and (window := runtime.quiet_hours) is not None:
        default_quiet = (window.start, window.end, runtime.timezone)
    language = req.language or req.user.get("preferred_language") or default_language
    created: list[Notification] = []
    for channel in req.channels:
        template = await find_template(session, req.template_key, channel, language)
        if template is None:
            continue
        category = req.category or template.category
        for suffix, address in await _addresses(session, req.user, channel):
            key = f"{req.dedupe_prefix}:{suffix}"
            existing = (
                await session.scalars(select(Notification).where(Notification.dedupe_key == key))
            ).first()
            if existing is not None:
                created.append(existing)
                continue
            status, reason, error = QUEUED, None, None
            try:
                rendered = render(
                    {
                        "subject": template.subject,
                        "body_text": template.body_text,
                        "body_html": template.body_html,
                    },
                    list(template.required_variables),
                    req.variables,
                )
            except TemplateProblem as exc:
                if req.strict:
                    raise
                # The event lacked data the template needs: visible as a dead letter, never retried.
                rendered = Rendered("", "", None)
                status, reason, error = DEAD, "template_error", str(exc)
                log.warning("notification_render_failed", template=template.key, channel=channel)
            scheduled = req.scheduled_for
            if status == DEAD:
                pass
            elif runtime is not None and not runtime.channel_enabled(channel):
                status, reason = SUPPRESSED, CHANNEL_DISABLED
            elif not await channel_enabled(session, user_id, category, channel):
                status, reason = SUPPRESSED, "opted_out"
            elif channel in ("sms", "push") and not is_mandatory(category):
                scheduled = await quiet_hours_end(session, user_id, default=default_quiet) or scheduled
            row = Notification(
                id=uuid.uuid4(),
                dedupe_key=key,
                user_id=user_id,
                channel=channel,
                category=category,
                template_key=template.key,
                template_version=template.version,
                language=template.language,
                recipient=address,
                subject=rendered.subject,
                body_text=rendered.body_text,
                body_html=rendered.body_html,
                data=req.data,
                transaction_id=req.transaction_id,
                internal_tran_id=req.internal_tran_id,
                source_event_id=req.source_event_id,
                source_event_type=req.source_event_type,
                status=status,
                status_reason=reason,
                last_error=error,
                scheduled_for=scheduled,
                attempts=0,
            )
            session.add(row)
            created.append(row)
    await session.flush()
    if any(r.status == QUEUED for r in created):
        session.info[DIRTY] = True
    return created


__all__ = ["Request", "TemplateProblem", "enqueue", "find_template"]
