"""Inbox handlers: each consumed event becomes queued message rows in the same transaction as the
inbox record (so a redelivered event adds nothing); sending happens later, from the queue.
`setting.changed` events of admin-service apply this service's runtime settings (`runtime.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from notification_service.catalog import EVENTS
from notification_service.delivery.enqueue import Request, enqueue
from notification_service.runtime import RuntimeSettings
from notification_service.settings import Settings
from notification_service.users import UserDirectory
from shared.events import EventEnvelope
from shared.inbox import EventHandler
from shared.logging import get_logger
from shared.sealed import SealError, unseal

log = get_logger(__name__)

APP_NAME = "Payment Gateway"


def _variables(
    env: EventEnvelope, user: dict[str, Any], settings: Settings
) -> tuple[dict[str, Any], str | None] | None:
    """(template variables, email address override) or None if the event cannot be used.

    The only address override: an e-mail *change* is verified at the new address, which
    user-service puts inside the sealed payload (authenticated with EVENT_SEAL_KEY, never in
    clear); every other address comes from the user record."""
    d = env.data
    email_to: str | None = None
    v: dict[str, Any] = {
        "user_name": user.get("full_name") or user.get("username") or "customer",
        "username": user.get("username") or "",
        "app_name": APP_NAME,
    }
    if env.type in ("user.email_verification_requested", "user.password_reset_requested"):
        try:
            opened = unseal(str(d.get("sealed", "")), settings.event_seal_key.get_secret_value())
        except SealError:
            log.error("sealed_payload_unreadable", event_type=env.type, event_id=str(env.id))
            return None
        verify = env.type == "user.email_verification_requested"
        v["verification_url" if verify else "reset_url"] = opened.get("url")
        v["expires_at"] = opened.get("token_expires_at")
        if verify and isinstance(opened.get("email"), str) and "@" in opened["email"]:
            email_to = opened["email"]
    if env.type == "user.locked":
        v["locked_until"] = d.get("until")
    if env.type.startswith("transaction."):
        for k in ("internal_tran_id", "foreign_amount", "foreign_currency", "total_bdt", "status", "reason"):
            v[k] = d.get(k)
        v["payment_url"] = d.get("payment_url")
        v["expires_at"] = d.get("expires_at")
    return v, email_to


def build_handlers(
    get_directory: Callable[[], UserDirectory],
    settings: Settings,
    get_runtime: Callable[[], RuntimeSettings | None] = lambda: None,
) -> dict[str, EventHandler]:
    async def on_setting(session: AsyncSession, env: EventEnvelope) -> None:
        # Keys owned by other services are ignored; invalid values are logged and ignored.
        key = env.data.get("key")
        runtime = get_runtime()
        if isinstance(key, str) and runtime is not None:
            runtime.apply(key, env.data.get("value"))

    async def handle(session: AsyncSession, env: EventEnvelope) -> None:
        spec = EVENTS[env.type]
        user_id = str(
            env.data.get("user_id") or (env.subject_id if env.type.startswith("user.") else "") or ""
        )
        if not user_id:
            log.warning("event_without_user", event_type=env.type, event_id=str(env.id))
            return
        user = await get_directory().get(user_id)
        if user is None or not user.get("is_active", True):
            log.info("notification_recipient_unknown", event_type=env.type, event_id=str(env.id))
            return
        opened = _variables(env, user, settings)
        if opened is None:
            return
        variables, email_to = opened
        transaction_id = str(env.data.get("transaction_id") or "") or None
        rows = await enqueue(
            session,
            Request(
                user={**user, "email": email_to} if email_to else user,
                template_key=spec.template_key,
                channels=spec.channels,
                variables=variables,
                dedupe_prefix=str(env.id),
                category=spec.category,
                transaction_id=transaction_id,
                internal_tran_id=env.data.get("internal_tran_id"),
                source_event_id=env.id,
                source_event_type=env.type,
                data={
                    "event": env.type,
                    "transaction_id": transaction_id,
                    "internal_tran_id": env.data.get("internal_tran_id"),
                },
            ),
            default_language=settings.default_language,
            runtime=get_runtime(),
        )
        log.info("notifications_enqueued", event_type=env.type, count=len(rows))

    return {**{event_type: handle for event_type in EVENTS}, "setting.*": on_setting}
